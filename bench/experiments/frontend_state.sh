#!/usr/bin/env bash
# Experiment 5 of issue 10: front-end state under a miss penalty (SNS paper §4.4).
#
# The paper: cache misses take 100 ms to 100 s, so a front end holds N x T outstanding
# requests (N arrivals a second, T the mean service time), each with two TCP connections
# (and, in 1997, a thread); at 15 requests/s it saw 150-350 outstanding requests, up to 700
# open connections and 300 threads, and over 70% of its time in the kernel.
#
# What runs (all on this host, processes pinned to CPUS, started through bench_bg so that
# everything is stopped on exit):
#   trace   `tacc trace synth -n TRACE_N --objects OBJECTS -d 1800s` (the paper's MIME mix,
#           sizes, Zipf URLs); `tacc play` takes its URLs in order and cycles.
#   origin  `tacc trace serve --delay 100ms:100s`: every URL answered after its own delay,
#           log-uniform between 100 ms and 100 s (mean 14.5 s, median 3.2 s).
#   tacc    `tacc up` (TranSend) as forward proxy with, via --set:
#             cache.enabled=false, classes.cache.min_workers=0   every request is a miss
#             dispatch.rules=[] and min_workers=0 for every worker class  (DISTILL=off)
#             http.max_connections=FE_MAX_CONNS  (from the descriptor limit, see below)
#             http.request_timeout_ms=proxy.read_timeout_ms=TIMEOUT_MS  (> the 100 s delay)
#             proxy.max_connections_per_origin=100000  (no queueing in front of the origin)
#   load    `tacc play --rate ... --no-keepalive` (open loop, Poisson arrivals; one connection
#           per request like the paper's HTTP/1.0 clients, so the front end's client sockets
#           are its outstanding requests), --timeout PLAY_TIMEOUT, --max-conns 100000.
#   sample  bench/experiments/frontend_state_sample.py every SAMPLE_S s, per front end: RSS,
#           threads, descriptors, its established client and origin sockets, utime/stime,
#           requests answered (/_tacc/metrics), and play's in-flight count.
#
# Part A (the paper's unit, one front end): one play run offering RATES in steps of STEP_S
#   seconds (15 -> 150 -> 1,500 req/s). Each level is measured over its last STEP_S - WARM_S
#   seconds: WARM_S = 100 s is the longest delay, after which Little's law holds exactly.
# Part B (SPREAD=1): SPREAD_RATE req/s over SPREAD_FES front ends (frontend.count), from
#   SPREAD_PLAYS play processes, each with its own origin, for STEP_S seconds.
#
# Why part B: one process may hold at most `ulimit -Hn` descriptors (20,000 on the machine
# this was written on; raising the hard limit needs CAP_SYS_RESOURCE, which it lacks). A
# front end needs two per outstanding request, so FE_MAX_CONNS = (nofile - 400) / 2 and one
# front end tops out there: at 1,500 req/s (about 21,700 outstanding) it refuses the rest
# with 503. Part B spreads the same load so that each process (front ends, players, origins)
# stays under the limit.
#
# Output (EXP_DIR, default docs/experiments/): frontend_state.md (tables, beside the paper),
# frontend_state.png (part A over time), frontend_state_spread.png (part B),
# frontend_state_samples.csv, frontend_state_spread_samples.csv, frontend_state_levels.tsv.
# About 15 minutes with the defaults (3 x 180 s + 180 s + start-ups). Takes
# /tmp/tacc-bench.lock (exp_lock) for the measured part.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/experiments/frontend_state.sh [--help]

Front-end state under a miss penalty (SNS §4.4): origins answering after 100 ms .. 100 s,
TranSend as forward proxy, open-loop load at 15, 150 and 1,500 requests/s; per front end
over time: outstanding requests, client and origin sockets, RSS, system CPU.
Writes docs/experiments/frontend_state.md, frontend_state*.png and data. ~15 minutes.

