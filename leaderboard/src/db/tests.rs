//! The storage on both backends: SQLite files in a scratch directory and Postgres scratch schemas
//! on the test server (`ARENA_TEST_POSTGRES`; scripts/setup.sh starts it — without it these tests
//! fail, saying so). One scripted scenario runs on both and must give the same results.

use std::path::PathBuf;

use super::scratch::ScratchSchema;
use super::value::vals;
use super::*;
use crate::auth;

fn temp_sqlite() -> (Db, PathBuf) {
    let dir = std::env::temp_dir().join(format!("lb-db-test-{}-{}", std::process::id(), auth::random_hex(6).unwrap()));
    std::fs::create_dir_all(&dir).unwrap();
    (Db::open(&dir.join("arena.sqlite")).unwrap(), dir)
}

fn scratch() -> ScratchSchema {
    ScratchSchema::create().unwrap_or_else(|e| panic!("{e}"))
}

fn connect(schema: &ScratchSchema) -> Db {
    Db::connect(schema.url()).unwrap_or_else(|e| panic!("{e}"))
}

fn int_query(db: &Db, sql: &str, params: Vec<value::Value>) -> i64 {
    db.backend.with(|s| Ok(s.query_one(sql, params)?.int(0)?)).unwrap()
}

fn task_row(id: &str, title: &str) -> TaskRow {
    TaskRow {
        id: id.into(),
        family: "unseen-single".into(),
        dataset: "sim".into(),
        title: title.into(),
        description: "d".into(),
        metrics: vec!["pearson_delta".into(), "mae".into()],
        spec_sha256: "ab".repeat(32),
        revealed: false,
    }
}

fn queued<'a>(task_id: &'a str, name: &'a str, token_id: Option<i64>, upload: &'a str) -> NewSubmission<'a> {
    NewSubmission {
        task_id,
        name,
        description: "<b>desc</b>",
        kind: "predictions",
        source: "server",
        token_id,
        scorecard: None,
        upload_name: Some(upload),
        upload_bytes: Some(1234),
        receipt_sha256: None,
    }
}

/// A long lease: the claiming worker is alive for the whole test.
const LIVE: std::time::Duration = std::time::Duration::from_secs(3600);

/// A job as text without its lease owner (random per claim).
fn job_text(j: &Job) -> String {
    format!(
        "Job({}, sub {}, {}, {}, {}, attempt {})",
        j.id, j.submission_id, j.task_id, j.kind, j.upload_name, j.attempts
    )
}

/// The workers holding jobs "crash": every running job's lease expires now.
fn expire_leases(db: &Db) {
    db.backend.with(|s| s.execute("UPDATE jobs SET lease_expires_ms = 0 WHERE status = 'running'", vals![])).unwrap();
}

fn untimed(mut s: SubmissionRow) -> SubmissionRow {
    s.created = 0;
    s.updated = 0;
    s
}

