//! The partial of `arena score --shard K/N`: a folder holding what its perturbations' cells gave
//! ([`ScoreParts`]), losslessly, and the identity of the run, so that `arena merge` can refuse
//! partials that do not belong together and finish the run with the same bits as a single one.
//!
//! - `partial.json`: the [`Manifest`]: format and arena version, both inputs' paths and sha256,
//!   the options that change numbers (profile, control mode, control label, obs column, cap), the
//!   shard, every perturbation of the run and the genes. Written last, so a folder without it is
//!   not a partial.
//! - `perturbations.parquet`: one row per perturbation of the shard: the pseudobulk means, the
//!   energy distances, the audit counts and both DE tables (list columns of float64).
//! - `controls.parquet`: one row: the control means, the control group's audit and the range of
//!   the predicted means.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, ListBuilder};
use arrow_array::{Array, ArrayRef, Float64Array, ListArray, RecordBatch, StringArray, UInt64Array};
use metrics::ControlMode;
use metrics::de::GroupDe;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde::{Deserialize, Serialize};

use super::audit::{GroupAudit, MeanRange};
use super::de::DeTable;
use super::error::ScoreError;
use super::pair::{Bulk, Energies};
use super::parts::ScoreParts;
use super::profile::Profile;
use super::progress::Progress;
use super::shard::Shard;
use super::{ScoreOptions, ScoreOutput};
use arena_data::output;

/// The partial format this build writes and reads.
pub const FORMAT: &str = "arena-score-partial/1";
const MANIFEST: &str = "partial.json";
const PERTURBATIONS: &str = "perturbations.parquet";
const CONTROLS: &str = "controls.parquet";
/// Perturbations per Parquet row group (bounds the memory of writing and reading).
const ROWS_PER_GROUP: usize = 32;

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
    pub profile: String,
    /// "real" or "own".
    pub controls: String,
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
    pub fn options(&self, dir: &Path) -> Result<ScoreOptions, ScoreError> {
        let bad = |field: &str, value: &str| {
            ScoreError::field(&dir.join(MANIFEST), field, format!("unknown value '{value}'; written by another arena?"))
        };
        let profile = <Profile as clap::ValueEnum>::value_variants()
            .iter()
            .copied()
            .find(|p| p.name() == self.profile)
            .ok_or_else(|| bad("profile", &self.profile))?;
        let mode = match self.controls.as_str() {
            "real" => ControlMode::RealControls,
            "own" => ControlMode::OwnControls,
            other => return Err(bad("controls", other)),
        };
        Ok(ScoreOptions {
            real: self.real.path.clone(),
            pred: self.pred.path.clone(),
            control: self.control.clone(),
            pert_col: self.pert_col.clone(),
            profile,
            mode,
            timings: false,
            keep_all_cells: self.keep_all_cells,
            batch_cells: None,
        })
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
        profile: opts.profile.name().into(),
        controls: match opts.mode {
            ControlMode::RealControls => "real".into(),
            ControlMode::OwnControls => "own".into(),
        },
        control: opts.control.clone(),
        pert_col: opts.pert_col.clone(),
        keep_all_cells: opts.keep_all_cells,
        shard,
        run_perturbations,
        genes,
    })
}

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
    let manifest = output::stage_bytes(&dir.join(MANIFEST), json.as_bytes())?;
    Ok(output::commit(vec![perts, controls, manifest])?)
}

fn list<'a>(rows: impl Iterator<Item = Option<&'a [f64]>>) -> ArrayRef {
    let mut b = ListBuilder::new(Float64Builder::new());
    for row in rows {
        match row {
            Some(v) => {
                b.values().append_slice(v);
                b.append(true);
            }
            None => b.append_null(),
        }
    }
    Arc::new(b.finish())
}

fn counts(values: impl Iterator<Item = Option<usize>>) -> ArrayRef {
    Arc::new(values.map(|v| v.map(|v| v as u64)).collect::<UInt64Array>())
}

fn floats(values: impl Iterator<Item = Option<f64>>) -> ArrayRef {
    Arc::new(values.collect::<Float64Array>())
}

/// The DE fields of a partial, by column suffix.
const DE_LISTS: [&str; 8] = [
    "target_mean",
    "reference_mean",
    "fold_change",
    "log2_fold_change",
    "percent_change",
    "p_value",
    "statistic",
    "fdr",
];

