#!/usr/bin/env bash
# Front-end memory per idle keep-alive connection: TranSend's front end against nginx.
#
# For every N in COUNTS and every server in TARGETS, a fresh server:
#   tacc    `tacc up` (TranSend, the default service) with frontend.threads=1,
#           http.max_connections=N+1000, http.idle_timeout_ms=600000, its own cluster name,
#           run dir and beacon port; measured: the `tacc frontend` process.
#   nginx   worker_processes 1, worker_connections N+1000, keepalive_timeout 600s,
#           keepalive_requests unbounded, access log off, `return 404` for everything;
#           measured: the worker process.
# Each server first answers WARMUP requests (curl), then its VmRSS (/proc/<pid>/status) is
# read ("before"). bench/conn_bench.py hold then opens N connections (500 at a time),
# sends `GET $REQ_PATH` on each, reads the whole answer (keep-alive), and holds them all
# idle; SETTLE s after the last one is up, VmRSS and the server's open descriptors are read
# ("held"). Bytes per idle connection = (held - before) / N. The client is then killed and
# the server stopped before the next one starts.
#
# RSS counts the process's own memory (heap, coroutine frames, Asio/nginx structures);
# kernel socket buffers are not in it (and an idle socket with nothing queued has none).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/idle_connections.sh [--help]

Memory per idle keep-alive connection of TranSend's front end (`tacc up`, frontend.threads=1)
and of nginx (worker_processes 1), same client, same N. Prints a markdown table and writes
bench/results/idle_connections-<date>.md. About 1 minute.

Environment (defaults):
  COUNTS="1000 10000"    numbers of idle connections (each needs N+200 descriptors; the hard
                         limit here is `ulimit -Hn`)
  TARGETS="tacc nginx"   servers to measure
  REQ_PATH=/bench-idle   path requested once on each connection (404 on both servers)
  SETTLE=3               seconds between the last connection up and the "held" reading
  WARMUP=20              requests each server answers before the "before" reading
  TARGET_BYTES=4096      the issue's target per idle connection (bytes)
  BUILD=build/release    build holding tacc (not rebuilt; a copy is run from the temp dir)
  TACC_BIN=$BUILD/tacc   the tacc binary
  BEACON_PORT=27451      tacc's beacon port (cluster name and run dir are private)
  OUT_DIR=bench/results  where the table goes
  BENCH_SCHED=none       none | rr | nice | auto (bench/lib.sh; memory does not need a quiet core)
