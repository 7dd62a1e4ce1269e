#!/usr/bin/env bash
# Benchmark 1 (issue 3): manager capacity — load reports absorbed per second, and
# whether beacons stay on time meanwhile.
#
# `tacc manager` runs alone on core 0 (fixed spawn policy, no real workers); the
# generator bench/report_flood runs on core 1, registers one fake worker per TCP
# connection and writes LoadReports on all of them as fast as the manager reads, for
# $SECONDS_PER_RUN seconds, while timestamping every beacon in the kernel.
# One run per connection count in $CONNS.
#
# Writes docs/bench/manager_capacity.md (table) and docs/bench/manager_capacity_<N>.txt
# (raw generator output and the beacon trace: t_s seq load_reports workers).
#
# Env: CONNS="50 200"  SECONDS_PER_RUN=10  WARMUP=3  BEACON_MS=100  BEACON_PORT=27101  BUILD=build/bench
source "$(dirname "$0")/lib.sh"

CONNS="${CONNS:-50 200}"
SECONDS_PER_RUN="${SECONDS_PER_RUN:-10}"
WARMUP="${WARMUP:-3}"
BEACON_MS="${BEACON_MS:-100}"
BEACON_PORT="${BEACON_PORT:-27101}"
CLUSTER="bench-mc-$$"

bench_build report_flood
FLOOD="$BUILD/bench/report_flood"
mkdir -p "$OUT_DIR"
SETS=(--set "cluster.name=$CLUSTER" --set "beacon.port=$BEACON_PORT" --set "beacon.interval_ms=$BEACON_MS")

declare -A R
for c in $CONNS; do
  bench_wait_quiet
  R[$c,noise]="$BENCH_NOISE"
  bench_log "manager capacity: $c connections, ${SECONDS_PER_RUN} s"
  bench_bg 0 "$OUT_DIR/.manager.log" "$TACC" manager --fresh "${SETS[@]}" --set manager.spawn_policy=fixed \
    --set classes.test.min_workers=0 --set log.level=warn
  mgr=$BG_PID
  raw="$OUT_DIR/manager_capacity_$c.txt"
  # A probe on the manager's core, above it in priority, for as long as the flood lasts.
  "${RUN_PROBE[@]}" taskset -c 0 python3 "$REPO/bench/stall_probe.py" --seconds "$((SECONDS_PER_RUN + 2))" >"$raw.probe" &
  probe=$!
  timeout $((SECONDS_PER_RUN + 40)) "${RUN[@]}" taskset -c 1 "$FLOOD" "${SETS[@]}" --connections "$c" --seconds "$SECONDS_PER_RUN" \
    --warmup "$WARMUP" --beacons "$raw.beacons" >"$raw.out"
  wait "$probe"
  bench_stop "$mgr"
  { echo "# report_flood --connections $c --seconds $SECONDS_PER_RUN --warmup $WARMUP ($RUN_DATE)"; cat "$raw.out" "$raw.probe";
    echo "# beacon trace: t_s seq load_reports workers"; grep -v '^#' "$raw.beacons"; } >"$raw"
  rm -f "$raw.out" "$raw.beacons" "$raw.probe"
  while read -r k v; do R[$c,$k]="$v"; done < <(grep -v '^#' "$raw" | awk 'NF==2')
done
rm -f "$OUT_DIR/.manager.log"
rm -rf "/tmp/tacc-$CLUSTER"

{
  echo "# Manager capacity (bench/manager_capacity.sh)"
  echo
  echo "Run $RUN_DATE on $MACHINE. Manager on core 0, generator on core 1;"
  echo "beacon.interval_ms=$BEACON_MS; ${SECONDS_PER_RUN} s of flooding per run, steady state after ${WARMUP} s."
  echo "Paper (SNS §4.6): 1,800 load announcements/s handled easily (900 distillers, one every 0.5 s)."
  echo
  echo "| connections (fake workers) | reports/s, whole run | reports/s, steady | × paper (steady) | beacons | missing | gap mean ms | gap p99 ms | gap max ms | core-0 probe: worst lateness ms | machine before run |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for c in $CONNS; do
    ratio=$(awk -v r="${R[$c,steady_reports_per_s]}" 'BEGIN{printf "%.0f", r/1800}')
    echo "| $c | ${R[$c,reports_per_s]} | ${R[$c,steady_reports_per_s]} | $ratio | ${R[$c,beacons]} | ${R[$c,beacons_missing]} |" \
      "${R[$c,gap_mean_ms]} | ${R[$c,gap_p99_ms]} | ${R[$c,gap_max_ms]} | ${R[$c,probe_late_max_ms]} | ${R[$c,noise]#other CPU load before the run: } busy |"
  done
  echo
  echo "The probe (bench/stall_probe.py) sleeps 5 ms at a time on core 0 at a higher priority than the manager;"
  echo "its worst lateness is how long the machine itself kept core 0 from us, which beacon gaps cannot beat."
  echo
  echo "Raw output and beacon traces: manager_capacity_<connections>.txt."
} >"$OUT_DIR/manager_capacity.md"
cat "$OUT_DIR/manager_capacity.md"
