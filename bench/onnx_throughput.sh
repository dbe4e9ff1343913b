#!/usr/bin/env bash
# Throughput of the ONNX runner: cells/s of `arena eval MODEL.onnx` (release build, the runner's own
# measurement in scorecard.json run.rows_per_second) vs a plain Python onnxruntime loop over the same
# model, batch size and batch shapes (bench/onnx_throughput.py), same machine, same run.
# Model: a 2-layer MLP x' = x + W2 relu(W1 [x, p] + b1) + b2 over 2,000 genes (hidden 512), from
# scripts/make_examples.py --mlp. Data: the simulator with 2,000 genes and 200 single targets
# (sim-unseen-single rules: 60 test perturbations x 256 start cells = 15,360 rows per pass).
# Writes bench/results/onnx_throughput.md.   Usage: bash bench/onnx_throughput.sh [REPEATS]
set -euo pipefail
cd "$(dirname "$0")/.."
repeats=${1:-3}
batch=256   # the runner gets one call per test perturbation with 256 start cells (max_start_cells)
bash scripts/python-env.sh
cargo build --release -p arena >&2
arena=target/release/arena
py=.venv/bin/python
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/sim.toml" <<TOML
n_genes = 2000
n_regulators = 100
n_control_cells = 1200
cells_per_condition = 20
n_single_targets = 200
n_doubles = 0
n_sequences = 0
TOML
"$arena" simulate --config "$work/sim.toml" --out "$work/sim2000.h5ad" >&2
"$py" -c "import anndata,sys; a=anndata.read_h5ad(sys.argv[1], backed='r'); print('\n'.join(a.var_names))" \
  "$work/sim2000.h5ad" > "$work/genes.txt"
"$py" scripts/make_examples.py --mlp "$work/mlp.onnx" --genes "$work/genes.txt" --hidden 512

# Interleaved (arena, python, arena, python, ...) so both see the same machine load; best of each.
arena_rates=()
raw_runs=()
for i in $(seq "$repeats"); do
  "$arena" eval "$work/mlp.onnx" --dataset "$work/sim2000.h5ad" --batch-size "$batch" --bootstrap 10 \
    --out "$work/out" > "$work/eval.txt"
  arena_rates+=("$("$py" -c "import json,sys; c=json.load(open(sys.argv[1])); print(c['run']['rows_per_second'][0][1])" "$work/out/scorecard.json")")
  conditions=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['task']['n_test_conditions'])" "$work/out/scorecard.json")
  raw_runs+=("$("$py" bench/onnx_throughput.py "$work/mlp.onnx" --conditions "$conditions" --rows-per-condition 256 \
    --batch-size "$batch" --repeats 1)")
done
device=$("$py" -c "import json,sys; print(json.load(open(sys.argv[1]))['run'].get('device','?').replace(' ','_'))" "$work/out/scorecard.json")
raw=$("$py" -c "import json,sys; runs=[json.loads(a) for a in sys.argv[1:]]; b=max(runs, key=lambda r: r['rows_per_second']); b['all']=[r['rows_per_second'] for r in runs]; print(json.dumps(b))" "${raw_runs[@]}")
load=$(cut -d' ' -f1-3 /proc/loadavg)
"$py" - "$raw" "$conditions" "$batch" "$device" "$load" "${arena_rates[@]}" > bench/results/onnx_throughput.md <<'PY'
import json, os, platform, sys
raw = json.loads(sys.argv[1]); conditions, batch, device, load = sys.argv[2], sys.argv[3], sys.argv[4].replace("_", " "), sys.argv[5]
rates = [float(r) for r in sys.argv[6:]]
best = max(rates)
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.processor())
print("# ONNX runner throughput (`bash bench/onnx_throughput.sh`)\n")
print(f"Machine: {cpu}, {len(os.sched_getaffinity(0))} cores available, load average {load} at the end; "
      f"ONNX Runtime {raw['onnxruntime']}, {raw['threads']} intra-op threads on both sides; arena device: {device}.\n")
print(f"Model: 2-layer MLP over 2,000 genes (hidden 512); {conditions} test perturbations x 256 start cells = "
      f"{raw['rows']} rows per pass, batch size {batch}; best of {len(rates)} runs each.\n")
print("| runner | cells/s | relative |\n|---|---|---|")
print(f"| Python onnxruntime loop (`bench/onnx_throughput.py`) | {raw['rows_per_second']:,.0f} | 1.00 |")
print(f"| `arena eval mlp.onnx` (release; scorecard run.rows_per_second) | {best:,.0f} | {best / raw['rows_per_second']:.2f} |")
ratios = sorted(a / p for a, p in zip(rates, raw["all"]))
print(f"\nMedian of the per-round ratios (arena / python run right after it): {ratios[len(ratios) // 2]:.2f} "
      f"(all: {', '.join(f'{r:.2f}' for r in ratios)}).")
print(f"\nInterleaved runs, cells/s: arena {', '.join(f'{r:,.0f}' for r in rates)}; python "
      f"{', '.join(f'{r:,.0f}' for r in raw['all'])}. The arena's figure includes the whole "
      "prediction path (perturbation encoding, the finiteness check while copying each batch's output, the "
      "per-perturbation means); the Python loop only calls `session.run` on prebuilt arrays. Both run one warm-up "
      "batch before timing (the runner when it loads the model).")
PY
cat bench/results/onnx_throughput.md
