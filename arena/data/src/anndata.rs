//! The in-memory AnnData object the arena reads from and writes to `.h5ad`: X (dense, CSR or CSC),
//! `obs`/`var` data frames with their index names, `layers`, `obsm` and string arrays in `uns`.
//! Only the parts of AnnData the arena uses; everything read is kept so a round trip loses nothing
//! of these.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

/// Rows per parallel task when a dense matrix is compressed.
const CSR_CHUNK_ROWS: usize = 256;

/// Compressed sparse matrix. For CSR `indptr` runs over rows and `indices` are column indices;
/// for CSC the roles swap. `shape` is always (rows, columns).
#[derive(Debug, Clone, PartialEq)]
pub struct SparseMatrix {
    pub shape: (usize, usize),
    pub data: Vec<f32>,
    pub indices: Vec<u32>,
    pub indptr: Vec<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Matrix {
    Dense(Array2<f32>),
    Csr(SparseMatrix),
    Csc(SparseMatrix),
}

impl Matrix {
    pub fn shape(&self) -> (usize, usize) {
        match self {
            Matrix::Dense(a) => (a.nrows(), a.ncols()),
            Matrix::Csr(s) | Matrix::Csc(s) => s.shape,
        }
    }

    /// Dense copy (rows x columns).
    pub fn to_dense(&self) -> Array2<f32> {
        match self {
            Matrix::Dense(a) => a.clone(),
            Matrix::Csr(s) => {
                let mut out = Array2::zeros(s.shape);
                for row in 0..s.shape.0 {
                    for k in s.indptr[row] as usize..s.indptr[row + 1] as usize {
                        out[[row, s.indices[k] as usize]] += s.data[k];
                    }
                }
                out
            }
            Matrix::Csc(s) => {
                let mut out = Array2::zeros(s.shape);
                for col in 0..s.shape.1 {
                    for k in s.indptr[col] as usize..s.indptr[col + 1] as usize {
                        out[[s.indices[k] as usize, col]] += s.data[k];
                    }
                }
                out
            }
        }
    }

    /// The matrix as CSR (explicit zeros of a dense matrix are dropped; CSC is transposed).
    pub fn into_csr(self) -> SparseMatrix {
        match self {
            Matrix::Csr(s) => s,
            Matrix::Dense(a) => SparseMatrix::csr_from_dense(a.view()),
            Matrix::Csc(s) => {
                let (n, g) = s.shape;
                let mut counts = vec![0u64; n + 1];
                for &r in &s.indices {
                    counts[r as usize + 1] += 1;
                }
                for i in 0..n {
                    counts[i + 1] += counts[i];
                }
                let indptr = counts.clone();
                let mut next = counts;
                let mut data = vec![0f32; s.data.len()];
                let mut indices = vec![0u32; s.data.len()];
                for col in 0..g {
                    for k in s.indptr[col] as usize..s.indptr[col + 1] as usize {
                        let r = s.indices[k] as usize;
                        let dst = next[r] as usize;
                        data[dst] = s.data[k];
                        indices[dst] = col as u32;
                        next[r] += 1;
                    }
                }
                SparseMatrix { shape: (n, g), data, indices, indptr }
            }
        }
    }
}

impl SparseMatrix {
    /// An empty CSR matrix of `shape` to be filled row by row (`indptr` = `[0]`), with room for
    /// its `shape.0` rows and `nnz` stored values, so that filling it never reallocates.
    pub fn csr_with_capacity(shape: (usize, usize), nnz: usize) -> SparseMatrix {
        let mut indptr = Vec::with_capacity(shape.0 + 1);
        indptr.push(0);
        SparseMatrix { shape, data: Vec::with_capacity(nnz), indices: Vec::with_capacity(nnz), indptr }
    }

    /// The rows `rows` of a CSR matrix, in that order.
    pub fn select_rows(&self, rows: &[usize]) -> SparseMatrix {
        let nnz = rows.iter().map(|&row| (self.indptr[row + 1] - self.indptr[row]) as usize).sum();
        let mut out = SparseMatrix::csr_with_capacity((rows.len(), self.shape.1), nnz);
        for &row in rows {
            let (lo, hi) = (self.indptr[row] as usize, self.indptr[row + 1] as usize);
            out.data.extend_from_slice(&self.data[lo..hi]);
            out.indices.extend_from_slice(&self.indices[lo..hi]);
            out.indptr.push(out.data.len() as u64);
        }
        out
    }

