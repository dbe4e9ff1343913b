//! `arena eval MODEL.onnx`: a model exported to the `arena-onnx-v1` contract (see CONTRACT.md,
//! printed by `arena contract`) behind `tasks::Model`, run with ONNX Runtime through `ort`
//! (load-dynamic; the library is found by [`runtime::library_path`]).
//!
//! `predict` cuts its query into batches and encodes each row's perturbation as the signed
//! multi-hot input (one tensor, reused by every batch); each batch's output is checked for
//! finiteness while it is copied into the result. Without `--timeout` the session runs on the
//! caller's thread on views of the query (no copies); with it the session lives on a worker
//! thread and the caller waits at most until the budget is spent (then it asks ONNX Runtime to
//! terminate the run and returns an error: it never hangs). Loading runs one warm-up batch, so
//! ONNX Runtime's first-run setup is not counted in the task's cells/s.

mod context;
mod error;
pub mod external_data;
pub mod runtime;
pub mod signature;

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use ndarray::{Array2, ArrayView2, Axis, s};
use ort::session::{RunOptions, Session};
use ort::value::TensorRef;
use tasks::{AdaptationSet, GenePanel, Model, ModelKind, Perturbation, QueryBatch, TaskError, TaskInstance};

pub use context::ShotContext;
pub use error::OnnxError;
pub use signature::{CONTRACT, META_GENES, META_PERTURBATION_COMPOUNDS, META_PERTURBATION_GENES, Signature};

/// The contract text (`arena contract`, README section "Bring your own model (ONNX)").
pub const CONTRACT_MD: &str = include_str!("CONTRACT.md");

/// Default rows per `session.run`.
pub const DEFAULT_BATCH_SIZE: usize = 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Device {
    #[default]
    Cpu,
    Cuda,
}

#[derive(Debug, Clone, Default)]
pub struct OnnxOptions {
    pub device: Device,
    /// Rows per run; `None` is [`DEFAULT_BATCH_SIZE`] (or the model's fixed batch size).
    pub batch_size: Option<usize>,
    /// Budget for all inference of this model together; `None` waits forever.
    pub timeout: Option<Duration>,
    /// Show a progress bar over batches (only drawn when stderr is a terminal).
    pub progress: bool,
    /// An uploaded, untrusted model (a leaderboard job): refuse tensors stored outside the file
    /// ([`external_data`]), which ONNX Runtime would read from the working directory.
    pub untrusted: bool,
}

/// The two outputs of one batch.
struct Outputs {
    expression: Array2<f32>,
    protein: Option<Array2<f32>>,
}

struct Job {
    expression: Array2<f32>,
    perturbation: Array2<f32>,
    context: Option<Arc<ShotContext>>,
    reply: mpsc::Sender<Result<Outputs, String>>,
}

/// Where the session runs: on the caller's thread (no `--timeout`: no copies, no hand-off), or
/// on a worker thread the caller can stop waiting for.
enum Engine {
    Direct { session: Mutex<Session>, run_options: Arc<RunOptions> },
    Worker(Worker),
}

/// The session on its own thread, so a caller can stop waiting for it.
struct Worker {
    jobs: Mutex<mpsc::Sender<Job>>,
    run_options: Arc<RunOptions>,
}

/// Columns to gather: `order[i]` is the source column of destination column i.
#[derive(Debug, Clone)]
struct Reorder {
    model_from_task: Vec<usize>,
    task_from_model: Vec<usize>,
}

/// What `bind` learned about the task.
#[derive(Clone)]
struct Binding {
    task: String,
    genes: GenePanel,
    reorder: Option<Reorder>,
    progress: Option<indicatif::ProgressBar>,
}

pub struct OnnxModel {
    name: String,
    path: PathBuf,
    sha256: String,
    signature: Signature,
    /// Index of each gene of the perturbation axis.
    perturbation_index: HashMap<String, usize>,
    /// Column of each compound (after the gene axis; `arena.perturbation_compounds`).
    compound_index: HashMap<String, usize>,
    batch_size: usize,
    timeout: Option<Duration>,
    progress: bool,
    device_label: String,
    /// Shared with the adapted copies of this model ([`Model::adapt`]).
    engine: Arc<Engine>,
    spent: Arc<Mutex<Duration>>,
    timed_out: Arc<AtomicBool>,
    binding: Option<Binding>,
    /// The shots fed to an in-context model on every run (K = 0 rows until adapted); `None` for
    /// a model without the context inputs.
    context: Option<Arc<ShotContext>>,
}