fn de_list<'a>(g: &'a GroupDe, field: &str) -> &'a [f64] {
    match field {
        "target_mean" => &g.target_mean,
        "reference_mean" => &g.reference_mean,
        "fold_change" => &g.fold_change,
        "log2_fold_change" => &g.log2_fold_change,
        "percent_change" => &g.percent_change,
        "p_value" => &g.p_value,
        "statistic" => &g.statistic,
        _ => &g.fdr,
    }
}

fn audit_columns(groups: &[&GroupAudit], columns: &mut Vec<(String, ArrayRef)>) {
    let c = |f: fn(&GroupAudit) -> usize| counts(groups.iter().map(|g| Some(f(g))));
    columns.push(("n_real".into(), c(|g| g.n_real)));
    columns.push(("n_pred".into(), c(|g| g.n_pred)));
    columns.push(("duplicated_pred".into(), c(|g| g.duplicated_pred)));
    columns.push(("duplicated_real".into(), c(|g| g.duplicated_real)));
    columns.push(("variance_ratio".into(), floats(groups.iter().map(|g| Some(g.variance_ratio)))));
}

fn perturbation_batch(
    parts: &ScoreParts,
    rows: std::ops::Range<usize>,
) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let names: StringArray = parts.perts[rows.clone()].iter().map(|p| Some(p.as_str())).collect();
    let mut columns: Vec<(String, ArrayRef)> = vec![("perturbation".into(), Arc::new(names))];
    columns.push(("real_mean".into(), list(parts.bulk.real[rows.clone()].iter().map(|v| Some(v.as_slice())))));
    columns.push(("pred_mean".into(), list(parts.bulk.pred[rows.clone()].iter().map(|v| Some(v.as_slice())))));
    let energy =
        |side: fn(&Energies) -> &Vec<f64>| floats(rows.clone().map(|i| parts.energies.as_ref().map(|e| side(e)[i])));
    columns.push(("energy_real".into(), energy(|e| &e.real)));
    columns.push(("energy_pred".into(), energy(|e| &e.pred)));
    audit_columns(&parts.audit[rows.clone()].iter().collect::<Vec<_>>(), &mut columns);
    for (side, table) in [("real", &parts.real_de), ("pred", &parts.pred_de)] {
        let group = |i: usize| table.as_ref().map(|t| &t.groups[i]);
        columns.push((format!("{side}_de_n_cells"), counts(rows.clone().map(|i| group(i).map(|g| g.n_cells)))));
        columns.push((
            format!("{side}_de_reference_cells"),
            counts(rows.clone().map(|i| group(i).map(|g| g.reference_cells))),
        ));
        for field in DE_LISTS {
            columns
                .push((format!("{side}_de_{field}"), list(rows.clone().map(|i| group(i).map(|g| de_list(g, field))))));
        }
    }
    RecordBatch::try_from_iter(columns)
}

fn control_batch(parts: &ScoreParts) -> Result<RecordBatch, arrow_schema::ArrowError> {
    let names: StringArray = [Some(parts.control.as_str())].into_iter().collect();
    let mut columns: Vec<(String, ArrayRef)> = vec![("control".into(), Arc::new(names))];
    columns.push(("real_mean".into(), list(std::iter::once(Some(parts.bulk.real_control.as_slice())))));
    columns.push(("pred_mean".into(), list(std::iter::once(Some(parts.bulk.pred_control.as_slice())))));
    audit_columns(&[&parts.control_audit], &mut columns);
    let m = &parts.pred_means;
    columns.push(("pred_mean_groups".into(), counts(std::iter::once(Some(m.groups)))));
    for (name, v) in [("pred_mean_first", &m.first), ("pred_mean_min", &m.min), ("pred_mean_max", &m.max)] {
        columns.push((name.into(), list(std::iter::once(Some(v.as_slice())))));
    }
    RecordBatch::try_from_iter(columns)
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

/// Reads the parts of the partial in `dir`, whose manifest is `manifest`.
fn read_parts(dir: &Path, manifest: &Manifest) -> Result<ScoreParts, ScoreError> {
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

/// Reads the batches of one Parquet file, naming it in every error.
struct Columns {
    path: PathBuf,
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
}

/// One batch of a [`Columns`] file.
struct Batch<'a> {
    path: &'a Path,
    batch: RecordBatch,
}

impl Columns {
    fn open(path: &Path) -> Result<Columns, ScoreError> {
        let damaged = |e: &dyn std::fmt::Display| {
            ScoreError::field(path, "(file)", format!("{e}; the partial is damaged, rerun the shard"))
        };
        let file = File::open(path).map_err(|e| damaged(&e))?;
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| damaged(&e))?
            .with_batch_size(ROWS_PER_GROUP)
            .build()
            .map_err(|e| damaged(&e))?;
        Ok(Columns { path: path.to_path_buf(), reader })
    }

    fn next_batch(&mut self) -> Result<Option<Batch<'_>>, ScoreError> {
        match self.reader.next() {
            None => Ok(None),
            Some(Ok(batch)) => Ok(Some(Batch { path: &self.path, batch })),
            Some(Err(e)) => Err(ScoreError::field(&self.path, "(file)", format!("{e}; rerun the shard"))),
        }
    }
}

