//! The data layer: AnnData `.h5ad` and `.npz` readers/writers, count normalisation, the dataset
//! registry (`datasets.toml`), downloads into the cache, and loaders that turn files into
//! `tasks::Dataset`.

pub mod anndata;
pub mod collectri;
pub mod error;
pub mod fetch;
pub mod gi_fits;
pub mod grouped;
pub mod h5ad;
pub mod load;
pub mod locate;
pub mod normalize;
pub mod npz;
pub mod output;
pub mod progress;
pub mod registry;

pub use anndata::{AnnData, Column, Frame, Matrix, SparseMatrix};
pub use error::DataError;
pub use fetch::{FetchOptions, cache_dir, fetch};
pub use h5ad::{
    Annotations, H5adHead, H5adStream, XLayout, for_each_x_block, read_h5ad, read_head, read_x, read_x_rows, write_h5ad,
};
pub use normalize::{
    looks_like_counts, normalize_total_log1p, normalize_total_log1p_csr, normalize_total_log1p_row,
    normalize_total_log1p_rows,
};
pub use npz::{Npz, read_npz};
pub use registry::{DatasetEntry, LocalStatus, Registry, sha256_file, shared_data_dir, verify_local};
