//! A dataset's cells read a perturbation group at a time from the file's grouped store
//! ([`GroupedStore`]) instead of held whole: [`StoredGroups`] is the `tasks::RowSource` behind an
//! `Expression::Stored`. Each group is read as the loader would hold it (repeated column ids in a
//! row summed, counts normalised row by row), so every mean, row and subset equals the in-memory
//! dataset's bit for bit. The groups that hold control cells stay in memory once read; of the
//! others, the two read last are kept. Opening reads every group once, one at a time, to learn
//! whether X holds counts and to find the first value that is not finite.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};

use metrics::de::CsrMatrix;
use tasks::RowSource;

use super::expression::sum_repeated_columns;
use crate::grouped::GroupedStore;
use crate::{DataError, normalize_total_log1p_rows};

/// Groups other than the resident ones kept after a read.
const RECENT: usize = 2;

/// Rows of a dataset served from a grouped store.
#[derive(Debug)]
pub struct StoredGroups {
    store: GroupedStore,
    n_cols: usize,
    /// For each dataset row: its group (row group of the store) and its place among the group's cells.
    place: Vec<(u32, u32)>,
    counts: bool,
    /// Groups kept once read (those holding control cells).
    resident: Vec<bool>,
    first_non_finite: Option<(usize, usize, f32)>,
    cache: Mutex<Cache>,
}

#[derive(Debug, Default)]
struct Cache {
    held: HashMap<u32, Arc<CsrMatrix>>,
    /// Non-resident groups held, least recently read first.
    recent: Vec<u32>,
    cells: usize,
    peak_cells: usize,
}

impl StoredGroups {
    /// The rows `rows` (dataset row i is row `rows[i]` of the source file, ascending) of the
    /// `.h5ad` at `source` (sha256 `sha256`), whose cells `labels` (one per file row, from obs
    /// `column`) label, served from its grouped store under `cache` (built now when missing).
    /// The groups holding a row in `resident` stay in memory once read.
    pub fn open(
        source: &Path,
        sha256: &str,
        column: &str,
        labels: &[String],
        rows: &[usize],
        resident: &[usize],
        cache: &Path,
    ) -> Result<StoredGroups, DataError> {
        let store = GroupedStore::open_or_build(source, sha256, column, labels, cache)?;
        let index: HashMap<&str, u32> =
            store.manifest.groups.iter().enumerate().map(|(g, group)| (group.label.as_str(), g as u32)).collect();
        let mut seen = vec![0u32; store.manifest.groups.len()];
        let file_place: Vec<(u32, u32)> = labels
            .iter()
            .map(|label| {
                let g = index[label.as_str()];
                seen[g as usize] += 1;
                (g, seen[g as usize] - 1)
            })
            .collect();
        let place: Vec<(u32, u32)> = rows.iter().map(|&r| file_place[r]).collect();
        let mut keep = vec![false; seen.len()];
        resident.iter().for_each(|&r| keep[place[r].0 as usize] = true);
        let mut stored = StoredGroups {
            n_cols: store.manifest.shape.1,
            store,
            place,
            counts: true,
            resident: keep,
            first_non_finite: None,
            cache: Mutex::new(Cache::default()),
        };
        stored.survey(rows)?;
        Ok(stored)
    }

    /// One pass over the groups: whether every stored value is a count (as `looks_like_counts`
    /// decides for the whole X) and, when not, the first value of a dataset row that is not finite.
    fn survey(&mut self, rows: &[usize]) -> Result<(), DataError> {
        let is_count = |x: &f32| x.is_finite() && *x >= 0.0 && x.fract() == 0.0;
        let mut first: Option<(usize, usize, usize, f32)> = None;
        for g in 0..self.resident.len() {
            let (source_rows, m) = self.raw(g)?;
            self.counts &= m.data.iter().all(is_count);
            for (i, &f) in source_rows.iter().enumerate() {
                let Ok(row) = rows.binary_search(&f) else { continue };
                let range = m.indptr[i] as usize..m.indptr[i + 1] as usize;
                if let Some(k) = range.clone().find(|&k| !m.data[k].is_finite()) {
                    let candidate = (row, k - range.start, m.indices[k] as usize, m.data[k]);
                    if first.is_none_or(|f| (candidate.0, candidate.1) < (f.0, f.1)) {
                        first = Some(candidate);
                    }
                    break;
                }
            }
        }
        self.first_non_finite = first.map(|(row, _, col, value)| (row, col, value));
        Ok(())
    }