fn model_err(path: &Path, reason: impl Into<String>) -> OnnxError {
    OnnxError::Model { path: path.to_path_buf(), reason: reason.into() }
}

/// Turns ONNX Runtime's session-creation message into what the user should know.
fn explain_load_error(message: &str) -> String {
    let lower = message.to_lowercase();
    if lower.contains("protobuf parsing failed")
        || lower.contains("invalid_protobuf")
        || lower.contains("load model") && lower.contains("failed")
    {
        format!("is not a readable ONNX model (corrupt or truncated file?): {message}")
    } else if lower.contains("not_implemented")
        || lower.contains("could not find an implementation")
        || lower.contains("no op registered")
        || lower.contains("unrecognized attribute")
        || lower.contains("no opset import for domain")
        || lower.contains("is not a registered function/op")
    {
        format!(
            "uses an operator (or operator version) that ONNX Runtime {} does not implement: {message}",
            runtime::runtime().map(|r| r.version.as_str()).unwrap_or("?")
        )
    } else {
        format!("ONNX Runtime refused the model: {message}")
    }
}

/// Turns ONNX Runtime's run error into what the user should know.
fn explain_run_error(message: &str) -> String {
    let lower = message.to_lowercase();
    if lower.contains("alloc") || lower.contains("out of memory") || lower.contains("bad_alloc") {
        format!(
            "ONNX Runtime could not allocate the memory the model asked for (an absurd intermediate tensor, or a \
             batch too large for this machine; try a smaller --batch-size): {message}"
        )
    } else {
        format!("ONNX Runtime failed while running the model: {message}")
    }
}

fn warn(message: &str) {
    eprintln!("warning: {message}");
}

/// Builds the session (with the CUDA execution provider when asked and available).
fn build_session(
    bytes: &[u8],
    path: &Path,
    device: Device,
    profile: Option<&Path>,
) -> Result<(Session, String), OnnxError> {
    let rt = runtime::runtime()?;
    let mut builder = Session::builder(&rt.environment).map_err(|e| OnnxError::Runtime(e.to_string()))?;
    #[cfg_attr(not(feature = "cuda"), allow(unused_mut))]
    let mut label = "cpu".to_string();
    if device == Device::Cuda {
        #[cfg(feature = "cuda")]
        {
            use ort::ep::ExecutionProvider as _;
            match ort::ep::CUDA::is_available() {
                Ok(true) => {
                    match builder.with_execution_providers([ort::ep::CUDA::default().build().error_on_failure()]) {
                        Ok(b) => {
                            builder = b;
                            label = "cuda".into();
                        }
                        Err(e) => {
                            warn(&format!(
                                "--device cuda: the CUDA execution provider could not be registered ({e}); running on the CPU"
                            ));
                            builder = e.recover();
                        }
                    }
                }
                _ => warn(&format!(
                    "--device cuda: ONNX Runtime at {} has no CUDA execution provider (install the onnxruntime-gpu \
                     wheel and point ORT_DYLIB_PATH at its library); running on the CPU",
                    rt.library.display()
                )),
            }
        }
        #[cfg(not(feature = "cuda"))]
        warn(
            "--device cuda: this arena was built without the `cuda` feature (cargo build --release -p arena \
             --features cuda); running on the CPU",
        );
    }
    if let Some(prefix) = profile.filter(|_| label == "cuda") {
        builder = builder.with_profiling(prefix).map_err(|e| OnnxError::Runtime(e.to_string()))?;
    }
    // ONNX Runtime's default thread count is the machine's core count, which oversubscribes a
    // container limited to fewer cores; use the cores this process may run on.
    builder = builder.with_intra_threads(intra_threads()).map_err(|e| OnnxError::Runtime(e.to_string()))?;
    let session = builder.commit_from_memory(bytes).map_err(|e| model_err(path, explain_load_error(&e.to_string())))?;
    Ok((session, label))
}

/// Refuses a batch whose two input tensors (`rows` × `columns` float32) would not fit in this
/// process's memory limit (a scoring job's `RLIMIT_AS`), before anything is allocated: a model
/// may fix its batch axis to 10^10 rows.
fn check_input_size(rows: usize, columns: usize) -> Result<(), String> {
    let Some(budget) = arena_data::h5ad::safety::memory_budget() else { return Ok(()) };
    let bytes = (rows as u64).checked_mul(columns as u64).and_then(|n| n.checked_mul(4));
    match bytes {
        Some(b) if b <= budget / 2 => Ok(()),
        _ => Err(format!(
            "a batch of {rows} rows needs {} for its inputs alone, more than this job's memory limit allows ({} MiB); \
             export the model with a dynamic batch axis or a small fixed batch",
            bytes.map_or_else(|| "more than 16 EiB".to_string(), |b| format!("{} MiB", b >> 20)),
            budget >> 20
        )),
    }
}

