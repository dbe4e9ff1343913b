//! The web leaderboard in a real browser: `arena serve` on a loopback port with a fresh database,
//! driven through headless Debian Chromium by chromedriver over the W3C WebDriver HTTP protocol
//! (a small client over `ureq`). The test loads the leaderboard, submits examples/linear.onnx
//! through the HTML form with an organiser token, waits for the scoring job, finds the model
//! ranked on the task page and saves a screenshot to `target/artifacts/leaderboard-browser.png`
//! (the CI artifact).
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

const TASK: &str = "sim-unseen-single";
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
fn a_model_submitted_through_the_form_is_scored_and_ranked_in_chromium() {
    let chromium = tool("ARENA_CHROMIUM", "/usr/bin/chromium", "chromium");
    let chromedriver = tool("ARENA_CHROMEDRIVER", "/usr/bin/chromedriver", "chromium-driver");
    let model = common::workspace_root().join("examples/linear.onnx");
    assert!(model.is_file(), "{} is missing", model.display());

    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("arena.sqlite").display());
    let run = common::run(["serve", "--database", &database, "--issue-token", "browser"]).ok();
    let token = run.stdout.lines().last().unwrap().trim().to_string();
    let (_server, site) = common::start_serve(&database);
    let browser = Browser::start(&chromium, &chromedriver);

    // The home page lists the task; the nav leads to the form.
    browser.goto(&site);
    assert!(browser.source().contains(&format!("/tasks/{TASK}")), "home page does not link {TASK}");
    browser.click_and_wait("nav a[href='/submit']", "the submit form", |url| url.ends_with("/submit"));

    browser.type_into("input[name=token]", &token);
    browser.click(&format!("select[name=task] option[value='{TASK}']"));
    browser.type_into("input[name=name]", MODEL_NAME);
    browser.type_into("textarea[name=description]", "examples/linear.onnx, uploaded by tests/browser.rs");
    browser.click("select[name=kind] option[value=onnx]");
    browser.type_into("input[type=file][name=file]", &model.display().to_string());
    // The form redirects to the submission page, which shows the job's status until it is scored.
    let submission_id = |url: &str| -> Option<i64> {
        let tail = url.rsplit_once("/submissions/")?.1;
        tail.split(['?', '#']).next()?.parse().ok()
    };
    let page =
        browser.click_and_wait("form button[type=submit]", "a submission page", |url| submission_id(url).is_some());
    let id = submission_id(&page).expect("checked by click_and_wait");
    let started = Instant::now();
    loop {
        let status = browser.text(&browser.find("#status"));
        if status == "scored" {
            break;
        }
        assert!(status != "failed", "the submission failed:\n{}", browser.source());
        assert!(started.elapsed() < Duration::from_secs(300), "submission {id} still {status} after 300 s");
        std::thread::sleep(Duration::from_millis(500));
        browser.goto(&page);
    }

    // Ranked on the task page beside the baselines.
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

    let png = browser.screenshot_png();
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000, "not a PNG screenshot");
    let out = artifacts_dir().join("leaderboard-browser.png");
    std::fs::write(&out, &png).unwrap();
    eprintln!("screenshot: {}", out.display());
}
