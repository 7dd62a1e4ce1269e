#!/usr/bin/env bash
# Experiment 2 of issue 10: scalability (SNS paper §4.6, Table 2).
#
# The paper's method: a trace that asks again and again for a fixed set of ~10 KB JPEGs,
# caching of distilled images off (every request is distilled), a minimal system (1 front
# end, 1 distiller, the manager); raise the offered load until some element saturates,
# add more of that element (distillers: the manager spawns them by itself; front ends: by
# hand), record what was added against the load, go on until nothing more can be added.
#
# Workload: `tacc trace synth --jpeg 1 --objects 200 -n 200` with every logged size set to
# 10,240 B; `tacc trace serve` answers each URL with a real JPEG of exactly that size
# (216x162 photos); `tacc play` offers its URLs open loop (Poisson), one `tacc play --rate R
# -d STEP_S` per step so that each step has its own summary (steps START, START+INC, ...).
# TranSend runs with cache.enabled=false (tacc has no switch that keeps originals cached and
# drops only distilled variants), so each request fetches its original from the local
# origin, which costs about what a cache-partition hit would (a loopback HTTP fetch of 10 KB
# from memory); no cache partitions, no other distiller classes. The `jpeg` class starts
# with 1 distiller and may grow to MAX_DISTILLERS (manager.spawn_threshold H, spawn_hold_s D).
#
# After each step scalability.py judges it on its steady part (from SETTLE_S on): kept up
# if answered >= 95% of offered, <= 5% approximate answers (TranSend's overload fallback)
# and the per-second p99 stays <= P99_MAX_MS. Saturated elements: distillers (the manager
# spawned one, or queues > H with a distiller >= 85% busy of its CPU share), front-end link
# (>= 85% of its rate), the machine (its cores >= 90% busy on a step not kept up or that
# made the manager spawn). A step that was not kept up is repeated once while distillers
# spawn; a saturated front end is added to (part B); otherwise the run ends. Each run
# starts with a 5 s warm-up at the first rate, not judged.
#
# Cores: every process of the experiment runs in a cgroup-v1 cpu group with cpu.shares
# 65536 (other work on the machine: 1024), so builds or tests of others get little CPU
# meanwhile (needs root and /sys/fs/cgroup/cpu; else it runs as is and says so).
#
# Part A, "as is" on this machine: `tacc up` (manager, N front ends, distillers)
# pinned to cores 0-1, the origin and the load (driver + tacc play) pinned to core 0. One
# run per front-end count in A_FRONTENDS (front ends are added by hand: a new run).
#
# Part B, hosts (PART_B=1, needs root): network namespaces on a bridge stand for the
# paper's machines: host mgr (tacc manager, and the distillers it spawns, each moved into a
# cgroup-v1 cpu group of its own with DISTILLER_CPU of a core: one "distiller node"), hosts
# fe1..feN (one tacc frontend each, its veth link shaped with tc tbf to FE_LINK_MBIT in each
# direction: the "FE Ethernet", which carries the clients' requests and answers, the origin
# fetches and the distillers' tasks), host org (the origin), host cl (driver and play). When
# a front end's link or CPU saturates, the driver starts the next front end (as the
# paper's authors did by hand) and sends load to all (round robin). All still share this
# machine's 2 cores: the run also ends when they are busy. Origin on core 1, driver and play
# on core 0, the cluster on 0-1.
#
# Writes docs/experiments/scalability.png (answered vs offered per step, with front ends and
# distillers), scalability-utilisation.png (what saturates), scalability-linearity.png
# (highest rate kept up with against distillers), scalability_data/ (steps per run, Table 2
# per run, plot data; < 1 MB) and scalability_results.md (the measured tables; the write-up
# scalability.md quotes them). Everything it started is stopped on exit, namespaces, qdiscs
# and cpu groups included. Run time: about 15-20 minutes (each run bounded by A_BUDGET_S /
# B_BUDGET_S), plus any wait for /tmp/tacc-bench.lock.
#
# Env: A_FRONTENDS="1 2" A_START=400 A_INC=400 A_BUDGET_S=300   part A's runs, rates (req/s), s per run
#      B_START=25 B_INC=25 B_BUDGET_S=540 B_MAX_FE=3 FE_LINK_MBIT=35 DISTILLER_CPU=0.02 PERIOD_US=50000
#      PART_A=1 PART_B=1 STEP_S=10 SETTLE_S=3 P99_MAX_MS=1000
#      H=4 D=5 MAX_DISTILLERS=10 (manager.spawn_threshold, spawn_hold_s, classes.jpeg.max_workers)
#      RAW=DIR (keep raw logs there; default: a temporary dir, removed)
#      BUILD, BENCH_SKIP_BUILD=1, BENCH_SCHED (default none here: cpu groups refuse RT tasks)
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