/// A scripted sequence of every `Db` call; the results, as text, timestamps left out.
fn scenario(db: &Db) -> Vec<String> {
    let mut out = Vec::new();
    let mut log = |label: &str, v: String| out.push(format!("{label}: {v}"));
    log("versions", format!("{:?}", db.schema_versions()));
    // Tasks and the reveal switch.
    db.upsert_task(&task_row("t1", "first")).unwrap();
    db.upsert_task(&task_row("t0", "zero")).unwrap();
    db.upsert_task(&task_row("t1", "first, renamed")).unwrap();
    log("set_revealed", format!("{:?}", db.set_revealed("t1", true)));
    log("set_revealed missing", format!("{:?}", db.set_revealed("nope", true)));
    log("tasks", format!("{:?}", db.tasks()));
    log("task missing", format!("{:?}", db.task("nope")));
    // Tokens.
    let token = db.create_token("organiser").unwrap();
    let boss = db.create_token_with("boss", true).unwrap();
    // After the last insert into tokens: a failed insert may use up an id in Postgres.
    log("token again", format!("{:?}", db.create_token("organiser")));
    let row = db.verify_token(&token).unwrap().unwrap();
    log("verify", format!("{row:?}"));
    log("verify admin", format!("{:?}", db.verify_token(&boss)));
    log("verify unknown id", format!("{:?}", db.verify_token("vca_999_00")));
    log("verify garbage", format!("{:?}", db.verify_token("'; DROP TABLE tokens; --")));
    // Submissions: one self-reported (scored, no job), three uploads (queued, one job each).
    let published = db
        .insert_submission(&NewSubmission {
            task_id: "t1",
            name: "published",
            description: "",
            kind: "linear",
            source: "self-reported",
            token_id: None,
            scorecard: Some("{\"card\":1}"),
            upload_name: None,
            upload_bytes: None,
            receipt_sha256: None,
        })
        .unwrap();
    let ids: Vec<i64> = ["a", "b", "c"]
        .iter()
        .map(|n| db.insert_submission(&queued("t1", n, Some(row.id), &format!("{n}.h5ad"))).unwrap())
        .collect();
    log("ids", format!("{published} {ids:?}"));
    log("unknown task", format!("{:?}", db.insert_submission(&queued("nope", "x", None, "x.h5ad")).is_err()));
    log("since", format!("{:?} {:?}", db.submissions_since(row.id, 0), db.submissions_since(row.id, now() + 60)));
    log("submission", format!("{:?}", db.submission(ids[0]).unwrap().map(untimed)));
    log("submission missing", format!("{:?}", db.submission(999)));
    let latest: Vec<_> = db.latest_submissions(2).unwrap().into_iter().map(untimed).collect();
    log("latest", format!("{latest:?}"));
    // References, row scores and boards, each written twice (upserts).
    db.set_reference("t1", "{\"ref\":1}", "demo").unwrap();
    db.set_reference("t1", "{\"ref\":2}", "server").unwrap();
    log("reference", format!("{:?} {:?}", db.reference("t1"), db.reference("t0")));
    for (sub, json) in [(None, "r1"), (None, "r2"), (Some(published), "p1"), (Some(published), "p2")] {
        db.set_row_scores("t1", sub, "public", json).unwrap();
    }
    db.set_row_scores("t1", Some(published), "private", "p-private").unwrap();
    log(
        "row_scores",
        format!(
            "{:?} {:?} {:?} {:?}",
            db.row_scores("t1", None, "public"),
            db.row_scores("t1", Some(published), "public"),
            db.row_scores("t1", Some(published), "private"),
            db.row_scores("t1", Some(ids[0]), "public"),
        ),
    );
    log("row_scores count", int_query(db, "SELECT COUNT(*) FROM row_scores", vals![]).to_string());
    let rows: Vec<_> = db.task_row_scores("t1", "public").unwrap().into_iter().map(|(s, j)| (untimed(s), j)).collect();
    log("task_row_scores", format!("{rows:?}"));
    log("without scores", format!("{:?}", db.submissions_without_scores()));
    db.set_board("t1", "public", "{\"rows\":1}").unwrap();
    db.set_board("t1", "public", "{\"rows\":2}").unwrap();
    log("board", format!("{:?} {:?}", db.board("t1", "public"), db.board("t1", "private")));
    // The queue: claim two, finish one scored and one failed, crash with the third running.
    log("depth", format!("{:?}", db.queue_depth()));
    let first = db.claim_job(LIVE, 2).unwrap().unwrap();
    let second = db.claim_job(LIVE, 2).unwrap().unwrap();
    log("claimed", format!("{} {} {:?}", job_text(&first), job_text(&second), db.queue_depth()));
    db.finish_job(&first, Ok("{\"scored\":1}")).unwrap();
    db.finish_job(&second, Err("the file has no X")).unwrap();
    log("requeue none", format!("{:?}", db.requeue_running(2)));
    let third = db.claim_job(LIVE, 2).unwrap().unwrap();
    log("claim when empty", format!("{:?}", db.claim_job(LIVE, 2).map(|j| j.map(|j| job_text(&j)))));
    log("live lease kept", format!("{:?}", db.requeue_running(2)));
    expire_leases(db);
    log(
        "crash",
        format!(
            "{} {:?} {:?}",
            job_text(&third),
            db.queue_depth(),
            db.submission(third.submission_id).unwrap().map(untimed)
        ),
    );
    log("requeue", format!("{:?} {:?}", db.requeue_running(2), db.queue_depth()));
    log("stale finish refused", format!("{:?}", db.finish_job(&third, Ok("{}"))));
    let again = db.claim_job(LIVE, 2).unwrap().unwrap();
    log("claimed again", job_text(&again));
    log("attempts", int_query(db, "SELECT attempts FROM jobs WHERE id = $1", vals![again.id]).to_string());
    db.finish_job(&again, Ok("{\"scored\":3}")).unwrap();
    log("depth after", format!("{:?}", db.queue_depth()));
    let scored: Vec<_> = db.scored_submissions("t1").unwrap().into_iter().map(untimed).collect();
    log("scored", format!("{scored:?}"));
    log("failed", format!("{:?}", db.submission(second.submission_id).unwrap().map(untimed)));
    out
}

