//! Writes the outputs of `arena score` into the output directory: results, agg_results,
//! real_de and pred_de as CSV (cell-eval's file names) and Parquet, and the score-side audit as
//! audit.csv and audit.json, all files in parallel, as one set of `data::output` (all in place or
//! none).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::ScoreOutput;
use super::error::ScoreError;
use arena_data::output::{self, Staged, write_parquet};

/// Writes one output file into an open temporary file.
type WriteJob<'a> = Box<dyn Fn(&mut File) -> std::io::Result<()> + Sync + 'a>;

fn write_text(file: &mut File, text: &str) -> std::io::Result<()> {
    file.write_all(text.as_bytes())
}

/// Writes every output file into `dir` (created if missing), all in parallel; returns the paths
/// written.
pub fn write_outputs(out: &ScoreOutput, dir: &Path) -> Result<Vec<PathBuf>, ScoreError> {
    let mut jobs: Vec<(String, WriteJob)> = Vec::new();
    for (stem, table) in [("results", &out.results), ("agg_results", &out.agg)] {
        jobs.push((format!("{stem}.csv"), Box::new(move |file| write_text(file, &table.to_csv()))));
        jobs.push((
            format!("{stem}.parquet"),
            Box::new(move |file| write_parquet(file, &table.to_batch().map_err(std::io::Error::other)?)),
        ));
    }
    jobs.push(("audit.csv".into(), Box::new(|file| write_text(file, &out.audit.to_csv()))));
    jobs.push(("audit.json".into(), Box::new(|file| write_text(file, &out.audit.to_json()))));
    for (stem, de) in [("real_de", &out.real_de), ("pred_de", &out.pred_de)] {
        let Some(de) = de else { continue };
        jobs.push((
            format!("{stem}.csv"),
            Box::new(move |file| {
                let mut w = BufWriter::with_capacity(1 << 20, file);
                de.write_csv(&out.perts, &out.genes, &mut w)?;
                w.into_inner().map(drop).map_err(|e| e.into_error())
            }),
        ));
        jobs.push((format!("{stem}.parquet"), Box::new(move |file| de.write_parquet(&out.perts, &out.genes, file))));
    }
    let staged = jobs
        .par_iter()
        .map(|(name, job)| output::stage(&dir.join(name), |file| job(file)))
        .collect::<Result<Vec<Staged>, _>>()?;
    Ok(output::commit(staged)?)
}
