#!/usr/bin/env bash
# Benchmark 2 (issues 3 and 6): load balance across workers with one or several
# dispatching manager stubs, with and without the queue-delta estimator (paper §4.5),
# for the lottery, least-loaded and random policies.
#
# Each run: `tacc up` with F front ends of T threads each (frontend.count=F,
# frontend.threads=T: F*T manager stubs), a fixed 4 workers of class test (sleep $COST_MS
# ms per task, so capacity is 4 * 1000 / $COST_MS tasks/s), default beacon (500 ms),
# report (200 ms) and smoothing (0.3) settings; bench/http_load offers Poisson arrivals
# at $RATE req/s for $SECONDS_PER_RUN s, each request to one of the F front ends at
# random (within a front end the kernel spreads connections over its threads,
# SO_REUSEPORT). Per-worker queues are reconstructed from which worker served each
# request (X-Tacc-Worker) and when, sampled every 50 ms, skipping the first 2 s.
#
# Writes docs/bench/load_balance.md (tables), docs/bench/load_balance.png (queues over a
# $PLOT_SPAN s window per worker for PLOT_RUNS) and docs/bench/load_balance/<run>.dat
# (the sampled queues). Run time: about 36 s per run (15 runs by default: ~9 minutes).
#
# Env: RATE=150 COST_MS=20 SECONDS_PER_RUN=30
#      TOPOLOGIES="1x1 1x4 2x2" (front ends x threads per front end)
#      RUNS="lottery:on lottery:off least_loaded:on least_loaded:off random:off"
#           (policy:estimator, run for every topology)
#      PLOT_RUNS= run names to plot, two per row (default: the last topology's lottery
#           and least_loaded runs, estimator on left, off right)
#      PORT (free port; front end i gets PORT+i) BEACON_PORT=27201 PLOT_FROM=10 PLOT_SPAN=6
#      KEEP_RAW=DIR keeps the request and beacon logs there (default: a temporary directory)
source "$(dirname "$0")/lib.sh"

