//! Mean pairwise Euclidean distances and the energy distance between sets of rows of a sparse
//! (CSR) cells × genes matrix: the same quantities as [`crate::distributional`]'s
//! `mean_pairwise_distance`, `mean_cross_distance` and `energy_distance_with_sigma_y` (cell-eval's
//! `_edistance`, sklearn `pairwise_distances(...).mean()` on all genes), without densifying.
//!
//! Each distance goes through the Gram expansion d² = ‖x‖² + ‖y‖² − 2x·y (clamped at 0), as
//! sklearn and the dense functions do. The genes are split once ([`GeneSplit`]): the frequently
//! expressed genes (stored for more than [`DENSE_DENSITY`] of the reference cells) are copied
//! dense and their part of x·y is a GEMM; the rest is sparse × sparse: one set is transposed into
//! gene-major blocks of [`BLOCK`] cells, and each row x of the other set adds x_k·y_k for every
//! rare gene k it stores into the dot products of the block's cells, so that work is
//! proportional to the genes both cells express. The dot products of a chunk of rows with one
//! block form a tile that is turned into distances at once, so no more than one tile of Gram
//! values per thread is ever held.
//!
//! Precision: values are f32 as stored. The GEMM runs in f32 over blocks of [`GEMM_GENES`]
//! genes (f32 products, f32 sums within a block: twice the f64 throughput), the blocks added in
//! f64; the sparse products, the norms and every sum of distances are f64. That puts the dot
//! products within ≈1e-7 relative of the f64 dense path (sklearn upcasts float32 input to f64
//! for its Gram; cell-eval then keeps the distances as float32, a larger rounding). Sums are
//! reduced in a fixed order, so results do not depend on the thread count.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, s};
use rayon::prelude::*;

use crate::de::CsrMatrix;

/// Rows of one set per parallel chunk of a distance sum. A chunk's tile of Gram values is
/// CHUNK × [`BLOCK`] f64 (4 MiB), reused for every block of the other set; 128 rows measured
/// slower on the VCC-scale benchmark.
const CHUNK: usize = 512;

/// Dense genes per f32 GEMM; the blocks' products are added in f64.
const GEMM_GENES: usize = 1024;

/// Cells per gene-major block: a block's per-gene lists are what a row scans, so longer lists
/// cost less loop overhead per multiply-add. A power of two, so that a cell's slot in a tile row
/// needs no bounds check. On 20,000 × 10,000 cells of 2,000 genes stored at 10% (all sparse),
/// 1,024 took 0.7× the CPU time of 256; 2,048 and 4,096 were no faster.
const BLOCK: usize = 1024;

/// A gene stored in more than this fraction of the reference cells goes to the dense part: for
/// two cells with densities p, q the sparse path costs ≈ p·q scattered multiply-adds per gene,
/// the f32 GEMM one vectorised multiply-add, ≈50x cheaper each (measured on the VCC-scale
/// benchmark, where 0.15 to 0.17 cost the least CPU time: 0.3 took 1.5x as long).
pub const DENSE_DENSITY: f64 = 0.15;

/// Which genes are handled dense, shared by every set compared with each other.
pub struct GeneSplit {
    /// Column in the dense copy of each gene, or `u32::MAX` for a sparse gene.
    slot: Vec<u32>,
    n_dense: usize,
}

impl GeneSplit {
    /// Genes stored in more than [`DENSE_DENSITY`] of the cells `rows` of `x` are dense.
    pub fn by_density(x: &CsrMatrix, rows: &[usize]) -> Self {
        let mut count = vec![0usize; x.n_cols];
        for &r in rows {
            for (k, _) in row(x, r) {
                count[k] += 1;
            }
        }
        let mut n_dense = 0;
        let slot = count
            .iter()
            .map(|&c| {
                if c as f64 > DENSE_DENSITY * rows.len() as f64 {
                    n_dense += 1;
                    (n_dense - 1) as u32
                } else {
                    u32::MAX
                }
            })
            .collect();
        GeneSplit { slot, n_dense }
    }
}

/// One block of cells, gene-major: the cells (block-local ids) storing sparse gene k and their
/// values are `cell[start[k]..start[k + 1]]` and `value[..]`.
struct GeneBlock {
    first: usize,
    len: usize,
    start: Vec<u32>,
    cell: Vec<u16>,
    value: Vec<f32>,
}

