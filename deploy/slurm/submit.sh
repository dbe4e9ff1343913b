#!/usr/bin/env bash
# deploy/slurm/submit.sh -- owns submitting a sharded `arena score` (or, with --eval, a sharded
# `arena eval`) to Slurm: one job array that runs shards 1..N (score-shards.sbatch) and one merge
# job (merge.sbatch) that starts only after every array task succeeded (--dependency=afterok).
# Run with --help for the options.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
  cat <<'USAGE'
Usage: deploy/slurm/submit.sh --real REAL.h5ad --pred PRED.h5ad --shards N --work DIR --out DIR
                              [--profile PROFILE] [options] [-- extra `arena score` args]
       deploy/slurm/submit.sh --eval --shards N --work DIR --out DIR [options] -- `arena eval` args

Submits a Slurm job array of N tasks, task K running
    $ARENA score --real REAL --pred PRED [--profile P] [extra] --shard K/N --outdir DIR/shard-K
  (with --eval: $ARENA eval [args] --shard K/N --out DIR/shard-K, e.g. args `model.onnx --task
  combinatorial`: the model runs on shard K's test items)
and a merge job, held until every task succeeded (--dependency=afterok), running
    $ARENA merge --outdir OUT DIR/shard-1 ... DIR/shard-N
Prints the two job ids on stdout as ARRAY_JOB_ID=<id> and MERGE_JOB_ID=<id>.

Required:
  --real FILE        real cells (.h5ad), on a filesystem the compute nodes see (not with --eval)
  --pred FILE        predicted cells (.h5ad), likewise (not with --eval)
  --shards N         number of shards (array tasks)
  --work DIR         shared folder for the partials (DIR/shard-K) and job logs (DIR/logs)
  --out DIR          folder for the merged outputs (results.csv, ...; with --eval scorecard.json,
                     per_perturbation.parquet, split.json)
Optional:
  --eval             shard `arena eval` instead of `arena score`; the arguments after -- choose
                     the model and the task (relative paths resolve from this directory, where
                     the jobs start)
  --profile P        `arena score --profile P` (default: arena's default profile)
  --array LIST       array tasks to (re)submit, default 1-N; e.g. `--array 3` reruns shard 3
                     only (the other partials in DIR are reused by the merge job)
  --max-parallel M   run at most M shards at once (sbatch --array=...%M)
  --cpus N           CPUs per shard task           (default: score-shards.sbatch, 4)
  --mem SIZE         memory per shard task, e.g. 32G (default: score-shards.sbatch, 16G)
  --time T           time limit per shard task     (default: score-shards.sbatch, 04:00:00)
  --merge-mem SIZE   memory of the merge job       (default: merge.sbatch, 8G)
  --merge-time T     time limit of the merge job   (default: merge.sbatch, 01:00:00)
  --partition P      sbatch --partition for both jobs
  --account A        sbatch --account for both jobs
  --sbatch-arg ARG   any other sbatch option for both jobs (repeatable), e.g. --sbatch-arg=--qos=long
  --no-merge         submit the array only
  -h, --help         this help
Environment:
  ARENA              the arena binary (default: `arena` on PATH); a path is made absolute
USAGE
}

die() { echo "submit: error: $*" >&2; exit 1; }
need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die "$1 needs a value (see --help)"; }
abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }

real='' pred='' shards='' work='' out='' profile='' array='' max_parallel='' command=score
cpus='' mem='' time_limit='' merge_mem='' merge_time='' merge=true
common=() extra=()
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --) shift; extra=("$@"); break ;;
    --*=*) opt=${1%%=*}; val=${1#*=}; shift; set -- "$opt" "$val" "$@"; continue ;;
    --eval) command=eval; shift ;;
    --real) need_arg "$@"; real=$2; shift 2 ;;
    --pred) need_arg "$@"; pred=$2; shift 2 ;;
    --shards) need_arg "$@"; shards=$2; shift 2 ;;
    --work) need_arg "$@"; work=$2; shift 2 ;;
    --out) need_arg "$@"; out=$2; shift 2 ;;
    --profile) need_arg "$@"; profile=$2; shift 2 ;;
    --array) need_arg "$@"; array=$2; shift 2 ;;
    --max-parallel) need_arg "$@"; max_parallel=$2; shift 2 ;;
    --cpus) need_arg "$@"; cpus=$2; shift 2 ;;
    --mem) need_arg "$@"; mem=$2; shift 2 ;;
    --time) need_arg "$@"; time_limit=$2; shift 2 ;;
    --merge-mem) need_arg "$@"; merge_mem=$2; shift 2 ;;
    --merge-time) need_arg "$@"; merge_time=$2; shift 2 ;;
    --partition) need_arg "$@"; common+=("--partition=$2"); shift 2 ;;
    --account) need_arg "$@"; common+=("--account=$2"); shift 2 ;;
    --sbatch-arg) need_arg "$@"; common+=("$2"); shift 2 ;;
    --no-merge) merge=false; shift ;;
    *) die "unknown argument '$1' (extra arena score or eval args go after --; see --help)" ;;
  esac
