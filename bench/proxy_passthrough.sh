#!/usr/bin/env bash
# Pass-through reverse proxy: tacc's TranSend against nginx and Squid, same run, same core.
#
#   core 0   wrk (the load) and the origin: nginx serving static files 4k.bin and 64k.bin
#            (application/octet-stream, so no TranSend dispatch rule could match them) from a
#            temp dir, worker_processes 1, keep-alive on, sendfile on, access log off.
#   core 1   the proxy under test, one at a time measured, all started at the beginning:
#     nginx   proxy_pass, worker_processes 1, upstream keepalive $UPSTREAM_KEEPALIVE,
#             proxy_http_version 1.1, Connection "", access log off;
#     squid   accel mode in front of the origin (cache_peer originserver), cache deny all,
#             one process (-N: no SMP kids), access log off (if squid is installed);
#     tacc    `tacc up` with frontend.service=transend, frontend.count=1, frontend.threads=1,
#             proxy.reverse_origins=["bench.test=http://127.0.0.1:<origin>"],
#             proxy.max_idle_per_origin=$UPSTREAM_KEEPALIVE, log.level=warn, and where the build
#             has TranSend's cache, cache.enabled=false (no cache worker): the manager and
#             the front end (no worker is needed: no dispatch rule) share core 1.
#   direct   wrk straight to the origin (no proxy): core 0's own ceiling, since in every
#            proxied run core 0 does the same work per request (wrk + one origin answer).
#
# Besides req/s and latency, each row has the proxy's own CPU time per request (its process
# group's utime + stime, so other work on a shared machine does not count), each core's busy
# share, and how many connections the origin accepted (upstream keep-alive churn).
#
# Why the origin shares wrk's core: each proxy then has a core to itself, so req/s is what
# one proxy core sustains; the per-core busy columns show which core was the bottleneck
# (if core 0 is at ~100% and core 1 is not, the proxy was not the limit).
#
# For every body size: per target a 2 s warm-up, then DURATION s of
# `wrk -t1 -c$CONNECTIONS --latency -H 'Host: bench.test'`. Every proxied answer is checked
# once with curl first (status 200, exact body size). Results: a markdown table on stdout
# and in bench/results/proxy_passthrough-<date>.md, wrk outputs beside it (-wrk.txt).
# Everything started is stopped on exit (bench/lib.sh), the temp dir removed.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/proxy_passthrough.sh [--help]

Pass-through reverse-proxy throughput and p99 latency of tacc (TranSend), nginx proxy_pass and
Squid (accel, no cache), each on core 1 with one worker, in front of an nginx origin; wrk and
the origin on core 0. Prints a markdown table and writes bench/results/proxy_passthrough-<date>.md.

Environment (defaults):
  DURATION=10            measured seconds per point (after WARMUP)
  WARMUP=2               warm-up seconds per point
  CONNECTIONS=50         wrk connections (one wrk thread)
  SIZES="4k 64k"         body sizes (4k = 4,096 bytes, 64k = 65,536 bytes)
  PROXIES="nginx squid tacc"   proxies to measure (squid is skipped if not installed)
  UPSTREAM_KEEPALIVE=32  idle origin connections kept (nginx keepalive, tacc proxy.max_idle_per_origin)
  BUILD=build/release    build directory holding tacc (not rebuilt: scripts/build.sh release)
  TACC_BIN=$BUILD/tacc   the tacc binary
  BEACON_PORT=27401      tacc's beacon port (own cluster name and run dir under the temp dir)
  OUT_DIR=bench/results  where the table and wrk outputs go
  BENCH_SCHED=auto       none | rr | nice | auto (see bench/lib.sh)
