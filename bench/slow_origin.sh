#!/usr/bin/env bash
# Thousands of outstanding requests to a slow origin (SNS paper §4.4: a front end holds two
# TCP connections, and there a thread, for every outstanding request; cache misses make
# requests long, so outstanding requests pile up).
#
# For every C in CLIENTS, fresh processes:
#   origin  bench/conn_bench.py origin: answers every request DELAY s after it arrived
#           (200, BODY bytes, Cache-Control: no-store, keep-alive), one asyncio thread; it
#           counts the requests it holds at once (so a proxy that queued them would show).
#   tacc    `tacc up` (TranSend, the default service, with its cache partition unless
#           CACHE=off) as a forward proxy: frontend.threads=1,
#           proxy.allowed_destinations=["127.0.0.1/32"],
#           proxy.max_connections_per_origin=$MAX_PER_ORIGIN (no queueing at the per-origin
#           limit), http.max_connections=C+1000, proxy.connect_timeout_ms=$CONNECT_TIMEOUT_MS,
#           proxy.read_timeout_ms and http.request_timeout_ms = DELAY + 60 s; own cluster name,
#           run dir and beacon port.
#   client  bench/conn_bench.py fetch: C clients at once, each on its own connection, one
#           absolute-form GET http://127.0.0.1:<origin>/slow/<i> (distinct URLs: no
#           collapsing, no cache hits), answer read whole, latency from request sent to last
#           byte.
# While the client runs, the front-end process (`tacc frontend` of that cluster) is sampled
# every SAMPLE_MS ms: VmRSS, Threads (/proc/<pid>/status) and open descriptors
# (/proc/<pid>/fd); the table gives the peaks, and its CPU time over the run (utime and
# stime from /proc/<pid>/stat).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/slow_origin.sh [--help]

C concurrent requests through TranSend's front end (`tacc up`, forward proxy, frontend.threads=1)
to an origin that answers each after DELAY s: front-end peak RSS, threads and descriptors,
requests OK/failed, latency. Prints a markdown table and writes bench/results/slow_origin-<date>.md.
About 1 minute with the defaults.

Environment (defaults):
  CLIENTS="1000 5000"       concurrent clients (the front end holds 2C descriptors: C <= 9,000 here)
  DELAY=5                   seconds the origin waits before each answer
  BODY=1024                 answer body bytes
  CACHE=on                  on: TranSend as `tacc up` runs it (a cache partition, lookups on every
                            request); off: cache.enabled=false, no cache worker
  MAX_PER_ORIGIN=100000     proxy.max_connections_per_origin
  CONNECT_TIMEOUT_MS=15000  proxy.connect_timeout_ms (thousands of connects to one origin at once)
  CONNECT_CONCURRENCY=1000  client connects in progress at once
  SAMPLE_MS=200             sampling period of the front end's RSS, threads and descriptors
  BUILD=build/release       build holding tacc (not rebuilt; a copy is run from the temp dir)
  TACC_BIN=$BUILD/tacc      the tacc binary
  BEACON_PORT=27461         tacc's beacon port (cluster name and run dir are private)
  OUT_DIR=bench/results     where the table goes
  BENCH_SCHED=none          none | rr | nice | auto (bench/lib.sh)
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

CLIENTS="${CLIENTS:-1000 5000}"
DELAY="${DELAY:-5}"
BODY="${BODY:-1024}"
CACHE="${CACHE:-on}"
MAX_PER_ORIGIN="${MAX_PER_ORIGIN:-100000}"
CONNECT_TIMEOUT_MS="${CONNECT_TIMEOUT_MS:-15000}"
CONNECT_CONCURRENCY="${CONNECT_CONCURRENCY:-1000}"
SAMPLE_MS="${SAMPLE_MS:-200}"
TACC_BIN="${TACC_BIN:-$BUILD/tacc}"
BEACON_PORT="${BEACON_PORT:-27461}"
COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY="$(git -C "$REPO" status --porcelain -- src 2>/dev/null | wc -l)"
TIMEOUT_S="$(awk -v d="$DELAY" 'BEGIN{printf "%d", d + 60}')"
CLK_TCK="$(getconf CLK_TCK)"

