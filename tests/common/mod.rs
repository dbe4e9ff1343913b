//! Shared helpers of the end-to-end CLI tests: locating (and if needed building) the `arena`
//! binary, running it, the real data directory, and small AnnData builders.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::SystemTime;

use arena_data::{AnnData, Column, Frame, Matrix, SparseMatrix};

/// The workspace root (this package's manifest dir).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real published data (../shared/data), passed to every command with `--data-dir`.
pub fn data_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data"))
}

/// `<target dir>/debug`: the test binary runs from `<target dir>/debug/deps/`.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    let deps = exe.parent().expect("test binary has a parent dir");
    if deps.file_name().is_some_and(|n| n == "deps") {
        deps.parent().expect("deps has a parent").to_path_buf()
    } else {
        deps.to_path_buf()
    }
}

/// Newest modification time of the sources the `arena` binary is built from.
fn newest_source_mtime() -> Option<SystemTime> {
    fn walk(path: &Path, newest: &mut Option<SystemTime>) {
        let Ok(meta) = std::fs::metadata(path) else { return };
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(path) {
                for e in entries.flatten() {
                    walk(&e.path(), newest);
                }
            }
        } else if let Ok(m) = meta.modified()
            && newest.is_none_or(|n| m > n)
        {
            *newest = Some(m);
        }
    }
    let root = workspace_root();
    let mut newest = None;
    for p in [
        "arena",
        "tasks",
        "metrics/src",
        "metrics/Cargo.toml",
        "leaderboard/src",
        "leaderboard/templates",
        "leaderboard/Cargo.toml",
        "datasets.toml",
        "Cargo.lock",
    ] {
        walk(&root.join(p), &mut newest);
    }
    newest
}

/// The dataset of embedded task `task`, loaded from the shared data with the side tables the task
/// scores against (`arena_sim::load::load_task_data`).
#[allow(dead_code)]
pub fn task_dataset(task: &str) -> tasks::Dataset {
    let spec = tasks::find_spec(task, None).unwrap_or_else(|e| panic!("task {task}: {e}"));
    let registry = arena_data::Registry::embedded().unwrap();
    let options = arena_sim::load::LoadOptions { data_dir: Some(data_dir()), ..Default::default() };
    arena_sim::load::load_task_data(&spec.spec.dataset, &spec.spec, &registry, &options)
        .unwrap_or_else(|e| panic!("loading {}: {e}", spec.spec.dataset))
        .dataset
}

/// Path of the `arena` binary, built once per test process when missing or older than its sources.
pub fn arena_bin() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = profile_dir().join(format!("arena{}", std::env::consts::EXE_SUFFIX));
        let bin_mtime = std::fs::metadata(&bin).and_then(|m| m.modified()).ok();
        let stale = match (bin_mtime, newest_source_mtime()) {
            (None, _) => true,
            (Some(b), Some(src)) => b < src,
            (Some(_), None) => false,
        };
        if stale {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let out = Command::new(cargo)
                .current_dir(workspace_root())
                .args(["build", "-p", "arena", "--bin", "arena"])
                .output()
                .expect("running cargo build -p arena");
            assert!(
                out.status.success(),
                "cargo build -p arena --bin arena failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(bin.is_file(), "{} does not exist after building", bin.display());
        bin
    })
}

/// A `Command` for the `arena` binary.
pub fn arena() -> Command {
    let mut c = Command::new(arena_bin());
    c.env_remove("ARENA_DATA_DIR").env_remove("ARENA_CACHE_DIR");
    c
}

