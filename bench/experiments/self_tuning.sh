#!/usr/bin/env bash
# Experiment 1 of issue 10: self-tuning (paper §4.5, Figure 8).
#
# What it runs: a TranSend cluster (`tacc up`: manager and one front end, no distiller at
# start, every class but `jpeg` off, the cache off so that every request is distilled), an
# origin for a JPEG-only synthetic trace (`tacc trace synth --jpeg 1`, the paper's JPEG
# sizes: mean ~12 KB, heavy tail; files over MAX_BYTES left out; `tacc trace serve`), and
# `tacc play` offering that trace's URLs open loop (Poisson) at a rate that rises in steps
# ($STEPS). The client accepts AVIF (as browsers do), so each request is one CPU-bound
# task of the `jpeg` distiller class (decode, halve, AVIF encode at
# classes.jpeg.args.avif_speed=$AVIF_SPEED: ~7 ms of CPU per request on this machine).
# self_tuning.py polls the front end's /_tacc/status every 100 ms and keeps each new beacon
# (every 500 ms): the manager's smoothed queue length of every distiller. At $KILL_AT s
# it kills the $KILL_COUNT oldest distillers with SIGKILL by pid, as the paper's authors
# did by hand. Spawns (with the manager's reason), crash restarts and reaps come from the
# manager's log (log.level=info). After the kill the load drops to a low rate and then
# stops for TAIL s, to show reaping after R.
#
# Pass line: every spawn that leaves two or more distillers is followed within 5 s (from
# the manager's "spawned" log line) by a beacon in which the distillers' queues are
# balanced: max - min <= max(2, half their mean). Exit status 3 if the main run fails it.
#
# Each distiller stands for one of the paper's distiller nodes: with DISTILLER_CPU > 0
# (default 0.18) each `jpeg` worker is moved, as soon as it shows up in /_tacc/status, into
# a cgroup-v1 cpu group of its own with a quota of that share of one core (cfs quota over a
# 20 ms period), so that one distiller saturates at about the paper's 23 requests/s
# (§4.6) and each spawn adds that much capacity. Without it (DISTILLER_CPU=0) all
# distillers share this machine's 2 cores and a third adds no capacity. The experiment runs
# in a cpu group of its own with high cpu.shares (CG_SHARES), so other work on the machine
# takes little CPU from it. This needs root and /sys/fs/cgroup/cpu (otherwise it runs
# unthrottled and says so) and BENCH_SCHED=none or nice (a real-time task cannot join a
# group that has no RT budget).
#
# Then sweeps, a fresh cluster each: D (manager.spawn_hold_s) over SWEEP_D with H, and H
# (manager.spawn_threshold) over SWEEP_H with D, under $SWEEP_STEPS (a low rate, then a
# step to about two distillers' worth) for SWEEP_SECONDS s; recorded: spawns and when,
# distillers at the end, when the mean queue is back under H for good, queue-seconds
# above H, distiller-seconds, approximate answers, latency.
#
# Writes docs/experiments/self_tuning.png (our Figure 8 (a) and (b)),
# docs/experiments/self_tuning_d_sweep.png, docs/experiments/self_tuning_results.md
# (tables; the write-up is docs/experiments/self_tuning.md) and
# docs/experiments/self_tuning_data/ (per run: NAME.dat the queue of every distiller per
# beacon, NAME.events spawns/kills/reaps, NAME.load play's per-second series, NAME.json
# the analysis with play's summary; the gnuplot scripts; ~200 KB in all).
# Run time: about 5 min for the main run and 65 s per sweep run (7 by default): ~13 min,
# plus any wait for /tmp/tacc-bench.lock (another experiment measuring).
#
# Env: STEPS="8,18@30,30@60,40@90,50@120,8@180" (req/s@s, tacc play --rate)
#      DURATION=220 (s of load) KILL_AT=150 (s) KILL_COUNT=2 TAIL=40 (s without load)
#      H=4 D=5 R=30 (manager.spawn_threshold, spawn_hold_s, reap_idle_s)
#      MAX_WORKERS=6 (classes.jpeg.max_workers) AVIF_SPEED=6 MAX_BYTES=65536
#      DISTILLER_CPU=0.18 (0: no throttling) CG_SHARES=65536
#      SWEEP_D="0 1 5 10 20" SWEEP_H="2 8" SWEEP_STEPS="8,55@10" SWEEP_SECONDS=50
#      (SWEEP_D="" SWEEP_H="" skip the sweeps; SKIP_MAIN=1 skips the main run)
#      RAW=DIR keeps the raw logs there (default: a temporary directory, removed)
#      BUILD, BENCH_SKIP_BUILD=1, BENCH_SCHED (default none here) as in bench/lib.sh
set -euo pipefail

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then
  usage
  exit 0
