//! Writing `.h5ad` in the layout Python anndata >= 0.8 reads (anndata 0.1.0 root, dataframe
//! 0.2.0, categorical / string-array / array 0.2.0, csr_matrix / csc_matrix 0.1.0, dict 0.1.0),
//! atomically: the file is written next to the target under a temporary name and renamed into
//! place, so a failure never leaves a half-written file at the target path.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;
use std::str::FromStr;

use hdf5::types::VarLenUnicode;
use hdf5::{Group, H5Type, Location};
use ndarray::Array2;
use tempfile::TempPath;

use super::{DEFAULT_INDEX, ENCODING_TYPE, ENCODING_VERSION};
use crate::anndata::{AnnData, Column, Frame, Matrix, SparseMatrix};
use crate::error::DataError;

/// Writes `adata` to `path` as an `.h5ad` (replacing any existing file only once the new one is
/// complete). An empty `obs`/`var` index is written as "0".."n-1", as anndata does.
///
/// Errors: [`DataError::Field`] naming the element that is inconsistent (wrong length, bad
/// category code, …) or could not be written; [`DataError::Write`] for file-system failures.
pub fn write_h5ad(path: &Path, adata: &AnnData) -> Result<(), DataError> {
    let w = Writer { path };
    w.validate(adata)?;
    let (tmp, file) = w.create_beside()?;
    w.write_all(&file, adata)?;
    w.persist(tmp, file)
}

/// The parts of an AnnData besides X and the layers (what a streamed file writes last).
pub struct Annotations<'a> {
    pub obs: &'a Frame,
    pub var: &'a Frame,
    pub obsm: &'a [(String, Matrix)],
    pub uns_strings: &'a [(String, Vec<String>)],
}

impl<'a> Annotations<'a> {
    pub fn of(a: &'a AnnData) -> Self {
        Annotations { obs: &a.obs, var: &a.var, obsm: &a.obsm, uns_strings: &a.uns_strings }
    }
}

/// Carries the target path into every error.
pub(super) struct Writer<'a> {
    pub(super) path: &'a Path,
}

pub(super) type H5<T> = hdf5::Result<T>;

