#!/usr/bin/env bash
# Fair combinatorial simulator: how much of the reference model's lead on sim-combinatorial comes
# from its CollecTRI prior being the simulator's true network? Sweeps prior fidelity (the fraction
# of CollecTRI's edges that are true with their sign: 1.0, 0.7, 0.4; drop/flip/add rates of
# arena/sim/src/prior_mismatch.rs) x cooperativity (0, 2, 4). Each cell simulates the
# sim-combinatorial design (CollecTRI genes, 150 doubles) with `arena simulate`, retrains the
# reference model on the task's training split of that simulation (`arena train-reference`, the
# models read the UNCHANGED CollecTRI table) and scores it beside every baseline of the task
# (`arena eval --reference --weights`), on the combinatorial (GEARS) split of the task spec (or of
# SPLIT_SEED), and scores the GRN-aware baseline `grn-ridge`, which reads the same CollecTRI table
# (`arena eval --baseline grn-ridge`). Writes a Markdown table (mean [95% bootstrap CI] of
# pearson_delta_pert, overall, combo_seen2 and unseen_single, the reference's rank interval and tie
# group among the task's baselines) to OUT. A KEEP cell that already holds sim.h5ad or
# weights/weights.safetensors reuses them (same settings: the simulator is deterministic).
#
# Usage: bash bench/fair_simulator.sh [OUT]   (default bench/results/fair_simulator.md)
# Environment: ARENA (binary; default target/release/arena), FIDELITIES ("1.0 0.7 0.4"),
#   COOPS ("0 2 4"), SEEDS (simulator seeds, "0"), SPLIT_SEED (the task's split seed; the spec's
#   own when empty), EPOCHS (max epochs of train-reference, its default
#   when empty), DATA_DIR (../shared/data), KEEP (a directory to keep the runs in; its cells.jsonl
#   lists them), CELLS (colon-separated cells.jsonl files of earlier KEEP runs: only write their
#   table, e.g. when parts of the grid ran as separate processes).
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results/fair_simulator.md}
arena=${ARENA:-target/release/arena}
fidelities=${FIDELITIES:-"1.0 0.7 0.4"}
coops=${COOPS:-"0 2 4"}
seeds=${SEEDS:-0}
data=${DATA_DIR:-../shared/data}
collectri="$data/collectri_tf_targets.csv"
[ -x "$arena" ] || { echo "no arena binary at $arena: cargo build --release -p arena, or set ARENA" >&2; exit 1; }
[ -f "$collectri" ] || { echo "missing $collectri (set DATA_DIR)" >&2; exit 1; }
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
epochs=()
[ -n "${EPOCHS:-}" ] && epochs=(--epochs "$EPOCHS")
split=()
[ -n "${SPLIT_SEED:-}" ] && split=(--split-seed "$SPLIT_SEED")
split_label=${SPLIT_SEED:-spec}

mismatch() { # fidelity -> drop flip add (prior_mismatch.rs, PriorMismatch::for_fidelity)
  case "$1" in
    1.0|1) echo "0 0 0" ;;
    0.7) echo "0.2 0.125 0.2" ;;
    0.4) echo "0.4 0.3333333333333333 0.4" ;;
    *) echo "unknown fidelity $1 (1.0, 0.7 or 0.4)" >&2; exit 1 ;;
  esac
}

started=$(date -u +%s)
cells_files=${CELLS:-"$work/cells.jsonl"}
[ -n "${CELLS:-}" ] && seeds_run="" || seeds_run=$seeds
for seed in $seeds_run; do
  for fid in $fidelities; do
    read -r drop flip add <<<"$(mismatch "$fid")"
    for c in $coops; do
      cell="$work/s${seed}_f${fid}_c${c}_split${split_label}"
      mkdir -p "$cell"
      cat > "$cell/sim.toml" <<TOML
seed = $seed
n_doubles = 150
cooperativity = $c

[prior_mismatch]
drop_fraction = $drop
flip_fraction = $flip
add_fraction = $add
TOML
      t0=$(date -u +%s)
      [ -s "$cell/sim.h5ad" ] ||
        "$arena" simulate --config "$cell/sim.toml" --collectri "$collectri" --out "$cell/sim.h5ad" >/dev/null 2>"$cell/simulate.log"
      [ -s "$cell/weights/weights.safetensors" ] ||
        "$arena" train-reference --task sim-combinatorial --dataset "$cell/sim.h5ad" --data-dir "$data" \
          --out "$cell/weights" "${split[@]}" "${epochs[@]}" >"$cell/train.log" 2>&1
      "$arena" eval --reference --weights "$cell/weights/weights.safetensors" --task sim-combinatorial \
        --dataset "$cell/sim.h5ad" --data-dir "$data" "${split[@]}" --out "$cell/eval" >"$cell/eval.log" 2>&1
      "$arena" eval --baseline grn-ridge --task sim-combinatorial \
        --dataset "$cell/sim.h5ad" --data-dir "$data" "${split[@]}" --out "$cell/grn" >"$cell/grn.log" 2>&1
      printf '{"seed": %s, "split_seed": "%s", "fidelity": %s, "cooperativity": %s, "seconds": %s, "card": "%s", "grn_card": "%s"}\n' \
        "$seed" "$split_label" "$fid" "$c" "$(( $(date -u +%s) - t0 ))" "$cell/eval/scorecard.json" "$cell/grn/scorecard.json" >> "$work/cells.jsonl"
      echo "seed $seed fidelity $fid cooperativity $c: $(( $(date -u +%s) - t0 )) s" >&2
    done
  done