impl Batch<'_> {
    fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    fn column<T: Array + 'static>(&self, name: &str) -> Result<&T, ScoreError> {
        self.batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<T>()).ok_or_else(|| {
            ScoreError::field(self.path, name, "missing or of the wrong type; the partial is damaged, rerun the shard")
        })
    }

    fn strings(&self, name: &str) -> Result<Vec<String>, ScoreError> {
        Ok(self.column::<StringArray>(name)?.iter().map(|s| s.unwrap_or_default().to_string()).collect())
    }

    fn floats(&self, name: &str) -> Result<Vec<Option<f64>>, ScoreError> {
        Ok(self.column::<Float64Array>(name)?.iter().collect())
    }

    fn counts(&self, name: &str) -> Result<Vec<Option<usize>>, ScoreError> {
        Ok(self.column::<UInt64Array>(name)?.iter().map(|v| v.map(|v| v as usize)).collect())
    }

    fn lists(&self, name: &str) -> Result<Vec<Option<Vec<f64>>>, ScoreError> {
        let list = self.column::<ListArray>(name)?;
        (0..list.len())
            .map(|i| {
                if list.is_null(i) {
                    return Ok(None);
                }
                let values = list.value(i);
                let values = values.as_any().downcast_ref::<Float64Array>().ok_or_else(|| {
                    ScoreError::field(self.path, name, "not a list of float64; the partial is damaged, rerun the shard")
                })?;
                Ok(Some(values.values().to_vec()))
            })
            .collect()
    }

    fn audits(&self, names: &[String], keep_all_cells: bool) -> Result<Vec<GroupAudit>, ScoreError> {
        let count = |name: &str| -> Result<Vec<usize>, ScoreError> {
            Ok(self.counts(name)?.into_iter().map(Option::unwrap_or_default).collect())
        };
        let (n_real, n_pred) = (count("n_real")?, count("n_pred")?);
        let (dup_pred, dup_real) = (count("duplicated_pred")?, count("duplicated_real")?);
        let ratio = self.floats("variance_ratio")?;
        Ok((0..self.rows())
            .map(|i| {
                GroupAudit::new(
                    names[i].clone(),
                    (n_real[i], n_pred[i]),
                    !keep_all_cells,
                    (dup_pred[i], dup_real[i]),
                    ratio[i].unwrap_or(f64::NAN),
                )
            })
            .collect())
    }

    fn de(&self, side: &str) -> Result<Vec<Option<GroupDe>>, ScoreError> {
        let n_cells = self.counts(&format!("{side}_de_n_cells"))?;
        let reference_cells = self.counts(&format!("{side}_de_reference_cells"))?;
        let mut lists =
            DE_LISTS.iter().map(|f| self.lists(&format!("{side}_de_{f}"))).collect::<Result<Vec<_>, _>>()?;
        Ok((0..self.rows())
            .map(|i| {
                let mut row = lists.iter_mut().map(|c| c[i].take());
                let mut next = || row.next().flatten();
                let (target_mean, reference_mean, fold_change, log2_fold_change) = (next(), next(), next(), next());
                let (percent_change, p_value, statistic, fdr) = (next(), next(), next(), next());
                Some(GroupDe {
                    n_cells: n_cells[i]?,
                    reference_cells: reference_cells[i]?,
                    target_mean: target_mean?,
                    reference_mean: reference_mean?,
                    fold_change: fold_change?,
                    log2_fold_change: log2_fold_change?,
                    percent_change: percent_change?,
                    p_value: p_value?,
                    statistic: statistic?,
                    fdr: fdr?,
                })
            })
            .collect())
    }
}

