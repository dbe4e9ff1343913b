//! `arena serve --issue-token` and `arena publish` through the binary (no server is started).

mod common;

#[test]
fn issue_token_then_publish_a_scorecard_as_self_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("lb.sqlite").display());
    let run = common::run(["serve", "--database", &db, "--issue-token", "organiser"]).ok();
    let token = run.stdout.lines().last().unwrap().trim().to_string();
    assert!(token.starts_with("vca_") && token.len() > 64, "{}", run.stdout);
    // The same name twice is refused; the token is never stored in clear.
    common::run(["serve", "--database", &db, "--issue-token", "organiser"]).failed();
    let bytes = std::fs::read(dir.path().join("lb.sqlite")).unwrap();
    let secret = token.rsplit('_').next().unwrap();
    assert!(!String::from_utf8_lossy(&bytes).contains(secret));

    let out = dir.path().join("run");
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
    let run = common::run(["publish", card.to_str().unwrap(), "--database", &db, "--name", "my linear"]).ok();
    assert!(run.stdout.contains("as submission 1 on sim-unseen-single (self-reported)"), "{}", run.stdout);

    let ldb = leaderboard::Db::open(&dir.path().join("lb.sqlite")).unwrap();
    let s = ldb.submission(1).unwrap().unwrap();
    assert_eq!((s.name.as_str(), s.source.as_str(), s.status.as_str()), ("my linear", "self-reported", "scored"));

    // A baselines-only scorecard has no model row: refused, nothing imported.
    let base = dir.path().join("base");
    common::run(["eval", "--bootstrap", "20", "--out", base.to_str().unwrap(), "--data-dir", data.to_str().unwrap()])
        .ok();
    let run = common::run(["publish", base.join("scorecard.json").to_str().unwrap(), "--database", &db]).failed();
    assert!(run.stderr.contains("no model row"), "{}", run.stderr);
    assert!(ldb.submission(2).unwrap().is_none());
    // The reveal switch from the command line, and organiser tokens.
    let task = "sim-unseen-single";
    assert!(!ldb.task(task).unwrap().unwrap().revealed);
    let run = common::run(["serve", "--database", &db, "--reveal", task]).ok();
    assert!(run.stdout.contains("is now revealed"), "{}", run.stdout);
    assert!(ldb.task(task).unwrap().unwrap().revealed);
    common::run(["serve", "--database", &db, "--hide", task]).ok();
    assert!(!ldb.task(task).unwrap().unwrap().revealed);
    let run = common::run(["serve", "--database", &db, "--reveal", "no-such-task"]).failed();
    assert!(run.stderr.contains("no task 'no-such-task'"), "{}", run.stderr);
    let run = common::run(["serve", "--database", &db, "--issue-token", "boss", "--admin"]).ok();
    let admin = run.stdout.lines().last().unwrap().trim().to_string();
    assert!(ldb.verify_token(&admin).unwrap().unwrap().admin);
    assert!(!ldb.verify_token(&token).unwrap().unwrap().admin);
    // Postgres URLs are refused with a clear message.
    let run = common::run(["publish", card.to_str().unwrap(), "--database", "postgres://h/db"]).failed();
    assert!(run.stderr.contains("only SQLite"), "{}", run.stderr);
}
