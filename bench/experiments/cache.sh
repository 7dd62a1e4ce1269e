#!/usr/bin/env bash
# Experiment 4 of issue 10: the virtual cache (SNS paper §4.4).
#
# A. Hit rate against total cache size and user population: trace-driven LRU simulation
#    (bench/cache_sim: the partitions' own LruStore, traces from `tacc trace synth`'s
#    generator), as the paper ran "cache simulations ... using LRU replacement". A
#    population of P users sends 55 requests each (the paper: 20 M requests, 8,000
#    people, 45 days, per day) over a catalogue of 300 x P^0.8 URLs; 300 is the one
#    constant fitted, so that 8,000 users plateau near the paper's 56% (6 GB).
# B. The same on the real cluster at one point: `tacc up` (TranSend, one cache partition
#    of BUDGET_MB, the front end's own hot-object tier off) and `tacc play` at RATE req/s
#    over the P=1000 trace, served by `tacc trace serve`; hit rate = answers marked
#    X-Tacc-Cache: hit or variant-hit, beside the simulation's for that budget (the cluster also keeps
#    distilled variants in the same budget).
# C. Partitions added and removed under load: two partitions of PART_MB each, a hot set of
#    HOT_OBJECTS URLs they hold whole (a second trace, seed 2); `tacc play`
#    at RATE for 3 x PHASE s; after PHASE s a third partition joins (`tacc worker --class
#    cache`), after 2 x PHASE s one of the first two is killed (kill -9; the manager starts
#    a new, empty one). Per-second hit rate and latency from `tacc play --series`.
# Writes docs/experiments/cache-*.png, cache-sim.tsv, cache-cluster.tsv, cache-partitions.csv
# and prints the tables. Env: USERS="1000 2500 8000 25000 50000" BUDGETS="16,64,256,1024,4096,6144"
# RATE=300 BUDGET_MB=16 PART_MB=16 HOT_OBJECTS=3000 PHASE=40 SKIP_SIM=0 SKIP_CLUSTER=0.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
source "$(dirname "$0")/lib.sh"
USERS="${USERS:-1000 2500 8000 25000 50000}"
BUDGETS="${BUDGETS:-16,64,256,1024,4096,6144}"
RATE="${RATE:-300}"
BUDGET_MB="${BUDGET_MB:-16}"
PART_MB="${PART_MB:-16}"
HOT_OBJECTS="${HOT_OBJECTS:-3000}"
PHASE="${PHASE:-40}"
bench_build --target cache_sim
work="$(mktemp -d)"
trap 'bench_cleanup; rm -rf "$work"' EXIT
exp_lock

SIM="$EXP_DIR/cache-sim.tsv"
if [[ "${SKIP_SIM:-0}" != 1 ]]; then
  bench_log "A: LRU simulation, users $USERS, budgets $BUDGETS MB"
  "$BUILD/bench/cache_sim" --users "$(echo $USERS | tr ' ' ',')" --budgets-mb "$BUDGETS" >"$SIM"
  column -t "$SIM"
  # One data block per population (hit rate against budget) and per budget (against users).
  awk 'NR > 1 { print > "'"$work"'/by_users_" $1 ".dat"; print > "'"$work"'/by_budget_" $4 ".dat" }' "$SIM"
  plot_a="" i=1
  for u in $USERS; do plot_a+="${plot_a:+, }'$work/by_users_$u.dat' using 4:5 with linespoints pt 7 lc $i title '$u users'"; i=$((i + 1)); done
  plot_b="" i=1
  for b in $(echo "$BUDGETS" | tr ',' ' '); do plot_b+="${plot_b:+, }'$work/by_budget_$b.dat' using 1:5 with linespoints pt 7 lc $i title '$b MB'"; i=$((i + 1)); done
  gnuplot <<GP
set terminal pngcairo size 1200,480
set output '$EXP_DIR/cache-sim.png'
set multiplot layout 1,2 title "Virtual-cache hit rate, LRU simulation over synthetic days ($RUN_DATE); the paper: 56% with 6 GB for ~8,000 users"
set grid
set yrange [0:1]
set ylabel 'hit rate (requests)'
set logscale x
set xlabel 'total cache (MB)'
set key bottom right
plot $plot_a, 0.56 with lines dt 2 lc rgb 'black' title 'paper: 56% (6 GB, 8,000 users)'
set xlabel 'user population'
set key top right
plot $plot_b
unset multiplot
GP
fi

[[ "${SKIP_CLUSTER:-0}" == 1 ]] && exit 0

# B and C share a trace: P=1000 as in the simulation (55,000 requests, 75,356 URLs).
trace="$work/p1000.trace"
exp_trace "$trace" --users 1000 -n 55000 --objects 75356 --object-zipf 0.75 --seed 1
exp_serve 0 "$work/serve.log" "$trace"
bench_log "origin $ORIGIN_URL"

