//! The perturbation-grouped store of an `.h5ad`'s X: one Parquet file (`cells.parquet`) with one
//! row group per label (labels sorted by code point), each row a cell (`row`: its row in the
//! source, `indices`/`values`: its stored genes and values), and `manifest.json` (format, the
//! source's path and sha256, the labelling column, the shape, each group's label and cells). A
//! scorer that needs the cells of a few labels reads their row groups instead of the source rows
//! scattered through the file. It is built in one pass over the source (X in row blocks): cells
//! go to per-label buffers, which are spilled as sorted runs (temporary Parquet files, one row
//! group per label present) whenever they hold [`SPILL_VALUES`] stored values; then each label's
//! pieces, in source order, become its row group. Memory holds one block, the buffers and the
//! largest group. The store lives in a cache folder keyed by the source's sha256 and the column,
//! appears only when complete (a temporary folder renamed into place), and is reused by later runs
//! whose manifest matches.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{Float32Builder, ListBuilder, UInt32Builder};
use arrow_array::{Array, ArrayRef, Float32Array, ListArray, RecordBatch, UInt32Array, UInt64Array};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::{ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder};
use parquet::file::properties::WriterProperties;
use serde::{Deserialize, Serialize};

use crate::{DataError, SparseMatrix, for_each_x_block};

/// Stored values buffered before they are spilled as a run (16 M: 128 MiB with their indices).
pub const SPILL_VALUES: usize = 1 << 24;

const FORMAT: u32 = 1;

/// What a store holds, written beside its cells.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    pub source: PathBuf,
    pub source_sha256: String,
    pub column: String,
    /// (cells, genes) of the source's X.
    pub shape: (usize, usize),
    /// The groups in row-group order (labels sorted by code point).
    pub groups: Vec<StoreGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreGroup {
    pub label: String,
    pub cells: usize,
    pub values: u64,
}

/// A built store.
#[derive(Debug, Clone)]
pub struct GroupedStore {
    pub dir: PathBuf,
    pub manifest: Manifest,
}

/// The cells of some groups, in source order: rows (cells) and their stored values.
struct Cells {
    rows: Vec<u64>,
    indptr: Vec<u64>,
    indices: Vec<u32>,
    data: Vec<f32>,
}

impl Cells {
    fn new() -> Self {
        Cells { rows: Vec::new(), indptr: vec![0], indices: Vec::new(), data: Vec::new() }
    }

    fn push(&mut self, row: u64, indices: &[u32], data: &[f32]) {
        self.rows.push(row);
        self.indices.extend_from_slice(indices);
        self.data.extend_from_slice(data);
        self.indptr.push(self.data.len() as u64);
    }

    fn append(&mut self, other: Cells) {
        for i in 0..other.rows.len() {
            let (lo, hi) = (other.indptr[i] as usize, other.indptr[i + 1] as usize);
            self.push(other.rows[i], &other.indices[lo..hi], &other.data[lo..hi]);
        }
    }

    fn batch(&self) -> Result<RecordBatch, String> {
        let (mut indices, mut values) =
            (ListBuilder::new(UInt32Builder::new()), ListBuilder::new(Float32Builder::new()));
        for w in self.indptr.windows(2) {
            let (lo, hi) = (w[0] as usize, w[1] as usize);
            indices.values().append_slice(&self.indices[lo..hi]);
            indices.append(true);
            values.values().append_slice(&self.data[lo..hi]);
            values.append(true);
        }
        let columns: Vec<(&str, ArrayRef)> = vec![
            ("row", Arc::new(UInt64Array::from(self.rows.clone()))),
            ("indices", Arc::new(indices.finish())),
            ("values", Arc::new(values.finish())),
        ];
        RecordBatch::try_from_iter(columns).map_err(|e| e.to_string())
    }

    fn extend_from(&mut self, batch: &RecordBatch) -> Result<(), String> {
        let column = |name: &str| batch.column_by_name(name).ok_or_else(|| format!("no column '{name}'"));
        let rows = column("row")?.as_any().downcast_ref::<UInt64Array>().ok_or("'row' is not uint64")?;
        let lists = |name: &str| -> Result<ListArray, String> {
            column(name)?.as_any().downcast_ref::<ListArray>().cloned().ok_or_else(|| format!("'{name}' is not a list"))
        };
        let (indices, values) = (lists("indices")?, lists("values")?);
        for i in 0..rows.len() {
            let idx = indices.value(i);
            let idx = idx.as_any().downcast_ref::<UInt32Array>().ok_or("'indices' holds no uint32")?;
            let val = values.value(i);
            let val = val.as_any().downcast_ref::<Float32Array>().ok_or("'values' holds no float32")?;
            if idx.len() != val.len() {
                return Err(format!("cell {} has {} indices and {} values", rows.value(i), idx.len(), val.len()));
            }
            self.push(rows.value(i), idx.values(), val.values());
        }
        Ok(())
    }
}