Environment (defaults):
  RATES="15 150 1500"    part A levels, requests/s, one front end
  STEP_S=180             seconds per level (and of part B)
  WARM_S=100             seconds of each level not measured (the longest delay)
  DELAY=100ms:100s       origin delay per URL (tacc trace serve --delay)
  SPREAD=1               also run part B (0: skip)
  SPREAD_RATE=1500       part B offered load, requests/s
  SPREAD_FES=3           part B front ends
  SPREAD_PLAYS=2         part B players (each with its own origin)
  TRACE_N=300000         requests in the synthetic trace
  OBJECTS=1000000        distinct objects the trace draws from (Zipf 0.75)
  FE_THREADS=0           frontend.threads (0: one per core)
  DISTILL=off            on: keep TranSend's default dispatch rules and warm workers
  KEEPALIVE=0            1: tacc play reuses connections (default: one per request)
  TIMEOUT_MS=150000      http.request_timeout_ms and proxy.read_timeout_ms
  PLAY_TIMEOUT=150s      tacc play --timeout
  SAMPLE_S=1             sampling period
  FE_MAX_CONNS=          http.max_connections per front end (default: (ulimit -n - 400) / 2)
  CPUS=0-1               cores every process is pinned to
  BUILD=build/bench      build holding tacc (bench/lib.sh; BENCH_SKIP_BUILD=1: not rebuilt)
  EXP_DIR=docs/experiments  where results go
  BENCH_SCHED=auto       none | rr | nice | auto (bench/lib.sh)
