# Shared by the bench/*.sh scripts (sourced, not run): the arena binary to time, waiting for a
# quiet machine, and reading wall time, CPU time and peak memory off `/usr/bin/time -v` output.

# The binary: $ARENA when set, else a fresh release build.
arena_binary() {
  if [ -n "${ARENA:-}" ]; then
    echo "$ARENA"
  else
    cargo build --release -p arena >&2
    echo target/release/arena
  fi
}

load1() { awk '{print $1}' /proc/loadavg; }

# The 1, 5 and 15-minute load averages, space-separated.
load_averages() { cut -d' ' -f1-3 /proc/loadavg; }

# Waits up to QUIET_WAIT seconds (default 600) for the 1-minute load average to drop below 1.
wait_quiet() {
  local waited=0
  while awk -v l="$(load1)" 'BEGIN{exit !(l >= 1)}' && [ "$waited" -lt "${QUIET_WAIT:-600}" ]; do
    sleep 10; waited=$((waited + 10))
  done
}

# Wall seconds of a `/usr/bin/time -v` report ("Elapsed (wall clock) time (h:mm:ss or m:ss): 1:02.33").
wall() {
  grep "Elapsed (wall clock)" "$1" | awk -F': ' '{print $2}' | awk -F: '{ if (NF==3) print $1*3600+$2*60+$3; else print $1*60+$2 }'
}

# Peak RSS in MiB of a `/usr/bin/time -v` report.
rss() { grep "Maximum resident set size" "$1" | awk -F': ' '{printf "%.0f", $2/1024}'; }

# User + system CPU seconds of a `/usr/bin/time -v` report.
cpu() { grep -E "(User|System) time" "$1" | awk -F': ' '{s += $2} END {printf "%.1f", s}'; }