impl Writer<'_> {
    /// A new HDF5 file under a temporary name in the target's folder (removed when dropped).
    pub(super) fn create_beside(&self) -> Result<(TempPath, hdf5::File), DataError> {
        let path = self.path;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{file_name}."))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|e| self.io(format!("cannot create a temporary file in {}: {e}", dir.display())))?
            .into_temp_path();
        let file = hdf5::File::create(&tmp).map_err(|e| self.io(format!("cannot create HDF5 file: {e}")))?;
        Ok((tmp, file))
    }

    /// Closes the finished `file` and renames it from `tmp` to the target path.
    pub(super) fn persist(&self, tmp: TempPath, file: hdf5::File) -> Result<(), DataError> {
        file.close().map_err(|e| self.io(format!("cannot close HDF5 file: {e}")))?;
        crate::output::set_readable(&tmp).map_err(|e| self.io(format!("cannot set permissions: {e}")))?;
        tmp.persist(self.path).map_err(|e| self.io(format!("cannot move the finished file into place: {e}")))?;
        Ok(())
    }

    pub(super) fn err(&self, field: &str, reason: impl std::fmt::Display) -> DataError {
        DataError::Field { path: self.path.to_path_buf(), field: field.to_string(), reason: reason.to_string() }
    }

    fn io(&self, reason: String) -> DataError {
        DataError::Write { path: self.path.to_path_buf(), reason }
    }

    /// Runs `f`, turning an HDF5 error into a field error for `field`.
    pub(super) fn at<T>(&self, field: &str, f: impl FnOnce() -> H5<T>) -> Result<T, DataError> {
        f().map_err(|e| self.err(field, format!("cannot write: {e}")))
    }

    fn write_all(&self, file: &Group, a: &AnnData) -> Result<(), DataError> {
        self.at("/", || set_encoding(file, "anndata", "0.1.0"))?;
        self.write_matrix(file, "X", &a.x)?;
        self.write_matrix_dict(file, "layers", &a.layers)?;
        self.write_annotations(file, &Annotations::of(a), a.x.shape())
    }

    /// Everything but X and the layers: obs, var, obsm, the empty obsp/varm/varp and uns.
    pub(super) fn write_annotations(
        &self,
        file: &Group,
        a: &Annotations,
        (n_obs, n_vars): (usize, usize),
    ) -> Result<(), DataError> {
        self.write_frame(file, "obs", a.obs, n_obs)?;
        self.write_frame(file, "var", a.var, n_vars)?;
        self.write_matrix_dict(file, "obsm", a.obsm)?;
        for empty in ["obsp", "varm", "varp"] {
            self.at(empty, || dict_group(file, empty).map(|_| ()))?;
        }
        let uns = self.at("uns", || dict_group(file, "uns"))?;
        for (key, values) in a.uns_strings {
            self.at(&format!("uns/{key}"), || write_strings(&uns, key, values))?;
        }
        Ok(())
    }

    fn write_matrix_dict(&self, file: &Group, name: &str, items: &[(String, Matrix)]) -> Result<(), DataError> {
        let g = self.at(name, || dict_group(file, name))?;
        for (key, m) in items {
            self.write_matrix(&g, key, m)?;
        }
        Ok(())
    }

    /// A dense array dataset or a csr/csc group named `name` under `parent`.
    fn write_matrix(&self, parent: &Group, name: &str, m: &Matrix) -> Result<(), DataError> {
        let field = field_name(parent, name);
        self.at(&field, || match m {
            Matrix::Dense(a) => write_dense(parent, name, a),
            Matrix::Csr(s) => write_sparse(parent, name, s, "csr_matrix"),
            Matrix::Csc(s) => write_sparse(parent, name, s, "csc_matrix"),
        })
    }

    fn write_frame(&self, file: &Group, name: &str, frame: &Frame, n: usize) -> Result<(), DataError> {
        let index_name = if frame.index_name.is_empty() { DEFAULT_INDEX } else { &frame.index_name };
        let index: Cow<[String]> = if frame.index.is_empty() && n > 0 {
            Cow::Owned((0..n).map(|i| i.to_string()).collect())
        } else {
            Cow::Borrowed(&frame.index)
        };
        let g = self.at(name, || {
            let g = file.create_group(name)?;
            set_str(&g, "_index", index_name)?;
            set_str_array(&g, "column-order", frame.columns.iter().map(|(c, _)| c.as_str()))?;
            set_encoding(&g, "dataframe", "0.2.0")?;
            write_strings(&g, index_name, &index)?;
            Ok(g)
        })?;
        for (col, column) in &frame.columns {
            self.at(&format!("{name}/{col}"), || write_column(&g, col, column))?;
        }
        Ok(())
    }

    /// Checks everything Python anndata / scipy / pandas would refuse, before touching the disk.
    fn validate(&self, a: &AnnData) -> Result<(), DataError> {
        let (n_obs, n_vars) = a.x.shape();
        self.check_matrix("X", &a.x)?;
        self.check_names("layers", a.layers.iter().map(|(k, _)| k.as_str()))?;
        for (key, m) in &a.layers {
            let field = format!("layers/{key}");
            self.check_matrix(&field, m)?;
            if m.shape() != (n_obs, n_vars) {
                return Err(self.err(&field, format!("shape {:?} differs from X {:?}", m.shape(), (n_obs, n_vars))));
            }
        }
        self.validate_annotations(&Annotations::of(a), (n_obs, n_vars))
    }

    /// The checks of [`Writer::validate`] on everything but X and the layers.
    pub(super) fn validate_annotations(
        &self,
        a: &Annotations,
        (n_obs, n_vars): (usize, usize),
    ) -> Result<(), DataError> {
        self.check_frame("obs", a.obs, n_obs)?;
        self.check_frame("var", a.var, n_vars)?;
        self.check_names("obsm", a.obsm.iter().map(|(k, _)| k.as_str()))?;
        for (key, m) in a.obsm {
            let field = format!("obsm/{key}");
            self.check_matrix(&field, m)?;
            if m.shape().0 != n_obs {
                return Err(self.err(&field, format!("has {} rows but X has {n_obs}", m.shape().0)));
            }
        }
        self.check_names("uns", a.uns_strings.iter().map(|(k, _)| k.as_str()))
    }

    fn check_frame(&self, name: &str, f: &Frame, n: usize) -> Result<(), DataError> {
        if !f.index.is_empty() && f.index.len() != n {
            return Err(self.err(name, format!("index has {} names but the matrix has {n}", f.index.len())));
        }
        let index_name = if f.index_name.is_empty() { DEFAULT_INDEX } else { &f.index_name };
        self.check_names(name, std::iter::once(index_name).chain(f.columns.iter().map(|(c, _)| c.as_str())))?;
        for (col, column) in &f.columns {
            let field = format!("{name}/{col}");
            if column.len() != n {
                return Err(self.err(&field, format!("has {} values but there are {n} rows", column.len())));
            }
            if let Column::Categorical { codes, categories } = column {
                self.check_categorical(&field, codes, categories)?;
            }
        }
        Ok(())
    }

    fn check_categorical(&self, field: &str, codes: &[i32], categories: &[String]) -> Result<(), DataError> {
        let mut seen = HashSet::new();
        if let Some(dup) = categories.iter().find(|c| !seen.insert(c.as_str())) {
            return Err(self.err(field, format!("category '{dup}' appears twice; pandas needs unique categories")));
        }
        if let Some(bad) = codes.iter().find(|&&c| c < -1 || c as i64 >= categories.len() as i64) {
            return Err(self.err(field, format!("code {bad} is outside -1..{}", categories.len())));
        }
        Ok(())
    }

    /// Names must be non-empty, free of '/', and unique within their group.
    pub(super) fn check_names<'n>(&self, group: &str, names: impl Iterator<Item = &'n str>) -> Result<(), DataError> {
        let mut seen = HashSet::new();
        for n in names {
            if n.is_empty() || n.contains('/') {
                return Err(self.err(group, format!("name '{n}' must be non-empty and contain no '/'")));
            }
            if !seen.insert(n) {
                return Err(self.err(group, format!("name '{n}' is used twice (the index name counts too)")));
            }
        }
        Ok(())
    }

    fn check_matrix(&self, field: &str, m: &Matrix) -> Result<(), DataError> {
        let (s, major, minor) = match m {
            Matrix::Dense(_) => return Ok(()),
            Matrix::Csr(s) => (s, s.shape.0, s.shape.1),
            Matrix::Csc(s) => (s, s.shape.1, s.shape.0),
        };
        self.check_sparse(field, s, major, minor)
    }

    /// A compressed matrix's structure: `major` rows (CSR) or columns (CSC) of `minor` entries.
    pub(super) fn check_sparse(
        &self,
        field: &str,
        s: &SparseMatrix,
        major: usize,
        minor: usize,
    ) -> Result<(), DataError> {
        let nnz = s.data.len() as u64;
        let ok = s.indptr.len() == major + 1
            && s.indices.len() == s.data.len()
            && s.indptr.first() == Some(&0)
            && s.indptr.last() == Some(&nnz)
            && s.indptr.windows(2).all(|w| w[0] <= w[1])
            && s.indices.iter().all(|&i| (i as usize) < minor);
        if ok {
            Ok(())
        } else {
            Err(self.err(
                field,
                format!(
                    "inconsistent sparse matrix: shape {:?}, {} indptr entries (expected {}), {} indices, {} values",
                    s.shape,
                    s.indptr.len(),
                    major + 1,
                    s.indices.len(),
                    s.data.len()
                ),
            ))
        }
    }
}