/// Checks that the partials in `dirs` are the N shards of one run (same inputs, options, arena
/// and format; each shard once) from their manifests alone, then reads and joins their parts in
/// shard order and finishes the run; returns the run's options and outputs.
pub fn merge(dirs: &[PathBuf]) -> Result<(ScoreOptions, ScoreOutput), ScoreError> {
    let mut partials =
        dirs.iter().map(|d| Ok((d.clone(), read_manifest(d)?))).collect::<Result<Vec<_>, ScoreError>>()?;
    check(&mut partials)?;
    let opts = partials[0].1.options(&partials[0].0)?;
    let mut joined: Option<ScoreParts> = None;
    for (dir, manifest) in &partials {
        let parts = read_parts(dir, manifest)?;
        joined = Some(match joined {
            None => parts,
            Some(before) => before.then(parts).map_err(|why| {
                ScoreError::Invalid(format!(
                    "{} does not continue the shards before it: {why}; rerun it",
                    dir.display()
                ))
            })?,
        });
    }
    let parts = joined.ok_or_else(|| ScoreError::Invalid("no partials given".into()))?;
    let out = super::parts::finish(parts, &opts, &Progress::new(1, false))?;
    Ok((opts, out))
}

/// Refuses partials of different runs, arenas or formats, a shard given twice and a missing
/// shard; sorts them by shard.
fn check(partials: &mut [(PathBuf, Manifest)]) -> Result<(), ScoreError> {
    let Some((first_dir, first)) = partials.first() else {
        return Err(ScoreError::Invalid(
            "no partials given; pass the folders written by `arena score --shard K/N`".into(),
        ));
    };
    let ours = crate::provenance::SUITE_VERSION;
    if first.arena_version != ours {
        return Err(ScoreError::field(
            &first_dir.join(MANIFEST),
            "arena_version",
            format!(
                "written by arena {}, but this is arena {ours}; rerun the shards with this arena",
                first.arena_version
            ),
        ));
    }
    let reference = first.identity();
    for (dir, manifest) in &partials[1..] {
        for ((field, a), (_, b)) in reference.iter().zip(manifest.identity()) {
            if *a != b {
                let shorten = |s: &str| {
                    if s.len() > 80 { format!("{}…", &s[..s.floor_char_boundary(80)]) } else { s.to_string() }
                };
                return Err(ScoreError::Invalid(format!(
                    "the partials are not from one run: {field} is {} in {} but {} in {}; rerun the shards with one command",
                    shorten(a),
                    first_dir.display(),
                    shorten(&b),
                    dir.display()
                )));
            }
        }
    }
    partials.sort_by_key(|p| p.1.shard);
    let n = partials[0].1.shard.n();
    for w in partials.windows(2) {
        if w[0].1.shard == w[1].1.shard {
            return Err(ScoreError::Invalid(format!(
                "shard {} is given twice: {} and {}; pass each shard once",
                w[0].1.shard,
                w[0].0.display(),
                w[1].0.display()
            )));
        }
    }
    let have: Vec<usize> = partials.iter().map(|p| p.1.shard.k()).collect();
    let missing: Vec<String> = (1..=n).filter(|k| !have.contains(k)).map(|k| format!("{k}/{n}")).collect();
    if !missing.is_empty() {
        return Err(ScoreError::Invalid(format!(
            "missing shard(s) {} of {n}; run `arena score --shard K/{n}` for each and pass every folder",
            missing.join(", ")
        )));
    }
    Ok(())
}

/// Computes shard `shard` of the run `opts` and writes its partial into `dir`.
pub fn score_shard_into(opts: &ScoreOptions, shard: Shard, dir: &Path) -> Result<(Manifest, Vec<PathBuf>), ScoreError> {
    let (run_perturbations, parts) = super::score_shard(opts, shard)?;
    let manifest = manifest(opts, shard, run_perturbations, parts.genes.clone())?;
    let written = write(dir, &manifest, &parts)?;
    Ok((manifest, written))
}
