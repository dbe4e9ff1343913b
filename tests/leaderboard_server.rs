//! The web leaderboard end to end: a server on 127.0.0.1 (port 0) inside this test process with
//! the arena's real scorer, driven over HTTP/1.1 by a minimal client (no other address is used).
//!
//! Hidden targets, as these tests define them: the expression of the held-out test cells and the
//! per-perturbation truth profiles (mean expression of the test cells) never leave the server;
//! before a task is revealed, neither does any score of its private-view perturbations (only the
//! public view of every scored row is served).

mod common;

use common::{Resp, Server, get, get_json, request};

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arena_eval::EvalOptions;
use arena_serve::scorer::ArenaScorer;
use arena_sim::load::LoadOptions;
use leaderboard::db::scratch::ScratchSchema;
use leaderboard::split::{View, view_of};
use leaderboard::{AppState, Config, Db, RateLimit, Scorer, UploadKind};

const TASK: &str = "sim-unseen-single";

/// The server's scorer: each upload in its own sandboxed `arena score-job` process.
fn scorer() -> Arc<ArenaScorer> {
    let scorer = ArenaScorer::new(common::job_runner());
    assert_eq!(scorer.refusal(), None, "the sandbox must be enforceable on the test machine");
    Arc::new(scorer)
}

fn config(dir: &Path) -> Config {
    let mut c = Config::beside(&dir.join("arena.sqlite"));
    c.poll_interval = Duration::from_millis(100);
    c
}

/// Starts a server on the SQLite database of an existing directory.
fn start_in(dir: tempfile::TempDir, config: Config) -> Server {
    start_on(Db::open(&dir.path().join("arena.sqlite")).unwrap(), dir, config)
}

/// Starts a server on `db` (SQLite or Postgres), with scratch files in `dir`.
fn start_on(db: Db, dir: tempfile::TempDir, config: Config) -> Server {
    start_scoring_with(db, dir, config, scorer())
}

/// Starts a server on `db` whose uploads are scored by `scorer`.
fn start_scoring_with(db: Db, dir: tempfile::TempDir, config: Config, scorer: Arc<ArenaScorer>) -> Server {
    leaderboard::sync_tasks(&db).unwrap();
    common::serve(AppState::new(db, scorer, config).unwrap(), dir)
}

fn start(tweak: impl FnOnce(&mut Config)) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mut c = config(dir.path());
    tweak(&mut c);
    start_in(dir, c)
}

fn post_empty(addr: SocketAddr, path: &str, bearer: Option<&str>) -> Resp {
    let auth = bearer.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    request(
        addr,
        &format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Length: 0\r\n\r\n"),
        b"",
    )
}

enum Part<'a> {
    Text(&'a str, &'a str),
    File(&'a str, &'a str, &'a [u8]),
}

fn post_multipart(addr: SocketAddr, path: &str, parts: &[Part<'_>], bearer: Option<&str>) -> Resp {
    let boundary = "----vcaTestBoundary7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for p in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        match p {
            Part::Text(name, value) => body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
            ),
            Part::File(name, filename, bytes) => {
                body.extend_from_slice(
                    format!(
                        "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                    )
                    .as_bytes(),
                );
                body.extend_from_slice(bytes);
                body.extend_from_slice(b"\r\n");
            }
        }
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let auth = bearer.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}Content-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    request(addr, &head, &body)
}

fn submit(s: &Server, token: &str, name: &str, file: &[u8], filename: &str) -> Resp {
    post_multipart(
        s.addr,
        "/api/submissions",
        &[
            Part::Text("token", token),
            Part::Text("task", TASK),
            Part::Text("name", name),
            Part::Text("description", name),
            Part::File("file", filename, file),
        ],
        None,
    )
}

/// The oracle: one profile per test perturbation, the true mean of its held-out cells.
fn oracle_predictions(dir: &Path) -> (Vec<u8>, common::SimTask) {
    let sim = common::sim_task();
    let x: Vec<Vec<f32>> = sim.truth.iter().map(|t| t.iter().map(|&v| v as f32).collect()).collect();
    let adata = common::anndata(x, "perturbation", &sim.test_labels, &sim.genes);
    let path = dir.join("oracle.h5ad");
    common::write_h5ad(&path, &adata);
    (std::fs::read(&path).unwrap(), sim)
}

fn wait_scored(s: &Server, id: i64) -> serde_json::Value {
    common::wait_done(s.addr, id, Duration::from_secs(180))
}

/// The error text of the submission whose upload answered `upload_body`, as its submitter sees
/// it (with the receipt the upload returned); checks the submitting token shows the same text
/// and another token does not.
fn submitter_error(s: &Server, upload_body: &str) -> String {
    let answer: serde_json::Value = serde_json::from_str(upload_body).unwrap();
    let v = get_json(s.addr, answer["url"].as_str().unwrap());
    let error = v["error"].as_str().unwrap_or_else(|| panic!("no error text for the submitter: {v}")).to_string();
    assert_ne!(error, leaderboard::views::ERROR_HIDDEN);
    let id = answer["id"].as_i64().unwrap();
    let wrong = get_json(s.addr, &format!("/api/submissions/{id}?receipt=00000000000000000000000000000000"));
    assert_eq!(wrong["error"], leaderboard::views::ERROR_HIDDEN, "a wrong receipt shows nothing");
    error
}

fn upload_files(s: &Server) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&s.state.config.upload_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    names
}

fn is_generated_name(name: &str) -> bool {
    let (stem, ext) = name.split_once('.').unwrap_or(("", ""));
    stem.len() == 32 && stem.bytes().all(|b| b.is_ascii_hexdigit()) && (ext == "h5ad" || ext == "onnx")
}

/// Submits the oracle's predictions as `name` (client file name `filename`), waits for its job
/// and checks it is ranked first on its task, beside the baselines and the ceiling computed on
/// the same split. Returns its id, the task's leaderboard JSON and the simulated task.
fn oracle_ranked_first(s: &Server, name: &str, filename: &str) -> (i64, serde_json::Value, common::SimTask) {
    let token = s.state.db.create_token("organiser").unwrap();
    let (file, sim) = oracle_predictions(s.dir.path());
    let r = submit(s, &token, name, &file, filename);
    assert_eq!(r.status, 202, "{}", r.body);
    let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].as_i64().unwrap();
    let v = wait_scored(s, id);
    assert_eq!(v["submission"]["status"], "scored", "{v}");
    let lb = get_json(s.addr, &format!("/api/tasks/{TASK}"));
    let rows = lb["rows"].as_array().unwrap();
    assert_eq!(rows[0]["submission_id"], id, "{lb}");
    assert_eq!(rows[0]["rank"], 1);
    assert!(rows.iter().any(|r| r["kind"] == "baseline"), "{lb}");
    assert_eq!(lb["ceiling"].as_array().unwrap().len(), 1, "{lb}");
    (id, lb, sim)
}