EOF
}
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then usage; exit 0; fi
if [[ $# -gt 0 ]]; then usage >&2; exit 2; fi

START_UTC="$(date -u '+%Y-%m-%d %H:%M UTC')"
LOADAVG_START="$(cut -d' ' -f1-3 /proc/loadavg)"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-$REPO/build/release}"
OUT_DIR="${OUT_DIR:-$REPO/bench/results}"
export BENCH_SCHED="${BENCH_SCHED:-none}"
source "$REPO/bench/lib.sh"

COUNTS="${COUNTS:-1000 10000}"
TARGETS="${TARGETS:-tacc nginx}"
REQ_PATH="${REQ_PATH:-/bench-idle}"
SETTLE="${SETTLE:-3}"
WARMUP="${WARMUP:-20}"
TARGET_BYTES="${TARGET_BYTES:-4096}"
TACC_BIN="${TACC_BIN:-$BUILD/tacc}"
BEACON_PORT="${BEACON_PORT:-27451}"
COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY="$(git -C "$REPO" status --porcelain -- src 2>/dev/null | wc -l)"

max_n=0
for n in $COUNTS; do ((n > max_n)) && max_n=$n; done
ulimit -n $((max_n + 1000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < max_n + 200)); then
  echo "idle_connections: $((max_n + 200)) descriptors needed, the hard limit is $(ulimit -Hn); lower COUNTS" >&2
  exit 1
fi
[[ " $TARGETS " != *" tacc "* || -x "$TACC_BIN" ]] || { echo "no tacc binary at $TACC_BIN (scripts/build.sh release, or set BUILD)" >&2; exit 1; }
[[ " $TARGETS " != *" nginx "* ]] || command -v nginx >/dev/null || { echo "nginx not installed" >&2; exit 1; }

TMP="$(mktemp -d /tmp/idle-connections.XXXXXX)"
chmod 755 "$TMP"
on_exit() {
  local rc=$?
  bench_cleanup
  if ((rc != 0)); then
    for f in "$TMP"/*.log "$TMP"/*/*.log; do
      [[ -s "$f" ]] && { echo "--- ${f#$TMP/} (last lines)"; tail -15 "$f"; } >&2
    done
  fi
  rm -rf "$TMP"
}
trap on_exit EXIT
mkdir -p "$OUT_DIR"

# A stable copy of tacc (another engineer may rebuild build/release meanwhile; tacc up
# re-executes its own binary for the manager and the front end).
TACC_BUILT="—"
if [[ " $TARGETS " == *" tacc "* ]]; then
  bench_stable_copy "$TACC_BIN" "$TMP/tacc"
  TACC_BUILT="$(date -u -r "$TACC_BIN" '+%Y-%m-%d %H:%M UTC')"
fi

rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
wait_port() {  # PORT SECONDS
  local i
  for i in $(seq $(($2 * 10))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on :$1 after $2 s" >&2
  return 1
}

# start_server TARGET N: starts it, waits for it, sets SRV_GROUP (to stop) and SRV_PID (to measure)
start_server() {
  local target="$1" n="$2" port
  port="$(bench_free_port)"
  SRV_PORT="$port"
  case "$target" in
    tacc)
      local cluster="bench-idle-$$-$n"
      mkdir -p "$TMP/run-$n"
      bench_bg 0-1 "$TMP/tacc-$n.log" "$TMP/tacc" up --port "$port" \
        --set "cluster.name=$cluster" --set "cluster.run_dir=$TMP/run-$n" --set "beacon.port=$BEACON_PORT" \
        --set "frontend.admin_port=$(bench_free_port)" --set frontend.threads=1 --set frontend.count=1 \
        --set "http.max_connections=$((n + 1000))" --set http.idle_timeout_ms=600000 --set log.level=warn
      SRV_GROUP=$BG_PID
      wait_port "$port" 30
      SRV_PID=""
      for _ in $(seq 50); do
        SRV_PID="$(pgrep -f "tacc frontend .*cluster.name=$cluster " | head -1 || true)"
        [[ -n "$SRV_PID" ]] && break
        sleep 0.1
      done
      [[ -n "$SRV_PID" ]] || { echo "no tacc frontend process for cluster $cluster" >&2; exit 1; }
      ;;
    nginx)
      local d="$TMP/nginx-$n"
      mkdir -p "$d"
      cat >"$d/nginx.conf" <<EOF
worker_processes 1;
worker_rlimit_nofile $((n + 1000));
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections $((n + 1000)); }
http {
  access_log off;
  keepalive_timeout 600s;
  keepalive_requests 100000000;
  client_body_temp_path $d/body; proxy_temp_path $d/proxy; fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi; scgi_temp_path $d/scgi;
  server {
    listen 127.0.0.1:$port backlog=4096;
    location / { return 404; }
  }
}
EOF
      bench_bg 0-1 "$d/out.log" nginx -p "$d" -c "$d/nginx.conf"
      SRV_GROUP=$BG_PID
      wait_port "$port" 10
      SRV_PID=""
      for _ in $(seq 50); do
        SRV_PID="$(pgrep -P "$SRV_GROUP" | head -1 || true)"
        [[ -n "$SRV_PID" ]] && break
        sleep 0.1
      done
      [[ -n "$SRV_PID" ]] || { echo "no nginx worker process" >&2; exit 1; }
      ;;
    *) echo "unknown target $target (tacc, nginx)" >&2; exit 2 ;;
  esac
}

