//! Writes the outputs of `arena score` into the output directory: results, agg_results,
//! real_de and pred_de as CSV (cell-eval's file names) and Parquet, and the score-side audit as
//! audit.csv and audit.json, all files in parallel. Every
//! file is written to a temporary name first and renamed into place only when all of them
//! succeeded, so a failure leaves no partial output.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use tempfile::NamedTempFile;

use super::ScoreOutput;
use super::error::ScoreError;
use super::table::{write_parquet, write_text};

/// Writes one output file into an open temporary file.
type WriteJob<'a> = Box<dyn Fn(std::fs::File) -> Result<(), String> + Sync + 'a>;

/// Writes every output file into `dir` (created if missing), all in parallel; returns the paths
/// written.
pub fn write_outputs(out: &ScoreOutput, dir: &Path) -> Result<Vec<PathBuf>, ScoreError> {
    let fail = |path: &Path, reason: String| ScoreError::Write { path: path.to_path_buf(), reason };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, format!("{e}; choose another --outdir")))?;
    let mut jobs: Vec<(String, WriteJob)> = Vec::new();
    for (stem, table) in [("results", &out.results), ("agg_results", &out.agg)] {
        jobs.push((format!("{stem}.csv"), Box::new(move |file| write_text(file, &table.to_csv()))));
        jobs.push((format!("{stem}.parquet"), Box::new(move |file| write_parquet(file, &table.to_batch()?))));
    }
    jobs.push(("audit.csv".into(), Box::new(|file| write_text(file, &out.audit.to_csv()))));
    jobs.push(("audit.json".into(), Box::new(|file| write_text(file, &out.audit.to_json()))));
    for (stem, de) in [("real_de", &out.real_de), ("pred_de", &out.pred_de)] {
        let Some(de) = de else { continue };
        jobs.push((
            format!("{stem}.csv"),
            Box::new(move |file| {
                let mut w = BufWriter::with_capacity(1 << 20, file);
                de.write_csv(&out.perts, &out.genes, &mut w).map_err(|e| e.to_string())?;
                w.into_inner().map(drop).map_err(|e| e.to_string())
            }),
        ));
        jobs.push((format!("{stem}.parquet"), Box::new(move |file| de.write_parquet(&out.perts, &out.genes, file))));
    }
    let pending = jobs
        .par_iter()
        .map(|(name, job)| {
            let path = dir.join(name);
            let t = NamedTempFile::new_in(dir).map_err(|e| fail(dir, e.to_string()))?;
            let file = t.reopen().map_err(|e| fail(&path, e.to_string()))?;
            job(file).map_err(|e| fail(&path, e))?;
            Ok((t, path))
        })
        .collect::<Result<Vec<(NamedTempFile, PathBuf)>, ScoreError>>()?;
    let mut written = Vec::new();
    for (t, path) in pending {
        set_readable(t.path());
        t.persist(&path).map_err(|e| fail(&path, e.to_string()))?;
        written.push(path);
    }
    Ok(written)
}

/// Temporary files are created 0600; give the outputs the usual 0644.
fn set_readable(p: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o644));
    }
    #[cfg(not(unix))]
    let _ = p;
}
