//! Reading `.h5ad`: X (dense / csr_matrix / csc_matrix, any float or int dtype -> f32), the `obs`
//! and `var` data frames (categorical, string, float, int, bool and nullable columns), `layers`,
//! `obsm` (matrices only; other entries are skipped) and the string arrays of `uns`.

use std::path::Path;

use hdf5::types::{FixedAscii, FixedUnicode, FloatSize, IntSize, TypeDescriptor, VarLenAscii, VarLenUnicode};
use hdf5::{Container, Group, H5Type, Location, LocationType};
use ndarray::Array2;
use rayon::prelude::*;

use super::{DEFAULT_INDEX, ENCODING_TYPE};
use crate::anndata::{AnnData, Column, Frame, Matrix, SparseMatrix};
use crate::error::DataError;

/// Reads the AnnData stored at `path`, after [`safety::check`](super::safety::check) has
/// walked the whole file (no external links, external storage or virtual datasets; no declared
/// size beyond this process's memory limit).
///
/// Errors: [`DataError::NotFound`] if there is no file; [`DataError::Read`] if it is not HDF5 or
/// not AnnData; [`DataError::Field`] naming the element (`X`, `obs/target`, …) that is missing or
/// malformed.
pub fn read_h5ad(path: &Path) -> Result<AnnData, DataError> {
    let (file, r) = open(path, super::safety::memory_budget())?;
    let x = r.read_x(&file)?;
    let (n_obs, n_vars) = x.shape();
    let obs = r.read_frame(&file, "obs", n_obs)?;
    let var = r.read_frame(&file, "var", n_vars)?;
    let layers = r.read_matrices(&file, "layers", true)?;
    let obsm = r.read_matrices(&file, "obsm", false)?;
    let uns_strings = r.read_uns_strings(&file)?;
    Ok(AnnData { x, obs, var, layers, obsm, uns_strings })
}

/// How X is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XLayout {
    Dense,
    Csr,
    Csc,
}

/// A matrix's layout and its (rows, columns).
pub(super) type LayoutShape = (XLayout, (usize, usize));

/// Opens the AnnData at `path` after its root and the safety walk (links, virtual datasets, and
/// declared sizes beyond `budget` bytes when given) pass.
pub(super) fn open(path: &Path, budget: Option<u64>) -> Result<(hdf5::File, Reader<'_>), DataError> {
    if !path.exists() {
        return Err(DataError::NotFound { path: path.to_path_buf() });
    }
    let file = hdf5::File::open(path).map_err(|e| DataError::Read {
        path: path.to_path_buf(),
        reason: format!("not an HDF5 file ({e}); expected an AnnData .h5ad written by anndata >= 0.8"),
    })?;
    let r = Reader { path };
    r.check_root(&file)?;
    super::safety::check(&file, budget)
        .map_err(|refusal| r.err(&refusal.field, format!("refused before reading: {}", refusal.reason)))?;
    Ok((file, r))
}

/// Carries the file path into every error.
pub(super) struct Reader<'a> {
    pub(super) path: &'a Path,
}