#[test]
fn oracle_submission_is_scored_ranked_and_escaped_and_no_route_leaks_hidden_targets() {
    let s = start(|_| {});
    let (id, lb, sim) = oracle_ranked_first(&s, "<script>alert(1)</script>", "../../../etc/evil.h5ad");
    let rows = lb["rows"].as_array().unwrap();
    assert!(rows[0]["cells"][0]["lower"].is_number() && rows[0]["cells"][0]["upper"].is_number());
    // Sorting by a lower-is-better metric and filtering by kind.
    let by_mae = get_json(s.addr, &format!("/api/tasks/{TASK}?sort=mae"));
    assert_eq!((by_mae["sort"].as_str(), by_mae["order"].as_str()), (Some("mae"), Some("asc")));
    let maes: Vec<f64> =
        by_mae["rows"].as_array().unwrap().iter().filter_map(|r| r["cells"][2]["mean"].as_f64()).collect();
    assert!(maes.windows(2).all(|w| w[0] <= w[1]), "{maes:?}");
    let only_baselines = get_json(s.addr, &format!("/api/tasks/{TASK}?kind=baseline"));
    assert!(only_baselines["rows"].as_array().unwrap().iter().all(|r| r["kind"] == "baseline"));

    // The name is escaped on every page that shows it.
    for path in ["/".to_string(), format!("/tasks/{TASK}"), format!("/submissions/{id}")] {
        let page = get(s.addr, &path);
        assert_eq!(page.status, 200, "{path}");
        assert!(!page.body.contains("<script>"), "{path} renders a live <script>");
        assert!(page.body.contains("&#60;script&#62;") || page.body.contains("&lt;script&gt;"), "{path}");
    }
    let model_page = get(s.addr, &format!("/submissions/{id}"));
    assert!(model_page.body.contains("<svg") && model_page.body.contains("<rect"), "inline SVG histogram");
    let public_label =
        sim.test_labels.iter().find(|l| view_of(&s.state.db.split_key().unwrap(), TASK, l) == View::Public).unwrap();
    assert!(model_page.body.contains(public_label.as_str()), "per-perturbation table");

    // The client's file name was ignored: only a generated name exists, nothing escaped the dir.
    let files = upload_files(&s);
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(is_generated_name(&files[0]), "{files:?}");
    assert!(!s.dir.path().join("etc").exists() && !Path::new("/etc/evil.h5ad").exists());

    // No route returns hidden targets: enumerate every route, fill in real ids.
    let mut bodies = Vec::new();
    // The training download (format h5ad) exists only for hidden tasks: tests/hidden_tests.rs.
    for route in leaderboard::ROUTES.iter().filter(|r| r.method == "GET" && r.format != "h5ad") {
        let paths: Vec<String> = if route.path.contains("/tasks/{id}") {
            let p = route.path.replace("{id}", TASK).replace("{row}", "linear");
            vec![p.clone(), format!("{p}?sort=mae&kind=all")]
        } else if route.path.contains("{id}") {
            let p = route.path.replace("{id}", &id.to_string());
            vec![p.clone(), format!("{p}?metric=mae")]
        } else {
            vec![route.path.to_string()]
        };
        for p in paths {
            let r = get(s.addr, &p);
            assert_eq!(r.status, 200, "GET {p}: {}", r.body);
            if route.format == "json" {
                assert!(r.headers.to_ascii_lowercase().contains("application/json"), "{p}");
            }
            bodies.push((p, r.body));
        }
    }
    // The uploaded file itself is not reachable.
    assert_eq!(get(s.addr, &format!("/uploads/{}", files[0])).status, 404);
    let n_genes = sim.genes.len();
    for (path, body) in &bodies {
        let numbers = numbers_in(body);
        for truth in &sim.truth {
            assert!(!contains_window(&numbers, truth, 4), "GET {path} contains a run of a hidden truth profile");
        }
        if let Ok(json) = serde_json::from_str::<serde_json::Value>(body) {
            assert!(longest_number_array(&json) < n_genes, "GET {path} returns a gene-length numeric array");
        }
    }
}

#[test]
fn on_postgres_a_submission_is_scored_ranked_and_served() {
    let schema = postgres();
    let dir = tempfile::tempdir().unwrap();
    let c = config(dir.path());
    let s = start_on(Db::connect(schema.url()).unwrap(), dir, c);
    oracle_ranked_first(&s, "oracle on postgres", "oracle.h5ad");
    let page = get(s.addr, &format!("/tasks/{TASK}"));
    assert!(page.status == 200 && page.body.contains("oracle on postgres"), "{}", page.body);
    let home = get_json(s.addr, "/api");
    assert!(home.to_string().contains("oracle on postgres"), "{home}");
    assert_eq!(s.state.db.queue_depth().unwrap(), (0, 0));
}

#[test]
fn the_leak_detector_detects_a_leaked_truth_profile() {
    let sim = common::sim_task();
    let leaked: Vec<String> = sim.truth[0].iter().map(|v| format!("{v:.3}")).collect();
    let body = format!("<td>{}</td>", leaked.join("</td><td>"));
    assert!(contains_window(&numbers_in(&body), &sim.truth[0], 4));
    let json = serde_json::json!({ "x": sim.truth[0] });
    assert!(longest_number_array(&json) >= sim.genes.len());
}

/// Every number written in `text`, in order.
fn numbers_in(text: &str) -> Vec<f64> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for ch in text.chars().chain(std::iter::once(' ')) {
        if ch.is_ascii_digit() || ch == '.' || ch == '-' || ch == 'e' && !cur.is_empty() {
            cur.push(ch);
        } else {
            if let Ok(v) = cur.parse::<f64>() {
                out.push(v);
            }
            cur.clear();
        }
    }
    out
}

/// Whether `numbers` holds `k` consecutive values of `truth` (to 3 decimals) at some position.
fn contains_window(numbers: &[f64], truth: &[f64], k: usize) -> bool {
    truth
        .windows(k)
        .filter(|w| w.iter().all(|v| v.abs() > 0.05))
        .any(|w| numbers.windows(k).any(|n| n.iter().zip(w).all(|(a, b)| (a - b).abs() < 5e-4)))
}

fn longest_number_array(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => {
            let own = if a.iter().all(|x| x.is_number() || x.is_null()) { a.len() } else { 0 };
            a.iter().map(longest_number_array).max().unwrap_or(0).max(own)
        }
        serde_json::Value::Object(m) => m.values().map(longest_number_array).max().unwrap_or(0),
        _ => 0,
    }
}

#[test]
fn every_response_carries_the_security_headers() {
    let s = start(|_| {});
    for path in ["/", "/api/tasks", "/submissions/999", "/submit"] {
        let r = get(s.addr, path);
        let headers = r.headers.to_lowercase();
        for h in [
            "content-security-policy: default-src 'none'",
            "x-frame-options: deny",
            "x-content-type-options: nosniff",
            "referrer-policy: no-referrer",
        ] {
            assert!(headers.contains(h), "{path} lacks {h}:\n{}", r.headers);
        }
    }
}

#[test]
fn uploads_over_the_limit_are_refused_and_leave_no_file() {
    let s = start(|c| c.max_upload_bytes = 4096);
    let token = s.state.db.create_token("organiser").unwrap();
    let mut big = b"\x89HDF\r\n\x1a\n".to_vec();
    big.resize(64 * 1024, 7);
    let r = submit(&s, &token, "big", &big, "big.h5ad");
    assert_eq!(r.status, 413, "{}", r.body);
    assert!(r.body.contains("exceeds the limit of 4096 bytes"), "{}", r.body);
    assert!(upload_files(&s).is_empty(), "{:?}", upload_files(&s));
    // Through the HTML form the same message is shown on the form page.
    let form = post_multipart(
        s.addr,
        "/submit",
        &[
            Part::Text("token", &token),
            Part::Text("task", TASK),
            Part::Text("name", "big"),
            Part::File("file", "big.h5ad", &big),
        ],
        None,
    );
    assert_eq!(form.status, 413);
    assert!(form.body.contains("exceeds the limit") && form.body.contains("<form"), "{}", form.body);
    assert!(upload_files(&s).is_empty());
}

