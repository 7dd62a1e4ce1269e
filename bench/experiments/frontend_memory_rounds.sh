#!/usr/bin/env bash
# Does a TranSend front end's resident memory keep growing under slow-origin load, or
# level off? (Experiment 5's follow-up: docs/experiments/frontend_state.md, "Seen, not
# fixed".) ROUNDS rounds of ROUND_S seconds of open-loop load at RATE req/s (one connection
# per request) through one front end to `tacc trace serve` with per-URL delays DELAY, cache
# and distillation off; prints the front end's RSS every 10 s and after each round.
set -euo pipefail
usage() {
  cat <<'USAGE'
Usage: bench/experiments/frontend_memory_rounds.sh [--help]
Environment (defaults): ROUNDS=4 ROUND_S=40 RATE=400 DELAY=100ms:5s CPUS=0-1
  BUILD=build/bench (bench/lib.sh builds it; BENCH_SKIP_BUILD=1 with BUILD=build/release: use that one).
  About ROUNDS x (ROUND_S + 8) s.
USAGE
}
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then usage; exit 0; fi
ROUNDS="${ROUNDS:-4}" ROUND_S="${ROUND_S:-40}" RATE="${RATE:-400}" DELAY="${DELAY:-100ms:5s}" CPUS="${CPUS:-0-1}"
source "$(dirname "$0")/lib.sh"
bench_build
exp_lock
work="$(mktemp -d /tmp/tacc-memrounds-XXXXXX)"
exp_trace "$work/t.trace" -n 100000 --objects 200000 -d 600s
exp_serve "$CPUS" "$work/origin.log" "$work/t.trace" --delay "$DELAY"
exp_up "$CPUS" "$work/up.log" cache.enabled=false classes.cache.min_workers=0 'dispatch.rules=[]' \
  http.request_timeout_ms=20000 proxy.read_timeout_ms=20000 proxy.max_connections_per_origin=100000
fe="$(pgrep -f "tacc frontend.*$FE_PORT" | head -1 || true)"
[[ -z "$fe" ]] && fe="$(pgrep -n -f "tacc frontend")"
rss() { awk '/VmRSS/{print $2}' "/proc/$fe/status"; }
echo "front end pid $fe, idle: rss_kb=$(rss)"
for round in $(seq "$ROUNDS"); do
  "$TACC" play -t "127.0.0.1:$FE_PORT" --trace "$work/t.trace" --origin "$ORIGIN_URL" --rate "$RATE" -d "${ROUND_S}s" \
    --no-keepalive --timeout 30s --json "$work/play$round.json" >/dev/null 2>&1 &
  play=$!
  for ((t = 10; t <= ROUND_S; t += 10)); do sleep 10; echo "round $round t=${t}s rss_kb=$(rss)"; done
  wait "$play" || true
  sleep 8
  echo "round $round after its load: rss_kb=$(rss)"
done
