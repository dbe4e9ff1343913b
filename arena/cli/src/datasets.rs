//! `arena datasets`: the registry as a table, with the verified sha256 of every local file;
//! `--check ID` loads one dataset fully (its layout, labels and gene panel, not only its checksum).

use arena_data::{LocalStatus, shared_data_dir, verify_local};

#[derive(Debug, clap::Args)]
pub struct DatasetsArgs {
    /// Load this dataset (a registry id, or an .h5ad / .npz path) the way a task would and print
    /// what was read: rows, genes, perturbations, controls. Catches a wrong layout (array names,
    /// obs column, labels) before a task runs on it.
    #[arg(long, value_name = "ID")]
    check: Option<String>,
    /// How to read an .h5ad given to --check (perturbation column, control labels, guides).
    #[command(flatten)]
    read: super::dataset_args::ReadArgs,
    #[command(flatten)]
    registry: super::dataset_args::RegistryArgs,
}

pub fn run(args: DatasetsArgs) -> anyhow::Result<()> {
    let registry = args.registry.load()?;
    if let Some(id) = &args.check {
        let options = args.read.load_options(args.registry.data_dir.clone());
        let loaded = arena_sim::load::load_dataset(id, &registry, &options)?;
        let d = &loaded.dataset;
        let perturbations = d.conditions().iter().filter(|p| !p.is_control()).count();
        let controls = d.control_id().map_or(0, |c| d.row_conditions().iter().filter(|&&r| r == c).count());
        out!(
            "{id}: loaded {} rows x {} genes ({:?}, {:?}); {} perturbations, {controls} control rows; sha256 {}\nsource: {}",
            d.n_rows(),
            d.genes.len(),
            d.observation,
            d.scale,
            perturbations,
            d.sha256,
            loaded.source
        );
        return Ok(());
    }
    let data_dir = shared_data_dir(args.registry.data_dir.as_deref()).ok();
    out!("| id | modality | observation | where | status | sha256 |");
    out!("|---|---|---|---|---|---|");
    let mut problems = 0;
    for entry in registry.entries() {
        let (place, status, sha) = if entry.is_local() {
            match data_dir.as_deref().map(|dir| verify_local(entry, dir)) {
                Some(Ok(LocalStatus::Verified { sha256, .. })) => ("local".to_string(), "verified".to_string(), sha256),
                Some(Ok(LocalStatus::Missing { path })) => {
                    problems += 1;
                    ("local".into(), format!("MISSING {}", path.display()), String::new())
                }
                Some(Ok(LocalStatus::Mismatch { actual, .. })) => {
                    problems += 1;
                    ("local".into(), "SHA256 MISMATCH".into(), actual)
                }
                Some(Err(e)) => {
                    problems += 1;
                    ("local".into(), format!("ERROR {e}"), String::new())
                }
                None => ("local".into(), "no data dir (--data-dir)".into(), String::new()),
            }
        } else {
            let pin = if entry.sha256.is_some() {
                "sha256"
            } else if entry.md5.is_some() {
                "md5"
            } else {
                "unpinned"
            };
            ("download (`arena fetch`)".into(), format!("remote, {pin}"), entry.sha256.clone().unwrap_or_default())
        };
        out!(
            "| {} | {} | {} | {} | {} | {} |",
            entry.id,
            entry.modality.as_str(),
            entry.observation.as_str(),
            place,
            status,
            sha
        );
    }
    use arena_sim::{contexts, interactions, many_sequences};
    out!(
        "\nsimulator: the embedded default dataset (`arena eval --dataset simulator`), generated from a seed; see `arena simulate`.\n\
         Its variants, generated the same way for the tasks that name them (`arena tasks show ID`):\n\
         - {}: {} action sequences instead of 20 (sim-multi-step)\n\
         - {}: the CollecTRI network with cooperating regulators and {} doubles (sim-combinatorial v2)\n\
         - {}: the same with a true network that only partly matches CollecTRI (fidelity {}; sim-combinatorial v3)\n\
         - {}: a second, rewired context with its own controls and singles (sim-few-shot)\n\
         - {}: drug mode, compounds with Hill dose responses at 7 doses, contexts A and B (sim-dose, sim-dose-unseen-compound)",
        many_sequences::MANY_SEQUENCES_ID,
        many_sequences::N_SEQUENCES,
        interactions::INTERACTIONS_ID,
        interactions::N_DOUBLES,
        interactions::FAIR_INTERACTIONS_ID,
        interactions::FAIR_FIDELITY,
        contexts::TWO_CONTEXT_ID,
        arena_sim::drugs::DRUGS_ID
    );
    if problems > 0 {
        anyhow::bail!(
            "{problems} local dataset(s) are missing or corrupt; restore them in the data dir (--data-dir / ARENA_DATA_DIR)"
        );
    }
    Ok(())
}
