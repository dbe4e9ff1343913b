//! Reading part of an `.h5ad`: [`read_head`] reads the obs and var frames and X's shape and
//! layout, [`read_x`] X as stored, [`for_each_x_block`] walks X in row blocks, and
//! [`read_x_rows`] reads chosen rows of X as CSR, in blocks of at most
//! [`BLOCK_VALUES`] stored values, so that memory holds the chosen rows plus one block, whatever
//! the file's size. X may be CSR (a block is a hyperslab of `data` and `indices`; blocks without a
//! chosen row are skipped, so cells grouped in the file cost only their own reads), dense (a block
//! is a hyperslab of rows) or CSC (read whole: a column layout has no row blocks). Any float or
//! integer dtype becomes f32, compressed or chunked storage included. Asked for every row, X is
//! read whole, as [`read_h5ad`](super::read_h5ad) reads it. Layers, obsm and uns are not read.

use std::path::Path;

use hdf5::{Group, LocationType};
use ndarray::Array2;

use super::read::{LayoutShape, Reader, XLayout, read_i64};
use crate::anndata::{Frame, Matrix, SparseMatrix};
use crate::error::DataError;

/// Stored values per block of [`read_x_rows`] (64 MiB of f32 values plus as many indices).
pub const BLOCK_VALUES: usize = 1 << 24;

/// The frames of an `.h5ad` and the shape and layout of its X.
#[derive(Debug, Clone)]
pub struct H5adHead {
    pub obs: Frame,
    pub var: Frame,
    /// (cells, genes).
    pub shape: (usize, usize),
    pub layout: XLayout,
}

/// Opens `path`. The safety walk refuses links to other files and virtual datasets; sizes are not
/// limited, since only blocks of X are ever held.
fn open(path: &Path) -> Result<(hdf5::File, Reader<'_>), DataError> {
    super::read::open(path, None)
}

/// X's layout and shape from its metadata.
fn x_layout(r: &Reader<'_>, file: &Group) -> Result<LayoutShape, DataError> {
    let missing = || r.err("X", "missing; an AnnData .h5ad needs an expression matrix 'X' (is this an AnnData file?)");
    if !file.link_exists("X") {
        return Err(missing());
    }
    match file.loc_type_by_name("X").map_err(|e| r.err("X", e))? {
        LocationType::Dataset => {
            let ds = file.dataset("X").map_err(|e| r.err("X", e))?;
            match ds.shape().as_slice() {
                [n, g] => Ok((XLayout::Dense, (*n, *g))),
                other => Err(r.err("X", format!("a dense X must be 2-D, found shape {other:?}"))),
            }
        }
        LocationType::Group => {
            let g = file.group("X").map_err(|e| r.err("X", e))?;
            r.sparse_kind(&g, "X")?.ok_or_else(|| r.err("X", "not a 2-D dense array or a csr/csc matrix"))
        }
        _ => Err(missing()),
    }
}

/// The obs and var frames and X's shape and layout; X itself is not read.
pub fn read_head(path: &Path) -> Result<H5adHead, DataError> {
    let (file, r) = open(path)?;
    let (layout, shape) = x_layout(&r, &file)?;
    let obs = r.read_frame(&file, "obs", shape.0)?;
    let var = r.read_frame(&file, "var", shape.1)?;
    Ok(H5adHead { obs, var, shape, layout })
}

/// X as the file stores it (dense, CSR or CSC), whole; layers, obsm and uns are not read. As
/// [`read_h5ad`](super::read_h5ad), it refuses a file declaring a dataset larger than this
/// process's memory limit before reading any of it.
pub fn read_x(path: &Path) -> Result<Matrix, DataError> {
    let (file, r) = super::read::open(path, super::safety::memory_budget())?;
    x_layout(&r, &file)?;
    r.read_matrix(&file, "X")?.ok_or_else(|| r.err("X", "not a 2-D dense array or a csr/csc matrix"))
}

/// Rows `rows` of X (strictly ascending cell indices) as a CSR matrix of `rows.len()` rows, in
/// that order, with every stored value of those rows as the file holds it (a dense X keeps its
/// non-zeros).
pub fn read_x_rows(path: &Path, rows: &[usize]) -> Result<SparseMatrix, DataError> {
    read_in_blocks(path, rows, BLOCK_VALUES)
}

