"""The cell-eval2 0.20.0 side of tests/oracle_cell_eval2.rs (the Python oracle of `arena score
--profile vcc2026`). Run with the repository's .venv python.

  run REAL PRED OUT CONTROL  `cell-eval2 run --preset vcc2026 --write-degenes` into OUT, with the
                             DE tables also written as OUT/de_real.csv and OUT/de_pred.csv
  run-v1 REAL PRED OUT CONTROL
                             `cell-eval2 run --preset v1` (log1p input) into OUT
  baseline REAL BASELINE OUT CONTROL
                             checks that the arena's baseline prediction BASELINE (`--anchor-baseline-out`)
                             is cell-eval2's construction (`baseline.generic_response_profile`,
                             `_emission_scale`: every emitted cell is a real control cell times the
                             per-gene scale, in float32; group sizes and control cells as the
                             reference), then scores it as cell-eval2's `baseline` does
                             (`--preset vcc2026`, fractional counts allowed) into OUT
  split-anchor REAL COL OUT CONTROL
                             cell-eval2's replicate anchor (`anchor.compute_replicate_anchor`,
                             one split) on the FIXED split in obs column COL of REAL (cells 'a'
                             are half A, the reference side; 'b' half B), written as OUT/anchor.csv
                             (metric, replicate): the estimator, fed the arena's split instead of
                             numpy's seeded one.
"""
import os
import subprocess
import sys


def run(real, pred, out, control):
    exe = os.path.join(os.path.dirname(sys.executable), "cell-eval2")
    subprocess.run([exe, "run", "-ar", real, "-ap", pred, "--preset", "vcc2026",
                    "--control", control, "--write-degenes", "-o", out], check=True)
    import polars as pl
    for side in ("real", "pred"):
        df = pl.read_parquet(os.path.join(out, f"de_{side}.parquet"))
        df.select("target", "feature", "log2_fold_change", "p_value", "p_adj").write_csv(
            os.path.join(out, f"de_{side}.csv"), float_precision=None)


def run_v1(real, pred, out, control):
    exe = os.path.join(os.path.dirname(sys.executable), "cell-eval2")
    subprocess.run([exe, "run", "-ar", real, "-ap", pred, "--preset", "v1",
                    "--control", control, "-o", out], check=True)


def baseline(real, base, out, control):
    import anndata as ad
    import numpy as np
    from cell_eval2.baseline import _emission_scale, generic_response_profile
    r, b = ad.read_h5ad(real), ad.read_h5ad(base)
    genes = np.asarray(r.var_names).astype(str)
    assert (np.asarray(b.var_names).astype(str) == genes).all(), "genes differ"
    prof = generic_response_profile(r, pert_col="target", control=control)
    rl, bl = r.obs["target"].astype(str).to_numpy(), b.obs["target"].astype(str).to_numpy()
    ctrl = r.X[rl == control].toarray().astype(np.float64)
    scale, _ = _emission_scale(prof.values, ctrl.mean(axis=0), genes)
    emitted = {(row * scale).astype(np.float32).tobytes() for row in ctrl}
    bx = b.X.toarray().astype(np.float32)
    for label in sorted(set(rl)):
        assert (rl == label).sum() == (bl == label).sum(), f"group size of {label} differs"
    for i in np.flatnonzero(bl != control):
        assert bx[i].tobytes() in emitted, f"baseline cell {i} ({bl[i]}) is not a scaled control cell"
    same_ctrl = sorted(x.tobytes() for x in ctrl.astype(np.float32))
    assert sorted(x.tobytes() for x in bx[bl == control]) == same_ctrl, "control cells differ"
    exe = os.path.join(os.path.dirname(sys.executable), "cell-eval2")
    subprocess.run([exe, "run", "-ar", real, "-ap", base, "--preset", "vcc2026", "--control", control,
                    "--set", "allow_fractional_counts=true", "-o", out], check=True)


def split_anchor(real, col, out, control):
    import dataclasses
    import anndata as ad
    import numpy as np
    import polars as pl
    import cell_eval2.anchor as anchor
    import cell_eval2.lfc_nmae_ref as lfc_ref
    from cell_eval2.config import EvalConfig

    adata = ad.read_h5ad(real)
    half = adata.obs[col].astype(str).to_numpy()

    def fixed_halves(real_ad, pert_col, control, seed):
        h = real_ad.obs[col].astype(str).to_numpy()
        return (real_ad[np.flatnonzero(h == "a")].copy(), real_ad[np.flatnonzero(h == "b")].copy())

    anchor._disjoint_halves = fixed_halves
    lfc_ref._disjoint_halves = fixed_halves
    assert (half == "a").any() and (half == "b").any()
    _splits, frame = anchor.compute_replicate_anchor(
        adata, config=dataclasses.replace(EvalConfig.from_preset("vcc2026"), control=control), base_seed=0, n_splits=1)
    os.makedirs(out, exist_ok=True)
    frame.select("metric", "replicate").write_csv(os.path.join(out, "anchor.csv"), float_precision=None)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "run":
        run(*sys.argv[2:6])
    elif cmd == "run-v1":
        run_v1(*sys.argv[2:6])
    elif cmd == "baseline":
        baseline(*sys.argv[2:6])
    elif cmd == "split-anchor":
        split_anchor(*sys.argv[2:6])
    else:
        raise SystemExit(__doc__)
