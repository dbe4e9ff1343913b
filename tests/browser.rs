//! The web leaderboard in a real browser: `arena serve` on a loopback port with a fresh database,
//! driven through headless Debian Chromium by chromedriver over the W3C WebDriver protocol (the
//! `fantoccini` client). The test loads the leaderboard, submits examples/linear.onnx
//! through the HTML form with an organiser token to the multi-step task, waits for the scoring
//! job, and walks the views a submitter and an organiser use: the model ranked on the task page
//! with a column per subgroup (step_1, step_2, ...), the forest plots, the CSV download, the
//! model's page (histogram with both axes, scatter against the best baseline with the y = x
//! line), a baseline's and the ceiling's pages, the combinatorial board's combo_seen0/1/2 columns
//! (from a published scorecard), and a failed upload's error, worded for the web. It saves a
//! screenshot to `target/artifacts/leaderboard-browser.png` (the CI artifact).
//!
//! Needs `chromium` and `chromium-driver` (Debian packages; `scripts/setup.sh --deps-only`
//! installs them). Without them the test FAILS saying so; it never skips. `ARENA_CHROMIUM` and
//! `ARENA_CHROMEDRIVER` override the paths.

mod common;

use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util_client::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// The form's task: multi-step, whose board has a column per step subgroup.
const TASK: &str = "sim-multi-step";
/// A combinatorial task (combo_seen0/1/2 columns), seeded with a published scorecard.
const COMBO_TASK: &str = "sim-combinatorial";
const MODEL_NAME: &str = "linear ONNX via browser";
fn tool(env: &str, default: &str, package: &str) -> PathBuf {
    let path = std::env::var_os(env).map(PathBuf::from).unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.is_file(),
        "{} is missing: the browser test needs Debian's `{package}` package (`apt-get install chromium \
         chromium-driver`; `scripts/setup.sh --deps-only` and CI install it), or set {env} to the executable",
        path.display()
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// A WebDriver session (the `fantoccini` client) on a chromedriver child process, driven
/// synchronously through a single-threaded tokio runtime.
struct Browser {
    runtime: tokio::runtime::Runtime,
    client: Client,
    _driver: common::Killed,
}

impl Browser {
    fn start(chromium: &Path, chromedriver: &Path) -> Self {
        let port = free_port();
        // Its own process group: a signal Chromium sends to its group never reaches this test.
        let driver = common::Killed(
            Command::new(chromedriver)
                .arg(format!("--port={port}"))
                .process_group(0)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("starting {}: {e}", chromedriver.display())),
        );
        let root = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while ureq::get(format!("{root}/status")).call().is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "chromedriver did not answer on {root} in 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        let Value::Object(caps) = json!({
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-dev-shm-usage", "--window-size=1400,1100"],
            },
        }) else {
            unreachable!("a JSON object literal")
        };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let client = runtime
            .block_on(ClientBuilder::new(HttpConnector::new()).capabilities(caps).connect(&root))
            .unwrap_or_else(|e| panic!("no WebDriver session on {root}: {e}"));
        Browser { runtime, client, _driver: driver }
    }

    /// Runs one WebDriver command; panics naming `what` with the driver's error.
    fn run<T>(&self, what: &str, command: impl std::future::Future<Output = Result<T, CmdError>>) -> T {
        self.runtime.block_on(command).unwrap_or_else(|e| panic!("WebDriver {what}: {e}"))
    }

    fn goto(&self, url: &str) {
        self.run("goto", self.client.goto(url));
    }

    fn url(&self) -> String {
        self.run("current url", self.client.current_url()).to_string()
    }

    /// Whether the current document has finished loading.
    fn ready(&self) -> bool {
        self.run("readyState", self.client.execute("return document.readyState", Vec::new())) == "complete"
    }

    /// Clicks `css`, then waits (up to 60 s) until the browser has navigated to a URL that
    /// `arrived` accepts and the new document has finished loading. A click only starts a
    /// navigation: reading the URL or the page right after it races the browser.
    fn click_and_wait(&self, css: &str, what: &str, arrived: impl Fn(&str) -> bool) -> String {
        let before = self.url();
        self.click(css);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let url = self.url();
            if url != before && arrived(&url) && self.ready() {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "clicking {css} did not lead to {what} within 60 s (at {url}):\n{}",
                self.source()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn source(&self) -> String {
        self.run("source", self.client.source())
    }

    fn find(&self, css: &str) -> Element {
        self.run(&format!("find {css}"), self.client.find(Locator::Css(css)))
    }

    fn find_all(&self, css: &str) -> Vec<Element> {
        self.run(&format!("find all {css}"), self.client.find_all(Locator::Css(css)))
    }

    /// The visible text of every element matching `css`.
    fn texts(&self, css: &str) -> Vec<String> {
        self.find_all(css).iter().map(|e| self.text(e)).collect()
    }

    fn attribute(&self, element: &Element, name: &str) -> String {
        self.run(&format!("attribute {name}"), element.attr(name)).unwrap_or_default()
    }

    /// Loads `url` and waits until its document has finished loading.
    fn open(&self, url: &str) {
        self.goto(url);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !self.ready() {
            assert!(Instant::now() < deadline, "{url} did not finish loading in 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Fills in and sends the submission form; returns the submission page's URL.
    fn submit_form(&self, site: &str, token: &str, task: &str, name: &str, file: &Path) -> String {
        self.open(&format!("{site}/submit"));
        self.type_into("input[name=token]", token);
        self.click(&format!("select[name=task] option[value='{task}']"));
        self.type_into("input[name=name]", name);
        self.type_into("textarea[name=description]", "examples/linear.onnx, uploaded by tests/browser.rs");
        self.click("select[name=kind] option[value=onnx]");
        self.type_into("input[type=file][name=file]", &file.display().to_string());
        // The form redirects to the submission page, which shows the job's status until it is done.
        self.click_and_wait("form button[type=submit]", "a submission page", |url| submission_id(url).is_some())
    }

    /// Reloads the submission page at `page` until its status is `scored` or `failed`.
    fn wait_done(&self, page: &str) -> String {
        let started = Instant::now();
        loop {
            let status = self.text(&self.find("#status"));
            if status == "scored" || status == "failed" {
                return status;
            }
            assert!(started.elapsed() < Duration::from_secs(300), "{page} still {status} after 300 s");
            std::thread::sleep(Duration::from_millis(500));
            self.open(page);
        }
    }

    fn text(&self, element: &Element) -> String {
        self.run("text", element.text())
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.run(&format!("click {css}"), e.click());
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.run(&format!("type into {css}"), e.send_keys(text));
    }

    fn screenshot_png(&self) -> Vec<u8> {
        self.run("screenshot", self.client.screenshot())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.runtime.block_on(self.client.clone().close());
    }
}

fn submission_id(url: &str) -> Option<i64> {
    let tail = url.rsplit_once("/submissions/")?.1;
    tail.split(['?', '#']).next()?.parse().ok()
}

/// Where CI collects artifacts: `<target dir>/artifacts`.
fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| common::workspace_root().join("target"));
    let dir = target.join("artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_model_submitted_through_the_form_is_scored_ranked_and_shown_in_every_view_in_chromium() {
    let chromium = tool("ARENA_CHROMIUM", "/usr/bin/chromium", "chromium");
    let chromedriver = tool("ARENA_CHROMEDRIVER", "/usr/bin/chromedriver", "chromium-driver");
    let model = common::workspace_root().join("examples/linear.onnx");
    assert!(model.is_file(), "{} is missing", model.display());

    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("arena.sqlite").display());
    let run = common::run(["serve", "--database", &database, "--issue-token", "browser"]).ok();
    let token = run.stdout.lines().last().unwrap().trim().to_string();
    // The combinatorial board: a published scorecard (the additive baseline as the model).
    let combo = dir.path().join("combo");
    let data = common::data_dir();
    let (combo_dir, data_dir) = (combo.to_str().unwrap(), data.to_str().unwrap());
    let eval = ["eval", "--task", COMBO_TASK, "--baseline", "additive", "--bootstrap", "50", "--out", combo_dir];
    common::run(eval.into_iter().chain(["--data-dir", data_dir])).ok();
    let card = combo.join("scorecard.json");
    common::run(["publish", card.to_str().unwrap(), "--database", &database, "--name", "additive (published)"]).ok();
    let (_server, site) = common::start_serve(&database);
    let browser = Browser::start(&chromium, &chromedriver);

    // The home page lists the task; the nav leads to the form.
    browser.goto(&site);
    assert!(browser.source().contains(&format!("/tasks/{TASK}")), "home page does not link {TASK}");
    browser.click_and_wait("nav a[href='/submit']", "the submit form", |url| url.ends_with("/submit"));
    let page = browser.submit_form(&site, &token, TASK, MODEL_NAME, &model);
    let id = submission_id(&page).expect("checked by click_and_wait");
    assert_eq!(browser.wait_done(&page), "scored", "submission {id} failed:\n{}", browser.source());

    // The model's page: the histogram has a y axis (counts) and an x axis (the metric); the
    // scatter against the best baseline has labelled axes and the y = x line.
    let y_ticks = browser.texts("svg.histogram text.y-tick");
    assert!(y_ticks.len() >= 2 && y_ticks[0] == "0", "histogram y ticks: {y_ticks:?}");
    assert_eq!(browser.texts("svg.histogram text.y-title"), ["perturbations (count)"]);
    assert_eq!(browser.texts("svg.histogram text.x-title"), ["pearson_delta_pert"]);
    let x_title = browser.texts("svg.comparison text.x-title");
    assert!(x_title[0].starts_with("baseline: ") && x_title[0].ends_with("(pearson_delta_pert)"), "{x_title:?}");
    let y_title = browser.texts("svg.comparison text.y-title");
    assert!(y_title[0].contains(MODEL_NAME), "{y_title:?}");
    assert_eq!(browser.find_all("svg.comparison line.diagonal").len(), 1);
    assert!(browser.find_all("svg.comparison circle").len() >= 5, "a point per perturbation");
    // Per subgroup: the step_k rows of the model's scores.
    let groups = browser.texts("table.subgroups tbody th");
    assert!(groups.iter().any(|g| g == "step_2"), "{groups:?}");

    // Ranked on the task page beside the baselines, with a column per step subgroup.
    browser.click_and_wait(&format!("a[href='/tasks/{TASK}']"), "the task page", |url| {
        url.ends_with(&format!("/tasks/{TASK}"))
    });
    let rows = browser.find_all("table.board tbody tr");
    let texts: Vec<String> = rows.iter().map(|r| browser.text(r)).collect();
    let ours = texts
        .iter()
        .find(|t| t.contains(MODEL_NAME))
        .unwrap_or_else(|| panic!("{MODEL_NAME} is not on the task page:\n{}", texts.join("\n")));
    let rank: usize = ours
        .split_whitespace()
        .next()
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("the model's row has no rank: {ours}"));
    assert!(rank >= 1 && rank <= rows.len(), "{ours}");
    assert!(texts.iter().any(|t| t.contains("baseline: ")), "no baseline rows:\n{}", texts.join("\n"));
    let subgroup_heads = browser.texts("table.board th.subgroup");
    assert!(subgroup_heads.iter().any(|h| h.contains("step_2 (n = ")), "{subgroup_heads:?}");
    let cells = browser.find_all("table.board tbody tr:first-child td").len();
    let heads = browser.find_all("table.board thead th").len();
    assert_eq!(cells, heads, "every row fills the subgroup columns");
    // A forest plot per metric, the sorted one open: a line per row of the page and the ceiling.
    let forests = browser.find_all("svg.forest");
    assert_eq!(forests.len(), 7, "one per metric");
    let labels = browser.texts("details[open] svg.forest text.row-label");
    assert_eq!(labels.len(), rows.len(), "{labels:?}");
    assert!(labels.iter().any(|l| l.starts_with("noise ceiling")), "{labels:?}");
    assert!(browser.texts("details[open] svg.forest text.x-title")[0].contains("pearson_delta_pert: mean [95% CI]"));
    assert!(browser.find_all("details[open] svg.forest text.x-tick").len() >= 3);
    // The CSV download of the whole board.
    let csv_href = browser.attribute(&browser.find("a.csv"), "href");
    let csv_url = if csv_href.starts_with("http") { csv_href } else { format!("{site}{csv_href}") };
    let csv = ureq::get(&csv_url).call().unwrap().body_mut().read_to_string().unwrap();
    let csv_lines: Vec<&str> = csv.lines().collect();
    assert!(csv_lines[0].starts_with("view,rank,rank_lower,rank_upper,tie_group,row,"), "{}", csv_lines[0]);
    assert!(csv_lines[0].contains("pearson_delta_pert_step_2_mean"), "{}", csv_lines[0]);
    assert_eq!(csv_lines.len() - 1, rows.len(), "a line per row and the ceiling:\n{csv}");
    assert!(csv_lines.iter().any(|l| l.contains(MODEL_NAME)));

    // A baseline's page and the ceiling's, reached from the board.
    browser.click_and_wait("table.board tr.baseline a", "a baseline's page", |url| url.contains("/rows/"));
    let h1 = browser.text(&browser.find("h1"));
    assert!(h1.starts_with("baseline: "), "{h1}");
    assert!(browser.find_all("table.per-perturbation tbody tr").len() >= 5);
    assert!(browser.find_all("svg.histogram text.y-tick").len() >= 2);
    browser.open(&format!("{site}/tasks/{TASK}"));
    browser.click_and_wait("table.board tr.ceiling a", "the ceiling's page", |url| url.contains("/rows/"));
    assert!(browser.text(&browser.find("h1")).starts_with("noise ceiling"), "{}", browser.source());

    // The combinatorial board has a column per combo subgroup.
    browser.open(&format!("{site}/tasks/{COMBO_TASK}"));
    let combo_heads = browser.texts("table.board th.subgroup");
    assert!(
        combo_heads.iter().filter(|h| h.contains("combo_seen")).count() >= 2,
        "combo subgroup columns: {combo_heads:?}\n{}",
        browser.source()
    );

    // A failed web upload (the model's genes are not the combinatorial task's): its error, shown
    // to the submitter, names no CLI flag.
    let page = browser.submit_form(&site, &token, COMBO_TASK, "linear on the wrong genes", &model);
    assert_eq!(browser.wait_done(&page), "failed");
    let error = browser.text(&browser.find("#error"));
    assert!(error.contains("genes") && !error.contains(" --"), "{error}");

    browser.open(&format!("{site}/tasks/{TASK}"));
    let png = browser.screenshot_png();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "not a PNG screenshot");
    let out = artifacts_dir().join("leaderboard-browser.png");
    std::fs::write(&out, &png).unwrap();
    eprintln!("screenshot: {}", out.display());
}