/// [`read_x_rows`] with blocks of at most `block_values` stored values (a dense block: that many
/// values' worth of rows, at least one).
fn read_in_blocks(path: &Path, rows: &[usize], block_values: usize) -> Result<SparseMatrix, DataError> {
    let (file, r) = open(path)?;
    let (layout, (n_obs, n_vars)) = x_layout(&r, &file)?;
    if let Some(w) = rows.windows(2).find(|w| w[0] >= w[1]) {
        return Err(r.err("X", format!("rows must be strictly ascending, got {} then {}", w[0], w[1])));
    }
    if let Some(&last) = rows.last().filter(|&&l| l >= n_obs) {
        return Err(r.err("X", format!("row {last} is beyond the {n_obs} cells")));
    }
    // Every row: the whole matrix in one read per array (read_h5ad's path, no block copies).
    if rows.len() == n_obs {
        return Ok(r.read_matrix(&file, "X")?.ok_or_else(|| r.err("X", "not a matrix"))?.into_csr());
    }
    match layout {
        XLayout::Csr => csr_rows(&r, &file, (n_obs, n_vars), rows, block_values),
        XLayout::Dense => dense_rows(&r, &file, n_vars, rows, block_values),
        XLayout::Csc => {
            let x = r.read_matrix(&file, "X")?.ok_or_else(|| r.err("X", "not a csc matrix"))?.into_csr();
            Ok(x.select_rows(rows))
        }
    }
}

/// Walks X from its first row to its last in blocks of at most `block_values` stored values (at
/// least one row), calling `f(first_row, block)` with each block as CSR, so that memory holds one
/// block. A CSC X has no row blocks and is read whole, as one block.
pub fn for_each_x_block(
    path: &Path,
    block_values: usize,
    mut f: impl FnMut(usize, SparseMatrix) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let (file, r) = open(path)?;
    let (layout, (n_obs, n_vars)) = x_layout(&r, &file)?;
    match layout {
        XLayout::Csc => f(0, r.read_matrix(&file, "X")?.ok_or_else(|| r.err("X", "not a csc matrix"))?.into_csr()),
        XLayout::Dense => {
            let ds = file.dataset("X").map_err(|e| r.err("X", e))?;
            let per_block = (block_values / n_vars.max(1)).max(1);
            for first in (0..n_obs).step_by(per_block) {
                let last = (first + per_block).min(n_obs);
                let selection = hdf5::Hyperslab::try_from(ndarray::s![first..last, ..]).map_err(|e| r.err("X", e))?;
                let block: Array2<f32> = ds.read_slice_2d(selection).map_err(|e| r.err("X", e))?;
                f(first, SparseMatrix::csr_from_dense(block.view()))?;
            }
            Ok(())
        }
        XLayout::Csr => {
            let (data_ds, indices_ds, indptr) = csr_parts(&r, &file, n_obs)?;
            let at = |row: usize| indptr[row] as usize;
            let mut first = 0;
            while first < n_obs {
                let mut end = first + 1;
                while end < n_obs && at(end + 1) - at(first) <= block_values {
                    end += 1;
                }
                let (start, stop) = (at(first), at(end));
                let data = data_ds.read_slice_1d::<f32, _>(start..stop).map_err(|e| r.err("X/data", e))?.to_vec();
                let raw = indices_ds.read_slice_1d::<i64, _>(start..stop).map_err(|e| r.err("X/indices", e))?;
                let mut indices = Vec::with_capacity(raw.len());
                for (k, &col) in raw.iter().enumerate() {
                    if col < 0 || col as usize >= n_vars {
                        let row = first + indptr[first..=end].partition_point(|&p| p as usize <= start + k) - 1;
                        return Err(r.err("X/indices", format!("index {col} of cell {row} is outside 0..{n_vars}")));
                    }
                    indices.push(col as u32);
                }
                let indptr = (first..=end).map(|row| (at(row) - start) as u64).collect();
                f(first, SparseMatrix { shape: (end - first, n_vars), data, indices, indptr })?;
                first = end;
            }
            Ok(())
        }
    }
}

