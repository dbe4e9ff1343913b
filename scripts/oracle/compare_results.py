"""Compares cell-eval's and arena's output directories with the tolerances of
tests/oracle_cell_eval.rs.

usage: compare_results.py CELL_EVAL_DIR ARENA_DIR
results.csv (per perturbation x metric) and agg_results.csv (per statistic x metric): absolute
1e-6, pearson_edistance 1e-4; null/NaN only where the other side is null/NaN too; cell-eval's
clustering_agreement is not computed by arena. real_de.csv / pred_de.csv (per target x feature):
p_value, fdr, statistic relative 1e-9; log2_fold_change absolute 1e-6; target_mean, ref_mean,
percent_change 1e-6 absolute or relative; infinities must match; memberships exactly.
Prints the largest difference per column and exits 1 if any exceeds its tolerance.
"""

import sys
from pathlib import Path

import numpy as np
import polars as pl

EXCLUDED = {"clustering_agreement"}
DE_CHECKS = {  # column: (absolute, relative)
    "p_value": (0.0, 1e-9),
    "fdr": (0.0, 1e-9),
    "statistic": (0.0, 1e-9),
    "log2_fold_change": (1e-6, 0.0),
    "target_mean": (1e-6, 1e-6),
    "ref_mean": (1e-6, 1e-6),
    "percent_change": (1e-6, 1e-6),
}


def excess(a: np.ndarray, b: np.ndarray, abs_tol: float, rel_tol: float) -> tuple[float, int]:
    """Largest |a-b| and the number of entries outside max(abs_tol, rel_tol*max(|a|,|b|));
    NaN must meet NaN and an infinity the same infinity."""
    nan_a, nan_b = np.isnan(a), np.isnan(b)
    inf = np.isinf(a) | np.isinf(b)
    bad = (nan_a != nan_b) | (inf & (a != b))
    fin = ~(nan_a | nan_b | inf)
    diff = np.abs(a[fin] - b[fin])
    tol = np.maximum(abs_tol, rel_tol * np.maximum(np.abs(a[fin]), np.abs(b[fin])))
    n_bad = int(bad.sum() + (diff > tol).sum())
    return (float(diff.max()) if diff.size else 0.0), n_bad


def numeric(df: pl.DataFrame, col: str) -> np.ndarray:
    return df[col].cast(pl.Float64, strict=False).fill_null(np.nan).to_numpy()


def compare_keyed(ce_path: Path, ar_path: Path, key: str) -> int:
    ce = pl.read_csv(ce_path, infer_schema_length=0)
    ar = pl.read_csv(ar_path, infer_schema_length=0)
    if ce.height != ar.height:
        print(f"{ar_path.name}: {ar.height} rows, cell-eval has {ce.height}")
        return 1
    joined = ce.join(ar, on=key, how="left", suffix="__arena")
    bad = 0
    for col in ce.columns:
        if col == key or col in EXCLUDED:
            continue
        if col not in ar.columns:
            print(f"{ar_path.name} {col}: missing in arena")
            bad += 1
            continue
        tol = 1e-4 if col == "pearson_edistance" else 1e-6
        worst, n_bad = excess(numeric(joined, col), numeric(joined, f"{col}__arena"), tol, 0.0)
        bad += n_bad > 0
        print(f"{ar_path.name:18s} {col:30s} max |diff| = {worst:.3e}  {'ok' if n_bad == 0 else f'{n_bad} DIFFER'}")
    return bad


def compare_de(ce_path: Path, ar_path: Path) -> int:
    cols = ["target", "feature", "target_membership", "ref_membership", *DE_CHECKS]
    ce = pl.read_csv(ce_path, columns=cols, schema_overrides={"target": pl.Utf8, "feature": pl.Utf8})
    ar = pl.read_csv(ar_path, columns=cols, schema_overrides={"target": pl.Utf8, "feature": pl.Utf8})
    if ce.height != ar.height:
        print(f"{ar_path.name}: {ar.height} rows, cell-eval has {ce.height}")
        return 1
    joined = ce.join(ar, on=["target", "feature"], how="left", suffix="__arena")
    bad = 0
    for col in ["target_membership", "ref_membership"]:
        n_bad = int((joined[col] != joined[f"{col}__arena"]).fill_null(True).sum())
        bad += n_bad > 0
        print(f"{ar_path.name:18s} {col:30s} {'ok' if n_bad == 0 else f'{n_bad} DIFFER'}")
    for col, (abs_tol, rel_tol) in DE_CHECKS.items():
        worst, n_bad = excess(numeric(joined, col), numeric(joined, f"{col}__arena"), abs_tol, rel_tol)
        bad += n_bad > 0
        print(f"{ar_path.name:18s} {col:30s} max |diff| = {worst:.3e}  {'ok' if n_bad == 0 else f'{n_bad} DIFFER'}")
    return bad


def main() -> int:
    ce_dir, ar_dir = Path(sys.argv[1]), Path(sys.argv[2])
    bad = compare_keyed(ce_dir / "results.csv", ar_dir / "results.csv", "perturbation")
    bad += compare_keyed(ce_dir / "agg_results.csv", ar_dir / "agg_results.csv", "statistic")
    for name in ["real_de.csv", "pred_de.csv"]:
        bad += compare_de(ce_dir / name, ar_dir / name)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
