"""Turns `arena simulate` output into the benchmark inputs of bench/score_vs_cell_eval.sh.

real.h5ad: X = the simulator's log1p-normalised X as CSR float32, obs['target'] = perturbation
label (control 'ctrl'). pred.h5ad: a deliberately imperfect prediction: every stored value
multiplied by (1 + N(0, 0.1)) noise (seed 0, sparsity kept, clipped at 0), and the cells of the first
two perturbations swapped.

usage: make_bench_files.py SIM.h5ad REAL.h5ad PRED.h5ad
"""

import sys

import anndata as ad
import numpy as np
import scipy.sparse as sp


def main() -> None:
    sim_path, real_path, pred_path = sys.argv[1:4]
    sim = ad.read_h5ad(sim_path)
    x = sim.X
    x = sp.csr_matrix(x, dtype=np.float32) if not sp.issparse(x) else x.tocsr().astype(np.float32)
    x.eliminate_zeros()
    labels = sim.obs["perturbation"].astype(str).to_numpy()
    obs = ad.AnnData(obs={"target": labels}).obs
    obs.index = sim.obs_names
    obs["target"] = obs["target"].astype("category")
    real = ad.AnnData(X=x, obs=obs, var=sim.var[[]].copy())
    real.write_h5ad(real_path)

    rng = np.random.default_rng(0)
    y = x.copy()
    y.data = np.clip(y.data * (1.0 + 0.1 * rng.standard_normal(y.data.size)), 0, None).astype(np.float32)
    y.eliminate_zeros()
    perts = sorted(p for p in set(labels) if p != "ctrl")
    a, b = perts[0], perts[1]
    swapped = labels.copy()
    swapped[labels == a] = b
    swapped[labels == b] = a
    pobs = obs.copy()
    pobs["target"] = swapped
    pobs["target"] = pobs["target"].astype("category")
    ad.AnnData(X=y, obs=pobs, var=sim.var[[]].copy()).write_h5ad(pred_path)
    print(f"real: {x.shape[0]} cells x {x.shape[1]} genes, nnz {x.nnz}; {len(perts)} perturbations")


if __name__ == "__main__":
    main()
