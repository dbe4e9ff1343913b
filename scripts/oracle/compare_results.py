"""Compares cell-eval's and arena's results.csv (per perturbation x metric).

usage: compare_results.py CELL_EVAL_RESULTS.csv ARENA_RESULTS.csv
Prints the largest absolute difference per shared metric and exits 1 if any exceeds its tolerance
(1e-6; pearson_edistance 1e-4, see tests/oracle_cell_eval.rs; clustering_agreement is not computed
by arena).
"""

import sys

import numpy as np
import polars as pl


def main() -> int:
    ce = pl.read_csv(sys.argv[1]).sort("perturbation")
    ar = pl.read_csv(sys.argv[2]).sort("perturbation")
    bad = 0
    for col in ce.columns:
        if col in ("perturbation", "clustering_agreement"):
            continue
        if col not in ar.columns:
            print(f"{col}: missing in arena")
            bad += 1
            continue
        a = ce[col].cast(pl.Float64).to_numpy()
        b = ar[col].cast(pl.Float64).to_numpy()
        both_nan = np.isnan(a) & np.isnan(b)
        diff = np.where(both_nan, 0.0, np.abs(a - b))
        worst = float(np.nanmax(diff)) if diff.size else 0.0
        if np.isnan(diff).any():
            worst = float("inf")
        tol = 1e-4 if col == "pearson_edistance" else 1e-6
        flag = "ok" if worst <= tol else "DIFFERS"
        bad += flag != "ok"
        print(f"{col:32s} max |diff| = {worst:.3e}  {flag}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
