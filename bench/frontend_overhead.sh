#!/usr/bin/env bash
# Benchmark 3 (issue 3): front-end overhead against nginx on the same core.
#
# Servers on core 0, wrk on core 1, the same wrk settings for every target:
#   nginx_ok       nginx -c <generated conf>: worker_processes 1, `return 200 "ok"`
#   tacc health    GET /_tacc/health on the front end's admin listener (same HTTP server
#                  code, same thread with frontend.threads=1): tacc's HTTP path alone
#   tacc task      GET /task/test?cost_ms=0: front end -> manager stub -> worker -> back
# The tacc cluster is `tacc up` with frontend.threads=1 and exactly one worker
# (fixed policy, min=max=1, cost 0), the whole cluster (manager, front end, worker)
# pinned to core 0, so that it has the one core nginx has.
#
# Writes docs/bench/frontend_overhead.md (table) and docs/bench/frontend_overhead_wrk.txt
# (the wrk outputs).
#
# Load levels: LOADS="32:10 1:5" (connections:seconds): 32 connections saturate the
# server core (throughput; under BENCH_SCHED=rr on a busy machine its p99 includes the
# kernel's RT-throttling stalls), 1 connection leaves it mostly idle (per-request latency).
#
# Env: LOADS="32:10 1:5" WRK_THREADS=1 BEACON_PORT=27301
source "$(dirname "$0")/lib.sh"

LOADS="${LOADS:-32:10 1:5}"
WRK_THREADS="${WRK_THREADS:-1}"
BEACON_PORT="${BEACON_PORT:-27301}"
CLUSTER="bench-fe-$$"

command -v nginx >/dev/null || { echo "nginx not installed (apt-get install nginx-light)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not installed (apt-get install wrk)" >&2; exit 1; }
bench_build
mkdir -p "$OUT_DIR"
TMP="$(mktemp -d)"
trap 'bench_cleanup; rm -rf "$TMP" "/tmp/tacc-$CLUSTER"' EXIT

# --- servers
NGINX_PORT="$(bench_free_port)"
cat >"$TMP/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $TMP/nginx.pid;
error_log $TMP/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  client_body_temp_path $TMP/body;
  proxy_temp_path $TMP/proxy;
  fastcgi_temp_path $TMP/fastcgi;
  uwsgi_temp_path $TMP/uwsgi;
  scgi_temp_path $TMP/scgi;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / { return 200 "ok"; }
  }
}
EOF
bench_log "front-end overhead: starting nginx on :$NGINX_PORT and tacc on core 0"
bench_bg 0 "$TMP/nginx.log" nginx -p "$TMP" -c "$TMP/nginx.conf"

TACC_PORT="$(bench_free_port)"
ADMIN_PORT="$(bench_free_port)"
bench_bg 0 "$TMP/tacc.log" "$TACC" up --port "$TACC_PORT" --set "cluster.name=$CLUSTER" --set "beacon.port=$BEACON_PORT" \
  --set "frontend.admin_port=$ADMIN_PORT" \
  --set frontend.threads=1 --set manager.spawn_policy=fixed --set classes.test.min_workers=1 --set classes.test.max_workers=1 \
  --set classes.test.args.mode=sleep --set classes.test.args.cost_ms=0 --set log.level=warn

bench_wait_http "http://127.0.0.1:$NGINX_PORT/" 10
bench_wait_http "http://127.0.0.1:$TACC_PORT/task/test?cost_ms=0" 20