impl Reader<'_> {
    pub(super) fn err(&self, field: &str, reason: impl std::fmt::Display) -> DataError {
        DataError::Field { path: self.path.to_path_buf(), field: field.to_string(), reason: reason.to_string() }
    }

    /// Refuses HDF5 files whose root says they are something other than AnnData.
    pub(super) fn check_root(&self, file: &Group) -> Result<(), DataError> {
        match attr_string(file, ENCODING_TYPE).map_err(|e| self.err("/", e))? {
            Some(enc) if enc != "anndata" => Err(DataError::Read {
                path: self.path.to_path_buf(),
                reason: format!("root encoding-type is '{enc}', expected 'anndata'; this is not an .h5ad file"),
            }),
            _ => Ok(()),
        }
    }

    fn read_x(&self, file: &Group) -> Result<Matrix, DataError> {
        if !file.link_exists("X") {
            return Err(
                self.err("X", "missing; an AnnData .h5ad needs an expression matrix 'X' (is this an AnnData file?)")
            );
        }
        self.read_matrix(file, "X")?.ok_or_else(|| self.err("X", "not a 2-D dense array or a csr/csc matrix"))
    }

    /// Reads the element `name` of `parent` as a matrix; `Ok(None)` when it is some other kind of
    /// element (a data frame, a 1-D array, …). `field` in errors is the element's full path.
    pub(super) fn read_matrix(&self, parent: &Group, name: &str) -> Result<Option<Matrix>, DataError> {
        let field = full_name(parent, name);
        match parent.loc_type_by_name(name).map_err(|e| self.err(&field, e))? {
            LocationType::Dataset => {
                let ds = parent.dataset(name).map_err(|e| self.err(&field, e))?;
                if ds.ndim() != 2 {
                    return Ok(None);
                }
                self.read_dense(&ds, &field).map(Some)
            }
            LocationType::Group => {
                let g = parent.group(name).map_err(|e| self.err(&field, e))?;
                self.read_sparse(&g, &field)
            }
            _ => Ok(None),
        }
    }

    fn read_dense(&self, ds: &Container, field: &str) -> Result<Matrix, DataError> {
        let shape = ds.shape();
        let values = read_f32(ds).map_err(|e| self.err(field, e))?;
        let a = Array2::from_shape_vec((shape[0], shape[1]), values).map_err(|e| self.err(field, e))?;
        Ok(Matrix::Dense(a))
    }

    /// A `csr_matrix`/`csc_matrix` group (or the older h5sparse layout); `None` for other groups.
    fn read_sparse(&self, g: &Group, field: &str) -> Result<Option<Matrix>, DataError> {
        let Some((layout, shape)) = self.sparse_kind(g, field)? else { return Ok(None) };
        let csr = layout == XLayout::Csr;
        let part = |n: &str| g.dataset(n).map_err(|e| self.err(&format!("{field}/{n}"), e));
        let (major, minor) = if csr { shape } else { (shape.1, shape.0) };
        let data = read_f32(&*part("data")?).map_err(|e| self.err(&format!("{field}/data"), e))?;
        let indices = read_indices(&*part("indices")?, minor).map_err(|e| self.err(&format!("{field}/indices"), e))?;
        let indptr = read_i64(&*part("indptr")?).map_err(|e| self.err(&format!("{field}/indptr"), e))?;
        let m = self.checked_sparse(field, shape, (major, minor), data, indices, indptr)?;
        Ok(Some(if csr { Matrix::Csr(m) } else { Matrix::Csc(m) }))
    }

    /// Whether the group `g` is a `csr_matrix` or a `csc_matrix`, in anndata's encoding or the
    /// older h5sparse layout, and its shape from the attributes; `None` for other groups.
    pub(super) fn sparse_kind(&self, g: &Group, field: &str) -> Result<Option<LayoutShape>, DataError> {
        let enc = attr_string(g, ENCODING_TYPE).map_err(|e| self.err(field, e))?;
        let legacy = attr_string(g, "h5sparse_format").map_err(|e| self.err(field, e))?;
        let (csr, shape_attr) = match (enc.as_deref(), legacy.as_deref()) {
            (Some("csr_matrix"), _) => (XLayout::Csr, "shape"),
            (Some("csc_matrix"), _) => (XLayout::Csc, "shape"),
            (None, Some("csr")) => (XLayout::Csr, "h5sparse_shape"),
            (None, Some("csc")) => (XLayout::Csc, "h5sparse_shape"),
            _ => return Ok(None),
        };
        let shape = g
            .attr(shape_attr)
            .and_then(|a| a.read_raw::<i64>())
            .map_err(|e| self.err(field, format!("sparse matrix without a readable '{shape_attr}' attribute: {e}")))?;
        match shape.as_slice() {
            [r, c] if *r >= 0 && *c >= 0 => Ok(Some((csr, (*r as usize, *c as usize)))),
            other => Err(self.err(field, format!("shape attribute {other:?} is not two non-negative sizes"))),
        }
    }

    /// Validates and converts the three arrays of a compressed sparse matrix (`indices` as
    /// [`read_indices`] returns them).
    /// Checks `indptr` (`major` + 1 entries rising from 0 to the number of stored values) and that
    /// there are as many `indices` as `data` values.
    pub(super) fn check_compressed(
        &self,
        field: &str,
        indptr: &[i64],
        major: usize,
        (indices, data): (usize, usize),
    ) -> Result<(), DataError> {
        if indptr.len() != major + 1 {
            return Err(self.err(field, format!("indptr has {} entries, expected {}", indptr.len(), major + 1)));
        }
        if indices != data {
            return Err(self.err(field, format!("{indices} indices but {data} data values")));
        }
        let monotone = indptr.first() == Some(&0) && indptr.windows(2).all(|w| w[0] <= w[1]);
        if !monotone || indptr.last().copied() != Some(data as i64) {
            return Err(self.err(field, format!("indptr must rise from 0 to nnz = {data}")));
        }
        Ok(())
    }

    fn checked_sparse(
        &self,
        field: &str,
        shape: (usize, usize),
        (major, minor): (usize, usize),
        data: Vec<f32>,
        (indices, indices_in_range): (Vec<u32>, bool),
        indptr: Vec<i64>,
    ) -> Result<SparseMatrix, DataError> {
        self.check_compressed(field, &indptr, major, (indices.len(), data.len()))?;
        if !indices_in_range {
            return Err(self.err(field, format!("an index is outside 0..{minor}")));
        }
        let indptr = indptr.into_iter().map(|p| p as u64).collect();
        Ok(SparseMatrix { shape, data, indices, indptr })
    }

    /// Every matrix under the dict group `name` (sorted by name). With `strict`, an entry that is
    /// not a matrix is an error; otherwise it is skipped.
    fn read_matrices(&self, file: &Group, name: &str, strict: bool) -> Result<Vec<(String, Matrix)>, DataError> {
        if !file.link_exists(name) {
            return Ok(Vec::new());
        }
        let g = file.group(name).map_err(|e| self.err(name, e))?;
        let mut out = Vec::new();
        for key in g.member_names().map_err(|e| self.err(name, e))? {
            match self.read_matrix(&g, &key)? {
                Some(m) => out.push((key, m)),
                None if strict => {
                    return Err(self.err(&format!("{name}/{key}"), "expected a 2-D array or a csr/csc matrix"));
                }
                None => {}
            }
        }
        Ok(out)
    }

    /// 1-D string arrays directly under `uns`; everything else there is ignored.
    fn read_uns_strings(&self, file: &Group) -> Result<Vec<(String, Vec<String>)>, DataError> {
        if !file.link_exists("uns") {
            return Ok(Vec::new());
        }
        let g = file.group("uns").map_err(|e| self.err("uns", e))?;
        let mut out = Vec::new();
        for key in g.member_names().map_err(|e| self.err("uns", e))? {
            let field = format!("uns/{key}");
            if g.loc_type_by_name(&key).map_err(|e| self.err(&field, e))? != LocationType::Dataset {
                continue;
            }
            let ds = g.dataset(&key).map_err(|e| self.err(&field, e))?;
            let td = descriptor(&ds).map_err(|e| self.err(&field, e))?;
            if ds.ndim() == 1 && is_string(&td) {
                out.push((key, read_strings(&ds).map_err(|e| self.err(&field, e))?));
            }
        }
        Ok(out)
    }

    /// The data frame `name` (`obs` or `var`); an absent one gives an index "0".."n-1".
    pub(super) fn read_frame(&self, file: &Group, name: &str, n: usize) -> Result<Frame, DataError> {
        if !file.link_exists(name) {
            let index = (0..n).map(|i| i.to_string()).collect();
            return Ok(Frame { index_name: DEFAULT_INDEX.into(), index, columns: Vec::new() });
        }
        let g = file.group(name).map_err(|e| self.err(name, e))?;
        let enc = attr_string(&g, ENCODING_TYPE).map_err(|e| self.err(name, e))?;
        if let Some(enc) = enc.filter(|e| e != "dataframe") {
            return Err(self.err(name, format!("encoding-type is '{enc}', expected 'dataframe'")));
        }
        let index_name = attr_string(&g, "_index")
            .map_err(|e| self.err(name, e))?
            .ok_or_else(|| self.err(name, "no '_index' attribute naming the index"))?;
        let order = attr_strings(&g, "column-order").map_err(|e| self.err(name, e))?;
        let index = self.read_index(&g, name, &index_name, n)?;
        let mut columns = Vec::with_capacity(order.len());
        for col in order {
            let field = format!("{name}/{col}");
            let column = self.read_column(&g, &col, &field)?;
            if column.len() != n {
                return Err(self.err(&field, format!("has {} values but there are {n} rows", column.len())));
            }
            columns.push((col, column));
        }
        Ok(Frame { index_name, index, columns })
    }

    fn read_index(&self, g: &Group, frame: &str, index_name: &str, n: usize) -> Result<Vec<String>, DataError> {
        let field = format!("{frame}/{index_name}");
        let ds = g.dataset(index_name).map_err(|e| self.err(&field, format!("index dataset missing: {e}")))?;
        let td = descriptor(&ds).map_err(|e| self.err(&field, e))?;
        let index = if is_string(&td) {
            read_strings(&ds).map_err(|e| self.err(&field, e))?
        } else {
            read_i64(&ds).map_err(|e| self.err(&field, e))?.iter().map(i64::to_string).collect()
        };
        if index.len() != n {
            return Err(self.err(&field, format!("index has {} names but the matrix has {n}", index.len())));
        }
        Ok(index)
    }

    /// One data frame column: a dataset (strings, numbers, bools) or an encoded group.
    fn read_column(&self, g: &Group, col: &str, field: &str) -> Result<Column, DataError> {
        match g.loc_type_by_name(col).map_err(|e| self.err(field, format!("column missing: {e}")))? {
            LocationType::Dataset => {
                let ds = g.dataset(col).map_err(|e| self.err(field, e))?;
                if ds.attr_names().map_err(|e| self.err(field, e))?.iter().any(|a| a == "categories") {
                    return Err(self.err(
                        field,
                        "pre-0.7 categorical layout (codes with a 'categories' reference); re-save the \
                         file with anndata >= 0.8",
                    ));
                }
                self.read_plain_column(&ds, field)
            }
            LocationType::Group => {
                let cg = g.group(col).map_err(|e| self.err(field, e))?;
                self.read_encoded_column(&cg, field)
            }
            other => Err(self.err(field, format!("unexpected HDF5 object {other:?}"))),
        }
    }

    fn read_plain_column(&self, ds: &Container, field: &str) -> Result<Column, DataError> {
        let td = descriptor(ds).map_err(|e| self.err(field, e))?;
        let e = |e: hdf5::Error| self.err(field, e);
        match td {
            _ if is_string(&td) => Ok(Column::Strings(read_strings(ds).map_err(e)?)),
            TypeDescriptor::Float(_) => Ok(Column::Float(ds.read_raw::<f64>().map_err(e)?)),
            TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => Ok(Column::Int(read_i64(ds).map_err(e)?)),
            TypeDescriptor::Boolean => Ok(Column::Bool(ds.read_raw::<bool>().map_err(e)?)),
            other => Err(self.err(field, format!("unsupported column dtype {other:?}"))),
        }
    }

    /// `categorical`, `nullable-integer`, `nullable-boolean` and `nullable-string-array` groups.
    fn read_encoded_column(&self, g: &Group, field: &str) -> Result<Column, DataError> {
        let enc = attr_string(g, ENCODING_TYPE).map_err(|e| self.err(field, e))?.unwrap_or_default();
        let part = |n: &str| g.dataset(n).map_err(|e| self.err(&format!("{field}/{n}"), e));
        let e = |e: hdf5::Error| self.err(field, e);
        match enc.as_str() {
            "categorical" => {
                let codes = read_i64(&*part("codes")?).map_err(e)?;
                let categories = read_labels(&*part("categories")?).map_err(e)?;
                let codes = codes
                    .into_iter()
                    .map(|c| i32::try_from(c).ok().filter(|&c| c >= -1 && (c as i64) < categories.len() as i64))
                    .collect::<Option<Vec<i32>>>()
                    .ok_or_else(|| self.err(field, format!("a code is outside -1..{}", categories.len())))?;
                Ok(Column::Categorical { codes, categories })
            }
            "nullable-integer" | "nullable-boolean" => {
                let mask = part("mask")?.read_raw::<bool>().map_err(e)?;
                let values = part("values")?.read_raw::<f64>().map_err(e)?;
                nullable_numbers(&enc, values, &mask)
            }
            "nullable-string-array" => {
                // Missing strings become "" (Column::Strings has no missing value).
                let mask = part("mask")?.read_raw::<bool>().map_err(e)?;
                let values = read_strings(&*part("values")?).map_err(e)?;
                let strings = values.into_iter().zip(mask).map(|(s, m)| if m { String::new() } else { s }).collect();
                Ok(Column::Strings(strings))
            }
            other => Err(self.err(field, format!("unsupported column encoding '{other}'"))),
        }
    }
}

