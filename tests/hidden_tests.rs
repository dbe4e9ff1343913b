//! Hidden test sets that stay hidden: a leaderboard's simulator task drawn from an organiser
//! secret differs from the public world (`arena simulate --seed 0`), its training download holds
//! no test cell, the server scores uploads on the hidden world, and no route, error text or
//! stored file other than the jobs' world files carries the secret or the seeds derived from it.
//! Public tasks say that their test data are public; an organiser's private dataset is served
//! as training cells only.

mod common;

use common::{Server, get, get_json, request, wait_done};

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use arena_data::Registry;
use arena_eval::EvalOptions;
use arena_serve::isolation::JobRunner;
use arena_serve::prepare::{self, WorldSettings};
use arena_serve::scorer::ArenaScorer;
use arena_serve::worlds::{Secret, TaskWorld, write_training_h5ad};
use arena_sim::load::{LoadOptions, load_file_dataset};
use leaderboard::{AppState, Config, Db, Scorer};
use tasks::TaskInstance;

const HIDDEN_TASK: &str = "sim-unseen-single";
const PRIVATE_TASK: &str = "sim-stability";
const PUBLIC_TASK: &str = "papalexi2021-unseen-single";
const SECRET: &str = "organiser-secret-7c1e9a4b2d6f80e3";

fn registry() -> Registry {
    Registry::embedded().unwrap()
}

fn load_options() -> LoadOptions {
    LoadOptions { data_dir: Some(common::data_dir()), ..LoadOptions::default() }
}

fn spec(id: &str) -> tasks::LoadedSpec {
    tasks::embedded_specs().unwrap().into_iter().find(|s| s.spec.id == id).unwrap()
}

fn seeds(world: &TaskWorld) -> (u64, u64) {
    match world {
        TaskWorld::HiddenSimulator { world_seed, split_seed } => (*world_seed, *split_seed),
        other => panic!("not a hidden world: {other:?}"),
    }
}

/// Bit patterns of every row of a matrix, to find a row of one matrix in another.
fn row_keys(x: &ndarray::Array2<f32>) -> BTreeSet<Vec<u32>> {
    x.rows().into_iter().map(|r| r.iter().map(|v| v.to_bits()).collect()).collect()
}

