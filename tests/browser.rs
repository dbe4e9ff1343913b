//! The web leaderboard in a real browser: `arena serve` on a loopback port with a fresh database,
//! driven through headless Debian Chromium by chromedriver over the W3C WebDriver HTTP protocol
//! (a small client over `ureq`). The test loads the leaderboard, submits examples/linear.onnx
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

use serde_json::{Value, json};

/// The form's task: multi-step, whose board has a column per step subgroup.
const TASK: &str = "sim-multi-step";
/// A combinatorial task (combo_seen0/1/2 columns), seeded with a published scorecard.
const COMBO_TASK: &str = "sim-combinatorial";
const MODEL_NAME: &str = "linear ONNX via browser";
/// The W3C WebDriver key of an element reference.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

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

/// A WebDriver session on a chromedriver child process.
struct Browser {
    agent: ureq::Agent,
    base: String,
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
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .new_agent();
        let root = format!("http://127.0.0.1:{port}");
        let started = Instant::now();
        while agent.get(format!("{root}/status")).call().is_err() {
            assert!(started.elapsed() < Duration::from_secs(30), "chromedriver did not answer on {root} in 30 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium.display().to_string(),
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-dev-shm-usage", "--window-size=1400,1100"],
            },
        }}});
        let mut b = Browser { agent, base: root, _driver: driver };
        let v = b.call("POST", "/session", Some(caps));
        let id = v["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {v}")).to_string();
        b.base = format!("{}/session/{id}", b.base);
        b
    }

    /// One WebDriver command; panics with the driver's error message on failure. Returns `value`.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}{path}", self.base);
        let resp = match method {
            "GET" => self.agent.get(&url).call(),
            "DELETE" => self.agent.delete(&url).call(),
            _ => self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(serde_json::to_vec(&body.unwrap_or(json!({}))).unwrap()),
        };
        let mut resp = resp.unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"));
        let status = resp.status();
        let text = resp.body_mut().with_config().limit(64 << 20).read_to_string().unwrap();
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}: {text}"));
        assert!(status.is_success(), "WebDriver {method} {path} failed ({status}): {}", v["value"]);
        v["value"].clone()
    }

    fn goto(&self, url: &str) {
        self.call("POST", "/url", Some(json!({ "url": url })));
    }

    fn url(&self) -> String {
        self.call("GET", "/url", None).as_str().unwrap().to_string()
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
            let ready =
                self.call("POST", "/execute/sync", Some(json!({"script": "return document.readyState", "args": []})));
            if url != before && arrived(&url) && ready == "complete" {
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
        self.call("GET", "/source", None).as_str().unwrap().to_string()
    }

    fn find(&self, css: &str) -> String {
        let v = self.call("POST", "/element", Some(json!({"using": "css selector", "value": css})));
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("no element {css}: {v}")).to_string()
    }

    fn find_all(&self, css: &str) -> Vec<String> {
        let v = self.call("POST", "/elements", Some(json!({"using": "css selector", "value": css})));
        v.as_array().unwrap().iter().map(|e| e[ELEMENT].as_str().unwrap().to_string()).collect()
    }

    /// The visible text of every element matching `css`.
    fn texts(&self, css: &str) -> Vec<String> {
        self.find_all(css).iter().map(|e| self.text(e)).collect()
    }

    fn attribute(&self, element: &str, name: &str) -> String {
        self.call("GET", &format!("/element/{element}/attribute/{name}"), None).as_str().unwrap_or("").to_string()
    }

    /// Loads `url` and waits until its document has finished loading.
    fn open(&self, url: &str) {
        self.goto(url);
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.call("POST", "/execute/sync", Some(json!({"script": "return document.readyState", "args": []})))
            != "complete"
        {
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

    fn text(&self, element: &str) -> String {
        self.call("GET", &format!("/element/{element}/text"), None).as_str().unwrap().to_string()
    }

    fn click(&self, css: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/click"), None);
    }

    fn type_into(&self, css: &str, text: &str) {
        let e = self.find(css);
        self.call("POST", &format!("/element/{e}/value"), Some(json!({ "text": text })));
    }

    fn screenshot_png(&self) -> Vec<u8> {
        base64_decode(self.call("GET", "/screenshot", None).as_str().unwrap())
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if self.base.contains("/session/") {
            let _ = self.agent.delete(&self.base).call();
        }
    }
}

fn base64_decode(s: &str) -> Vec<u8> {
    let value = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => panic!("not base64: {:?}", c as char),
    };
    let digits: Vec<u8> = s.bytes().filter(|c| !c.is_ascii_whitespace() && *c != b'=').map(value).collect();
    let mut out = Vec::with_capacity(digits.len() * 3 / 4);
    for chunk in digits.chunks(4) {
        let n = chunk.iter().enumerate().fold(0u32, |acc, (i, &d)| acc | (d as u32) << (18 - 6 * i));
        out.extend_from_slice(&n.to_be_bytes()[1..chunk.len()]);
    }
    out
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
