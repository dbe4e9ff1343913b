//! `partial.json`: the identity of a shard's run ([`Manifest`]), which fields must agree between
//! the partials of one run, and the run's options read back from it.

use std::path::{Path, PathBuf};

use metrics::ControlMode;
use serde::{Deserialize, Serialize};

use crate::scoring::error::ScoreError;
use crate::scoring::options::ScoreOptions;
use crate::scoring::profile::Profile;
use crate::shard::Shard;

/// The partial format this build writes and reads.
pub const FORMAT: &str = "arena-score-partial/1";
/// The manifest's file name in a partial's folder.
pub(super) const MANIFEST: &str = "partial.json";

/// One input file of the run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    pub path: PathBuf,
    pub sha256: String,
}

/// `partial.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub arena_version: String,
    pub real: InputFile,
    pub pred: InputFile,
    pub profile: Profile,
    pub controls: ControlMode,
    pub control: String,
    pub pert_col: String,
    pub keep_all_cells: bool,
    pub shard: Shard,
    /// Every perturbation of the run, in order (this shard's are `shard.range(len)`).
    pub run_perturbations: Vec<String>,
    pub genes: Vec<String>,
}

impl Manifest {
    /// The fields that must agree between partials of one run, by name, as JSON text.
    pub fn identity(&self) -> Vec<(&'static str, String)> {
        fn j(v: &impl Serialize) -> String {
            serde_json::to_string(v).unwrap_or_default()
        }
        vec![
            ("format", j(&self.format)),
            ("arena_version", j(&self.arena_version)),
            ("real.sha256", j(&self.real.sha256)),
            ("pred.sha256", j(&self.pred.sha256)),
            ("profile", j(&self.profile)),
            ("controls", j(&self.controls)),
            ("control", j(&self.control)),
            ("pert_col", j(&self.pert_col)),
            ("keep_all_cells", j(&self.keep_all_cells)),
            ("shard count N", j(&self.shard.n())),
            ("run_perturbations", j(&self.run_perturbations)),
            ("genes", j(&self.genes)),
        ]
    }

    /// The options of the run (paths as recorded in the manifest).
    pub fn options(&self) -> ScoreOptions {
        ScoreOptions {
            real: self.real.path.clone(),
            pred: self.pred.path.clone(),
            control: self.control.clone(),
            pert_col: self.pert_col.clone(),
            profile: self.profile,
            mode: self.controls,
            timings: false,
            keep_all_cells: self.keep_all_cells,
            batch_cells: None,
        }
    }
}

/// The manifest of shard `shard` of the run `opts` over `run_perturbations` and `genes`; hashes
/// both input files.
pub fn manifest(
    opts: &ScoreOptions,
    shard: Shard,
    run_perturbations: Vec<String>,
    genes: Vec<String>,
) -> Result<Manifest, ScoreError> {
    let file = |path: &Path| -> Result<InputFile, ScoreError> {
        Ok(InputFile { path: path.to_path_buf(), sha256: arena_data::registry::sha256_file(path)? })
    };
    let (real, pred) = rayon::join(|| file(&opts.real), || file(&opts.pred));
    Ok(Manifest {
        format: FORMAT.into(),
        arena_version: crate::provenance::SUITE_VERSION.into(),
        real: real?,
        pred: pred?,
        profile: opts.profile,
        controls: opts.mode,
        control: opts.control.clone(),
        pert_col: opts.pert_col.clone(),
        keep_all_cells: opts.keep_all_cells,
        shard,
        run_perturbations,
        genes,
    })
}

/// Reads the manifest of the partial in `dir`.
pub fn read_manifest(dir: &Path) -> Result<Manifest, ScoreError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        ScoreError::field(
            dir,
            MANIFEST,
            format!("{e}: not a partial of `arena score --shard K/N` (or that run did not finish; rerun it)"),
        )
    })?;
    let manifest: Manifest = serde_json::from_str(&text)
        .map_err(|e| ScoreError::field(&path, "partial.json", format!("{e}; rerun the shard")))?;
    if manifest.format != FORMAT {
        return Err(ScoreError::field(
            &path,
            "format",
            format!("'{}', but this arena reads '{FORMAT}'; rerun the shard with this arena", manifest.format),
        ));
    }
    Ok(manifest)
}
