#!/usr/bin/env bash
# Cache-hit path: tacc's TranSend (virtual cache) against nginx proxy_cache and Squid (memory
# cache), same run, same cores, every answer served from the proxy's cache.
#
#   core 0   wrk (the load) and the origin: nginx serving static files 4k.bin and 64k.bin
#            (application/octet-stream) from a temp dir with `expires 1h` (Cache-Control:
#            max-age=3600), worker_processes 1, keep-alive on, sendfile on, access log off.
#   core 1   the proxy under test, one at a time measured, all started at the beginning:
#     nginx   proxy_pass + proxy_cache, the cache dir on tmpfs (/dev/shm), keys_zone 16m,
#             worker_processes 1, upstream keepalive $UPSTREAM_KEEPALIVE, access log off,
#             add_header X-Cache-Status $upstream_cache_status;
#     squid   accel mode in front of the origin (cache_peer originserver), memory cache only
#             (cache_mem $SQUID_CACHE_MB MB, no cache_dir), one process (-N), access log off;
#     tacc    `tacc up` with frontend.service=transend, frontend.count=1, frontend.threads=1,
#             proxy.reverse_origins=["bench.test=http://127.0.0.1:<origin>"],
#             proxy.max_idle_per_origin=$UPSTREAM_KEEPALIVE, log.level=warn, cache.enabled=true
#             and the default cache class (one partition, worker `cache`, budget_mb 64). The
#             whole cluster is on core 1: the manager, the front end and the cache partition
#             (a separate process the front end asks over TCP, unless the entry is in the
#             front end's own hot-object tier: cache.local_budget_mb, cache.local_ttl_ms).
#   direct   wrk straight to the origin (no proxy): what wrk and the origin together do on
#            core 0. Not a ceiling here: on a cache hit core 0 runs wrk only, so a proxy may
#            exceed it.
#
# Each cache is warmed first: every file is requested WARM_REQUESTS times through every
# proxy, and the last answer must say hit (tacc `X-Tacc-Cache: hit`, nginx `X-Cache-Status:
# HIT`, Squid `X-Cache: HIT`) with the exact body. During every measured run the origin's
# request count (nginx stub_status) is read before and after: a cache-hit run should send it
# (almost) none.
#
# Besides req/s and latency, each row has the proxy's own CPU time per request (user +
# system of all its processes: its process group plus their descendants; for tacc the
# manager, the front end and the cache partition), each core's busy share, and the origin's
# requests and accepted connections during the measured run.
#
# For every body size: per target a WARMUP s wrk warm-up, then DURATION s of
# `wrk -t1 -c$CONNECTIONS --latency -H 'Host: bench.test'`. Results: a markdown table on
# stdout and in bench/results/cache_hit-<date>-<HHMM>.md, wrk outputs beside it (-wrk.txt).
# Everything started is stopped on exit (bench/lib.sh), the temp dirs removed.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/cache_hit.sh [--help]

Cache-hit throughput and p99 latency of tacc (TranSend with its virtual cache), nginx
proxy_cache (tmpfs) and Squid (accel, memory cache), each on core 1 with one worker, in front
of an nginx origin answering with Cache-Control: max-age=3600; wrk and the origin on core 0.
Every cache is warmed and checked to answer hits first; the origin's requests during each run
are counted. Prints a markdown table and writes bench/results/cache_hit-<date>-<HHMM>.md.

Environment (defaults):
  DURATION=10            measured seconds per point (after WARMUP)
  WARMUP=2               warm-up seconds per point (wrk, after the cache is warmed)
  CONNECTIONS=50         wrk connections (one wrk thread)
  SIZES="4k 64k"         body sizes (4k = 4,096 bytes, 64k = 65,536 bytes)
  PROXIES="nginx squid tacc"   proxies to measure (squid is skipped if not installed)
  WARM_REQUESTS=3        requests per file and proxy to fill the cache (the last must be a hit)
  UPSTREAM_KEEPALIVE=32  idle origin connections kept (nginx keepalive, tacc proxy.max_idle_per_origin)
  SQUID_CACHE_MB=64      Squid's cache_mem (tacc's partition: budget_mb 64 by default)
  BUILD=build/release    build directory holding tacc (not rebuilt: scripts/build.sh release)
  TACC_BIN=$BUILD/tacc   the tacc binary
  BEACON_PORT=27403      tacc's beacon port (own cluster name and run dir under the temp dir)
  OUT_DIR=bench/results  where the table and wrk outputs go
  BENCH_SCHED=auto       none | rr | nice | auto (see bench/lib.sh)
  QUIET_WAIT=0           seconds to wait before each point for other load to fall under QUIET_MAX%
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
WARM_REQUESTS="${WARM_REQUESTS:-3}"
UPSTREAM_KEEPALIVE="${UPSTREAM_KEEPALIVE:-32}"
SQUID_CACHE_MB="${SQUID_CACHE_MB:-64}"
TACC_BIN="${TACC_BIN:-$BUILD/tacc}"
BEACON_PORT="${BEACON_PORT:-27403}"
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