/// A Parquet file written one row group per label (empty labels get none).
struct GroupWriter {
    file: Option<File>,
    writer: Option<ArrowWriter<File>>,
    next: usize,
}

impl GroupWriter {
    fn create(path: &Path) -> Result<Self, String> {
        Ok(GroupWriter { file: Some(File::create(path).map_err(|e| e.to_string())?), writer: None, next: 0 })
    }

    /// Writes `cells` as a row group of its own; returns its index (`None` for no cells).
    fn add(&mut self, cells: &Cells) -> Result<Option<usize>, String> {
        if cells.rows.is_empty() {
            return Ok(None);
        }
        let batch = cells.batch()?;
        if self.writer.is_none() {
            let file = self.file.take().ok_or("the file is gone")?;
            let props =
                WriterProperties::builder().set_max_row_group_row_count(None).set_max_row_group_bytes(None).build();
            self.writer = Some(ArrowWriter::try_new(file, batch.schema(), Some(props)).map_err(|e| e.to_string())?);
        }
        let writer = self.writer.as_mut().ok_or("no writer")?;
        writer.write(&batch).map_err(|e| e.to_string())?;
        writer.flush().map_err(|e| e.to_string())?;
        self.next += 1;
        Ok(Some(self.next - 1))
    }

    fn finish(self) -> Result<(), String> {
        match self.writer {
            Some(w) => w.close().map(|_| ()).map_err(|e| e.to_string()),
            None => Ok(()),
        }
    }
}

/// A Parquet file of cells opened once, its footer parsed once, read a few row groups at a time.
struct GroupReader {
    file: File,
    metadata: ArrowReaderMetadata,
}

impl GroupReader {
    fn open(path: &Path) -> Result<Self, String> {
        let file = File::open(path).map_err(|e| e.to_string())?;
        let metadata = ArrowReaderMetadata::load(&file, ArrowReaderOptions::default()).map_err(|e| e.to_string())?;
        Ok(GroupReader { file, metadata })
    }

    /// The cells of row groups `groups`, in that order.
    fn read(&self, groups: Vec<usize>) -> Result<Cells, String> {
        let mut cells = Cells::new();
        if groups.is_empty() {
            return Ok(cells);
        }
        let file = self.file.try_clone().map_err(|e| e.to_string())?;
        let reader = ParquetRecordBatchReaderBuilder::new_with_metadata(file, self.metadata.clone())
            .with_row_groups(groups)
            .with_batch_size(8192)
            .build()
            .map_err(|e| e.to_string())?;
        for batch in reader {
            cells.extend_from(&batch.map_err(|e| e.to_string())?)?;
        }
        Ok(cells)
    }
}

/// Where the store of the file with sha256 `sha256`, grouped by obs `column`, lives in `cache`.
fn store_dir(sha256: &str, column: &str, cache: &Path) -> PathBuf {
    let key: String = column.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    cache.join(format!("{}-{key}", &sha256[..sha256.len().min(32)]))
}

