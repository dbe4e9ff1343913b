//! AnnData `.h5ad` files (the on-disk format of Python anndata >= 0.8, HDF5 with `encoding-type`
//! attributes): [`read_h5ad`] turns a file into an [`AnnData`](super::AnnData), [`write_h5ad`]
//! writes one atomically (or [`H5adStream`] a few rows at a time), [`read_head`] and [`read_x_rows`] read the obs/var frames and chosen rows
//! of X without the rest, and [`safety`] refuses files that would make HDF5 read
//! another file or allocate beyond this process's memory limit. This module owns the names of the encodings both sides agree on.

mod read;
mod rows;
pub mod safety;
mod stream;
mod write;

pub use read::{XLayout, read_h5ad};
pub use rows::{H5adHead, for_each_x_block, read_head, read_x, read_x_rows};
pub use stream::H5adStream;
pub use write::{Annotations, write_h5ad};

/// Attribute naming an element's encoding.
const ENCODING_TYPE: &str = "encoding-type";
/// Attribute naming the version of an element's encoding.
const ENCODING_VERSION: &str = "encoding-version";
/// Name used for a data frame's index when it has none.
const DEFAULT_INDEX: &str = "_index";
