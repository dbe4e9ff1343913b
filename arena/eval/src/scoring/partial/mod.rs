//! The partial of `arena score --shard K/N`: a folder holding what its perturbations' cells gave
//! ([`ScoreParts`]), losslessly, and the identity of the run, so that `arena merge` can refuse
//! partials that do not belong together and finish the run with the same bits as a single one.
//!
//! - `partial.json`: the [`Manifest`] (`manifest.rs`): format and arena version, both inputs'
//!   paths and sha256, the options that change numbers (profile, control mode, control label, obs
//!   column, cap), the shard, every perturbation of the run and the genes. Written last, so a
//!   folder without it is not a partial.
//! - `perturbations.parquet`: one row per perturbation of the shard: the pseudobulk means, the
//!   energy distances, the audit counts and both DE tables (list columns of float64,
//!   `columns.rs`).
//! - `controls.parquet`: one row: the control means, the control group's audit and the range of
//!   the predicted means.
//!
//! This file writes a shard's partial and reads one back; `merge.rs` checks and joins them.

mod columns;
mod manifest;
mod merge;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use metrics::de::GroupDe;

use super::ScoreOptions;
use super::audit::MeanRange;
use super::de::DeTable;
use super::error::ScoreError;
use super::pair::{Bulk, Energies};
use super::parts::ScoreParts;
use crate::shard::Shard;
use arena_data::output;
use columns::{Columns, ROWS_PER_GROUP, control_batch, perturbation_batch};
pub use manifest::{FORMAT, InputFile, Manifest, manifest, read_manifest};
pub use merge::merge;

const PERTURBATIONS: &str = "perturbations.parquet";
const CONTROLS: &str = "controls.parquet";

/// Writes `parts` with `manifest` into `dir`, all files or none; returns the paths written.
pub fn write(dir: &Path, manifest: &Manifest, parts: &ScoreParts) -> Result<Vec<PathBuf>, ScoreError> {
    let perts = output::stage(&dir.join(PERTURBATIONS), |file| {
        let n = parts.perts.len();
        let first = perturbation_batch(parts, 0..n.min(ROWS_PER_GROUP)).map_err(std::io::Error::other)?;
        let schema = first.schema();
        let rest = (ROWS_PER_GROUP..n)
            .step_by(ROWS_PER_GROUP)
            .map(|at| perturbation_batch(parts, at..(at + ROWS_PER_GROUP).min(n)).map_err(std::io::Error::other));
        output::write_parquet_groups(file, schema, std::iter::once(Ok(first)).chain(rest))
    })?;
    let controls = output::stage(&dir.join(CONTROLS), |file| {
        output::write_parquet(file, &control_batch(parts).map_err(std::io::Error::other)?)
    })?;
    let json = serde_json::to_string_pretty(manifest).map_err(|e| ScoreError::Invalid(e.to_string()))? + "\n";
    let manifest = output::stage_bytes(&dir.join(manifest::MANIFEST), json.as_bytes())?;
    Ok(output::commit(vec![perts, controls, manifest])?)
}

/// Reads the parts of the partial in `dir`, whose manifest is `manifest`.
pub(super) fn read_parts(dir: &Path, manifest: &Manifest) -> Result<ScoreParts, ScoreError> {
    let want = manifest.shard.range(manifest.run_perturbations.len());
    let perts_path = dir.join(PERTURBATIONS);
    let mut reader = Columns::open(&perts_path)?;
    let (mut perts, mut real, mut pred, mut e_real, mut e_pred, mut audits) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut de: BTreeMap<&str, Vec<Option<GroupDe>>> = BTreeMap::new();
    while let Some(batch) = reader.next_batch()? {
        perts.extend(batch.strings("perturbation")?);
        real.extend(batch.lists("real_mean")?.into_iter().map(Option::unwrap_or_default));
        pred.extend(batch.lists("pred_mean")?.into_iter().map(Option::unwrap_or_default));
        e_real.extend(batch.floats("energy_real")?);
        e_pred.extend(batch.floats("energy_pred")?);
        audits.extend(batch.audits(&perts[perts.len() - batch.rows()..], manifest.keep_all_cells)?);
        for side in ["real", "pred"] {
            de.entry(side).or_default().extend(batch.de(side)?);
        }
    }
    if perts != manifest.run_perturbations[want.clone()] {
        return Err(ScoreError::field(
            &perts_path,
            "perturbation",
            format!(
                "does not hold shard {}'s perturbations ({} of the run's {}); the partial is damaged, rerun the shard",
                manifest.shard,
                want.len(),
                manifest.run_perturbations.len()
            ),
        ));
    }
    let controls_path = dir.join(CONTROLS);
    let mut reader = Columns::open(&controls_path)?;
    let batch = reader.next_batch()?.filter(|b| b.rows() == 1).ok_or_else(|| {
        ScoreError::field(&controls_path, "control", "expected one row; the partial is damaged, rerun the shard")
    })?;
    let first = |name: &str| -> Result<Vec<f64>, ScoreError> {
        Ok(batch.lists(name)?.into_iter().next().flatten().unwrap_or_default())
    };
    let control = manifest.control.clone();
    let control_audit =
        batch.audits(std::slice::from_ref(&control), manifest.keep_all_cells)?.into_iter().next().ok_or_else(|| {
            ScoreError::field(&controls_path, "n_real", "no control row; the partial is damaged, rerun the shard")
        })?;
    let bulk = Bulk { real, pred, real_control: first("real_mean")?, pred_control: first("pred_mean")? };
    let pred_means = MeanRange {
        groups: batch.counts("pred_mean_groups")?.first().copied().flatten().unwrap_or(0),
        first: first("pred_mean_first")?,
        min: first("pred_mean_min")?,
        max: first("pred_mean_max")?,
    };
    let energies = match e_real.iter().all(Option::is_some) && !e_real.is_empty() {
        true => Some(Energies {
            real: e_real.into_iter().flatten().collect(),
            pred: e_pred.into_iter().flatten().collect(),
        }),
        false => None,
    };
    let mut table = |side: &str| -> Option<DeTable> {
        let groups: Vec<Option<GroupDe>> = de.remove(side).unwrap_or_default();
        groups.into_iter().collect::<Option<Vec<GroupDe>>>().map(|groups| DeTable { groups })
    };
    let parts = ScoreParts {
        genes: manifest.genes.clone(),
        perts,
        control,
        real_de: table("real"),
        pred_de: table("pred"),
        bulk,
        energies,
        audit: audits,
        control_audit,
        pred_means,
    };
    Ok(parts)
}

/// What `arena score --shard` prints once shard `manifest.shard`'s partial is in `dir`.
pub fn shard_summary(manifest: &Manifest, dir: &Path) -> String {
    let (shard, total) = (manifest.shard, manifest.run_perturbations.len());
    let range = shard.range(total);
    format!(
        "Scored shard {shard}: perturbations {}..={} of {total} (profile {}); wrote the partial into {}\n\
         Combine the {} partials with `arena merge --outdir DIR PARTIAL...`",
        range.start + 1,
        range.end,
        manifest.profile.name(),
        dir.display(),
        shard.n()
    )
}

/// Computes shard `shard` of the run `opts` and writes its partial into `dir`.
pub fn score_shard_into(opts: &ScoreOptions, shard: Shard, dir: &Path) -> Result<(Manifest, Vec<PathBuf>), ScoreError> {
    let (run_perturbations, parts) = super::score_shard(opts, shard)?;
    let manifest = manifest(opts, shard, run_perturbations, parts.genes.clone())?;
    let written = write(dir, &manifest, &parts)?;
    Ok((manifest, written))
}