TMP="$(mktemp -d /tmp/cache-hit.XXXXXX)"
chmod 755 "$TMP"
SHM=""  # nginx's cache dir on tmpfs
if [[ -d /dev/shm && -w /dev/shm ]]; then SHM="$(mktemp -d /dev/shm/cache-hit.XXXXXX)"; chmod 755 "$SHM"; fi
CLUSTER="bench-ch-$$"
on_exit() {
  local rc=$?
  bench_cleanup
  if ((rc != 0)); then  # keep what the servers said
    for f in "$TMP"/*.log "$TMP"/*/*.log; do
      [[ -s "$f" ]] && { echo "--- ${f#$TMP/} (last lines)"; tail -15 "$f"; } >&2
    done
  fi
  rm -rf "$TMP"
  [[ -n "$SHM" ]] && rm -rf "$SHM"
}
trap on_exit EXIT
mkdir -p "$OUT_DIR"

# --- origin: static files on core 0, fresh for an hour
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
    location / { expires 1h; }
    location = /_status { stub_status; }
  }
}
EOF
} >"$TMP/origin/nginx.conf"
bench_bg "$LOAD_CPU" "$TMP/origin/out.log" nginx -p "$TMP/origin" -c "$TMP/origin/nginx.conf"

declare -A PORT
# --- nginx proxy_cache on core 1; cache files on tmpfs (or the temp dir if there is none)
if [[ " $PROXIES " == *" nginx "* ]]; then
  PORT[nginx]="$(bench_free_port)"
  NGINX_CACHE_DIR="${SHM:-$TMP/nginx-proxy}/nginx-cache"
  # not created here: nginx's master creates it and hands it to its worker's user
  {
    nginx_common "$TMP/nginx-proxy"
    cat <<EOF
http {
  access_log off;
  sendfile on;
  keepalive_requests 100000000;
$(temp_paths "$TMP/nginx-proxy")
  proxy_cache_path $NGINX_CACHE_DIR levels=1:2 keys_zone=bench:16m max_size=1g inactive=1h use_temp_path=off;
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
      proxy_cache bench;
      proxy_cache_lock on;
      add_header X-Cache-Status \$upstream_cache_status always;
    }
  }
}
EOF
  } >"$TMP/nginx-proxy/nginx.conf"
  bench_bg "$PROXY_CPU" "$TMP/nginx-proxy/out.log" nginx -p "$TMP/nginx-proxy" -c "$TMP/nginx-proxy/nginx.conf"
  PGID_NGINX="$BG_PID"
fi

# --- Squid accel on core 1 with a memory cache only (no cache_dir: Squid 5 then keeps
# objects in cache_mem). Started as root it runs as cache_effective_user (proxy), so its
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
cache allow all
cache_mem $SQUID_CACHE_MB MB
maximum_object_size_in_memory 1 MB
memory_cache_mode always
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

