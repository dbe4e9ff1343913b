//! `arena tasks`: one line per task (`--ids`: the ids alone); `arena tasks show ID` explains one
//! (`--genes`: its gene panel alone, one name per line, in the dataset's order).

use tasks::{SplitRule, embedded_specs, find_spec};

#[derive(Debug, clap::Args)]
pub struct TasksArgs {
    /// Print only the task ids, one per line (for scripts: `for t in $(arena tasks --ids)`).
    #[arg(long)]
    ids: bool,
    #[command(subcommand)]
    action: Option<TasksAction>,
}

#[derive(Debug, clap::Subcommand)]
enum TasksAction {
    /// Write a complete task file for your own dataset, every field filled from the family's
    /// embedded spec, ready to edit and run with `arena eval --task-file FILE`.
    New {
        /// The family: unseen-single, combinatorial, multi-step, inverse-design, ... (`arena tasks`).
        #[arg(long)]
        family: String,
        /// The dataset: a registry id, or a path (relative to where the file is written).
        #[arg(long)]
        dataset: String,
        /// The task's id [default: <dataset file stem>-<family>].
        #[arg(long)]
        id: Option<String>,
        /// Where to write the file [default: print it].
        #[arg(long, value_name = "FILE")]
        out: Option<std::path::PathBuf>,
    },
    /// Explain a task: dataset, split rule and sizes, metrics, baselines.
    Show {
        id: String,
        /// Print only the task's genes, one per line in the dataset's order: the panel an ONNX
        /// model's `arena.genes` and a predictions file's var names must hold
        /// (`arena tasks show ID --genes > genes.txt`).
        #[arg(long, conflicts_with = "test_items")]
        genes: bool,
        /// Print only the test items, one label per line with its subgroup (tab-separated): the
        /// perturbations a predictions file must hold.
        #[arg(long)]
        test_items: bool,
        #[command(flatten)]
        registry: super::dataset_args::RegistryArgs,
    },
}

pub fn run(args: TasksArgs) -> anyhow::Result<()> {
    match args.action {
        None if args.ids => {
            for s in embedded_specs()? {
                out!("{}", s.spec.id);
            }
        }
        None => {
            out!("| task | family | dataset | title |");
            out!("|---|---|---|---|");
            for s in embedded_specs()? {
                out!("| {} | {} | {} | {} |", s.spec.id, s.spec.task, s.spec.dataset, s.spec.title);
            }
        }
        Some(TasksAction::New { family, dataset, id, out }) => {
            let text = new_task_file(&family, &dataset, id.as_deref())?;
            match out {
                None => out!("{}", text.trim_end()),
                Some(path) => {
                    use std::io::Write;
                    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
                    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
                    tmp.write_all(text.as_bytes())?;
                    tmp.persist_noclobber(&path).map_err(|e| {
                        anyhow::anyhow!("writing {}: {} (choose another --out or remove it)", path.display(), e.error)
                    })?;
                    arena_data::output::set_readable(&path)
                        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
                    out!("wrote {}; run it with `arena eval --task-file {}`", path.display(), path.display());
                }
            }
        }
        Some(TasksAction::Show { id, genes: true, registry, .. }) => {
            let s = find_spec(&id, None)?;
            for gene in load(&s, &registry)?.dataset.genes.names() {
                out!("{gene}");
            }
        }
        Some(TasksAction::Show { id, test_items: true, registry, .. }) => {
            let s = find_spec(&id, None)?;
            let loaded = load(&s, &registry)?;
            for item in tasks::TaskInstance::build(s, &loaded.dataset)?.eval_items() {
                out!("{}\t{}", item.label, item.subgroup.name());
            }
        }
        Some(TasksAction::Show { id, registry, .. }) => {
            let s = find_spec(&id, None)?;
            let spec = &s.spec;
            out!("{} (v{}, family {}): {}\n", spec.id, spec.version, spec.task, spec.title);
            out!("{}\n", spec.description.trim());
            out!("dataset:   {}", spec.dataset);
            out!("seed:      {}", spec.seed);
            match &spec.split {
                SplitRule::UnseenSingle { test_fraction, control_test_fraction } => out!(
                    "split:     unseen-single, {:.0}% of perturbed genes held out; {:.0}% of control cells kept for test start states",
                    test_fraction * 100.0,
                    control_test_fraction * 100.0
                ),
                SplitRule::Combinatorial { train_gene_fraction, seen2_train_fraction, .. } => out!(
                    "split:     GEARS simulation, {:.0}% of genes seen; {:.0}% of seen2 doubles train",
                    train_gene_fraction * 100.0,
                    seen2_train_fraction * 100.0
                ),
                SplitRule::MultiStep { test_fraction, .. } => out!(
                    "split:     multi-step, {:.0}% of action sequences held out, scored after every action",
                    test_fraction * 100.0
                ),
                SplitRule::InverseDesign { target_fraction, target_orders, .. } => out!(
                    "split:     inverse design, {:.0}% of the perturbed conditions of order {:?} held out as targets; the held-out conditions are the candidates (no training condition is screened)",
                    target_fraction * 100.0,
                    target_orders
                ),
                SplitRule::GeneticInteractions { train_gene_fraction, seen2_train_fraction, gi_fits, .. } => out!(
                    "split:     GEARS simulation, {:.0}% of genes seen; {:.0}% of seen2 doubles train; interactions scored against {gi_fits}",
                    train_gene_fraction * 100.0,
                    seen2_train_fraction * 100.0
                ),
                SplitRule::OrderConsistency { train_gene_fraction, seen2_train_fraction, .. } => out!(
                    "split:     GEARS simulation ({:.0}% of genes seen; {:.0}% of seen2 doubles train); held-out doubles queried as a>b and b>a",
                    train_gene_fraction * 100.0,
                    seen2_train_fraction * 100.0
                ),
                SplitRule::Stability { test_fraction, neighbours, max_reference_cells, .. } => out!(
                    "split:     stability, {:.0}% of singles held out; each and the no-op repeated {} times; scored two-sided against the real cells of the same condition ({}-NN distance to at most {} real cells, and dispersion), and on the simulator against the true expected trajectory",
                    test_fraction * 100.0,
                    tasks::splits::stability::ROLLOUT_LENGTH,
                    neighbours,
                    max_reference_cells
                ),
                SplitRule::CrossModal { test_fraction, .. } => out!(
                    "split:     unseen-single ({:.0}% of perturbed genes held out) with paired proteins; coherence through the RNA→protein coupling of real training cells, scored as its distance from the real test cells' coherence (two-sided)",
                    test_fraction * 100.0
                ),
                SplitRule::FewShot { test_fraction, .. } => out!(
                    "split:     few-shot, the training context trains; {:.0}% of the new context's perturbations held out, scored after adapting on k = {:?} others (nested)",
                    test_fraction * 100.0,
                    tasks::splits::few_shot::SHOTS
                ),
                SplitRule::ClosedLoop { .. } => {
                    out!("split:     {}", tasks::splits::closed_loop::describe(&spec.split))
                }
                SplitRule::UnseenDose { .. } | SplitRule::UnseenCompound { .. } | SplitRule::UnseenContext { .. } => {
                    out!("split:     {}", tasks::splits::dose::describe(&spec.split))
                }
            }
            out!("metrics:   {} (ranked by {})", spec.metrics.join(", "), spec.metrics[0]);
            out!("baselines: {}", spec.baselines.join(", "));
            for b in &spec.baselines {
                out!("  {b}: {}", arena_models::baselines::describe(b));
            }
            for b in arena_models::baselines::PRIOR_BASELINES {
                out!("  also on request (`arena eval --baseline {b}`): {b}: {}", arena_models::baselines::describe(b));
            }
            out!("headline profile metrics leave out each item's perturbed genes; *_with_target metrics keep them");
            out!("spec sha256: {}", s.sha256);
            split_sizes(&s, &registry)?;
        }
    }
    Ok(())
}