#[test]
fn malformed_files_and_bad_tokens_are_refused_with_clear_messages() {
    let s = start(|_| {});
    let token = s.state.db.create_token("organiser").unwrap();
    // Not HDF5 at all: refused at upload.
    let r = submit(&s, &token, "text", b"perturbation,gene\nA,1\n", "preds.h5ad");
    assert_eq!(r.status, 400);
    assert!(r.body.contains("not an AnnData .h5ad (HDF5) file"), "{}", r.body);
    // HDF5 signature but a broken file: accepted, then the job fails with the reader's message.
    let r = submit(&s, &token, "truncated", b"\x89HDF\r\n\x1a\n\0\0\0garbage", "preds.h5ad");
    assert_eq!(r.status, 202, "{}", r.body);
    let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].as_i64().unwrap();
    let v = wait_scored(&s, id);
    assert_eq!(v["submission"]["status"], "failed");
    assert_eq!(v["error"], leaderboard::views::ERROR_HIDDEN, "the public sees no error text");
    let error = submitter_error(&s, &r.body);
    assert!(error.contains("the uploaded file") && error.contains("HDF5"), "{error}");
    assert!(!error.contains(s.state.config.upload_dir.to_str().unwrap()), "server paths leak: {error}");
    assert!(!error.contains("/tmp"), "server paths leak: {error}");
    // Missing, wrong and forged tokens: 401, nothing stored.
    let before = upload_files(&s);
    for t in ["", "vca_1_0000000000000000000000000000000000000000000000000000000000000000", "' OR 1=1 --"] {
        let r = submit(&s, t, "x", b"\x89HDF\r\n\x1a\n", "p.h5ad");
        assert_eq!(r.status, 401, "token {t:?}: {}", r.body);
        assert!(r.body.contains("organiser token"), "{}", r.body);
    }
    assert_eq!(upload_files(&s), before);
    // Unknown task, empty name.
    let r = post_multipart(
        s.addr,
        "/api/submissions",
        &[
            Part::Text("task", "no-such-task"),
            Part::Text("name", "x"),
            Part::File("file", "p.h5ad", b"\x89HDF\r\n\x1a\n"),
        ],
        Some(&token),
    );
    assert_eq!(r.status, 400);
    assert!(r.body.contains("unknown task 'no-such-task'"), "{}", r.body);
    assert_eq!(upload_files(&s), before, "a refused upload leaves no file");
}

#[test]
fn each_token_is_rate_limited() {
    let s = start(|c| c.rate_limit = RateLimit { max: 2, window_secs: 3600 });
    let a = s.state.db.create_token("a").unwrap();
    let b = s.state.db.create_token("b").unwrap();
    let file = b"\x89HDF\r\n\x1a\nnot really";
    for _ in 0..2 {
        assert_eq!(submit(&s, &a, "m", file, "p.h5ad").status, 202);
    }
    let r = submit(&s, &a, "m", file, "p.h5ad");
    assert_eq!(r.status, 429, "{}", r.body);
    assert!(r.body.contains("rate limit") && r.body.contains("'a'"), "{}", r.body);
    assert_eq!(submit(&s, &b, "m", file, "p.h5ad").status, 202, "another token is not limited");
}

/// Twelve uploads of one token at once, each pausing half-way through its file, with a limit of
/// two: the rows are reserved before the files stream, so exactly two are accepted and the
/// other ten refused (before the fix, counting before and recording after, eight got 202).
#[test]
fn parallel_slow_uploads_cannot_pass_the_rate_limit() {
    let s = start(|c| c.rate_limit = RateLimit { max: 2, window_secs: 3600 });
    let token = s.state.db.create_token("racer").unwrap();
    let barrier = std::sync::Barrier::new(12);
    let statuses: Vec<u16> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12).map(|_| scope.spawn(|| slow_upload(s.addr, &token, &barrier))).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let accepted = statuses.iter().filter(|&&c| c == 202).count();
    assert_eq!(accepted, 2, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|&&c| c == 429).count(), 10, "{statuses:?}");
    // Refused uploads leave no row behind: two submissions, and the quota is still full.
    assert_eq!(s.state.db.latest_submissions(50).unwrap().len(), 2);
    let file = b"\x89HDF\r\n\x1a\nnot really";
    assert_eq!(submit(&s, &token, "m", file, "p.h5ad").status, 429);
}

/// One multipart upload sent in two halves with a pause between them; every caller sends its
/// first half at once (`barrier`). Returns the status.
fn slow_upload(addr: SocketAddr, token: &str, barrier: &std::sync::Barrier) -> u16 {
    let boundary = "----vcaSlowBoundary";
    let mut fields = String::new();
    for (name, value) in [("token", token), ("task", TASK), ("name", "slow")] {
        fields.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    fields.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.h5ad\"\r\n\r\n"
    ));
    let mut first = fields.into_bytes();
    first.extend_from_slice(b"\x89HDF\r\n\x1a\n");
    first.extend(std::iter::repeat_n(b'x', 4096));
    let mut second = vec![b'y'; 4096];
    second.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /api/submissions HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        first.len() + second.len()
    );
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    barrier.wait();
    stream.write_all(head.as_bytes()).unwrap();
    stream.write_all(&first).unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let _ = stream.write_all(&second); // a refused upload may be answered before this half
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    text.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or_else(|| panic!("no HTTP answer: {text}"))
}

/// Many connections that open and send half a request line, then nothing: with a header-read
/// timeout and a connection limit, a normal request is still answered (before, 1,100 of them
/// made it time out).
#[test]
fn half_open_connections_do_not_starve_a_normal_request() {
    let s = start(|c| {
        c.timeouts.header_read = Duration::from_secs(1);
        c.timeouts.idle = Duration::from_secs(2);
        c.timeouts.max_connections = 16;
    });
    let mut held = Vec::new();
    for _ in 0..200 {
        let mut c = TcpStream::connect_timeout(&s.addr, Duration::from_secs(5)).unwrap();
        c.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").unwrap();
        held.push(c);
    }
    // Silent connections that never send a byte, too.
    for _ in 0..50 {
        held.push(TcpStream::connect_timeout(&s.addr, Duration::from_secs(5)).unwrap());
    }
    let r = get(s.addr, "/api/tasks");
    assert_eq!(r.status, 200, "{}", r.body);
    // The half-open connections were closed by the server, not left hanging.
    let mut first = held.remove(0);
    first.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut buf = Vec::new();
    let _ = first.read_to_end(&mut buf);
    let answer = String::from_utf8_lossy(&buf);
    assert!(buf.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
}

/// A stalled upload (it stops sending half-way) is answered 408 after the body timeout, and
/// its reservation is released.
#[test]
fn a_stalled_upload_times_out_and_gives_its_place_back() {
    let s = start(|c| {
        c.timeouts.body = Duration::from_secs(1);
        c.rate_limit = RateLimit { max: 1, window_secs: 3600 };
    });
    let token = s.state.db.create_token("staller").unwrap();
    let boundary = "----vcaStall";
    let mut body = String::new();
    for (name, value) in [("token", token.as_str()), ("task", TASK), ("name", "stall")] {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.h5ad\"\r\n\r\n"
    ));
    let head = format!(
        "POST /api/submissions HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: 100000\r\n\r\n",
        s.addr
    );
    let mut c = TcpStream::connect_timeout(&s.addr, Duration::from_secs(5)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    c.write_all(head.as_bytes()).unwrap();
    c.write_all(body.as_bytes()).unwrap();
    c.write_all(b"\x89HDF\r\n\x1a\npartial").unwrap();
    let mut raw = Vec::new();
    let _ = c.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("the upload stalled"), "{text}");
    let file = b"\x89HDF\r\n\x1a\nnot really";
    assert_eq!(submit(&s, &token, "m", file, "p.h5ad").status, 202, "the stalled upload's place was given back");
}