#[test]
fn the_hidden_world_differs_from_arena_simulate_seed_0_and_its_training_download_holds_no_test_cell() {
    let dir = tempfile::tempdir().unwrap();
    // The public world, as a participant regenerates it.
    let public_file = dir.path().join("public.h5ad");
    common::run(["simulate", "--seed", "0", "--out", public_file.to_str().unwrap()]).ok();
    let public = load_file_dataset(public_file.to_str().unwrap(), &registry(), &load_options()).unwrap().dataset;
    let public_instance = TaskInstance::build(spec(HIDDEN_TASK), &public).unwrap();

    let world = Secret::new(SECRET).unwrap().world(HIDDEN_TASK);
    let (loaded, hidden_spec) = world.load(&spec(HIDDEN_TASK), &registry(), &load_options()).unwrap();
    let hidden = TaskInstance::build(hidden_spec, &loaded.dataset).unwrap();
    assert!(!loaded.source.contains(&seeds(&world).0.to_string()), "{}", loaded.source);

    // The hidden test set is another one: other cells, other held-out conditions, other truths.
    assert_ne!(loaded.dataset.sha256, public.sha256);
    let public_rows = row_keys(&public.select_rows(&(0..public.n_rows()).collect::<Vec<_>>()));
    let hidden_test_rows: Vec<usize> = hidden.test_rows.iter().flatten().copied().collect();
    let hidden_test = loaded.dataset.select_rows(&hidden_test_rows);
    assert!(!hidden_test_rows.is_empty());
    assert!(row_keys(&hidden_test).is_disjoint(&public_rows), "a hidden test cell is a cell of the public world");
    let labels = |i: &TaskInstance<'_>| i.eval_items().into_iter().map(|e| e.label).collect::<Vec<_>>();
    let (hidden_labels, public_labels) = (labels(&hidden), labels(&public_instance));
    assert_ne!(hidden_labels, public_labels, "the hidden split holds out other conditions");
    let public_truth: BTreeMap<String, Vec<f64>> =
        public_labels.iter().cloned().zip(public_instance.truth_means()).collect();
    for (label, truth) in hidden_labels.iter().zip(hidden.truth_means()) {
        if let Some(p) = public_truth.get(label) {
            let diff = truth.iter().zip(p).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            assert!(diff > 1e-3, "{label}: the hidden truth equals the public one");
        }
    }

    // The training download: training conditions and training controls, nothing held out.
    let path = dir.path().join("training.h5ad");
    let summary = write_training_h5ad(&hidden, &path).unwrap();
    let adata = common::read_h5ad(&path);
    let obs: Vec<String> =
        adata.obs.column("perturbation").and_then(|c| c.as_labels()).unwrap().into_iter().map(Option::unwrap).collect();
    assert_eq!(obs.len(), hidden.training_rows().len());
    assert_eq!(summary.n_cells, obs.len());
    let test_set: BTreeSet<&String> = hidden_labels.iter().collect();
    assert!(obs.iter().all(|l| !test_set.contains(l)), "a test condition's cell is in the download");
    assert_eq!(obs.iter().filter(|l| *l == "ctrl").count(), hidden.split.control_train_rows.len());
    assert!(!hidden.split.control_test_rows.is_empty());
    let x = adata.x.to_dense();
    assert_eq!(
        x,
        loaded.dataset.select_rows(&hidden.training_rows()),
        "the download holds the training cells as scored"
    );
    let mut held_out = hidden_test_rows.clone();
    held_out.extend(&hidden.split.control_test_rows);
    let held_out = row_keys(&loaded.dataset.select_rows(&held_out));
    assert!(row_keys(&x).is_disjoint(&held_out), "a held-out cell (test condition or test control) is in the download");
    assert_eq!(adata.uns_strings("test_conditions").unwrap(), hidden_labels.as_slice());
    assert_eq!(adata.var.index, loaded.dataset.genes.names());
}

// ---- the server

/// A leaderboard with `HIDDEN_TASK` on the secret's world and `PRIVATE_TASK` on an organiser's
/// file (another simulation), prepared as `arena serve --secret-file --hidden-task
/// --private-dataset` does.
fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let private_file = dir.path().join("organiser-private.h5ad");
    common::run(["simulate", "--seed", "4242", "--out", private_file.to_str().unwrap()]).ok();
    let db = Db::open(&dir.path().join("arena.sqlite")).unwrap();
    leaderboard::sync_tasks(&db).unwrap();
    let secret = Secret::new(SECRET).unwrap();
    let private = BTreeMap::from([(PRIVATE_TASK.to_string(), private_file)]);
    let hidden = [HIDDEN_TASK.to_string()];
    let settings = WorldSettings { secret: Some(&secret), hidden_tasks: &hidden, private: &private };
    settings.validate().unwrap();
    let mut options = EvalOptions::default();
    options.bootstrap.resamples = 50;
    let prepared = prepare::prepare(&db, dir.path(), &settings, &registry(), &load_options(), &options).unwrap();
    assert_eq!(prepared.world_files.keys().collect::<Vec<_>>(), [PRIVATE_TASK, HIDDEN_TASK]);
    let runner = JobRunner { worlds: prepared.world_files, ..common::job_runner() };
    let scorer = ArenaScorer::new(runner);
    assert_eq!(scorer.refusal(), None, "the sandbox must be enforceable on the test machine");
    let mut config = Config::beside(&dir.path().join("arena.sqlite"));
    config.poll_interval = Duration::from_millis(100);
    config.test_data = prepared.test_data;
    common::serve(AppState::new(db, Arc::new(scorer), config).unwrap(), dir)
}