fi
if (($# > 0)); then
  echo "usage: $0 [--help]   (settings by environment variables; see --help)" >&2
  exit 2
fi

export BENCH_SCHED="${BENCH_SCHED:-none}"
source "$(dirname "$0")/lib.sh"

STEPS="${STEPS:-8,18@30,30@60,40@90,50@120,8@180}"
DURATION="${DURATION:-220}"
KILL_AT="${KILL_AT:-150}"
KILL_COUNT="${KILL_COUNT:-2}"
TAIL="${TAIL:-40}"
H="${H:-4}"
D="${D:-5}"
R="${R:-30}"
MAX_WORKERS="${MAX_WORKERS:-6}"
AVIF_SPEED="${AVIF_SPEED:-6}"
DISTILLER_CPU="${DISTILLER_CPU:-0.18}"
CG_SHARES="${CG_SHARES:-65536}"
SWEEP_D="${SWEEP_D-0 1 5 10 20}"
SWEEP_H="${SWEEP_H-2 8}"
SWEEP_STEPS="${SWEEP_STEPS:-8,55@10}"
SWEEP_SECONDS="${SWEEP_SECONDS:-50}"
MAX_BYTES="${MAX_BYTES:-65536}"
PERIOD_US=20000
PY="$REPO/bench/experiments/self_tuning.py"
DATA="$EXP_DIR/self_tuning_data"
ACCEPT="Accept: image/avif,image/webp,image/apng,image/*,*/*;q=0.8"

command -v gnuplot >/dev/null || { echo "gnuplot is needed (apt-get install gnuplot-nox)" >&2; exit 1; }
bench_build
mkdir -p "$DATA"
KEEP_RAW=1
if [[ -n "${RAW:-}" ]]; then mkdir -p "$RAW"; else RAW="$(mktemp -d /tmp/tacc-selftune-XXXXXX)"; KEEP_RAW=0; fi

# The cpu cgroup: the experiment's group (high shares) and one group per distiller in it.
CG=""
CG_ROOT=/sys/fs/cgroup/cpu
cg_cleanup() {
  [[ -n "$CG" && -d "$CG" ]] || return 0
  echo $$ >"$CG_ROOT/cgroup.procs" 2>/dev/null || true
  local d
  for d in "$CG"/w*/; do [[ -d "$d" ]] && rmdir "$d" 2>/dev/null || true; done
  rmdir "$CG" 2>/dev/null || true
}
cleanup() {
  bench_cleanup
  cg_cleanup
  rm -f "$RAW/tacc"
  [[ "$KEEP_RAW" == 1 ]] || rm -rf "$RAW"
}
trap cleanup EXIT

QUOTA_US=0
if awk -v c="$DISTILLER_CPU" 'BEGIN{exit !(c > 0)}'; then
  if [[ "$BENCH_SCHED" == rr ]]; then
    echo "DISTILLER_CPU > 0 needs BENCH_SCHED=none or nice (real-time tasks cannot join a cpu group without an RT budget)" >&2
    exit 2
  fi
  if [[ -w "$CG_ROOT" ]] && mkdir "$CG_ROOT/tacc-selftune-$$" 2>/dev/null; then
    CG="$CG_ROOT/tacc-selftune-$$"
    echo "$CG_SHARES" >"$CG/cpu.shares"
    echo $$ >"$CG/cgroup.procs"  # everything started from here on is in it
    QUOTA_US="$(awk -v c="$DISTILLER_CPU" -v p="$PERIOD_US" 'BEGIN{printf "%d", c * p}')"
    THROTTLE="each distiller limited to $DISTILLER_CPU of a core (cgroup v1 cpu quota ${QUOTA_US} us per ${PERIOD_US} us)"
  else
    bench_log "cannot make a cpu cgroup under $CG_ROOT (root and cgroup v1 'cpu' needed): distillers run unthrottled"
    DISTILLER_CPU=0
  fi
fi
[[ "$QUOTA_US" == 0 ]] && THROTTLE="distillers not throttled: they share the machine's $(nproc) cores"
bench_log "self-tuning: $THROTTLE; raw logs in $RAW"

exp_lock
bench_wait_quiet
NOISE="$BENCH_NOISE"
# A private copy of the binary (its children re-execute /proc/self/exe): a rebuild of
# $BUILD while this runs can neither swap it between runs nor make it unreadable.
cp "$TACC" "$RAW/tacc"
TACC="$RAW/tacc"

# A JPEG-only day of the paper's workload (sizes: mean ~12 KB, heavy tail) and its origin.
TRACE="/tmp/tacc-selftune-jpeg.trace"
exp_trace "$TRACE" -n 40000 -d 1200s --jpeg 1 --gif 0 --html 0 --error-share 0 --objects 4000 --seed 7
if ((MAX_BYTES > 0)); then
  awk -F'\t' -v m="$MAX_BYTES" '/^#/ || $6 <= m' "$TRACE" >"$RAW/jpeg-capped.trace"
  TRACE="$RAW/jpeg-capped.trace"
fi
bench_log "origin: tacc trace serve (JPEGs of the trace's sizes)"
exp_serve 0-1 "$RAW/serve.log" "$TRACE"

# run_one NAME STEPS LOAD_S TAIL_S HOLD_S THRESHOLD REAP_S [KILL]: one cluster, one load run,
# analysed into $DATA/NAME.*
run_one() {
  local name="$1" steps="$2" load_s="$3" tail_s="$4" hold="$5" thr="$6" reap="$7" kill="${8:-}"
  local kill_args=()
  [[ -n "$kill" ]] && kill_args=(--kill "$kill")
  exp_up 0-1 "$RAW/$name.up.log" cache.enabled=false classes.cache.min_workers=0 \
    classes.gif.min_workers=0 classes.png.min_workers=0 classes.html_munger.min_workers=0 \
    classes.keyword_filter.min_workers=0 classes.jpeg.min_workers=0 "classes.jpeg.max_workers=$MAX_WORKERS" \
    "classes.jpeg.args.avif_speed=$AVIF_SPEED" "manager.spawn_threshold=$thr" "manager.spawn_hold_s=$hold" \
    "manager.reap_idle_s=$reap" log.level=info
  local up="$UP_PID"
  sleep 1
  bench_log "$name: load $steps req/s for $load_s s (+$tail_s s idle), H=$thr D=$hold R=$reap${kill:+, kill $kill}"
  bench_bg 0-1 "$RAW/$name.driver.log" timeout $((load_s + tail_s + 60)) python3 "$PY" run \
    --admin "http://127.0.0.1:$ADMIN_PORT" --class jpeg --samples "$RAW/$name.samples" --events "$RAW/$name.events" \
    --duration $((load_s + tail_s)) --cgroup "$CG" --quota-us "$QUOTA_US" --period-us "$PERIOD_US" "${kill_args[@]}" -- \
    "$TACC" play -t "127.0.0.1:$FE_PORT" --trace "$TRACE" --origin "$ORIGIN_URL" --rate "$steps" -d "${load_s}s" \
    -H "$ACCEPT" --series "$RAW/$name.series.csv" --json "$RAW/$name.play.json" --progress never --seed 1
  local drv="$BG_PID" t=0
  while kill -0 "$drv" 2>/dev/null; do
    sleep 5
    t=$((t + 5))
    if ((t % 30 == 0)); then
      bench_log "$name: ${t} s of $((load_s + tail_s)); distillers now: $(grep -c . <(curl -fsS --max-time 1 "http://127.0.0.1:$ADMIN_PORT/_tacc/status" 2>/dev/null | python3 -c 'import json,sys; [print(w["id"], round(w["load"],1)) for w in json.load(sys.stdin)["workers"] if w["class"]=="jpeg"]' 2>/dev/null) || true)"
    fi
  done
  wait "$drv" || { echo "$name: the driver failed:" >&2; tail -20 "$RAW/$name.driver.log" >&2; exit 1; }
  bench_stop "$up"
  python3 "$PY" analyze --samples "$RAW/$name.samples" --events "$RAW/$name.events" --log "$RAW/$name.up.log" \
    --series "$RAW/$name.series.csv" --play-json "$RAW/$name.play.json" --class jpeg --h "$thr" \
    --out-prefix "$DATA/$name" | tee "$RAW/$name.analysis"
}

if [[ "${SKIP_MAIN:-0}" != 1 ]]; then
  run_one main "$STEPS" "$DURATION" "$TAIL" "$D" "$H" "$R" "$KILL_AT:$KILL_COUNT"
fi
SWEEP_RUNS=""
for d in $SWEEP_D; do SWEEP_RUNS+=" $d:$H"; done
for h in $SWEEP_H; do SWEEP_RUNS+=" $D:$h"; done
for dh in $SWEEP_RUNS; do
  run_one "sweep_d${dh%%:*}_h${dh##*:}" "$SWEEP_STEPS" "$SWEEP_SECONDS" 5 "${dh%%:*}" "${dh##*:}" "$R"
done

bench_log "plots and tables"
rm -f "$DATA/main.gp" "$DATA/sweep.gp"
python3 "$PY" report --data "$DATA" --out "$EXP_DIR" --h "$H" --d "$D" --r "$R" \
  --steps "$STEPS" --kill-at "$KILL_AT" --kill-count "$KILL_COUNT" --sweep-runs "$SWEEP_RUNS" --sweep-steps "$SWEEP_STEPS" \
  --machine "$MACHINE" --date "$RUN_DATE" --noise "$NOISE" --throttle "$THROTTLE" --avif-speed "$AVIF_SPEED" --distiller-cpu "$DISTILLER_CPU" \
  --commit "$(git -C "$REPO" rev-parse --short HEAD)" --skip-main "${SKIP_MAIN:-0}"
for gp in main sweep; do
  if [[ -f "$DATA/$gp.gp" ]]; then (cd "$DATA" && gnuplot "$gp.gp"); fi
done
bench_log "done: $EXP_DIR/self_tuning_results.md, $EXP_DIR/self_tuning*.png"
if [[ "${SKIP_MAIN:-0}" != 1 ]]; then
  if grep -q '^rebalance_pass True' "$RAW/main.analysis"; then
    bench_log "pass line (every spawn balanced within 5 s) in the main run: PASS"
  else
    bench_log "pass line (every spawn balanced within 5 s) in the main run: FAIL (see $EXP_DIR/self_tuning_results.md)"
    exit 3
  fi
fi
