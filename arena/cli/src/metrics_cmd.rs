//! `arena metrics`: prints the metric catalog (`metrics::catalog`) as a Markdown table, every
//! metric `arena eval` and `arena score` print, or one scorer's with `--scorer`.

use metrics::catalog::{self, Scorer};

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// Only the metrics of one command's output.
    #[arg(long, value_enum)]
    scorer: Option<ScorerArg>,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ScorerArg {
    /// `arena eval` scorecards (and the leaderboard).
    Eval,
    /// `arena score` result tables.
    Score,
}

pub fn run(args: MetricsArgs) -> anyhow::Result<()> {
    let scorer = args.scorer.map(|s| match s {
        ScorerArg::Eval => Scorer::Eval,
        ScorerArg::Score => Scorer::Score,
    });
    let table = catalog::markdown_table();
    let mut lines = table.lines();
    for header in lines.by_ref().take(2) {
        out!("{header}");
    }
    for (line, m) in lines.zip(catalog::CATALOG) {
        if scorer.is_none_or(|s| s == m.scorer) {
            out!("{line}");
        }
    }
    Ok(())
}