RATE="${RATE:-150}"
COST_MS="${COST_MS:-20}"
WORKERS=4
SECONDS_PER_RUN="${SECONDS_PER_RUN:-30}"
TOPOLOGIES="${TOPOLOGIES:-1x1 1x4 2x2}"
RUNS="${RUNS:-lottery:on lottery:off least_loaded:on least_loaded:off random:off}"
last_topo="${TOPOLOGIES##* }"
PLOT_RUNS="${PLOT_RUNS:-$(for r in $RUNS; do [[ "$r" == random* ]] || echo "${last_topo}_${r%%:*}_estimator_${r##*:}"; done | tr '\n' ' ')}"
BEACON_PORT="${BEACON_PORT:-27201}"
PLOT_FROM="${PLOT_FROM:-10}"
PLOT_SPAN="${PLOT_SPAN:-6}"

bench_build http_load
LOAD="$BUILD/bench/http_load"
DATA="$OUT_DIR/load_balance"
mkdir -p "$DATA"
if [[ -n "${KEEP_RAW:-}" ]]; then
  RAW="$KEEP_RAW"
  mkdir -p "$RAW"
  rm -f "$RAW/noise"
  trap bench_cleanup EXIT
else
  RAW="$(mktemp -d)"
  trap 'bench_cleanup; rm -rf "$RAW"' EXIT
fi

# free_ports N: the first of N consecutive TCP ports that nothing listens on now, below
# the kernel's ephemeral range (so that outgoing connections do not take them meanwhile).
free_ports() {
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(1000):
    base = random.randrange(10000, low - n)
    socks = []
    try:
        for p in range(base, base + n):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", p))
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
PY
}

specs=()
for topo in $TOPOLOGIES; do
  fes="${topo%%x*}"
  threads="${topo##*x}"
  for run in $RUNS; do
    policy="${run%%:*}"
    est="${run##*:}"
    name="${topo}_${policy}_estimator_${est}"
    [[ "$est" == on ]] && estv=true || estv=false
    port="${PORT:-$(free_ports "$fes")}"
    ports="$(seq -s, "$port" $((port + fes - 1)))"
    admin_port="$(free_ports "$fes")"  # front end i serves its admin endpoints on admin_port + i
    cluster="bench-lb-$$-$name"
    sets=(--set "cluster.name=$cluster" --set "beacon.port=$BEACON_PORT" --set "frontend.count=$fes" --set "frontend.threads=$threads" --set "frontend.admin_port=$admin_port"
          --set manager.spawn_policy=fixed --set "classes.test.min_workers=$WORKERS" --set "classes.test.max_workers=$WORKERS"
          --set classes.test.args.mode=sleep --set "classes.test.args.cost_ms=$COST_MS"
          --set "stub.balance_policy=$policy" --set "stub.delta_estimator=$estv" --set log.level=warn)
    bench_wait_quiet
    echo "$name: $BENCH_NOISE" >>"$RAW/noise"
    bench_log "load balance: $name ($fes front ends x $threads threads), $RATE req/s for ${SECONDS_PER_RUN} s"
    bench_bg 0-1 "$RAW/$name.up.log" "$TACC" up --port "$port" "${sets[@]}"
    up=$BG_PID
    # Wait for every front end and all workers (they are spawned at start-up).
    ready=0
    for _ in $(seq 150); do
      st="$(curl -fsS --max-time 1 "http://127.0.0.1:$admin_port/_tacc/status" 2>/dev/null || true)"
      n=$(jq '.workers | length' <<<"$st" 2>/dev/null || echo 0)
      f=$(jq '.frontends | length' <<<"$st" 2>/dev/null || echo 0)
      if [[ "$n" == "$WORKERS" && "$f" == "$fes" ]]; then ready=1; break; fi
      sleep 0.1
    done
    [[ "$ready" == 1 ]] || { echo "cluster did not come up; log:" >&2; cat "$RAW/$name.up.log" >&2; exit 1; }
    for ((i = 0; i < fes; i++)); do bench_wait_http "http://127.0.0.1:$((admin_port + i))/_tacc/health" 10; done
    timeout $((SECONDS_PER_RUN + 30)) "${RUN[@]}" "$LOAD" --port "$ports" --path "/task/test?cost_ms=$COST_MS&mode=sleep" --rate "$RATE" \
      --seconds "$SECONDS_PER_RUN" --out "$RAW/$name.req" --beacons "$RAW/$name.beacons" \
      --set "cluster.name=$cluster" --set "beacon.port=$BEACON_PORT" >"$RAW/$name.summary"
    bench_stop "$up"
    rm -rf "/tmp/tacc-$cluster"
    specs+=("$name=$RAW/$name.req:$RAW/$name.beacons")
  done
done

table="$(python3 "$REPO/bench/lb_analyze.py" --from 2 --to "$SECONDS_PER_RUN" --dt 0.05 --dat-dir "$DATA" --summary "$RAW/summary" "${specs[@]}")"

# Plot: one panel per run in PLOT_RUNS, two per row.
names=($PLOT_RUNS)
rows=$(( (${#names[@]} + 1) / 2 ))
colmax='$2'
for ((i = 3; i <= WORKERS + 1; i++)); do colmax="max($colmax, \$$i)"; done
{
  echo "set terminal pngcairo size 1400,$((rows * 330 + 40)) font 'sans,10'"
  echo "set output '$OUT_DIR/load_balance.png'"
  echo "set multiplot layout $rows,2 title 'Per-worker queue length (queued + running), $RATE req/s Poisson, $WORKERS workers x $COST_MS ms, beacons every 500 ms; FxT = F front ends x T threads'"
  echo "set xrange [$PLOT_FROM:$((PLOT_FROM + PLOT_SPAN))]"
  echo "set yrange [0:*]"
  echo "set offsets 0, 0, graph 0.2, 0"
  echo "max(a, b) = a > b ? a : b"
  echo "set xlabel 'time (s)'"
  echo "set ylabel 'tasks at worker'"
  echo "set key top left horizontal opaque"
  echo "set grid"
  for n in "${names[@]}"; do
    echo "set title '${n//_/ }'"
    echo "stats '$DATA/$n.dat' using ($colmax) nooutput"
    echo "ystep = STATS_max > 40 ? 10 : STATS_max > 12 ? 5 : 1"
    echo "set ytics 0, ystep"
    echo "plot for [i=2:$((WORKERS + 1))] '$DATA/$n.dat' using 1:i with steps lw 1.5 title 'worker '.(i-1)"
  done
  echo "unset multiplot"
} >"$RAW/plot.gp"
gnuplot "$RAW/plot.gp"

capacity=$((WORKERS * 1000 / COST_MS))
busy="$(sed 's/.*: other CPU load before the run: //; s/%//' "$RAW/noise" | sort -n | sed -n '1p;$p' | paste -sd '-' | sed 's/-/–/')"
{
  echo "# Load balance (bench/load_balance.sh)"
  echo
  echo "Run $RUN_DATE on $MACHINE."
  echo "Topologies (front ends x threads per front end, one manager stub per thread): $TOPOLOGIES."
  echo "$WORKERS fixed workers, sleep $COST_MS ms per task (capacity $capacity req/s); open-loop Poisson load $RATE req/s"
  echo "($(awk -v r="$RATE" -v c="$capacity" 'BEGIN{printf "%.0f", 100*r/c}')% of capacity) for ${SECONDS_PER_RUN} s per run, each request to a front end chosen at random;"
  echo "beacon.interval_ms=500, worker.report_ms=200, manager.load_smoothing=0.3 (defaults)."
  echo "Queues sampled every 50 ms from 2 s to ${SECONDS_PER_RUN} s. Machine busy with other work before the runs: ${busy}%."
  echo
  echo "Standard deviation of the 4 queues (mean over time), and p99 latency in ms:"
  echo
  cat "$RAW/summary"
  echo
  echo "All figures per run:"
  echo
  echo "$table"
  echo
  echo "Reference: with purely random placement each worker is an M/D/1 queue at ρ=$(awk -v r="$RATE" -v c="$capacity" 'BEGIN{printf "%.2f", r/c}'),"
  echo "mean queue $(awk -v r="$RATE" -v c="$capacity" 'BEGIN{p=r/c; printf "%.2f", p + p*p/(2*(1-p))}')."
  echo
  echo "![queues over time](load_balance.png)"
  echo
  echo "Sampled queues: load_balance/<run>.dat (t, then one column per worker)."
} >"$OUT_DIR/load_balance.md"
cat "$OUT_DIR/load_balance.md"