/// Nullable ints/bools: exact `Int`/`Bool` when nothing is masked, else `Float` with NaN.
fn nullable_numbers(enc: &str, values: Vec<f64>, mask: &[bool]) -> Result<Column, DataError> {
    if mask.iter().any(|&m| m) {
        let v = values.into_iter().zip(mask).map(|(x, &m)| if m { f64::NAN } else { x }).collect();
        return Ok(Column::Float(v));
    }
    Ok(if enc == "nullable-boolean" {
        Column::Bool(values.into_iter().map(|x| x != 0.0).collect())
    } else {
        Column::Int(values.into_iter().map(|x| x as i64).collect())
    })
}

/// "obs/target" style name of `name` inside `parent`.
fn full_name(parent: &Location, name: &str) -> String {
    let base = parent.name();
    let base = base.trim_start_matches('/');
    if base.is_empty() { name.to_string() } else { format!("{base}/{name}") }
}

fn descriptor(c: &Container) -> hdf5::Result<TypeDescriptor> {
    c.dtype()?.to_descriptor()
}

fn is_string(td: &TypeDescriptor) -> bool {
    matches!(
        td,
        TypeDescriptor::VarLenUnicode
            | TypeDescriptor::VarLenAscii
            | TypeDescriptor::FixedAscii(_)
            | TypeDescriptor::FixedUnicode(_)
    )
}