/// The storage quota refuses uploads with a clear message when full, and the retention sweep
/// deletes a failed upload's file (its row and error text stay), which frees the quota.
#[test]
fn the_upload_quota_refuses_when_full_and_retention_frees_failed_uploads() {
    // An upload may need 100 bytes; kept ones count their size: 26 each.
    let s = start(|c| {
        c.max_upload_bytes = 100;
        c.storage_quota_bytes = Some(160);
        c.retention = Some(Duration::ZERO);
    });
    let token = s.state.db.create_token("filler").unwrap();
    let file = b"\x89HDF\r\n\x1a\nnot an h5ad at all";
    assert_eq!(file.len(), 26);
    let mut ids = Vec::new();
    for kept in 0..3 {
        // 26 * kept + 100 <= 160: room for one more (not with 3 kept: 178).
        let r = submit(&s, &token, "filler", file, "p.h5ad");
        assert_eq!(r.status, 202, "with {kept} kept: {}", r.body);
        ids.push(serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].as_i64().unwrap());
    }
    let r = submit(&s, &token, "one too many", file, "p.h5ad");
    assert_eq!(r.status, 507, "{}", r.body);
    assert!(r.body.contains("upload storage is full") && r.body.contains("organisers"), "{}", r.body);
    for &id in &ids {
        assert_eq!(wait_scored(&s, id)["submission"]["status"], "failed");
    }
    // Retention: the failed uploads' files go, the rows and their errors stay, the quota frees.
    assert_eq!(upload_files(&s).len(), 3, "{:?}", upload_files(&s));
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(leaderboard::housekeeping::purge_failed_uploads(&s.state).unwrap(), 3);
    assert!(upload_files(&s).is_empty(), "{:?}", upload_files(&s));
    let row = s.state.db.submission(ids[0]).unwrap().unwrap();
    assert_eq!((row.status.as_str(), row.upload_name), ("failed", None));
    assert!(row.error.is_some());
    assert_eq!(s.state.db.storage_used().unwrap(), 0);
    assert_eq!(submit(&s, &token, "after", file, "p.h5ad").status, 202);
}

#[test]
fn a_restart_resumes_queued_and_interrupted_jobs() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("arena.sqlite");
    restart_resumes_queued_and_interrupted_jobs(|| Db::open(&path).unwrap(), dir);
}

/// A Postgres scratch schema on the test server (scripts/setup.sh starts it).
fn postgres() -> ScratchSchema {
    ScratchSchema::create().unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn on_postgres_a_restart_resumes_queued_and_interrupted_jobs() {
    let schema = postgres();
    restart_resumes_queued_and_interrupted_jobs(|| Db::connect(schema.url()).unwrap(), tempfile::tempdir().unwrap());
}

/// A first server's database gets one job queued and one claimed by a worker that then
/// "crashed"; a server started on it (`open` again) scores both.
fn restart_resumes_queued_and_interrupted_jobs(open: impl Fn() -> Db, dir: tempfile::TempDir) {
    let (file, _) = oracle_predictions(dir.path());
    let uploads = dir.path().join("uploads");
    std::fs::create_dir_all(&uploads).unwrap();
    {
        let db = open();
        leaderboard::sync_tasks(&db).unwrap();
        for (i, name) in ["queued", "interrupted"].iter().enumerate() {
            let upload = format!("{:032x}.h5ad", i + 1);
            std::fs::write(uploads.join(&upload), &file).unwrap();
            db.insert_submission(&leaderboard::db::NewSubmission {
                task_id: TASK,
                name,
                description: "",
                kind: UploadKind::Predictions.as_str(),
                source: "server",
                token_id: None,
                scorecard: None,
                upload_name: Some(&upload),
                upload_bytes: Some(file.len() as i64),
                receipt_sha256: None,
            })
            .unwrap();
        }
        // The worker "crashes" at once: its lease (none) has expired when the next server starts.
        let job = db.claim_job(Duration::ZERO, 2).unwrap().unwrap();
        assert_eq!(job.submission_id, 1);
        assert_eq!(db.queue_depth().unwrap(), (1, 1));
    }
    let c = config(dir.path());
    let s = start_on(open(), dir, c);
    for id in [1, 2] {
        let v = wait_scored(&s, id);
        assert_eq!(v["submission"]["status"], "scored", "{v}");
    }
    assert_eq!(s.state.db.queue_depth().unwrap(), (0, 0));
}

#[test]
fn published_scorecards_are_marked_self_reported_and_escaped() {
    let s = start(|_| {});
    // A real scorecard from the same scorer, as `arena eval` would write it.
    let (file, _) = oracle_predictions(s.dir.path());
    let path = s.dir.path().join("oracle.h5ad");
    std::fs::write(&path, &file).unwrap();
    let card = { scorer().score(TASK, &path, UploadKind::Predictions).unwrap() };
    let json = serde_json::to_string(&card).unwrap();
    let id = leaderboard::publish_scorecard(&s.state.db, &json, Some("<b>mine</b>"), "<img src=x onerror=alert(1)>")
        .unwrap();
    let v = get_json(s.addr, &format!("/api/submissions/{id}"));
    assert_eq!(v["submission"]["source"], "self-reported");
    assert_eq!(v["submission"]["status"], "scored");
    let lb = get_json(s.addr, &format!("/api/tasks/{TASK}?kind=self-reported"));
    assert_eq!(lb["rows"].as_array().unwrap().len(), 1, "{lb}");
    let page = get(s.addr, &format!("/submissions/{id}"));
    assert!(!page.body.contains("<img src=x") && !page.body.contains("<b>mine"), "{}", page.body);
    // Another task version is refused.
    let mut other = card.clone();
    other.task.spec_sha256 = "0".repeat(64);
    let err =
        leaderboard::publish_scorecard(&s.state.db, &serde_json::to_string(&other).unwrap(), None, "").unwrap_err();
    assert!(err.contains("another version of task"), "{err}");
}

#[test]
fn the_demo_seeds_every_task_with_the_reference_model_baselines_and_the_ceiling() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("arena.sqlite")).unwrap();
    leaderboard::sync_tasks(&db).unwrap();
    let mut options = EvalOptions::default();
    options.bootstrap.resamples = 20;
    let load = LoadOptions { data_dir: Some(common::data_dir()), ..LoadOptions::default() };
    let n = arena_serve::demo::seed_demo(&db, &arena_data::Registry::embedded().unwrap(), &load, &options).unwrap();
    let tasks = db.tasks().unwrap();
    assert_eq!(n, tasks.len());
    drop(db);
    let c = config(dir.path());
    let s = start_in(dir, c);
    for t in &tasks {
        // The reference model reads gene actions only: the dose tasks are seeded without it.
        let reference = arena_models::reference::supports(&tasks::find_spec(&t.id, None).unwrap().spec.split);
        let lb = get_json(s.addr, &format!("/api/tasks/{}", t.id));
        for kind in ["baseline", "reference"] {
            let present = lb["rows"].as_array().unwrap().iter().any(|r| r["kind"] == kind);
            assert_eq!(present, kind == "baseline" || reference, "{}: {kind} row: {lb}", t.id);
        }
        let page = get(s.addr, &format!("/tasks/{}", t.id));
        assert!(page.body.contains("baseline: "), "{}", t.id);
        assert_eq!(page.body.contains("reference model (bundled weights)"), reference, "{}", t.id);
    }
}

/// Every GET route's body (ids filled in) with the default view.
fn all_get_bodies(s: &Server, id: i64) -> Vec<(String, String)> {
    let mut bodies = Vec::new();
    // The training download (format h5ad) exists only for hidden tasks: tests/hidden_tests.rs.
    for route in leaderboard::ROUTES.iter().filter(|r| r.method == "GET" && r.format != "h5ad") {
        let path = route
            .path
            .replace("/tasks/{id}", &format!("/tasks/{TASK}"))
            .replace("{id}", &id.to_string())
            .replace("{row}", "linear");
        let r = get(s.addr, &path);
        // A reference row's page exists once a scored job has given the task its reference rows.
        let no_rows = route.path.contains("{row}") && s.state.db.reference(TASK).unwrap().is_none();
        assert_eq!(r.status, if no_rows { 404 } else { 200 }, "GET {path}: {}", r.body);
        bodies.push((path, r.body));
    }
    bodies
}

