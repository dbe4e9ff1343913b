//! `arena fetch ID`: download a registered dataset into the cache with a progress bar.

use std::path::PathBuf;

use arena_data::{FetchOptions, cache_dir, fetch};

#[derive(Debug, clap::Args)]
pub struct FetchArgs {
    /// Dataset id (see `arena datasets`).
    id: String,
    /// Cache directory [default: $ARENA_CACHE_DIR, else $XDG_CACHE_HOME/virtual-cell-arena, else ~/.cache/virtual-cell-arena].
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Download even if the registry publishes no checksum (the computed sha256 is printed so you can pin it).
    #[arg(long)]
    allow_unpinned: bool,
    #[command(flatten)]
    registry: super::dataset_args::RegistryArgs,
}

pub fn run(args: FetchArgs) -> anyhow::Result<()> {
    let registry = args.registry.load()?;
    let entry = registry.get(&args.id)?;
    let dir = cache_dir(args.cache_dir.as_deref());
    let options = FetchOptions { progress: true, allow_unpinned: args.allow_unpinned, ..FetchOptions::default() };
    let path = fetch(entry, &dir, &options)?;
    out!("{}", path.display());
    Ok(())
}
