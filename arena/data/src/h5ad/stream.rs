//! Writing an `.h5ad` whose X and sparse layers arrive a few rows at a time ([`H5adStream`]), so
//! a dataset larger than memory never exists whole: each CSR matrix's `data` and `indices` are
//! resizable chunked datasets that every block of rows is appended to, and `indptr`, obs, var,
//! obsm and uns are written by [`H5adStream::finish`]. The file reads back exactly as
//! [`write_h5ad`](super::write_h5ad) would have written the same AnnData (same values, dtypes,
//! shapes and encoding attributes; only the storage layout of `data`/`indices` is chunked rather
//! than contiguous, uncompressed either way). Like `write_h5ad` it writes a temporary file beside
//! the target and renames it into place only when finished; dropping an unfinished stream removes it.

use std::path::{Path, PathBuf};

use hdf5::{Dataset, Group, H5Type};
use tempfile::TempPath;

use super::write::{Annotations, H5, Writer, dict_group, set_encoding};
use crate::anndata::SparseMatrix;
use crate::error::DataError;

/// Elements per chunk of the appended datasets (1 MiB of f32 / i32: the last, partly filled chunk
/// of each of the four datasets is what a streamed file has beyond a contiguous one).
const CHUNK: usize = 1 << 18;
/// Elements copied at a time when `indices` is widened to int64.
const COPY: usize = 1 << 22;

/// An `.h5ad` being written row block by row block (see the module documentation).
pub struct H5adStream {
    path: PathBuf,
    tmp: TempPath,
    file: hdf5::File,
    n_vars: usize,
    n_obs: usize,
    /// X first, then the layers in the order given to [`H5adStream::create`].
    matrices: Vec<Appended>,
    /// Largest count or index stored as int32 (`i32::MAX`; smaller in tests of the widening).
    int32_max: usize,
}

/// One CSR matrix being appended to.
struct Appended {
    field: String,
    group: Group,
    data: Dataset,
    indices: Dataset,
    /// `indices` is int64 (it started int32 and outgrew it).
    wide: bool,
    indptr: Vec<u64>,
}

impl H5adStream {
    /// Starts a file of `n_vars` columns with a CSR X and the CSR layers named `layers`.
    ///
    /// Errors: [`DataError::Field`] for a bad layer name or an HDF5 failure, [`DataError::Write`]
    /// when the temporary file cannot be created.
    pub fn create(path: &Path, n_vars: usize, layers: &[&str]) -> Result<Self, DataError> {
        let w = Writer { path };
        w.check_names("layers", layers.iter().copied())?;
        let (tmp, file) = w.create_beside()?;
        w.at("/", || set_encoding(&file, "anndata", "0.1.0"))?;
        let mut matrices = vec![w.at("X", || Appended::create(&file, "X", "X"))?];
        let group = w.at("layers", || dict_group(&file, "layers"))?;
        for name in layers {
            let field = format!("layers/{name}");
            matrices.push(w.at(&field, || Appended::create(&group, name, &field))?);
        }
        Ok(H5adStream { path: path.to_path_buf(), tmp, file, n_vars, n_obs: 0, matrices, int32_max: i32::MAX as usize })
    }

    /// Rows written so far.
    pub fn n_obs(&self) -> usize {
        self.n_obs
    }

    /// Appends the same rows of X and of every layer (in the order of [`H5adStream::create`]).
    ///
    /// Errors: [`DataError::Field`] naming the matrix when a block is inconsistent (row count,
    /// column count, indptr, column indices) or cannot be written.
    pub fn append(&mut self, x: &SparseMatrix, layers: &[&SparseMatrix]) -> Result<(), DataError> {
        let w = Writer { path: &self.path };
        let blocks: Vec<&SparseMatrix> = std::iter::once(x).chain(layers.iter().copied()).collect();
        if blocks.len() != self.matrices.len() {
            return Err(w.err(
                "layers",
                format!("{} layers were given but the file was created with {}", layers.len(), self.matrices.len() - 1),
            ));
        }
        for (m, block) in self.matrices.iter().zip(&blocks) {
            if block.shape != (x.shape.0, self.n_vars) {
                return Err(w.err(
                    &m.field,
                    format!("block of shape {:?}, expected {:?}", block.shape, (x.shape.0, self.n_vars)),
                ));
            }
            w.check_sparse(&m.field, block, block.shape.0, block.shape.1)?;
        }
        let n_obs = self.n_obs + x.shape.0;
        for (m, block) in self.matrices.iter_mut().zip(blocks) {
            let field = m.field.clone();
            w.at(&field, || m.append(block, n_obs, self.n_vars, self.int32_max))?;
        }
        self.n_obs = n_obs;
        Ok(())
    }

