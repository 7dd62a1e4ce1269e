# Shared helpers of the paper's experiments (bench/experiments/*.sh; issue 10). Sourced.
#
# On top of bench/lib.sh (build, pinned background processes stopped on exit, BENCH_SCHED):
#   EXP_DIR      where an experiment's results land: docs/experiments/ (PNG, .md, data)
#   exp_lock     takes /tmp/tacc-bench.lock for the rest of the script, so that two
#                experiments (or a benchmark) never measure on the same 2 cores at once
#   exp_trace    makes (or reuses) a synthetic trace with `tacc trace synth`
#   exp_serve    starts `tacc trace serve` for a trace in the background; sets ORIGIN_URL
#   exp_up       starts `tacc up` (TranSend) in the background with the given --set
#                settings; sets FE_PORT, ADMIN_PORT, UP_PID, UP_LOG, EXP_SETS (the --set
#                arguments, for a `tacc worker` that joins the same cluster)
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

EXP_DIR="${EXP_DIR:-$REPO/docs/experiments}"
mkdir -p "$EXP_DIR"

exp_lock() {
  exec 9>/tmp/tacc-bench.lock
  if ! flock -n 9; then
    bench_log "another benchmark holds /tmp/tacc-bench.lock; waiting for it"
    flock 9
  fi
}

# exp_trace FILE ARGS...: `tacc trace synth ARGS -o FILE` unless FILE exists with the same ARGS.
exp_trace() {
  local file="$1"
  shift
  local want="# args: $*"
  if [[ -f "$file" && -f "$file.args" && "$(cat "$file.args")" == "$want" ]]; then return 0; fi
  "$TACC" trace synth "$@" -q -o "$file"
  echo "$want" >"$file.args"
}

# exp_serve CPU LOG TRACE [ARGS...]: the origin for TRACE; ORIGIN_URL once it listens.
exp_serve() {
  local cpu="$1" log="$2" trace="$3" i
  shift 3
  bench_bg "$cpu" "$log" "$TACC" trace serve --trace "$trace" --port 0 "$@"
  SERVE_PID="$BG_PID"
  for i in $(seq 600); do
    ORIGIN_URL="$(grep -o 'http://127.0.0.1:[0-9]*' "$log" 2>/dev/null | head -1 || true)"
    [[ -n "$ORIGIN_URL" ]] && return 0
    kill -0 "$SERVE_PID" 2>/dev/null || { cat "$log" >&2; return 1; }
    sleep 0.1
  done
  echo "tacc trace serve did not start" >&2
  return 1
}

# exp_up CPU LOG SETTINGS...: `tacc up` with its own cluster name, run dir, ports and
# `proxy.allowed_destinations=["127.0.0.1/32"]` plus SETTINGS (key=value each).
exp_up() {
  local cpu="$1" log="$2"
  shift 2
  FE_PORT="$(bench_free_port)"
  ADMIN_PORT="$(bench_free_port)"
  local run_dir
  run_dir="$(mktemp -d /tmp/tacc-exp-XXXXXX)"
  local sets=(--set "cluster.name=exp$$" --set "cluster.run_dir=$run_dir" --set "frontend.port=$FE_PORT"
    --set "frontend.admin_port=$ADMIN_PORT" --set "beacon.port=$((20000 + RANDOM % 20000))"
    --set 'proxy.allowed_destinations=["127.0.0.1/32"]' --set log.level=warn)
  local s
  for s in "$@"; do sets+=(--set "$s"); done
  EXP_SETS=("${sets[@]}")  # for other commands that join this cluster (e.g. `tacc worker`)
  bench_bg "$cpu" "$log" "$TACC" up "${sets[@]}"
  UP_PID="$BG_PID"
  UP_LOG="$log"
  bench_wait_http "http://127.0.0.1:$ADMIN_PORT/_tacc/health" 60
}