/// Intra-op threads: `ARENA_ONNX_THREADS`, else the cores available to this process.
pub fn intra_threads() -> usize {
    std::env::var("ARENA_ONNX_THREADS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|&n: &usize| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn spawn_worker(mut session: Session, run_options: Arc<RunOptions>) -> Result<Worker, OnnxError> {
    let (tx, rx) = mpsc::channel::<Job>();
    let options = Arc::clone(&run_options);
    std::thread::Builder::new()
        .name("arena-onnx".into())
        .spawn(move || {
            for job in rx {
                let context = job.context.as_deref();
                let result = run_batch(&mut session, &job.expression, &job.perturbation, context, &options);
                // The caller may have stopped waiting (timeout); nothing to do then.
                let _ = job.reply.send(result);
            }
        })
        .map_err(|e| OnnxError::Runtime(format!("cannot start the inference thread: {e}")))?;
    Ok(Worker { jobs: Mutex::new(tx), run_options })
}

fn run_batch(
    session: &mut Session,
    expression: &Array2<f32>,
    perturbation: &Array2<f32>,
    context: Option<&ShotContext>,
    options: &RunOptions,
) -> Result<Outputs, String> {
    let mut owned = None;
    run_views(session, expression.view(), perturbation.view(), context, options, &mut |x, p| {
        owned = Some(Outputs { expression: x.to_owned(), protein: p.map(|p| p.to_owned()) });
        Ok(())
    })?;
    owned.ok_or_else(|| "no output".to_string())
}

/// Receives one batch's outputs (`expression_next`, `protein_next` if any).
type Sink<'a> = dyn FnMut(ArrayView2<'_, f32>, Option<ArrayView2<'_, f32>>) -> Result<(), String> + 'a;

/// Runs one batch (with the shots of an in-context model) and hands the outputs (ONNX Runtime's
/// buffers, no copy) to `sink`.
fn run_views(
    session: &mut Session,
    expression: ArrayView2<'_, f32>,
    perturbation: ArrayView2<'_, f32>,
    context: Option<&ShotContext>,
    options: &RunOptions,
    sink: &mut Sink<'_>,
) -> Result<(), String> {
    let e = TensorRef::from_array_view(expression).map_err(|e| e.to_string())?;
    let p = TensorRef::from_array_view(perturbation).map_err(|e| e.to_string())?;
    let has_protein = session.outputs().iter().any(|o| o.name() == signature::OUTPUT_PROTEIN);
    let mut inputs = ort::inputs![signature::INPUT_EXPRESSION => e, signature::INPUT_PERTURBATION => p];
    for (name, view) in context.map(ShotContext::inputs).into_iter().flatten() {
        let tensor = TensorRef::from_array_view(view).map_err(|e| format!("input '{name}': {e}"))?;
        inputs.push((name.into(), tensor.into()));
    }
    let outputs = session.run_with_options(inputs, options).map_err(|e| explain_run_error(&e.to_string()))?;
    let take = |name: &str| -> Result<ArrayView2<'_, f32>, String> {
        let value = outputs.get(name).ok_or_else(|| format!("the model returned no '{name}'"))?;
        let view = value.try_extract_array::<f32>().map_err(|e| format!("output '{name}': {e}"))?;
        let shape = view.shape().to_vec();
        view.into_dimensionality::<ndarray::Ix2>()
            .map_err(|_| format!("output '{name}' has shape {shape:?}; expected [batch, n]"))
    };
    let expression = take(signature::OUTPUT_EXPRESSION)?;
    let protein = if has_protein { Some(take(signature::OUTPUT_PROTEIN)?) } else { None };
    sink(expression, protein)
}