    /// Writes the matrices' `indptr` and shape, then obs, var, obsm and uns, and moves the file
    /// into place. `annotations` must describe [`H5adStream::n_obs`] rows.
    ///
    /// Errors: as [`write_h5ad`](super::write_h5ad) for the annotations; [`DataError::Write`]
    /// when the file cannot be closed or moved into place.
    pub fn finish(self, annotations: &Annotations) -> Result<(), DataError> {
        let w = Writer { path: &self.path };
        let dims = (self.n_obs, self.n_vars);
        w.validate_annotations(annotations, dims)?;
        for m in &self.matrices {
            w.at(&m.field, || m.finish(dims, self.int32_max))?;
        }
        w.write_annotations(&self.file, annotations, dims)?;
        w.persist(self.tmp, self.file)
    }
}

/// A resizable 1-D chunked dataset of `T`, empty.
fn growable<T: H5Type>(g: &Group, name: &str) -> H5<Dataset> {
    g.new_dataset::<T>().chunk(CHUNK).shape(0..).create(name)
}

/// Appends `values` at the end of the 1-D dataset `ds`.
fn extend<T: H5Type>(ds: &Dataset, values: &[T]) -> H5<()> {
    let start = ds.size();
    ds.resize(start + values.len())?;
    ds.write_slice(values, start..start + values.len())
}

impl Appended {
    fn create(parent: &Group, name: &str, field: &str) -> H5<Self> {
        let group = parent.create_group(name)?;
        set_encoding(&group, "csr_matrix", "0.1.0")?;
        let data = growable::<f32>(&group, "data")?;
        let indices = growable::<i32>(&group, "indices")?;
        Ok(Appended { field: field.to_string(), group, data, indices, wide: false, indptr: vec![0] })
    }

    /// Appends a checked block; `n_obs` is the row count after it, `n_vars` the column count.
    fn append(&mut self, block: &SparseMatrix, n_obs: usize, n_vars: usize, int32_max: usize) -> H5<()> {
        let base = self.indptr[self.indptr.len() - 1];
        let nnz = base as usize + block.data.len();
        // int32 while everything fits, as write_h5ad (and scipy) choose for the whole matrix.
        if !self.wide && nnz.max(n_obs).max(n_vars) > int32_max {
            self.widen()?;
        }
        extend(&self.data, &block.data)?;
        if self.wide {
            extend(&self.indices, &block.indices.iter().map(|&i| i64::from(i)).collect::<Vec<_>>())?;
        } else {
            extend(&self.indices, &block.indices.iter().map(|&i| i as i32).collect::<Vec<_>>())?;
        }
        self.indptr.extend(block.indptr[1..].iter().map(|&p| base + p));
        Ok(())
    }

    /// Rewrites `indices` as int64 (the count of stored values no longer fits int32).
    fn widen(&mut self) -> H5<()> {
        let wide = growable::<i64>(&self.group, "indices_int64")?;
        let n = self.indices.size();
        for start in (0..n).step_by(COPY) {
            let end = (start + COPY).min(n);
            let part: Vec<i32> = self.indices.read_slice_1d(start..end)?.to_vec();
            extend(&wide, &part.iter().map(|&i| i64::from(i)).collect::<Vec<_>>())?;
        }
        self.group.unlink("indices")?;
        self.group.relink("indices_int64", "indices")?;
        self.indices = self.group.dataset("indices")?;
        self.wide = true;
        Ok(())
    }

