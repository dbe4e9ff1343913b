//! Writes a scorecard: `scorecard.json`, `per_perturbation.parquet` (one row per model row x
//! test perturbation, one nullable Float64 column per metric) and `split.json` (the split record
//! a paper can cite and reload), as one set of `data::output` (all in place or none).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt64Array};
use arrow_schema::{DataType, Field, Schema};
use tasks::SplitRecord;
use tasks::scorecard::Scorecard;

use arena_data::{DataError, output};

pub const SCORECARD_FILE: &str = "scorecard.json";
pub const PER_PERTURBATION_FILE: &str = "per_perturbation.parquet";
pub const SPLIT_FILE: &str = "split.json";

/// Writes the three files into `dir` (created if missing); returns the scorecard's and the
/// table's paths.
pub fn write_scorecard(card: &Scorecard, split: &SplitRecord, dir: &Path) -> Result<(PathBuf, PathBuf), DataError> {
    let fail = |path: &Path, reason: String| DataError::Write { path: path.to_path_buf(), reason };
    let json_path = dir.join(SCORECARD_FILE);
    let parquet_path = dir.join(PER_PERTURBATION_FILE);
    let split_path = dir.join(SPLIT_FILE);
    let json = serde_json::to_vec_pretty(card).map_err(|e| fail(&json_path, e.to_string()))?;
    let split_json = serde_json::to_vec_pretty(split).map_err(|e| fail(&split_path, e.to_string()))?;
    let batch = per_perturbation_batch(card).map_err(|e| fail(&parquet_path, e.to_string()))?;
    output::commit(vec![
        output::stage_bytes(&split_path, &split_json)?,
        output::stage_bytes(&json_path, &json)?,
        output::stage(&parquet_path, |file| output::write_parquet(file, &batch))?,
    ])?;
    Ok((json_path, parquet_path))
}

/// The long-format per-perturbation table.
pub fn per_perturbation_batch(card: &Scorecard) -> Result<RecordBatch, arrow_schema::ArrowError> {
    // Every metric of any row, in order of first appearance (the ceiling row lacks the metrics it
    // has no estimator for: null there).
    let mut metric_names: Vec<String> = Vec::new();
    for m in card.rows.iter().flat_map(|r| &r.metrics) {
        if !metric_names.contains(&m.metric) {
            metric_names.push(m.metric.clone());
        }
    }
    let (mut row, mut kind, mut pert, mut subgroup, mut n_truth) = (vec![], vec![], vec![], vec![], vec![]);
    let mut values: Vec<Vec<Option<f64>>> = vec![Vec::new(); metric_names.len()];
    for r in &card.rows {
        let kind_name = r.kind.as_str().to_string();
        let columns: Vec<Option<usize>> =
            metric_names.iter().map(|name| r.metrics.iter().position(|m| &m.metric == name)).collect();
        for p in &r.per_perturbation {
            row.push(r.name.clone());
            kind.push(kind_name.clone());
            pert.push(p.perturbation.clone());
            subgroup.push(p.subgroup.name().to_string());
            n_truth.push(p.n_truth as u64);
            for (k, column) in columns.iter().enumerate() {
                values[k].push(column.and_then(|c| p.values.get(c).copied().flatten()));
            }
        }
    }
    let mut fields = vec![
        Field::new("row", DataType::Utf8, false),
        Field::new("kind", DataType::Utf8, false),
        Field::new("perturbation", DataType::Utf8, false),
        Field::new("subgroup", DataType::Utf8, false),
        Field::new("n_truth", DataType::UInt64, false),
    ];
    let mut columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(row)),
        Arc::new(StringArray::from(kind)),
        Arc::new(StringArray::from(pert)),
        Arc::new(StringArray::from(subgroup)),
        Arc::new(UInt64Array::from(n_truth)),
    ];
    for (name, v) in metric_names.iter().zip(values) {
        fields.push(Field::new(name, DataType::Float64, true));
        columns.push(Arc::new(Float64Array::from(v)));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns)
}
