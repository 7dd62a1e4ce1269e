#!/usr/bin/env bash
# The front door against HAProxy (issue 9): `tacc dispatch` in its four modes (relay, nat,
# dsr, l7) and Debian's HAProxy (`mode tcp`, `mode http`), same run, same hosts, same cores,
# reported as ratios.
#
# Hosts are network namespaces made by this script (prefix tfb<pid>-), joined by a Linux
# bridge in a namespace of its own (tfb<pid>-sw), as tests/support/netns_lab.cc builds
# them: client 10.0.0.10, disp 10.0.0.11, be1..be3 10.0.0.12..14, each with one veth
# "eth0"; the cluster address (nat, dsr) is 10.0.0.100. Nothing touches the machine's own
# network namespace; everything (namespaces, and with them veths and bridge; processes;
# temp dirs) is removed on exit, also on failure, and namespaces left by an earlier run of
# this script that died are removed at start.
#
#   core 0  wrk (in client) and the three back ends: nginx, worker_processes 1, access log
#           off, keep-alive, sendfile, serving 1k.bin, 10k.bin, 100k.bin (1,024, 10,240,
#           102,400 bytes) with an X-Backend header.
#   core 1  the peer under test, one at a time, in disp: haproxy (nbthread 1) or
#           `tacc dispatch` (one event loop), pinned with taskset.
#   Packet work: RPS puts the kernel's receive processing of disp's eth0 on core 1, that
#   of every other interface (client, back ends, the bridge's ports) on core 0. So core 1
#   carries all of the dispatcher's own kernel work (its TCP stacks for relay, l7 and
#   haproxy; nftables + conntrack for nat; the tc-BPF program for dsr, all in softirq),
#   and nothing else of the benchmark. veths have no IRQs to place.
#
# Per way (haproxy-tcp, haproxy-http, relay, l7, nat, dsr) and per point: a WARMUP s wrk
# warm-up, then BENCH_SECONDS s of `wrk -t1 -c$CONNECTIONS --latency`; during it core 0's
# and core 1's busy time from /proc/stat (softirq apart), the peer process's own CPU
# time, disp eth0's transmitted bytes and the back ends' accepted connections (nginx
# stub_status) are read, and given per answer. Figures:
#   1. new connections/s: 1 KB with `Connection: close` (every answer a new TCP connection)
#   2. Mb/s at 100 KB on keep-alive connections
#   3. l7: requests/s and p99 on keep-alive, 1 KB, against haproxy http
#   4. throughput against response size: 1 KB, 10 KB, 100 KB on keep-alive
#   5. l7 content routing: the back ends become nginx proxy_cache (tmpfs, a keys zone for
#      about LARD_CACHE_OBJECTS objects) in front of an origin on the same host; a wrk Lua trace
#      of LARD_OBJECTS URLs with Zipf(LARD_ALPHA) popularity (the set exceeds one back
#      end's cache, not the three together); tacc l7 with lard, round_robin, bounded_hash
#      and haproxy http with balance roundrobin and balance uri; caches emptied before
#      each; the hit rate counted from each back end's log of $upstream_cache_status.
# Results: markdown on stdout and in bench/results/frontdoor_peers-<date>-<HHMM>.md, the
# raw wrk outputs beside it (-wrk.txt).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/frontdoor_peers.sh [--help]      (as root: it makes network namespaces)

The front door (tacc dispatch: relay, l7, nat = L4/3, dsr = L4/2) against HAProxy (mode tcp,
mode http), in the same run, on the same cores, as ratios. Hosts are network namespaces on a
bridge (client, disp, be1..be3; prefix tfb<pid>-, all removed on exit). wrk and three nginx
back ends run on core 0, the dispatcher under test alone on core 1 (taskset), and RPS puts the
dispatcher host's receive processing on core 1 too, so that core 1's busy time per connection
or per answer (from /proc/stat, softirq included) is the whole cost of dispatching, also for
nat and dsr, which work in the kernel (nftables + conntrack; a tc-BPF program).

Figures, each a table with ratios to HAProxy in the same mode (L4 ways to haproxy tcp, l7 to
haproxy http):
  1  new connections/s (wrk -H 'Connection: close', 1 KB answers)      the figure of merit of L4/2
  2  Mb/s through the dispatcher at 100 KB, keep-alive                  the figure of merit of L4/3
  3  l7 requests/s and p99 against haproxy http (1 KB, keep-alive)
  4  throughput against response size: 1 KB, 10 KB, 100 KB, keep-alive (the survey's IBM Web
     Accelerator: 3,200 req/s at 10 KB, about 500 at 100 KB)
  5  l7 content routing: cache hit rate and throughput of tacc l7 with policy lard,
     round_robin and bounded_hash, and haproxy http balance roundrobin and balance uri, on a
     Zipf trace whose working set exceeds one back end's cache (nginx proxy_cache on tmpfs in
     front of an origin, on each back end)
Output: markdown on stdout and in bench/results/frontdoor_peers-<date>-<HHMM>.md, raw wrk
outputs beside it (-wrk.txt); progress on stderr. About 8 minutes with the defaults.

How the peers differ (also in the result's header): haproxy tcp forwards with recv/send (no
splice by default), tacc relay with splice(2); haproxy http and tacc l7 both parse every request,
keep connections to the back ends and add X-Forwarded-For (haproxy: option forwardfor); nat and
dsr have no user-space process in the data path (the tacc process only programs the kernel)
and choose a back end by a Maglev hash of the connection, not by round robin
(frontdoor.policy=round_robin with stateless failover is that hash); relay, l7 and haproxy
choose round robin.

