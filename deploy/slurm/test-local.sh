#!/usr/bin/env bash
# deploy/slurm/test-local.sh -- owns the end-to-end test of the Slurm path (submit.sh,
# score-shards.sbatch, merge.sbatch) on a real, private, single-node Slurm cluster.
#
#   ARENA=path/to/arena bash deploy/slurm/test-local.sh REAL.h5ad PRED.h5ad [extra score args...]
#
# As root, in a temp dir: a munge key + munged (own socket/pid/log/seed), a slurm.conf with one
# node (this host as `hostname -s`, CPUs/memory from `slurmd -C`), slurmctld and slurmd in the
# foreground in the background, on free ports. It waits for the node to be idle, runs
# submit.sh with 4 shards, waits for both jobs (`scontrol show job`), checks they COMPLETED, runs
# the unsharded `$ARENA score` and compares every merged output file with it (cmp). Then the same
# for `submit.sh --eval` (3 shards of `arena eval --baseline ridge` on the embedded simulator task):
# per_perturbation.parquet and split.json byte for byte, scorecard.json without its `run` block
# (timings). Prints PASS/FAIL and exits non-zero on any failure. The daemons and the temp dir are
# always removed.
# Needs only the Debian packages slurm-wlm and munge (no systemd). Tunables (environment):
#   TEST_SHARDS (4), TEST_TIMEOUT (600 s for the jobs), TEST_MEM (256M per job), TEST_KEEP=1
#   keeps the temp dir for inspection.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
shards=${TEST_SHARDS:-4}
job_timeout=${TEST_TIMEOUT:-600}
job_mem=${TEST_MEM:-256M}

say() { echo "test-local: $*" >&2; }
fail() { say "FAIL: $*"; failed=1; exit 1; }