A_FRONTENDS="${A_FRONTENDS-1 2}"
A_START="${A_START:-400}"
A_INC="${A_INC:-400}"
A_BUDGET_S="${A_BUDGET_S:-300}"
B_START="${B_START:-25}"
B_INC="${B_INC:-25}"
B_BUDGET_S="${B_BUDGET_S:-540}"
B_MAX_FE="${B_MAX_FE:-3}"
FE_LINK_MBIT="${FE_LINK_MBIT:-35}"
DISTILLER_CPU="${DISTILLER_CPU:-0.02}"
PERIOD_US="${PERIOD_US:-50000}"
PART_A="${PART_A:-1}"
PART_B="${PART_B:-1}"
STEP_S="${STEP_S:-10}"
SETTLE_S="${SETTLE_S:-3}"
P99_MAX_MS="${P99_MAX_MS:-1000}"
H="${H:-4}"
D="${D:-5}"
MAX_DISTILLERS="${MAX_DISTILLERS:-10}"
PY="$REPO/bench/experiments/scalability.py"
DATA="$EXP_DIR/scalability_data"

command -v gnuplot >/dev/null || { echo "gnuplot is needed (apt-get install gnuplot-nox)" >&2; exit 1; }
bench_build
mkdir -p "$DATA"
KEEP_RAW=1
if [[ -n "${RAW:-}" ]]; then mkdir -p "$RAW"; else RAW="$(mktemp -d /tmp/tacc-scal-XXXXXX)"; KEEP_RAW=0; fi