    /// Group `g` as stored (repeated column ids summed), with the source row of each cell.
    fn raw(&self, g: usize) -> Result<(Vec<usize>, CsrMatrix), DataError> {
        let label = self.store.manifest.groups[g].label.as_str();
        let (source_rows, x) = self.store.read(&[label])?;
        let mut m =
            CsrMatrix { n_rows: x.shape.0, n_cols: x.shape.1, indptr: x.indptr, indices: x.indices, data: x.data };
        sum_repeated_columns(&mut m);
        Ok((source_rows, m))
    }

    /// Group `g` as the dataset holds it: from memory when held, else read (and kept).
    fn group(&self, g: u32) -> Arc<CsrMatrix> {
        let mut cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(m) = cache.held.get(&g).cloned() {
            if let Some(i) = cache.recent.iter().position(|&r| r == g) {
                cache.recent.remove(i);
                cache.recent.push(g);
            }
            return m;
        }
        let (_, mut m) = self.raw(g as usize).unwrap_or_else(|e| panic!("{e}"));
        if self.counts {
            normalize_total_log1p_rows(&m.indptr, &mut m.data, 1e4);
        }
        let m = Arc::new(m);
        if !self.resident[g as usize] {
            cache.recent.push(g);
            if cache.recent.len() > RECENT {
                let old = cache.recent.remove(0);
                if let Some(gone) = cache.held.remove(&old) {
                    cache.cells -= gone.n_rows;
                }
            }
        }
        cache.cells += m.n_rows;
        cache.peak_cells = cache.peak_cells.max(cache.cells);
        cache.held.insert(g, m.clone());
        m
    }
}

impl RowSource for StoredGroups {
    fn shape(&self) -> (usize, usize) {
        (self.place.len(), self.n_cols)
    }

    fn rows(&self, rows: &[usize]) -> (Arc<CsrMatrix>, Vec<usize>) {
        let first = rows.first().map(|&r| self.place[r].0);
        if rows.iter().all(|&r| Some(self.place[r].0) == first) {
            let m = first.map(|g| self.group(g)).unwrap_or_else(|| Arc::new(CsrMatrix::empty(self.n_cols)));
            return (m, rows.iter().map(|&r| self.place[r].1 as usize).collect());
        }
        // Several groups: each read in turn, its rows copied out, so one group is read at a time.
        let mut out: Vec<(Vec<u32>, Vec<f32>)> = vec![(Vec::new(), Vec::new()); rows.len()];
        let mut groups: Vec<u32> = rows.iter().map(|&r| self.place[r].0).collect();
        groups.sort_unstable();
        groups.dedup();
        for g in groups {
            let m = self.group(g);
            for (i, &r) in rows.iter().enumerate() {
                let (rg, at) = self.place[r];
                if rg == g {
                    let range = m.indptr[at as usize] as usize..m.indptr[at as usize + 1] as usize;
                    out[i] = (m.indices[range.clone()].to_vec(), m.data[range].to_vec());
                }
            }
        }
        let mut m = CsrMatrix::empty(self.n_cols);
        for (indices, data) in out {
            m.indices.extend(indices);
            m.data.extend(data);
            m.indptr.push(m.data.len() as u64);
            m.n_rows += 1;
        }
        (Arc::new(m), (0..rows.len()).collect())
    }

