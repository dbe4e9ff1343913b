//! `arena publish scorecard.json ...`: imports scorecards computed elsewhere into a leaderboard
//! database, marked self-reported (they were not scored on the server's hidden split).

use std::path::PathBuf;

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// Scorecards written by `arena eval` (scorecard.json) with a model row.
    #[arg(value_name = "SCORECARD", required = true)]
    files: Vec<PathBuf>,
    /// The leaderboard database: sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DATABASE (as
    /// for `arena serve`).
    #[arg(long, value_name = "URL", default_value = arena_serve::database::DEFAULT_DATABASE)]
    database: String,
    /// Name shown on the leaderboard [default: the scorecard's model name].
    #[arg(long)]
    name: Option<String>,
    /// Description shown on the model page.
    #[arg(long, default_value = "")]
    description: String,
}

pub fn run(args: PublishArgs) -> anyhow::Result<()> {
    let db = arena_serve::database::open_db(&args.database)?;
    // Check every file before importing any, so a bad file leaves the database untouched.
    let mut texts = Vec::new();
    for file in &args.files {
        let text = std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let card = leaderboard::card::CardView::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        if card.model_row().is_none() {
            anyhow::bail!(
                "{}: the scorecard has no model row (a baselines-only run); nothing to publish",
                file.display()
            );
        }
        texts.push((file, text, card.task.id));
    }
    let mut tasks = Vec::new();
    for (file, text, task) in texts {
        let (id, _) = leaderboard::import_scorecard(&db, &text, args.name.as_deref(), &args.description)
            .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        out!("published {} as submission {id} on {task} (self-reported) in {}", file.display(), db.url());
        tasks.push(task);
    }
    // The boards (ranks and tie groups) are rebuilt once per task, after all imports.
    tasks.sort();
    tasks.dedup();
    for task in &tasks {
        leaderboard::board::rebuild(&db, task).map_err(anyhow::Error::msg)?;
    }
    Ok(())
}
