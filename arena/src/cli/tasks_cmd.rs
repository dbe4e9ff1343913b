//! `arena tasks`: one line per task; `arena tasks show ID` explains one.

use tasks::{SplitRule, embedded_specs, find_spec};

#[derive(Debug, clap::Args)]
pub struct TasksArgs {
    #[command(subcommand)]
    action: Option<TasksAction>,
}

#[derive(Debug, clap::Subcommand)]
enum TasksAction {
    /// Explain a task: dataset, split rule, metrics, baselines.
    Show { id: String },
}

pub fn run(args: TasksArgs) -> anyhow::Result<()> {
    match args.action {
        None => {
            out!("| task | family | dataset | title |");
            out!("|---|---|---|---|");
            for s in embedded_specs()? {
                out!("| {} | {} | {} | {} |", s.spec.id, s.spec.task, s.spec.dataset, s.spec.title);
            }
        }
        Some(TasksAction::Show { id }) => {
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
            }
            out!("metrics:   {} (ranked by {})", spec.metrics.join(", "), spec.metrics[0]);
            out!("baselines: {}", spec.baselines.join(", "));
            out!("spec sha256: {}", s.sha256);
        }
    }
    Ok(())
}