/// A set of cells (rows of a CSR matrix) prepared for distance sums: squared norms, the dense
/// genes as a cells × dense-genes matrix, the sparse genes both row-major and in gene-major
/// blocks.
pub struct SparseCells {
    n_genes: usize,
    norms: Vec<f64>,
    dense: Array2<f32>,
    /// Sparse-gene entries of cell i: `genes[indptr[i]..indptr[i + 1]]`, `values[..]`.
    indptr: Vec<usize>,
    genes: Vec<u32>,
    values: Vec<f32>,
    blocks: Vec<GeneBlock>,
}

impl SparseCells {
    /// The cells `rows` of `x` (in that order; each index must be < `x.n_rows`), genes split by
    /// `split` (made for a matrix with the same genes).
    pub fn new(x: &CsrMatrix, rows: &[usize], split: &GeneSplit) -> Self {
        let norms = rows.iter().map(|&r| row(x, r).map(|(_, v)| v * v).sum()).collect();
        let mut dense = Array2::<f32>::zeros((rows.len(), split.n_dense));
        let (mut indptr, mut genes, mut values) = (vec![0], Vec::new(), Vec::new());
        for (i, &r) in rows.iter().enumerate() {
            let (lo, hi) = (x.indptr[r] as usize, x.indptr[r + 1] as usize);
            for (&k, &v) in x.indices[lo..hi].iter().zip(&x.data[lo..hi]) {
                match split.slot.get(k as usize) {
                    Some(&d) if d != u32::MAX => dense[[i, d as usize]] = v,
                    _ => {
                        genes.push(k);
                        values.push(v);
                    }
                }
            }
            indptr.push(genes.len());
        }
        let mut cells = SparseCells { n_genes: x.n_cols, norms, dense, indptr, genes, values, blocks: Vec::new() };
        cells.blocks =
            (0..rows.len()).step_by(BLOCK).map(|lo| cells.gene_block(lo, (lo + BLOCK).min(rows.len()))).collect();
        cells
    }

    pub fn len(&self) -> usize {
        self.norms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.norms.is_empty()
    }

    /// Sparse-gene entries of cell `i`.
    fn sparse_row(&self, i: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
        let (lo, hi) = (self.indptr[i], self.indptr[i + 1]);
        self.genes[lo..hi].iter().zip(&self.values[lo..hi]).map(|(&k, &v)| (k as usize, f64::from(v)))
    }

    /// Gene-major copy of the sparse genes of cells `lo..hi` (a counting sort by gene).
    fn gene_block(&self, lo: usize, hi: usize) -> GeneBlock {
        let mut start = vec![0u32; self.n_genes + 1];
        for i in lo..hi {
            for (k, _) in self.sparse_row(i) {
                start[k + 1] += 1;
            }
        }
        for k in 0..self.n_genes {
            start[k + 1] += start[k];
        }
        let nnz = start[self.n_genes] as usize;
        let (mut cell, mut value) = (vec![0u16; nnz], vec![0f32; nnz]);
        let mut next = start.clone();
        for i in lo..hi {
            let (a, b) = (self.indptr[i], self.indptr[i + 1]);
            for (&k, &v) in self.genes[a..b].iter().zip(&self.values[a..b]) {
                let slot = &mut next[k as usize];
                cell[*slot as usize] = (i - lo) as u16;
                value[*slot as usize] = v;
                *slot += 1;
            }
        }
        GeneBlock { first: lo, len: hi - lo, start, cell, value }
    }
}

/// The stored (gene, value) entries of row `r`, values as f64.
fn row(x: &CsrMatrix, r: usize) -> impl Iterator<Item = (usize, f64)> + '_ {
    let (lo, hi) = (x.indptr[r] as usize, x.indptr[r + 1] as usize);
    x.indices[lo..hi].iter().zip(&x.data[lo..hi]).map(|(&k, &v)| (k as usize, f64::from(v)))
}

/// Σ over the cells i of `x` and j of `y` of √d²(x_i, y_j) (only j > i when `upper`: x and y
/// the same set), the sum of [`row_sums`] in row order.
fn distance_sum(x: &SparseCells, y: &SparseCells, upper: bool) -> f64 {
    row_sums(x, y, upper).iter().sum()
}