    /// Writes `indptr` (int32 when everything fits, as write_h5ad) and the `shape` attribute.
    fn finish(&self, (n_obs, n_vars): (usize, usize), int32_max: usize) -> H5<()> {
        let shape = [n_obs as i64, n_vars as i64];
        self.group.new_attr_builder().with_data(&shape[..]).create("shape")?;
        let nnz = self.indptr[self.indptr.len() - 1] as usize;
        if !self.wide && nnz.max(n_obs).max(n_vars) <= int32_max {
            let indptr: Vec<i32> = self.indptr.iter().map(|&p| p as i32).collect();
            self.group.new_dataset_builder().with_data(&indptr).create("indptr")?;
        } else {
            let indptr: Vec<i64> = self.indptr.iter().map(|&p| p as i64).collect();
            self.group.new_dataset_builder().with_data(&indptr).create("indptr")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anndata::{AnnData, Column, Frame, Matrix};
    use crate::h5ad::{read_h5ad, write_h5ad};
    use ndarray::arr2;

    /// 5 cells x 4 genes: X and a `counts` layer (row 1 empty), one obsm matrix, uns strings.
    fn sample() -> AnnData {
        let counts = SparseMatrix {
            shape: (5, 4),
            data: vec![1.0, 2.0, 5.0, 3.0, 7.0, 1.0, 4.0],
            indices: vec![0, 3, 1, 2, 0, 3, 2],
            indptr: vec![0, 2, 2, 4, 6, 7],
        };
        let x = SparseMatrix { data: counts.data.iter().map(|v| v * 0.5).collect(), ..counts.clone() };
        let obs = Frame {
            index_name: "_index".into(),
            index: (0..5).map(|i| format!("c{i}")).collect(),
            columns: vec![(
                "label".into(),
                Column::Categorical { codes: vec![0, 1, 0, 1, 1], categories: vec!["a".into(), "b".into()] },
            )],
        };
        let var = Frame {
            index_name: "_index".into(),
            index: ["A", "B", "C", "D"].map(String::from).to_vec(),
            columns: vec![("flag".into(), Column::Bool(vec![true, false, false, true]))],
        };
        AnnData {
            x: Matrix::Csr(x),
            obs,
            var,
            layers: vec![("counts".into(), Matrix::Csr(counts))],
            obsm: vec![("p".into(), Matrix::Dense(arr2(&[[1.0], [2.0], [3.0], [4.0], [5.0]])))],
            uns_strings: vec![("names".into(), vec!["P".into()])],
        }
    }

    /// Rows `rows` of a CSR matrix.
    fn rows(s: &SparseMatrix, rows: std::ops::Range<usize>) -> SparseMatrix {
        let (a, b) = (s.indptr[rows.start] as usize, s.indptr[rows.end] as usize);
        SparseMatrix {
            shape: (rows.len(), s.shape.1),
            data: s.data[a..b].to_vec(),
            indices: s.indices[a..b].to_vec(),
            indptr: s.indptr[rows].iter().chain(std::iter::once(&(b as u64))).map(|&p| p - a as u64).collect(),
        }
    }

    fn csr(m: &Matrix) -> &SparseMatrix {
        match m {
            Matrix::Csr(s) => s,
            _ => panic!("not CSR"),
        }
    }

    /// Streams `a` in the row blocks `splits`.
    fn stream(path: &Path, a: &AnnData, splits: &[std::ops::Range<usize>], int32_max: usize) -> Result<(), DataError> {
        let mut s = H5adStream::create(path, a.n_vars(), &["counts"])?;
        s.int32_max = int32_max;
        for r in splits {
            s.append(&rows(csr(&a.x), r.clone()), &[&rows(csr(&a.layers[0].1), r.clone())])?;
        }
        s.finish(&Annotations::of(a))
    }

    #[test]
    fn streamed_blocks_read_back_as_the_whole_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = sample();
        let whole = dir.path().join("whole.h5ad");
        write_h5ad(&whole, &a).expect("write");
        let streamed = dir.path().join("streamed.h5ad");
        stream(&streamed, &a, &[0..2, 2..2, 2..3, 3..5], i32::MAX as usize).expect("stream");
        assert_eq!(read_h5ad(&streamed).expect("read"), read_h5ad(&whole).expect("read"));
        assert_eq!(read_h5ad(&streamed).expect("read"), a);
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names.len(), 2, "temporary file left behind: {names:?}");
    }

    #[test]
    fn indices_outgrowing_int32_are_rewritten_as_int64() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = sample();
        let path = dir.path().join("wide.h5ad");
        // With int32 up to 5 entries, the second block (7 stored values in all) widens.
        stream(&path, &a, &[0..3, 3..5], 5).expect("stream");
        assert_eq!(read_h5ad(&path).expect("read"), a);
        let file = hdf5::File::open(&path).expect("open");
        for m in ["X", "layers/counts"] {
            for part in ["indices", "indptr"] {
                let ds = file.dataset(&format!("{m}/{part}")).expect("dataset");
                assert_eq!(ds.dtype().expect("dtype").size(), 8, "{m}/{part}");
            }
        }
    }

    #[test]
    fn bad_blocks_and_annotations_fail_without_leaving_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.h5ad");
        let a = sample();
        let mut s = H5adStream::create(&path, 4, &["counts"]).expect("create");
        let x = rows(csr(&a.x), 0..2);
        let err = s.append(&x, &[]).expect_err("missing layer");
        assert!(err.to_string().contains("layers"), "{err}");
        let mut wide = x.clone();
        wide.indices[0] = 9;
        let err = s.append(&x, &[&wide]).expect_err("index out of range");
        assert!(err.to_string().contains("layers/counts"), "{err}");
        s.append(&x, &[&x]).expect("append");
        // obs describes 5 rows, 2 were written.
        let err = s.finish(&Annotations::of(&a)).expect_err("obs length");
        assert!(err.to_string().contains("obs"), "{err}");
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0, "file left behind");
    }
}