declare -A BEFORE HELD FDS0 FDS OPENED FAILED STATUS OPEN_S
for n in $COUNTS; do
  for target in $TARGETS; do
    start_server "$target" "$n"
    for _ in $(seq "$WARMUP"); do curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$SRV_PORT$REQ_PATH" || true; done
    sleep 1
    k="$n/$target"
    BEFORE[$k]="$(rss_kb "$SRV_PID")"
    FDS0[$k]="$(nfds "$SRV_PID")"
    bench_log "idle_connections: $target (pid $SRV_PID, :$SRV_PORT), RSS ${BEFORE[$k]} kB; opening $n connections"
    bench_bg 0-1 "$TMP/client-$n-$target.log" python3 "$REPO/bench/conn_bench.py" hold --port "$SRV_PORT" --count "$n" --path "$REQ_PATH" --hold 600
    client=$BG_PID
    for _ in $(seq 1200); do
      grep -q '"event": "open"' "$TMP/client-$n-$target.log" 2>/dev/null && break
      kill -0 "$client" 2>/dev/null || break
      sleep 0.1
    done
    line="$(grep '"event": "open"' "$TMP/client-$n-$target.log" || true)"
    [[ -n "$line" ]] || { echo "the client did not open its connections in 120 s" >&2; exit 1; }
    sleep "$SETTLE"
    HELD[$k]="$(rss_kb "$SRV_PID")"
    FDS[$k]="$(nfds "$SRV_PID")"
    read -r OPENED[$k] FAILED[$k] STATUS[$k] OPEN_S[$k] < <(python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["open"], d["failed"], ",".join(f"{k}:{v}" for k,v in sorted(d["statuses"].items())), d["seconds"])' "$line")
    bench_log "  $line; RSS held ${HELD[$k]} kB, server fds ${FDS0[$k]} -> ${FDS[$k]}"
    bench_stop "$client"
    bench_stop "$SRV_GROUP"
  done
done

# ---- table
per_conn() { echo $(((HELD[$1] - BEFORE[$1]) * 1024 / OPENED[$1])); }
fmt() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
mb() { awk -v k="$1" 'BEGIN{printf "%.1f", k/1024}'; }
label() { case "$1" in tacc) echo "tacc TranSend front end" ;; nginx) echo "nginx $(nginx -v 2>&1 | sed 's|.*nginx/||') worker" ;; esac; }
DATE="$(date -u +%Y-%m-%d)"
OUT="$OUT_DIR/idle_connections-$DATE.md"
[[ -e "$OUT" ]] && OUT="$OUT_DIR/idle_connections-$DATE-$(date -u +%H%M).md"
{
  echo "# Memory per idle keep-alive connection: tacc vs nginx (bench/idle_connections.sh)"
  echo
  echo "- **Run:** $START_UTC, commit $COMMIT ($DIRTY uncommitted paths under src/); tacc binary $TACC_BIN, built $TACC_BUILT."
  echo "- **Machine:** $(nproc) cores, Linux $(uname -r); load average at start $LOADAVG_START (other benchmarks may run: RSS does not depend on it)."
  echo "- **Set-up:** tacc: \`tacc up --set frontend.threads=1 --set http.max_connections=N+1000 --set http.idle_timeout_ms=600000\` (TranSend), the front-end process measured;"
  echo "  nginx: worker_processes 1, keepalive_timeout 600s, \`return 404\`, the worker measured. Client: \`bench/conn_bench.py hold\`,"
  echo "  one \`GET $REQ_PATH\` (404) per connection, answer read, then idle; RSS = VmRSS, \"held\" read $SETTLE s after the last connection was up."
  echo
  echo "| N | server | RSS before (MB) | RSS held (MB) | bytes per idle connection | ÷ ${TARGET_BYTES} B target | ÷ nginx | server fds before → held | client: open (failed), answers |"
  echo "|---|---|---|---|---|---|---|---|---|"
  for n in $COUNTS; do
    for target in $TARGETS; do
      k="$n/$target"
      b="$(per_conn "$k")"
      ratio="—"
      if [[ -n "${HELD[$n/nginx]:-}" && "$target" != nginx ]]; then
        ratio="$(awk -v a="$b" -v c="$(per_conn "$n/nginx")" 'BEGIN{ if (c > 0) printf "%.1f", a/c; else print "—" }')"
      elif [[ "$target" == nginx ]]; then ratio=1; fi
      printf '| %s | %s | %s | %s | **%s** | %s | %s | %s → %s | %s (%s), %s |\n' \
        "$(fmt "$n")" "$(label "$target")" "$(mb "${BEFORE[$k]}")" "$(mb "${HELD[$k]}")" "$(fmt "$b")" \
        "$(awk -v a="$b" -v t="$TARGET_BYTES" 'BEGIN{printf "%.2f", a/t}')" "$ratio" "${FDS0[$k]}" "${FDS[$k]}" \
        "${OPENED[$k]}" "${FAILED[$k]}" "${STATUS[$k]}"
    done
  done
  echo
  echo "Bytes per idle connection = (RSS held − RSS before) ÷ connections open. The server's descriptors held show"
  echo "that it still had every connection open when RSS was read. Kernel socket memory is not in RSS."
} >"$OUT"
cat "$OUT"
bench_log "written: $OUT"