/// For every cell i of `x`, Σ_j √d²(x_i, y_j) over the cells j of `y` (only j > i when `upper`).
/// Rows of `x` run in parallel chunks of at most [`CHUNK`], as even as possible (130 rows are one
/// chunk, not 128 + 2). A chunk meets `y` one gene-major block at a time: the tile of Gram
/// values (chunk rows × block cells) is the GEMM of the dense genes plus the sparse dot products,
/// and each row's running sum then adds the tile's distances in order of j. Each row sum thus
/// runs over j in order, whatever the tiling and thread count. With `upper`, blocks wholly at or
/// below a chunk's diagonal are skipped.
fn row_sums(x: &SparseCells, y: &SparseCells, upper: bool) -> Vec<f64> {
    let n = x.len();
    let chunks = n.div_ceil(CHUNK).max(1);
    let size = n.div_ceil(chunks).max(1);
    let per_chunk: Vec<Vec<f64>> = (0..n.div_ceil(size))
        .into_par_iter()
        .map(|c| {
            let (lo, hi) = (c * size, ((c + 1) * size).min(n));
            let mut sums = vec![0.0f64; hi - lo];
            let mut tile = Array2::<f64>::zeros((hi - lo, BLOCK));
            let mut part = Array2::<f32>::zeros((hi - lo, BLOCK));
            let x_dense = x.dense.slice(s![lo..hi, ..]);
            for block in &y.blocks {
                let end = block.first + block.len;
                if upper && end <= lo + 1 {
                    continue;
                }
                tile.fill(0.0);
                let y_dense = y.dense.slice(s![block.first..end, ..]);
                add_dense_gram(
                    &mut tile.slice_mut(s![.., ..block.len]),
                    x_dense,
                    y_dense,
                    part.slice_mut(s![.., ..block.len]),
                );
                for ((i, mut g), sum) in (lo..hi).zip(tile.outer_iter_mut()).zip(sums.iter_mut()) {
                    let g: &mut [f64; BLOCK] =
                        g.as_slice_mut().and_then(|g| g.try_into().ok()).expect("row-major tile of BLOCK cells");
                    for (k, v) in x.sparse_row(i) {
                        let (a, b) = (block.start[k] as usize, block.start[k + 1] as usize);
                        for (&c, &w) in block.cell[a..b].iter().zip(&block.value[a..b]) {
                            g[usize::from(c) % BLOCK] += v * f64::from(w);
                        }
                    }
                    let from = if upper { (i + 1).clamp(block.first, end) } else { block.first };
                    let nx = x.norms[i];
                    for (j, &gj) in (from..end).zip(&g[from - block.first..]) {
                        *sum += (nx + y.norms[j] - 2.0 * gj).max(0.0).sqrt();
                    }
                }
            }
            sums
        })
        .collect();
    per_chunk.concat()
}

/// For every cell i of `x`, Σ_j ‖x_i − y_j‖ over the cells of `y` (empty when the gene counts
/// differ). The mean cross distance of any subset of x's cells is the sum of its rows' values over
/// (cells · |y|): a caller with many small sets against one `y` can stack them into one `x`, so
/// that each GEMM chunk is large.
pub fn cross_distance_row_sums(x: &SparseCells, y: &SparseCells) -> Vec<f64> {
    if x.n_genes != y.n_genes || x.dense.ncols() != y.dense.ncols() {
        return Vec::new();
    }
    row_sums(x, y, false)
}

/// Adds x·yᵀ of the dense genes to `gram`: an f32 GEMM into `part` per [`GEMM_GENES`] genes,
/// the blocks added in f64.
fn add_dense_gram(
    gram: &mut ndarray::ArrayViewMut2<'_, f64>,
    x: ArrayView2<'_, f32>,
    y: ArrayView2<'_, f32>,
    mut part: ndarray::ArrayViewMut2<'_, f32>,
) {
    for g0 in (0..x.ncols()).step_by(GEMM_GENES) {
        let g1 = (g0 + GEMM_GENES).min(x.ncols());
        general_mat_mul(1.0, &x.slice(s![.., g0..g1]), &y.slice(s![.., g0..g1]).t(), 0.0, &mut part);
        gram.zip_mut_with(&part, |g, &p| *g += f64::from(p));
    }
}

/// Mean Euclidean distance over all n² ordered pairs of cells, diagonal zeros included
/// (sklearn `pairwise_distances(x).mean()`), as [`crate::distributional::mean_pairwise_distance`].
/// NaN for an empty set; 0 for a single cell.
pub fn mean_pairwise_distance(x: &SparseCells) -> f64 {
    let n = x.len() as f64;
    if x.is_empty() {
        return f64::NAN;
    }
    2.0 * distance_sum(x, x, true) / (n * n)
}