Environment (defaults):
  BENCH_SECONDS=10      measured seconds per point
  WARMUP=1              wrk warm-up seconds before each point
  CONNECTIONS=50        wrk connections (one wrk thread)
  WAYS="haproxy-tcp haproxy-http relay l7 nat dsr"   which peers, in this order
                        (also: direct = wrk to be1 alone, no dispatcher; a reference)
  SIZES="1k 10k 100k"   keep-alive answer sizes (figures 2-4; 100k gives figure 2)
  FIGURES="1 2 3 4 5"   which figures to measure (2, 3, 4 share the keep-alive runs)
  LARD_POLICIES="lard round_robin bounded_hash haproxy-roundrobin haproxy-uri"
  LARD_OBJECTS=1000     distinct URLs of the trace (/z/0001.bin ...)
  LARD_SIZE=10k         size of each
  LARD_ALPHA=0.8        Zipf exponent of their popularity
  LARD_CACHE_OBJECTS=400   each back end's cache holds about this many (the size of nginx's
                        keys_zone; the objects each held at the end are reported)
  LARD_WARMUP=5         seconds of the trace before each measured run (fills the caches)
  TACC=build/release/tacc  the tacc binary (a copy is run, so a rebuild cannot swap it)
  OUT_DIR=bench/results where results go
  BENCH_SCHED=rr        rr | none | nice | auto (bench/lib.sh). rr (SCHED_RR for wrk, nginx and the peer)
                        by default, so that other work starting mid-run cannot favour the peers
                        measured before it; the softirq work is not scheduled and is not protected.
  QUIET_WAIT=0          seconds to wait, before each way, for other load to fall under QUIET_MAX%
  MAX_SECONDS=1500      the whole run is killed (and cleaned up) after this long
EOF
}
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then usage; exit 0; fi
if [[ $# -gt 0 ]]; then usage >&2; exit 2; fi
if [[ "$(id -u)" != 0 ]]; then echo "frontdoor_peers.sh needs root (network namespaces, nat and dsr)" >&2; exit 2; fi

# The whole run is bounded: under `timeout`, whose TERM runs the EXIT trap below.
if [[ -z "${FRONTDOOR_PEERS_BOUNDED:-}" ]]; then
  export FRONTDOOR_PEERS_BOUNDED=1
  exec timeout --foreground -k 30 "${MAX_SECONDS:-1500}" "$0" "$@"
fi

LOADAVG_START="$(cut -d' ' -f1-3 /proc/loadavg)"
START_UTC="$(date -u '+%Y-%m-%d %H:%M UTC')"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
TACC_WANTED="${TACC:-$REPO/build/release/tacc}"
OUT_DIR="${OUT_DIR:-$REPO/bench/results}"
# rr by default, not lib.sh's auto: auto decides once, at the start, and a build starting
# half-way through the run would then slow only the peers measured after it.
export BENCH_SCHED="${BENCH_SCHED:-rr}"
source "$REPO/bench/lib.sh"

BENCH_SECONDS="${BENCH_SECONDS:-10}"
WARMUP="${WARMUP:-1}"
CONNECTIONS="${CONNECTIONS:-50}"
WAYS="${WAYS:-haproxy-tcp haproxy-http relay l7 nat dsr}"
SIZES="${SIZES:-1k 10k 100k}"
FIGURES="${FIGURES:-1 2 3 4 5}"
LARD_POLICIES="${LARD_POLICIES:-lard round_robin bounded_hash haproxy-roundrobin haproxy-uri}"
LARD_OBJECTS="${LARD_OBJECTS:-1000}"
LARD_SIZE="${LARD_SIZE:-10k}"
LARD_ALPHA="${LARD_ALPHA:-0.8}"
LARD_CACHE_OBJECTS="${LARD_CACHE_OBJECTS:-400}"
LARD_WARMUP="${LARD_WARMUP:-5}"
LOAD_CPU=0
DISP_CPU=1

for c in nginx haproxy wrk curl nft tc taskset; do
  command -v "$c" >/dev/null || { echo "$c not installed (scripts/install-deps.sh --bench)" >&2; exit 1; }
done
has_fig() { [[ " $FIGURES " == *" $1 "* ]]; }
NEED_TACC=0  # only HAProxy (and direct) asked for: no tacc needed
has_fig 1 || has_fig 2 || has_fig 3 || has_fig 4 || WAYS=""
for w in $WAYS; do [[ "$w" == relay || "$w" == l7 || "$w" == nat || "$w" == dsr ]] && NEED_TACC=1; done
if has_fig 5; then for p in $LARD_POLICIES; do [[ "$p" != haproxy-* ]] && NEED_TACC=1; done; fi
if ((NEED_TACC)) && [[ ! -x "$TACC_WANTED" ]]; then
  echo "no tacc binary at $TACC_WANTED (build it: scripts/build.sh release, or set TACC)" >&2; exit 1
fi
(($(nproc) >= 2)) || { echo "needs 2 cores (0: load and back ends, 1: the dispatcher)" >&2; exit 1; }
bytes_of() {  # 10k -> 10240
  case "$1" in *[0-9]k) echo $((${1%k} * 1024)) ;; *[0-9]) echo "$1" ;; *) echo "bad size $1" >&2; exit 2 ;; esac
}

COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY="$(git -C "$REPO" status --porcelain -- src 2>/dev/null | wc -l)"
PFX="tfb$$-"
SW="${PFX}sw"
declare -A NS IP
HOSTS=(client disp be1 be2 be3)
BACKENDS=(be1 be2 be3)
VIP=10.0.0.100
PORT=80
TMP="$(mktemp -d /dev/shm/frontdoor-peers.XXXXXX)"  # tmpfs: the origin files and nginx caches
chmod 755 "$TMP"
HZ="$(getconf CLK_TCK)"

# ---------------------------------------------------------------- hosts
kill_in_ns() {  # every process in namespace $1 (ours: made by this script)
  local i pids
  for i in $(seq 20); do
    pids="$(ip netns pids "$1" 2>/dev/null || true)"
    [[ -z "$pids" ]] && return 0
    kill -KILL $pids 2>/dev/null || true
    sleep 0.1
  done
}
remove_namespaces() {  # $1: prefix
  local ns
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^$1" || true); do
    kill_in_ns "$ns"
    ip netns del "$ns" 2>/dev/null || true
  done
}
remove_stale() {  # namespaces of earlier runs of this script whose process is gone
  local ns owner
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}' | grep -E '^tfb[0-9]+-' || true); do
    owner="${ns#tfb}"; owner="${owner%%-*}"
    [[ "$owner" == $$ ]] && continue
    kill -0 "$owner" 2>/dev/null && continue
    bench_log "removing namespace $ns of an earlier run (pid $owner is gone)"
    kill_in_ns "$ns"
    ip netns del "$ns" 2>/dev/null || true
  done
}
on_exit() {
  local rc=$?
  bench_cleanup
  remove_namespaces "$PFX"
  if ((rc != 0)); then  # keep what the servers said
    for f in "$TMP"/*.log "$TMP"/*/*.log; do
      [[ -s "$f" ]] && { echo "--- ${f#$TMP/} (last lines)"; tail -15 "$f"; } >&2
    done
  fi
  rm -rf "$TMP"
}
trap on_exit EXIT
mkdir -p "$OUT_DIR"