    fn first_non_finite(&self) -> Option<(usize, usize, f32)> {
        self.first_non_finite
    }

    fn bytes(&self) -> usize {
        let cache = self.cache.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        cache.held.values().map(|m| m.data.len() * 8 + m.indptr.len() * 8).sum::<usize>() + self.place.len() * 8
    }

    fn peak_cells(&self) -> usize {
        self.cache.lock().map(|c| c.peak_cells).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{AnnDataSpec, dataset_from_h5ad};
    use crate::{AnnData, Column, Frame, Matrix, SparseMatrix, read_head};
    use ndarray::Array2;
    use std::path::PathBuf;
    use tasks::Direction;

    /// 40 cells x 6 genes of log-normalised (non-count) values, labels scattered (controls every
    /// fourth cell); `nan`: rows whose gene 2 is NaN.
    fn write(dir: &Path, nan: &[usize]) -> PathBuf {
        let x = Array2::from_shape_fn((40, 6), |(i, j)| match (nan.contains(&i) && j == 2, (i * 6 + j) % 3) {
            (true, _) => f32::NAN,
            (false, 0) => 0.0,
            (false, v) => 0.25 * (v + i % 5) as f32,
        });
        let labels: Vec<String> =
            (0..40).map(|i| if i % 4 == 0 { "ctrl".into() } else { format!("G{}", i % 3) }).collect();
        let frame = |n: usize, p: &str, columns| Frame {
            index_name: "_index".into(),
            index: (0..n).map(|i| format!("{p}{i}")).collect(),
            columns,
        };
        let adata = AnnData {
            x: Matrix::Csr(SparseMatrix::csr_from_dense(x.view())),
            obs: frame(40, "c", vec![("perturbation".into(), Column::Strings(labels))]),
            var: frame(6, "G", vec![]),
            layers: vec![],
            obsm: vec![],
            uns_strings: vec![],
        };
        let path = dir.join(format!("screen-{}.h5ad", nan.len()));
        crate::write_h5ad(&path, &adata).unwrap();
        path
    }

    fn load(path: &Path, cache: Option<&Path>) -> Result<tasks::Dataset, DataError> {
        let spec = AnnDataSpec {
            id: "screen".into(),
            sha256: crate::sha256_file(path)?,
            perturbation_column: "perturbation".into(),
            control_labels: vec!["ctrl".into()],
            direction: Direction::Knockdown,
            guides: Default::default(),
            grouped_cache: cache.map(Path::to_path_buf),
            drug: None,
            row_filter: None,
        };
        dataset_from_h5ad(path, &read_head(path)?, &spec).map(|(d, _)| d)
    }

    #[test]
    fn values_that_are_not_counts_are_served_as_stored_and_a_nan_is_named_as_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let path = write(dir.path(), &[]);
        let (whole, stored) = (load(&path, None).unwrap(), load(&path, Some(&cache)).unwrap());
        assert!(matches!(stored.expression(), tasks::Expression::Stored(_)));
        let all: Vec<usize> = (0..40).collect();
        assert_eq!(stored.select_rows(&all), whole.select_rows(&all));
        assert_eq!(stored.row_conditions(), whole.row_conditions());
        // Rows of several groups at once, out of order, and the peak: all 40 cells were asked for.
        let mixed = [7, 0, 13, 2, 2];
        assert_eq!(stored.select_rows(&mixed), whole.select_rows(&mixed));
        let tasks::Expression::Stored(source) = stored.expression() else { unreachable!() };
        assert!(source.0.peak_cells() <= 10 + 2 * 10, "{}", source.0.peak_cells());
        let path = write(dir.path(), &[17, 9]);
        let (a, b) = (load(&path, None).unwrap_err().to_string(), load(&path, Some(&cache)).unwrap_err().to_string());
        assert!(a.contains("X[9, 2]") && a.contains("'G2'"), "{a}");
        assert_eq!(a, b);
    }
}
