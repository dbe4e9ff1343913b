//! The in-memory AnnData object the arena reads from and writes to `.h5ad`: X (dense, CSR or CSC),
//! `obs`/`var` data frames with their index names, `layers`, `obsm` and string arrays in `uns`.
//! Only the parts of AnnData the arena uses; everything read is kept so a round trip loses nothing
//! of these.

use ndarray::Array2;

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