/// Mean Euclidean distance over all (x_i, y_j) pairs (`pairwise_distances(x, y).mean()`), as
/// [`crate::distributional::mean_cross_distance`]. NaN when a set is empty or the gene counts
/// differ.
pub fn mean_cross_distance(x: &SparseCells, y: &SparseCells) -> f64 {
    if x.is_empty() || y.is_empty() || x.n_genes != y.n_genes || x.dense.ncols() != y.dense.ncols() {
        return f64::NAN;
    }
    distance_sum(x, y, false) / (x.len() as f64 * y.len() as f64)
}

/// Energy distance 2·E‖X−Y‖ − E‖X−X′‖ − σ_y with σ_y = E‖Y−Y′‖ precomputed (cell-eval's
/// `_edistance` with `precomp_sigma_y`), as [`crate::distributional::energy_distance_with_sigma_y`].
pub fn energy_distance_with_sigma_y(x: &SparseCells, y: &SparseCells, sigma_y: f64) -> f64 {
    2.0 * mean_cross_distance(x, y) - mean_pairwise_distance(x) - sigma_y
}

#[cfg(test)]
mod tests {
    use ndarray::Array2;

    use super::*;
    use crate::distributional as dense;
    use crate::pair::tests::{REAL_CTRL, REAL_PA, array as to_array};

    /// CSR copy of a dense matrix (zeros dropped), rows in order, columns reversed when `shuffle`.
    fn csr(a: &Array2<f64>, shuffle: bool) -> CsrMatrix {
        let (mut indptr, mut indices, mut data) = (vec![0u64], Vec::new(), Vec::new());
        for r in a.outer_iter() {
            let mut entries: Vec<(u32, f32)> =
                r.iter().enumerate().filter(|(_, v)| **v != 0.0).map(|(k, v)| (k as u32, *v as f32)).collect();
            if shuffle {
                entries.reverse();
            }
            indices.extend(entries.iter().map(|e| e.0));
            data.extend(entries.iter().map(|e| e.1));
            indptr.push(indices.len() as u64);
        }
        CsrMatrix { n_rows: a.nrows(), n_cols: a.ncols(), indptr, indices, data }
    }

    /// Every gene sparse, or every gene dense.
    fn uniform_split(n_genes: usize, dense: bool) -> GeneSplit {
        let slot = (0..n_genes as u32).map(|k| if dense { k } else { u32::MAX }).collect();
        GeneSplit { slot, n_dense: if dense { n_genes } else { 0 } }
    }

