//! Writes the outputs of `arena score` into the output directory: results, agg_results,
//! real_de and pred_de as CSV (cell-eval's file names) and Parquet. Every file is written to a
//! temporary name first and renamed into place only when all of them succeeded, so a failure
//! leaves no partial output.

use std::io::BufWriter;
use std::path::{Path, PathBuf};

use tempfile::NamedTempFile;

use super::ScoreOutput;
use super::error::ScoreError;
use super::table::{write_parquet, write_text};

/// Writes every output file into `dir` (created if missing); returns the paths written.
pub fn write_outputs(out: &ScoreOutput, dir: &Path) -> Result<Vec<PathBuf>, ScoreError> {
    let fail = |path: &Path, reason: String| ScoreError::Write { path: path.to_path_buf(), reason };
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, format!("{e}; choose another --outdir")))?;
    let mut pending: Vec<(NamedTempFile, PathBuf)> = Vec::new();
    let tmp = |name: &str| -> Result<(NamedTempFile, PathBuf), ScoreError> {
        let t = NamedTempFile::new_in(dir).map_err(|e| fail(dir, e.to_string()))?;
        Ok((t, dir.join(name)))
    };
    for (stem, table) in [("results", &out.results), ("agg_results", &out.agg)] {
        let (t, path) = tmp(&format!("{stem}.csv"))?;
        let file = t.reopen().map_err(|e| fail(&path, e.to_string()))?;
        write_text(file, &table.to_csv()).map_err(|e| fail(&path, e))?;
        pending.push((t, path));
        let (t, path) = tmp(&format!("{stem}.parquet"))?;
        let batch = table.to_batch().map_err(|e| fail(&path, e))?;
        let file = t.reopen().map_err(|e| fail(&path, e.to_string()))?;
        write_parquet(file, &batch).map_err(|e| fail(&path, e))?;
        pending.push((t, path));
    }
    for (stem, de) in [("real_de", &out.real_de), ("pred_de", &out.pred_de)] {
        let Some(de) = de else { continue };
        let (t, path) = tmp(&format!("{stem}.csv"))?;
        let file = t.reopen().map_err(|e| fail(&path, e.to_string()))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        de.write_csv(&out.perts, &out.genes, &mut w).map_err(|e| fail(&path, e.to_string()))?;
        w.into_inner().map_err(|e| fail(&path, e.to_string()))?;
        pending.push((t, path));
        let (t, path) = tmp(&format!("{stem}.parquet"))?;
        let file = t.reopen().map_err(|e| fail(&path, e.to_string()))?;
        de.write_parquet(&out.perts, &out.genes, file).map_err(|e| fail(&path, e))?;
        pending.push((t, path));
    }
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