/// "obsm/pca" style name of `name` under `parent`.
fn field_name(parent: &Location, name: &str) -> String {
    let base = parent.name();
    let base = base.trim_start_matches('/');
    if base.is_empty() { name.to_string() } else { format!("{base}/{name}") }
}

fn vlu(s: &str) -> H5<VarLenUnicode> {
    VarLenUnicode::from_str(s).map_err(|e| hdf5::Error::from(format!("string {s:?} cannot be stored: {e}")))
}

/// A scalar variable-length UTF-8 string attribute (what h5py writes for `str`).
fn set_str(loc: &Location, name: &str, value: &str) -> H5<()> {
    loc.new_attr::<VarLenUnicode>().shape(()).create(name)?.write_scalar(&vlu(value)?)
}

/// A string-array attribute; an empty one is an empty float64 array, as h5py writes `[]`.
fn set_str_array<'s>(loc: &Location, name: &str, values: impl Iterator<Item = &'s str>) -> H5<()> {
    let values = values.map(vlu).collect::<H5<Vec<_>>>()?;
    if values.is_empty() {
        loc.new_attr::<f64>().shape(0).create(name)?;
        return Ok(());
    }
    loc.new_attr_builder().with_data(values.as_slice()).create(name).map(|_| ())
}

pub(super) fn set_encoding(loc: &Location, kind: &str, version: &str) -> H5<()> {
    set_str(loc, ENCODING_TYPE, kind)?;
    set_str(loc, ENCODING_VERSION, version)
}