#[test]
fn the_private_view_stays_on_the_server_until_an_organiser_reveals_it() {
    let s = start(|_| {});
    let submitter = s.state.db.create_token("participant").unwrap();
    let organiser = s.state.db.create_token_with("organiser", true).unwrap();
    let (file, sim) = oracle_predictions(s.dir.path());
    let r = submit(&s, &submitter, "oracle", &file, "oracle.h5ad");
    assert_eq!(r.status, 202, "{}", r.body);
    let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].as_i64().unwrap();
    assert_eq!(wait_scored(&s, id)["submission"]["status"], "scored");
    let (public, private): (Vec<&String>, Vec<&String>) =
        sim.test_labels.iter().partition(|l| view_of(&s.state.db.split_key().unwrap(), TASK, l) == View::Public);
    assert!(!public.is_empty() && !private.is_empty(), "the split has both views");

    // Before the reveal: the private view is refused, and no page names a private perturbation.
    for path in [format!("/tasks/{TASK}?view=private"), format!("/submissions/{id}?view=private")] {
        let r = get(s.addr, &path);
        assert_eq!(r.status, 403, "{path}: {}", r.body);
        assert!(r.body.contains("until the organisers reveal"), "{}", r.body);
        assert_eq!(get(s.addr, &format!("/api{path}")).status, 403, "/api{path}");
    }
    let lb = get_json(s.addr, &format!("/api/tasks/{TASK}"));
    assert_eq!((lb["view"].as_str(), lb["n_perturbations"].as_u64()), (Some("public"), Some(public.len() as u64)));
    let sub = get_json(s.addr, &format!("/api/submissions/{id}"));
    let shown: Vec<&str> =
        sub["per_perturbation"].as_array().unwrap().iter().map(|p| p["perturbation"].as_str().unwrap()).collect();
    assert_eq!(shown.len(), public.len());
    assert!(shown.iter().all(|l| view_of(&s.state.db.split_key().unwrap(), TASK, l) == View::Public), "{shown:?}");
    assert!(sub["scorecard_rank"].is_null(), "the full-split rank waits for the reveal");
    for (path, body) in all_get_bodies(&s, id) {
        for label in &private {
            assert!(
                !body.contains(&format!(">{label}<")) && !body.contains(&format!("\"{label}\"")),
                "GET {path} names the private perturbation {label}"
            );
        }
    }

    // Only an organiser token flips the switch.
    let reveal = format!("/api/tasks/{TASK}/reveal");
    assert_eq!(post_empty(s.addr, &reveal, None).status, 401);
    let r = post_empty(s.addr, &reveal, Some(&submitter));
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("may submit but not reveal"), "{}", r.body);
    assert!(get(s.addr, &format!("/tasks/{TASK}")).body.contains("is hidden until the organisers reveal it"));
    let r = post_empty(s.addr, &reveal, Some(&organiser));
    assert_eq!(r.status, 200, "{}", r.body);

    // After it, the private view is the default (the cached page was dropped) and shows the
    // private perturbations' scores.
    let page = get(s.addr, &format!("/tasks/{TASK}"));
    assert!(page.body.contains("is revealed"), "{}", page.body);
    let lb = get_json(s.addr, &format!("/api/tasks/{TASK}"));
    assert_eq!((lb["view"].as_str(), lb["n_perturbations"].as_u64()), (Some("private"), Some(private.len() as u64)));
    assert_eq!(lb["rows"][0]["submission_id"], id, "{lb}");
    let sub = get_json(s.addr, &format!("/api/submissions/{id}?view=private"));
    assert_eq!(sub["per_perturbation"].as_array().unwrap().len(), private.len());
    assert!(sub["scorecard_rank"].as_str().unwrap().starts_with("1 ("), "{sub}");
    assert_eq!(get_json(s.addr, &format!("/api/tasks/{TASK}?view=public"))["view"], "public");
    // And hidden again.
    assert_eq!(post_empty(s.addr, &format!("/api/tasks/{TASK}/hide"), Some(&organiser)).status, 200);
    assert_eq!(get(s.addr, &format!("/api/tasks/{TASK}?view=private")).status, 403);
}