EOF
}
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then usage; exit 0; fi
if [[ $# -gt 0 ]]; then usage >&2; exit 2; fi

LOADAVG_START="$(cut -d' ' -f1-3 /proc/loadavg)"
START_UTC="$(date -u '+%Y-%m-%d %H:%M UTC')"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-$REPO/build/release}"
OUT_DIR="${OUT_DIR:-$REPO/bench/results}"
source "$REPO/bench/lib.sh"

DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
CONNECTIONS="${CONNECTIONS:-50}"
SIZES="${SIZES:-4k 64k}"
PROXIES="${PROXIES:-nginx squid tacc}"
UPSTREAM_KEEPALIVE="${UPSTREAM_KEEPALIVE:-32}"
TACC_BIN="${TACC_BIN:-$BUILD/tacc}"
BEACON_PORT="${BEACON_PORT:-27401}"
HOST_HDR="bench.test"
LOAD_CPU=0
PROXY_CPU=1

[[ -x "$TACC_BIN" ]] || { echo "no tacc binary at $TACC_BIN (build it: scripts/build.sh release, or set BUILD)" >&2; exit 1; }
command -v nginx >/dev/null || { echo "nginx not installed" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk not installed" >&2; exit 1; }
if [[ " $PROXIES " == *" squid "* ]] && ! command -v squid >/dev/null; then
  bench_log "squid not installed (apt-get install -y squid): leaving it out"
  PROXIES="$(echo " $PROXIES " | sed 's/ squid / /; s/^ *//; s/ *$//')"
fi
SQUID_NOTE=""
COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY="$(git -C "$REPO" status --porcelain -- src 2>/dev/null | wc -l)"
TACC_BUILT="$(date -u -r "$TACC_BIN" '+%Y-%m-%d %H:%M UTC')"

TMP="$(mktemp -d /tmp/proxy-passthrough.XXXXXX)"
chmod 755 "$TMP"
CLUSTER="bench-pt-$$"
on_exit() {
  local rc=$?
  bench_cleanup
  if ((rc != 0)); then  # keep what the servers said
    for f in "$TMP"/*.log "$TMP"/*/*.log; do
      [[ -s "$f" ]] && { echo "--- ${f#$TMP/} (last lines)"; tail -15 "$f"; } >&2
    done
  fi
  rm -rf "$TMP"
}
trap on_exit EXIT
mkdir -p "$OUT_DIR"

# --- origin: static files on core 0
mkdir -p "$TMP/www" "$TMP/origin" "$TMP/nginx-proxy"
for s in $SIZES; do
  case "$s" in
    4k) bytes=4096 ;; 64k) bytes=65536 ;;
    *[0-9]k) bytes=$((${s%k} * 1024)) ;;
    *) echo "bad size $s (use e.g. 4k)" >&2; exit 2 ;;
  esac
  head -c "$bytes" /dev/urandom >"$TMP/www/$s.bin"
done
chmod -R a+rX "$TMP/www"

nginx_common() {  # $1: prefix dir
  cat <<EOF
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
EOF
}
temp_paths() {
  echo "  client_body_temp_path $1/body; proxy_temp_path $1/proxy; fastcgi_temp_path $1/fastcgi;"
  echo "  uwsgi_temp_path $1/uwsgi; scgi_temp_path $1/scgi;"
}

ORIGIN_PORT="$(bench_free_port)"
{
  nginx_common "$TMP/origin"
  cat <<EOF
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000000;
  keepalive_timeout 65s;
  default_type application/octet-stream;
$(temp_paths "$TMP/origin")
  server {
    listen 127.0.0.1:$ORIGIN_PORT reuseport backlog=4096;
    root $TMP/www;
    location = /_status { stub_status; }
  }
}
EOF
} >"$TMP/origin/nginx.conf"
bench_bg "$LOAD_CPU" "$TMP/origin/out.log" nginx -p "$TMP/origin" -c "$TMP/origin/nginx.conf"