impl GroupedStore {
    /// The store already in `cache` of the file with sha256 `sha256` grouped by `labels` (one
    /// per cell, from obs `column`), when its manifest matches them.
    pub fn open(sha256: &str, column: &str, labels: &[String], cache: &Path) -> Option<GroupedStore> {
        let dir = store_dir(sha256, column, cache);
        let manifest: Manifest =
            serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).ok()?).ok()?;
        let distinct: std::collections::BTreeSet<&str> = labels.iter().map(String::as_str).collect();
        let matches = manifest.format == FORMAT
            && manifest.source_sha256 == sha256
            && manifest.column == column
            && manifest.shape.0 == labels.len()
            && manifest.groups.iter().map(|g| g.label.as_str()).eq(distinct);
        matches.then_some(GroupedStore { dir, manifest })
    }

    /// The store of `source` (sha256 `sha256`) grouped by `labels` (one per cell, read from obs
    /// `column`), under `cache`: the one there when its manifest matches, else built now (a
    /// progress bar on a terminal follows the pass over the source).
    pub fn open_or_build(
        source: &Path,
        sha256: &str,
        column: &str,
        labels: &[String],
        cache: &Path,
    ) -> Result<GroupedStore, DataError> {
        Self::open_or_build_spilling_at(source, sha256, column, labels, cache, SPILL_VALUES)
    }

    /// [`Self::open_or_build`], spilling runs at `spill_values` buffered values.
    fn open_or_build_spilling_at(
        source: &Path,
        sha256: &str,
        column: &str,
        labels: &[String],
        cache: &Path,
        spill_values: usize,
    ) -> Result<GroupedStore, DataError> {
        let fail = |reason: String| DataError::Other(format!("grouped store of {}: {reason}", source.display()));
        if let Some(store) = Self::open(sha256, column, labels, cache) {
            return Ok(store);
        }
        let dir = store_dir(sha256, column, cache);
        let mut ids: BTreeMap<&str, usize> = labels.iter().map(|l| (l.as_str(), 0)).collect();
        ids.values_mut().enumerate().for_each(|(i, id)| *id = i);
        std::fs::create_dir_all(cache).map_err(|e| fail(format!("cannot create {}: {e}", cache.display())))?;
        let temp = tempfile::Builder::new()
            .prefix(".grouped-")
            .tempdir_in(cache)
            .map_err(|e| fail(format!("cannot create a folder in {}: {e}", cache.display())))?;
        let group_of: Vec<usize> = labels.iter().map(|l| ids[l.as_str()]).collect();
        let mut buffers: Vec<Cells> = (0..ids.len()).map(|_| Cells::new()).collect();
        let (mut buffered, mut runs, mut n_vars) = (0usize, Vec::<(PathBuf, Vec<Option<usize>>)>::new(), 0);
        let spill = |buffers: &mut Vec<Cells>, runs: &mut Vec<(PathBuf, Vec<Option<usize>>)>| {
            let path = temp.path().join(format!("run-{}.parquet", runs.len()));
            let mut writer = GroupWriter::create(&path).map_err(|e| fail(format!("writing a run: {e}")))?;
            let at = buffers.iter().map(|b| writer.add(b)).collect::<Result<Vec<_>, _>>();
            let at = at.and_then(|at| writer.finish().map(|_| at)).map_err(|e| fail(format!("writing a run: {e}")))?;
            buffers.iter_mut().for_each(|b| *b = Cells::new());
            runs.push((path, at));
            Ok::<(), DataError>(())
        };
        let bar = crate::progress::stderr_bar(
            Some(labels.len() as u64),
            "grouping {msg} by label [{bar:30}] {pos}/{len} cells ({eta})",
        );
        bar.set_message(source.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
        for_each_x_block(source, spill_values.div_ceil(4), |first, block| {
            n_vars = block.shape.1;
            for r in 0..block.shape.0 {
                let (lo, hi) = (block.indptr[r] as usize, block.indptr[r + 1] as usize);
                let row = first + r;
                let label = group_of
                    .get(row)
                    .ok_or_else(|| fail(format!("X has more rows than the {} labels", labels.len())))?;
                buffers[*label].push(row as u64, &block.indices[lo..hi], &block.data[lo..hi]);
                buffered += hi - lo;
            }
            bar.set_position((first + block.shape.0) as u64);
            if buffered >= spill_values {
                spill(&mut buffers, &mut runs)?;
                buffered = 0;
            }
            Ok(())
        })?;
        // Each label's pieces, in source order: its row group of every run, then its buffer.
        let cells_path = temp.path().join("cells.parquet");
        let writing = |e: String| fail(format!("writing {}: {e}", cells_path.display()));
        let mut writer = GroupWriter::create(&cells_path).map_err(writing)?;
        let mut groups = Vec::with_capacity(ids.len());
        let readers = runs
            .iter()
            .map(|(path, at)| GroupReader::open(path).map(|r| (r, at)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| fail(format!("reading a run: {e}")))?;
        for (g, (label, rest)) in ids.keys().zip(buffers).enumerate() {
            let mut cells = Cells::new();
            for (reader, at) in &readers {
                if let Some(i) = at[g] {
                    cells.append(reader.read(vec![i]).map_err(|e| fail(format!("reading a run: {e}")))?);
                }
            }
            cells.append(rest);
            writer.add(&cells).map_err(writing)?;
            groups.push(StoreGroup {
                label: label.to_string(),
                cells: cells.rows.len(),
                values: cells.data.len() as u64,
            });
        }
        writer.finish().map_err(writing)?;
        bar.finish_and_clear();
        for (path, _) in &runs {
            std::fs::remove_file(path).ok();
        }
        let manifest = Manifest {
            format: FORMAT,
            source: source.to_path_buf(),
            source_sha256: sha256.to_string(),
            column: column.to_string(),
            shape: (labels.len(), n_vars),
            groups,
        };
        let text = serde_json::to_string_pretty(&manifest).map_err(|e| fail(e.to_string()))?;
        std::fs::write(temp.path().join("manifest.json"), text).map_err(|e| fail(e.to_string()))?;
        let built = temp.keep();
        if std::fs::rename(&built, &dir).is_err() {
            // Another run put a store there first, or an old one is in the way.
            std::fs::remove_dir_all(&dir).ok();
            std::fs::rename(&built, &dir).map_err(|e| fail(format!("cannot move it to {}: {e}", dir.display())))?;
        }
        Ok(GroupedStore { dir, manifest })
    }

    /// The cells of the labels `labels`, in source order, as CSR, with their source rows.
    pub fn read(&self, labels: &[&str]) -> Result<(Vec<usize>, SparseMatrix), DataError> {
        let mut groups: Vec<usize> = Vec::with_capacity(labels.len());
        for label in labels {
            let g = self.manifest.groups.iter().position(|g| g.label == *label).ok_or_else(|| {
                DataError::Other(format!("the grouped store {} has no label '{label}'", self.dir.display()))
            })?;
            groups.push(g);
        }
        groups.sort_unstable();
        let path = self.dir.join("cells.parquet");
        let cells = GroupReader::open(&path).and_then(|r| r.read(groups)).map_err(|e| {
            DataError::Other(format!("reading {}: {e}; delete the folder to rebuild it", path.display()))
        })?;
        // Row groups are in label order; the caller wants source order.
        let mut order: Vec<usize> = (0..cells.rows.len()).collect();
        order.sort_unstable_by_key(|&i| cells.rows[i]);
        let rows = order.iter().map(|&i| cells.rows[i] as usize).collect();
        let x = SparseMatrix {
            shape: (cells.rows.len(), self.manifest.shape.1),
            data: cells.data,
            indices: cells.indices,
            indptr: cells.indptr,
        };
        Ok((rows, x.select_rows(&order)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AnnData, Frame, Matrix};
    use ndarray::Array2;

    /// 60 cells x 9 genes, about half stored, labels scattered through the file (controls every
    /// third cell).
    fn screen(dir: &Path) -> (PathBuf, Array2<f32>, Vec<String>) {
        let x = Array2::from_shape_fn((60, 9), |(i, j)| match (i * 9 + j) * 7 % 11 {
            v if v < 5 => 0.0,
            v => (v + i) as f32,
        });
        let labels: Vec<String> =
            (0..60).map(|i| if i % 3 == 0 { "ctrl".into() } else { format!("P{}", i * 7 % 5) }).collect();
        let frame = |n: usize, p: &str| Frame {
            index_name: "_index".into(),
            index: (0..n).map(|i| format!("{p}{i}")).collect(),
            columns: vec![],
        };
        let adata = AnnData {
            x: Matrix::Csr(SparseMatrix::csr_from_dense(x.view())),
            obs: frame(60, "c"),
            var: frame(9, "g"),
            layers: vec![],
            obsm: vec![],
            uns_strings: vec![],
        };
        let path = dir.join("screen.h5ad");
        crate::write_h5ad(&path, &adata).unwrap();
        (path, x, labels)
    }

    #[test]
    fn groups_read_back_are_the_source_rows_whatever_the_spills_and_the_store_is_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (path, x, labels) = screen(dir.path());
        for spill in [1, 7, 40, SPILL_VALUES] {
            let cache = dir.path().join(format!("cache-{spill}"));
            let store =
                GroupedStore::open_or_build_spilling_at(&path, "abc123", "target", &labels, &cache, spill).unwrap();
            let names: Vec<&str> = store.manifest.groups.iter().map(|g| g.label.as_str()).collect();
            assert_eq!(names, ["P0", "P1", "P2", "P3", "P4", "ctrl"]);
            assert_eq!(store.manifest.groups.iter().map(|g| g.cells).sum::<usize>(), 60);
            for wanted in [&["ctrl"][..], &["P3", "ctrl"], &["P4", "P1", "P2"]] {
                let (rows, cells) = store.read(wanted).unwrap();
                let expected: Vec<usize> = (0..60).filter(|&r| wanted.contains(&labels[r].as_str())).collect();
                assert_eq!(rows, expected, "spill {spill}");
                assert_eq!(Matrix::Csr(cells).to_dense(), x.select(ndarray::Axis(0), &expected), "spill {spill}");
            }
            let err = store.read(&["P9"]).unwrap_err().to_string();
            assert!(err.contains("no label 'P9'"), "{err}");
            // Nothing but the store is left in the cache.
            let entries: Vec<_> = std::fs::read_dir(&cache).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(entries.len(), 1, "{entries:?}");
            let files: Vec<_> = std::fs::read_dir(&store.dir).unwrap().map(|e| e.unwrap().file_name()).collect();
            assert_eq!(files.len(), 2, "{files:?}");
        }
        // Reused: a second open does not read the source (gone now).
        let cache = dir.path().join("cache-7");
        std::fs::remove_file(&path).unwrap();
        let again = GroupedStore::open_or_build(&path, "abc123", "target", &labels, &cache).unwrap();
        assert_eq!(again.read(&["P2"]).unwrap().0, (0..60).filter(|&r| labels[r] == "P2").collect::<Vec<_>>());
        // Another source sha256 is not this store.
        assert!(GroupedStore::open_or_build(&path, "def456", "target", &labels, &cache).is_err());
    }
}
