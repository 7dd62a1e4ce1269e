#!/usr/bin/env bash
# Runs the benchmarks in sequence (about 28 minutes after the build):
#   1. bench/manager_capacity.sh   -> docs/bench/manager_capacity.md   (~3 min)
#   2. bench/load_balance.sh       -> docs/bench/load_balance.md, load_balance.png   (~9 min)
#   3. bench/frontend_overhead.sh  -> docs/bench/frontend_overhead.md   (~1 min)
#   4. bench/frontend_memory.sh    -> docs/bench/frontend_memory.md   (~5 min)
#   5. bench/frontdoor_peers.sh    -> bench/results/frontdoor_peers-<date>-<HHMM>.md   (~8 min; root: network namespaces)
# Each script's own environment knobs pass through (see their headers).
source "$(dirname "$0")/lib.sh"

bench_log "run-all: installing the peers (nginx, wrk, gnuplot, jq) if missing"
"$REPO/scripts/install-deps.sh" --bench
bench_log "run-all: building tacc and the bench programs into $BUILD"
bench_build manager_fleet http_load
export BENCH_SKIP_BUILD=1
start=$SECONDS
steps=(manager_capacity load_balance frontend_overhead frontend_memory frontdoor_peers)
for i in "${!steps[@]}"; do
  s="${steps[$i]}"
  bench_log "run-all: step $((i + 1))/${#steps[@]}: $s (elapsed $((SECONDS - start)) s)"
  if [[ "$s" == frontdoor_peers && "$(id -u)" != 0 ]]; then
    bench_log "run-all: skipping $s: it needs root (network namespaces)"
    continue
  fi
  TACC="$BUILD/tacc" "$REPO/bench/$s.sh" >/dev/null
done
bench_log "run-all: done in $((SECONDS - start)) s; results in ${OUT_DIR#$REPO/}/"