# ------------------------------------------------------------------ cleanup of everything
PFX="tsc$$-"
CG=""
CG_ROOT=/sys/fs/cgroup/cpu
ns_cleanup() {
  local ns pids p
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$PFX" || true); do
    pids="$(ip netns pids "$ns" 2>/dev/null || true)"
    for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
}
cg_cleanup() {
  [[ -n "$CG" && -d "$CG" ]] || return 0
  echo $$ >"$CG_ROOT/cgroup.procs" 2>/dev/null || true
  local d
  for d in "$CG"/w*/; do [[ -d "$d" ]] && rmdir "$d" 2>/dev/null || true; done
  rmdir "$CG" 2>/dev/null || true
}
cleanup() {
  local f p
  bench_cleanup
  for f in "$RAW"/*/fe-pids; do  # front ends the driver started (part B)
    [[ -f "$f" ]] || continue
    while read -r p; do kill -TERM -- "-$p" 2>/dev/null || true; done <"$f"
  done
  sleep 0.5
  ns_cleanup
  cg_cleanup
  [[ "$KEEP_RAW" == 1 ]] || rm -rf "$RAW"
}
trap cleanup EXIT

exp_lock
bench_wait_quiet
NOISE="$BENCH_NOISE"
bench_log "scalability: raw logs in $RAW; $NOISE"
# Everything started from here on runs in a cpu group with high cpu.shares, so that work
# outside the experiment (builds, tests) gets little of the 2 cores meanwhile; part B's
# distillers get groups of their own inside it (root and cgroup v1 'cpu' needed).
SHARES_NOTE="no cpu group (needs root and cgroup v1 'cpu'): other work on the machine competed as usual"
if [[ "$BENCH_SCHED" != rr && -w "$CG_ROOT" ]] && mkdir "$CG_ROOT/tacc-scal-$$" 2>/dev/null; then
  CG="$CG_ROOT/tacc-scal-$$"
  echo 65536 >"$CG/cpu.shares"
  echo $$ >"$CG/cgroup.procs"
  SHARES_NOTE="the experiment's processes in a cpu group with cpu.shares 65536 (other work: 1024)"
fi

# ------------------------------------------------------------------ workload and origin
RAW_TRACE="/tmp/tacc-scal-jpeg-raw.trace"
exp_trace "$RAW_TRACE" --jpeg 1 --gif 0 --html 0 --error-share 0 --objects 200 -n 200 --seed 1
TRACE="$RAW/jpeg10k.trace"
awk -F'\t' 'BEGIN { OFS = "\t" } /^#/ { print; next } { $6 = 10240; print }' "$RAW_TRACE" >"$TRACE"
bench_log "trace: $(grep -vc '^#' "$TRACE") requests for $(awk -F'\t' '!/^#/ { print $4 }' "$TRACE" | sort -u | wc -l) JPEGs of 10,240 B"

RUNS=()  # label=dir for the report
COMMON_SETS=(cache.enabled=false classes.cache.min_workers=0 classes.gif.min_workers=0 classes.png.min_workers=0
  classes.html_munger.min_workers=0 classes.keyword_filter.min_workers=0 classes.jpeg.min_workers=1
  "classes.jpeg.max_workers=$MAX_DISTILLERS" "manager.spawn_threshold=$H" "manager.spawn_hold_s=$D" manager.reap_idle_s=600)
DRIVE_COMMON=(--tacc "$TACC" --trace "$TRACE" --step-s "$STEP_S" --settle-s "$SETTLE_S" --p99-max-ms "$P99_MAX_MS"
  --h "$H" --max-distillers "$MAX_DISTILLERS")

# free_runs N: a port P in 21000-29999 with P..P+N-1 all free.
free_runs() {
  python3 - "$1" <<'PY'
import random, socket, sys
n = int(sys.argv[1])
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
while True:
    p = random.randrange(21000, 30000 - n)
    if all(free(p + i) for i in range(n)):
        print(p)
        break
PY
}

# ------------------------------------------------------------------ part A: this machine as is
if [[ "$PART_A" == 1 ]]; then
  exp_serve 0 "$RAW/serve-a.log" "$TRACE"
  A_SERVE_PID="$SERVE_PID"
  for fe in $A_FRONTENDS; do
    label="a-fe$fe"
    sets=("${COMMON_SETS[@]}" "frontend.count=$fe")
    bench_log "part A, $fe front end(s): tacc up on cores 0-1; origin and load on core 0"
    # Front end i listens on frontend.port + i: ports under the ephemeral range, free now
    # (exp_up picks an ephemeral port, whose neighbour may be some connection's). Its admin
    # port + i may still be taken: then once more.
    for attempt in 1 2 3; do
      fe_port="$(free_runs "$fe")"
      if exp_up 0-1 "$RAW/$label.up.log" "${sets[@]}" "frontend.port=$fe_port"; then
        ok=1
        for ((i = 1; i < fe; i++)); do bench_wait_http "http://127.0.0.1:$((ADMIN_PORT + i))/_tacc/health" 30 || ok=0; done
        [[ "$ok" == 1 ]] && break
      fi
      ((attempt < 3)) || { echo "tacc up did not start its front ends; see $RAW/$label.up.log" >&2; exit 1; }
      bench_log "front ends did not all start (a port taken?); again"
      bench_stop "$UP_PID"
    done
    up="$UP_PID"
    FE_PORT="$fe_port"
    targets=() admins=()
    for ((i = 0; i < fe; i++)); do
      targets+=(--target "127.0.0.1:$((FE_PORT + i))")
      admins+=(--admin "http://127.0.0.1:$((ADMIN_PORT + i))")
    done
    for ((i = 0; i < fe; i++)); do bench_wait_http "http://127.0.0.1:$((ADMIN_PORT + i))/_tacc/health" 30; done
    sleep 2
    "${RUN[@]}" taskset -c 0 timeout $((A_BUDGET_S + 120)) python3 "$PY" drive --label "$label" --out "$RAW/$label" \
      "${DRIVE_COMMON[@]}" --budget-s "$A_BUDGET_S" --origin "$ORIGIN_URL" "${targets[@]}" "${admins[@]}" --start "$A_START" --inc "$A_INC" \
      --pids "origin=$A_SERVE_PID" --max-fe "$fe"
    bench_stop "$up"
    RUNS+=(--run "$label=$RAW/$label")
  done
  bench_stop "$A_SERVE_PID"
fi

# ------------------------------------------------------------------ part B: hosts
B_NOTE=""
if [[ "$PART_B" == 1 ]]; then
  if [[ "$(id -u)" != 0 ]] || ! ip netns add "${PFX}probe" 2>/dev/null; then
    B_NOTE="part B skipped: needs root (network namespaces)"
  else
    ip netns del "${PFX}probe"
    [[ -n "$CG" ]] || B_NOTE="part B: no cgroup-v1 cpu controller at $CG_ROOT: distillers not throttled"
  fi
  [[ -n "$B_NOTE" ]] && bench_log "$B_NOTE"
fi
if [[ "$PART_B" == 1 && "$B_NOTE" != "part B skipped"* ]]; then
  SW="${PFX}sw"
  ip netns add "$SW"
  ip -n "$SW" link add br0 type bridge
  ip -n "$SW" link set br0 type bridge forward_delay 0 stp_state 0
  ip -n "$SW" link set br0 up
  ip -n "$SW" link set lo up
  declare -A NS IP PORT
  add_host() {  # add_host NAME LAST_OCTET [MBIT]: a namespace on the bridge; MBIT shapes its link both ways
    local h="$1" o="$2" mbit="${3:-}"
    NS[$h]="$PFX$h"
    IP[$h]="10.0.0.$o"
    PORT[$h]="p$o"
    ip netns add "${NS[$h]}"
    ip -n "$SW" link add "p$o" type veth peer name eth0 netns "${NS[$h]}"
    ip -n "$SW" link set "p$o" master br0
    ip -n "$SW" link set "p$o" up
    ip -n "${NS[$h]}" addr add "${IP[$h]}/24" dev eth0
    ip -n "${NS[$h]}" link set eth0 up
    ip -n "${NS[$h]}" link set lo up
    ip netns exec "${NS[$h]}" sysctl -qw net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1 \
      net.core.somaxconn=8192 >/dev/null 2>&1 || true
    if [[ -n "$mbit" ]]; then
      # tbf: rate, a burst of 64 KB (>= one GSO segment), at most 50 ms of queue.
      ip netns exec "${NS[$h]}" tc qdisc add dev eth0 root tbf rate "${mbit}mbit" burst 64kb latency 50ms
      ip netns exec "$SW" tc qdisc add dev "p$o" root tbf rate "${mbit}mbit" burst 64kb latency 50ms
    fi
  }
  add_host mgr 10
  add_host org 40
  add_host cl 30
  for ((i = 1; i <= B_MAX_FE; i++)); do add_host "fe$i" $((20 + i)) "$FE_LINK_MBIT"; done
  bench_log "part B: hosts ${!NS[*]} on a bridge; front-end links shaped to $FE_LINK_MBIT Mbit/s each way"
  KEY="$RAW/cluster.key"
  "$TACC" key generate --out "$KEY" >/dev/null
  BEACON_PORT=$((20000 + RANDOM % 20000))
  bset() {  # the settings every process of the part-B cluster shares, for host $1
    local h="$1" ip
    if [[ "$h" == fe ]]; then h=@HOST@ ip=@IP@; else ip="${IP[$h]}"; fi
    local s=(cluster.name="scal$$" cluster.run_dir="$RAW/run-$h" cluster.key_file="$KEY" cluster.host="$ip"
      beacon.interface="$ip" beacon.port="$BEACON_PORT" log.level=warn
      'proxy.allowed_destinations=["10.0.0.0/24"]' 'proxy.client_networks=["10.0.0.0/24", "127.0.0.0/8"]'
      "${COMMON_SETS[@]}" frontend.threads=2)
    local x
    for x in "${s[@]}"; do printf -- '--set\n%s\n' "$x"; done
  }
  mapfile -t MSETS < <(bset mgr)
  bench_bg 1 "$RAW/b-serve.log" ip netns exec "${NS[org]}" "$TACC" trace serve --trace "$TRACE" --host "${IP[org]}" --port 9000
  B_SERVE_PID="$BG_PID"
  for _ in $(seq 600); do  # it encodes its pictures before it listens
    grep -q 'http://' "$RAW/b-serve.log" 2>/dev/null && break
    kill -0 "$B_SERVE_PID" 2>/dev/null || { cat "$RAW/b-serve.log" >&2; exit 1; }
    sleep 0.1
  done
  bench_bg 0-1 "$RAW/b-manager.log" ip netns exec "${NS[mgr]}" "$TACC" manager "${MSETS[@]}"
  B_MGR_PID="$BG_PID"
  # The command that starts front end INDEX (0-based) on host fe(INDEX+1); prints its target
  # and admin URL. The driver runs it when a front end saturates; cleanup stops what it started.
  mkdir -p "$RAW/b"
  bset fe >"$RAW/b/fe-sets"
  FE_ADD="$RAW/fe-add.sh"
  cat >"$FE_ADD" <<EOF
#!/usr/bin/env bash
set -euo pipefail
i="\$1"; h="fe\$((i + 1))"; ip="10.0.0.\$((21 + i))"; admin=\$((9080 + i))  # admin port: frontend.admin_port + index
mapfile -t sets <"$RAW/b/fe-sets"
sets=("\${sets[@]//@HOST@/\$h}")
sets=("\${sets[@]//@IP@/\$ip}")
setsid taskset -c 0-1 ip netns exec "$PFX\$h" "$TACC" frontend --index "\$i" --port 8080 "\${sets[@]}" \\
  --set "frontend.host=\$ip" --set "frontend.admin_host=\$ip" --set frontend.admin_port=9080 >"$RAW/b/fe\$i.log" 2>&1 &
echo \$! >>"$RAW/b/fe-pids"
for _ in \$(seq 100); do
  if ip netns exec "${PFX}cl" curl -fsS -o /dev/null --max-time 1 "http://\$ip:\$admin/_tacc/health" 2>/dev/null; then
    echo "\$ip:8080 http://\$ip:\$admin"
    exit 0
  fi
  sleep 0.2
done
echo "front end \$i did not start" >&2
tail -5 "$RAW/b/fe\$i.log" >&2
exit 1
EOF
  chmod +x "$FE_ADD"
  read -r TGT0 ADM0 < <("$FE_ADD" 0)
  sleep 2
  QUOTA_US="$(awk -v c="$DISTILLER_CPU" -v p="$PERIOD_US" 'BEGIN{ q = int(c * p); if (q < 1000 && q > 0) q = 1000; print q }')"
  throttle=()
  if [[ -n "$CG" ]]; then throttle=(--cgroup "$CG" --distiller-quota-us "$QUOTA_US" --period-us "$PERIOD_US"); fi
  links=()
  for ((i = 1; i <= B_MAX_FE; i++)); do
    links+=(--link "fe$i-out:${NS[fe$i]}:eth0:$((FE_LINK_MBIT * 1000000))" --link "fe$i-in:$SW:${PORT[fe$i]}:$((FE_LINK_MBIT * 1000000))")
  done
  bench_log "part B: manager on host mgr, front end 1 on fe1 ($TGT0), distillers $DISTILLER_CPU of a core each ($QUOTA_US us per $PERIOD_US us)"
  # The driver stays in this namespace (it moves distillers into cpu groups: `ip netns exec`
  # hides /sys/fs/cgroup); play and its status queries run on host cl.
  "${RUN[@]}" taskset -c 0 timeout $((B_BUDGET_S + 180)) python3 "$PY" drive --label b-hosts --out "$RAW/b" --budget-s "$B_BUDGET_S" \
    --play-prefix "ip netns exec ${NS[cl]}" \
    "${DRIVE_COMMON[@]}" --origin "http://${IP[org]}:9000" --target "$TGT0" --admin "$ADM0" --start "$B_START" --inc "$B_INC" \
    --pids "origin=$B_SERVE_PID" "${throttle[@]}" "${links[@]}" \
    --fe-add "$FE_ADD" --max-fe "$B_MAX_FE"
  RUNS+=(--run "b-hosts=$RAW/b")
fi

# ------------------------------------------------------------------ report
bench_log "report"
for r in "${RUNS[@]}"; do
  [[ "$r" == --run ]] && continue
  label="${r%%=*}"
  dir="${r#*=}"
  cp "$dir/steps.jsonl" "$DATA/$label-steps.jsonl"
  cp "$dir/end.json" "$DATA/$label-end.json" 2>/dev/null || true
done
python3 "$PY" report "${RUNS[@]}" --data "$DATA" --md "$EXP_DIR/scalability_results.md.tmp" --p99-max-ms "$P99_MAX_MS"
{
  echo "# Scalability (Table 2): measured tables"
  echo
  echo "Generated by \`bench/experiments/scalability.sh\` on $RUN_DATE, commit $(git -C "$REPO" rev-parse --short HEAD);"
  echo "$MACHINE; $NOISE. Steps of $STEP_S s (judged from $SETTLE_S s on); H=$H, D=$D s, at most $MAX_DISTILLERS distillers."
  echo "Part A: tacc up on cores 0-1, origin and load on core 0. Part B: distillers $DISTILLER_CPU of a core each,"
  echo "front-end links $FE_LINK_MBIT Mbit/s each way. ${B_NOTE}"
  echo "CPU sharing: $SHARES_NOTE. Binary: $TACC."
  echo
  cat "$EXP_DIR/scalability_results.md.tmp"
} >"$EXP_DIR/scalability_results.md"
rm -f "$EXP_DIR/scalability_results.md.tmp"
python3 "$PY" plot --data "$DATA" --out "$EXP_DIR" "${RUNS[@]}"
bench_log "done: $EXP_DIR/scalability_results.md, $EXP_DIR/scalability*.png"