EOF
}
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then usage; exit 0; fi
if [[ $# -gt 0 ]]; then usage >&2; exit 2; fi

# The environment settings given (for the write-up's command line).
OVERRIDES=""
for v in RATES STEP_S WARM_S DELAY SPREAD SPREAD_RATE SPREAD_FES SPREAD_PLAYS TRACE_N OBJECTS FE_THREADS DISTILL KEEPALIVE \
  TIMEOUT_MS PLAY_TIMEOUT SAMPLE_S CPUS FE_MAX_CONNS BUILD BENCH_SKIP_BUILD BENCH_SCHED; do
  if [[ -n "${!v+x}" ]]; then
    val="${!v}"
    [[ "$val" =~ [[:space:]] ]] && val="\"$val\""
    OVERRIDES+="$v=$val "
  fi
done
HERE="$(cd "$(dirname "$0")" && pwd)"
source "$HERE/lib.sh"

RATES="${RATES:-15 150 1500}"
STEP_S="${STEP_S:-180}"
WARM_S="${WARM_S:-100}"
DELAY="${DELAY:-100ms:100s}"
SPREAD="${SPREAD:-1}"
SPREAD_RATE="${SPREAD_RATE:-1500}"
SPREAD_FES="${SPREAD_FES:-3}"
SPREAD_PLAYS="${SPREAD_PLAYS:-2}"
TRACE_N="${TRACE_N:-300000}"
OBJECTS="${OBJECTS:-1000000}"
FE_THREADS="${FE_THREADS:-0}"
DISTILL="${DISTILL:-off}"
KEEPALIVE="${KEEPALIVE:-0}"
TIMEOUT_MS="${TIMEOUT_MS:-150000}"
PLAY_TIMEOUT="${PLAY_TIMEOUT:-150s}"
SAMPLE_S="${SAMPLE_S:-1}"
CPUS="${CPUS:-0-1}"
((WARM_S < STEP_S)) || { echo "WARM_S must be below STEP_S" >&2; exit 2; }

START_UTC="$(date -u '+%Y-%m-%d %H:%M UTC')"
COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
CLK_TCK="$(getconf CLK_TCK)"
TMP="$(mktemp -d /tmp/frontend-state.XXXXXX)"
chmod 755 "$TMP"
on_exit() {
  local rc=$?
  bench_cleanup
  if ((rc != 0)); then
    for f in "$TMP"/*.log; do
      [[ -s "$f" ]] && { echo "--- ${f#$TMP/} (last lines)"; tail -5 "$f"; } >&2
    done
    rm -f "$TMP/tacc"
    echo "failed; samples and logs kept in $TMP" >&2
  else
    rm -rf "$TMP"
  fi
}
trap on_exit EXIT

# --- tacc: build (unless BENCH_SKIP_BUILD=1), then a stable copy (the build may be redone
# meanwhile, and `tacc up` re-executes its own binary for every child).
bench_build
bench_stable_copy "$TACC" "$TMP/tacc"
TACC_BUILT="$(date -u -r "$TACC" '+%Y-%m-%d %H:%M UTC')"
TACC="$TMP/tacc"

# --- descriptors: the soft limit up to the hard one; a front end needs two per request.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE="$(ulimit -n)"
[[ "$NOFILE" == unlimited ]] && NOFILE=1048576
if [[ -z "${FE_MAX_CONNS:-}" ]]; then
  FE_MAX_CONNS=$(((NOFILE - 400) / 2))
  ((FE_MAX_CONNS > 100000)) && FE_MAX_CONNS=100000
fi
((FE_MAX_CONNS >= 1000)) || { echo "ulimit -n is $NOFILE: too few descriptors for this experiment" >&2; exit 1; }
bench_log "descriptor limit $NOFILE (hard $(ulimit -Hn)): http.max_connections=$FE_MAX_CONNS per front end"

# --- the trace
bench_log "synthesising the trace ($TRACE_N requests, $OBJECTS objects)"
exp_trace "$TMP/trace" -n "$TRACE_N" --objects "$OBJECTS" -d 1800s --seed 1
TRACE_URLS="$("$TACC" trace stats "$TMP/trace" | awk 'NR==1{print $(NF-1)}')"

SETS=(cache.enabled=false classes.cache.min_workers=0 "http.max_connections=$FE_MAX_CONNS"
  "http.request_timeout_ms=$TIMEOUT_MS" "proxy.read_timeout_ms=$TIMEOUT_MS"
  proxy.max_connections_per_origin=100000 "frontend.threads=$FE_THREADS")
if [[ "$DISTILL" == off ]]; then
  SETS+=('dispatch.rules=[]')
  for c in gif html_munger jpeg keyword_filter png; do SETS+=("classes.$c.min_workers=0"); done
fi
PLAY_FLAGS=(--trace "$TMP/trace" --timeout "$PLAY_TIMEOUT" --max-conns 100000 --max-outstanding 1000000 --progress always)
[[ "$KEEPALIVE" == 1 ]] || PLAY_FLAGS+=(--no-keepalive)

# exp_up takes its front-end and admin ports from bench_free_port, and front end i listens on
# port+i: with several front ends, port+1 may be taken meanwhile, most likely as the local
# port of one of the tens of thousands of connections this experiment opens (bench_free_port
# picks from the ephemeral range). Here: a port under the ephemeral range with the next
# 7 free as well.
bench_free_port() {
  python3 - <<'PY'
import random, socket
lo = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
for _ in range(1000):
    base = random.randrange(10000, max(10001, lo - 8))
    socks = []
    try:
        for p in range(base, base + 8):
            s = socket.socket()
            s.bind(("127.0.0.1", p))
            socks.append(s)
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(base)
    break
PY
}

# fe_list: "name:pid:port:admin" of every front end of the cluster whose front end 0 has
# admin port $1 (from its /_tacc/status), waiting for $2 of them.
fe_list() {
  local admin="$1" want="$2" i out
  for i in $(seq 100); do
    out="$(curl -fsS --max-time 2 "http://127.0.0.1:$admin/_tacc/status" 2>/dev/null | python3 -c '
import json, sys
s = json.load(sys.stdin)
print(" ".join("fe%d:%d:%d:%d" % (f["index"], f["pid"], f["port"], f["admin"]["port"]) for f in sorted(s["frontends"], key=lambda f: f["index"]) if f.get("pid")))' 2>/dev/null || true)"
    if [[ -n "$out" && "$(wc -w <<<"$out")" -ge "$want" ]]; then
      echo "$out"
      return 0
    fi
    sleep 0.3
  done
  echo "the front ends did not all come up" >&2
  return 1
}
port_of() { echo "${1##*:}"; }

# progress: one line every 30 s from the newest samples.
watch_run() {  # SAMPLES SECONDS LABEL
  local samples="$1" secs="$2" label="$3" t0=$SECONDS
  while ((SECONDS - t0 < secs)); do
    sleep $((secs - (SECONDS - t0) < 30 ? secs - (SECONDS - t0) : 30))
    [[ -s "$samples" ]] || continue
    python3 - "$samples" "$label" "$CLK_TCK" <<'EOF' >&2 || true
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
hz = int(sys.argv[3])
by = {}
for r in rows:
    by.setdefault(r["fe"], []).append(r)
parts = []
for fe, rs in sorted(by.items()):
    r = rs[-1]
    old = rs[max(0, len(rs) - 11)]
    dt = float(r["t_s"]) - float(old["t_s"]) or 1
    sys_s = (int(r["stime"]) - int(old["stime"])) / hz / dt
    parts.append(f'{fe}: {r["client_sockets"]} client / {r["origin_sockets"]} origin sockets, {r["fds"]} fds, '
                 f'RSS {int(r["rss_kb"])/1024:.0f} MB, sys {sys_s:.2f} s/s')
print(f'[{sys.argv[2]} t={float(rows[-1]["t_s"]):.0f}s] play in flight {rows[-1]["play_in_flight"]}; ' + "; ".join(parts))
EOF
  done
}

# fe_counters FES FILE: refusals, accept errors and timeouts of each front end, appended to FILE.
fe_counters() {
  local f name admin
  for f in $1; do
    IFS=: read -r name _ _ admin <<<"$f"
    curl -fsS --max-time 5 "http://127.0.0.1:$admin/_tacc/metrics" 2>/dev/null |
      awk -v fe="$name" '/^tacc_http_(refused_connections|accept_errors|timeouts|requests)_total/ {print fe, $1, $2}' >>"$2" || true
  done
}
# cpu_of PID: its user + system CPU seconds so far.
cpu_of() { awk -v hz="$CLK_TCK" '{sub(/.*\) /, ""); printf "%.1f", ($12 + $13) / hz}' "/proc/$1/stat" 2>/dev/null || echo "?"; }

# stop_play PID: two SIGTERMs: play stops at once, writes its summary, the rest unanswered.
stop_play() {
  kill -TERM "$1" 2>/dev/null || return 0
  sleep 0.5
  kill -TERM "$1" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.1; done
  bench_stop "$1"
}

exp_lock
bench_wait_quiet
bench_log "$BENCH_NOISE"

# ------------------------------------------------------------------ part A: one front end
read -r -a RATE_ARR <<<"$RATES"
RATE_SPEC=""
for i in "${!RATE_ARR[@]}"; do
  if ((i == 0)); then RATE_SPEC="${RATE_ARR[0]}"; else RATE_SPEC+=",${RATE_ARR[$i]}@$((i * STEP_S))"; fi
done
A_SECS=$((${#RATE_ARR[@]} * STEP_S))
bench_log "part A: one front end, rates $RATE_SPEC (req/s@s), ${A_SECS} s"
exp_serve "$CPUS" "$TMP/origin-a.log" "$TMP/trace" --delay "$DELAY"
ORIGIN_A="$ORIGIN_URL"
ORIGIN_A_PID="$SERVE_PID"
exp_up "$CPUS" "$TMP/up-a.log" "${SETS[@]}" frontend.count=1
FES_A="$(fe_list "$ADMIN_PORT" 1)"
UP_A_PID="$UP_PID"
sleep 2
# Idle state, before any load.
python3 "$HERE/frontend_state_sample.py" --fe "$FES_A" --origin-ports "$(port_of "$ORIGIN_A")" --t0 "$(date +%s.%N)" \
  --interval 0.5 --duration 1.2 --out "$TMP/idle-a.csv"
T0="$(date +%s.%N)"
bench_bg "$CPUS" "$TMP/play-a.log" "$TACC" play -t "127.0.0.1:$FE_PORT" --origin "$ORIGIN_A" --rate "$RATE_SPEC" \
  -d "${A_SECS}s" --log "$TMP/play-a.req" --json "$TMP/play-a.json" "${PLAY_FLAGS[@]}"
PLAY_A_PID="$BG_PID"
bench_bg "$CPUS" "$TMP/sampler-a.log" python3 "$HERE/frontend_state_sample.py" --fe "$FES_A" \
  --origin-ports "$(port_of "$ORIGIN_A")" --play-log "$TMP/play-a.log" --t0 "$T0" --interval "$SAMPLE_S" --out "$TMP/samples-a.csv"
SAMPLER_A_PID="$BG_PID"
watch_run "$TMP/samples-a.csv" "$A_SECS" "A"
fe_counters "$FES_A" "$TMP/counters-a.txt"
bench_log "part A: the sampler used $(cpu_of "$SAMPLER_A_PID") s of CPU, tacc play $(cpu_of "$PLAY_A_PID") s"
echo "sampler_cpu_s $(cpu_of "$SAMPLER_A_PID")" >>"$TMP/counters-a.txt"
echo "play_cpu_s $(cpu_of "$PLAY_A_PID")" >>"$TMP/counters-a.txt"
echo "origin_cpu_s $(cpu_of "$ORIGIN_A_PID")" >>"$TMP/counters-a.txt"
bench_stop "$SAMPLER_A_PID"
stop_play "$PLAY_A_PID"
bench_stop "$UP_A_PID"
bench_stop "$ORIGIN_A_PID"
bench_log "part A done: $(grep -c . "$TMP/play-a.req") requests logged"

# ------------------------------------------------------------------ part B: spread
if [[ "$SPREAD" == 1 ]]; then
  bench_log "part B: $SPREAD_RATE req/s over $SPREAD_FES front ends from $SPREAD_PLAYS players, ${STEP_S} s"
  ORIGINS_B=() OPORTS_B=""
  for p in $(seq "$SPREAD_PLAYS"); do
    exp_serve "$CPUS" "$TMP/origin-b$p.log" "$TMP/trace" --delay "$DELAY"
    ORIGINS_B+=("$ORIGIN_URL")
    OPORTS_B+="${OPORTS_B:+,}$(port_of "$ORIGIN_URL")"
  done
  exp_up "$CPUS" "$TMP/up-b.log" "${SETS[@]}" "frontend.count=$SPREAD_FES"
  FES_B="$(fe_list "$ADMIN_PORT" "$SPREAD_FES")"
  TARGETS_B=""
  FE_ARGS_B=()
  for f in $FES_B; do
    IFS=: read -r _ _ fport _ <<<"$f"
    TARGETS_B+="${TARGETS_B:+,}127.0.0.1:$fport"
    FE_ARGS_B+=(--fe "$f")
  done
  sleep 2
  python3 "$HERE/frontend_state_sample.py" "${FE_ARGS_B[@]}" --origin-ports "$OPORTS_B" --t0 "$(date +%s.%N)" \
    --interval 0.5 --duration 1.2 --out "$TMP/idle-b.csv"
  PER_PLAY="$(awk -v r="$SPREAD_RATE" -v n="$SPREAD_PLAYS" 'BEGIN{print r / n}')"
  T0B="$(date +%s.%N)"
  PLAY_B_PIDS=() PLAY_B_LOGS=()
  for p in $(seq "$SPREAD_PLAYS"); do
    bench_bg "$CPUS" "$TMP/play-b$p.log" "$TACC" play -t "$TARGETS_B" --origin "${ORIGINS_B[$((p - 1))]}" --rate "$PER_PLAY" \
      -d "${STEP_S}s" --seed "$p" --log "$TMP/play-b$p.req" --json "$TMP/play-b$p.json" "${PLAY_FLAGS[@]}"
    PLAY_B_PIDS+=("$BG_PID")
    PLAY_B_LOGS+=(--play-log "$TMP/play-b$p.log")
  done
  bench_bg "$CPUS" "$TMP/sampler-b.log" python3 "$HERE/frontend_state_sample.py" "${FE_ARGS_B[@]}" \
    --origin-ports "$OPORTS_B" "${PLAY_B_LOGS[@]}" --t0 "$T0B" --interval "$SAMPLE_S" --out "$TMP/samples-b.csv"
  SAMPLER_B_PID="$BG_PID"
  watch_run "$TMP/samples-b.csv" "$STEP_S" "B"
  fe_counters "$FES_B" "$TMP/counters-b.txt"
  echo "sampler_cpu_s $(cpu_of "$SAMPLER_B_PID")" >>"$TMP/counters-b.txt"
  bench_stop "$SAMPLER_B_PID"
  for p in "${PLAY_B_PIDS[@]}"; do stop_play "$p"; done
  bench_cleanup
fi

# ------------------------------------------------------------------ analysis and write-up
bench_log "analysing"
cp "$TMP/samples-a.csv" "$EXP_DIR/frontend_state_samples.csv"
[[ "$SPREAD" == 1 ]] && cp "$TMP/samples-b.csv" "$EXP_DIR/frontend_state_spread_samples.csv"
export OVERRIDES START_UTC COMMIT TACC_BUILT MACHINE BENCH_NOISE NOFILE FE_MAX_CONNS RATES STEP_S WARM_S DELAY SPREAD SPREAD_RATE \
  SPREAD_FES SPREAD_PLAYS TRACE_N OBJECTS TRACE_URLS FE_THREADS DISTILL KEEPALIVE TIMEOUT_MS PLAY_TIMEOUT SAMPLE_S CPUS \
  CLK_TCK EXP_DIR TMP
python3 "$HERE/frontend_state_report.py"
for gp in "$TMP"/*.gp; do gnuplot "$gp"; done
bench_log "written: $EXP_DIR/frontend_state.md, frontend_state*.png, frontend_state_*.csv/tsv"
