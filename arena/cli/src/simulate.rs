//! `arena simulate`: run the mechanistic simulator and write an AnnData `.h5ad`.

use std::path::PathBuf;

use anyhow::Context;

use arena_data::write_h5ad;
use arena_sim::{GrnSource, SimConfig, export, simulate};

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
    let sim = simulate(&config)?;
    write_h5ad(&args.out, &export::to_anndata(&sim))?;
    eprintln!(
        "simulated {} cells x {} genes (+{} proteins) in {:.2}s, seed {}; sha256 of content {}",
        sim.n_cells(),
        sim.genes.len(),
        sim.proteins.len(),
        started.elapsed().as_secs_f64(),
        config.seed,
        export::content_sha256(&sim)
    );
    out!("{}", args.out.display());
    Ok(())
}
