#!/usr/bin/env bash
# How much load `tacc play` offers from one core, beside wrk (the usual HTTP load tool),
# against a trivial server, so that the experiments can say the load generator was not
# the bottleneck (issue 10: "at least 50,000 requests/s from one core").
#
#   core 0   the load generator under test, one at a time
#   core 1   nginx, worker_processes 1, `return 200 "hello\n"`, keep-alive, access log off
#
# Runs, each DURATION s after a 2 s warm-up, CONNECTIONS keep-alive connections:
#   wrk            wrk -t1 -c$CONNECTIONS (closed loop: as fast as the server answers)
#   play closed    tacc play --users $CONNECTIONS --think fixed:0s (the same shape as wrk)
#   play open R    tacc play --rate R for R in $RATES (open loop, Poisson arrivals): the
#                  rate it holds (answered/offered), its p99, and its own CPU share of core 0
# Each row has the generator's CPU time per request (user+system, from /proc) so that
# req/s per core can be read even where nginx, not the generator, was the limit.
# Results: a markdown table on stdout and in bench/results/play_capacity-<date>-<HHMM>.md.
set -euo pipefail

usage() {
  cat <<'USAGE'
Usage: bench/play_capacity.sh [--help]
Environment: DURATION (default 10), CONNECTIONS (64), RATES ("25000 50000 75000 100000").
Needs nginx-light and wrk (scripts/install-deps.sh --bench).
USAGE
}
[[ "${1:-}" == "--help" || "${1:-}" == "-h" ]] && { usage; exit 0; }

source "$(dirname "$0")/lib.sh"
DURATION="${DURATION:-10}"
CONNECTIONS="${CONNECTIONS:-64}"
RATES="${RATES:-25000 50000 75000 100000}"
bench_build
# Never measure beside another benchmark or experiment (bench/experiments/lib.sh's lock).
exec 9>/tmp/tacc-bench.lock
flock 9
bench_wait_quiet

work="$(mktemp -d)"
trap 'bench_cleanup; rm -rf "$work"' EXIT
port="$(bench_free_port)"
cat >"$work/nginx.conf" <<NGINX
worker_processes 1;
daemon off;
pid $work/nginx.pid;
error_log $work/error.log;
events { worker_connections 8192; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  server {
    listen 127.0.0.1:$port reuseport;
    location / { return 200 "hello\n"; }
  }
}
NGINX
bench_bg 1 "$work/nginx.log" nginx -c "$work/nginx.conf"
bench_wait_http "http://127.0.0.1:$port/" 10

# cpu_ticks PID: user+system clock ticks of PID so far.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
hz="$(getconf CLK_TCK)"

rows=()
# measure NAME CMD...: runs CMD on core 0 (it lasts DURATION + 3 s); its CPU seconds over
# [2 s, 2 s + DURATION] into CPU_S.
measure() {
  local name="$1"
  shift
  "${RUN[@]}" taskset -c 0 "$@" >"$work/out.txt" 2>&1 &
  local pid=$! t0 t1
  sleep 2
  t0="$(cpu_ticks "$pid")"
  sleep "$DURATION"
  t1="$(cpu_ticks "$pid")"
  wait "$pid" || true
  CPU_S="$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN{printf "%.3f", (b - a) / hz}')"
}

bench_log "wrk -t1 -c$CONNECTIONS"
measure wrk wrk -t1 -c"$CONNECTIONS" -d"$((DURATION + 3))s" --latency "http://127.0.0.1:$port/"
cp "$work/out.txt" "$work/wrk.txt"
wrk_rps="$(awk '/Requests\/sec/{print $2}' "$work/wrk.txt")"
wrk_p99="$(awk '/ 99%/{print $2}' "$work/wrk.txt")"
wrk_us="$(awk -v c="$CPU_S" -v r="$wrk_rps" -v d="$DURATION" 'BEGIN{printf "%.2f", 1e6 * c / (r * d)}')"
rows+=("| wrk -t1 -c$CONNECTIONS (closed) | - | $wrk_rps | - | $wrk_p99 | $(awk -v c="$CPU_S" -v d="$DURATION" 'BEGIN{printf "%.0f%%", 100*c/d}') | $wrk_us |")

play_row() {
  local label="$1" offered="$2" json="$work/play.json"
  local ans p99 rate
  ans="$(jq -r .answered "$json")"
  rate="$(jq -r '.answered_per_s' "$json")"
  p99="$(jq -r '.latency_ms.p99' "$json")ms"
  local us
  us="$(awk -v c="$CPU_S" -v r="$rate" -v d="$DURATION" 'BEGIN{ if (r > 0) printf "%.2f", 1e6 * c / (r * d); else print "-" }')"
  local held="-"
  [[ "$offered" != "-" ]] && held="$(awk -v a="$rate" -v o="$offered" 'BEGIN{printf "%.1f%%", 100*a/o}')"
  rows+=("| $label | $offered | $rate | $held | $p99 | $(awk -v c="$CPU_S" -v d="$DURATION" 'BEGIN{printf "%.0f%%", 100*c/d}') | $us |")
}

bench_log "tacc play --users $CONNECTIONS --think fixed:0s"
measure play "$TACC" play -t "127.0.0.1:$port" --mode reverse --url / --users "$CONNECTIONS" --think fixed:0s -d "$((DURATION + 3))s" \
  --max-conns "$CONNECTIONS" --progress never --json "$work/play.json"
play_row "tacc play --users $CONNECTIONS, no think (closed)" "-"
closed_rps="$(jq -r .answered_per_s "$work/play.json")"
for rate in $RATES; do
  bench_log "tacc play --rate $rate"
  measure play "$TACC" play -t "127.0.0.1:$port" --mode reverse --url / --rate "$rate" -d "$((DURATION + 3))s" --max-conns "$CONNECTIONS" \
    --progress never --json "$work/play.json"
  play_row "tacc play --rate $rate (open)" "$rate"
done

stamp="$(date -u +%Y-%m-%d-%H%M)"
out="$REPO/bench/results/play_capacity-$stamp.md"
mkdir -p "$REPO/bench/results"
{
  echo "# tacc play against a trivial server, beside wrk ($RUN_DATE)"
  echo
  echo "Machine: $MACHINE. $BENCH_NOISE. Generator on core 0, nginx (1 worker, \`return 200\`) on core 1;"
  echo "$CONNECTIONS keep-alive connections, ${DURATION} s measured after 2 s. Command: \`bench/play_capacity.sh\`."
  echo "Rates over the whole run (warm-up and last second included); CPU = the generator's user+system time over the measured ${DURATION} s."
  echo
  echo "| generator | offered req/s | answered req/s | held | p99 | generator CPU (core 0) | generator µs CPU / request |"
  echo "|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  echo "tacc play closed loop / wrk: $(awk -v a="$closed_rps" -v b="$wrk_rps" 'BEGIN{printf "%.2f", a/b}')"
} | tee "$out"
bench_log "wrote $out"