/// The result of one run, with lossy UTF-8 stdout and stderr.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
    /// Panics with the full output unless the command succeeded.
    pub fn ok(self) -> Self {
        assert!(
            self.success(),
            "arena failed (exit {:?})\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }
    /// Panics with the full output unless the command failed.
    pub fn failed(self) -> Self {
        assert!(
            !self.success() && self.code.is_some(),
            "arena was expected to fail with an exit code (got {:?})\nstdout:\n{}\nstderr:\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        assert!(!self.stderr.contains("panicked"), "arena panicked instead of reporting an error:\n{}", self.stderr);
        self
    }
}

/// Runs `arena ARGS` and captures its output.
pub fn run<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut cmd = arena();
    cmd.args(args);
    run_command(cmd)
}

/// Runs `cmd` (an [`arena`] command, e.g. with an environment of its own) and captures its output.
pub fn run_command(mut cmd: Command) -> Run {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = {
        // See HDF5_LOCK: no HDF5 file of this process may be open while a child is forked.
        let _guard = hdf5_guard();
        cmd.spawn().expect("spawning arena")
    };
    let out: Output = child.wait_with_output().expect("waiting for arena");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Reads and parses `dir/scorecard.json`.
pub fn read_scorecard(dir: &Path) -> serde_json::Value {
    read_json(dir, "scorecard.json")
}

/// Reads and parses the JSON file `dir/name` (a run's split.json, audit.json, a manifest, ...).
pub fn read_json(dir: &Path, name: &str) -> serde_json::Value {
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The row named `name` of a scorecard.
pub fn row<'a>(card: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    card["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no row '{name}' in the scorecard: {:?}", row_names(card)))
}

pub fn row_names(card: &serde_json::Value) -> Vec<String> {
    card["rows"].as_array().expect("rows").iter().map(|r| r["name"].as_str().unwrap_or("").to_string()).collect()
}

/// `overall.mean` of `metric` in a scorecard row.
pub fn metric_mean(row: &serde_json::Value, metric: &str) -> f64 {
    row["metrics"]
        .as_array()
        .expect("metrics")
        .iter()
        .find(|m| m["metric"] == metric)
        .unwrap_or_else(|| panic!("row {} has no metric {metric}", row["name"]))["overall"]["mean"]
        .as_f64()
        .unwrap_or_else(|| panic!("row {} metric {metric} has no numeric mean", row["name"]))
}

/// True when `s` is 64 lower-case hex characters.
pub fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// Asserts an output directory was not created, or is empty.
pub fn assert_no_output(dir: &Path) {
    if dir.exists() {
        let entries: Vec<_> = std::fs::read_dir(dir).expect("read out dir").flatten().map(|e| e.path()).collect();
        assert!(entries.is_empty(), "a failed run left output behind in {}: {entries:?}", dir.display());
    }
}

/// HDF5 opens files without close-on-exec and holds a flock on them: a child forked by one test
/// thread while another thread has an .h5ad open inherits that descriptor (and its lock) for its
/// whole life, and a later `arena` that opens the same file fails with "unable to lock file".
/// So h5ad reads/writes in this process and the forks of `run` take turns.
static HDF5_LOCK: Mutex<()> = Mutex::new(());

fn hdf5_guard() -> MutexGuard<'static, ()> {
    HDF5_LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// `arena_data::write_h5ad`, serialised against child spawns (see [`HDF5_LOCK`]).
/// A user registry at `registry` holding the embedded `datasets.toml` entry `id` with the checksum
/// of the fixture `file` pinned in place of the real download's md5; returns the fixture's sha256.
pub fn pinned_registry(registry: &Path, id: &str, file: &Path) -> String {
    let sha = tasks::spec::sha256_hex(&std::fs::read(file).unwrap());
    let embedded = std::fs::read_to_string(workspace_root().join("datasets.toml")).unwrap();
    let start = embedded.find(&format!("id = \"{id}\"")).unwrap();
    let end = start + embedded[start..].find("\n[[dataset]]").unwrap_or(embedded.len() - start);
    let entry: String = embedded[start..end]
        .lines()
        .filter(|l| !l.starts_with("md5") && !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(registry, format!("[[dataset]]\n{entry}sha256 = \"{sha}\"\n")).unwrap();
    sha
}

pub fn write_h5ad(path: &Path, adata: &AnnData) {
    let _guard = hdf5_guard();
    arena_data::write_h5ad(path, adata).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

/// `arena_data::read_h5ad`, serialised against child spawns (see [`HDF5_LOCK`]).
pub fn read_h5ad(path: &Path) -> AnnData {
    let _guard = hdf5_guard();
    arena_data::read_h5ad(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// Papalexi 2021 THP-1 ECCITE-seq RNA (../shared/data, raw UMIs) and each cell's `target` label.
pub fn papalexi() -> (AnnData, Vec<String>) {
    let adata = read_h5ad(&data_dir().join("papalexi2021_thp1_eccite_rna.h5ad"));
    let labels: Vec<String> = adata
        .obs
        .column("target")
        .and_then(|c| c.as_labels())
        .expect("papalexi obs/target")
        .into_iter()
        .map(|l| l.expect("every cell has a target"))
        .collect();
    (adata, labels)
}

/// A matrix with every value stored (CSR with all entries; the root package has no ndarray).
pub fn full_csr(x: Vec<Vec<f32>>, n_cols: usize) -> Matrix {
    let n_rows = x.len();
    let data: Vec<f32> = x.into_iter().inspect(|r| assert_eq!(r.len(), n_cols)).flatten().collect();
    let indices: Vec<u32> = (0..n_rows).flat_map(|_| 0..n_cols as u32).collect();
    let indptr: Vec<u64> = (0..=n_rows).map(|r| (r * n_cols) as u64).collect();
    Matrix::Csr(SparseMatrix { shape: (n_rows, n_cols), data, indices, indptr })
}

/// An AnnData with X (cells x genes, all values stored), string obs column `column` and gene names.
pub fn anndata(x: Vec<Vec<f32>>, column: &str, labels: &[String], genes: &[String]) -> AnnData {
    assert_eq!(x.len(), labels.len());
    AnnData {
        x: full_csr(x, genes.len()),
        obs: Frame {
            index_name: "_index".into(),
            index: (0..labels.len()).map(|i| format!("cell{i}")).collect(),
            columns: vec![(column.to_string(), Column::Strings(labels.to_vec()))],
        },
        var: Frame { index_name: "_index".into(), index: genes.to_vec(), columns: vec![] },
        layers: vec![],
        obsm: vec![],
        uns_strings: vec![],
    }
}

/// A small count dataset: `n_ctrl` control cells and `per` cells of each perturbation label,
/// over `n_genes` genes `GENE0..`, with deterministic integer counts.
pub fn small_counts_anndata(column: &str, ctrl_label: &str, perts: &[&str], per: usize, n_genes: usize) -> AnnData {
    let genes: Vec<String> = (0..n_genes).map(|g| format!("GENE{g}")).collect();
    let mut labels = Vec::new();
    let mut x = Vec::new();
    let mut k = 0u32;
    let mut push = |label: &str, shift: usize, labels: &mut Vec<String>, x: &mut Vec<Vec<f32>>| {
        labels.push(label.to_string());
        x.push(
            (0..n_genes)
                .map(|g| {
                    k = k.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                    (5 + (k >> 16) % 7 + if g == shift { 10 } else { 0 }) as f32
                })
                .collect(),
        );
    };
    for _ in 0..per.max(4) {
        push(ctrl_label, usize::MAX, &mut labels, &mut x);
    }
    for (i, p) in perts.iter().enumerate() {
        for _ in 0..per {
            push(p, i % n_genes, &mut labels, &mut x);
        }
    }
    anndata(x, column, &labels, &genes)
}

/// What a test needs to know about the default simulator task (`arena eval` with no args).
pub struct SimTask {
    pub genes: Vec<String>,
    /// Canonical labels of the test perturbations, in the split's order.
    pub test_labels: Vec<String>,
    /// True mean profile of the test cells of each test perturbation (same order).
    pub truth: Vec<Vec<f64>>,
    /// Number of test cells of each test perturbation (same order).
    pub n_truth: Vec<usize>,
}

/// Loads the default simulator dataset in-process and builds the `unseen-single` task on it,
/// exactly as `arena eval` does.
pub fn sim_task() -> SimTask {
    use arena_sim::{SimConfig, export::snapshot_dataset, simulate};
    let sim = simulate(&SimConfig::default()).expect("simulate");
    let dataset = snapshot_dataset(&sim).expect("snapshot dataset");
    let spec = tasks::find_spec("unseen-single", Some("simulator")).expect("spec");
    let instance = tasks::TaskInstance::build(spec, &dataset).expect("task instance");
    let test_labels =
        instance.test_conditions().iter().map(|t| instance.dataset.condition(t.condition).label()).collect();
    SimTask {
        genes: dataset.genes.names().to_vec(),
        test_labels,
        truth: instance.truth_means(),
        n_truth: instance.test_rows.iter().map(Vec::len).collect(),
    }
}

/// A CSR matrix from dense rows, storing only the non-zero values (as AnnData writes them).
pub fn csr_from_rows(rows: &[Vec<f32>], n_cols: usize) -> Matrix {
    let (mut data, mut indices, mut indptr) = (Vec::new(), Vec::new(), vec![0u64]);
    for r in rows {
        assert_eq!(r.len(), n_cols);
        for (j, &v) in r.iter().enumerate() {
            if v != 0.0 {
                data.push(v);
                indices.push(j as u32);
            }
        }
        indptr.push(data.len() as u64);
    }
    Matrix::Csr(SparseMatrix { shape: (rows.len(), n_cols), data, indices, indptr })
}

/// An AnnData with sparse X from dense rows, a categorical obs column and gene names.
pub fn sparse_anndata(rows: &[Vec<f32>], column: &str, labels: &[String], genes: &[String]) -> AnnData {
    let mut categories: Vec<String> = labels.to_vec();
    categories.sort();
    categories.dedup();
    let codes = labels.iter().map(|l| categories.binary_search(l).map(|i| i as i32).unwrap_or(-1)).collect();
    AnnData {
        x: csr_from_rows(rows, genes.len()),
        obs: Frame {
            index_name: "_index".into(),
            index: (0..labels.len()).map(|i| format!("cell{i}")).collect(),
            columns: vec![(column.to_string(), Column::Categorical { codes, categories })],
        },
        var: Frame { index_name: "_index".into(), index: genes.to_vec(), columns: vec![] },
        layers: vec![],
        obsm: vec![],
        uns_strings: vec![],
    }
}

/// Spawns `cmd` while no HDF5 file of this process is open (see [`HDF5_LOCK`]) and waits for it.
pub fn run_external(cmd: &mut Command) -> Run {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = {
        let _guard = hdf5_guard();
        cmd.spawn().unwrap_or_else(|e| panic!("spawning {cmd:?}: {e}"))
    };
    let out = child.wait_with_output().expect("waiting for a child process");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A tiny deterministic generator (splitmix64) for test data.
pub struct TestRng(pub u64);

impl TestRng {
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u = self.uniform().max(1e-300);
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
    }
    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = (self.next_u64() % (i as u64 + 1)) as usize;
            v.swap(i, j);
        }
    }
}

/// A parsed CSV file (header + rows of fields); handles double-quoted fields.
pub struct Csv {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Csv {
    pub fn read(path: &Path) -> Csv {
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let mut lines = text.lines().map(split_csv_line);
        let header = lines.next().unwrap_or_default();
        Csv { header, rows: lines.collect() }
    }
    pub fn col(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }
}

fn split_csv_line(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// A CSV number as polars writes it: empty = null (None), `NaN`, `inf`, `-inf`, decimals.
pub fn csv_number(s: &str) -> Option<f64> {
    match s {
        "" => None,
        "NaN" | "nan" => Some(f64::NAN),
        "inf" => Some(f64::INFINITY),
        "-inf" => Some(f64::NEG_INFINITY),
        _ => Some(s.parse().unwrap_or_else(|e| panic!("not a number: '{s}': {e}"))),
    }
}

/// A child process killed when dropped.
pub struct Killed(pub Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `arena serve` on 127.0.0.1 (port chosen by the OS); returns the process and its base URL.
pub fn start_serve(database: &str) -> (Killed, String) {
    let data = data_dir();
    let mut child = arena()
        .current_dir(workspace_root())
        .args(["serve", "--database", database, "--bind", "127.0.0.1:0", "--bootstrap", "50", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("starting arena serve");
    let stdout = child.stdout.take().unwrap();
    let server = Killed(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("reading arena serve's first line");
    // `leaderboard on http://127.0.0.1:PORT (database ...)`
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap_or_else(|| panic!("arena serve did not print its address: {line:?}"))
        .to_string();
    (server, url)
}

/// The scoring-job runner of the leaderboard tests: this build's `arena`, the real data
/// directory, 50 bootstrap resamples, the sandbox required, no hidden worlds.
pub fn job_runner() -> arena_serve::isolation::JobRunner {
    arena_serve::isolation::JobRunner {
        exe: arena_bin().to_path_buf(),
        registry: None,
        data_dir: Some(data_dir().canonicalize().unwrap()),
        cache_dir: None,
        onnx_runtime: arena_models::runners::onnx::runtime::library_path().ok(),
        bootstrap: 50,
        onnx_timeout: std::time::Duration::from_secs(60),
        limits: arena_serve::isolation::JobLimits::default(),
        jobs_dir: std::env::temp_dir().join("arena-test-jobs"),
        allow_unsandboxed: false,
        worlds: Default::default(),
        split_key: None,
    }
}

// ---- the leaderboard over HTTP: an in-process server and a minimal HTTP/1.1 client

/// A leaderboard serving `state` on 127.0.0.1 (port 0) inside the test process.
pub struct Server {
    pub addr: std::net::SocketAddr,
    pub state: std::sync::Arc<leaderboard::AppState>,
    pub dir: tempfile::TempDir,
    _rt: tokio::runtime::Runtime,
}

/// Serves `state` on a fresh port; `dir` holds the server's files and lives as long as it.
pub fn serve(state: std::sync::Arc<leaderboard::AppState>, dir: tempfile::TempDir) -> Server {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let listener = rt.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let s = state.clone();
    rt.spawn(async move { leaderboard::serve(listener, s).await });
    Server { addr, state, dir, _rt: rt }
}

/// A response: status, raw header text, the (de-chunked) body as bytes and as lossy text.
pub struct Resp {
    pub status: u16,
    pub headers: String,
    pub body: String,
    pub bytes: Vec<u8>,
}

fn dechunk(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(line_end) = rest.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).unwrap().trim(), 16).unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&rest[start..start + size]);
        rest = &rest[start + size + 2..];
    }
    out
}

/// Sends `head` and `body` on a new connection and reads the whole response.
pub fn request(addr: std::net::SocketAddr, head: &str, body: &[u8]) -> Resp {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect_timeout(&addr, std::time::Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(120))).unwrap();
    s.set_write_timeout(Some(std::time::Duration::from_secs(60))).unwrap();
    let _ = s.write_all(head.as_bytes());
    let _ = s.write_all(body);
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("an HTTP response");
    let headers = String::from_utf8_lossy(&raw[..split]).to_string();
    let status = headers.split(' ').nth(1).unwrap().parse().unwrap();
    let mut bytes = raw[split + 4..].to_vec();
    if headers.to_ascii_lowercase().contains("transfer-encoding: chunked") {
        bytes = dechunk(&bytes);
    }
    Resp { status, headers, body: String::from_utf8_lossy(&bytes).to_string(), bytes }
}

pub fn get(addr: std::net::SocketAddr, path: &str) -> Resp {
    request(addr, &format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"), b"")
}

/// GET `path`, which must answer 200 with JSON.
pub fn get_json(addr: std::net::SocketAddr, path: &str) -> serde_json::Value {
    let r = get(addr, path);
    assert_eq!(r.status, 200, "GET {path}: {}", r.body);
    serde_json::from_str(&r.body).unwrap_or_else(|e| panic!("GET {path}: {e}: {}", r.body))
}

/// Polls submission `id` until it is scored or failed; panics after `deadline`.
pub fn wait_done(addr: std::net::SocketAddr, id: i64, deadline: std::time::Duration) -> serde_json::Value {
    let started = std::time::Instant::now();
    loop {
        let v = get_json(addr, &format!("/api/submissions/{id}"));
        let status = v["submission"]["status"].as_str().unwrap().to_string();
        if status == "scored" || status == "failed" {
            return v;
        }
        assert!(started.elapsed() < deadline, "submission {id} still {status}");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