    /// CSR form of a dense matrix (zeros dropped), rows compressed in parallel.
    pub fn csr_from_dense(a: ArrayView2<f32>) -> SparseMatrix {
        let (n, g) = a.dim();
        let blocks: Vec<(Vec<f32>, Vec<u32>, Vec<u64>)> = (0..n.div_ceil(CSR_CHUNK_ROWS))
            .into_par_iter()
            .map(|b| {
                let (mut data, mut indices, mut lens) = (Vec::new(), Vec::new(), Vec::new());
                for row in a.rows().into_iter().skip(b * CSR_CHUNK_ROWS).take(CSR_CHUNK_ROWS) {
                    let before = data.len();
                    for (j, &v) in row.iter().enumerate() {
                        if v != 0.0 {
                            data.push(v);
                            indices.push(j as u32);
                        }
                    }
                    lens.push((data.len() - before) as u64);
                }
                (data, indices, lens)
            })
            .collect();
        let nnz = blocks.iter().map(|b| b.0.len()).sum();
        let mut out = SparseMatrix::csr_with_capacity((n, g), nnz);
        for (data, indices, lens) in blocks {
            out.data.extend_from_slice(&data);
            out.indices.extend_from_slice(&indices);
            for len in lens {
                out.indptr.push(out.indptr[out.indptr.len() - 1] + len);
            }
        }
        out
    }
}

/// One column of `obs` or `var`.
#[derive(Debug, Clone, PartialEq)]
pub enum Column {
    /// pandas categorical: `codes[i]` indexes `categories`; −1 is missing.
    Categorical {
        codes: Vec<i32>,
        categories: Vec<String>,
    },
    Strings(Vec<String>),
    Float(Vec<f64>),
    Int(Vec<i64>),
    Bool(Vec<bool>),
}

impl Column {
    pub fn len(&self) -> usize {
        match self {
            Column::Categorical { codes, .. } => codes.len(),
            Column::Strings(v) => v.len(),
            Column::Float(v) => v.len(),
            Column::Int(v) => v.len(),
            Column::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The column as text per row (categorical and string columns; `None` for a missing category).
    pub fn as_labels(&self) -> Option<Vec<Option<String>>> {
        match self {
            Column::Categorical { codes, categories } => {
                Some(codes.iter().map(|&c| usize::try_from(c).ok().and_then(|c| categories.get(c)).cloned()).collect())
            }
            Column::Strings(v) => Some(v.iter().cloned().map(Some).collect()),
            _ => None,
        }
    }
}

/// A data frame as AnnData stores it: an index and ordered named columns.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Frame {
    /// Name of the index column in the file (`_index` when unnamed).
    pub index_name: String,
    pub index: Vec<String>,
    pub columns: Vec<(String, Column)>,
}

impl Frame {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|(n, _)| n == name).map(|(_, c)| c)
    }

    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AnnData {
    pub x: Matrix,
    pub obs: Frame,
    pub var: Frame,
    pub layers: Vec<(String, Matrix)>,
    pub obsm: Vec<(String, Matrix)>,
    /// String arrays stored in `uns` (e.g. protein names of an `obsm` matrix).
    pub uns_strings: Vec<(String, Vec<String>)>,
}

impl AnnData {
    pub fn n_obs(&self) -> usize {
        self.x.shape().0
    }

    pub fn n_vars(&self) -> usize {
        self.x.shape().1
    }

    pub fn layer(&self, name: &str) -> Option<&Matrix> {
        self.layers.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }

    pub fn obsm(&self, name: &str) -> Option<&Matrix> {
        self.obsm.iter().find(|(n, _)| n == name).map(|(_, m)| m)
    }

    pub fn uns_strings(&self, name: &str) -> Option<&[String]> {
        self.uns_strings.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csc_and_dense_convert_to_the_same_csr() {
        let dense = ndarray::arr2(&[[1.0f32, 0.0, 3.0], [0.0, 0.0, 0.0], [0.0, 2.0, 2.5]]);
        let a = Matrix::Dense(dense.clone()).into_csr();
        let csc = SparseMatrix {
            shape: (3, 3),
            data: vec![1.0, 2.0, 3.0, 2.5],
            indices: vec![0, 2, 0, 2],
            indptr: vec![0, 1, 2, 4],
        };
        let b = Matrix::Csc(csc).into_csr();
        assert_eq!(a, b);
        assert_eq!(a.indptr, [0, 2, 2, 4]);
        assert_eq!(Matrix::Csr(a).to_dense(), dense);
    }

    #[test]
    fn csr_from_dense_joins_parallel_blocks_in_row_order() {
        // More rows than one block, some rows empty: row i holds i % 3 at column i % 4.
        let n = 2 * CSR_CHUNK_ROWS + 7;
        let dense = Array2::from_shape_fn((n, 4), |(i, j)| if j == i % 4 { (i % 3) as f32 } else { 0.0 });
        let s = SparseMatrix::csr_from_dense(dense.view());
        assert_eq!(s.indptr.len(), n + 1);
        assert_eq!(s.data.len(), (0..n).filter(|i| i % 3 != 0).count());
        assert!(s.data.iter().all(|&v| v != 0.0));
        assert_eq!(Matrix::Csr(s).to_dense(), dense);
    }
}