nsx() { local h="$1"; shift; timeout 20 ip netns exec "${NS[$h]}" "$@"; }  # run in host $h, bounded
sysctl_in() { local h="$1"; shift; local kv; for kv in "$@"; do nsx "$h" sysctl -qw "$kv" >/dev/null 2>&1 || bench_log "note: sysctl $kv not set in $h"; done; }

remove_stale
bench_log "making hosts: namespaces ${PFX}{sw,${HOSTS[*]// /,}} on a bridge"
ip netns add "$SW"
ip -n "$SW" link add br0 type bridge
ip -n "$SW" link set br0 type bridge forward_delay 0 stp_state 0
ip -n "$SW" link set br0 up
ip -n "$SW" link set lo up
idx=10
for h in "${HOSTS[@]}"; do
  NS[$h]="$PFX$h"
  IP[$h]="10.0.0.$idx"
  ip netns add "${NS[$h]}"
  ip -n "$SW" link add "p$idx" type veth peer name eth0 netns "${NS[$h]}"
  ip -n "$SW" link set "p$idx" master br0
  ip -n "$SW" link set "p$idx" up
  ip -n "${NS[$h]}" link set eth0 address "$(printf '02:00:00:00:00:%02x' "$idx")"
  ip -n "${NS[$h]}" addr add "${IP[$h]}/24" dev eth0
  ip -n "${NS[$h]}" link set eth0 up
  ip -n "${NS[$h]}" link set lo up
  # RPS: receive processing of disp's interface on core 1, of everything else on core 0.
  mask=1; [[ "$h" == disp ]] && mask=2
  nsx "$h" sh -c "echo $mask > /sys/class/net/eth0/queues/rx-0/rps_cpus"
  timeout 20 ip netns exec "$SW" sh -c "echo 1 > /sys/class/net/p$idx/queues/rx-0/rps_cpus"
  sysctl_in "$h" net.ipv4.ip_local_port_range="1024 65535" net.ipv4.tcp_tw_reuse=1 net.core.somaxconn=8192 \
    net.ipv4.tcp_max_syn_backlog=8192 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0
  idx=$((idx + 1))
done
# disp: the back ends' gateway for nat, no ICMP redirects (they would send the back ends
# around the dispatcher); short conntrack TIME_WAIT so that reused client ports find no stale entry.
sysctl_in disp net.ipv4.ip_forward=1 net.ipv4.conf.all.send_redirects=0 net.ipv4.conf.eth0.send_redirects=0
nsx disp sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_time_wait=10 >/dev/null 2>&1 || true
for b in "${BACKENDS[@]}"; do  # dsr: the cluster address on lo, never answered for by ARP
  sysctl_in "$b" net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.all.accept_redirects=0 \
    net.ipv4.conf.eth0.accept_redirects=0
done

# hosts_for MODE: the back ends' network as nat (route to the client via the cluster
# address: LSNAT) or dsr (the cluster address on lo) need it; neither for the others.
hosts_for() {
  local b
  for b in "${BACKENDS[@]}"; do
    nsx "$b" ip addr del "$VIP/32" dev lo 2>/dev/null || true
    nsx "$b" ip route del "${IP[client]}/32" 2>/dev/null || true
    case "$1" in
      nat) nsx "$b" ip route add "${IP[client]}/32" via "$VIP" dev eth0 ;;
      dsr) nsx "$b" ip addr add "$VIP/32" dev lo ;;
    esac
  done
  for b in "${HOSTS[@]}"; do nsx "$b" ip neigh flush all 2>/dev/null || true; done
}

# ---------------------------------------------------------------- files and back ends
mkdir -p "$TMP/www/z"
for s in $SIZES 1k; do head -c "$(bytes_of "$s")" /dev/urandom >"$TMP/www/$s.bin"; done
python3 - "$TMP/www/z" "$LARD_OBJECTS" "$(bytes_of "$LARD_SIZE")" <<'EOF'
import os, sys
d, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(1, n + 1):
    with open(os.path.join(d, "%04d.bin" % i), "wb") as f:
        f.write(os.urandom(size))
EOF
chmod -R a+rX "$TMP/www"

# The trace: every request a URL of /z/ drawn with Zipf popularity, the same seeded
# sequence for every peer.
cat >"$TMP/zipf.lua" <<'EOF'
local n = tonumber(os.getenv("ZIPF_N"))
local s = tonumber(os.getenv("ZIPF_S"))
local cdf, paths, total = {}, {}, 0
for k = 1, n do total = total + 1 / k ^ s; cdf[k] = total end
for k = 1, n do cdf[k] = cdf[k] / total; paths[k] = string.format("/z/%04d.bin", k) end
math.randomseed(tonumber(os.getenv("ZIPF_SEED") or "1"))
request = function()
  local u, lo, hi = math.random(), 1, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    if cdf[mid] < u then lo = mid + 1 else hi = mid end
  end
  return wrk.format("GET", paths[lo])
end
EOF

