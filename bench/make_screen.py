"""Writes a large synthetic screen for the scale benchmarks (bench/rss_vs_cells.sh, bench/ccl1_scale.sh):
a real and a predicted .h5ad, CSR float32 X written block by block (h5py, never the whole matrix in
memory), obs column `target` (categorical: `ctrl` and P0000..), cells grouped by label (or scattered: ORDER below).

    python bench/make_screen.py OUTDIR PERTS CELLS_PER_PERT CONTROLS GENES DENSITY SEED [VALUES] [ORDER]

VALUES is `log1p` (default: log1p-like values; perturbation k raises genes 20k..20k+19 (mod GENES)
by 0.6) or `counts` (raw UMI counts, integers >= 1 where stored: 1 + Poisson(Gamma(1.5, 2));
perturbation k is labelled by its target gene G<k>, which it knocks out, and doubles genes
20k..20k+19; needs PERTS <= GENES). The prediction is the real data with 10% multiplicative
noise (rounded to integers for counts). ORDER is `grouped` (default: cells grouped by label) or
`scattered` (labels in a seeded random order through the file, as in screens written in capture
order). Prints the shape, the number of stored values and, for counts, the median UMI per cell.
"""

import sys

import anndata
import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

BLOCK = 20_000


def log1p_block(block_rng, noise_rng, mask, labels):
    """log1p-like values at the stored positions; perturbation k raises genes 20k..20k+19 by 0.6."""
    genes = mask.shape[1]
    values = np.log1p(block_rng.gamma(1.5, 2.0, size=mask.shape)).astype(np.float32)
    for i, label in enumerate(labels):
        if label != "ctrl":
            k = int(label[1:])
            values[i, (np.arange(20) + 20 * k) % genes] += 0.6
    values = np.where(mask, values, 0.0).astype(np.float32)
    if noise_rng is not None:
        values *= (1.0 + 0.1 * noise_rng.standard_normal(values.shape)).clip(0.5, 1.5).astype(np.float32)
    return sp.csr_matrix(values)


def count_block(block_rng, noise_rng, mask, labels):
    """UMI counts drawn at the stored positions only: 1 + Poisson(Gamma(1.5, 2)); perturbation k
    (label G<k>) knocks out gene k and doubles genes 20k..20k+19; the prediction rounds 10%
    multiplicative noise and drops the zeros."""
    genes = mask.shape[1]
    rows, cols = np.nonzero(mask)
    values = (1 + block_rng.poisson(block_rng.gamma(1.5, 2.0, size=rows.size))).astype(np.float32)
    target = np.array([int(label[1:]) if label != "ctrl" else -1 for label in labels])[rows]
    raised = (target >= 0) & (((cols - 20 * target) % genes) < 20)
    values[raised] *= 2
    values[cols == target] = 0
    if noise_rng is not None:
        values = np.rint(values * (1.0 + 0.1 * noise_rng.standard_normal(values.size)).clip(0.5, 1.5))
    keep = values != 0
    block = sp.csr_matrix((values[keep].astype(np.float32), (rows[keep], cols[keep])), shape=mask.shape)
    block.sort_indices()
    return block


def main() -> None:
    out, perts, per, controls, genes, density, seed = sys.argv[1:8]
    counts = (sys.argv[8] if len(sys.argv) > 8 else "log1p") == "counts"
    perts, per, controls, genes, density, seed = int(perts), int(per), int(controls), int(genes), float(density), int(seed)
    if counts and perts > genes:
        sys.exit(f"make_screen: counts mode labels each perturbation by a gene, so PERTS ({perts}) must be <= GENES ({genes})")
    # Counts: perturbation k is named by its target gene (the vcc2026 profile excludes it by name).
    label = (lambda k: f"G{k:05d}") if counts else (lambda k: f"P{k:04d}")
    labels = ["ctrl"] * controls + [label(k) for k in range(perts) for _ in range(per)]
    if len(sys.argv) > 9 and sys.argv[9] == "scattered":
        labels = [labels[i] for i in np.random.default_rng(seed + 1).permutation(len(labels))]
    n = len(labels)
    obs = pd.DataFrame({"target": pd.Categorical(labels)}, index=[f"c{i}" for i in range(n)])
    var = pd.DataFrame(index=[f"G{g:05d}" for g in range(genes)])
    rng = np.random.default_rng(seed)
    totals = []
    nnz = 0
    for name, noise in (("real", False), ("pred", True)):
        path = f"{out}/{name}.h5ad"
        empty = sp.csr_matrix((n, genes), dtype=np.float32)
        anndata.AnnData(X=empty, obs=obs, var=var).write_h5ad(path)
        block_rng = np.random.default_rng(seed)  # the same cells on both sides
        with h5py.File(path, "r+") as f:
            del f["X"]
            x = f.create_group("X")
            x.attrs["encoding-type"] = "csr_matrix"
            x.attrs["encoding-version"] = "0.1.0"
            x.attrs["shape"] = np.array([n, genes], dtype=np.int64)
            data = x.create_dataset("data", (0,), maxshape=(None,), dtype=np.float32, chunks=(1 << 20,))
            indices = x.create_dataset("indices", (0,), maxshape=(None,), dtype=np.int32, chunks=(1 << 20,))
            indptr = [0]
            for start in range(0, n, BLOCK):
                rows = range(start, min(n, start + BLOCK))
                mask = block_rng.random((len(rows), genes)) < density
                if counts:
                    block = count_block(block_rng, rng if noise else None, mask, [labels[r] for r in rows])
                    if name == "real":
                        totals.extend(np.asarray(block.sum(axis=1)).ravel().tolist())
                else:
                    block = log1p_block(block_rng, rng if noise else None, mask, [labels[r] for r in rows])
                at = data.shape[0]
                data.resize((at + block.nnz,))
                indices.resize((at + block.nnz,))
                data[at:] = block.data
                indices[at:] = block.indices.astype(np.int32)
                indptr.extend((block.indptr[1:] + at).tolist())
            x.create_dataset("indptr", data=np.array(indptr, dtype=np.int64))
            nnz = data.shape[0]
    depth = f", median {np.median(totals):.0f} UMI per cell" if counts else ""
    print(f"{n} cells x {genes} genes, {perts} perturbations x {per} cells + {controls} controls, {nnz} stored values per file{depth}")


if __name__ == "__main__":
    main()