/// A CSR X's `data` and `indices` datasets and its row pointers, checked against each other.
fn csr_parts(
    r: &Reader<'_>,
    file: &Group,
    n_obs: usize,
) -> Result<(hdf5::Dataset, hdf5::Dataset, Vec<i64>), DataError> {
    let g = file.group("X").map_err(|e| r.err("X", e))?;
    let part = |n: &str| g.dataset(n).map_err(|e| r.err(&format!("X/{n}"), e));
    let (data_ds, indices_ds) = (part("data")?, part("indices")?);
    let indptr = read_i64(&*part("indptr")?).map_err(|e| r.err("X/indptr", e))?;
    r.check_compressed("X", &indptr, n_obs, (indices_ds.size(), data_ds.size()))?;
    Ok((data_ds, indices_ds, indptr))
}

fn csr_rows(
    r: &Reader<'_>,
    file: &Group,
    (n_obs, n_vars): (usize, usize),
    rows: &[usize],
    block_values: usize,
) -> Result<SparseMatrix, DataError> {
    let (data_ds, indices_ds, indptr) = csr_parts(r, file, n_obs)?;
    let at = |row: usize| indptr[row] as usize;
    // The chosen rows' stored values, known from indptr: the output is allocated once (no
    // doubling and copying as it grows).
    let total: usize = rows.iter().map(|&row| at(row + 1).saturating_sub(at(row))).sum();
    let mut out = SparseMatrix::csr_with_capacity((rows.len(), n_vars), total);
    let mut i = 0;
    while i < rows.len() {
        // A block: the chosen rows from rows[i] whose values end within block_values of its start.
        let start = at(rows[i]);
        let mut j = i + 1;
        while j < rows.len() && at(rows[j] + 1) - start <= block_values {
            j += 1;
        }
        let end = at(rows[j - 1] + 1);
        let data = data_ds.read_slice_1d::<f32, _>(start..end).map_err(|e| r.err("X/data", e))?;
        let indices = indices_ds.read_slice_1d::<i64, _>(start..end).map_err(|e| r.err("X/indices", e))?;
        for &row in &rows[i..j] {
            let (lo, hi) = (at(row) - start, at(row + 1) - start);
            for k in lo..hi {
                let col = indices[k];
                if col < 0 || col as usize >= n_vars {
                    return Err(r.err("X/indices", format!("index {col} of cell {row} is outside 0..{n_vars}")));
                }
                out.indices.push(col as u32);
                out.data.push(data[k]);
            }
            out.indptr.push(out.data.len() as u64);
        }
        i = j;
    }
    Ok(out)
}

