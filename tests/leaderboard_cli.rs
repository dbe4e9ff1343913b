//! `arena serve --issue-token` and `arena publish` through the binary, on an SQLite file and on a
//! Postgres scratch schema (the test server of scripts/setup.sh); and `arena serve --demo`
//! answering while it seeds.

mod common;

use std::path::Path;

use leaderboard::Db;
use leaderboard::db::DatabaseUrl;
use leaderboard::db::scratch::ScratchSchema;

/// Issues tokens, publishes a scorecard and flips the reveal switch through the binary on the
/// database `url`, checking each through `ldb`, a handle on the same database. Returns the
/// organiser token.
fn token_publish_and_reveal(url: &str, ldb: &Db, dir: &Path) -> String {
    let run = common::run(["serve", "--database", url, "--issue-token", "organiser"]).ok();
    let token = run.stdout.lines().last().unwrap().trim().to_string();
    assert!(token.starts_with("vca_") && token.len() > 64, "{}", run.stdout);
    // The same name twice is refused.
    common::run(["serve", "--database", url, "--issue-token", "organiser"]).failed();

    let out = dir.join("run");
    let data = common::data_dir();
    common::run([
        "eval",
        "--baseline",
        "linear",
        "--bootstrap",
        "20",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ])
    .ok();
    let card = out.join("scorecard.json");
    let run = common::run(["publish", card.to_str().unwrap(), "--database", url, "--name", "my linear"]).ok();
    assert!(run.stdout.contains("as submission 1 on sim-unseen-single (self-reported)"), "{}", run.stdout);
    let s = ldb.submission(1).unwrap().unwrap();
    assert_eq!((s.name.as_str(), s.source.as_str(), s.status.as_str()), ("my linear", "self-reported", "scored"));

    // A baselines-only scorecard has no model row: refused, nothing imported.
    let base = dir.join("base");
    common::run(["eval", "--bootstrap", "20", "--out", base.to_str().unwrap(), "--data-dir", data.to_str().unwrap()])
        .ok();
    let run = common::run(["publish", base.join("scorecard.json").to_str().unwrap(), "--database", url]).failed();
    assert!(run.stderr.contains("no model row"), "{}", run.stderr);
    assert!(ldb.submission(2).unwrap().is_none());
    // The reveal switch from the command line, and organiser tokens.
    let task = "sim-unseen-single";
    assert!(!ldb.task(task).unwrap().unwrap().revealed);
    let run = common::run(["serve", "--database", url, "--reveal", task]).ok();
    assert!(run.stdout.contains("is now revealed"), "{}", run.stdout);
    assert!(ldb.task(task).unwrap().unwrap().revealed);
    common::run(["serve", "--database", url, "--hide", task]).ok();
    assert!(!ldb.task(task).unwrap().unwrap().revealed);
    let run = common::run(["serve", "--database", url, "--reveal", "no-such-task"]).failed();
    assert!(run.stderr.contains("no task 'no-such-task'"), "{}", run.stderr);
    let run = common::run(["serve", "--database", url, "--issue-token", "boss", "--admin"]).ok();
    let admin = run.stdout.lines().last().unwrap().trim().to_string();
    assert!(ldb.verify_token(&admin).unwrap().unwrap().admin);
    assert!(!ldb.verify_token(&token).unwrap().unwrap().admin);
    token
}

#[test]
fn issue_token_then_publish_a_scorecard_as_self_reported() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("lb.sqlite");
    let url = format!("sqlite:{}", file.display());
    let ldb = Db::open(&file).unwrap();
    let token = token_publish_and_reveal(&url, &ldb, dir.path());
    // The token is never stored in clear.
    let bytes = std::fs::read(&file).unwrap();
    let secret = token.rsplit('_').next().unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains(secret));
    // Other schemes are refused with the accepted ones named, and without the password.
    let run = common::run(["publish", "x.json", "--database", "mysql://root:hunter2@h/db"]).failed();
    assert!(run.stderr.contains("unsupported scheme") && run.stderr.contains("postgres://"), "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}

#[test]
fn the_same_commands_work_on_postgres() {
    let schema = ScratchSchema::create().unwrap_or_else(|e| panic!("{e}"));
    let DatabaseUrl::Postgres(url) = schema.url() else { unreachable!("a Postgres scratch schema") };
    let ldb = Db::connect(schema.url()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    token_publish_and_reveal(url, &ldb, dir.path());
    // Messages name the database without its password.
    let run = common::run(["serve", "--database", url, "--hide", "sim-unseen-single"]).ok();
    assert!(run.stdout.contains(&format!("(database {})", schema.url())), "{}", run.stdout);
    assert!(run.stdout.contains(":***@"), "{}", run.stdout);
    // An unreachable server: the message says what to do.
    let run =
        common::run(["publish", "x.json", "--database", "postgres://arena:hunter2@127.0.0.1:1/arena_test"]).failed();
    assert!(run.stderr.contains("could not connect") && run.stderr.contains("scripts/setup.sh"), "{}", run.stderr);
    assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
}

/// `arena serve --demo` answers at once: the home page shows the seeding notice while the demo's
/// scorecards are computed in the background (seeding takes about 42 s).
#[test]
fn serve_demo_answers_at_once_with_a_notice_while_it_seeds() {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let database = format!("sqlite:{}", dir.path().join("demo.sqlite").display());
    let mut child = common::arena()
        .current_dir(common::workspace_root())
        .args(["serve", "--database", &database, "--bind", "127.0.0.1:0", "--bootstrap", "50", "--demo", "--data-dir"])
        .arg(common::data_dir())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting arena serve --demo");
    let stdout = child.stdout.take().unwrap();
    let _server = common::Killed(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).unwrap_or_else(|| panic!("{line:?}"));
    let home = ureq::get(url).call().unwrap().body_mut().read_to_string().unwrap();
    assert!(home.contains("id=\"notice\"") && home.contains("The demo is being seeded"), "{home}");
    // The boards are served meanwhile (empty until their task is seeded).
    let tasks = ureq::get(&format!("{url}/api/tasks")).call().unwrap().body_mut().read_to_string().unwrap();
    assert!(tasks.contains("sim-unseen-single"), "{tasks}");
}