done

if [ "$command" = eval ]; then
  [ -z "$real$pred$profile" ] || die "--real, --pred and --profile belong to arena score; --eval takes the arena eval arguments after --"
else
  [ -n "$real" ] || die "--real is required (see --help)"
  [ -n "$pred" ] || die "--pred is required (see --help)"
fi
[ -n "$shards" ] || die "--shards is required (see --help)"
[ -n "$work" ] || die "--work is required (see --help)"
[ -n "$out" ] || { [ "$merge" = false ] || die "--out is required (see --help)"; }
[[ $shards =~ ^[1-9][0-9]*$ ]] || die "--shards '$shards' is not a positive integer"
[ -z "$max_parallel" ] || [[ $max_parallel =~ ^[1-9][0-9]*$ ]] || die "--max-parallel '$max_parallel' is not a positive integer"
[ "$command" = eval ] || [ -f "$real" ] || die "--real $real: no such file"
[ "$command" = eval ] || [ -f "$pred" ] || die "--pred $pred: no such file"
command -v sbatch >/dev/null 2>&1 || die "sbatch not found on PATH (is this a Slurm submit host?)"

arena=${ARENA:-arena}
if [[ $arena == */* ]]; then
  arena=$(abspath "$arena")
  [ -x "$arena" ] || die "ARENA=$arena is not an executable file"
elif ! command -v "$arena" >/dev/null 2>&1; then
  echo "submit: warning: '$arena' is not on PATH here; the compute nodes must find it (or set ARENA=/path/to/arena)" >&2
fi

work=$(abspath "$work")
mkdir -p "$work/logs" || die "cannot create $work/logs"
array=${array:-1-$shards}
[ -z "$max_parallel" ] || array="$array%$max_parallel"

export ARENA=$arena
export ARENA_COMMAND=$command
if [ "$command" = score ]; then
  export ARENA_REAL; ARENA_REAL=$(abspath "$real")
  export ARENA_PRED; ARENA_PRED=$(abspath "$pred")
fi
export ARENA_WORK=$work
export ARENA_SHARDS=$shards
export ARENA_PROFILE=$profile
export ARENA_SCORE_ARGS=
if [ ${#extra[@]} -gt 0 ]; then ARENA_SCORE_ARGS=$(printf '%q ' "${extra[@]}"); fi
if [ -n "$out" ]; then export ARENA_OUT; ARENA_OUT=$(abspath "$out"); fi

score_opts=(--parsable --export=ALL --array="$array" --output="$work/logs/shard-%a-%A.out")
[ -z "$cpus" ] || score_opts+=(--cpus-per-task="$cpus")
[ -z "$mem" ] || score_opts+=(--mem="$mem")
[ -z "$time_limit" ] || score_opts+=(--time="$time_limit")

if ! array_id=$(sbatch "${score_opts[@]}" "${common[@]}" "$here/score-shards.sbatch"); then
  die "sbatch of the shard array failed (see the sbatch error above)"
fi
array_id=${array_id%%;*}
[[ $array_id =~ ^[0-9]+$ ]] || die "sbatch returned '$array_id', not a job id"
echo "submit: shard array job $array_id (tasks $array of $shards shards) -> $work/shard-K, logs $work/logs/" >&2
echo "ARRAY_JOB_ID=$array_id"

if [ "$merge" = true ]; then
  merge_opts=(--parsable --export=ALL --dependency="afterok:$array_id" --output="$work/logs/merge-%j.out")
  [ -z "$merge_mem" ] || merge_opts+=(--mem="$merge_mem")
  [ -z "$merge_time" ] || merge_opts+=(--time="$merge_time")
  if ! merge_id=$(sbatch "${merge_opts[@]}" "${common[@]}" "$here/merge.sbatch"); then
    die "sbatch of the merge job failed (the shard array $array_id is queued; merge later with: sbatch --dependency=afterok:$array_id $here/merge.sbatch, ARENA_WORK/ARENA_OUT/ARENA_SHARDS exported)"
  fi
  merge_id=${merge_id%%;*}
  echo "submit: merge job $merge_id (after array $array_id succeeds) -> $ARENA_OUT" >&2
  echo "MERGE_JOB_ID=$merge_id"
fi
