#!/usr/bin/env bash
# Benchmark 1 (issue 6): the manager under the paper's shape of load (SNS §4.6) — many
# workers, each on its own TCP connection, each reporting its load every REPORT_MS —
# and the beacons it sends meanwhile, as a front end receives them.
#
# `tacc manager` runs alone on core 0 (fixed spawn policy, no real workers). On core 1,
# `manager_fleet fleet` registers N fake workers (one connection each) and sends one
# LoadReport per connection per REPORT_MS, phases spread evenly; `manager_fleet
# receive` receives, checks and assembles every beacon as a front end does and traces
# each one. bench/manager_analyze.py takes the steady window (all N workers in the
# beacons, after WARMUP s) and reports the manager's CPU share, beacon lateness against
# the period, beacon bytes per second and the receiver's CPU share.
# One run per N in $WORKERS; "max" = as many connections as the file limit allows.
#
# Writes docs/bench/manager_capacity.md (table) and docs/bench/manager_capacity_<N>.txt
# (fleet output, receiver output, figures, and the beacon trace).
#
# Env: WORKERS="1000 10000 max"  SECONDS_PER_RUN=20  WARMUP=5  REPORT_MS=500  BEACON_MS=500
#      MANAGER_SETS="--set key=value ..." (extra manager settings)
#      BEACON_PORT=27101  BUILD=build/bench
source "$(dirname "$0")/lib.sh"

WORKERS="${WORKERS:-1000 10000 max}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-20}"
WARMUP="${WARMUP:-5}"
REPORT_MS="${REPORT_MS:-500}"
BEACON_MS="${BEACON_MS:-500}"
BEACON_PORT="${BEACON_PORT:-27101}"

bench_build manager_fleet
FLEET="$BUILD/bench/manager_fleet"
mkdir -p "$OUT_DIR"
# Every connection is a file descriptor, in the manager and in the fleet.
ulimit -n "$(ulimit -Hn)"
MAX_WORKERS=$(($(ulimit -n) - 200))

declare -A R
RUNS=()
for n in $WORKERS; do
  [[ "$n" == max ]] && n=$MAX_WORKERS
  RUNS+=("$n")
  CLUSTER="bench-mc-$$-$n"
  RUN_DIR="/tmp/tacc-$CLUSTER"
  rm -rf "$RUN_DIR"
  "$TACC" key generate --out "$RUN_DIR/cluster.key" >/dev/null
  SETS=(--set "cluster.name=$CLUSTER" --set "beacon.port=$BEACON_PORT" --set "beacon.interval_ms=$BEACON_MS" --set "worker.report_ms=$REPORT_MS" ${MANAGER_SETS:-})
  bench_wait_quiet
  R[$n,noise]="$BENCH_NOISE"
  bench_log "manager: $n workers reporting every $REPORT_MS ms, ${SECONDS_PER_RUN} s steady"
  bench_bg 0 "$OUT_DIR/.manager.log" "$TACC" manager --fresh "${SETS[@]}" --set manager.spawn_policy=fixed \
    --set classes.test.min_workers=0 --set log.level=warn
  mgr=$BG_PID
  raw="$OUT_DIR/manager_capacity_$n.txt"
  bench_bg 1 "$raw.rx" "$FLEET" receive "${SETS[@]}" --seconds 900 --trace "$raw.trace"
  rx=$BG_PID
  # The manager's resident memory at the end of the steady window (connections held).
  ( sleep $((SECONDS_PER_RUN + WARMUP)); awk '/^VmRSS/ {printf "%.1f\n", $2 / 1024}' "/proc/$mgr/status" 2>/dev/null ) >"$raw.rss" &
  rss_pid=$!
  timeout $((SECONDS_PER_RUN + WARMUP + 400)) "${RUN[@]}" taskset -c 1 "$FLEET" fleet "${SETS[@]}" --workers "$n" --report-ms "$REPORT_MS" \
    --seconds "$((SECONDS_PER_RUN + WARMUP + 2))" >"$raw.fleet" 2>&1 || bench_log "fleet exited with $?"
  wait "$rss_pid" 2>/dev/null || true
  R[$n,rss_mb]="$(cat "$raw.rss" 2>/dev/null)"
  bench_stop "$rx"
  bench_stop "$mgr"
  python3 "$REPO/bench/manager_analyze.py" "$raw.trace" --workers "$n" --interval-ms "$BEACON_MS" --warmup "$WARMUP" >"$raw.fig"
  { echo "# manager_capacity.sh: $n workers, report every $REPORT_MS ms, beacon every $BEACON_MS ms ($RUN_DATE; ${R[$n,noise]})";
    echo "# fleet"; cat "$raw.fleet"; echo "# receiver"; cat "$raw.rx"; echo "# figures (manager_analyze.py)"; cat "$raw.fig";
    echo "# manager log"; cat "$OUT_DIR/.manager.log";
    echo "# beacon trace"; cat "$raw.trace"; } >"$raw"
  while read -r k v; do R[$n,$k]="$v"; done <"$raw.fig"
  rm -f "$raw.fleet" "$raw.rx" "$raw.fig" "$raw.rss" "$raw.trace" "$OUT_DIR/.manager.log"
  rm -rf "$RUN_DIR"
done

{
  echo "# Manager under the paper's load (bench/manager_capacity.sh)"
  echo
  echo "Run $RUN_DATE on $MACHINE. Manager alone on core 0; fake workers and the beacon receiver on core 1."
  echo "Each fake worker registers on its own TCP connection and sends one load report every ${REPORT_MS} ms (a sealed datagram, as real workers do) and a heartbeat every wire.heartbeat_ms; beacons every ${BEACON_MS} ms,"
  echo "split into datagrams of at most 1,400 bytes. Steady window: ${SECONDS_PER_RUN} s after ${WARMUP} s with every worker registered."
  echo "Target (issue 6): 10,000 workers with the manager under 10% of one core and every beacon on time."
  echo
  echo "| workers | reports/s | manager CPU (% of a core) | manager RSS (MB) | beacons | late > 10% of period | lateness p50 / p99 / max (ms) | arrival lateness p99 / max (ms) | datagrams per beacon | beacon bytes/s | receiver CPU (% of a core) | receiver ms per beacon | other load before run |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for n in "${RUNS[@]}"; do
    echo "| $n | ${R[$n,reports_per_s]:-?} | ${R[$n,manager_cpu_pct]:-?} | ${R[$n,rss_mb]:-?} | ${R[$n,beacons]:-?} (missing ${R[$n,ticks_missing]:-?}) | ${R[$n,late_over_10pct]:-?} |" \
      "${R[$n,late_p50_ms]:-?} / ${R[$n,late_p99_ms]:-?} / ${R[$n,late_max_ms]:-?} | ${R[$n,arrival_late_p99_ms]:-?} / ${R[$n,arrival_late_max_ms]:-?} |" \
      "$((${R[$n,parts]:-0} + 1)) | ${R[$n,beacon_bytes_per_s]:-?} | ${R[$n,receiver_cpu_pct]:-?} | ${R[$n,receiver_cpu_ms_per_beacon]:-?} | ${R[$n,noise]#other CPU load before the run: } |"
  done
  echo
  echo "Lateness: the beacon header's send stamp (ms resolution) against its tick's ideal time; arrival lateness: when the receiver"
  echo "had the whole beacon. Raw output and beacon traces: manager_capacity_<workers>.txt."
} >"$OUT_DIR/manager_capacity.md"
cat "$OUT_DIR/manager_capacity.md"
