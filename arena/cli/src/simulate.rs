//! `arena simulate`: run the mechanistic simulator and write an AnnData `.h5ad`, a block of cells
//! at a time (`arena_sim::stream`), with a progress bar over cells written.

use std::path::PathBuf;

use anyhow::Context;

use arena_sim::stream::{DEFAULT_BLOCK_CELLS, simulate_to_h5ad};
use arena_sim::{GrnSource, SimConfig};

#[derive(Debug, clap::Args)]
pub struct SimulateArgs {
    /// Output .h5ad (RNA log1p-normalised in X, raw counts in layers/counts, proteins in obsm/protein_counts).
    #[arg(long, short, value_name = "FILE", default_value = "simulated.h5ad")]
    out: PathBuf,
    /// Simulator settings as TOML (any subset of the fields; see the simulator's SimConfig).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Master seed (overrides the config file).
    #[arg(long)]
    seed: Option<u64>,
    /// Seed the regulatory network from a CollecTRI TF -> target CSV (real gene names and signs).
    #[arg(long, value_name = "CSV")]
    collectri: Option<PathBuf>,
    /// Print the effective configuration as TOML and exit.
    #[arg(long)]
    print_config: bool,
}

pub fn run(args: SimulateArgs) -> anyhow::Result<()> {
    let mut config = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("{}: cannot read the simulator config", path.display()))?;
            toml::from_str::<SimConfig>(&text)
                .with_context(|| format!("{}: invalid simulator config", path.display()))?
        }
        None => SimConfig::default(),
    };
    if let Some(seed) = args.seed {
        config.seed = seed;
    }
    if let Some(csv) = args.collectri {
        config.grn = GrnSource::Collectri(csv);
    }
    if args.print_config {
        out!("{}", toml::to_string(&config)?.trim_end());
        return Ok(());
    }
    let started = std::time::Instant::now();
    let bar = arena_data::progress::stderr_bar(None, "simulate [{bar:40}] {pos}/{len} cells ({elapsed}<{eta})");
    let written = simulate_to_h5ad(&config, &args.out, DEFAULT_BLOCK_CELLS, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    });
    bar.finish_and_clear();
    let written = written?;
    eprintln!(
        "simulated {} cells x {} genes (+{} proteins) in {:.2}s, seed {}; sha256 of content {}",
        written.n_cells,
        written.n_genes,
        written.n_proteins,
        started.elapsed().as_secs_f64(),
        config.seed,
        written.sha256
    );
    out!("{}", args.out.display());
    Ok(())
}