pub(super) fn dict_group(parent: &Group, name: &str) -> H5<Group> {
    let g = parent.create_group(name)?;
    set_encoding(&g, "dict", "0.1.0")?;
    Ok(g)
}

/// A 1-D dataset without encoding attributes (parts of sparse matrices and categoricals).
fn raw_array<T: H5Type>(g: &Group, name: &str, data: &[T]) -> H5<hdf5::Dataset> {
    g.new_dataset_builder().with_data(data).create(name)
}

/// A 1-D `array` element.
fn write_array<T: H5Type>(g: &Group, name: &str, data: &[T]) -> H5<()> {
    let ds = raw_array(g, name, data)?;
    set_encoding(&ds, "array", "0.2.0")
}

/// A `string-array` of variable-length UTF-8 strings.
pub(super) fn write_strings(g: &Group, name: &str, values: &[String]) -> H5<()> {
    let v = values.iter().map(|s| vlu(s)).collect::<H5<Vec<_>>>()?;
    let ds = raw_array(g, name, &v)?;
    set_encoding(&ds, "string-array", "0.2.0")
}

fn write_dense(g: &Group, name: &str, a: &Array2<f32>) -> H5<()> {
    let a = a.as_standard_layout();
    let ds = g.new_dataset_builder().with_data(a.view()).create(name)?;
    set_encoding(&ds, "array", "0.2.0")
}

/// A `csr_matrix`/`csc_matrix` group; indices/indptr are int32 when they fit, as scipy writes.
fn write_sparse(g: &Group, name: &str, s: &SparseMatrix, kind: &str) -> H5<()> {
    let sg = g.create_group(name)?;
    set_encoding(&sg, kind, "0.1.0")?;
    let shape = [s.shape.0 as i64, s.shape.1 as i64];
    sg.new_attr_builder().with_data(&shape[..]).create("shape")?;
    raw_array(&sg, "data", &s.data)?;
    let max = s.data.len().max(s.shape.0).max(s.shape.1);
    if i32::try_from(max).is_ok() {
        raw_array(&sg, "indices", &s.indices.iter().map(|&i| i as i32).collect::<Vec<_>>())?;
        raw_array(&sg, "indptr", &s.indptr.iter().map(|&p| p as i32).collect::<Vec<_>>())?;
    } else {
        raw_array(&sg, "indices", &s.indices.iter().map(|&i| i64::from(i)).collect::<Vec<_>>())?;
        raw_array(&sg, "indptr", &s.indptr.iter().map(|&p| p as i64).collect::<Vec<_>>())?;
    }
    Ok(())
}

fn write_column(g: &Group, name: &str, column: &Column) -> H5<()> {
    match column {
        Column::Categorical { codes, categories } => write_categorical(g, name, codes, categories),
        Column::Strings(v) => write_strings(g, name, v),
        Column::Float(v) => write_array(g, name, v),
        Column::Int(v) => write_array(g, name, v),
        Column::Bool(v) => write_array(g, name, v),
    }
}