/// Any float or integer array as f32 (HDF5 converts on read; float32, the usual dtype of X, is
/// read as stored into a pre-faulted buffer).
fn read_f32(c: &Container) -> hdf5::Result<Vec<f32>> {
    match descriptor(c)? {
        TypeDescriptor::Float(FloatSize::U4) => read_prefaulted::<f32>(c),
        TypeDescriptor::Float(_) | TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => c.read_raw::<f32>(),
        other => Err(format!("expected a numeric array, found dtype {other:?}").into()),
    }
}

/// A whole dataset, in memory order, read into a buffer whose pages the rayon threads touched
/// first: the first touch of a fresh page (the kernel zeroing it) is most of the cost of reading
/// a large array from the page cache, and inside HDF5 it would run on one thread, under the
/// library's global lock.
fn read_prefaulted<T: H5Type + Copy + Default + Send>(c: &Container) -> hdf5::Result<Vec<T>> {
    let mut buffer = Vec::new();
    (0..c.size()).into_par_iter().map(|_| T::default()).collect_into_vec(&mut buffer);
    c.read_into_raw(&mut buffer)?;
    Ok(buffer)
}

/// The minor-axis indices of a compressed sparse matrix as u32, and whether every one is in
/// 0..minor (values that are not come back truncated). int32 indices (anndata's usual dtype) are
/// read as stored, without a widening copy.
fn read_indices(c: &Container, minor: usize) -> hdf5::Result<(Vec<u32>, bool)> {
    let fits = |i: i64| i >= 0 && i <= i64::from(u32::MAX) && (i as usize) < minor;
    if let TypeDescriptor::Integer(IntSize::U4) = descriptor(c)? {
        let raw = read_prefaulted::<i32>(c)?;
        let in_range = raw.par_iter().all(|&i| fits(i64::from(i)));
        return Ok((raw.into_iter().map(|i| i as u32).collect(), in_range));
    }
    let raw = read_i64(c)?;
    let in_range = raw.iter().all(|&i| fits(i));
    Ok((raw.into_iter().map(|i| i as u32).collect(), in_range))
}