bench_log "B: cluster, one partition of $BUDGET_MB MB, $RATE req/s over the whole trace"
exp_up 1 "$work/up-b.log" cache.local_budget_mb=0 "classes.cache.args.budget_mb=$BUDGET_MB" classes.cache.min_workers=1 classes.cache.max_workers=1
"${RUN[@]}" taskset -c 0 "$TACC" play -t "127.0.0.1:$FE_PORT" --trace "$trace" --origin "$ORIGIN_URL" --rate "$RATE" -n 55000 --timeout 20s \
  --progress never --json "$work/b.json" >"$work/b.txt"
bench_stop "$UP_PID"
hits="$(jq -r .cache_hits "$work/b.json")"
answered="$(jq -r .answered "$work/b.json")"
sim_rate="$(awk -v b="$BUDGET_MB" '$1 == 1000 && $4 == b { print $5 }' "$SIM" 2>/dev/null || true)"
{
  echo -e "users\trequests\tbudget_mb\tcluster_answered\tcluster_hits\tcluster_hit_rate\tsimulated_hit_rate\tfailed\tp50_ms\tp99_ms"
  echo -e "1000\t55000\t$BUDGET_MB\t$answered\t$hits\t$(awk -v h="$hits" -v a="$answered" 'BEGIN{printf "%.4f", h/a}')\t${sim_rate:--}\t$(jq -r .failed "$work/b.json")\t$(jq -r .latency_ms.p50 "$work/b.json")\t$(jq -r .latency_ms.p99 "$work/b.json")"
} >"$EXP_DIR/cache-cluster.tsv"
column -t "$EXP_DIR/cache-cluster.tsv"
jq -c '{status, errors}' "$work/b.json"

# C wants a warm cache whose hit rate moves when keys move: a hot set of HOT_OBJECTS URLs
# that the partitions hold whole (their origin: a second `tacc trace serve`).
hot="$work/hot.trace"
exp_trace "$hot" --users 1000 -n 60000 --objects "$HOT_OBJECTS" --object-zipf 0.75 --seed 2
bench_stop "$SERVE_PID"
exp_serve 0 "$work/serve-hot.log" "$hot"
bench_log "C: two partitions of $PART_MB MB, $HOT_OBJECTS URLs; +1 at ${PHASE} s, one killed at $((2 * PHASE)) s"
exp_up 1 "$work/up-c.log" cache.local_budget_mb=0 "classes.cache.args.budget_mb=$PART_MB" classes.cache.min_workers=2 classes.cache.max_workers=4
"${RUN[@]}" taskset -c 0 "$TACC" play -t "127.0.0.1:$FE_PORT" --trace "$hot" --origin "$ORIGIN_URL" --rate "$RATE" -d "$((3 * PHASE))s" --timeout 20s \
  --progress never --series "$EXP_DIR/cache-partitions.csv" --json "$work/c.json" >"$work/c.txt" &
play_pid=$!
sleep "$PHASE"
bench_log "adding a partition"
bench_bg 1 "$work/extra-worker.log" "$TACC" worker --class cache "${EXP_SETS[@]}"
sleep "$PHASE"
victim="$(pgrep -f "worker --class cache.*cluster.name=exp$$" | head -1 || true)"
[[ -n "$victim" ]] || victim="$(pgrep -f "tacc worker --class cache" | head -1)"
bench_log "killing partition pid $victim"
kill -9 "$victim"
wait "$play_pid"
bench_stop "$UP_PID"
jq -c '{answered, failed, cache_hits, latency_ms}' "$work/c.json"
gnuplot <<GP
set terminal pngcairo size 1000,620
set output '$EXP_DIR/cache-partitions.png'
set datafile separator ','
set multiplot layout 2,1 title "Cache partitions added and removed under $RATE req/s ($RUN_DATE): 2 partitions of $PART_MB MB, +1 at ${PHASE} s, one killed at $((2 * PHASE)) s"
set grid
set xlabel 'second of the run'
set ylabel 'hit rate'
set yrange [0:1]
set arrow from $PHASE, graph 0 to $PHASE, graph 1 nohead dt 2
set arrow from $((2 * PHASE)), graph 0 to $((2 * PHASE)), graph 1 nohead dt 2
plot '$EXP_DIR/cache-partitions.csv' using 1:(\$3 > 0 ? \$7 / \$3 : 1/0) every ::1 with lines lw 2 title 'cache hits / answers'
set ylabel 'latency (ms)'
set autoscale y
set logscale y
plot '' using 1:11 every ::1 with lines title 'p50', '' using 1:13 every ::1 with lines title 'p99'
unset multiplot
GP
bench_log "wrote $EXP_DIR/cache-sim.png, cache-partitions.png, cache-sim.tsv, cache-cluster.tsv, cache-partitions.csv"
