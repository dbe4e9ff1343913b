#!/usr/bin/env bash
# Benchmark: `arena score --profile vcc2026` vs `cell-eval2 run --preset vcc2026` (0.20.0, CPU
# backend pdex) on simulated raw counts, in the same run on this machine. Checks that every
# per-perturbation value agrees (within 1e-6) and writes bench/results/vcc2026.md (wall time,
# peak RSS, ratios, load averages, the scale).
#   bash bench/vcc2026.sh [WORKDIR] [PERTS] [CELLS] [GENES]
#     defaults: /tmp/arena-vcc2026-bench, 60 perturbations x 100 cells (+ 4x as many controls),
#     2,000 genes, median ~5,000 UMI per cell. The VCC 2026 scale (300 x 400, 18,533 genes,
#     ~20,000 UMI) is `bash bench/vcc2026.sh DIR 300 400 18533` and needs a quiet large machine.
# Environment: ARENA=path/to/arena (default: build --release); ARENA_ARGS="--batch-cells 6000"
# adds a second arena run with those options (its results must equal the first's byte for byte).
# Each run starts once the 1-minute load average is below 1 (QUIET_WAIT seconds at most).
set -euo pipefail
cd "$(dirname "$0")/.."
source bench/lib.sh
work=${1:-/tmp/arena-vcc2026-bench}
perts=${2:-60}
cells=${3:-100}
genes=${4:-2000}
mkdir -p "$work" bench/results
[ -x .venv/bin/cell-eval2 ] || { echo "missing .venv/bin/cell-eval2: run bash scripts/python-env.sh" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "missing /usr/bin/time (apt-get install time)" >&2; exit 1; }
arena=$(arena_binary)

# Raw counts: negative binomial cells around gene means drawn once; each perturbation knocks
# down its own gene (named like it) and shifts 50 others; the prediction is an independent draw
# of the same model with a 20% shrunk effect (integer counts, seeded).
.venv/bin/python - "$work" "$perts" "$cells" "$genes" <<'PY'
import sys, numpy as np, scipy.sparse as sp, anndata as ad, pandas as pd
work, P, C, G = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
rng = np.random.default_rng(0)
genes = [f"G{g:05d}" for g in range(G)]
base = rng.lognormal(0.0, 1.5, G); base = base / base.sum()
depth = 5000.0 if G < 10000 else 20000.0
eff = []
for p in range(P):
    lfc = np.zeros(G); lfc[p] = -2.0
    idx = rng.choice(np.arange(P, G), 50, replace=False); lfc[idx] = rng.normal(0, 1.0, 50)
    eff.append(lfc)
def draw(shrink, seed):
    r = np.random.default_rng(seed)
    blocks, labels = [], []
    for label, lfc, n in [("non-targeting", np.zeros(G), 4 * C)] + [(genes[p], eff[p] * shrink, C) for p in range(P)]:
        mu = base * np.exp2(lfc); mu = mu / mu.sum()
        lib = r.lognormal(np.log(depth), 0.3, n)
        lam = r.gamma(5.0, (lib[:, None] * mu[None, :]) / 5.0)
        blocks.append(sp.csr_matrix(r.poisson(lam).astype(np.float32))); labels += [label] * n
    X = sp.vstack(blocks, format="csr")
    obs = pd.DataFrame({"target": pd.Categorical(labels)}, index=[f"c{i}" for i in range(len(labels))])
    return ad.AnnData(X=X, obs=obs, var=pd.DataFrame(index=genes))
real, pred = draw(1.0, 1), draw(0.8, 2)
real.write_h5ad(f"{work}/real.h5ad"); pred.write_h5ad(f"{work}/pred.h5ad")
tot = np.asarray(real.X.sum(1)).ravel()
print(f"{real.n_obs} cells x {G} genes, {P} perturbations x {C} cells + {4*C} controls, median {np.median(tot):.0f} UMI/cell, nnz {real.X.nnz}")
PY
dataset=$(.venv/bin/python -c "import anndata as ad, numpy as np; a=ad.read_h5ad('$work/real.h5ad'); print(f'{a.n_obs:,} cells x {a.n_vars:,} genes ({$perts} perturbations x {$cells} cells + {4*$cells} controls), median {np.median(np.asarray(a.X.sum(1)).ravel()):,.0f} UMI per cell')")
load() { load_averages | sed 's/ / \/ /g'; }