# --- tacc up on core 1 (the manager, and the front end and cache partition it launches,
# inherit the pinning)
if [[ " $PROXIES " == *" tacc "* ]]; then
  PORT[tacc]="$(bench_free_port)"
  TACC_ADMIN="$(bench_free_port)"
  mkdir -p "$TMP/tacc-run"
  # A copy, so that a rebuild of $BUILD during the run cannot swap the binary under it
  # (tacc up re-executes its own binary); taken only when the file has not changed for 5 s.
  bench_stable_copy "$TACC_BIN" "$TMP/tacc" 5
  TACC_BUILT="$(date -u -r "$TMP/tacc" '+%Y-%m-%d %H:%M UTC')"
  "$TMP/tacc" up --print-config 2>/dev/null | grep -q '^\[cache\]' \
    || { echo "this tacc build has no virtual cache ([cache] settings)" >&2; exit 1; }
  bench_bg "$PROXY_CPU" "$TMP/tacc.log" "$TMP/tacc" up --port "${PORT[tacc]}" \
    --set "cluster.name=$CLUSTER" --set "cluster.run_dir=$TMP/tacc-run" --set "beacon.port=$BEACON_PORT" \
    --set "frontend.admin_port=$TACC_ADMIN" --set frontend.service=transend \
    --set frontend.threads=1 --set frontend.count=1 --set log.level=warn \
    --set "proxy.max_idle_per_origin=$UPSTREAM_KEEPALIVE" --set cache.enabled=true \
    --set "proxy.reverse_origins=[\"$HOST_HDR=http://127.0.0.1:$ORIGIN_PORT\"]"
  PGID_TACC="$BG_PID"
fi