#[test]
fn an_onnx_upload_is_scored_by_the_same_code_as_arena_eval() {
    let s = start(|_| {});
    let token = s.state.db.create_token("organiser").unwrap();
    let model_path = common::workspace_root().join("examples/linear.onnx");
    let model = std::fs::read(&model_path).unwrap();
    let r = post_multipart(
        s.addr,
        "/api/submissions",
        &[
            Part::Text("task", TASK),
            Part::Text("name", "linear onnx"),
            Part::Text("kind", "onnx"),
            Part::File("file", "linear.onnx", &model),
        ],
        Some(&token),
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].as_i64().unwrap();
    let v = wait_scored(&s, id);
    assert_eq!(v["submission"]["status"], "scored", "{v}");
    assert_eq!(v["submission"]["kind"], "onnx");
    let lb = get_json(s.addr, &format!("/api/tasks/{TASK}?kind=onnx"));
    let rows = lb["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "{lb}");
    assert_eq!((rows[0]["submission_id"].as_i64(), rows[0]["source"].as_str()), (Some(id), Some("server")));
    assert!(rows[0]["tie_group"].is_string() && rows[0]["rank_interval"]["rank"].is_number(), "{lb}");

    // `arena eval` on the same model: the same model hash and per-perturbation values.
    let out = s.dir.path().join("eval");
    common::run([
        "eval",
        model_path.to_str().unwrap(),
        "--bootstrap",
        "50",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        common::data_dir().to_str().unwrap(),
    ])
    .ok();
    let cli: serde_json::Value = common::read_scorecard(&out);
    let stored: serde_json::Value =
        serde_json::from_str(&s.state.db.submission(id).unwrap().unwrap().scorecard.unwrap()).unwrap();
    let model_row = |card: &serde_json::Value| {
        let name = card["model"].as_str().unwrap().to_string();
        card["rows"].as_array().unwrap().iter().find(|r| r["name"] == name.as_str()).unwrap().clone()
    };
    let (a, b) = (model_row(&cli), model_row(&stored));
    assert_eq!(a["kind"], "onnx");
    assert_eq!(a["model_sha256"], b["model_sha256"]);
    assert_eq!(a["per_perturbation"], b["per_perturbation"]);
    assert_eq!(cli["task"]["split_sha256"], stored["task"]["split_sha256"]);
}

#[test]
fn audit_flags_and_the_way_to_the_ceiling_show_on_the_task_page() {
    let s = start(|_| {});
    let (file, _) = oracle_predictions(s.dir.path());
    let path = s.dir.path().join("oracle.h5ad");
    std::fs::write(&path, &file).unwrap();
    let mut card = { scorer().score(TASK, &path, UploadKind::Predictions).unwrap() };
    let mut json = serde_json::to_value(&card).unwrap();
    json["audit"] = serde_json::json!({
        "submission": card.model, "shuffle_seed": 1, "inflation": 2.0, "probes": [],
        "flags": [{"metric": "mae", "probe": "control-mean", "probe_value": 0.1, "reason": "beats best baseline"}],
    });
    card = serde_json::from_value(json).expect("the scorecard schema's audit section");
    leaderboard::store_reference(&s.state.db, &card, "server").unwrap();
    let id = leaderboard::publish_scorecard(&s.state.db, &serde_json::to_string(&card).unwrap(), Some("flagged"), "")
        .unwrap();
    // The probes ran on every test perturbation, private ones included: the public view shows
    // no flag; the private view, once revealed, shows them.
    let public = get_json(s.addr, &format!("/api/tasks/{TASK}"));
    let flagged = |lb: &serde_json::Value| {
        lb["metrics"].as_array().unwrap().iter().any(|m| !m["flags"].as_array().unwrap().is_empty())
    };
    assert!(!flagged(&public), "{public}");
    assert!(!get(s.addr, &format!("/tasks/{TASK}")).body.contains("class=\"warning\" data-metric"));
    s.state.db.set_revealed(TASK, true).unwrap();
    let lb = get_json(s.addr, &format!("/api/tasks/{TASK}?view=private"));
    let mae = lb["metrics"].as_array().unwrap().iter().find(|m| m["name"] == "mae").unwrap();
    assert_eq!(mae["flags"][0]["probe"], "control-mean", "{lb}");
    assert_eq!(mae["flags"][0]["reason"], "beats best baseline");
    let row = lb["rows"].as_array().unwrap().iter().find(|r| r["submission_id"] == id).unwrap();
    assert_eq!(row["flags"][0]["metric"], "mae");
    // The oracle scores as well as the noise ceiling or better on the primary metric.
    let metrics = lb["metrics"].as_array().unwrap();
    let primary = metrics.iter().position(|m| m["name"] == lb["primary_metric"]).unwrap();
    let toward = row["toward_ceiling"][primary].as_f64().expect("toward_ceiling of the primary metric");
    assert!(toward > 0.9, "{toward}");
    let page = get(s.addr, &format!("/tasks/{TASK}?view=private"));
    assert!(page.body.contains("class=\"warning\" data-metric=\"mae\""), "{}", page.body);
    assert!(page.body.contains("to ceiling"), "{}", page.body);
}

#[test]
fn public_probe_flags_come_from_the_public_half_and_every_row_has_a_page_and_a_csv_line() {
    // A scorer that knows this database's split key, as `arena serve` sets it up.
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("arena.sqlite")).unwrap();
    let key = db.split_key().unwrap();
    let runner = arena_serve::isolation::JobRunner { split_key: Some(key.clone()), ..common::job_runner() };
    let scorer = ArenaScorer::new(runner);
    assert_eq!(scorer.refusal(), None);
    let config = config(dir.path());
    let s = start_scoring_with(db, dir, config, Arc::new(scorer));
    let token = s.state.db.create_token("organiser").unwrap();
    let model = std::fs::read(common::workspace_root().join("examples/linear.onnx")).unwrap();
    let parts = [
        Part::Text("task", TASK),
        Part::Text("name", "linear onnx"),
        Part::Text("kind", "onnx"),
        Part::File("file", "linear.onnx", &model),
    ];
    let r = post_multipart(s.addr, "/api/submissions", &parts, Some(&token));
    assert_eq!(r.status, 202, "{}", r.body);
    let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].as_i64().unwrap();
    assert_eq!(wait_scored(&s, id)["submission"]["status"], "scored");

    // The job computed the flags on each half of the keyed split.
    let card: serde_json::Value =
        serde_json::from_str(&s.state.db.submission(id).unwrap().unwrap().scorecard.unwrap()).unwrap();
    let views = card["audit"]["views"].as_array().expect("per-view flags in the stored scorecard");
    let half = |v: &str| views.iter().find(|x| x["view"] == v).unwrap_or_else(|| panic!("no {v} view: {views:?}"));
    let sim = common::sim_task();
    let n_public = sim.test_labels.iter().filter(|l| view_of(&key, TASK, l) == View::Public).count();
    assert_eq!(half("public")["n_items"].as_u64(), Some(n_public as u64));
    assert_eq!(half("private")["n_items"].as_u64(), Some((sim.test_labels.len() - n_public) as u64));
    let pairs = |flags: &serde_json::Value| -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = flags
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["metric"].as_str().unwrap().to_string(), f["probe"].as_str().unwrap().to_string()))
            .collect();
        v.sort();
        v
    };
    let (public_flags, private_flags) = (pairs(&half("public")["flags"]), pairs(&half("private")["flags"]));
    assert!(!public_flags.is_empty() || !private_flags.is_empty(), "linear is flagged on some metric: {views:?}");
    // The public board shows exactly the public half's flags, on the row and on the metric columns
    // (the task's reference rows came from the same job).
    let lb = get_json(s.addr, &format!("/api/tasks/{TASK}"));
    let row = lb["rows"].as_array().unwrap().iter().find(|r| r["submission_id"] == id).unwrap();
    assert_eq!(pairs(&row["flags"]), public_flags, "{row}");
    let mut columns: Vec<(String, String)> =
        lb["metrics"].as_array().unwrap().iter().flat_map(|m| pairs(&m["flags"])).collect();
    columns.sort();
    assert_eq!(columns, public_flags);
    // The private half's flags wait for the reveal.
    assert_eq!(get(s.addr, &format!("/api/tasks/{TASK}?view=private")).status, 403);
    s.state.db.set_revealed(TASK, true).unwrap();
    let lb = get_json(s.addr, &format!("/api/tasks/{TASK}?view=private"));
    let row = lb["rows"].as_array().unwrap().iter().find(|r| r["submission_id"] == id).unwrap();
    assert_eq!(pairs(&row["flags"]), private_flags);
    s.state.db.set_revealed(TASK, false).unwrap();

    // Every board row links a page: submissions theirs, baselines and the ceiling a reference row page.
    let lb = get_json(s.addr, &format!("/api/tasks/{TASK}"));
    let rows: Vec<&serde_json::Value> =
        lb["rows"].as_array().unwrap().iter().chain(lb["ceiling"].as_array().unwrap()).collect();
    for r in &rows {
        let href = r["href"].as_str().unwrap_or_else(|| panic!("no page for {r}"));
        let page = get(s.addr, href);
        assert_eq!(page.status, 200, "{href}: {}", page.body);
        assert!(page.body.contains("class=\"histogram\""), "{href}");
        if r["kind"] == "baseline" {
            let name = r["reference_row"].as_str().unwrap();
            let json = get_json(s.addr, &format!("/api/tasks/{TASK}/rows/{}", leaderboard::views::path_segment(name)));
            assert_eq!((json["kind"].as_str(), json["name"].as_str()), (Some("baseline"), Some(name)));
            assert_eq!(json["per_perturbation"].as_array().unwrap().len(), n_public, "the public half only");
        }
    }
    let ceiling =
        get_json(s.addr, lb["ceiling"][0]["href"].as_str().unwrap().replacen("/tasks/", "/api/tasks/", 1).as_str());
    assert_eq!(ceiling["kind"], "ceiling");
    // The model's page compares it with the best baseline per perturbation.
    let sub = get_json(s.addr, &format!("/api/submissions/{id}"));
    let scatter = &sub["comparison"];
    assert!(scatter["baseline"].as_str().unwrap().starts_with("baseline: "), "{scatter}");
    assert_eq!(scatter["points"].as_array().unwrap().len() + scatter["n_missing"].as_u64().unwrap() as usize, n_public);
    let missing = get(s.addr, &format!("/tasks/{TASK}/rows/no-such-row"));
    assert_eq!(missing.status, 404);
    assert!(missing.body.contains("linear"), "the 404 lists the rows: {}", missing.body);
    assert_eq!(get(s.addr, &format!("/tasks/{TASK}/rows/linear?view=private")).status, 403);

    // The CSV holds every row of the board, the ceiling last, one column per metric statistic.
    let csv = get(s.addr, &format!("/tasks/{TASK}/board.csv"));
    assert_eq!(csv.status, 200);
    assert!(csv.headers.to_ascii_lowercase().contains("content-type: text/csv"), "{}", csv.headers);
    let lines: Vec<&str> = csv.body.lines().collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(&header[..6], ["view", "rank", "rank_lower", "rank_upper", "tie_group", "row"]);
    for m in lb["metrics"].as_array().unwrap() {
        let name = m["name"].as_str().unwrap();
        for part in ["mean", "ci_lower", "ci_upper", "toward_ceiling"] {
            assert!(header.contains(&format!("{name}_{part}").as_str()), "{name}_{part} in {header:?}");
        }
    }
    assert_eq!(lines.len() - 1, rows.len(), "{}", csv.body);
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let ours = lines.iter().find(|l| l.contains("linear onnx")).expect("the model's line");
    let fields: Vec<&str> = ours.split(',').collect();
    let board_row = lb["rows"].as_array().unwrap().iter().find(|r| r["submission_id"] == id).unwrap();
    let primary = lb["primary_metric"].as_str().unwrap();
    let k = lb["metrics"].as_array().unwrap().iter().position(|m| m["name"] == primary).unwrap();
    let mean: f64 = fields[col(&format!("{primary}_mean"))].parse().unwrap();
    assert_eq!(mean, board_row["cells"][k]["mean"].as_f64().unwrap(), "the CSV holds the stored value");
    assert_eq!(fields[col("rank")], board_row["rank_interval"]["rank"].to_string());
    assert!(lines.last().unwrap().contains("ceiling"));
    assert_eq!(get(s.addr, &format!("/tasks/{TASK}/board.csv?view=private")).status, 403);
}

