#!/usr/bin/env bash
# Load benchmark of the web leaderboard (a script, not a test): `arena serve` (release build) on
# loopback with N self-reported submissions on sim-unseen-single in its SQLite database (N copies
# of a real `arena eval` scorecard, each model row renamed and its per-perturbation values shifted
# by a seeded offset, imported with one `arena publish`), then
#   1. U concurrent ONNX uploads (examples/linear.onnx) over HTTP, scored by --workers W: all must
#      be accepted and scored. Each finished job adds its row to the stored boards and recomputes
#      every rank (incremental boards); the server logs how long each took, summarised here beside
#      one full rebuild of the same board (`arena publish` of one more scorecard, process start
#      included);
#   2. `wrk` against the task leaderboard page (HTML) and its JSON twin: requests/s and p99 latency.
# The machine may be shared: the load average before and after is written with the results.
# Targets: >= 2,000 req/s and p99 < 50 ms on 2 cores. wrk runs on the same machine.
# Writes bench/results/leaderboard_load.md (SQLite) or leaderboard_load_postgres.md.
#   Usage: bash bench/leaderboard_load.sh [SUBMISSIONS=1000] [SECONDS=20] [CONNECTIONS=64] [UPLOADS=100] [WORKERS=2]
#   (ARENA_BIN=path skips the release build and uses that binary; ARENA_BENCH_POSTGRES=1 runs on a
#   fresh database of the local PostgreSQL server that scripts/setup.sh provisions, dropped after.)
set -euo pipefail
cd "$(dirname "$0")/.."
n_subs=${1:-1000}
duration=${2:-20}
conns=${3:-64}
n_uploads=${4:-100}
workers=${5:-2}
task=sim-unseen-single
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
command -v curl >/dev/null || { echo "curl is missing: apt-get install curl" >&2; exit 1; }
if [ -z "${ARENA_BIN:-}" ]; then cargo build --release -p arena >&2; fi
arena=${ARENA_BIN:-$PWD/target/release/arena}   # ARENA_BIN: a prebuilt release binary
data=$PWD/../shared/data
work=$(mktemp -d)
server=
pg_sql() { (cd / && if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- psql -X -q -c "$1"; else sudo -u postgres psql -X -q -c "$1"; fi) >/dev/null; }
pg_db=
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  if [ -n "$pg_db" ]; then pg_sql "DROP DATABASE IF EXISTS $pg_db" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
if [ "${ARENA_BENCH_POSTGRES:-0}" = 1 ]; then
  pg_db=arena_bench_$$
  pg_sql "CREATE DATABASE $pg_db OWNER arena"
  db="postgres://arena:arena@127.0.0.1:5432/$pg_db"
  storage="PostgreSQL $(ls /usr/lib/postgresql | sort -V | tail -n 1) on loopback"
  out=bench/results/leaderboard_load_postgres.md
else
  db="sqlite:$work/lb.sqlite"
  storage="SQLite (WAL)"
  out=bench/results/leaderboard_load.md
fi

# N scorecards cloned from one real run.
"$arena" eval examples/linear.onnx --out "$work/one" --data-dir "$data" >/dev/null
python3 - "$work/one/scorecard.json" "$work/cards" "$n_subs" <<'PY'
import json, os, random, sys
src, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
card = json.load(open(src))
os.makedirs(out)
rng = random.Random(7)
for i in range(n):
    c = json.loads(json.dumps(card))
    name = f"model-{i:04d}"
    row = next(r for r in c["rows"] if r["name"] == c["model"])
    row["name"] = name
    c["model"] = name
    shift = rng.uniform(-0.05, 0.05)
    for p in row["per_perturbation"]:
        p["values"] = [None if v is None else v + shift + rng.gauss(0, 0.01) for v in p["values"]]
    json.dump(c, open(f"{out}/card-{i:04d}.json", "w"))
