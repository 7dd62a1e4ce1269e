#!/usr/bin/env bash
# Front-end memory (issue 6): RSS of one `tacc frontend` before, during and after
# N idle client connections.
#
# For each MODE, a fresh front end (frontend.threads=THREADS, no manager: nothing but
# the HTTP side runs) on core 0, and bench/idle_conns.py on core 1 that opens CONNS
# connections, holds them, then closes them all:
#   idle      connect only, nothing sent (a client that never speaks)
#   request   one request on each (GET / -> the test service's 404 usage text, no
#             worker involved), then idle in keep-alive
# RSS (VmRSS) is read before, while the connections are held (after SETTLE s), and
# 2 s and AFTER s after they closed. Run once per binary or allocator to compare:
#   bench/frontend_memory.sh                                    # this tree's build
#   TACC_BIN=/path/to/old/tacc bench/frontend_memory.sh         # another binary
#   PRELOAD=/usr/lib/x86_64-linux-gnu/libjemalloc.so.2 bench/frontend_memory.sh
# Appends one table row per mode to docs/bench/frontend_memory.md (LABEL names the row).
#
# Env: CONNS=20000 THREADS=2 MODES="idle request" SETTLE=3 AFTER=15 LABEL=... TACC_BIN PRELOAD
source "$(dirname "$0")/lib.sh"

CONNS="${CONNS:-20000}"
THREADS="${THREADS:-2}"
MODES="${MODES:-idle request}"
SETTLE="${SETTLE:-3}"
AFTER="${AFTER:-15}"
TACC_BIN="${TACC_BIN:-$TACC}"
PRELOAD="${PRELOAD:-}"
LABEL="${LABEL:-$(basename "$(dirname "$TACC_BIN")")/tacc${PRELOAD:+ + $(basename "$PRELOAD")}}"
CLUSTER="bench-mem-$$"

# Both ends hold CONNS descriptors.
ulimit -n $((CONNS + 1000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < CONNS + 100)); then
  echo "frontend_memory: $((CONNS + 100)) file descriptors needed, the hard limit is $(ulimit -Hn): CONNS=$(($(ulimit -n) - 200))" >&2
  CONNS=$(($(ulimit -n) - 200))
fi
[[ "$TACC_BIN" == "$TACC" ]] && bench_build
mkdir -p "$OUT_DIR"
TMP="$(mktemp -d)"
trap 'bench_cleanup; rm -rf "$TMP" "/tmp/tacc-$CLUSTER"' EXIT

rss_mb() { awk '/^VmRSS:/{printf "%.1f", $2/1024}' "/proc/$1/status"; }
wait_port() {
  local i
  for i in $(seq 100); do
    python3 -c "import socket,sys; socket.create_connection(('127.0.0.1', $1), 1).close()" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# Settings the binary knows (an older binary has no admin listener).
SETS=(--set "cluster.name=$CLUSTER" --set "beacon.port=$(bench_free_port)" --set frontend.restart_manager=false
  --set "frontend.threads=$THREADS" --set "http.max_connections=$((CONNS + 1000))" --set http.idle_timeout_ms=600000 --set log.level=warn)
if "$TACC_BIN" config --reference | grep -q 'frontend.admin_port'; then SETS+=(--set frontend.admin_port=0); fi
if "$TACC_BIN" config --reference | grep -q 'http.max_buffered_bytes'; then SETS+=(--set "http.max_buffered_bytes=$((1 << 30))"); fi

declare -A ROW
for mode in $MODES; do
  port="$(bench_free_port)"
  bench_log "frontend_memory [$LABEL]: $mode, $CONNS connections, front end on :$port"
  if [[ -n "$PRELOAD" ]]; then
    bench_bg 0 "$TMP/fe-$mode.log" env LD_PRELOAD="$PRELOAD" "$TACC_BIN" frontend --index 0 --port "$port" "${SETS[@]}"
  else
    bench_bg 0 "$TMP/fe-$mode.log" "$TACC_BIN" frontend --index 0 --port "$port" "${SETS[@]}"
  fi
  fe=$BG_PID
  wait_port "$port" || { cat "$TMP/fe-$mode.log" >&2; exit 1; }
  sleep 1
  before="$(rss_mb "$fe")"
  req=""; [[ "$mode" == request ]] && req="/"
  coproc CLIENT { exec "${RUN[@]}" taskset -c 1 python3 "$REPO/bench/idle_conns.py" --port "$port" --count "$CONNS" --request "$req"; }
  read -r -t 300 opened <&"${CLIENT[0]}"
  sleep "$SETTLE"
  during="$(rss_mb "$fe")"
  echo >&"${CLIENT[1]}"
  read -r -t 120 closed <&"${CLIENT[0]}"
  wait "$CLIENT_PID" 2>/dev/null || true
  sleep 2
  after2="$(rss_mb "$fe")"
  sleep $((AFTER - 2))
  afterN="$(rss_mb "$fe")"
  bench_log "  $opened; RSS MB before $before, during $during, after 2 s $after2, after $AFTER s $afterN"
  read -r _ n_open _ n_failed <<<"$opened"
  ROW[$mode]="| $LABEL | $mode | $n_open ($n_failed failed) | $before | $during | $after2 | $afterN | $RUN_DATE |"
  bench_stop "$fe"
done

OUT="$OUT_DIR/frontend_memory.md"
if [[ ! -s "$OUT" ]]; then
  {
    echo "# Front-end memory (bench/frontend_memory.sh)"
    echo
    echo "RSS of one \`tacc frontend\` (no manager, frontend.threads=$THREADS) in MB, on $MACHINE."
    echo "Columns: binary and allocator; mode (idle: connect only; request: one request, then idle in keep-alive);"
    echo "connections held; RSS before, while they are held, and 2 s and $AFTER s after they all closed."
    echo
    echo "| build | mode | connections | before | held | +2 s | +${AFTER} s | date |"
    echo "|---|---|---|---|---|---|---|---|"
  } >"$OUT"
fi
for mode in $MODES; do echo "${ROW[$mode]}" >>"$OUT"; done
tail -n "$(echo $MODES | wc -w)" "$OUT"