declare -A PORT
# --- nginx proxy_pass on core 1
if [[ " $PROXIES " == *" nginx "* ]]; then
  PORT[nginx]="$(bench_free_port)"
  {
    nginx_common "$TMP/nginx-proxy"
    cat <<EOF
http {
  access_log off;
  keepalive_requests 100000000;
$(temp_paths "$TMP/nginx-proxy")
  upstream origin {
    server 127.0.0.1:$ORIGIN_PORT;
    keepalive $UPSTREAM_KEEPALIVE;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:${PORT[nginx]} backlog=4096;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
}
EOF
  } >"$TMP/nginx-proxy/nginx.conf"
  bench_bg "$PROXY_CPU" "$TMP/nginx-proxy/out.log" nginx -p "$TMP/nginx-proxy" -c "$TMP/nginx-proxy/nginx.conf"
  PGID_NGINX="$BG_PID"
fi

# --- Squid accel on core 1. Started as root it runs as cache_effective_user (proxy), so its
# dir belongs to that user. -N: one process, no SMP kids, no daemon.
if [[ " $PROXIES " == *" squid "* ]]; then
  PORT[squid]="$(bench_free_port)"
  mkdir -p "$TMP/squid"
  SQUID_USER="$(id -un)"
  if [[ "$(id -u)" == 0 ]]; then SQUID_USER=proxy; chown proxy: "$TMP/squid"; fi
  cat >"$TMP/squid/squid.conf" <<EOF
http_port 127.0.0.1:${PORT[squid]} accel defaultsite=$HOST_HDR vhost
cache_peer 127.0.0.1 parent $ORIGIN_PORT 0 no-query no-digest originserver name=origin
cache_peer_access origin allow all
never_direct allow all
http_access allow all
cache deny all
cache_mem 8 MB
workers 1
cache_effective_user $SQUID_USER
access_log none
cache_store_log none
logfile_rotate 0
cache_log $TMP/squid/cache.log
pid_filename $TMP/squid/squid.pid
coredump_dir $TMP/squid
shutdown_lifetime 1 seconds
max_filedescriptors 8192
via off
forwarded_for transparent
EOF
  SQUID_NOTE="$(squid -v | head -1)"
  bench_bg "$PROXY_CPU" "$TMP/squid/out.log" squid -N -f "$TMP/squid/squid.conf"
  PGID_SQUID="$BG_PID"
fi

# --- tacc up on core 1 (the manager, and the front end it launches, inherit the pinning)
if [[ " $PROXIES " == *" tacc "* ]]; then
  PORT[tacc]="$(bench_free_port)"
  TACC_ADMIN="$(bench_free_port)"
  mkdir -p "$TMP/tacc-run"
  # A copy, so that a rebuild of $BUILD during the run cannot swap the binary under it
  # (tacc up re-executes its own binary for the front end); taken only when the file has
  # not changed for 5 s, so that it is not a half-linked one.
  bench_stable_copy "$TACC_BIN" "$TMP/tacc" 5
  TACC_BUILT="$(date -u -r "$TMP/tacc" '+%Y-%m-%d %H:%M UTC')"
  # Pass-through means no cache, as for nginx and Squid (cache deny all): builds that have
  # TranSend's virtual cache get it turned off, and no cache partition worker.
  TACC_CACHE_OFF=()
  if "$TMP/tacc" up --print-config 2>/dev/null | grep -q '^\[cache\]'; then
    TACC_CACHE_OFF=(--set cache.enabled=false --set classes.cache.min_workers=0)
  fi
  bench_bg "$PROXY_CPU" "$TMP/tacc.log" "$TMP/tacc" up --port "${PORT[tacc]}" \
    --set "cluster.name=$CLUSTER" --set "cluster.run_dir=$TMP/tacc-run" --set "beacon.port=$BEACON_PORT" \
    --set "frontend.admin_port=$TACC_ADMIN" --set frontend.service=transend \
    --set frontend.threads=1 --set frontend.count=1 --set log.level=warn \
    --set "proxy.max_idle_per_origin=$UPSTREAM_KEEPALIVE" "${TACC_CACHE_OFF[@]}" \
    --set "proxy.reverse_origins=[\"$HOST_HDR=http://127.0.0.1:$ORIGIN_PORT\"]"
  PGID_TACC="$BG_PID"
fi

# --- every target answers every size, with the exact body
wait_and_check() {  # name port
  local name="$1" port="$2" s want got i
  for i in $(seq 200); do
    curl -s -o /dev/null --max-time 1 -H "Host: $HOST_HDR" "http://127.0.0.1:$port/" && break
    sleep 0.1
  done
  for s in $SIZES; do
    want="$(stat -c %s "$TMP/www/$s.bin")"
    got="$(curl -s --max-time 5 -H "Host: $HOST_HDR" -o "$TMP/check.bin" -w '%{http_code} %{size_download}' "http://127.0.0.1:$port/$s.bin" || true)"
    if [[ "$got" != "200 $want" ]] || ! cmp -s "$TMP/check.bin" "$TMP/www/$s.bin"; then
      echo "$name on :$port: /$s.bin answered '$got' (want '200 $want', same bytes); its log:" >&2
      tail -20 "$TMP"/"$name"*/*.log "$TMP/$name.log" 2>/dev/null >&2 || true
      exit 1
    fi
  done
  bench_log "$name on :$port answers every size correctly"
}
PORT[direct]="$ORIGIN_PORT"
TARGETS=(direct $PROXIES)
for t in "${TARGETS[@]}"; do wait_and_check "$t" "${PORT[$t]}"; done

# --- measurements
to_ms() {  # "123.45us" | "1.23ms" | "1.02s" -> milliseconds
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) printf "%.2f", v/1000; else if (v ~ /ms$/) printf "%.2f", v+0; else if (v ~ /s$/) printf "%.2f", v*1000; else printf "%.2f", v/1000000 }'
}
cpu_ticks() {  # "busy idle" jiffies of cpuN
  awk -v c="cpu$1" '$1==c{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat
}
group_cpu_ticks() {  # CPU jiffies (user + system, all threads) of the processes in group $1
  local p t=0 v
  [[ -n "$1" ]] || { echo 0; return; }
  for p in $(pgrep -g "$1" || true); do
    v="$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true)"
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
HZ="$(getconf CLK_TCK)"
origin_accepts() { curl -s --max-time 2 "http://127.0.0.1:$ORIGIN_PORT/_status" | awk 'NR==3{print $1}'; }

STAMP="$(date -u +%Y-%m-%d)"
RESULT="$OUT_DIR/proxy_passthrough-$STAMP.md"
[[ -e "$RESULT" ]] && RESULT="$OUT_DIR/proxy_passthrough-$STAMP-$(date -u +%H%M).md"
WRK_OUT="${RESULT%.md}-wrk.txt"
: >"$WRK_OUT"

declare -A RPS P50 P99 ERRS C0 C1 CONNS NOISE US PGID
PGID[direct]=""; PGID[nginx]="${PGID_NGINX:-}"; PGID[squid]="${PGID_SQUID:-}"; PGID[tacc]="${PGID_TACC:-}"
for s in $SIZES; do
  for t in "${TARGETS[@]}"; do
    k="$s,$t"
    url="http://127.0.0.1:${PORT[$t]}/$s.bin"
    bench_wait_quiet
    NOISE[$k]="${BENCH_NOISE#other CPU load before the run: }"
    bench_log "$s via $t: warm-up ${WARMUP}s, then wrk -t1 -c$CONNECTIONS -d${DURATION}s $url"
    timeout $((WARMUP + 20)) "${RUN[@]}" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" \
      -H "Host: $HOST_HDR" "$url" >/dev/null
    a0=($(cpu_ticks 0)); a1=($(cpu_ticks 1)); acc0="$(origin_accepts)"; g0="$(group_cpu_ticks "${PGID[$t]}")"
    timeout $((DURATION + 30)) "${RUN[@]}" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
      --latency -H "Host: $HOST_HDR" "$url" >"$TMP/wrk.txt"
    g1="$(group_cpu_ticks "${PGID[$t]}")"; b0=($(cpu_ticks 0)); b1=($(cpu_ticks 1)); acc1="$(origin_accepts)"
    { echo "### $s via $t: taskset -c $LOAD_CPU wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency -H 'Host: $HOST_HDR' $url"
      cat "$TMP/wrk.txt"; echo; } >>"$WRK_OUT"
    RPS[$k]=$(awk '/^Requests\/sec:/{printf "%.0f", $2}' "$TMP/wrk.txt")
    P50[$k]=$(to_ms "$(awk '$1=="50%"{print $2}' "$TMP/wrk.txt")")
    P99[$k]=$(to_ms "$(awk '$1=="99%"{print $2}' "$TMP/wrk.txt")")
    ERRS[$k]=$(awk '/Non-2xx|Socket errors/{sub(/^ +/, ""); printf "%s ", $0}' "$TMP/wrk.txt")
    C0[$k]=$(awk -v b=$((b0[0] - a0[0])) -v i=$((b0[1] - a0[1])) 'BEGIN{printf "%.0f", (b+i) ? 100*b/(b+i) : 0}')
    C1[$k]=$(awk -v b=$((b1[0] - a1[0])) -v i=$((b1[1] - a1[1])) 'BEGIN{printf "%.0f", (b+i) ? 100*b/(b+i) : 0}')
    CONNS[$k]=$((acc1 - acc0 - 1))  # less the stub_status request itself
    US[$k]=$(awk -v g=$((g1 - g0)) -v hz="$HZ" -v r="${RPS[$k]}" -v d="$DURATION" -v t="$t" \
      'BEGIN{ if (t == "direct" || r == 0) print "—"; else printf "%.1f", 1e6 * g / hz / (r * d) }')
  done
done

fmt() {  # 12345 -> 12,345
  awk -v n="$1" 'BEGIN{ s = sprintf("%.0f", n); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "—" }'; }
label() {
  case "$1" in
    direct) echo "none (wrk → origin)" ;;
    nginx) echo "nginx proxy_pass" ;;
    squid) echo "Squid accel, no cache" ;;
    tacc) echo "tacc TranSend" ;;
  esac
}
{
  echo "# Pass-through reverse proxy: tacc vs nginx and Squid (bench/proxy_passthrough.sh)"
  echo
  echo "- **Run:** $START_UTC, commit $COMMIT ($DIRTY uncommitted paths under src/); tacc binary $TACC_BIN, built $TACC_BUILT."
  echo "- **Machine:** $MACHINE. Load average at start: $LOADAVG_START."
  echo "- **Set-up:** wrk and the nginx origin on core 0, the proxy on core 1 (one worker process/thread each);"
  echo "  \`wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency -H 'Host: $HOST_HDR'\` after a ${WARMUP} s warm-up, keep-alive"
  echo "  connections; upstream idle keep-alive $UPSTREAM_KEEPALIVE (nginx \`keepalive\`, tacc \`proxy.max_idle_per_origin\`)."
  echo "  tacc: ${TACC_CACHE_OFF[*]:-no cache in this build}."
  echo "  Versions: $(nginx -v 2>&1 | sed 's/.*: //'), ${SQUID_NOTE:-Squid not run}, wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')."
  echo
  echo "| body size | proxy | req/s | p99 ms | req/s ÷ nginx | p50 ms | proxy CPU µs/request | core 0 busy (wrk + origin) | core 1 busy (proxy) | origin connections opened | errors | other load before |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|"
  for s in $SIZES; do
    for t in "${TARGETS[@]}"; do
      k="$s,$t"
      n="$s,nginx"
      echo "| $s | $(label "$t") | $(fmt "${RPS[$k]}") | ${P99[$k]} | $(ratio "${RPS[$k]}" "${RPS[$n]:-0}") | ${P50[$k]} |" \
        "${US[$k]} | ${C0[$k]}% | ${C1[$k]}% | $(fmt "${CONNS[$k]}") | ${ERRS[$k]:-none} | ${NOISE[$k]} |"
    done
  done
  echo
  echo "\"none\" is wrk straight to the origin: core 0 does the same work per request in every"
  echo "proxied run, so its rate is about the most any proxy could show here. \"proxy CPU µs/request\":"
  echo "user + system CPU of the proxy's processes (all of them: for tacc the manager and the front"
  echo "end) over the measured run, divided by the requests answered; unlike the core columns it"
  echo "does not count other work on the machine. \"Origin connections opened\": connections the"
  echo "origin accepted during the run (upstream keep-alive churn). wrk outputs: $(basename "$WRK_OUT")."
} >"$RESULT"
cat "$RESULT"
bench_log "written $RESULT and $WRK_OUT"