fn dense_rows(
    r: &Reader<'_>,
    file: &Group,
    n_vars: usize,
    rows: &[usize],
    block_values: usize,
) -> Result<SparseMatrix, DataError> {
    let ds = file.dataset("X").map_err(|e| r.err("X", e))?;
    let per_block = (block_values / n_vars.max(1)).max(1);
    let mut out = SparseMatrix { shape: (rows.len(), n_vars), data: vec![], indices: vec![], indptr: vec![0] };
    let mut i = 0;
    while i < rows.len() {
        let first = rows[i];
        let j = i + rows[i..].partition_point(|&row| row < first + per_block);
        let last = rows[j - 1];
        let selection = hdf5::Hyperslab::try_from(ndarray::s![first..last + 1, ..]).map_err(|e| r.err("X", e))?;
        let block: Array2<f32> = ds.read_slice_2d(selection).map_err(|e| r.err("X", e))?;
        for &row in &rows[i..j] {
            for (col, &v) in block.row(row - first).iter().enumerate() {
                if v != 0.0 {
                    out.indices.push(col as u32);
                    out.data.push(v);
                }
            }
            out.indptr.push(out.data.len() as u64);
        }
        i = j;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::anndata::AnnData;

    /// 23 cells x 7 genes, about a third stored, rows 4 and 11 empty.
    fn cells() -> ndarray::Array2<f32> {
        ndarray::Array2::from_shape_fn((23, 7), |(i, j)| {
            let v = ((i * 7 + j) * 2_654_435_761usize % 97) as f32;
            if i == 4 || i == 11 || v > 33.0 { 0.0 } else { 1.0 + v / 8.0 }
        })
    }

    fn write(dir: &Path, name: &str, x: Matrix) -> std::path::PathBuf {
        let frame = |n: usize, p: &str| Frame {
            index_name: "_index".into(),
            index: (0..n).map(|i| format!("{p}{i}")).collect(),
            columns: vec![],
        };
        let (n, g) = x.shape();
        let adata =
            AnnData { x, obs: frame(n, "c"), var: frame(g, "g"), layers: vec![], obsm: vec![], uns_strings: vec![] };
        let path = dir.join(name);
        crate::write_h5ad(&path, &adata).unwrap();
        path
    }

    #[test]
    fn chosen_rows_read_in_blocks_equal_the_whole_matrix_rows() {
        let dir = tempfile::tempdir().unwrap();
        let dense = cells();
        let csr = SparseMatrix::csr_from_dense(dense.view());
        let files = [
            write(dir.path(), "csr.h5ad", Matrix::Csr(csr.clone())),
            write(dir.path(), "dense.h5ad", Matrix::Dense(dense.clone())),
            write(dir.path(), "csc.h5ad", Matrix::Csc(transposed(&csr))),
        ];
        let choices: [Vec<usize>; 6] =
            [vec![], vec![0], vec![4, 11], vec![1, 2, 3, 9, 10, 22], (0..23).step_by(3).collect(), (0..23).collect()];
        for path in &files {
            let head = read_head(path).unwrap();
            assert_eq!(head.shape, (23, 7));
            assert_eq!(head.var.index[6], "g6");
            for rows in &choices {
                for block in [1, 3, 7, 16, BLOCK_VALUES] {
                    let got = read_in_blocks(path, rows, block).unwrap();
                    assert_eq!(got, csr.select_rows(rows), "{} rows {rows:?} block {block}", path.display());
                }
            }
            let err = read_x_rows(path, &[3, 2]).unwrap_err().to_string();
            assert!(err.contains("strictly ascending"), "{err}");
            let err = read_x_rows(path, &[23]).unwrap_err().to_string();
            assert!(err.contains("beyond the 23 cells"), "{err}");
        }
        for path in &files {
            for block in [1, 3, 7, BLOCK_VALUES] {
                let mut rows = SparseMatrix { shape: (0, 7), data: vec![], indices: vec![], indptr: vec![0] };
                for_each_x_block(path, block, |first, b| {
                    assert_eq!(first, rows.shape.0, "{}", path.display());
                    for r in 0..b.shape.0 {
                        let (lo, hi) = (b.indptr[r] as usize, b.indptr[r + 1] as usize);
                        rows.data.extend_from_slice(&b.data[lo..hi]);
                        rows.indices.extend_from_slice(&b.indices[lo..hi]);
                        rows.indptr.push(rows.data.len() as u64);
                    }
                    rows.shape.0 += b.shape.0;
                    Ok(())
                })
                .unwrap();
                assert_eq!(Matrix::Csr(rows).to_dense(), dense, "{} block {block}", path.display());
            }
        }
        let layouts: Vec<XLayout> = files.iter().map(|p| read_head(p).unwrap().layout).collect();
        assert_eq!(layouts, [XLayout::Csr, XLayout::Dense, XLayout::Csc]);
    }

    /// The CSC form of a CSR matrix.
    fn transposed(x: &SparseMatrix) -> SparseMatrix {
        let (n, g) = x.shape;
        let mut columns: Vec<Vec<(u32, f32)>> = vec![Vec::new(); g];
        for row in 0..n {
            for k in x.indptr[row] as usize..x.indptr[row + 1] as usize {
                columns[x.indices[k] as usize].push((row as u32, x.data[k]));
            }
        }
        let mut out = SparseMatrix { shape: (n, g), data: vec![], indices: vec![], indptr: vec![0] };
        for column in columns {
            for (row, v) in column {
                out.indices.push(row);
                out.data.push(v);
            }
            out.indptr.push(out.data.len() as u64);
        }
        out
    }
}
