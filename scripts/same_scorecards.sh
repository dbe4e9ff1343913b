#!/usr/bin/env bash
# Checks that two `arena` binaries give the same scorecards: both run `arena eval --suite default
# --reference` (every task, the reference model, the baselines, the ceiling), then every
# scorecard.json is compared minus its run and hardware blocks (timings and the machine), and
# every per_perturbation.parquet and split.json byte for byte. Used to show that a refactor
# changed no number.
#
#   bash scripts/same_scorecards.sh BEFORE_BIN AFTER_BIN [WORK_DIR]
#
# Exits 0 when every file matches, 1 listing the files that differ.
set -euo pipefail
before=${1:?usage: same_scorecards.sh BEFORE_BIN AFTER_BIN [WORK_DIR]}
after=${2:?usage: same_scorecards.sh BEFORE_BIN AFTER_BIN [WORK_DIR]}
work=${3:-$(mktemp -d)}
mkdir -p "$work"
for side in before after; do
    bin=${!side}
    echo "$side: $bin eval --suite default --reference --out $work/$side" >&2
    "$bin" eval --suite default --reference --out "$work/$side" > "$work/$side.log"
done
python3 - "$work/before" "$work/after" <<'PY'
import json, pathlib, sys
before, after = map(pathlib.Path, sys.argv[1:3])
differ, compared = [], 0
names = sorted({p.relative_to(before) for p in before.rglob("*") if p.is_file()}
               | {p.relative_to(after) for p in after.rglob("*") if p.is_file()})
for rel in names:
    a, b = before / rel, after / rel
    if not (a.is_file() and b.is_file()):
        differ.append(f"{rel}: only in {'after' if b.is_file() else 'before'}")
        continue
    compared += 1
    if rel.name == "scorecard.json":
        ja, jb = (json.loads(p.read_text()) for p in (a, b))
        for j in (ja, jb):
            j.pop("run", None)
            j.pop("hardware", None)
        same = ja == jb
    else:
        same = a.read_bytes() == b.read_bytes()
    if not same:
        differ.append(str(rel))
print(f"{compared} files compared, {len(differ)} differ")
for d in differ:
    print("  differs:", d)
sys.exit(1 if differ else 0)
PY