# --- every target answers every size with the exact body; the proxies then from their cache
HIT_HEADER_nginx='X-Cache-Status: HIT'
HIT_HEADER_squid='X-Cache: HIT'
HIT_HEADER_tacc='X-Tacc-Cache: hit'
declare -A HIT_SEEN
wait_and_warm() {  # name port
  local name="$1" port="$2" s want got i hv hit
  for i in $(seq 300); do
    curl -s -o /dev/null --max-time 1 -H "Host: $HOST_HDR" "http://127.0.0.1:$port/" && break
    sleep 0.1
  done
  for s in $SIZES; do
    want="$(stat -c %s "$TMP/www/$s.bin")"
    hv="HIT_HEADER_$name"; hit=""
    for i in $(seq "$WARM_REQUESTS"); do
      got="$(curl -s --max-time 5 -H "Host: $HOST_HDR" -D "$TMP/check.hdr" -o "$TMP/check.bin" \
        -w '%{http_code} %{size_download}' "http://127.0.0.1:$port/$s.bin" || true)"
      if [[ "$got" != "200 $want" ]] || ! cmp -s "$TMP/check.bin" "$TMP/www/$s.bin"; then
        echo "$name on :$port: /$s.bin answered '$got' (want '200 $want', same bytes); its log:" >&2
        tail -20 "$TMP"/"$name"*/*.log "$TMP/$name.log" 2>/dev/null >&2 || true
        exit 1
      fi
      [[ "$name" == direct ]] && break
      sleep 0.2  # nginx and Squid store the object after the answer has gone out
    done
    if [[ "$name" != direct ]]; then
      hit="$(tr -d '\r' <"$TMP/check.hdr" | grep -i -m1 "^${!hv}" || true)"
      if [[ -z "$hit" ]]; then
        echo "$name on :$port: /$s.bin is not a cache hit after $WARM_REQUESTS requests; last head:" >&2
        cat "$TMP/check.hdr" >&2
        exit 1
      fi
      HIT_SEEN[$s,$name]="$hit"
    fi
  done
  bench_log "$name on :$port answers every size correctly${HIT_SEEN[${SIZES%% *},$name]:+, from its cache (${HIT_SEEN[${SIZES%% *},$name]})}"
}
PORT[direct]="$ORIGIN_PORT"
TARGETS=(direct $PROXIES)
for t in "${TARGETS[@]}"; do wait_and_warm "$t" "${PORT[$t]}"; done

# --- measurements
to_ms() {  # "123.45us" | "1.23ms" | "1.02s" -> milliseconds
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) printf "%.2f", v/1000; else if (v ~ /ms$/) printf "%.2f", v+0; else if (v ~ /s$/) printf "%.2f", v*1000; else printf "%.2f", v/1000000 }'
}
cpu_ticks() {  # "busy idle" jiffies of cpuN
  awk -v c="cpu$1" '$1==c{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat
}
group_pids() {  # the processes of group $1 and all their descendants (a worker may leave the group)
  [[ -n "$1" ]] || return 0
  ps -e -o pid=,ppid=,pgid= | awk -v g="$1" '
    { pid[NR] = $1; pp[NR] = $2; if ($3 == g) keep[$1] = 1 }
    END { do { more = 0; for (i = 1; i <= NR; i++) if (!(pid[i] in keep) && (pp[i] in keep)) { keep[pid[i]] = 1; more = 1 } } while (more)
          for (p in keep) print p }'
}
group_cpu_ticks() {  # CPU jiffies (user + system, all threads) of those processes
  local p t=0 v
  [[ -n "$1" ]] || { echo 0; return; }
  for p in $(group_pids "$1"); do
    v="$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true)"
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
HZ="$(getconf CLK_TCK)"
origin_status() {  # "accepted-connections requests" of the origin so far
  curl -s --max-time 2 "http://127.0.0.1:$ORIGIN_PORT/_status" | awk 'NR==3{print $1, $3}'
}
proc_role() {  # "up", "manager", "frontend", "worker:<class>" or the command name of a process
  tr '\0' '\n' <"/proc/$1/cmdline" 2>/dev/null | awk '
    NR == 1 { n = $0; sub(/.*\//, "", n) } NR == 2 { r = $0 } prev == "--class" { c = $0 } { prev = $0 }
    END { if (n != "tacc") print n; else if (r == "worker") print "worker:" c; else print r }'
}
role_cpu_ticks() {  # "role jiffies" lines, summed by role, of the processes of group $1
  local p
  for p in $(group_pids "$1"); do
    echo "$(proc_role "$p") $(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || echo 0)"
  done | awk '{ t[$1] += $2 } END { for (r in t) print r, t[r] }' | sort
}
if [[ -n "${PGID_TACC:-}" ]]; then
  TACC_PROCS="$(for p in $(group_pids "$PGID_TACC"); do echo "tacc $(proc_role "$p")"; done | sort | paste -sd ',' | sed 's/,/, /g')"
  bench_log "tacc processes on core $PROXY_CPU: $TACC_PROCS"
fi

STAMP="$(date -u +%Y-%m-%d-%H%M)"
RESULT="$OUT_DIR/cache_hit-$STAMP.md"
WRK_OUT="${RESULT%.md}-wrk.txt"
: >"$WRK_OUT"

declare -A RPS P50 P99 ERRS C0 C1 OCONNS OREQS NOISE US PGID SPLIT
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
    [[ "$t" == tacc ]] && role_cpu_ticks "${PGID[$t]}" >"$TMP/roles0"
    a0=($(cpu_ticks 0)); a1=($(cpu_ticks 1)); o0=($(origin_status)); g0="$(group_cpu_ticks "${PGID[$t]}")"
    timeout $((DURATION + 30)) "${RUN[@]}" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
      --latency -H "Host: $HOST_HDR" "$url" >"$TMP/wrk.txt"
    g1="$(group_cpu_ticks "${PGID[$t]}")"; b0=($(cpu_ticks 0)); b1=($(cpu_ticks 1)); o1=($(origin_status))
    [[ "$t" == tacc ]] && role_cpu_ticks "${PGID[$t]}" >"$TMP/roles1"
    { echo "### $s via $t: taskset -c $LOAD_CPU wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency -H 'Host: $HOST_HDR' $url"
      cat "$TMP/wrk.txt"; echo; } >>"$WRK_OUT"
    RPS[$k]=$(awk '/^Requests\/sec:/{printf "%.0f", $2}' "$TMP/wrk.txt")
    P50[$k]=$(to_ms "$(awk '$1=="50%"{print $2}' "$TMP/wrk.txt")")
    P99[$k]=$(to_ms "$(awk '$1=="99%"{print $2}' "$TMP/wrk.txt")")
    ERRS[$k]=$(awk '/Non-2xx|Socket errors/{sub(/^ +/, ""); printf "%s ", $0}' "$TMP/wrk.txt")
    C0[$k]=$(awk -v b=$((b0[0] - a0[0])) -v i=$((b0[1] - a0[1])) 'BEGIN{printf "%.0f", (b+i) ? 100*b/(b+i) : 0}')
    C1[$k]=$(awk -v b=$((b1[0] - a1[0])) -v i=$((b1[1] - a1[1])) 'BEGIN{printf "%.0f", (b+i) ? 100*b/(b+i) : 0}')
    OCONNS[$k]=$((o1[0] - o0[0] - 1))  # less the stub_status request itself
    OREQS[$k]=$((o1[1] - o0[1] - 1))
    if [[ "$t" == tacc ]]; then  # µs per request by process role
      SPLIT[$s]="$(awk -v hz="$HZ" -v r="$(awk '/^Requests\/sec:/{print $2}' "$TMP/wrk.txt")" -v d="$DURATION" '
        FNR == NR { a[$1] = $2; next } { if (r > 0) printf "%s%s %.1f", sep, $1, 1e6 * ($2 - a[$1]) / hz / (r * d); sep = ", " }' \
        "$TMP/roles0" "$TMP/roles1")"
    fi
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
    nginx) echo "nginx proxy_cache" ;;
    squid) echo "Squid accel, memory cache" ;;
    tacc) echo "tacc TranSend, virtual cache" ;;
  esac
}
{
  echo "# Cache-hit path: tacc vs nginx proxy_cache and Squid (bench/cache_hit.sh)"
  echo
  echo "- **Run:** $START_UTC, commit $COMMIT ($DIRTY uncommitted paths under src/); tacc binary $TACC_BIN, built $TACC_BUILT."
  echo "- **Machine:** $MACHINE. Load average at start: $LOADAVG_START."
  echo "- **Set-up:** wrk and the nginx origin (\`expires 1h\`: Cache-Control max-age=3600) on core 0, the proxy on"
  echo "  core 1 (one worker process/thread each); \`wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency -H 'Host: $HOST_HDR'\`"
  echo "  after a ${WARMUP} s warm-up, keep-alive connections. Caches warmed with $WARM_REQUESTS requests per file and"
  echo "  checked: $(for t in $PROXIES; do echo -n "$t '${HIT_SEEN[${SIZES%% *},$t]:-?}'; "; done | sed 's/; $/./')"
  [[ -n "${NGINX_CACHE_DIR:-}" ]] && echo "  nginx: proxy_cache, cache dir $NGINX_CACHE_DIR${SHM:+ (tmpfs)}, keys_zone 16m, sendfile on;"
  [[ -n "$SQUID_NOTE" ]] && echo "  Squid: cache_mem $SQUID_CACHE_MB MB, memory_cache_mode always, no cache_dir;"
  echo "  tacc: cache.enabled=true, default class \`cache\` (one partition, budget_mb 64), all of the cluster on core $PROXY_CPU${TACC_PROCS:+ ($TACC_PROCS)}."
  echo "  Versions: $(nginx -v 2>&1 | sed 's/.*: //'), ${SQUID_NOTE:-Squid not run}, wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')."
  echo
  echo "| body size | proxy | req/s | p99 ms | req/s ÷ nginx proxy_cache | p50 ms | proxy CPU µs/request | core 0 busy (wrk + origin) | core 1 busy (proxy) | origin requests during run | origin connections opened | errors | other load before |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for s in $SIZES; do
    for t in "${TARGETS[@]}"; do
      k="$s,$t"
      n="$s,nginx"
      echo "| $s | $(label "$t") | $(fmt "${RPS[$k]}") | ${P99[$k]} | $(ratio "${RPS[$k]}" "${RPS[$n]:-0}") | ${P50[$k]} |" \
        "${US[$k]} | ${C0[$k]}% | ${C1[$k]}% | $(fmt "${OREQS[$k]}") | $(fmt "${OCONNS[$k]}") | ${ERRS[$k]:-none} | ${NOISE[$k]} |"
    done
  done
  echo
  echo "\"none\" is wrk straight to the origin (every request reaches it). Not a ceiling: on a cache hit"
  echo "core 0 runs wrk only (the origin is idle), so a proxy may go faster than \"none\"."
  echo "\"proxy CPU µs/request\": user + system CPU of the proxy's processes (all of them: for tacc"
  echo "the manager, the front end and the cache partition) over the measured run, divided by the"
  echo "requests answered; unlike the core columns it does not count other work on the machine."
  echo "\"Origin requests during run\": requests the origin served during the measured run (nginx"
  echo "stub_status, less the status request itself); a cache-hit run should show ~0."
  if [[ -n "${PGID_TACC:-}" ]]; then
    echo
    echo "tacc's CPU µs per request by process (same run; the partition answers only what the front end's hot-object tier does not hold):"
    for s in $SIZES; do echo "- $s: ${SPLIT[$s]:-—}"; done
  fi
  echo
  echo "wrk outputs: $(basename "$WRK_OUT")."
} >"$RESULT"
cat "$RESULT"
bench_log "written $RESULT and $WRK_OUT"