max_c=0
for c in $CLIENTS; do ((c > max_c)) && max_c=$c; done
ulimit -n $((2 * max_c + 1000)) 2>/dev/null || ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < 2 * max_c + 200)); then
  echo "slow_origin: $((2 * max_c + 200)) descriptors needed (the front end holds 2 per request), the hard limit is $(ulimit -Hn); lower CLIENTS" >&2
  exit 1
fi
[[ -x "$TACC_BIN" ]] || { echo "no tacc binary at $TACC_BIN (scripts/build.sh release, or set BUILD)" >&2; exit 1; }
[[ "$CACHE" == on || "$CACHE" == off ]] || { echo "CACHE must be on or off" >&2; exit 2; }

TMP="$(mktemp -d /tmp/slow-origin.XXXXXX)"
chmod 755 "$TMP"
SAMPLER=""
on_exit() {
  local rc=$?
  [[ -n "$SAMPLER" ]] && kill "$SAMPLER" 2>/dev/null || true
  bench_cleanup
  if ((rc != 0)); then
    for f in "$TMP"/*.log; do
      [[ -s "$f" ]] && { echo "--- ${f#$TMP/} (last lines)"; tail -15 "$f"; } >&2
    done
  fi
  rm -rf "$TMP"
}
trap on_exit EXIT
mkdir -p "$OUT_DIR"

# A stable copy of tacc (build/release may be rebuilt meanwhile; tacc up re-executes itself).
bench_stable_copy "$TACC_BIN" "$TMP/tacc"
TACC_BUILT="$(date -u -r "$TACC_BIN" '+%Y-%m-%d %H:%M UTC')"

wait_port() {  # PORT SECONDS
  local i
  for i in $(seq $(($2 * 10))); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on :$1 after $2 s" >&2
  return 1
}
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
nfds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
cpu_ticks() { awk '{sub(/.*\) /, ""); print $12, $13}' "/proc/$1/stat"; }  # utime stime
fmt() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }

CACHE_SETS=()
[[ "$CACHE" == off ]] && CACHE_SETS=(--set cache.enabled=false --set classes.cache.min_workers=0)

declare -A R
for c in $CLIENTS; do
  # --- origin
  oport="$(bench_free_port)"
  bench_bg 0-1 "$TMP/origin-$c.log" python3 "$REPO/bench/conn_bench.py" origin --port "$oport" --delay "$DELAY" --body "$BODY"
  origin=$BG_PID
  wait_port "$oport" 10
  # --- tacc up
  port="$(bench_free_port)"
  cluster="bench-slow-$$-$c"
  mkdir -p "$TMP/run-$c"
  bench_bg 0-1 "$TMP/tacc-$c.log" "$TMP/tacc" up --port "$port" \
    --set "cluster.name=$cluster" --set "cluster.run_dir=$TMP/run-$c" --set "beacon.port=$BEACON_PORT" \
    --set "frontend.admin_port=$(bench_free_port)" --set frontend.threads=1 --set frontend.count=1 \
    --set "http.max_connections=$((c + 1000))" --set "http.request_timeout_ms=$((TIMEOUT_S * 1000))" \
    --set 'proxy.allowed_destinations=["127.0.0.1/32"]' --set "proxy.max_connections_per_origin=$MAX_PER_ORIGIN" \
    --set "proxy.connect_timeout_ms=$CONNECT_TIMEOUT_MS" --set "proxy.read_timeout_ms=$((TIMEOUT_S * 1000))" \
    --set log.level=warn "${CACHE_SETS[@]}"
  up=$BG_PID
  wait_port "$port" 30
  fe=""
  for _ in $(seq 50); do
    fe="$(pgrep -f "tacc frontend .*cluster.name=$cluster " | head -1 || true)"
    [[ -n "$fe" ]] && break
    sleep 0.1
  done
  [[ -n "$fe" ]] || { echo "no tacc frontend process for cluster $cluster" >&2; exit 1; }
  # Warm-up through the proxy (the origin answers /fast at once), and wait for the cache
  # partition to register if there is one.
  for i in $(seq 20); do
    curl -s -o /dev/null --max-time 5 -x "http://127.0.0.1:$port" "http://127.0.0.1:$oport/fast/$i" || true
  done
  sleep 2
  rss0="$(status_kb "$fe" VmRSS)"; thr0="$(status_kb "$fe" Threads)"; fd0="$(nfds "$fe")"
  read -r u0 s0 < <(cpu_ticks "$fe")
  bench_log "slow_origin: C=$c, front end pid $fe (:$port), origin :$oport (delay ${DELAY}s); RSS ${rss0} kB, $thr0 threads, $fd0 fds"
  # --- sampler: peaks while the client runs
  (
    peak_rss=0 peak_thr=0 peak_fd=0
    while :; do
      r="$(status_kb "$fe" VmRSS)"; t="$(status_kb "$fe" Threads)"; f="$(nfds "$fe")"
      [[ -n "$r" ]] || break
      ((r > peak_rss)) && peak_rss=$r
      ((t > peak_thr)) && peak_thr=$t
      ((f > peak_fd)) && peak_fd=$f
      echo "$peak_rss $peak_thr $peak_fd" >"$TMP/peaks-$c"
      sleep "$(awk -v m="$SAMPLE_MS" 'BEGIN{print m/1000}')"
    done
  ) &
  SAMPLER=$!
  # --- client
  t0=$SECONDS
  bench_bg 0-1 "$TMP/client-$c.log" python3 "$REPO/bench/conn_bench.py" fetch --port "$port" --count "$c" \
    --url "http://127.0.0.1:$oport/slow/" --body "$BODY" --connect-concurrency "$CONNECT_CONCURRENCY" --timeout "$TIMEOUT_S"
  client=$BG_PID
  # "Waiting": once the origin holds all C requests (it reports every second), the front
  # end holds every request and both its connections, nothing moving.
  rssw="" fdw=""
  for _ in $(seq $((TIMEOUT_S * 10))); do
    if grep -q "\"in_flight\": $c," "$TMP/origin-$c.log" 2>/dev/null; then
      rssw="$(status_kb "$fe" VmRSS)"; fdw="$(nfds "$fe")"
      break
    fi
    grep -q '"event": "done"' "$TMP/client-$c.log" 2>/dev/null && break
    sleep 0.1
  done
  bench_log "  all $c requests at the origin: front end RSS ${rssw:-?} kB, ${fdw:-?} fds"
  for _ in $(seq $(((TIMEOUT_S + 120) * 10))); do
    grep -q '"event": "done"' "$TMP/client-$c.log" 2>/dev/null && break
    kill -0 "$client" 2>/dev/null || break
    sleep 0.1
  done
  line="$(grep '"event": "done"' "$TMP/client-$c.log" || true)"
  [[ -n "$line" ]] || { echo "the client did not finish" >&2; exit 1; }
  kill "$SAMPLER" 2>/dev/null || true
  wait "$SAMPLER" 2>/dev/null || true
  SAMPLER=""
  read -r u1 s1 < <(cpu_ticks "$fe")
  read -r prss pthr pfd <"$TMP/peaks-$c"
  rss_after="$(status_kb "$fe" VmRSS)"
  ((rss_after > prss)) && prss=$rss_after
  bench_stop "$client"
  bench_stop "$up"
  bench_stop "$origin"  # SIGTERM: it prints its final counters
  ostats="$(grep '"event": "stats"' "$TMP/origin-$c.log" | tail -1)"
  bench_log "  client: $line"
  bench_log "  origin: $ostats; front end peaks: RSS $prss kB, $pthr threads, $pfd fds; CPU user $((u1 - u0)) sys $((s1 - s0)) ticks"
  R[$c]="$(python3 - "$line" "$ostats" "$c" "$rss0" "$prss" "$rss_after" "$thr0" "$pthr" "$fd0" "$pfd" "$((u1 - u0))" "$((s1 - s0))" "$CLK_TCK" "${rssw:--1}" <<'EOF'
import json, sys
cl, og = json.loads(sys.argv[1]), json.loads(sys.argv[2])
c, rss0, prss, rss_after, thr0, pthr, fd0, pfd, ut, st, hz, rssw = map(int, sys.argv[3:])
fmt = lambda n: f"{n:,}"
lat = cl["latency_s"]
fails = ", ".join(f"{v} {k}" for k, v in cl["failures"].items()) or "0"
cpu = (ut + st) / hz
sysshare = f"{100 * st / (ut + st):.0f}%" if ut + st else "—"
wait = f"{rssw/1024:.1f}" if rssw >= 0 else "—"
wait_per = fmt((rssw - rss0) * 1024 // c) if rssw >= 0 else "—"
print(f"| {fmt(c)} | {rss0/1024:.1f} → {wait} → **{prss/1024:.1f}** ({rss_after/1024:.1f} after) | {wait_per} | {fmt((prss - rss0) * 1024 // c)} "
      f"| {thr0} → {pthr} | {fmt(fd0)} → {fmt(pfd)} | {fmt(og['peak_in_flight'])} | **{fmt(cl['ok'])}** / {fails} "
      f"| {lat['min']} / **{lat['p50']}** / {lat['p99']} / {lat['max']} | {cl['send_spread_s']} | {cpu:.2f} s ({sysshare}) |")
EOF
)"
done

DATE="$(date -u +%Y-%m-%d)"
OUT="$OUT_DIR/slow_origin-$DATE.md"
[[ -e "$OUT" ]] && OUT="$OUT_DIR/slow_origin-$DATE-$(date -u +%H%M).md"
{
  echo "# Outstanding requests to a slow origin through TranSend (bench/slow_origin.sh)"
  echo
  echo "- **Run:** $START_UTC, commit $COMMIT ($DIRTY uncommitted paths under src/); tacc binary $TACC_BIN, built $TACC_BUILT."
  echo "- **Machine:** $(nproc) cores, Linux $(uname -r); load average at start $LOADAVG_START (other benchmarks may run meanwhile)."
  echo "- **Set-up:** origin \`bench/conn_bench.py origin\` answers each request after ${DELAY} s (${BODY} bytes, no-store);"
  echo "  \`tacc up\` (TranSend, cache $CACHE) as forward proxy, frontend.threads=1, proxy.max_connections_per_origin=$MAX_PER_ORIGIN,"
  echo "  proxy.connect_timeout_ms=$CONNECT_TIMEOUT_MS; client \`bench/conn_bench.py fetch\`: C clients at once, one connection and one"
  echo "  request each (distinct URLs), at most $CONNECT_CONCURRENCY connects in progress. Front end sampled every $SAMPLE_MS ms."
  echo
  echo "| C (outstanding) | front-end RSS MB: before → all waiting → peak (after) | bytes per outstanding request, waiting | at peak | front-end threads: before → peak | front-end fds: before → peak | origin's peak in flight | OK / failed | latency s: min / p50 / p99 / max | send spread s | front-end CPU (system share) |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|"
  for c in $CLIENTS; do echo "${R[$c]}"; done
  echo
  echo "\"All waiting\": RSS read as soon as the origin reported holding all C requests (the front end then holds every request,"
  echo "its client and origin connections, and nothing moves); bytes per outstanding request = (that − before) ÷ C, and the same for the peak."
  echo "Latency: from the request written to the last byte read (the origin alone takes ${DELAY} s). \"Send spread\": first to last"
  echo "request written (connects are staggered). \"Origin's peak in flight\": requests the origin held at once (= C: the proxy queued none)."
  echo "\"After\": RSS when the client had its last answer (counted in the peak too). CPU: user + system time of the front-end process over the run."
} >"$OUT"
cat "$OUT"
bench_log "written: $OUT"