#[test]
fn a_scored_upload_keeps_the_tasks_reference_model_row() {
    let s = start(|_| {});
    let (file, _) = oracle_predictions(s.dir.path());
    let path = s.dir.path().join("oracle.h5ad");
    std::fs::write(&path, &file).unwrap();
    // A reference scorecard like the demo's: its model row is the bundled reference world model.
    let mut json = serde_json::to_value(scorer().score(TASK, &path, UploadKind::Predictions).unwrap()).unwrap();
    let name = json["model"].as_str().unwrap().to_string();
    let reference = "reference model (bundled weights)";
    for row in json["rows"].as_array_mut().unwrap() {
        if row["name"] == name.as_str() {
            row["name"] = reference.into();
            row["kind"] = "reference".into();
        }
    }
    json["model"] = reference.into();
    let card = serde_json::from_value(json).unwrap();
    leaderboard::store_reference(&s.state.db, &card, "demo").unwrap();
    let on_board = |s: &Server| get_json(s.addr, &format!("/api/tasks/{TASK}")).to_string().contains(reference);
    assert!(on_board(&s));
    oracle_ranked_first(&s, "a later upload", "oracle.h5ad");
    assert!(on_board(&s), "the job's scorecard replaced the task's reference rows");
}

// ---- hostile uploads: each is refused or contained, and nothing they point at leaks ----

/// Runs a Python script (the project's .venv: h5py and onnx) with `args`; it writes a crafted file.
fn craft(script: &str, args: &[&Path]) {
    let python = common::workspace_root().join(".venv/bin/python");
    assert!(python.is_file(), "{} is missing: run `bash scripts/python-env.sh`", python.display());
    let out = std::process::Command::new(python).arg("-c").arg(script).args(args).output().unwrap();
    assert!(out.status.success(), "crafting failed:\n{}", String::from_utf8_lossy(&out.stderr));
}

/// Uploads `file` as `kind`, waits for its job, and returns (the submitter's error text, every
/// public body of the submission).
fn submit_hostile(s: &Server, name: &str, file: &[u8], kind: &str) -> (String, Vec<(String, String)>) {
    let token = s.state.db.create_token(name).unwrap();
    let filename = format!("{name}.{}", if kind == "onnx" { "onnx" } else { "h5ad" });
    let r = post_multipart(
        s.addr,
        "/api/submissions",
        &[
            Part::Text("token", &token),
            Part::Text("task", TASK),
            Part::Text("name", name),
            Part::Text("kind", kind),
            Part::File("file", &filename, file),
        ],
        None,
    );
    assert_eq!(r.status, 202, "{}", r.body);
    let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].as_i64().unwrap();
    let v = wait_scored(s, id);
    assert_eq!(v["submission"]["status"], "failed", "{v}");
    (submitter_error(s, &r.body), all_get_bodies(s, id))
}

const SECRET: &str = "SECRET-ROW-3f9a1c";

/// An ONNX model whose weights "live" in the server's database WAL, relative to the working
/// directory (where ONNX Runtime resolves external data).
fn external_weights_model(path: &Path) {
    craft(
        "import sys, onnx\n\
         from onnx import helper, TensorProto\n\
         t = TensorProto(); t.name = 'w'; t.data_type = TensorProto.FLOAT; t.dims.extend([1024])\n\
         t.data_location = TensorProto.EXTERNAL\n\
         e = t.external_data.add(); e.key = 'location'; e.value = 'arena.sqlite-wal'\n\
         out = helper.make_tensor_value_info('expression_next', TensorProto.FLOAT, [1024])\n\
         g = helper.make_graph([helper.make_node('Identity', ['w'], ['expression_next'])], 'g', [], [out], initializer=[t])\n\
         open(sys.argv[1], 'wb').write(helper.make_model(g).SerializeToString())",
        &[path],
    );
}

#[test]
fn an_h5ad_pointing_its_gene_names_at_a_server_file_is_refused_unread() {
    let s = start(|_| {});
    let (file, _) = oracle_predictions(s.dir.path());
    let path = s.dir.path().join("external.h5ad");
    std::fs::write(&path, &file).unwrap();
    // The "server file": fixed 16-byte records, as /etc/passwd lines would be read.
    let secret = s.dir.path().join("secret.txt");
    let n_genes = common::sim_task().genes.len();
    std::fs::write(&secret, format!("{SECRET:<16}").repeat(n_genes)).unwrap();
    craft(
        "import sys, h5py\n\
         f = h5py.File(sys.argv[1], 'r+'); var = f['var']; name = var.attrs['_index']; n = var[name].shape[0]\n\
         del var[name]\n\
         var.create_dataset(name, shape=(n,), dtype='S16', external=[(sys.argv[2], 0, 16 * n)])\n\
         f.close()",
        &[&path, &secret],
    );
    let (error, bodies) = submit_hostile(&s, "external-storage", &std::fs::read(&path).unwrap(), "predictions");
    assert!(error.contains("external files") && error.contains("var/"), "{error}");
    for (route, body) in bodies {
        assert!(!body.contains(SECRET), "{route} serves the file's contents");
    }
    assert!(!error.contains(SECRET));
}

#[test]
fn an_onnx_model_with_external_data_is_refused_before_onnx_runtime_reads_it() {
    let s = start(|_| {});
    let model = s.dir.path().join("external.onnx");
    external_weights_model(&model);
    let (error, _) = submit_hostile(&s, "external-data", &std::fs::read(&model).unwrap(), "onnx");
    assert!(error.contains("tensor 'w' keeps its values in an external data file"), "{error}");
}

#[test]
fn bomb_uploads_fail_their_job_and_the_server_stays_up() {
    let s = start(|_| {});
    // A few KB declaring a 10^6 x 10^5 float32 X (400 GB).
    let h5 = s.dir.path().join("bomb.h5ad");
    craft(
        "import sys, h5py\n\
         f = h5py.File(sys.argv[1], 'w'); f.attrs['encoding-type'] = 'anndata'\n\
         f.create_dataset('X', shape=(10**6, 10**5), dtype='f4', chunks=(1, 1)); f.close()",
        &[&h5],
    );
    assert!(std::fs::metadata(&h5).unwrap().len() < 64 << 10);
    let (error, _) = submit_hostile(&s, "h5ad-bomb", &std::fs::read(&h5).unwrap(), "predictions");
    assert!(error.contains("declares a shape of [1000000, 100000]"), "{error}");
    // A model whose batch axis is fixed to 10^10 rows (its warm-up would allocate them).
    let genes = common::sim_task().genes.join("\n");
    let onnx = s.dir.path().join("bomb.onnx");
    let genes_file = s.dir.path().join("genes.txt");
    std::fs::write(&genes_file, &genes).unwrap();
    craft(
        "import sys, onnx\n\
         from onnx import helper, TensorProto\n\
         genes = open(sys.argv[2]).read(); g = len(genes.split('\\n')); b = 10**10\n\
         ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [b, g]) for n in ('expression', 'perturbation')]\n\
         out = helper.make_tensor_value_info('expression_next', TensorProto.FLOAT, [b, g])\n\
         graph = helper.make_graph([helper.make_node('Add', ['expression', 'perturbation'], ['expression_next'])], 'g', ins, [out])\n\
         m = helper.make_model(graph, opset_imports=[helper.make_opsetid('', 17)]); m.ir_version = 8\n\
         for k, v in (('arena.contract', 'arena-onnx-v1'), ('arena.genes', genes)): p = m.metadata_props.add(); p.key = k; p.value = v\n\
         open(sys.argv[1], 'wb').write(m.SerializeToString())",
        &[&onnx, &genes_file],
    );
    let (error, _) = submit_hostile(&s, "onnx-bomb", &std::fs::read(&onnx).unwrap(), "onnx");
    assert!(error.contains("a batch of 10000000000 rows"), "{error}");
    // Still serving, and an honest upload is still scored.
    oracle_ranked_first(&s, "after the bombs", "oracle.h5ad");
}