/// Uploads `file` as predictions for `task`; returns the upload's JSON answer (id, url, receipt).
fn submit(s: &Server, token: &str, task: &str, name: &str, file: &[u8]) -> serde_json::Value {
    let boundary = "----vcaHiddenBoundary0b9d";
    let mut body = Vec::new();
    for (k, v) in [("token", token), ("task", task), ("name", name), ("description", name), ("kind", "predictions")] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"p.h5ad\"\r\nContent-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let head = format!(
        "POST /api/submissions HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary={boundary}\r\nContent-Length: {}\r\n\r\n",
        s.addr,
        body.len()
    );
    let r = request(s.addr, &head, &body);
    assert_eq!(r.status, 202, "{}", r.body);
    serde_json::from_slice(&r.bytes).unwrap()
}

/// Predictions h5ad: one profile per label.
fn predictions(dir: &Path, name: &str, labels: &[String], profiles: &[Vec<f64>], genes: &[String]) -> Vec<u8> {
    let x: Vec<Vec<f32>> = profiles.iter().map(|t| t.iter().map(|&v| v as f32).collect()).collect();
    let path = dir.join(name);
    common::write_h5ad(&path, &common::anndata(x, "perturbation", labels, genes));
    std::fs::read(path).unwrap()
}

fn primary_mean(submission: &serde_json::Value) -> f64 {
    let names = submission["metrics"].as_array().unwrap_or_else(|| panic!("no metrics: {submission}"));
    let k = names.iter().position(|m| m["name"] == "pearson_delta_pert").unwrap();
    submission["cells"][k]["mean"].as_f64().unwrap_or_else(|| panic!("no mean: {submission}"))
}

/// Every file under `dir` except the jobs' world files.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "worlds") {
                files_under(&p, out);
            }
        } else {
            out.push(p);
        }
    }
}