    /// Deterministic cells with f32-exact values; gene k is zero in about k/genes of the cells,
    /// so the density split puts some genes on each side.
    fn cells(n: usize, genes: usize, seed: u64) -> Array2<f64> {
        let mut s = seed;
        Array2::from_shape_fn((n, genes), |(_, k)| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let u = (s >> 40) as f64 / (1u64 << 24) as f64;
            if u < k as f64 / genes as f64 { 0.0 } else { f64::from((u * 3.0) as f32) }
        })
    }

    fn set<'a>(m: &'a CsrMatrix, rows: &'a [usize], split: &GeneSplit) -> SparseCells {
        SparseCells::new(m, rows, split)
    }

    #[test]
    fn matches_sklearn_fixture() {
        // Same sklearn values as distributional's test (cell-eval fixture cells, pair/tests.rs);
        // the values are rounded to f32 here, hence 1e-6.
        let (x, c) = (to_array(REAL_PA), to_array(REAL_CTRL));
        let (xm, cm) = (csr(&x, false), csr(&c, true));
        let (xr, cr): (Vec<usize>, Vec<usize>) = ((0..x.nrows()).collect(), (0..c.nrows()).collect());
        for split in [GeneSplit::by_density(&cm, &cr), uniform_split(c.ncols(), false), uniform_split(c.ncols(), true)]
        {
            let (xs, cs) = (set(&xm, &xr, &split), set(&cm, &cr, &split));
            assert!((mean_pairwise_distance(&xs) - 0.6262219138658559).abs() < 1e-6);
            assert!((mean_pairwise_distance(&cs) - 1.3411376198697047).abs() < 1e-6);
            assert!((mean_cross_distance(&xs, &cs) - 2.8137686709244876).abs() < 1e-6);
            let sigma = mean_pairwise_distance(&cs);
            assert!((energy_distance_with_sigma_y(&xs, &cs, sigma) - 3.6601778081134144).abs() < 1e-5);
        }
    }

    #[test]
    fn matches_dense_path_across_blocks_splits_and_row_subsets() {
        // 300 + 2,100 cells: the second set has two gene-major blocks and a partial last one, and
        // its pairwise sum runs in five row chunks that skip the blocks below them; a row subset in a
        // scrambled order. Values are f32-exact: with every gene sparse only the f64 summation
        // order differs from the dense path; dense genes add the f32 GEMM's rounding.
        let (a, b) = (cells(300, 57, 1), cells(2100, 57, 2));
        let (am, bm) = (csr(&a, true), csr(&b, false));
        let rows: Vec<usize> = (0..300).rev().filter(|r| r % 3 != 1).collect();
        let sub = a.select(ndarray::Axis(0), &rows);
        let all_b: Vec<usize> = (0..2100).collect();
        let by_density = GeneSplit::by_density(&bm, &all_b);
        assert!(by_density.n_dense > 5 && by_density.n_dense < 52, "{}", by_density.n_dense);
        let sigma_dense = dense::mean_pairwise_distance(b.view());
        for (split, tol) in [(by_density, 1e-6), (uniform_split(57, false), 1e-12), (uniform_split(57, true), 1e-6)] {
            let close = |s: f64, d: f64| (s - d).abs() <= tol * d.abs().max(1.0);
            let (xs, ys) = (set(&am, &rows, &split), set(&bm, &all_b, &split));
            // Row sums: any subset's mean cross distance, the rows stacked with others or alone.
            let sums = cross_distance_row_sums(&xs, &ys);
            let head = cross_distance_row_sums(&set(&am, &rows[..70], &split), &ys);
            assert!(head.iter().zip(&sums).all(|(h, s)| (h - s).abs() <= 1e-12 * s));
            let head_rows = a.select(ndarray::Axis(0), &rows[..70]);
            let head_mean = head.iter().sum::<f64>() / (70.0 * 2100.0);
            assert!(close(head_mean, dense::mean_cross_distance(head_rows.view(), b.view())));
            assert!(close(mean_pairwise_distance(&xs), dense::mean_pairwise_distance(sub.view())));
            assert!(close(mean_cross_distance(&xs, &ys), dense::mean_cross_distance(sub.view(), b.view())));
            let sigma = mean_pairwise_distance(&ys);
            assert!(close(sigma, sigma_dense));
            assert!(close(
                energy_distance_with_sigma_y(&xs, &ys, sigma),
                dense::energy_distance_with_sigma_y(sub.view(), b.view(), sigma_dense)
            ));
        }
    }

    #[test]
    fn degenerate_sets() {
        // Integer values: every product and sum is exact, so a set against itself gives 0.
        let a = ndarray::array![[1.0, 0.0, 2.0, 0.0], [0.0, 3.0, 0.0, 1.0], [2.0, 2.0, 0.0, 0.0]];
        let m = csr(&a, false);
        let (none, one, all): (Vec<usize>, Vec<usize>, Vec<usize>) = (vec![], vec![1], vec![0, 1, 2]);
        let split = GeneSplit::by_density(&m, &all);
        let empty = set(&m, &none, &split);
        assert!(mean_pairwise_distance(&empty).is_nan());
        assert!(mean_cross_distance(&empty, &set(&m, &all, &split)).is_nan());
        assert_eq!(mean_pairwise_distance(&set(&m, &one, &split)), 0.0);
        // A set against itself: energy distance 0.
        let s = set(&m, &all, &split);
        assert_eq!(energy_distance_with_sigma_y(&s, &s, mean_pairwise_distance(&s)), 0.0);
        // Different gene counts: NaN.
        let other = csr(&cells(2, 5, 4), false);
        let two = vec![0, 1];
        let other_set = set(&other, &two, &GeneSplit::by_density(&other, &two));
        assert!(mean_cross_distance(&s, &other_set).is_nan());
        assert!(cross_distance_row_sums(&s, &other_set).is_empty());
        // All-zero cells (no stored entries) and zero genes: every distance 0.
        let zeros = csr(&Array2::zeros((4, 6)), false);
        let four = vec![0, 1, 2, 3];
        assert_eq!(mean_pairwise_distance(&set(&zeros, &four, &GeneSplit::by_density(&zeros, &four))), 0.0);
        let no_genes = csr(&Array2::zeros((3, 0)), false);
        assert_eq!(mean_pairwise_distance(&set(&no_genes, &all, &GeneSplit::by_density(&no_genes, &all))), 0.0);
    }
}