done
elapsed=$(( $(date -u +%s) - started ))

python3 - "$cells_files" "$out" "$elapsed" "$arena" "$seeds" <<'PY'
import json, sys, datetime, platform, os
cells_path, out, elapsed, arena, seeds = sys.argv[1:6]
cells = [json.loads(l) for p in cells_path.split(":") for l in open(p)]
elapsed = sum(c["seconds"] for c in cells)  # the runs' own time (parts may have run side by side)
METRIC = "pearson_delta_pert"

def stat(row, group=None):
    m = next(m for m in row["metrics"] if m["metric"] == METRIC)
    s = m["overall"] if group is None else next((g[1] for g in m.get("by_subgroup", []) if g[0] == group), None)
    return None if s is None or s.get("mean") is None else (s["mean"], s.get("lower"), s.get("upper"))

def fmt(s):
    if s is None:
        return "n/a"
    mean, lo, hi = s
    return f"{mean:.3f} [{lo:.3f}, {hi:.3f}]" if lo is not None else f"{mean:.3f}"

lines = []
cells.sort(key=lambda c: (c["seed"], str(c.get("split_seed", "spec")), -c["fidelity"], c["cooperativity"]))
for c in cells:
    card = json.load(open(c["card"]))
    rows = {r["name"]: r for r in card["rows"]}
    ref = rows["reference"]
    baselines = [r for r in card["rows"] if r["kind"] == "baseline"]
    grn = None
    if c.get("grn_card") and os.path.exists(c["grn_card"]):
        grn = next(r for r in json.load(open(c["grn_card"]))["rows"] if r["name"] == "grn-ridge")
        baselines.append(grn)
    best = max(baselines, key=lambda r: stat(r)[0])
    best2 = max(baselines, key=lambda r: (stat(r, "combo_seen2") or (-9,))[0])
    rank = dict((n, r) for n, r in card["rank_confidence"]["rows"])["reference"]
    r_all, b_all = stat(ref), stat(best)
    r_s2, b_s2 = stat(ref, "combo_seen2"), stat(best2, "combo_seen2")
    best_u = max(baselines, key=lambda r: (stat(r, "unseen_single") or (-9,))[0])
    r_u, b_u = stat(ref, "unseen_single"), stat(best_u, "unseen_single")
    verdict = "above" if r_all[1] > b_all[2] else ("below" if r_all[2] < b_all[1] else "overlap")
    verdict2 = "above" if r_s2[1] > b_s2[2] else ("below" if r_s2[2] < b_s2[1] else "overlap")
    group = rank["tie_group"]
    label = chr(ord("A") + group) if group < 26 else str(group)
    lines.append(
        f"| {c['fidelity']} | {c['cooperativity']} | {c['seed']} | {c.get('split_seed', 'spec')} | {fmt(r_all)} | "
        f"{best['name']} {fmt(b_all)} | {fmt(stat(grn)) if grn else 'n/a'} | {verdict} | {rank['rank']} ({rank['lower']}–{rank['upper']}), {label} | "
        f"{fmt(r_s2)} | {best2['name']} {fmt(b_s2)} | {verdict2} | {fmt(r_u)} | {best_u['name']} {fmt(b_u)} | "
        f"{c['seconds']} |"
    )

names = sorted({r["name"] for c in cells for r in json.load(open(c["card"]))["rows"] if r["kind"] == "baseline"})
with open(out, "w") as f:
    f.write("# Fair combinatorial simulator: prior fidelity x cooperativity\n\n")
    f.write(
        f"`bash bench/fair_simulator.sh` on {datetime.datetime.utcnow():%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
        f"{os.cpu_count()} cores, binary `{arena}`, simulator seeds {seeds}, task sim-combinatorial (split seed: "
        "the spec's own unless the split column says otherwise), "
        f"{elapsed} s of runs in all. Fidelity = fraction of CollecTRI's edges among the simulated genes that are true "
        "with their sign (drop/flip/add rates: arena/sim/src/prior_mismatch.rs); the reference model always "
        "reads the unchanged CollecTRI table. Each cell retrains the reference on that simulation's training split "
        "and scores it beside the task's baselines "
        f"({', '.join(names)}) and the GRN-aware baseline grn-ridge, which reads the same CollecTRI table as the "
        f"reference (arena/models/src/baselines/grn_ridge.rs). Mean over test perturbations of {METRIC} [95% bootstrap CI, 1000 resamples]; "
        "'best baseline' and 'vs best' include grn-ridge (above: the reference's lower bound is above the best baseline's upper bound); "
        "rank: the reference's rank among the model, the task's baselines (grn-ridge is scored in its own run) and the "
        "noise ceiling, with its paired-bootstrap interval and tie group.\n\n"
    )
    f.write(
        "| fidelity | cooperativity | sim seed | split seed | reference | best baseline | grn-ridge | vs best | reference rank | "
        "reference combo_seen2 | best baseline combo_seen2 | vs best (seen2) | reference unseen_single | "
        "best baseline unseen_single | seconds |\n"
    )
    f.write("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    f.write("\n".join(lines) + "\n")
print(open(out).read())
PY