#[test]
fn the_leaderboard_scores_the_hidden_world_and_never_returns_the_secret_or_its_seeds() {
    let s = start();
    let token = s.state.db.create_token("participant").unwrap();
    let world = Secret::new(SECRET).unwrap().world(HIDDEN_TASK);
    let (world_seed, split_seed) = seeds(&world);
    let (loaded, hidden_spec) = world.load(&spec(HIDDEN_TASK), &registry(), &load_options()).unwrap();
    let hidden = TaskInstance::build(hidden_spec, &loaded.dataset).unwrap();
    let genes = loaded.dataset.genes.names().to_vec();
    let labels: Vec<String> = hidden.eval_items().into_iter().map(|e| e.label).collect();

    // The training download is the hidden world's training cells, with the labels to predict.
    let download = get(s.addr, &format!("/tasks/{HIDDEN_TASK}/training.h5ad"));
    assert_eq!(download.status, 200, "{}", download.body);
    let file = s.dir.path().join("download.h5ad");
    std::fs::write(&file, &download.bytes).unwrap();
    let adata = common::read_h5ad(&file);
    assert_eq!(adata.n_obs(), hidden.training_rows().len());
    assert_eq!(adata.uns_strings("test_conditions").unwrap(), labels.as_slice());
    let private_download = get(s.addr, &format!("/tasks/{PRIVATE_TASK}/training.h5ad"));
    assert_eq!(private_download.status, 200, "{}", private_download.body);
    let public_download = get(s.addr, &format!("/tasks/{PUBLIC_TASK}/training.h5ad"));
    assert_eq!(public_download.status, 404);
    assert!(public_download.body.contains("public test data"), "{}", public_download.body);

    // The hidden world's oracle (its true test means) is scored on the hidden world: it beats the
    // public world's oracle (what `arena simulate --seed 0` gives), which the server scores as
    // a wrong guess.
    let hidden_oracle = predictions(s.dir.path(), "hidden.h5ad", &labels, &hidden.truth_means(), &genes);
    let public = common::sim_task();
    let public_oracle = predictions(s.dir.path(), "public.h5ad", &public.test_labels, &public.truth, &public.genes);
    let a = submit(&s, &token, HIDDEN_TASK, "hidden-oracle", &hidden_oracle);
    let b = submit(&s, &token, HIDDEN_TASK, "public-oracle", &public_oracle);
    let wrong_genes: Vec<String> = (0..genes.len()).map(|i| format!("NOT_A_GENE_{i}")).collect();
    let wrong = predictions(s.dir.path(), "wrong.h5ad", &labels[..1], &hidden.truth_means()[..1], &wrong_genes);
    let c = submit(&s, &token, HIDDEN_TASK, "wrong-genes", &wrong);
    let va = wait_done(s.addr, a["id"].as_i64().unwrap(), Duration::from_secs(300));
    assert_eq!(va["submission"]["status"], "scored", "{va}");
    let vb = wait_done(s.addr, b["id"].as_i64().unwrap(), Duration::from_secs(300));
    wait_done(s.addr, c["id"].as_i64().unwrap(), Duration::from_secs(300));
    let error = get_json(s.addr, c["url"].as_str().unwrap());
    assert!(error["error"].as_str().is_some_and(|e| !e.is_empty()), "the submitter sees why: {error}");
    let ha = primary_mean(&va);
    assert!(ha > 0.9, "the hidden world's oracle scores {ha}");
    // The public world's oracle either misses the hidden test conditions (refused) or scores far lower.
    if vb["submission"]["status"] == "scored" {
        let hb = primary_mean(&vb);
        assert!(ha > hb + 0.3, "hidden oracle {ha} vs public oracle {hb}");
    } else {
        let why = get_json(s.addr, b["url"].as_str().unwrap());
        assert!(why["error"].as_str().is_some_and(|e| !e.is_empty()), "{why}");
    }
    let stored = s.state.db.submission(a["id"].as_i64().unwrap()).unwrap().unwrap().scorecard.unwrap();
    let card: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(card["task"]["seed"], 0, "the stored scorecard hides the split seed");

    // Pages: the hidden, private and public tasks say where their test data come from.
    let lb = get_json(s.addr, &format!("/api/tasks/{HIDDEN_TASK}"));
    assert_eq!(lb["test_data"]["kind"], "hidden-world", "{}", lb["test_data"]);
    assert_eq!(lb["test_data"]["test_data_public"], false);
    assert!(lb["rows"].as_array().unwrap().iter().any(|r| r["kind"] == "baseline"), "hidden-world baselines");
    assert_eq!(get_json(s.addr, &format!("/api/tasks/{PRIVATE_TASK}"))["test_data"]["kind"], "private-dataset");
    let public_lb = get_json(s.addr, &format!("/api/tasks/{PUBLIC_TASK}"));
    assert_eq!(public_lb["test_data"]["test_data_public"], true);
    let public_page = get(s.addr, &format!("/tasks/{PUBLIC_TASK}")).body;
    assert!(
        public_page.contains("Public test data.") && public_page.contains("papalexi2021-thp1-rna"),
        "{public_page}"
    );
    assert!(get(s.addr, &format!("/tasks/{HIDDEN_TASK}")).body.contains("Hidden test data."));

    // Every GET route, on every task and every submission (with its receipt), and every file the
    // server keeps besides the jobs' world files: no secret, no seed derived from it.
    let mut bodies: Vec<(String, Vec<u8>)> = Vec::new();
    let tasks: Vec<String> = s.state.db.tasks().unwrap().into_iter().map(|t| t.id).collect();
    let receipts: Vec<(i64, String)> = [&a, &b, &c]
        .iter()
        .map(|v| (v["id"].as_i64().unwrap(), v["receipt"].as_str().unwrap_or_default().to_string()))
        .collect();
    for route in leaderboard::ROUTES.iter().filter(|r| r.method == "GET") {
        let mut paths = Vec::new();
        if route.path.contains("/tasks/{id}") {
            for t in &tasks {
                // Reference row pages: a baseline every simulator task has.
                let path = route.path.replace("{id}", t).replace("{row}", "linear");
                paths.push(path.clone());
                paths.push(format!("{path}?view=private&sort=mae"));
            }
        } else if route.path.contains("{id}") {
            for (id, receipt) in &receipts {
                let p = route.path.replace("{id}", &id.to_string());
                paths.push(format!("{p}?receipt={receipt}"));
                paths.push(format!("{p}?view=private&metric=mae"));
            }
        } else {
            paths.push(route.path.to_string());
        }
        for p in paths {
            bodies.push((p.clone(), get(s.addr, &p).bytes));
        }
    }
    for p in ["/tasks/nope", "/api/tasks/nope", "/tasks/nope/training.h5ad", "/api/submissions/999"] {
        bodies.push((p.to_string(), get(s.addr, p).bytes));
    }
    let mut files = Vec::new();
    files_under(s.dir.path(), &mut files);
    for f in files.iter().filter(|f| !f.to_string_lossy().ends_with(".sqlite")) {
        bodies.push((f.display().to_string(), std::fs::read(f).unwrap()));
    }
    let forbidden = [
        SECRET.to_string(),
        world_seed.to_string(),
        split_seed.to_string(),
        format!("{world_seed:x}"),
        format!("{split_seed:x}"),
    ];
    assert!(bodies.len() > 40, "{} bodies", bodies.len());
    for (what, body) in &bodies {
        for f in &forbidden {
            assert!(!body.windows(f.len()).any(|w| w == f.as_bytes()), "{what} contains '{f}'");
        }
    }
    // Positive control: the jobs' world file (server-side, excluded above) does hold the seed, and
    // the search finds it there; it never holds the secret.
    let world_file = std::fs::read(s.dir.path().join("worlds").join(format!("{HIDDEN_TASK}.json"))).unwrap();
    assert!(world_file.windows(forbidden[1].len()).any(|w| w == forbidden[1].as_bytes()));
    assert!(!world_file.windows(SECRET.len()).any(|w| w == SECRET.as_bytes()));
    // The database holds the scorecards; it does not hold the secret or the seeds either.
    let db_bytes = std::fs::read(s.dir.path().join("arena.sqlite")).unwrap();
    for f in &forbidden {
        assert!(!db_bytes.windows(f.len()).any(|w| w == f.as_bytes()), "the database contains '{f}'");
    }
}