PY
start=$(date +%s.%N)
"$arena" publish "$work"/cards/*.json --database "$db" >/dev/null
seed_s=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
token=$("$arena" serve --database "$db" --issue-token bench | tail -n 1)

"$arena" serve --database "$db" --bind 127.0.0.1:0 --data-dir "$data" --upload-dir "$work/uploads" \
  --rate-limit "$n_uploads" --workers "$workers" >"$work/serve.out" 2>"$work/serve.err" &
server=$!
for _ in $(seq 300); do grep -q "leaderboard on" "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
url=$(grep -o 'http://[0-9.:]*' "$work/serve.out" | head -n 1)
[ -n "$url" ] || { cat "$work/serve.err" >&2; echo "arena serve did not start" >&2; exit 1; }

# U concurrent uploads, then wait for every job.
start=$(date +%s.%N)
pids=()
for i in $(seq "$n_uploads"); do
  curl -s -o "$work/up$i.json" -w '%{http_code}\n' -H "Authorization: Bearer $token" \
    -F task=$task -F name="upload-$i" -F kind=onnx -F file=@examples/linear.onnx "$url/api/submissions" \
    >"$work/code$i" &
  pids+=($!)
done
for p in "${pids[@]}"; do wait "$p"; done
accepted=$(cat "$work"/code* | grep -c '^202$' || true)
ids=$(python3 -c "import json,sys; print(' '.join(str(json.load(open(f))['id']) for f in sys.argv[1:] if 'id' in json.load(open(f))))" "$work"/up*.json)
scored=0
failed=0
for id in $ids; do
  while :; do
    status=$(curl -s "$url/api/submissions/$id" | python3 -c "import json,sys; print(json.load(sys.stdin)['submission']['status'])")
    case $status in
      scored) scored=$((scored + 1)); break ;;
      failed) failed=$((failed + 1)); break ;;
    esac
    sleep 0.5
  done
done
uploads_s=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$start" "$(date +%s.%N)")
rows=$(curl -s "$url/api/tasks/$task" | python3 -c "import json,sys; print(json.load(sys.stdin)['total_rows'])")
# Board updates per job (from the server log), and one full rebuild of the same board.
ranked=$(python3 - "$work/serve.err" <<'PY'
import re, statistics, sys
ms = sorted(int(m) for m in re.findall(r"ranked on the boards of \S+ in (\d+) ms", open(sys.argv[1]).read()))
if ms:
    p90 = ms[min(len(ms) - 1, int(0.9 * len(ms)))]
    print(f"{len(ms)} board updates: median {statistics.median(ms):.0f} ms, p90 {p90} ms, max {ms[-1]} ms")
else:
    print("no board update logged")
PY
)
python3 - "$work/cards/card-0000.json" "$work/extra.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
name = "model-extra"
next(r for r in c["rows"] if r["name"] == c["model"])["name"] = name
c["model"] = name
json.dump(c, open(sys.argv[2], "w"))
PY
start=$(date +%s.%N)
"$arena" publish "$work/extra.json" --database "$db" >/dev/null
rebuild_s=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$(date +%s.%N)")

# wrk: the HTML page and its JSON twin.
run_wrk() {
  wrk -t2 -c"$conns" -d"${duration}s" --latency "$1" >"$work/wrk.txt"
  local rps p99
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk.txt")
  errors=$(awk '/Non-2xx|Socket errors/ {print}' "$work/wrk.txt" | tr '\n' ' ')
  echo "| \`GET ${1#"$url"}\` | $rps | $p99 | ${errors:-none} |"
}
html_row=$(run_wrk "$url/tasks/$task")
json_row=$(run_wrk "$url/api/tasks/$task")
bytes=$(curl -s "$url/tasks/$task" | wc -c)

mkdir -p bench/results
{
  echo "# Leaderboard load benchmark"
  echo
  echo "\`bash bench/leaderboard_load.sh $n_subs $duration $conns $n_uploads $workers\` on $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)), $(date -u +%Y-%m-%d), binary \`${arena#"$PWD/"}\`."
  echo "Machine load average (1, 5, 15 min; the machine is shared): $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after."
  echo "Database: $storage, $n_subs self-reported submissions + $n_uploads uploads on \`$task\` ($rows leaderboard rows, 100 per page; page $bytes bytes)."
  echo "Seeding ($n_subs scorecards, one \`arena publish\`, board rebuilt once): ${seed_s} s."
  echo
  echo "| request (wrk -t2 -c$conns -d${duration}s, loopback) | requests/s | p99 latency | errors |"
  echo "|---|---|---|---|"
  echo "$html_row"
  echo "$json_row"
  echo
  echo "$n_uploads concurrent ONNX uploads, $workers workers: $accepted accepted (HTTP 202), $scored scored, $failed failed, all done in ${uploads_s} s."
  echo "Incremental boards (each finished job adds its row to both views' boards and recomputes every rank): $ranked."
  echo "One full rebuild of both views of the same board ($rows rows; \`arena publish\` of one scorecard, process start included): ${rebuild_s} s."
} >"$out"
cat "$out"