/// Any integer array as i64 (u64 values above i64::MAX are refused).
pub(super) fn read_i64(c: &Container) -> hdf5::Result<Vec<i64>> {
    match descriptor(c)? {
        TypeDescriptor::Unsigned(IntSize::U8) => c
            .read_raw::<u64>()?
            .into_iter()
            .map(|v| i64::try_from(v).map_err(|_| hdf5::Error::from("uint64 value too large")))
            .collect(),
        TypeDescriptor::Integer(_) | TypeDescriptor::Unsigned(_) => c.read_raw::<i64>(),
        other => Err(format!("expected an integer array, found dtype {other:?}").into()),
    }
}

/// Text of any HDF5 string element type.
trait AsText {
    fn text(&self) -> String;
}

impl AsText for VarLenUnicode {
    fn text(&self) -> String {
        self.as_str().to_string()
    }
}

impl AsText for VarLenAscii {
    fn text(&self) -> String {
        self.as_str().to_string()
    }
}

impl<const N: usize> AsText for FixedAscii<N> {
    fn text(&self) -> String {
        self.as_str().to_string()
    }
}

impl<const N: usize> AsText for FixedUnicode<N> {
    fn text(&self) -> String {
        self.as_str().to_string()
    }
}

fn texts<T: H5Type + AsText>(c: &Container) -> hdf5::Result<Vec<String>> {
    Ok(c.read_raw::<T>()?.iter().map(AsText::text).collect())
}

