"""Writes a large synthetic screen for the memory benchmarks (bench/rss_vs_cells.sh): a real and a
predicted .h5ad, CSR float32 log1p-like X written block by block (h5py, never the whole matrix in
memory), obs column `target` (categorical: `ctrl` and P0000..), cells grouped by label.

    python bench/make_screen.py OUTDIR PERTS CELLS_PER_PERT CONTROLS GENES DENSITY SEED

Perturbation k raises genes 20k..20k+19 (mod GENES) by 0.6; the prediction is the real data with
10% multiplicative noise. Prints the shape and the number of stored values.
"""

import sys

import anndata
import h5py
import numpy as np
import pandas as pd
import scipy.sparse as sp

BLOCK = 20_000


def main() -> None:
    out, perts, per, controls, genes, density, seed = sys.argv[1:8]
    perts, per, controls, genes, density, seed = int(perts), int(per), int(controls), int(genes), float(density), int(seed)
    labels = ["ctrl"] * controls + [f"P{k:04d}" for k in range(perts) for _ in range(per)]
    n = len(labels)
    obs = pd.DataFrame({"target": pd.Categorical(labels)}, index=[f"c{i}" for i in range(n)])
    var = pd.DataFrame(index=[f"G{g:05d}" for g in range(genes)])
    rng = np.random.default_rng(seed)
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
                values = np.log1p(block_rng.gamma(1.5, 2.0, size=mask.shape)).astype(np.float32)
                for i, r in enumerate(rows):
                    if labels[r] != "ctrl":
                        k = int(labels[r][1:])
                        cols = (np.arange(20) + 20 * k) % genes
                        values[i, cols] += 0.6
                values = np.where(mask, values, 0.0).astype(np.float32)
                if noise:
                    values *= (1.0 + 0.1 * rng.standard_normal(values.shape)).clip(0.5, 1.5).astype(np.float32)
                block = sp.csr_matrix(values)
                at = data.shape[0]
                data.resize((at + block.nnz,))
                indices.resize((at + block.nnz,))
                data[at:] = block.data
                indices[at:] = block.indices.astype(np.int32)
                indptr.extend((block.indptr[1:] + at).tolist())
            x.create_dataset("indptr", data=np.array(indptr, dtype=np.int64))
            nnz = data.shape[0]
    print(f"{n} cells x {genes} genes, {perts} perturbations x {per} cells + {controls} controls, {nnz} stored values per file")


if __name__ == "__main__":
    main()