impl OnnxModel {
    /// Loads and checks `path` against the contract. Nothing task-specific yet (see [`Self::bind`]).
    pub fn load(path: &Path, options: &OnnxOptions) -> Result<Self, OnnxError> {
        let bytes = std::fs::read(path).map_err(|e| model_err(path, format!("cannot read the file: {e}")))?;
        if bytes.is_empty() {
            return Err(model_err(path, "the file is empty; expected an ONNX model (.onnx)"));
        }
        if options.untrusted {
            match external_data::find_external_tensor(&bytes) {
                Ok(None) => {}
                Ok(Some(tensor)) => {
                    return Err(model_err(
                        path,
                        format!(
                            "tensor '{tensor}' keeps its values in an external data file; uploads must be \
                             self-contained (save with onnx.save_model(model, path, save_as_external_data=False))"
                        ),
                    ));
                }
                Err(reason) => return Err(model_err(path, format!("not a well-formed ONNX model: {reason}"))),
            }
        }
        let profile_dir = tempfile::tempdir().map_err(|e| OnnxError::Runtime(format!("temporary directory: {e}")))?;
        let profile_prefix = profile_dir.path().join("arena-onnx-profile");
        let (session, mut device_label) = build_session(&bytes, path, options.device, Some(&profile_prefix))?;
        let signature = signature::check(&session).map_err(|reason| model_err(path, reason))?;
        let batch_size = match (signature.fixed_batch, options.batch_size) {
            (Some(fixed), Some(asked)) if fixed != asked => {
                return Err(model_err(
                    path,
                    format!(
                        "its batch axis is fixed to {fixed} but --batch-size is {asked}; drop --batch-size (the runner \
                         then uses {fixed}, zero-padding the last batch) or export with a dynamic batch axis"
                    ),
                ));
            }
            (Some(fixed), _) => fixed,
            (None, Some(0)) => return Err(model_err(path, "--batch-size must be at least 1")),
            (None, Some(asked)) => asked,
            (None, None) => DEFAULT_BATCH_SIZE,
        };
        let axis = signature.perturbation_genes.as_ref().unwrap_or(&signature.genes);
        check_input_size(batch_size, signature.genes.len() + signature.n_pert()).map_err(|r| model_err(path, r))?;
        let perturbation_index: HashMap<String, usize> = axis.iter().enumerate().map(|(i, g)| (g.clone(), i)).collect();
        let compound_index: HashMap<String, usize> =
            signature.perturbation_compounds.iter().enumerate().map(|(i, c)| (c.clone(), axis.len() + i)).collect();
        let run_options = Arc::new(RunOptions::new().map_err(|e| OnnxError::Runtime(e.to_string()))?);
        let name =
            path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| path.display().to_string());
        let runtime_version = runtime::runtime()?.version.clone();
        let mut session = session;
        if device_label == "cuda" {
            // Registering CUDA where no GPU can be used falls back to the CPU silently: run one row
            // with profiling on and look at where the nodes ran.
            let n_pert = signature.n_pert();
            let rows = signature.fixed_batch.unwrap_or(1);
            let e = Array2::<f32>::zeros((rows, signature.genes.len()));
            let p = Array2::<f32>::zeros((rows, n_pert));
            let context = signature.in_context.then(|| ShotContext::empty(signature.genes.len(), n_pert));
            run_batch(&mut session, &e, &p, context.as_ref(), &run_options).map_err(|r| model_err(path, r))?;
            let on_gpu = session
                .end_profiling()
                .ok()
                .and_then(|file| std::fs::read_to_string(file).ok())
                .is_some_and(|profile| profile.contains("CUDAExecutionProvider"));
            if !on_gpu {
                warn(
                    "--device cuda: the CUDA execution provider registered but ran no node (no usable GPU?); \
                     ONNX Runtime fell back to the CPU",
                );
                device_label = "cpu".into();
            }
        }
        let device_label = format!("{device_label} (ONNX Runtime {runtime_version})");
        let engine = match options.timeout {
            Some(_) => Engine::Worker(spawn_worker(session, run_options)?),
            None => Engine::Direct { session: Mutex::new(session), run_options },
        };
        let context =
            signature.in_context.then(|| Arc::new(ShotContext::empty(signature.genes.len(), signature.n_pert())));
        let model = Self {
            name,
            path: path.to_path_buf(),
            sha256: tasks::spec::sha256_hex(&bytes),
            perturbation_index,
            compound_index,
            signature,
            batch_size,
            timeout: options.timeout,
            progress: options.progress,
            device_label,
            engine: Arc::new(engine),
            spent: Arc::new(Mutex::new(Duration::ZERO)),
            timed_out: Arc::new(AtomicBool::new(false)),
            binding: None,
            context,
        };
        model.warm_up()?;
        Ok(model)
    }

    pub fn signature(&self) -> &Signature {
        &self.signature
    }

    /// Where the model runs, e.g. `cpu (ONNX Runtime 1.31.1)`.
    pub fn device(&self) -> &str {
        &self.device_label
    }

    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Checks the model against `instance` (genes, the perturbations it will be asked) and
    /// prepares the column order and the progress bar.
    pub fn bind(&mut self, instance: &TaskInstance<'_>) -> Result<(), OnnxError> {
        let task = instance.spec.spec.id.clone();
        let task_genes = &instance.dataset.genes;
        let model_genes = &self.signature.genes;
        let model_panel = GenePanel::new(model_genes.clone()).map_err(|e| model_err(&self.path, e.to_string()))?;
        let (missing, extra) = model_panel.diff(task_genes);
        if !missing.is_empty() || !extra.is_empty() {
            let show = |v: &[String]| {
                let mut s = v.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
                if v.len() > 10 {
                    s.push_str(", ...");
                }
                s
            };
            return Err(model_err(
                &self.path,
                format!(
                    "its genes ('{META_GENES}', {} genes) do not match task '{task}' ({} genes): {} missing [{}], \
                     {} extra [{}]; export the model over exactly the task's genes (`arena tasks show {task} --genes`)",
                    model_genes.len(),
                    task_genes.len(),
                    missing.len(),
                    show(&missing),
                    extra.len(),
                    show(&extra)
                ),
            ));
        }
        let reorder = if model_genes.as_slice() == task_genes.names() {
            None
        } else {
            let model_from_task =
                model_genes.iter().map(|g| task_genes.index_of(g).expect("same gene set").get()).collect();
            let task_from_model =
                task_genes.names().iter().map(|g| model_panel.index_of(g).expect("same gene set").get()).collect();
            Some(Reorder { model_from_task, task_from_model })
        };
        for test in instance.test_conditions() {
            let p = instance.dataset.condition(test.condition);
            self.encode_check(p, &task).map_err(|reason| model_err(&self.path, reason))?;
        }
        let n_start = instance.start_rows.len();
        let batches = instance.test_conditions().len() * n_start.div_ceil(self.batch_size.max(1));
        let progress = (self.progress && std::io::stderr().is_terminal() && batches > 0).then(|| {
            let bar = indicatif::ProgressBar::new(batches as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{prefix} {bar:30} {pos}/{len} batches {per_sec} [{elapsed}<{eta}]",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar.set_prefix(self.name.clone());
            bar
        });
        self.binding = Some(Binding { task, genes: task_genes.clone(), reorder, progress });
        Ok(())
    }

    /// Refuses a perturbation of a gene outside the model's perturbation axis, or of a compound
    /// the model does not declare.
    fn encode_check(&self, p: &Perturbation, task: &str) -> Result<(), String> {
        if let Some((compound, _)) = p.compounds().find(|(c, _)| !self.compound_index.contains_key(*c)) {
            return Err(format!(
                "task '{task}' asks for perturbation '{p}', but compound '{compound}' is not among the model's \
                 '{META_PERTURBATION_COMPOUNDS}' ({} compounds); list the compounds the model takes newline-joined in \
                 '{META_PERTURBATION_COMPOUNDS}', one 'perturbation' column each after the gene axis, fed \
                 log10(1 + dose/1 nM)",
                self.compound_index.len()
            ));
        }
        for gene in p.genes() {
            if !self.perturbation_index.contains_key(gene) {
                return Err(match &self.signature.perturbation_genes {
                    None => format!(
                        "task '{task}' asks for perturbation '{p}', but gene '{gene}' is not among the model's genes \
                         and the model has no '{META_PERTURBATION_GENES}' metadata, so its perturbation axis is its \
                         gene axis; list the perturbation targets newline-joined in '{META_PERTURBATION_GENES}' (with \
                         a matching 'perturbation' input width) to accept perturbations of unmeasured genes"
                    ),
                    Some(axis) => format!(
                        "task '{task}' asks for perturbation '{p}', but gene '{gene}' is not in the model's \
                         '{META_PERTURBATION_GENES}' ({} genes); add it to the perturbation axis",
                        axis.len()
                    ),
                });
            }
        }
        Ok(())
    }

    /// The (column, sign) entries of `p` on the model's perturbation axis (the signed multi-hot).
    fn encode_targets(&self, p: &Perturbation) -> Result<Vec<(usize, f32)>, String> {
        self.encode_check(p, self.task_name())?;
        let genes = p.targets().filter_map(|(gene, d)| self.perturbation_index.get(gene).map(|&j| (j, d.sign())));
        let compounds =
            p.compounds().filter_map(|(c, dose)| self.compound_index.get(c).map(|&j| (j, dose.transformed() as f32)));
        Ok(genes.chain(compounds).collect())
    }

    /// A copy of this model (sharing its session, timeout budget and task binding) that feeds
    /// `set`'s shots as the context inputs on every run.
    fn with_shots(&self, set: &AdaptationSet<'_>) -> Result<Self, TaskError> {
        let fail = |reason: String| TaskError::Model { model: self.name.clone(), reason };
        let binding = self
            .binding
            .as_ref()
            .ok_or_else(|| fail("the ONNX model was not bound to a task (OnnxModel::bind) before adapting".into()))?;
        if set.genes != &binding.genes {
            return Err(fail(format!("adapted with a gene panel other than task '{}''s", binding.task)));
        }
        let order = binding.reorder.as_ref().map(|r| &r.model_from_task[..]);
        let n = (self.signature.genes.len(), self.signature.n_pert());
        let context =
            ShotContext::from_shots(&set.shots(), n.0, n.1, order, &|p| self.encode_targets(p)).map_err(fail)?;
        Ok(Self {
            name: self.name.clone(),
            path: self.path.clone(),
            sha256: self.sha256.clone(),
            signature: self.signature.clone(),
            perturbation_index: self.perturbation_index.clone(),
            compound_index: self.compound_index.clone(),
            batch_size: self.batch_size,
            timeout: self.timeout,
            progress: false,
            device_label: self.device_label.clone(),
            engine: Arc::clone(&self.engine),
            spent: Arc::clone(&self.spent),
            timed_out: Arc::clone(&self.timed_out),
            // The progress bar stays with the model it was drawn for.
            binding: Some(Binding { progress: None, ..binding.clone() }),
            context: Some(Arc::new(context)),
        })
    }

    /// Runs one batch on the worker, within the remaining timeout budget.
    fn run(&self, expression: Array2<f32>, perturbation: Array2<f32>) -> Result<Outputs, String> {
        if self.timed_out.load(Ordering::SeqCst) {
            return Err("an earlier run exceeded --timeout".into());
        }
        let Engine::Worker(worker) = self.engine.as_ref() else {
            return Err("internal: worker run without a worker".into());
        };
        let (reply, answer) = mpsc::channel();
        let started = Instant::now();
        worker
            .jobs
            .lock()
            .map_err(|_| "the inference thread is gone".to_string())?
            .send(Job { expression, perturbation, context: self.context.clone(), reply })
            .map_err(|_| "the inference thread is gone".to_string())?;
        let result = match self.timeout {
            None => answer.recv().map_err(|_| "the inference thread stopped".to_string())?,
            Some(limit) => {
                let spent = *self.spent.lock().unwrap_or_else(|e| e.into_inner());
                let left = limit.saturating_sub(spent);
                match answer.recv_timeout(left) {
                    Ok(r) => r,
                    Err(mpsc::RecvTimeoutError::Timeout) => {
                        self.timed_out.store(true, Ordering::SeqCst);
                        let _ = worker.run_options.terminate();
                        return Err(format!(
                            "inference ran past --timeout {}s; stopped waiting (ONNX Runtime was asked to terminate; \
                             an operator that does not check for termination may still run until the process exits)",
                            limit.as_secs_f64()
                        ));
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => return Err("the inference thread stopped".into()),
                }
            }
        };
        *self.spent.lock().unwrap_or_else(|e| e.into_inner()) += started.elapsed();
        result
    }

    fn task_name(&self) -> &str {
        self.binding.as_ref().map_or("(unbound)", |b| b.task.as_str())
    }

    /// Runs one batch (already in model column order, `rows` rows) on the engine and hands its
    /// outputs to `sink`: on the caller's thread on views (no copies), or on the worker within
    /// the remaining `--timeout` budget.
    fn execute(
        &self,
        expression: ArrayView2<'_, f32>,
        perturbation: ArrayView2<'_, f32>,
        sink: &mut Sink<'_>,
    ) -> Result<(), String> {
        match self.engine.as_ref() {
            Engine::Direct { session, run_options } => {
                let mut session = session.lock().map_err(|_| "an earlier run panicked".to_string())?;
                run_views(&mut session, expression, perturbation, self.context.as_deref(), run_options, sink)
            }
            Engine::Worker(_) => self
                .run(expression.to_owned(), perturbation.to_owned())
                .and_then(|o| sink(o.expression.view(), o.protein.as_ref().map(|p| p.view()))),
        }
    }

    /// One batch of zeros through the engine, so that ONNX Runtime's first-run setup (memory
    /// planning, allocations) is done before the task's batches run and are timed. Its values
    /// are not looked at; a model that cannot run it fails here.
    fn warm_up(&self) -> Result<(), OnnxError> {
        let rows = self.signature.fixed_batch.unwrap_or(self.batch_size);
        let e = Array2::<f32>::zeros((rows, self.signature.genes.len()));
        let p = Array2::<f32>::zeros((rows, self.signature.n_pert()));
        self.execute(e.view(), p.view(), &mut |_, _| Ok(())).map_err(|reason| model_err(&self.path, reason))
    }

    /// Runs the whole query in batches: (expression_next, protein_next) in the task's gene order.
    fn predict_all(&self, batch: &QueryBatch<'_>) -> Result<(Array2<f32>, Option<Array2<f32>>), TaskError> {
        let fail = |reason: String| TaskError::Model { model: self.name.clone(), reason };
        let binding = self
            .binding
            .as_ref()
            .ok_or_else(|| fail("the ONNX model was not bound to a task (OnnxModel::bind) before predicting".into()))?;
        if batch.genes != &binding.genes {
            return Err(fail(format!("queried with a gene panel other than task '{}''s", binding.task)));
        }
        let n = batch.start.nrows();
        let n_genes = self.signature.genes.len();
        let reorder = binding.reorder.as_ref();
        // Filled batch by batch, in row order.
        let mut out = Vec::<f32>::with_capacity(n * n_genes);
        let mut protein: Option<Array2<f32>> = None;
        // One perturbation tensor for every batch: each batch sets its rows' entries and clears
        // them after its run.
        let max_rows = self.signature.fixed_batch.unwrap_or_else(|| self.batch_size.min(n));
        let mut perturbation = Array2::<f32>::zeros((max_rows, self.signature.n_pert()));
        let mut set: Vec<(usize, usize)> = Vec::new();
        let mut lo = 0;
        while lo < n {
            let hi = (lo + self.batch_size).min(n);
            let rows = self.signature.fixed_batch.unwrap_or(hi - lo);
            for (i, p) in batch.perturbations[lo..hi].iter().enumerate() {
                for (gene, direction) in p.targets() {
                    let Some(&j) = self.perturbation_index.get(gene) else {
                        self.encode_check(p, self.task_name()).map_err(fail)?;
                        unreachable!("encode_check refuses a gene outside the axis");
                    };
                    perturbation[[i, j]] = direction.sign();
                    set.push((i, j));
                }
                for (compound, dose) in p.compounds() {
                    let Some(&j) = self.compound_index.get(compound) else {
                        return Err(fail(self.encode_check(p, self.task_name()).err().unwrap_or_default()));
                    };
                    perturbation[[i, j]] = dose.transformed() as f32;
                    set.push((i, j));
                }
            }
            let start = batch.start.slice(s![lo..hi, ..]);
            let mut error: Option<TaskError> = None;
            // Checks one batch's outputs and writes them into `out` / `protein` (task gene order).
            let mut sink = |x: ArrayView2<'_, f32>, prot: Option<ArrayView2<'_, f32>>| -> Result<(), String> {
                let result = (|| {
                    if x.dim() != (rows, n_genes) {
                        return Err(fail(format!(
                            "'{}' came back {:?} for a batch of {rows} rows; expected ({rows}, {n_genes})",
                            signature::OUTPUT_EXPRESSION,
                            x.dim()
                        )));
                    }
                    let valid = x.slice(s![..hi - lo, ..]);
                    let order = reorder.map(|r| &r.task_from_model[..]);
                    // The copy checks finiteness on the way; the offending value is located only
                    // when there is one.
                    if !extend_finite(&mut out, valid, order)
                        && let Some(((r, c), v)) = valid.indexed_iter().find(|(_, v)| !v.is_finite())
                    {
                        return Err(fail(format!(
                            "'{}' is {v} for gene '{}' under perturbation '{}' (query row {}); the model must \
                             return finite values",
                            signature::OUTPUT_EXPRESSION,
                            self.signature.genes[c],
                            batch.perturbations[lo + r],
                            lo + r
                        )));
                    }
                    if let Some(p) = prot {
                        let valid = p.slice(s![..(hi - lo).min(p.nrows()), ..]);
                        if let Some(((r, _), v)) = valid.indexed_iter().find(|(_, v)| !v.is_finite()) {
                            return Err(fail(format!(
                                "'{}' is {v} under perturbation '{}' (query row {}); the model must return finite \
                                 values",
                                signature::OUTPUT_PROTEIN,
                                batch.perturbations[lo + r],
                                lo + r
                            )));
                        }
                        let all = protein.get_or_insert_with(|| Array2::zeros((n, valid.ncols())));
                        all.slice_mut(s![lo..hi, ..]).assign(&valid);
                    }
                    Ok(())
                })();
                result.map_err(|e| {
                    let text = e.to_string();
                    error = Some(e);
                    text
                })
            };
            let p = perturbation.slice(s![..rows, ..]);
            let ran = if reorder.is_none() && rows == hi - lo && start.is_standard_layout() {
                self.execute(start, p, &mut sink)
            } else {
                let e = gather(start, rows, reorder.map(|r| &r.model_from_task[..]));
                self.execute(e.view(), p, &mut sink)
            };
            if let Some(e) = error {
                return Err(e);
            }
            ran.map_err(fail)?;
            for (i, j) in set.drain(..) {
                perturbation[[i, j]] = 0.0;
            }
            if let Some(bar) = &binding.progress {
                bar.inc(1);
                if bar.position() >= bar.length().unwrap_or(u64::MAX) {
                    bar.finish_and_clear();
                }
            }
            lo = hi;
        }
        let out = Array2::from_shape_vec((n, n_genes), out).map_err(|e| fail(format!("internal: {e}")))?;
        Ok((out, protein))
    }
}

/// Appends the rows of `src` to `dst`, each row's columns in `order` (column j from column
/// `order[j]`) or as they are, in one pass; false when a value is NaN or infinite.
fn extend_finite(dst: &mut Vec<f32>, src: ArrayView2<'_, f32>, order: Option<&[usize]>) -> bool {
    let mut finite = true;
    let mut keep = |v: f32| {
        finite &= v.is_finite();
        v
    };
    for row in src.rows() {
        match (order, row.as_slice()) {
            (None, Some(values)) => dst.extend(values.iter().map(|&v| keep(v))),
            (None, None) => dst.extend(row.iter().map(|&v| keep(v))),
            (Some(order), _) => dst.extend(order.iter().map(|&k| keep(row[k]))),
        }
    }
    finite
}

/// Copies `rows` of the query (zero-padded to `rows`) into model column order.
fn gather(src: ArrayView2<'_, f32>, rows: usize, model_from_task: Option<&[usize]>) -> Array2<f32> {
    let n = src.nrows();
    match model_from_task {
        None if rows == n => src.to_owned(),
        None => {
            let mut a = Array2::zeros((rows, src.ncols()));
            a.slice_mut(s![..n, ..]).assign(&src);
            a
        }
        Some(order) => {
            let mut a = Array2::zeros((rows, order.len()));
            for (mut dst, s) in a.axis_iter_mut(Axis(0)).zip(src.rows()) {
                for (d, &k) in dst.iter_mut().zip(order) {
                    *d = s[k];
                }
            }
            a
        }
    }
}

impl Model for OnnxModel {
    fn name(&self) -> &str {
        &self.name
    }
    fn kind(&self) -> ModelKind {
        ModelKind::Onnx
    }
    fn fingerprint(&self) -> String {
        self.sha256.clone()
    }
    fn predict(&self, batch: &QueryBatch<'_>) -> Result<Array2<f32>, TaskError> {
        self.predict_all(batch).map(|(x, _)| x)
    }
    /// `protein_next` when the model has it (one more pass over the batch).
    fn predict_protein(&self, batch: &QueryBatch<'_>) -> Result<Option<Array2<f32>>, TaskError> {
        if self.signature.n_proteins.is_none() {
            return Ok(None);
        }
        self.predict_all(batch).map(|(_, p)| p)
    }
    /// An in-context model (the three context inputs) is adapted by feeding it the shots on every
    /// later run; any other model does not adapt.
    fn adapt(&self, set: &AdaptationSet<'_>) -> Result<Option<Box<dyn Model>>, TaskError> {
        if !self.signature.in_context {
            return Ok(None);
        }
        Ok(Some(Box::new(self.with_shots(set)?)))
    }
}

impl Drop for OnnxModel {
    fn drop(&mut self) {
        if let Some(bar) = self.binding.as_ref().and_then(|b| b.progress.as_ref()) {
            bar.finish_and_clear();
        }
    }
}