rm -rf "$work/ce2" "$work/arena"
ce_cmd=".venv/bin/cell-eval2 run -ar $work/real.h5ad -ap $work/pred.h5ad --preset vcc2026 -o $work/ce2"
ar_cmd="$arena score --profile vcc2026 --real $work/real.h5ad --pred $work/pred.h5ad -o $work/arena"
wait_quiet; ce_load=$(load); /usr/bin/time -v $ce_cmd > "$work/ce2.log" 2> "$work/ce2.time" || { tail "$work/ce2.time"; exit 1; }
wait_quiet; ar_load=$(load); /usr/bin/time -v $ar_cmd > "$work/arena.log" 2> "$work/arena.time"

ce_s=$(wall "$work/ce2.time"); ar_s=$(wall "$work/arena.time")
ce_m=$(rss "$work/ce2.time"); ar_m=$(rss "$work/arena.time")
second=""
if [ -n "${ARENA_ARGS:-}" ]; then
  rm -rf "$work/arena2"
  ar2_cmd="$arena score --profile vcc2026 --real $work/real.h5ad --pred $work/pred.h5ad -o $work/arena2 $ARENA_ARGS"
  wait_quiet; ar2_load=$(load); /usr/bin/time -v $ar2_cmd > "$work/arena2.log" 2> "$work/arena2.time"
  same=yes; for f in "$work"/arena/*.csv; do cmp -s "$f" "$work/arena2/$(basename "$f")" || same=NO; done
  ar2_s=$(wall "$work/arena2.time"); ar2_m=$(rss "$work/arena2.time")
  second="| \`$ar2_cmd\` | ${ar2_s} s | ${ar2_m} MiB | $ar2_load |
| ratio (with $ARENA_ARGS; same CSVs byte for byte: $same) | **$(awk -v a="$ce_s" -v b="$ar2_s" 'BEGIN{printf "%.1f", a/b}')x faster** | **$(awk -v a="$ar2_m" -v b="$ce_m" 'BEGIN{printf "%.2f", a/b}')x the memory** | |"
fi
check=$(.venv/bin/python - "$work/ce2/results.csv" "$work/arena/results.csv" <<'PY'
import sys, math, polars as pl
a, b = pl.read_csv(sys.argv[1]), pl.read_csv(sys.argv[2])
j = a.join(b, on=["perturbation", "metric"], how="full", suffix="_arena")
worst, missing = {}, 0
for r in j.iter_rows(named=True):
    x, y = r["value"], r["value_arena"]
    if x is None or y is None: missing += 1; continue
    d = 0.0 if (math.isnan(x) and math.isnan(y)) else abs(x - y)
    m = r["metric"] or r["metric_arena"]; worst[m] = max(worst.get(m, 0.0), d if not math.isnan(d) else math.inf)
ok = missing == 0 and all(v <= 1e-6 for v in worst.values())
print(("identical within 1e-6" if ok else "DIFFERENT") + f" ({j.height} rows, {missing} unmatched; max |diff| {max(worst.values()):.1e})")
PY
)
build=$(case "$arena" in *release*) echo "release build";; *debug*) echo "dev-profile build (workspace crates at opt-level 1, slower than release)";; *) echo "binary $arena";; esac)
ratio=$(awk -v a="$ce_s" -v b="$ar_s" 'BEGIN{printf "%.1f", a/b}')
mratio=$(awk -v a="$ar_m" -v b="$ce_m" 'BEGIN{printf "%.2f", a/b}')
args_note=""
[ -z "${ARENA_ARGS:-}" ] || args_note="ARENA_ARGS=\"$ARENA_ARGS\" "
cat > bench/results/vcc2026.md <<MD
# \`arena score --profile vcc2026\` vs cell-eval2 0.20.0 (\`--preset vcc2026\`, CPU)

Scale: $dataset; simulated raw counts (\`${args_note}bash bench/vcc2026.sh $work $perts $cells $genes\`). Machine: $(nproc) cores, shared with other jobs (see the load averages). arena: $build. $(date -u '+%Y-%m-%d %H:%M UTC').

| command | wall time | peak RSS | load avg 1/5/15 before |
|---|---|---|---|
| \`$ce_cmd\` | ${ce_s} s | ${ce_m} MiB | $ce_load |
| \`$ar_cmd\` | ${ar_s} s | ${ar_m} MiB | $ar_load |
| ratio | **${ratio}x faster** | **${mratio}x the memory** | |
$second

Numbers: $check.
MD
cat bench/results/vcc2026.md