# --- wrk, one target at a time: 1 s warm-up, then the measured run.
declare -A URL=(
  [nginx_ok]="http://127.0.0.1:$NGINX_PORT/"
  [tacc_health]="http://127.0.0.1:$ADMIN_PORT/_tacc/health"
  [tacc_task]="http://127.0.0.1:$TACC_PORT/task/test?cost_ms=0"
)
ORDER=(nginx_ok tacc_health tacc_task)
WRK_OUT="$OUT_DIR/frontend_overhead_wrk.txt"
: >"$WRK_OUT"
to_ms() {  # "123.45us" | "1.23ms" | "1.02s" -> milliseconds
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) printf "%.3f", v/1000; else if (v ~ /ms$/) printf "%.3f", v+0; else if (v ~ /s$/) printf "%.3f", v*1000; else printf "%.3f", v/1000000 }'
}
declare -A RPS P50 P99 ERRS NOISE
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }
for load in $LOADS; do
  conns="${load%%:*}"
  secs="${load##*:}"
  for t in "${ORDER[@]}"; do
    k="$t,$conns"
    bench_wait_quiet
    NOISE[$k]="${BENCH_NOISE#other CPU load before the run: }"
    bench_log "front-end overhead: wrk -t$WRK_THREADS -c$conns -d${secs}s ${URL[$t]}"
    timeout 20 "${RUN[@]}" taskset -c 1 wrk -t"$WRK_THREADS" -c"$conns" -d1s "${URL[$t]}" >/dev/null
    timeout $((secs + 20)) "${RUN[@]}" taskset -c 1 wrk -t"$WRK_THREADS" -c"$conns" -d"${secs}s" --latency "${URL[$t]}" >"$TMP/$t.wrk"
    { echo "### $t: taskset -c 1 wrk -t$WRK_THREADS -c$conns -d${secs}s --latency ${URL[$t]}"; cat "$TMP/$t.wrk"; echo; } >>"$WRK_OUT"
    RPS[$k]=$(awk '/^Requests\/sec:/{printf "%.0f", $2}' "$TMP/$t.wrk")
    P50[$k]=$(to_ms "$(awk '$1=="50%"{print $2}' "$TMP/$t.wrk")")
    P99[$k]=$(to_ms "$(awk '$1=="99%"{print $2}' "$TMP/$t.wrk")")
    ERRS[$k]=$(awk '/Non-2xx|Socket errors/{printf "%s ", $0}' "$TMP/$t.wrk")
  done
done

{
  echo "# Front-end overhead (bench/frontend_overhead.sh)"
  echo
  echo "Run $RUN_DATE on $MACHINE. Servers pinned to core 0 (the whole tacc cluster: manager,"
  echo "front end with frontend.threads=1, one worker with cost 0); wrk on core 1:"
  echo "\`wrk -t$WRK_THREADS -c<connections> -d<seconds>s --latency\` after a 1 s warm-up, keep-alive connections."
  echo "nginx_ok: \`return 200 \"ok\"\`; tacc_health: /_tacc/health on the admin listener (front end only); tacc_task: /task/test?cost_ms=0 (front end + worker)."
  echo
  echo "| connections | target | requests/s | p50 ms | p99 ms | requests/s ÷ nginx | p50 ÷ nginx | p99 ÷ nginx | errors | machine before run |"
  echo "|---|---|---|---|---|---|---|---|---|---|"
  for load in $LOADS; do
    conns="${load%%:*}"
    for t in "${ORDER[@]}"; do
      k="$t,$conns"
      n="nginx_ok,$conns"
      echo "| $conns | $t | ${RPS[$k]} | ${P50[$k]} | ${P99[$k]} | $(ratio "${RPS[$k]}" "${RPS[$n]}") | $(ratio "${P50[$k]}" "${P50[$n]}") |" \
        "$(ratio "${P99[$k]}" "${P99[$n]}") | ${ERRS[$k]:-none} | ${NOISE[$k]} busy |"
    done
  done
  echo
  echo "wrk outputs: frontend_overhead_wrk.txt. nginx: $(nginx -v 2>&1 | sed 's/.*: //'); wrk: $(wrk -v 2>&1 | head -1 | awk '{print $1, $2}')."
} >"$OUT_DIR/frontend_overhead.md"
cat "$OUT_DIR/frontend_overhead.md"