/// A pandas categorical (unordered); codes in the smallest signed integer type, as pandas does.
fn write_categorical(g: &Group, name: &str, codes: &[i32], categories: &[String]) -> H5<()> {
    let cg = g.create_group(name)?;
    set_encoding(&cg, "categorical", "0.2.0")?;
    cg.new_attr::<bool>().shape(()).create("ordered")?.write_scalar(&false)?;
    if categories.len() < i8::MAX as usize {
        write_array(&cg, "codes", &codes.iter().map(|&c| c as i8).collect::<Vec<_>>())?;
    } else if categories.len() < i16::MAX as usize {
        write_array(&cg, "codes", &codes.iter().map(|&c| c as i16).collect::<Vec<_>>())?;
    } else {
        write_array(&cg, "codes", codes)?;
    }
    write_strings(&cg, "categories", categories)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::h5ad::read_h5ad;
    use ndarray::arr2;

    /// 3 cells x 4 genes with every kind of element the arena stores.
    fn sample() -> AnnData {
        let x = Matrix::Csr(SparseMatrix {
            shape: (3, 4),
            data: vec![1.0, 2.0, 5.0, 3.5],
            indices: vec![0, 3, 1, 2],
            indptr: vec![0, 2, 2, 4],
        });
        let counts = Matrix::Csc(SparseMatrix {
            shape: (3, 4),
            data: vec![4.0, 7.0, 1.0],
            indices: vec![2, 0, 1],
            indptr: vec![0, 1, 1, 2, 3],
        });
        let obs = Frame {
            index_name: "cell_id".into(),
            index: vec!["c1".into(), "c2".into(), "c3".into()],
            columns: vec![
                (
                    "target".into(),
                    Column::Categorical {
                        codes: vec![0, 1, -1],
                        categories: vec!["non-targeting".into(), "FOXL2+HOXB9".into()],
                    },
                ),
                ("guide".into(), Column::Strings(vec!["g1".into(), "ü-ñ".into(), "".into()])),
                ("umi".into(), Column::Float(vec![1.5, f64::MAX, -0.25])),
                ("rep".into(), Column::Int(vec![1, -2, i64::MAX])),
                ("ok".into(), Column::Bool(vec![true, false, true])),
            ],
        };
        let var = Frame {
            index_name: DEFAULT_INDEX.into(),
            index: vec!["A".into(), "B".into(), "C".into(), "D".into()],
            columns: vec![],
        };
        AnnData {
            x,
            obs,
            var,
            layers: vec![("counts".into(), counts)],
            obsm: vec![("protein".into(), Matrix::Dense(arr2(&[[1.0, 2.0], [3.0, 4.0], [5.0, 6.5]])))],
            uns_strings: vec![("protein_names".into(), vec!["CD4".into(), "CD8".into()])],
        }
    }

    #[test]
    fn round_trip_keeps_everything() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("rt.h5ad");
        let a = sample();
        write_h5ad(&path, &a).expect("write");
        let back = read_h5ad(&path).expect("read back");
        assert_eq!(back, a);
        // Only the target is left in the directory (the temporary file was renamed).
        let names: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, vec![std::ffi::OsString::from("rt.h5ad")]);
        // Writing again replaces the file.
        write_h5ad(&path, &a).expect("overwrite");
        assert_eq!(read_h5ad(&path).expect("read again"), a);
    }

    #[test]
    fn empty_index_is_filled_and_dense_x_works() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dense.h5ad");
        let mut a = sample();
        a.x = Matrix::Dense(arr2(&[[0.0, 1.0, 2.0, 3.0], [4.0, 5.0, 6.0, 7.0], [8.0, 9.0, 1.0, 2.0]]));
        a.obs.index.clear();
        write_h5ad(&path, &a).expect("write");
        let back = read_h5ad(&path).expect("read");
        assert_eq!(back.obs.index, ["0", "1", "2"]);
        assert_eq!(back.x, a.x);
    }

    #[test]
    fn invalid_data_fails_without_leaving_a_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("bad.h5ad");
        let mut a = sample();
        a.obs.columns.push(("short".into(), Column::Int(vec![1])));
        let err = write_h5ad(&path, &a).expect_err("short column");
        assert!(matches!(&err, DataError::Field { field, .. } if field == "obs/short"), "{err}");

        let mut a = sample();
        a.obs.columns[1].1 = Column::Strings(vec!["a\0b".into(), "x".into(), "y".into()]);
        let err = write_h5ad(&path, &a).expect_err("NUL in string");
        assert!(err.to_string().contains("obs/guide"), "{err}");
        assert!(!path.exists());
        assert_eq!(std::fs::read_dir(dir.path()).expect("ls").count(), 0, "temporary file left behind");

        let mut a = sample();
        a.obs.columns[0].1 = Column::Categorical { codes: vec![0, 5, 0], categories: vec!["x".into()] };
        let err = write_h5ad(&path, &a).expect_err("bad code");
        assert!(err.to_string().contains("code 5"), "{err}");
    }
}