#[test]
fn a_job_that_crashes_is_retried_then_failed_without_taking_the_server_down() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("arena.sqlite")).unwrap();
    let config = config(dir.path());
    // 64 MiB of address space: every scoring process dies (an allocation fails and Rust aborts).
    let mut runner = common::job_runner();
    runner.limits.memory_bytes = 64 << 20;
    let scorer = Arc::new(ArenaScorer::new(runner));
    let s = start_scoring_with(db, dir, config, scorer);
    let token = s.state.db.create_token("crash").unwrap();
    let (file, _) = oracle_predictions(s.dir.path());
    let r = submit(&s, &token, "crashes", &file, "oracle.h5ad");
    assert_eq!(r.status, 202, "{}", r.body);
    let id = serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].as_i64().unwrap();
    assert_eq!(wait_scored(&s, id)["submission"]["status"], "failed");
    let error = submitter_error(&s, &r.body);
    assert!(error.contains("scoring failed 2 times without a result"), "{error}");
    assert_eq!(s.state.db.queue_depth().unwrap(), (0, 0), "nothing left in the queue");
    assert_eq!(get(s.addr, "/api/tasks").status, 200, "the server is still up");
}

#[test]
fn a_scoring_job_can_read_neither_the_database_nor_other_uploads_nor_reach_the_network() {
    let s = start(|_| {});
    let token = s.state.db.create_token("someone").unwrap();
    let (file, _) = oracle_predictions(s.dir.path());
    let r = submit(&s, &token, "someone else's upload", &file, "oracle.h5ad");
    assert_eq!(r.status, 202, "{}", r.body);
    let other = s.state.config.upload_dir.join(upload_files(&s).into_iter().find(|n| is_generated_name(n)).unwrap());
    let database = s.dir.path().join("arena.sqlite");
    let job = tempfile::tempdir().unwrap();
    let own = job.path().join("own.txt");
    std::fs::write(&own, "mine").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap().to_string();
    let mut args: Vec<std::ffi::OsString> =
        vec!["score-job".into(), "--probe".into(), "--out".into(), job.path().into()];
    for p in [database.as_path(), other.as_path(), Path::new("/etc/hostname"), own.as_path()] {
        args.extend(["--probe-read".into(), p.into()]);
    }
    args.extend(["--probe-connect".into(), address.into()]);
    common::run(args).ok();
    let result: serde_json::Value = common::read_json(job.path(), "result.json");
    let lines = result["outcome"]["rejected"].as_str().unwrap();
    let line = |p: &Path| lines.lines().find(|l| l.starts_with(&p.display().to_string())).unwrap().to_string();
    assert!(line(&database).contains("denied"), "{lines}");
    assert!(line(&other).contains("denied"), "{lines}");
    assert!(
        line(Path::new("/etc/hostname")).contains("denied")
            || line(Path::new("/etc/hostname")).contains("No such file"),
        "{lines}"
    );
    assert!(line(&own).contains("read 4 bytes"), "{lines}");
    let connect = lines.lines().find(|l| l.starts_with("connect ")).unwrap();
    assert!(connect.contains("failed"), "{lines}");
    assert_eq!(result["enforced"]["filesystem"], "full", "{result}");
    assert_ne!(result["enforced"]["network"], "none", "{result}");
}

/// `arena serve` (the release path: the real binary, its own scoring processes) killed with
/// SIGKILL after scoring an honest upload and a hostile one (an ONNX model that asks for the
/// database's WAL as its weights): a routine `--issue-token` between the runs, then a restart,
/// loses no submission, and the new token works.
#[test]
fn kill_9_after_a_hostile_job_loses_no_submission() {
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("arena.sqlite").display());
    let issue = |name: &str| {
        let run = common::run(["serve", "--database", &database, "--issue-token", name]).ok();
        run.stdout.lines().last().unwrap().trim().to_string()
    };
    let token = issue("first");
    let (server, url) = common::start_serve(&database);
    let addr: SocketAddr = url.trim_start_matches("http://").trim_end_matches('/').parse().unwrap();
    let upload = |name: &str, kind: &str, file: &[u8]| {
        let parts = [
            Part::Text("task", TASK),
            Part::Text("name", name),
            Part::Text("kind", kind),
            Part::File("file", "f", file),
        ];
        let r = post_multipart(addr, "/api/submissions", &parts, Some(&token));
        assert_eq!(r.status, 202, "{}", r.body);
        serde_json::from_str::<serde_json::Value>(&r.body).unwrap()["id"].as_i64().unwrap()
    };
    let (honest, _) = oracle_predictions(dir.path());
    let model = dir.path().join("wal.onnx");
    external_weights_model(&model);
    let ids = [upload("honest", "predictions", &honest), upload("hostile", "onnx", &std::fs::read(&model).unwrap())];
    let status =
        |addr: SocketAddr, id: i64| get_json(addr, &format!("/api/submissions/{id}"))["submission"]["status"].clone();
    let started = Instant::now();
    while ids.iter().any(|&id| !matches!(status(addr, id).as_str(), Some("scored" | "failed"))) {
        assert!(started.elapsed() < Duration::from_secs(240), "jobs not finished");
        std::thread::sleep(Duration::from_millis(200));
    }
    let before: Vec<serde_json::Value> = ids.iter().map(|&id| status(addr, id)).collect();
    assert_eq!(before, ["scored", "failed"]);
    drop(server); // SIGKILL
    let second = issue("second");
    let (_server, url) = common::start_serve(&database);
    let addr: SocketAddr = url.trim_start_matches("http://").trim_end_matches('/').parse().unwrap();
    let after: Vec<serde_json::Value> = ids.iter().map(|&id| status(addr, id)).collect();
    assert_eq!(after, before, "the submissions survive the kill and the routine token command");
    let board = get_json(addr, &format!("/api/tasks/{TASK}"));
    assert!(board.to_string().contains("honest"), "the scored submission is still on the board");
    let (file, _) = oracle_predictions(dir.path());
    let parts = [Part::Text("task", TASK), Part::Text("name", "later"), Part::File("file", "f.h5ad", &file)];
    assert_eq!(post_multipart(addr, "/api/submissions", &parts, Some(&second)).status, 202, "the new token works");
    // Revoked while the server runs: the next upload with it is refused.
    let run = common::run(["serve", "--database", &database, "--revoke-token", "first"]).ok();
    assert!(run.stdout.contains("token 'first' is revoked"), "{}", run.stdout);
    assert_eq!(post_multipart(addr, "/api/submissions", &parts, Some(&token)).status, 401);
    assert!(!common::run(["serve", "--database", &database, "--revoke-token", "nobody"]).success());
}