if [ $# -lt 2 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  echo "usage: ARENA=path/to/arena bash deploy/slurm/test-local.sh REAL.h5ad PRED.h5ad [extra score args...]" >&2
  [ $# -ge 1 ] && { [ "$1" = -h ] || [ "$1" = --help ]; } && exit 0
  exit 2
fi
real=$1 pred=$2; shift 2
extra=("$@")
[ -f "$real" ] || { say "FAIL: real file $real does not exist"; exit 1; }
[ -f "$pred" ] || { say "FAIL: pred file $pred does not exist"; exit 1; }
abspath() { case $1 in /*) printf '%s\n' "$1" ;; *) printf '%s\n' "$PWD/$1" ;; esac; }
real=$(abspath "$real") pred=$(abspath "$pred")

[ "$(id -u)" -eq 0 ] || { say "FAIL: must run as root (munged/slurmd/slurmctld run as root here)"; exit 1; }
for tool in munged slurmctld slurmd sbatch scontrol sinfo scancel; do
  command -v "$tool" >/dev/null 2>&1 \
    || { say "FAIL: '$tool' not found; install the Debian packages: apt-get install -y slurm-wlm munge"; exit 1; }
done
arena=${ARENA:-arena}
if [[ $arena == */* ]]; then
  arena=$(abspath "$arena")
  [ -x "$arena" ] || { say "FAIL: ARENA=$arena is not executable"; exit 1; }
else
  arena=$(command -v "$arena") || { say "FAIL: '${ARENA:-arena}' is not on PATH (set ARENA=path/to/arena)"; exit 1; }
fi

t0=$SECONDS
failed=0
tmp=$(mktemp -d /tmp/arena-slurm-test.XXXXXX)
chmod 0700 "$tmp"
# Every process this test starts (daemons, job steps, job processes) carries this marker in
# its environment, so teardown can find leftovers by pid without touching anything else.
mark="ARENA_SLURM_TEST=$tmp"
pids=()          # munged, slurmctld, slurmd (started in the foreground, in the background)
hosts_line=      # the /etc/hosts line this run added, if any
array_id='' merge_id=''

show_logs() {
  local f
  for f in "$tmp"/log/slurmctld.log "$tmp"/log/slurmd.log "$tmp"/log/*.out "$tmp"/work/logs/*.out; do
    [ -s "$f" ] || continue
    echo "----- tail of $f -----" >&2
    tail -n 25 "$f" >&2
  done
}

# Pids whose environment carries $mark (what is left of the daemons, slurmscriptd, job steps).
marked_pids() {
  local p
  for p in /proc/[0-9]*; do
    p=${p#/proc/}
    [ "$p" != $$ ] || continue
    tr '\0' '\n' 2>/dev/null < "/proc/$p/environ" | grep -qxF "$mark" && echo "$p"
  done
  return 0
}

# Prints one "JOB STATE REASON" line per job record of job $1 (JOB is ARRAYJOB_TASK for array
# tasks; still-pending tasks share one record such as 7_[2-4]).
job_states() {
  scontrol show job -o "$1" 2>/dev/null \
    | awk '{ id = ""; aj = ""; tk = ""; st = ""; rs = "";
             for (i = 1; i <= NF; i++) {
               if ($i ~ /^JobId=/) id = substr($i, 7);
               else if ($i ~ /^ArrayJobId=/) aj = substr($i, 12);
               else if ($i ~ /^ArrayTaskId=/) tk = substr($i, 13);
               else if ($i ~ /^JobState=/) st = substr($i, 10);
               else if ($i ~ /^Reason=/) rs = substr($i, 8) }
             if (st != "") print (tk == "" ? id : aj "_" tk), st, rs }'
}
terminal='^(COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE)$'
# Job records of this run not yet in a terminal state (empty once everything finished).
active_jobs() {
  [ -e "${SLURM_CONF:-}" ] || return 0
  { job_states "$array_id"; job_states "$merge_id"; } | awk -v t="$terminal" '$2 !~ t'
}

teardown() {
  local rc=$? p i
  trap - EXIT INT TERM
  [ "$rc" -ne 0 ] || [ "$failed" -eq 0 ] || rc=1
  if [ "$rc" -ne 0 ]; then show_logs; fi
  # Cancel jobs still queued/running while the daemons are up, so slurmstepd cleans up after them.
  if [ -n "$array_id$merge_id" ] && [ -n "$(active_jobs)" ]; then
    say "cancelling unfinished jobs $array_id $merge_id"
    # shellcheck disable=SC2086 # either id may be empty
    timeout 10 scancel $array_id $merge_id >/dev/null 2>&1 || true
    for i in $(seq 20); do [ -z "$(active_jobs)" ] && break; sleep 0.5; done
  fi
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do
    for i in $(seq 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  for p in $(marked_pids); do kill -KILL "$p" 2>/dev/null || true; done
  if [ -n "$hosts_line" ]; then
    # Rewrite in place (not sed -i): /etc/hosts is often a bind mount in containers.
    grep -vxF "$hosts_line" /etc/hosts > "$tmp/hosts.new" || true
    cat "$tmp/hosts.new" > /etc/hosts
    say "removed the /etc/hosts line it added ($hosts_line)"
  fi
  if [ "${TEST_KEEP:-0}" = 1 ]; then say "kept $tmp (TEST_KEEP=1)"; else rm -rf -- "$tmp"; fi
  if [ "$rc" -eq 0 ]; then
    say "PASS: $shards shards through Slurm, merged outputs identical to the unsharded run, and 3 eval shards ($((SECONDS - t0))s)"
  else
    say "FAIL (exit $rc) after $((SECONDS - t0))s; daemons stopped, temp dir cleaned up"
  fi
  exit "$rc"
}
trap teardown EXIT
trap 'say "interrupted"; failed=1; exit 130' INT TERM

mkdir -p "$tmp"/{etc,munge,state,spool,log,run,work,out,single}
chmod 0700 "$tmp"/munge

# --- host name: slurm.conf names this host; it must resolve -------------------------------------
host=$(hostname -s)
[ -n "$host" ] || fail "hostname -s is empty"
if ! getent hosts "$host" >/dev/null; then
  hosts_line="127.0.0.1 $host # added by arena deploy/slurm/test-local.sh"
  echo "$hosts_line" >> /etc/hosts || fail "cannot add $host to /etc/hosts"
  say "note: host name '$host' did not resolve; added '127.0.0.1 $host' to /etc/hosts for this run"
fi

# --- two free TCP ports ---------------------------------------------------------------------------
port_busy() {
  local hex
  hex=$(printf '%04X' "$1")
  cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk -v h=":$hex" '$2 ~ h"$" {f=1} END {exit !f}'
}
pick_port() {
  local p i
  for i in $(seq 100); do
    p=$((20000 + (RANDOM % 20000)))
    [ "$p" != "${1:-}" ] && ! port_busy "$p" && { echo "$p"; return 0; }
  done
  return 1
}
ctld_port=$(pick_port) || fail "no free TCP port for slurmctld"
slurmd_port=$(pick_port "$ctld_port") || fail "no free TCP port for slurmd"

# --- munge ------------------------------------------------------------------------------------------
# --force: munged refuses a socket folder that is not world-executable (ours is 0700 in a 0700
# temp dir; every client here is root). In the foreground it logs to munged.out (stderr).
dd if=/dev/urandom of="$tmp/munge/munge.key" bs=1024 count=1 status=none
chmod 0400 "$tmp/munge/munge.key"
munge_socket="$tmp/munge/munge.socket"
env "$mark" munged --foreground --force \
  --key-file="$tmp/munge/munge.key" --socket="$munge_socket" --pid-file="$tmp/run/munged.pid" \
  --log-file="$tmp/log/munged.log" --seed-file="$tmp/munge/munged.seed" \
  >>"$tmp/log/munged.out" 2>&1 &
pids+=($!)
for i in $(seq 50); do [ -S "$munge_socket" ] && break; sleep 0.1; done
[ -S "$munge_socket" ] || { cat "$tmp/log/munged.out" >&2 || true; fail "munged did not create its socket $munge_socket"; }
if command -v munge >/dev/null && command -v unmunge >/dev/null; then
  munge -n --socket="$munge_socket" | unmunge --socket="$munge_socket" >/dev/null \
    || fail "munge credential round trip through $munge_socket failed"
fi

# --- slurm.conf: one node, this host --------------------------------------------------------------
node_hw=$(slurmd -C | head -n 1) || fail "slurmd -C failed"
node_hw=$(echo "$node_hw" | tr ' ' '\n' | grep -E '^(CPUs|Boards|SocketsPerBoard|CoresPerSocket|ThreadsPerCore|RealMemory)=' | tr '\n' ' ')
echo "$node_hw" | grep -q 'CPUs=' && echo "$node_hw" | grep -q 'RealMemory=' \
  || fail "could not read CPUs/RealMemory from slurmd -C ($node_hw)"
export SLURM_CONF="$tmp/etc/slurm.conf"
cat > "$SLURM_CONF" <<CONF
# Private single-node cluster of deploy/slurm/test-local.sh ($tmp)
ClusterName=arenatest
SlurmctldHost=$host
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$munge_socket
StateSaveLocation=$tmp/state
SlurmdSpoolDir=$tmp/spool
SlurmctldPidFile=$tmp/run/slurmctld.pid
SlurmdPidFile=$tmp/run/slurmd.pid
SlurmctldLogFile=$tmp/log/slurmctld.log
SlurmdLogFile=$tmp/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
ReturnToService=2
MinJobAge=3600
MailProg=/bin/true
NodeName=$host $node_hw State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
say "cluster in $tmp: node $host ($node_hw), slurmctld port $ctld_port, slurmd port $slurmd_port"

# --- daemons (foreground mode, backgrounded; pids kept for teardown) --------------------------------
env "$mark" slurmctld -D -f "$SLURM_CONF" >>"$tmp/log/slurmctld.out" 2>&1 &
pids+=($!)
for i in $(seq 50); do scontrol ping >/dev/null 2>&1 && break; sleep 0.2; done
kill -0 "${pids[-1]}" 2>/dev/null || { cat "$tmp/log/slurmctld.out" >&2 || true; fail "slurmctld exited at start"; }
scontrol ping >/dev/null 2>&1 || fail "slurmctld does not answer scontrol ping on port $ctld_port"
env "$mark" slurmd -D -N "$host" -f "$SLURM_CONF" >>"$tmp/log/slurmd.out" 2>&1 &
pids+=($!)
state=
for i in $(seq 120); do
  kill -0 "${pids[-1]}" 2>/dev/null || { cat "$tmp/log/slurmd.out" >&2 || true; fail "slurmd exited at start"; }
  state=$(sinfo -h -n "$host" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  sleep 0.5
done
[ "$state" = idle ] || fail "node $host is '$state', not idle, after 60s (see the slurmd/slurmctld logs below)"
say "node $host idle after $((SECONDS - t0))s"

# --- submit through the real Slurm path -----------------------------------------------------------
submit_out=$(env "$mark" ARENA="$arena" bash "$here/submit.sh" --real "$real" --pred "$pred" \
  --shards "$shards" --work "$tmp/work" --out "$tmp/out/merged" \
  --cpus 1 --mem "$job_mem" --time 00:30:00 --merge-mem "$job_mem" --merge-time 00:30:00 \
  -- "${extra[@]}") || fail "submit.sh failed"
array_id=$(sed -n 's/^ARRAY_JOB_ID=//p' <<<"$submit_out")
merge_id=$(sed -n 's/^MERGE_JOB_ID=//p' <<<"$submit_out")
[ -n "$array_id" ] && [ -n "$merge_id" ] || fail "submit.sh did not print both job ids: $submit_out"
say "submitted array job $array_id and merge job $merge_id"

# --- wait for both jobs (scontrol show job; no accounting) ------------------------------------------
# Waits for $array_id and $merge_id and fails unless all $1 array tasks and the merge COMPLETED.
wait_for_jobs() {
  local n=$1 deadline all active bad failed_tasks tasks
  deadline=$((SECONDS + job_timeout))
  while :; do
    all=$( { job_states "$array_id"; job_states "$merge_id"; } )
    [ -n "$all" ] || fail "scontrol show job knows neither job $array_id nor $merge_id"
    active=$(awk -v t="$terminal" '$2 !~ t' <<<"$all")
    [ -z "$active" ] && break
    # A failed shard leaves the afterok merge job pending forever: stop waiting for it.
    [ "$active" = "$merge_id PENDING DependencyNeverSatisfied" ] && break
    [ "$SECONDS" -lt "$deadline" ] \
      || { sed 's/^/test-local:   job /' <<<"$all" >&2; fail "jobs not finished after ${job_timeout}s (TEST_TIMEOUT); states above"; }
    sleep 2
  done
  sed 's/^/test-local:   job /' <<<"$all" >&2
  bad=$(awk '$2 != "COMPLETED"' <<<"$all")
  if [ -n "$bad" ]; then
    failed_tasks=$(awk -v m="$merge_id" '$1 != m { print $1 }' <<<"$bad" | tr '\n' ' ')
    [ -z "$failed_tasks" ] || fail "shard task(s) ${failed_tasks}did not complete, so merge job $merge_id never ran (job logs below)"
    fail "merge job $merge_id did not complete: $(grep "^$merge_id " <<<"$bad") (its log is below)"
  fi
  tasks=$(job_states "$array_id" | grep -c ' COMPLETED ' || true)
  [ "$tasks" -eq "$n" ] || fail "expected $n completed array tasks, saw $tasks"
  say "all $n shard tasks and the merge job COMPLETED after $((SECONDS - t0))s"
}
wait_for_jobs "$shards"

# --- unsharded reference run and byte comparison ------------------------------------------------------
env "$mark" "$arena" score --real "$real" --pred "$pred" "${extra[@]}" --outdir "$tmp/single/out" \
  >"$tmp/log/single.out" 2>&1 || { tail -n 25 "$tmp/log/single.out" >&2; fail "unsharded $arena score failed"; }
merged_files=$(cd "$tmp/out/merged" && find . -type f | sort)
single_files=$(cd "$tmp/single/out" && find . -type f | sort)
[ -n "$merged_files" ] || fail "merge wrote no files into $tmp/out/merged"
[ "$merged_files" = "$single_files" ] || fail "merged and unsharded runs wrote different files:
$(diff <(echo "$single_files") <(echo "$merged_files") | sed 's/^</  only unsharded:/; s/^>/  only merged:/' | grep only)"
differ=()
while read -r f; do
  cmp "$tmp/out/merged/$f" "$tmp/single/out/$f" >&2 || differ+=("${f#./}")
done <<<"$merged_files"
[ ${#differ[@]} -eq 0 ] || fail "merged files differ from the unsharded run: ${differ[*]}"
say "$(wc -l <<<"$merged_files") merged files byte-identical to the unsharded run: $(echo "$merged_files" | sed 's#^\./##' | tr '\n' ' ')"

# --- the same through `submit.sh --eval`: 3 shards of arena eval, merged into a scorecard -----------
eval_args=(--baseline ridge --bootstrap 50)
submit_out=$(cd "$tmp" && env "$mark" ARENA="$arena" bash "$here/submit.sh" --eval \
  --shards 3 --work "$tmp/eval-work" --out "$tmp/out/eval-merged" \
  --cpus 1 --mem "$job_mem" --time 00:30:00 --merge-mem "$job_mem" --merge-time 00:30:00 \
  -- "${eval_args[@]}") || fail "submit.sh --eval failed"
array_id=$(sed -n 's/^ARRAY_JOB_ID=//p' <<<"$submit_out")
merge_id=$(sed -n 's/^MERGE_JOB_ID=//p' <<<"$submit_out")
[ -n "$array_id" ] && [ -n "$merge_id" ] || fail "submit.sh --eval did not print both job ids: $submit_out"
say "submitted eval array job $array_id and merge job $merge_id"
wait_for_jobs 3
(cd "$tmp" && env "$mark" "$arena" eval "${eval_args[@]}" --out "$tmp/single/eval") >"$tmp/log/single-eval.out" 2>&1 \
  || { tail -n 25 "$tmp/log/single-eval.out" >&2; fail "unsharded $arena eval failed"; }
for f in per_perturbation.parquet split.json; do
  cmp "$tmp/out/eval-merged/$f" "$tmp/single/eval/$f" >&2 || fail "merged eval $f differs from the unsharded run"
done
# The `run` block (timestamp, wall time, rows/s) is the scorecard's last field.
without_run() { sed '/^  "run": {/,$d' "$1"; }
cmp <(without_run "$tmp/out/eval-merged/scorecard.json") <(without_run "$tmp/single/eval/scorecard.json") >&2 \
  || fail "merged eval scorecard.json differs from the unsharded run beyond its run block"
say "merged eval scorecard (without its run block), per_perturbation.parquet and split.json identical to the unsharded run"