#[test]
fn the_same_calls_give_the_same_results_on_sqlite_and_postgres() {
    let (lite, dir) = temp_sqlite();
    let schema = scratch();
    let pg = connect(&schema);
    let (a, b) = (scenario(&lite), scenario(&pg));
    assert!(a.len() > 30 && a.iter().all(|l| !l.contains("Err(\"database")), "{a:#?}");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x, y);
    }
    assert_eq!(a.len(), b.len());
    // Spot checks that the scenario exercised what it claims.
    let find = |label: &str| a.iter().find(|l| l.starts_with(&format!("{label}: "))).unwrap().clone();
    assert_eq!(find("versions"), "versions: Ok([1, 2, 3, 4, 5])");
    assert_eq!(find("live lease kept"), "live lease kept: Ok(Requeued { requeued: 0, failed: 0 })");
    assert_eq!(find("stale finish refused"), "stale finish refused: Ok(false)");
    assert!(find("token again").contains("exists already"));
    assert_eq!(find("row_scores count"), "row_scores count: 3");
    assert!(find("board").contains("Ok(Some(\"{\\\"rows\\\":2}\")) Ok(None)"));
    assert_eq!(find("attempts"), "attempts: 2");
    assert!(
        find("requeue").starts_with("requeue: Ok(Requeued { requeued: 1, failed: 0 }) Ok((1,"),
        "{}",
        find("requeue")
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_job_interrupted_max_attempts_times_is_failed_not_requeued() {
    let (db, dir) = temp_sqlite();
    db.upsert_task(&task_row("t", "T")).unwrap();
    let id = db.insert_submission(&queued("t", "bomb", None, "ab.h5ad")).unwrap();
    for attempt in 1..=2 {
        let job = db.claim_job(LIVE, 2).unwrap().unwrap();
        assert_eq!((job.submission_id, job.attempts), (id, attempt));
        // The server dies while the job runs; the next start finds it running, its lease expired.
        expire_leases(&db);
        let r = db.requeue_running(2).unwrap();
        if attempt < 2 {
            assert_eq!(r, Requeued { requeued: 1, failed: 0 });
            assert_eq!(db.submission(id).unwrap().unwrap().status, "queued");
        } else {
            assert_eq!(r, Requeued { requeued: 0, failed: 1 });
        }
    }
    let s = db.submission(id).unwrap().unwrap();
    assert_eq!(s.status, "failed");
    assert!(s.error.as_deref().unwrap_or("").contains("interrupted 2 times"), "{:?}", s.error);
    assert!(db.claim_job(LIVE, 2).unwrap().is_none(), "a failed job is never claimed again");
    assert_eq!(db.queue_depth().unwrap(), (0, 0));
    // A crash reported by the worker puts the job back while it has attempts left.
    let other = db.insert_submission(&queued("t", "flaky", None, "cd.h5ad")).unwrap();
    let job = db.claim_job(LIVE, 2).unwrap().unwrap();
    assert!(db.retry_job(&job).unwrap());
    assert_eq!(db.submission(other).unwrap().unwrap().status, "queued");
    assert_eq!(db.claim_job(LIVE, 2).unwrap().unwrap().attempts, 2);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_revoked_token_no_longer_verifies() {
    let (db, dir) = temp_sqlite();
    let token = db.create_token("alice").unwrap();
    let other = db.create_token("bob").unwrap();
    assert!(db.verify_token(&token).unwrap().is_some());
    assert!(db.revoke_token("alice").unwrap());
    assert!(db.verify_token(&token).unwrap().is_none());
    assert!(db.verify_token(&other).unwrap().is_some(), "only the named token is revoked");
    assert!(!db.revoke_token("nobody").unwrap());
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn sqlite_migrations_are_versioned_and_idempotent_and_wal_is_on() {
    let (db, dir) = temp_sqlite();
    assert_eq!(db.schema_versions().unwrap(), vec![1, 2, 3, 4, 5]);
    assert_eq!(db.journal_mode().unwrap().to_lowercase(), "wal");
    let path = db.path().unwrap().to_path_buf();
    drop(db);
    let again = Db::open(&path).unwrap();
    assert_eq!(again.schema_versions().unwrap(), vec![1, 2, 3, 4, 5]);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn postgres_migrations_are_versioned_and_idempotent() {
    let schema = scratch();
    let db = connect(&schema);
    assert_eq!(db.schema_versions().unwrap(), vec![1, 2, 3, 4, 5]);
    assert!(db.path().is_none() && db.journal_mode().unwrap_err().contains("Postgres"));
    let tables = "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1";
    assert_eq!(int_query(&db, tables, vals![schema.name()]), 9, "8 tables + schema_migrations in the scratch schema");
    // Postgres types: identity ids, BIGINT integers, BYTEA blobs.
    let column = "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = $3 AND data_type = $4";
    for (table, col, ty) in
        [("tokens", "salt", "bytea"), ("jobs", "attempts", "bigint"), ("tasks", "revealed", "bigint")]
    {
        assert_eq!(int_query(&db, column, vals![schema.name(), table, col, ty]), 1, "{table}.{col} {ty}");
    }
    drop(db);
    let again = connect(&schema);
    assert_eq!(again.schema_versions().unwrap(), vec![1, 2, 3, 4, 5]);
    assert_eq!(int_query(&again, "SELECT COUNT(*) FROM schema_migrations", vals![]), 5);
}

fn tokens_are_hashed_at_rest_and_verified(db: &Db) {
    let token = db.create_token("organiser").unwrap();
    assert!(db.create_token("organiser").unwrap_err().contains("exists already"));
    let row = db.verify_token(&token).unwrap().expect("valid token");
    assert_eq!(row.name, "organiser");
    // Wrong secret, wrong id, garbage: all refused.
    let mut wrong = token.clone();
    let last = wrong.pop().unwrap();
    wrong.push(if last == '0' { '1' } else { '0' });
    assert!(db.verify_token(&wrong).unwrap().is_none());
    assert!(db.verify_token("vca_999_00").unwrap().is_none());
    assert!(db.verify_token("'; DROP TABLE tokens; --").unwrap().is_none());
    // The secret is stored nowhere in the token's row: only its salted hash.
    let secret = token.rsplit('_').next().unwrap().to_string();
    let stored = db
        .backend
        .with(|s| {
            let mut r = s.query_one("SELECT hash, salt, name FROM tokens", vals![])?;
            Ok([r.blob(0)?, r.blob(1)?, r.text(2)?.into_bytes()])
        })
        .unwrap();
    assert_eq!(stored[0].len(), 32);
    assert!(stored.iter().all(|b| !String::from_utf8_lossy(b).contains(&secret)));
}

#[test]
fn sqlite_tokens_are_hashed_at_rest_and_verified() {
    let (db, dir) = temp_sqlite();
    tokens_are_hashed_at_rest_and_verified(&db);
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn postgres_tokens_are_hashed_at_rest_and_verified() {
    let schema = scratch();
    tokens_are_hashed_at_rest_and_verified(&connect(&schema));
}

#[test]
fn postgres_queue_resumes_after_a_crash() {
    let schema = scratch();
    let db = connect(&schema);
    db.upsert_task(&task_row("t", "T")).unwrap();
    let a = db.insert_submission(&queued("t", "a", None, "a.h5ad")).unwrap();
    let b = db.insert_submission(&queued("t", "b", None, "b.h5ad")).unwrap();
    let job = db.claim_job(std::time::Duration::ZERO, 2).unwrap().unwrap();
    assert_eq!(job.submission_id, a);
    assert_eq!(db.queue_depth().unwrap(), (1, 1));
    drop(db); // the server "crashes" with the job running; its lease expires at once
    let db = connect(&schema);
    assert_eq!(db.submission(a).unwrap().unwrap().status, "running");
    assert_eq!(db.requeue_running(2).unwrap().requeued, 1);
    assert_eq!(db.submission(a).unwrap().unwrap().status, "queued");
    let again = db.claim_job(LIVE, 2).unwrap().unwrap();
    assert_eq!((again.id, again.submission_id), (job.id, a), "the interrupted job comes first again");
    db.finish_job(&again, Ok("{}")).unwrap();
    assert_eq!(db.claim_job(LIVE, 2).unwrap().unwrap().submission_id, b);
    assert_eq!(db.queue_depth().unwrap(), (0, 1));
}

/// A second handle's writes (another process: `arena publish` beside `arena serve`) change the
/// first handle's generation, so its cached pages are dropped.
fn generation_sees_other_handles(first: &Db, second: &Db) {
    first.upsert_task(&task_row("t", "T")).unwrap();
    let before = first.generation().unwrap();
    second.set_board("t", "public", "{}").unwrap();
    assert_ne!(first.generation().unwrap(), before);
    let before = first.generation().unwrap();
    second.set_revealed("t", true).unwrap();
    assert_ne!(first.generation().unwrap(), before);
}

#[test]
fn the_generation_sees_writes_of_other_handles_on_both_backends() {
    let (lite, dir) = temp_sqlite();
    generation_sees_other_handles(&lite, &Db::open(lite.path().unwrap()).unwrap());
    let schema = scratch();
    generation_sees_other_handles(&connect(&schema), &connect(&schema));
    std::fs::remove_dir_all(dir).ok();
}

/// The postgres client runs its own runtime and would panic if called on a runtime thread: the
/// handle must work from async code on both kinds of runtime.
async fn use_postgres_from_async_code() {
    let schema = scratch();
    let db = connect(&schema);
    db.upsert_task(&task_row("t", "T")).unwrap();
    let id = db.insert_submission(&queued("t", "a", None, "a.h5ad")).unwrap();
    tokio::task::yield_now().await;
    assert_eq!(db.claim_job(LIVE, 2).unwrap().unwrap().submission_id, id);
    assert_eq!(db.tasks().unwrap().len(), 1);
}

#[tokio::test(flavor = "current_thread")]
async fn postgres_works_inside_a_current_thread_runtime() {
    use_postgres_from_async_code().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_works_inside_a_multi_thread_runtime() {
    use_postgres_from_async_code().await;
}

#[test]
fn postgres_connection_errors_say_what_to_do_and_hide_the_password() {
    let url = parse_database_url("postgres://arena:hunter2@127.0.0.1:1/arena_test").unwrap();
    let Err(e) = Db::connect(&url) else { panic!("nothing listens on port 1") };
    assert!(e.contains("could not connect to postgres://arena:***@127.0.0.1:1/arena_test"), "{e}");
    assert!(e.contains("scripts/setup.sh") && !e.contains("hunter2"), "{e}");
    // A wrong password on the real server: refused, and the password is not echoed.
    let server = super::scratch::test_server_url();
    let (scheme, rest) = server.split_once("://").unwrap();
    let (user_info, host) = rest.rsplit_once('@').expect("ARENA_TEST_POSTGRES names a user");
    let user = user_info.split(':').next().unwrap();
    let wrong = format!("{scheme}://{user}:not-the-password@{host}");
    let Err(e) = Db::connect(&parse_database_url(&wrong).unwrap()) else { panic!("a wrong password was accepted") };
    assert!(e.contains("password authentication failed") && !e.contains("not-the-password"), "{e}");
}

#[test]
fn postgres_reconnects_after_the_connection_is_lost() {
    let schema = scratch();
    let db = connect(&schema);
    let killer = connect(&schema);
    db.upsert_task(&task_row("t", "T")).unwrap();
    let pid = int_query(&db, "SELECT pg_backend_pid()", vals![]);
    assert_eq!(int_query(&killer, "SELECT pg_terminate_backend(CAST($1 AS INTEGER))", vals![pid]), 1);
    let alive = "SELECT COUNT(*) FROM pg_stat_activity WHERE pid = CAST($1 AS INTEGER)";
    let started = std::time::Instant::now();
    while int_query(&killer, alive, vals![pid]) > 0 {
        assert!(started.elapsed().as_secs() < 30, "the terminated backend is still there");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The statement that finds the connection gone may fail; the next one reconnects.
    let _ = db.tasks();
    assert_eq!(db.tasks().unwrap().len(), 1);
    assert_ne!(int_query(&db, "SELECT pg_backend_pid()", vals![]), pid);
}

/// Two servers on one database (two handles on one SQLite file; the same holds on Postgres):
/// a start requeues only jobs whose lease expired, a live lease keeps its job, and a worker
/// whose lease was taken over can no longer record or renew.
fn leases_keep_other_servers_jobs(a: &Db, b: &Db) {
    a.upsert_task(&task_row("t", "T")).unwrap();
    let first = a.insert_submission(&queued("t", "first", None, "a.h5ad")).unwrap();
    let second = a.insert_submission(&queued("t", "second", None, "b.h5ad")).unwrap();
    let held = a.claim_job(LIVE, 3).unwrap().unwrap();
    assert_eq!(held.submission_id, first);
    // Server B starts: A's job keeps its live lease; B takes the next job, not A's.
    assert_eq!(b.requeue_running(3).unwrap(), Requeued { requeued: 0, failed: 0 });
    assert_eq!(b.submission(first).unwrap().unwrap().status, "running");
    let other = b.claim_job(LIVE, 3).unwrap().unwrap();
    assert_eq!(other.submission_id, second);
    assert!(b.claim_job(LIVE, 3).unwrap().is_none(), "a job under a live lease is never claimed");
    assert!(a.renew_lease(&held, LIVE).unwrap());
    // A stops renewing (it crashed): once the lease runs out B takes the job over.
    let short = a.claim_job(LIVE, 3).unwrap();
    assert!(short.is_none());
    expire_leases_of(a, held.id);
    let taken = b.claim_job(LIVE, 3).unwrap().unwrap();
    assert_eq!((taken.id, taken.attempts), (held.id, 2));
    assert!(!a.renew_lease(&held, LIVE).unwrap(), "the old lease is gone");
    assert!(!a.finish_job(&held, Ok("{}")).unwrap(), "the old worker records nothing");
    assert!(!a.retry_job(&held).unwrap());
    assert!(b.finish_job(&taken, Ok("{\"by\":\"b\"}")).unwrap());
    assert_eq!(b.submission(first).unwrap().unwrap().scorecard.as_deref(), Some("{\"by\":\"b\"}"));
    assert!(b.finish_job(&other, Err("bad")).unwrap());
    assert_eq!(a.queue_depth().unwrap(), (0, 0));
}

fn expire_leases_of(db: &Db, job: i64) {
    db.backend.with(|s| s.execute("UPDATE jobs SET lease_expires_ms = 0 WHERE id = $1", vals![job])).unwrap();
}

#[test]
fn a_start_requeues_only_expired_leases_on_sqlite_and_postgres() {
    let (lite, dir) = temp_sqlite();
    leases_keep_other_servers_jobs(&lite, &Db::open(lite.path().unwrap()).unwrap());
    let schema = scratch();
    leases_keep_other_servers_jobs(&connect(&schema), &connect(&schema));
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_lease_that_is_not_renewed_expires_by_itself() {
    let (db, dir) = temp_sqlite();
    db.upsert_task(&task_row("t", "T")).unwrap();
    let id = db.insert_submission(&queued("t", "a", None, "a.h5ad")).unwrap();
    let job = db.claim_job(std::time::Duration::from_millis(200), 2).unwrap().unwrap();
    assert!(db.claim_job(LIVE, 2).unwrap().is_none());
    std::thread::sleep(std::time::Duration::from_millis(400));
    let again = db.claim_job(LIVE, 2).unwrap().unwrap();
    assert_eq!((again.submission_id, again.attempts), (id, 2));
    assert!(!db.finish_job(&job, Ok("{}")).unwrap());
    std::fs::remove_dir_all(dir).ok();
}

/// One worker, token A queues four jobs, then token B two: claims alternate between the tokens
/// while both have jobs (round-robin), whatever the order they were queued in.
fn claims_alternate_between_tokens(db: &Db) {
    db.upsert_task(&task_row("t", "T")).unwrap();
    let a = db.create_token("fair-a").unwrap();
    let b = db.create_token("fair-b").unwrap();
    let (a, b) = (db.verify_token(&a).unwrap().unwrap().id, db.verify_token(&b).unwrap().unwrap().id);
    for (token, name) in [(a, "a1"), (a, "a2"), (a, "a3"), (a, "a4"), (b, "b1"), (b, "b2")] {
        db.insert_submission(&queued("t", name, Some(token), &format!("{name}.h5ad"))).unwrap();
    }
    let mut order = Vec::new();
    while let Some(job) = db.claim_job(LIVE, 2).unwrap() {
        order.push(db.submission(job.submission_id).unwrap().unwrap().name);
        db.finish_job(&job, Ok("{}")).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(3)); // claims are ordered by the millisecond
    }
    assert_eq!(order, ["a1", "b1", "a2", "b2", "a3", "a4"]);
    // Two workers: the second claim goes to the token with no running job.
    for name in ["a5", "a6"] {
        db.insert_submission(&queued("t", name, Some(a), &format!("{name}.h5ad"))).unwrap();
    }
    db.insert_submission(&queued("t", "b3", Some(b), "b3.h5ad")).unwrap();
    let j1 = db.claim_job(LIVE, 2).unwrap().unwrap();
    let j2 = db.claim_job(LIVE, 2).unwrap().unwrap();
    let names = [j1, j2].map(|j| db.submission(j.submission_id).unwrap().unwrap().name);
    // B first (A was served last), then A: A's two older jobs do not take both workers.
    assert_eq!(names, ["b3", "a5"], "token A holds one worker, not both");
}

#[test]
fn claims_are_fair_across_tokens_on_sqlite_and_postgres() {
    let (lite, dir) = temp_sqlite();
    claims_alternate_between_tokens(&lite);
    let schema = scratch();
    claims_alternate_between_tokens(&connect(&schema));
    std::fs::remove_dir_all(dir).ok();
}

/// Reservations count toward the quotas before the upload streams, released ones give their
/// place back, and the storage quota counts kept uploads plus reservations.
fn reservations_hold_the_quotas(db: &Db) {
    db.upsert_task(&task_row("t", "T")).unwrap();
    let token = db.create_token("quota").unwrap();
    let token = db.verify_token(&token).unwrap().unwrap().id;
    let limits = [(2, 3600), (3, 86_400)];
    let r = |quota: Option<i64>| Reservation {
        task_id: "t",
        token_id: token,
        limits: &limits,
        reserve_bytes: 100,
        storage_quota: quota,
    };
    let Reserved::Slot(one) = db.reserve_upload(&r(None)).unwrap() else { panic!() };
    let Reserved::Slot(two) = db.reserve_upload(&r(None)).unwrap() else { panic!() };
    assert_eq!(db.reserve_upload(&r(None)).unwrap(), Reserved::RateLimited { made: 2, max: 2, window_secs: 3600 });
    assert!(db.latest_submissions(10).unwrap().is_empty(), "reservations are not listed");
    assert_eq!(db.storage_used().unwrap(), 200);
    db.release_upload(two).unwrap();
    let upload = CompletedUpload {
        name: "m",
        description: "",
        kind: "predictions",
        upload_name: "ab.h5ad",
        upload_bytes: 40,
        receipt_sha256: "00",
    };
    db.complete_upload(one, &upload).unwrap();
    assert_eq!(db.submission(one).unwrap().unwrap().status, "queued");
    assert_eq!(db.queue_depth().unwrap(), (1, 0));
    assert_eq!(db.storage_used().unwrap(), 40);
    assert_eq!(db.reserve_upload(&r(Some(139))).unwrap(), Reserved::StorageFull { used: 40, quota: 139 });
    let Reserved::Slot(three) = db.reserve_upload(&r(Some(140))).unwrap() else { panic!() };
    // The daily quota: three in 24 hours, the hourly window aside.
    db.complete_upload(three, &CompletedUpload { upload_name: "cd.h5ad", ..upload }).unwrap();
    let hourly_only = [(10, 3600), (3, 86_400)];
    let daily = Reservation { limits: &hourly_only, ..r(None) };
    let Reserved::Slot(_) = db.reserve_upload(&daily).unwrap() else { panic!() };
    assert_eq!(db.reserve_upload(&daily).unwrap(), Reserved::RateLimited { made: 3, max: 3, window_secs: 86_400 });
    // A failed upload's file is purged after the retention: the row stays, the bytes leave.
    let job = db.claim_job(LIVE, 2).unwrap().unwrap();
    db.finish_job(&job, Err("bad file")).unwrap();
    assert!(db.failed_uploads_before(now() - 60).unwrap().is_empty(), "not yet past the retention");
    let failed = db.failed_uploads_before(now() + 1).unwrap();
    assert_eq!(failed, [(one, "ab.h5ad".to_string())]);
    db.forget_upload(one).unwrap();
    assert!(db.failed_uploads_before(now() + 1).unwrap().is_empty());
    assert_eq!(db.submission(one).unwrap().unwrap().error.as_deref(), Some("bad file"));
    assert_eq!(db.storage_used().unwrap(), 140, "one kept upload (40) and one reservation (100)");
    assert_eq!(db.release_stale_reservations(now() + 1).unwrap(), 1);
    assert_eq!(db.storage_used().unwrap(), 40);
}

#[test]
fn reservations_hold_the_quotas_on_sqlite_and_postgres() {
    let (lite, dir) = temp_sqlite();
    reservations_hold_the_quotas(&lite);
    let schema = scratch();
    reservations_hold_the_quotas(&connect(&schema));
    std::fs::remove_dir_all(dir).ok();
}

/// Twelve reservations at once, from twelve handles (as from several server processes), with a
/// limit of two: exactly two get a slot.
fn parallel_reservations_pass_no_limit(open: &(dyn Fn() -> Db + Sync)) {
    let db = open();
    db.upsert_task(&task_row("t", "T")).unwrap();
    let token = db.create_token("racer").unwrap();
    let token = db.verify_token(&token).unwrap().unwrap().id;
    let barrier = std::sync::Barrier::new(12);
    let slots = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12)
            .map(|_| {
                scope.spawn(|| {
                    let db = open();
                    let limits = [(2, 3600)];
                    let r = Reservation {
                        task_id: "t",
                        token_id: token,
                        limits: &limits,
                        reserve_bytes: 1,
                        storage_quota: None,
                    };
                    barrier.wait();
                    db.reserve_upload(&r).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).filter(|r| matches!(r, Reserved::Slot(_))).count()
    });
    assert_eq!(slots, 2);
}

#[test]
fn parallel_reservations_pass_no_limit_on_sqlite_and_postgres() {
    let (lite, dir) = temp_sqlite();
    let path = lite.path().unwrap().to_path_buf();
    parallel_reservations_pass_no_limit(&|| Db::open(&path).unwrap());
    let schema = scratch();
    parallel_reservations_pass_no_limit(&|| connect(&schema));
    std::fs::remove_dir_all(dir).ok();
}

/// `sslmode=require` makes a TLS connection whose certificate is verified: the test server's
/// self-signed certificate (scripts/setup.sh's cluster) is refused as untrusted, where the old
/// plain-TCP client would have said it has no TLS at all, and `sslmode=disable` connects.
#[test]
fn postgres_sslmode_require_verifies_the_server_certificate() {
    let schema = scratch();
    let DatabaseUrl::Postgres(server) = schema.url() else { unreachable!("a Postgres scratch schema") };
    let with = |mode: &str| {
        let sep = if server.contains('?') { '&' } else { '?' };
        DatabaseUrl::Postgres(format!("{server}{sep}sslmode={mode}"))
    };
    let e = Db::connect(&with("require")).err().expect("an untrusted certificate is refused");
    assert!(e.contains("certificate") && !e.contains("no TLS implementation"), "{e}");
    assert!(!e.contains(":arena@"), "the password stays hidden: {e}");
    Db::connect(&with("disable")).unwrap();
}

/// The split key is made once per database, kept across restarts and shared by every handle,
/// differs between databases, and is never shown; a database split by the old unkeyed rule has
/// its per-view scores and boards dropped when the key is made (the next start rebuilds them).
#[test]
fn the_split_key_is_secret_per_database_and_kept() {
    let (db, dir) = temp_sqlite();
    let key = db.split_key().unwrap();
    let path = db.path().unwrap().to_path_buf();
    assert_eq!(Db::open(&path).unwrap().split_key().unwrap(), key, "kept across a restart");
    let (other, other_dir) = temp_sqlite();
    assert_ne!(other.split_key().unwrap(), key, "each database has its own");
    assert!(!format!("{key:?}").contains(&auth::hex(&key.0)));
    // An older database: scores stored, no key yet.
    db.upsert_task(&task_row("t", "T")).unwrap();
    db.set_row_scores("t", None, "public", "{}").unwrap();
    db.set_board("t", "public", "{}").unwrap();
    db.backend.with(|s| s.execute("DELETE FROM settings", vals![])).unwrap();
    drop(db);
    let upgraded = Db::open(&path).unwrap();
    assert_ne!(upgraded.split_key().unwrap(), key);
    assert_eq!(upgraded.row_scores("t", None, "public").unwrap(), None);
    assert_eq!(upgraded.board("t", "public").unwrap(), None);
    std::fs::remove_dir_all(dir).ok();
    std::fs::remove_dir_all(other_dir).ok();
}