/// A string array or attribute: variable-length UTF-8/ASCII (h5py `str`) or fixed-length
/// (h5py `S{n}`, up to 1024 bytes).
fn read_strings(c: &Container) -> hdf5::Result<Vec<String>> {
    match descriptor(c)? {
        TypeDescriptor::VarLenUnicode => texts::<VarLenUnicode>(c),
        TypeDescriptor::VarLenAscii => texts::<VarLenAscii>(c),
        TypeDescriptor::FixedAscii(n) if n <= 64 => texts::<FixedAscii<64>>(c),
        TypeDescriptor::FixedAscii(n) if n <= 1024 => texts::<FixedAscii<1024>>(c),
        TypeDescriptor::FixedUnicode(n) if n <= 64 => texts::<FixedUnicode<64>>(c),
        TypeDescriptor::FixedUnicode(n) if n <= 1024 => texts::<FixedUnicode<1024>>(c),
        other => Err(format!("expected strings, found dtype {other:?}").into()),
    }
}

/// Categories: strings, or numbers written the way Python prints them (`1`, `0.5`, `True`).
fn read_labels(c: &Container) -> hdf5::Result<Vec<String>> {
    match descriptor(c)? {
        td if is_string(&td) => read_strings(c),
        TypeDescriptor::Float(_) => Ok(c.read_raw::<f64>()?.iter().map(|x| format!("{x:?}")).collect()),
        TypeDescriptor::Boolean => {
            Ok(c.read_raw::<bool>()?.iter().map(|&b| if b { "True" } else { "False" }.to_string()).collect())
        }
        _ => Ok(read_i64(c)?.iter().map(i64::to_string).collect()),
    }
}

