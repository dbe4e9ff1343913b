//! The Parquet columns of a partial: a shard's parts as record batches (float64 lists, counts,
//! one row per perturbation and one for the controls), and a reader that names the file in every
//! error.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Float64Builder, ListBuilder};
use arrow_array::{Array, ArrayRef, Float64Array, ListArray, RecordBatch, StringArray, UInt64Array};
use metrics::de::GroupDe;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::scoring::audit::GroupAudit;
use crate::scoring::error::ScoreError;
use crate::scoring::pair::Energies;
use crate::scoring::parts::ScoreParts;

/// Perturbations per Parquet row group (bounds the memory of writing and reading).
pub(super) const ROWS_PER_GROUP: usize = 32;

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

pub(super) fn perturbation_batch(
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

pub(super) fn control_batch(parts: &ScoreParts) -> Result<RecordBatch, arrow_schema::ArrowError> {
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

/// Reads the batches of one Parquet file, naming it in every error.
pub(super) struct Columns {
    path: PathBuf,
    reader: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
}

/// One batch of a [`Columns`] file.
pub(super) struct Batch<'a> {
    path: &'a Path,
    batch: RecordBatch,
}

impl Columns {
    pub(super) fn open(path: &Path) -> Result<Columns, ScoreError> {
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

    pub(super) fn next_batch(&mut self) -> Result<Option<Batch<'_>>, ScoreError> {
        match self.reader.next() {
            None => Ok(None),
            Some(Ok(batch)) => Ok(Some(Batch { path: &self.path, batch })),
            Some(Err(e)) => Err(ScoreError::field(&self.path, "(file)", format!("{e}; rerun the shard"))),
        }
    }
}

impl Batch<'_> {
    pub(super) fn rows(&self) -> usize {
        self.batch.num_rows()
    }

    fn column<T: Array + 'static>(&self, name: &str) -> Result<&T, ScoreError> {
        self.batch.column_by_name(name).and_then(|c| c.as_any().downcast_ref::<T>()).ok_or_else(|| {
            ScoreError::field(self.path, name, "missing or of the wrong type; the partial is damaged, rerun the shard")
        })
    }

    pub(super) fn strings(&self, name: &str) -> Result<Vec<String>, ScoreError> {
        Ok(self.column::<StringArray>(name)?.iter().map(|s| s.unwrap_or_default().to_string()).collect())
    }

    pub(super) fn floats(&self, name: &str) -> Result<Vec<Option<f64>>, ScoreError> {
        Ok(self.column::<Float64Array>(name)?.iter().collect())
    }

    pub(super) fn counts(&self, name: &str) -> Result<Vec<Option<usize>>, ScoreError> {
        Ok(self.column::<UInt64Array>(name)?.iter().map(|v| v.map(|v| v as usize)).collect())
    }

    pub(super) fn lists(&self, name: &str) -> Result<Vec<Option<Vec<f64>>>, ScoreError> {
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

    pub(super) fn audits(&self, names: &[String], keep_all_cells: bool) -> Result<Vec<GroupAudit>, ScoreError> {
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

    pub(super) fn de(&self, side: &str) -> Result<Vec<Option<GroupDe>>, ScoreError> {
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