#[test]
fn arena_serve_refuses_a_short_secret_and_a_secret_file_that_scoring_jobs_could_read() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite:{}", dir.path().join("arena.db").display());
    let short = dir.path().join("short.txt");
    std::fs::write(&short, "tiny-secret\n").unwrap();
    let r = common::run(["serve", "--database", &db, "--secret-file", short.to_str().unwrap()]).failed();
    assert!(r.stderr.contains("at least 16") && r.stderr.contains("short.txt"), "{}", r.stderr);
    assert!(!r.stderr.contains("tiny-secret") && !r.stdout.contains("tiny-secret"), "{}", r.stderr);

    // A secret inside the data folder (which every scoring job may read) is refused at start.
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    let inside = data.join("secret.txt");
    std::fs::write(&inside, SECRET).unwrap();
    let r = common::run([
        "serve",
        "--database",
        &db,
        "--secret-file",
        inside.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
    ])
    .failed();
    assert!(r.stderr.contains("secret file") && r.stderr.contains("scoring jobs may read"), "{}", r.stderr);
    assert!(!r.stderr.contains(SECRET) && !r.stdout.contains(SECRET));
    // A hidden task must be a simulator task.
    let outside = dir.path().join("secret.txt");
    std::fs::write(&outside, SECRET).unwrap();
    let r = common::run([
        "serve",
        "--database",
        &db,
        "--secret-file",
        outside.to_str().unwrap(),
        "--hidden-task",
        PUBLIC_TASK,
    ])
    .failed();
    assert!(r.stderr.contains("not simulated") && r.stderr.contains("--private-dataset"), "{}", r.stderr);
}