/// A scalar string attribute; `None` when the attribute is absent.
fn attr_string(loc: &Location, name: &str) -> hdf5::Result<Option<String>> {
    if !loc.attr_names()?.iter().any(|a| a == name) {
        return Ok(None);
    }
    let a = loc.attr(name)?;
    let mut v = read_strings(&a)?;
    if v.len() != 1 {
        return Err(format!("attribute '{name}' is not a single string").into());
    }
    Ok(v.pop())
}

/// A string-array attribute; absent or an empty numeric array (as h5py writes `[]`) gives `[]`.
fn attr_strings(loc: &Location, name: &str) -> hdf5::Result<Vec<String>> {
    if !loc.attr_names()?.iter().any(|a| a == name) {
        return Ok(Vec::new());
    }
    let a = loc.attr(name)?;
    if a.size() == 0 {
        return Ok(Vec::new());
    }
    read_strings(&a)
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAPALEXI: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/papalexi2021_thp1_eccite_rna.h5ad");
    const NORMAN_GEARS: &str =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data/norman2019_gears_format_subset.h5ad");

    #[test]
    fn reads_papalexi_eccite() {
        let a = read_h5ad(Path::new(PAPALEXI)).expect("read papalexi");
        assert_eq!((a.n_obs(), a.n_vars()), (20729, 299));
        assert!(matches!(a.x, Matrix::Csr(_)));
        let Some(Column::Categorical { codes, categories }) = a.obs.column("target") else {
            panic!("obs.target is not categorical: {:?}", a.obs.column_names());
        };
        let nt = categories.iter().position(|c| c == "non-targeting").expect("non-targeting category") as i32;
        assert_eq!(codes.iter().filter(|&&c| c == nt).count(), 2386);
        assert_eq!(a.obs.index.len(), 20729);
        assert_eq!(a.var.index.len(), 299);
        assert_eq!(a.obs.column_names(), ["grna_max", "target", "grna_umi_total", "grna_max_frac", "bio_rep"]);
        assert!(matches!(a.obs.column("grna_umi_total"), Some(Column::Float(_))));
        assert_eq!(a.obsm("grna_counts").expect("obsm grna_counts").shape(), (20729, 110));
        assert_eq!(a.uns_strings("grna_ids").expect("uns grna_ids").len(), 110);
        assert!(a.var.columns.is_empty());
    }

    #[test]
    fn reads_norman_gears_subset() {
        let a = read_h5ad(Path::new(NORMAN_GEARS)).expect("read norman gears");
        assert_eq!((a.n_obs(), a.n_vars()), (50, 50));
        assert!(a.obs.column("condition").is_some());
        assert!(matches!(a.layer("counts"), Some(Matrix::Dense(m)) if m.dim() == (50, 50)));
        assert_eq!(a.var.index_name, "gene_id");
        assert_eq!(a.obs.index_name, "cell_barcode");
        assert!(matches!(a.obs.column("control"), Some(Column::Int(_))));
        let labels = a.obs.column("condition").and_then(Column::as_labels).expect("labels");
        assert!(labels.iter().flatten().any(|l| l.contains('+')));
    }

    #[test]
    fn missing_and_non_hdf5_files() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = dir.path().join("absent.h5ad");
        assert!(matches!(read_h5ad(&missing), Err(DataError::NotFound { .. })));

        let bad = dir.path().join("bad.h5ad");
        std::fs::write(&bad, b"this is not hdf5").expect("write");
        let err = read_h5ad(&bad).expect_err("not hdf5");
        assert!(matches!(err, DataError::Read { .. }), "{err}");
        let msg = err.to_string();
        assert!(msg.contains("bad.h5ad") && msg.contains("HDF5"), "{msg}");
    }

    #[test]
    fn hdf5_without_x_names_x() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("nox.h5");
        hdf5::File::create(&path).and_then(|f| f.create_group("obs").map(|_| ())).expect("create");
        let err = read_h5ad(&path).expect_err("no X");
        assert!(matches!(&err, DataError::Field { field, .. } if field == "X"), "{err}");
        assert!(err.to_string().contains("nox.h5"));
    }
}