nginx_conf() {  # be kind(plain|cache): the back end's nginx.conf
  local b="$1" kind="$2" d="$TMP/$1"
  # The cache's bound is its keys zone: when no key fits, the worker evicts the least
  # recently used entries at once. (max_size is enforced by the cache manager, which sleeps
  # up to 10 s while the cache is under it: a cache overshoots it by far in a short run.)
  # nginx 1.22 on 64-bit holds about 8 keys per KB after 8 KB of zone overhead.
  local zone_kb=$(( (LARD_CACHE_OBJECTS + 7) / 8 + 8 ))
  cat <<EOF
worker_processes 1;
user root;
daemon off;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 16384; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000000;
  keepalive_timeout 65;
  default_type application/octet-stream;
  client_body_temp_path $d/tmp/body;
  proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fastcgi;
  uwsgi_temp_path $d/tmp/uwsgi;
  scgi_temp_path $d/tmp/scgi;
  server {
    listen 127.0.0.1:81;
    location /_status { stub_status; }
  }
EOF
  if [[ "$kind" == plain ]]; then
    cat <<EOF
  server {
    listen $PORT backlog=8192;
    root $TMP/www;
    add_header X-Backend $b;
  }
}
EOF
  else
    cat <<EOF
  proxy_cache_path $d/cache levels=1:2 keys_zone=c:${zone_kb}k inactive=1h use_temp_path=off;
  log_format cs '\$upstream_cache_status';
  upstream origin {
    server 127.0.0.1:8081;
    keepalive 16;
  }
  server {
    listen $PORT backlog=8192;
    location / {
      proxy_pass http://origin;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache c;
      proxy_cache_valid 200 1h;
      access_log $d/cache_status.log cs buffer=64k flush=300ms;
      add_header X-Backend $b;
      add_header X-Cache-Status \$upstream_cache_status;
    }
  }
  server {  # the origin
    listen 127.0.0.1:8081;
    root $TMP/www;
    keepalive_requests 100000000;
  }
}
EOF
  fi
}
declare -A BE_PID
start_backends() {  # plain | cache: (re)starts the three back ends, caches and logs empty
  local b i
  for b in "${BACKENDS[@]}"; do
    [[ -n "${BE_PID[$b]:-}" ]] && bench_stop "${BE_PID[$b]}"
    rm -rf "$TMP/$b"
    mkdir -p "$TMP/$b/tmp" "$TMP/$b/cache"
    nginx_conf "$b" "$1" >"$TMP/$b/nginx.conf"
    bench_bg "$LOAD_CPU" "$TMP/$b/out.log" ip netns exec "${NS[$b]}" nginx -p "$TMP/$b" -c "$TMP/$b/nginx.conf"
    BE_PID[$b]="$BG_PID"
  done
  for b in "${BACKENDS[@]}"; do
    for i in $(seq 100); do
      nsx "$b" curl -fsS -o /dev/null --max-time 1 http://127.0.0.1:81/_status 2>/dev/null && break
      ((i == 100)) && { echo "nginx in $b did not start" >&2; exit 1; }
      sleep 0.1
    done
  done
}
be_status() {  # "accepted-connections requests", summed over the back ends
  local b a=0 r=0 line
  for b in "${BACKENDS[@]}"; do
    line=($(nsx "$b" curl -s --max-time 2 http://127.0.0.1:81/_status | awk 'NR==3{print $1, $3}'))
    a=$((a + ${line[0]:-0} - 1)); r=$((r + ${line[1]:-0} - 1))  # less the status request itself
  done
  echo "$a $r"
}

# ---------------------------------------------------------------- the peers
TACC_BUILT="not used"
if ((NEED_TACC)); then
  bench_stable_copy "$TACC_WANTED" "$TMP/tacc" 2
  TACC_BUILT="$(date -u -r "$TACC_WANTED" '+%Y-%m-%d %H:%M UTC')"
  "$TMP/tacc" dispatch --help >/dev/null || { echo "$TACC_WANTED has no dispatch command" >&2; exit 1; }
fi

BACKEND_LIST=""
for b in "${BACKENDS[@]}"; do BACKEND_LIST+="${BACKEND_LIST:+,}\"${IP[$b]}:$PORT\""; done

haproxy_conf() {  # mode(tcp|http) balance
  cat <<EOF
global
  nbthread 1
  maxconn 8000
defaults
  mode $1
  timeout connect 5s
  timeout client 60s
  timeout server 60s
  maxconn 8000
$(if [[ "$1" == http ]]; then echo "  option forwardfor"; fi)
frontend front
  bind ${IP[disp]}:$PORT backlog 8192
  default_backend back
backend back
  balance $2
$(for b in "${BACKENDS[@]}"; do echo "  server $b ${IP[$b]}:$PORT"; done)
EOF
}

# start_peer WAY [policy]: starts it on core 1 in disp; sets PEER_PID and TARGET (ip).
PEER_PID=""
TARGET=""
start_peer() {
  local way="$1" policy="${2:-}" log="$TMP/peer-$1${2:+-$2}.log"
  PEER_PID=""
  case "$way" in
    direct)
      hosts_for plain
      TARGET="${IP[be1]}"
      return 0 ;;
    haproxy-tcp | haproxy-http)
      hosts_for plain
      haproxy_conf "${way#haproxy-}" "${policy:-roundrobin}" >"$TMP/haproxy.cfg"
      bench_bg "$DISP_CPU" "$log" ip netns exec "${NS[disp]}" haproxy -f "$TMP/haproxy.cfg" -db
      TARGET="${IP[disp]}" ;;
    relay | l7 | nat | dsr)
      hosts_for "$way"
      local address="${IP[disp]}"
      [[ "$way" == nat || "$way" == dsr ]] && address="$VIP"
      mkdir -p "$TMP/run"
      bench_bg "$DISP_CPU" "$log" ip netns exec "${NS[disp]}" "$TMP/tacc" dispatch \
        --set "cluster.name=tfb$$" --set "cluster.run_dir=$TMP/run" --set "cluster.key_file=$TMP/no-cluster.key" \
        --set log.level=warn --set frontdoor.from_beacons=false \
        --set "frontdoor.mode=$way" --set "frontdoor.address=$address" --set "frontdoor.port=$PORT" \
        --set frontdoor.interface=eth0 --set "frontdoor.policy=${policy:-round_robin}" \
        --set "frontdoor.backends=[$BACKEND_LIST]"
      TARGET="$address" ;;
    *) echo "unknown way $way" >&2; exit 2 ;;
  esac
  PEER_PID="$BG_PID"
}
stop_peer() {  # and check that it left nothing behind in disp
  [[ -z "$PEER_PID" ]] && return 0
  bench_stop "$PEER_PID"
  PEER_PID=""
  local left
  left="$(nsx disp nft list ruleset 2>/dev/null | grep -c '^table' || true)"
  if ((left > 0)); then
    bench_log "warning: the peer left $left nftables table(s) in disp; flushing"
    nsx disp nft flush ruleset || true
  fi
  if nsx disp ip -4 addr show dev eth0 | grep -q "inet $VIP/"; then
    bench_log "warning: the peer left the cluster address on disp's eth0; removing it"
    nsx disp ip addr del "$VIP/32" dev eth0 2>/dev/null || nsx disp ip addr del "$VIP/24" dev eth0 2>/dev/null || true
  fi
  if nsx disp tc filter show dev eth0 ingress 2>/dev/null | grep -q .; then
    bench_log "warning: the peer left a tc filter on disp's eth0; removing the clsact qdisc"
    nsx disp tc qdisc del dev eth0 clsact 2>/dev/null || true
  fi
}
# Waits until the way answers /1k.bin, and (fresh connections) every back end has answered.
declare -A HEAD_BYTES
wait_peer() {  # way
  local i seen="" b got path="/1k.bin"
  [[ "$1" == lard-phase ]] && path="/z/0001.bin"
  for i in $(seq 150); do
    got="$(nsx client curl -s -o /dev/null -D - --max-time 1 "http://$TARGET:$PORT$path" 2>/dev/null | tr -d '\r' | awk -F': ' 'tolower($1)=="x-backend"{print $2}' || true)"
    if [[ -n "$got" && " $seen " != *" $got "* ]]; then seen="$seen $got"; fi
    # direct has one back end; on the trace's first URL content routing always picks one
    [[ ( "$1" == direct || "$1" == lard-phase ) && -n "$seen" ]] && break
    (($(wc -w <<<"$seen") == ${#BACKENDS[@]})) && break
    if [[ -z "$got" ]]; then
      if [[ -n "$PEER_PID" ]] && ! kill -0 "$PEER_PID" 2>/dev/null; then
        echo "$1: the peer exited; its log:" >&2; tail -20 "$TMP"/peer-*.log >&2 2>/dev/null || true; exit 1
      fi
      sleep 0.1
    fi
    if ((i == 150)); then
      echo "$1 at $TARGET:$PORT: not every back end answered within 150 tries (seen:${seen:- none}); its log:" >&2
      tail -20 "$TMP"/peer-*.log >&2 2>/dev/null || true
      exit 1
    fi
  done
}
check_sizes() {  # every size arrives whole; HEAD_BYTES[size] = header bytes of an answer
  local s want got
  for s in $SIZES 1k; do
    want="$(bytes_of "$s")"
    got="$(nsx client curl -s -o /dev/null --max-time 5 -w '%{http_code} %{size_download} %{size_header}' "http://$TARGET:$PORT/$s.bin" || true)"
    [[ "${got% *}" == "200 $want" ]] || { echo "$1: /$s.bin answered '${got% *}', want '200 $want'" >&2; exit 1; }
    HEAD_BYTES[$s]="${got##* }"
  done
}

# ---------------------------------------------------------------- measuring
to_ms() {  # "123.45us" | "1.23ms" | "1.02s" -> milliseconds
  awk -v v="$1" 'BEGIN{ if (v == "") print "—"; else if (v ~ /us$/) printf "%.2f", v/1000; else if (v ~ /ms$/) printf "%.2f", v+0; else if (v ~ /s$/) printf "%.2f", v*1000; else printf "%.2f", v/1000000 }'
}
cpu_ticks() {  # "busy softirq total" jiffies of cpuN
  awk -v c="cpu$1" '$1==c{print $2+$3+$4+$7+$8+$9, $8, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat
}
proc_ticks() {  # user + system jiffies of process $1 (all its threads); 0 if none
  [[ -n "$1" ]] && awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0
}
disp_tx() { nsx disp cat /sys/class/net/eth0/statistics/tx_bytes; }
# How this kernel accounts interrupt time decides how the CPU columns add up.
if zcat /proc/config.gz 2>/dev/null | grep -q '^CONFIG_IRQ_TIME_ACCOUNTING=y'; then
  ACCOUNTING_NOTE="This kernel accounts irq and softirq time precisely (CONFIG_IRQ_TIME_ACCOUNTING): a process's time excludes the softirqs that interrupted it."
else
  ACCOUNTING_NOTE="This kernel samples CPU time by tick (no CONFIG_IRQ_TIME_ACCOUNTING): softirq work that interrupts a process is counted in its time too, so peer process + softirq may exceed core 1's busy time; core 1 busy is the total."
fi
STAMP="$(date -u +%Y-%m-%d-%H%M)"
RESULT="$OUT_DIR/frontdoor_peers-$STAMP.md"
WRK_OUT="${RESULT%.md}-wrk.txt"
: >"$WRK_OUT"
declare -A RPS REQS P50 P99 ERRS C0 C1 US1 SI1 PUS TXB BEC NOISE HIT ORIG
# measure KEY TITLE WRK-ARGS...: a warm-up (WARMUP s, or $WARM s if set), then the measured run.
measure() {
  local key="$1" title="$2"; shift 2
  local warm="${WARM:-$WARMUP}" a0 a1 b0 b1 p0 p1 t0 t1 s0 s1 n
  if ((warm > 0)); then
    timeout $((warm + 30)) "${RUN[@]}" ip netns exec "${NS[client]}" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${warm}s" "$@" >/dev/null
  fi
  [[ -n "${BEFORE_MEASURE:-}" ]] && "$BEFORE_MEASURE" 0
  s0=($(be_status)); t0="$(disp_tx)"; p0="$(proc_ticks "$PEER_PID")"; a0=($(cpu_ticks 0)); a1=($(cpu_ticks 1))
  timeout $((BENCH_SECONDS + 30)) "${RUN[@]}" ip netns exec "${NS[client]}" taskset -c "$LOAD_CPU" \
    wrk -t1 -c"$CONNECTIONS" -d"${BENCH_SECONDS}s" --latency "$@" >"$TMP/wrk.txt"
  b0=($(cpu_ticks 0)); b1=($(cpu_ticks 1)); p1="$(proc_ticks "$PEER_PID")"; t1="$(disp_tx)"; s1=($(be_status))
  [[ -n "${BEFORE_MEASURE:-}" ]] && "$BEFORE_MEASURE" 1
  { echo "### $title: taskset -c $LOAD_CPU wrk -t1 -c$CONNECTIONS -d${BENCH_SECONDS}s --latency $*"; cat "$TMP/wrk.txt"; echo; } >>"$WRK_OUT"
  RPS[$key]=$(awk '/^Requests\/sec:/{printf "%.0f", $2}' "$TMP/wrk.txt")
  n=$(awk '/requests in/{print $1; exit}' "$TMP/wrk.txt")
  REQS[$key]="${n:-0}"
  P50[$key]=$(to_ms "$(awk '$1=="50%"{print $2}' "$TMP/wrk.txt")")
  P99[$key]=$(to_ms "$(awk '$1=="99%"{print $2}' "$TMP/wrk.txt")")
  ERRS[$key]=$(awk '/Non-2xx|Socket errors/{sub(/^ +/, ""); printf "%s ", $0}' "$TMP/wrk.txt")
  C0[$key]=$(awk -v b=$((b0[0] - a0[0])) -v t=$((b0[2] - a0[2])) 'BEGIN{printf "%.0f", t ? 100*b/t : 0}')
  C1[$key]=$(awk -v b=$((b1[0] - a1[0])) -v t=$((b1[2] - a1[2])) 'BEGIN{printf "%.0f", t ? 100*b/t : 0}')
  per() { awk -v v="$1" -v n="${REQS[$key]}" -v hz="$HZ" -v unit="$2" 'BEGIN{ if (n <= 0) print "—"; else if (unit == "us") printf "%.1f", 1e6 * v / hz / n; else printf "%.2f", v / n }'; }
  US1[$key]=$(per $((b1[0] - a1[0])) us)
  SI1[$key]=$(per $((b1[1] - a1[1])) us)
  PUS[$key]=$( [[ -n "$PEER_PID" ]] && per $((p1 - p0)) us || echo "—")
  TXB[$key]=$(awk -v v=$((t1 - t0)) -v n="${REQS[$key]}" 'BEGIN{ if (n <= 0) print "—"; else printf "%.0f", v / n }')
  BEC[$key]=$(per $((s1[0] - s0[0])) n)
  bench_log "  $title: ${RPS[$key]} req/s, p99 ${P99[$key]} ms, core 1 ${C1[$key]}% busy (${US1[$key]} µs/answer, softirq ${SI1[$key]}), core 0 ${C0[$key]}%${ERRS[$key]:+; ${ERRS[$key]}}"
}

# ---------------------------------------------------------------- figures 1-4
PEER_NOTE=""
if has_fig 1 || has_fig 2 || has_fig 3 || has_fig 4; then
  start_backends plain
  for way in $WAYS; do
    bench_wait_quiet
    NOISE[$way]="${BENCH_NOISE#other CPU load before the run: }"
    bench_log "$way: starting (${NOISE[$way]} other load)"
    start_peer "$way"
    wait_peer "$way"
    check_sizes "$way"
    if has_fig 1; then
      measure "close,$way" "$way, 1k, Connection: close" -H 'Connection: close' "http://$TARGET:$PORT/1k.bin"
    fi
    if has_fig 2 || has_fig 3 || has_fig 4; then
      for s in $SIZES; do measure "$s,$way" "$way, $s, keep-alive" "http://$TARGET:$PORT/$s.bin"; done
    fi
    stop_peer
  done
fi

# ---------------------------------------------------------------- figure 5
LARD_NOTE=""
cache_counts() {  # "answers hits" in the back ends' cache-status logs so far
  cat "$TMP"/be*/cache_status.log 2>/dev/null | awk '{n++} $1=="HIT"{h++} END{printf "%d %d\n", n, h}'
}
declare -A LC0 HELD
lard_snapshot() {  # 0: before the measured run, 1: after (the logs flush every 300 ms)
  sleep 1
  LC0[$1]="$(cache_counts)"
}
if has_fig 5; then
  for pol in $LARD_POLICIES; do
    key="lard,$pol"
    start_backends cache
    bench_wait_quiet
    NOISE[$key]="${BENCH_NOISE#other CPU load before the run: }"
    case "$pol" in
      haproxy-*) start_peer haproxy-http "${pol#haproxy-}" ;;
      *) start_peer l7 "$pol" ;;
    esac
    bench_log "l7 content routing, $pol: caches empty; ${LARD_WARMUP}s of the trace to fill them, then ${BENCH_SECONDS}s measured"
    wait_peer lard-phase
    WARM="$LARD_WARMUP" BEFORE_MEASURE=lard_snapshot ZIPF_N="$LARD_OBJECTS" ZIPF_S="$LARD_ALPHA" ZIPF_SEED=7 \
      measure "$key" "trace, $pol" -s "$TMP/zipf.lua" "http://$TARGET:$PORT/"
    c0=(${LC0[0]}); c1=(${LC0[1]})
    n=$((c1[0] - c0[0])); h=$((c1[1] - c0[1]))
    HIT[$key]=$(awk -v h="$h" -v n="$n" 'BEGIN{ if (n > 0) printf "%.1f", 100*h/n; else print "—" }')
    ORIG[$key]=$((n - h))
    HELD[$key]="$(for b in "${BACKENDS[@]}"; do find "$TMP/$b/cache" -type f | wc -l; done | paste -sd / -)"
    bench_log "  $pol: hit rate ${HIT[$key]}% ($h of $n answers), origin fetches $((n - h)), objects cached at the end ${HELD[$key]}"
    stop_peer
  done
fi

# ---------------------------------------------------------------- report
fmt() {  # 12345 -> 12,345
  awk -v n="$1" 'BEGIN{ if (n == "" || n == "—") { print "—"; exit } s = sprintf("%.0f", n); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (a != "" && b > 0) printf "%.2f×", a/b; else print "—" }'; }
mbps() {  # size way -> Mb/s of answers (head + body) through the way
  awk -v r="${RPS[$1,$2]:-0}" -v b="$(bytes_of "$1")" -v h="${HEAD_BYTES[$1]:-0}" 'BEGIN{ printf "%.0f", r * (b + h) * 8 / 1e6 }'
}
peer_of() {  # the haproxy way a way is compared with
  case "$1" in l7 | haproxy-http) echo haproxy-http ;; *) echo haproxy-tcp ;; esac
}
label() {
  case "$1" in
    haproxy-tcp) echo "HAProxy mode tcp" ;;
    haproxy-http) echo "HAProxy mode http" ;;
    relay) echo "tacc relay (splice)" ;;
    l7) echo "tacc l7" ;;
    nat) echo "tacc nat (L4/3, nftables)" ;;
    dsr) echo "tacc dsr (L4/2, tc-BPF)" ;;
    direct) echo "none: wrk → be1 alone" ;;
    lard | round_robin | bounded_hash) echo "tacc l7, policy $1" ;;
    haproxy-roundrobin) echo "HAProxy http, balance roundrobin" ;;
    haproxy-uri) echo "HAProxy http, balance uri" ;;
  esac
}
cost_cols() {  # key: the per-answer columns
  echo "${US1[$1]} | ${SI1[$1]} | ${PUS[$1]} | $(fmt "${TXB[$1]}") | ${BEC[$1]} | ${C0[$1]}% | ${C1[$1]}% | $(bound "$1") | ${ERRS[$1]:-none} |"
}
bound() {  # which core limited the point: the dispatcher's (1) or the load's and back ends' (0)
  local c0="${C0[$1]:-0}" c1="${C1[$1]:-0}" noise="${NOISE[$1]:-${NOISE[${1#*,}]:-0%}}" b="—"
  if ((c1 >= 90)); then b="core 1"; elif ((c0 >= 95)); then b="core 0"; fi
  ((${noise%\%} >= 10)) && b="$b?"  # other work was there too: busy is not all ours
  echo "$b"
}
COST_HEAD="core 1 µs/answer | of it softirq µs | peer process µs/answer | disp eth0 tx B/answer | back-end conns/answer | core 0 busy | core 1 busy | bound by | errors |"
COST_SEP="---|---|---|---|---|---|---|---|---|"
{
  echo "# Front door: tacc dispatch against HAProxy (bench/frontdoor_peers.sh)"
  echo
  echo "- **Run:** $START_UTC, commit $COMMIT ($DIRTY uncommitted paths under src/); tacc $TACC_WANTED, built $TACC_BUILT."
  echo "- **Machine:** $MACHINE. Load average at start: $LOADAVG_START."
  echo "- **Hosts:** network namespaces on one Linux bridge (veth pairs): client, disp, be1..be3 (10.0.0.10..14), cluster address $VIP for nat and dsr."
  echo "- **Cores:** core $LOAD_CPU: wrk (\`-t1 -c$CONNECTIONS\`, ${BENCH_SECONDS} s per point after ${WARMUP} s of warm-up) and the three nginx back ends"
  echo "  (worker_processes 1 each, keep-alive, sendfile, access log off); core $DISP_CPU: the peer under test alone (taskset), one at a time."
  echo "  RPS puts disp's receive processing on core $DISP_CPU and every other interface's (client, back ends, bridge ports) on core $LOAD_CPU,"
  echo "  so core $DISP_CPU's busy time is the dispatcher's whole cost, kernel included (softirq: nftables/conntrack for nat, the tc-BPF program for dsr)."
  echo "- **Peers:** $(haproxy -v | head -1 | awk '{print "HAProxy", $3}') (nbthread 1; tcp: recv/send, no splice; http: option forwardfor, keep-alive and"
  echo "  connection reuse to the back ends, its defaults) and \`tacc dispatch\` (one event loop; static back ends, frontdoor.from_beacons=false,"
  echo "  log.level=warn): relay splices, l7 parses every request, keeps back-end connections and adds X-Forwarded-For; nat and dsr have no"
  echo "  user-space process in the data path and choose by a Maglev hash of the connection (policy round_robin, stateless failover);"
  echo "  relay, l7 and HAProxy choose round robin. relay, l7 and HAProxy listen on disp's own address ${IP[disp]}:$PORT."
  echo "  $(nginx -v 2>&1 | sed 's/.*: //'), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}'). Scheduling: BENCH_SCHED=$BENCH_SCHED."
  echo "- **Noise:** a shared 2-core machine; other load before each way: $(for w in $WAYS lard,${LARD_POLICIES// / lard,}; do [[ -n "${NOISE[$w]:-}" ]] && echo -n "${w#lard,} ${NOISE[$w]}, "; done | sed 's/, $//')."
  echo "  Ratios are of the same run; absolute figures move with the machine."
  if has_fig 1; then
    echo
    echo "## 1. New connections/s (1 KB answers, \`Connection: close\`: a new TCP connection per answer) — L4/2's figure of merit"
    echo
    echo "| way | conn/s | ÷ HAProxy tcp | ÷ HAProxy http | p99 ms | $COST_HEAD"
    echo "|---|---|---|---|---|$COST_SEP"
    for w in $WAYS; do
      k="close,$w"
      echo "| $(label "$w") | $(fmt "${RPS[$k]:-}") | $(ratio "${RPS[$k]:-}" "${RPS[close,haproxy-tcp]:-0}") | $(ratio "${RPS[$k]:-}" "${RPS[close,haproxy-http]:-0}") | ${P99[$k]:-—} | $(cost_cols "$k")"
    done
  fi
  if has_fig 2 && [[ " $SIZES " == *" 100k "* ]]; then
    echo
    echo "## 2. Mb/s through the dispatcher at 100 KB, keep-alive — L4/3's figure of merit"
    echo
    echo "Mb/s: answers (head ${HEAD_BYTES[100k]:-?} B + body 102,400 B) × 8 per second as wrk received them. With dsr the answers do not pass the dispatcher (see disp eth0 tx B/answer)."
    echo
    echo "| way | Mb/s | ÷ HAProxy tcp | ÷ HAProxy http | req/s | p99 ms | $COST_HEAD"
    echo "|---|---|---|---|---|---|$COST_SEP"
    for w in $WAYS; do
      k="100k,$w"
      echo "| $(label "$w") | $(fmt "$(mbps 100k "$w")") | $(ratio "$(mbps 100k "$w")" "$(mbps 100k haproxy-tcp)") | $(ratio "$(mbps 100k "$w")" "$(mbps 100k haproxy-http)") | $(fmt "${RPS[$k]:-}") | ${P99[$k]:-—} | $(cost_cols "$k")"
    done
  fi
  if has_fig 3; then
    s3="${SIZES%% *}"
    echo
    echo "## 3. L7: requests/s and p99, $s3 answers, keep-alive"
    echo
    echo "| way | req/s | ÷ HAProxy http | p50 ms | p99 ms | p99 ÷ HAProxy http's | $COST_HEAD"
    echo "|---|---|---|---|---|---|$COST_SEP"
    for w in haproxy-http l7; do
      [[ " $WAYS " == *" $w "* ]] || continue
      k="$s3,$w"
      echo "| $(label "$w") | $(fmt "${RPS[$k]:-}") | $(ratio "${RPS[$k]:-}" "${RPS[$s3,haproxy-http]:-0}") | ${P50[$k]:-—} | ${P99[$k]:-—} | $(ratio "${P99[$k]:-}" "${P99[$s3,haproxy-http]:-0}") | $(cost_cols "$k")"
    done
  fi
  if has_fig 4; then
    echo
    echo "## 4. Throughput against response size, keep-alive (req/s; ratio to HAProxy in the same mode: L4 ways to tcp, l7 to http)"
    echo
    echo "The survey's IBM Web Accelerator: 3,200 req/s at 10 KB, about 500 at 100 KB."
    echo
    echo -n "| way |"; for s in $SIZES; do echo -n " $s req/s | ÷ HAProxy | $s Mb/s |"; done; echo
    echo -n "|---|"; for s in $SIZES; do echo -n "---|---|---|"; done; echo
    for w in $WAYS; do
      p="$(peer_of "$w")"
      echo -n "| $(label "$w") |"
      for s in $SIZES; do echo -n " $(fmt "${RPS[$s,$w]:-}") | $(ratio "${RPS[$s,$w]:-}" "${RPS[$s,$p]:-0}") | $(fmt "$(mbps "$s" "$w")") |"; done
      echo
    done
    echo
    echo "Every keep-alive point in full:"
    echo
    echo "| size | way | req/s | p50 ms | p99 ms | $COST_HEAD"
    echo "|---|---|---|---|---|$COST_SEP"
    for s in $SIZES; do
      for w in $WAYS; do
        k="$s,$w"
        echo "| $s | $(label "$w") | $(fmt "${RPS[$k]:-}") | ${P50[$k]:-—} | ${P99[$k]:-—} | $(cost_cols "$k")"
      done
    done
  fi
  if has_fig 5; then
    echo
    echo "## 5. L7 content routing: cache hit rate and throughput on a Zipf trace"
    echo
    echo "Back ends: nginx proxy_cache (tmpfs; a keys zone for about $LARD_CACHE_OBJECTS objects, least recently used evicted) in front of an origin server block in the same"
    echo "nginx (one worker, core $LOAD_CPU). Trace: $LARD_OBJECTS URLs of $LARD_SIZE, Zipf exponent $LARD_ALPHA, one seeded sequence (wrk Lua),"
    echo "keep-alive, $CONNECTIONS connections; caches emptied before each row, ${LARD_WARMUP} s of the trace to fill them, then ${BENCH_SECONDS} s"
    echo "measured. Hit rate: HIT among the measured answers in the back ends' \`\$upstream_cache_status\` logs; the rest went to the origin."
    echo
    echo "| policy | hit rate | origin fetches | objects cached at the end (be1/be2/be3) | req/s | ÷ tacc round_robin | ÷ HAProxy roundrobin | p99 ms | $COST_HEAD"
    echo "|---|---|---|---|---|---|---|---|$COST_SEP"
    for pol in $LARD_POLICIES; do
      k="lard,$pol"
      echo "| $(label "$pol") | ${HIT[$k]:-—}% | $(fmt "${ORIG[$k]:-}") | ${HELD[$k]:-—} | $(fmt "${RPS[$k]:-}") | $(ratio "${RPS[$k]:-}" "${RPS[lard,round_robin]:-0}") | $(ratio "${RPS[$k]:-}" "${RPS[lard,haproxy-roundrobin]:-0}") | ${P99[$k]:-—} | $(cost_cols "$k")"
    done
  fi
  echo
  echo "Columns: core 1 µs/answer is core 1's busy time (user, system, irq, softirq; /proc/stat) over the measured run per answer (per"
  echo "connection in figure 1): the dispatcher's whole cost, and anything else the machine ran there. Peer process µs/answer is the"
  echo "haproxy or tacc process's own CPU time (nat and dsr: ~0, the kernel does the work, in softirq). disp eth0 tx B/answer: bytes the"
  echo "dispatcher host sent per answer (dsr: only the forwarded requests). Back-end conns/answer: connections the back ends accepted per"
  echo "answer (below 1 with Connection: close when the peer keeps back-end connections). Bound by: core 1 when it was at least 90% busy"
  echo "(the dispatcher was the limit), core 0 when core 0 was at least 95% busy and core 1 was not (wrk, the back ends and the bridge"
  echo "were the limit: the way could do more than measured, and its ratio is a lower bound); a '?' when other work used the machine"
  echo "(10% or more before that way), so that busy time was not all the benchmark's. Errors: wrk's socket errors and non-2xx answers."
  echo "$ACCOUNTING_NOTE"
  echo
  echo "wrk outputs: $(basename "$WRK_OUT")."
} >"$RESULT"
cat "$RESULT"
bench_log "written $RESULT and $WRK_OUT"
