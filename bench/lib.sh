# Shared helpers of the bench/*.sh scripts (sourced, not run).
#
# Every script: builds what it needs into $BUILD (default build/bench, RelWithDebInfo),
# starts processes only through bench_bg (so that the EXIT trap stops exactly those, and
# their children), bounds every foreground step with `timeout`, and writes its results
# under docs/bench/.

set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${BUILD:-$REPO/build/bench}"
TACC="$BUILD/tacc"
OUT_DIR="${OUT_DIR:-$REPO/docs/bench}"
RUN_DATE="$(date -u +%Y-%m-%d)"
MACHINE="$(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), Linux $(uname -r)"

BENCH_PIDS=()

# Percentage of all CPU time that was busy over the next `secs` seconds (whole machine).
bench_cpu_busy() {
  local secs="${1:-2}" a b
  a=($(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat))
  sleep "$secs"
  b=($(awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat))
  awk -v bu=$((b[0] - a[0])) -v id=$((b[1] - a[1])) 'BEGIN{ if (bu + id == 0) print 0; else printf "%.0f", 100 * bu / (bu + id) }'
}

# The machine may be shared (builds, tests of others). Every benchmark process (and its
# children, which inherit it) runs with BENCH_SCHED:
#   none  as is: right on a quiet machine;
#   rr    SCHED_RR priority 1: wakes at once, ahead of any normal process, so other work
#         barely disturbs it; but the kernel keeps 5% of each second for normal
#         processes (sched_rt_runtime_us), so a process that saturates its core stalls
#         ~50 ms once a second, which shows in p99 latencies and beacon gaps;
#   nice  nice -20: a ~99% CPU share, but wake-ups may wait for another task's slice;
#   auto  (default) none if the machine is under 10% busy with other work, else rr.
BENCH_SCHED="${BENCH_SCHED:-auto}"
if [[ "$BENCH_SCHED" == auto ]]; then
  busy_now="$(bench_cpu_busy 2)"
  if ((busy_now < 10)); then BENCH_SCHED=none; else BENCH_SCHED=rr; fi
  echo "[$(date +%H:%M:%S)] machine ${busy_now}% busy with other work: BENCH_SCHED=$BENCH_SCHED" >&2
  export BENCH_SCHED
fi
# RUN_PROBE: for a probe that must preempt the benchmarked processes (stall_probe.py).
case "$BENCH_SCHED" in
  rr) RUN=(chrt -r 1); RUN_PROBE=(chrt -r 2) ;;
  nice) RUN=(nice -n -20); RUN_PROBE=(nice -n -20) ;;
  none) RUN=(env); RUN_PROBE=(env) ;;
  *) echo "BENCH_SCHED must be auto, none, rr or nice" >&2; exit 2 ;;
esac
MACHINE="$MACHINE; benchmark processes scheduled with BENCH_SCHED=$BENCH_SCHED"

bench_log() { echo "[$(date +%H:%M:%S)] $*" >&2; }

bench_build() {
  if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
    if [[ ! -f "$BUILD/build.ninja" ]]; then
      cmake -S "$REPO" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER_LAUNCHER=ccache >/dev/null
    fi
    cmake --build "$BUILD" --target tacc "$@" >/dev/null
  fi
}

# bench_bg CPU LOGFILE CMD...: runs CMD pinned to CPU in its own process group, in the
# background; its pid is appended to BENCH_PIDS and echoed in BG_PID.
bench_bg() {
  local cpu="$1" log="$2"
  shift 2
  setsid "${RUN[@]}" taskset -c "$cpu" "$@" >"$log" 2>&1 &
  BG_PID=$!
  BENCH_PIDS+=("$BG_PID")
}

# Stops one process started by bench_bg: SIGTERM, then SIGKILL to its group after 5 s.
bench_stop() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

bench_cleanup() {
  local pid
  for pid in "${BENCH_PIDS[@]:-}"; do
    [[ -n "$pid" ]] && bench_stop "$pid"
  done
  BENCH_PIDS=()
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# bench_stable_copy SRC DST [STEADY_S]: copies the binary SRC to DST once SRC has not
# changed for STEADY_S seconds (default 1), so that a rebuild during the run can neither
# swap the binary under it (`tacc up` re-executes its own binary for every child) nor hand
# over a half-linked one. Waits up to about 10 minutes; exits the script if it cannot.
bench_stable_copy() {
  local src="$1" dst="$2" steady="${3:-1}" deadline m0
  deadline=$(($(date +%s) + 600))
  while (($(date +%s) < deadline)); do
    m0="$(stat -c %Y.%s "$src" 2>/dev/null || true)"
    sleep "$steady"
    if [[ -n "$m0" && "$(stat -c %Y.%s "$src" 2>/dev/null)" == "$m0" ]] && cp "$src" "$dst" && cmp -s "$src" "$dst"; then return 0; fi
    rm -f "$dst"
    bench_log "$src is missing or being rebuilt; waiting"
  done
  echo "could not take a stable copy of $src" >&2
  exit 1
}

# A TCP port that nothing listens on now (loopback).
bench_free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# bench_wait_http URL SECONDS: waits until URL answers 200.
bench_wait_http() {
  local url="$1" secs="$2" i
  for i in $(seq $((secs * 10))); do
    if curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for $url" >&2
  return 1
}

# Benchmarks on a shared machine: measures for 2 s how busy the machine is with other
# work (in BENCH_NOISE, for the result files); with QUIET_WAIT=S (default 0) it first
# waits up to S seconds for that to fall under QUIET_MAX percent (default 10).
bench_wait_quiet() {
  local max="${QUIET_MAX:-10}" wait_s="${QUIET_WAIT:-0}" start=$SECONDS busy
  while :; do
    busy="$(bench_cpu_busy 2)"
    if ((busy < max || SECONDS - start >= wait_s)); then break; fi
    bench_log "machine ${busy}% busy with other work; waiting for it to quiet down"
    sleep 3
  done
  BENCH_NOISE="other CPU load before the run: ${busy}%"
}
