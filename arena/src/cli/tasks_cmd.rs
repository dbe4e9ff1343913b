//! `arena tasks`: one line per task (`--ids`: the ids alone); `arena tasks show ID` explains one.

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
    /// Explain a task: dataset, split rule and sizes, metrics, baselines.
    Show {
        id: String,
        #[command(flatten)]
        registry: super::RegistryArgs,
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
        Some(TasksAction::Show { id, registry }) => {
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
                    "split:     stability, {:.0}% of singles held out; each and the no-op repeated {} times; {}-NN distance to at most {} real cells",
                    test_fraction * 100.0,
                    tasks::splits::stability::ROLLOUT_LENGTH,
                    neighbours,
                    max_reference_cells
                ),
                SplitRule::CrossModal { test_fraction, .. } => out!(
                    "split:     unseen-single ({:.0}% of perturbed genes held out) with paired proteins; coherence through the RNA→protein coupling of real training cells",
                    test_fraction * 100.0
                ),
                SplitRule::FewShot { test_fraction, .. } => out!(
                    "split:     few-shot, the training context trains; {:.0}% of the new context's perturbations held out, scored after adapting on k = {:?} others (nested)",
                    test_fraction * 100.0,
                    tasks::splits::few_shot::SHOTS
                ),
            }
            out!("metrics:   {} (ranked by {})", spec.metrics.join(", "), spec.metrics[0]);
            out!("baselines: {}", spec.baselines.join(", "));
            for b in &spec.baselines {
                out!("  {b}: {}", crate::baselines::describe(b));
            }
            for b in crate::baselines::PRIOR_BASELINES {
                out!("  also on request (`arena eval --baseline {b}`): {b}: {}", crate::baselines::describe(b));
            }
            out!("headline profile metrics leave out each item's perturbed genes; *_with_target metrics keep them");
            out!("spec sha256: {}", s.sha256);
            split_sizes(&s, &registry)?;
        }
    }
    Ok(())
}

/// Builds the split on the task's dataset and prints its sizes.
fn split_sizes(spec: &tasks::LoadedSpec, registry: &super::RegistryArgs) -> anyhow::Result<()> {
    let load = crate::data::load::LoadOptions { data_dir: registry.data_dir.clone(), ..Default::default() };
    let loaded = crate::data::load::load_dataset(&spec.spec.dataset, &registry.load()?, &load)?;
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