/// The task's dataset, loaded from the registry with the side tables the task scores against.
fn load(
    spec: &tasks::LoadedSpec,
    registry: &super::dataset_args::RegistryArgs,
) -> anyhow::Result<arena_sim::load::Loaded> {
    let load = arena_sim::load::LoadOptions { data_dir: registry.data_dir.clone(), ..Default::default() };
    Ok(arena_sim::load::load_task_data(&spec.spec.dataset, &spec.spec, &registry.load()?, &load)?)
}

/// Builds the split on the task's dataset and prints its sizes.
fn split_sizes(spec: &tasks::LoadedSpec, registry: &super::dataset_args::RegistryArgs) -> anyhow::Result<()> {
    let loaded = load(spec, registry)?;
    let instance = tasks::TaskInstance::build(spec.clone(), &loaded.dataset)?;
    let mut by_subgroup: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for item in instance.eval_items() {
        let entry = by_subgroup.entry(item.subgroup.name()).or_default();
        entry.0 += 1;
        entry.1 += item.rows.len();
    }
    out!(
        "\nsplit on {} ({} rows x {} genes), sha256 {}:",
        loaded.dataset.id,
        loaded.dataset.n_rows(),
        loaded.dataset.genes.len(),
        instance.split_sha256()
    );
    out!("  training conditions: {}", instance.split.train.len());
    for (group, (items, cells)) in by_subgroup {
        out!("  test {group}: {items} items, {cells} observations");
    }
    out!(
        "  control cells: {} train, {} test ({} used as start states)",
        instance.split.control_train_rows.len(),
        instance.split.control_test_rows.len(),
        instance.start_rows.len()
    );
    if let (Some(c), Some(ctx)) = (&instance.split.context, &loaded.dataset.context) {
        out!(
            "  new context '{}' (training context '{}'): {} perturbations in the shot pool, {} adaptation control cells, {} start control cells (the start states above are these)",
            ctx.name,
            ctx.training_context,
            c.shot_order.len(),
            c.control_adapt_rows.len(),
            c.control_test_rows.len()
        );
    }
    Ok(())
}

/// A complete task file of `family` on `dataset`: the family's embedded spec with the id, dataset,
/// version and title replaced; it parses back to the same spec.
fn new_task_file(family: &str, dataset: &str, id: Option<&str>) -> anyhow::Result<String> {
    let mut spec = tasks::family_template(family)?.spec;
    let stem = std::path::Path::new(dataset).file_stem().map_or(dataset.to_string(), |s| s.to_string_lossy().into());
    spec.id = id.map_or_else(|| format!("{stem}-{family}"), str::to_string);
    spec.dataset = dataset.to_string();
    spec.version = 1;
    spec.title = format!("{} ({family} on {dataset})", spec.id);
    spec.description = format!("Task file written by `arena tasks new`, starting from the embedded {family} spec.");
    let body = toml::to_string(&spec)?;
    let text = format!(
        "# A task of family {family} on {dataset}. Only id, family (`task`) and dataset are required;\n\
         # every other field below is the family's default. Run: arena eval --task-file THIS_FILE\n{body}"
    );
    tasks::parse_task_file("new task file", &text)?;
    Ok(text)
}
