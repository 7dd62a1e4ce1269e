#!/usr/bin/env bash
# Experiment 7 of issue 10: end to end over slow links (SOSP '97 §1.1: "distillation ...
# of inline Web images results in an end-to-end latency reduction by a factor of 3-5";
# Fox et al., "Adapting to Network and Client Variation Using Infrastructural Proxies",
# Figure 2: end-to-end latency of images with and without distillation over a 14.4K
# modem, each bar split into distillation and transmission time).
#
# What it runs (all on this machine; nothing leaves it):
#   link     a client network namespace joined to the root namespace by a point-to-point
#            link that bench/experiments/slow_links.py `wire` emulates: two TUN devices and
#            one process between them that gives every packet, each way, a serialization
#            time at the link's rate (FIFO) and then a fixed one-way delay (RTT/2), with no
#            loss (1 MiB queue each way). Why not `tc netem`: this kernel has no netem qdisc
#            (only tbf, htb, pfifo, clsact), so tc cannot add delay; the TUN wire does rate
#            and delay in one place and works on any kernel with /dev/net/tun.
#            Addresses: $SUBNET.1 (root side: origin and TranSend) and $SUBNET.2 (client).
#            Profiles (paper's Table 2): LAN 100 Mbit/s RTT 1 ms, ISDN 128 kbit/s RTT 20 ms,
#            CDPD-like 19.2 kbit/s RTT 500 ms, 14.4K modem RTT 350 ms.
#   origin   slow_links.py `origin` (HTTP/1.1, keep-alive) on $SUBNET.1, serving what
#            slow_links.py `content` makes: three pictures like Figure 2's (a cartoon GIF,
#            a photograph as JPEG, a computer-rendered GIF; the photo from Debian's
#            python3-skimage, fetched with `apt-get download` into bench/corpus/.debs) and a
#            page with the paper's typical inline images (the four ~10 KB JPEGs of
#            tests/data/photos, a banner GIF, two icons under 1 KB).
#   TranSend `tacc up` (bench/experiments/lib.sh exp_up) pinned to core 1, as it runs by
#            default, plus: frontend.host=$SUBNET.1, proxy.client_networks and
#            proxy.allowed_destinations for the link's addresses, and
#            profiles.cache_ttl_ms=0 (each front-end thread caches profiles for 30 s, so a
#            preference saved through one thread is not seen by the others until then; see
#            docs/experiments/slow_links.md). The origin, the wire and the client run on core 0.
#   levels   set as the client's TranSend preferences (POST /_tacc/prefs through the
#            proxy; the profile goes with the client's address): direct (no proxy), off
#            (TranSend with distill=off), q75 (half size each way, quality 75), default
#            (TranSend's default: half size, quality 25), w160 (at most 160 px wide, q25),
#            pda (at most 80 px, quality 10, gray). Every fetch has a URL of its own (a
#            query), so each is a cache miss: an origin fetch and a distillation, as in
#            the paper.
#   phases   1. distillation time, on the LAN: DISTILL_REPS rounds of every object at every
#               level; distillation time = median time to first byte at the level minus
#               median with distillation off (same path, same sizes of request).
#            2. every link profile: REPS rounds (the profile's 4th field) of each picture at
#               every level (one curl per fetch, fresh connection: time_total), and the page
#               as a browser loads it (the HTML, then its 7 images over 4 parallel
#               connections; wall time) directly, at TranSend's default and at pda.
#               Each bar: distillation (phase 1) + transmission (the rest of the end-to-end time).
#   output   docs/experiments/slow_links_raw.tsv (every fetch), _distill.tsv, _summary.tsv,
#            _speedup.tsv, _bars.dat, _content.tsv, and slow_links_modem.png (Figure 2 of
#            the paper, redone), slow_links_links.png (the four links), slow_links_speedup.png.
#            The write-up is docs/experiments/slow_links.md (by hand, from these).
#
# Takes /tmp/tacc-bench.lock (exp_lock) for the whole measurement. About 10 minutes with
# the defaults (589 s on 2026-12-02), plus any wait for the lock; every fetch is bounded by
# curl --max-time and the measurement by MAX_SECONDS.
# Everything it starts (wire, origin, tacc) and the namespace are removed on exit.
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/experiments/slow_links.sh [--help | --replot]

End-to-end latency of pictures and a page over emulated slow links (14.4K modem, CDPD-like
19.2K, ISDN 128K, LAN), directly and through TranSend (`tacc up`) at five distillation
levels; each bar split into distillation and transmission time. Needs root (network
namespace, TUN devices). Writes docs/experiments/slow_links_*.{tsv,dat,png}. ~10 minutes.
--replot: no measurement; the tables and charts again from docs/experiments/slow_links_raw.tsv.

Environment (defaults):
  PROFILES="lan:100000000:1:5 isdn:128000:20:3 cdpd:19200:500:1 modem:14400:350:2"
                       links, each NAME:RATE_BIT_PER_S:RTT_MS:ROUNDS
  DISTILL_REPS=9       rounds of phase 1 (distillation time on the LAN)
  SUBNET=10.77.0       the link's /24 (.1 root side, .2 client); must be unused
  MAX_SECONDS=1500     the whole run is stopped after this long
  CURL_MAX=240         seconds any one fetch may take
  QUICK=1              a short check: PROFILES="lan:100000000:1:1 isdn:128000:20:1", DISTILL_REPS=2
  BUILD=build/bench    where tacc is built (BENCH_SKIP_BUILD=1: use it as it is)
  EXP_DIR=docs/experiments   where results go
  BENCH_SCHED=auto     see bench/lib.sh
EOF
}
REPLOT=0
case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  --replot) REPLOT=1 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac
if [[ $# -gt 1 ]]; then usage >&2; exit 2; fi
if [[ "$REPLOT" == 0 && "$(id -u)" != 0 ]]; then echo "slow_links.sh needs root (network namespace, TUN devices)" >&2; exit 1; fi

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PY=/usr/bin/python3  # Debian's, where python3-pil and python3-numpy install
HELPER="$REPO/bench/experiments/slow_links.py"
PROFILES="${PROFILES:-lan:100000000:1:5 isdn:128000:20:3 cdpd:19200:500:1 modem:14400:350:2}"
DISTILL_REPS="${DISTILL_REPS:-9}"
if [[ "${QUICK:-0}" == 1 ]]; then
  PROFILES="lan:100000000:1:1 isdn:128000:20:1"
  DISTILL_REPS=2
fi
SUBNET="${SUBNET:-10.77.0}"
MAX_SECONDS="${MAX_SECONDS:-1500}"
CURL_MAX="${CURL_MAX:-240}"
OUT="$EXP_DIR/slow_links"
RAW="${OUT}_raw.tsv"
WORK="$REPO/bench/out/slow_links"
WWW="$WORK/www"
DEBS="$REPO/bench/corpus/.debs"
NS="tacc-sl-$$"
DEV_R="tslr$$"
DEV_N="tsln$$"
ROOT_IP="$SUBNET.1"
CLIENT_IP="$SUBNET.2"
mkdir -p "$WORK" "$DEBS"

LEVELS="direct off q75 default w160 pda"
IMAGES="cartoon.gif portrait.jpg rendered.gif"
PAGE_IMAGES="p-icon0.gif p-banner.gif p-icon1.gif p-astronaut.jpg p-chelsea.jpg p-coffee.jpg p-hubble.jpg"  # each once, as a browser fetches them
DISTILL_OBJECTS="cartoon.gif portrait.jpg rendered.gif page.html p-banner.gif p-astronaut.jpg p-chelsea.jpg p-coffee.jpg p-hubble.jpg"
level_prefs() {
  case "$1" in
    off) echo "distill=off" ;;
    q75) echo "quality=75" ;;
    default) echo "" ;;
    w160) echo "max_width=160" ;;
    pda) echo "quality=10&max_width=80&gray=1" ;;
    *) echo "unknown level $1" >&2; return 1 ;;
  esac
}

# ------------------------------------------------------------------------- clean-up
WATCHDOG_PID=""
sl_cleanup() {
  local rc=$?
  [[ -n "$WATCHDOG_PID" ]] && kill "$WATCHDOG_PID" 2>/dev/null || true
  bench_cleanup  # tacc up, origin, wire (its TUN devices go with it)
  ip netns del "$NS" 2>/dev/null || true
  ip link del "$DEV_R" 2>/dev/null || true
  return $rc
}
trap sl_cleanup EXIT

measure() {
  # ---------------------------------------------------------------------------- build
  bench_log "slow_links: building tacc (BUILD=$BUILD)"
  bench_build
  if ! $PY -c 'import PIL, numpy' 2>/dev/null; then
    bench_log "installing python3-pil python3-numpy"
    apt-get install -y -q python3-pil python3-numpy >/dev/null
  fi

  # ---------------------------------------------------------------------------- content
  SK="$DEBS/skimage/usr/lib/python3/dist-packages/skimage/data"
  if [[ ! -f "$SK/astronaut.png" ]]; then
    bench_log "fetching python3-skimage (its sample photos) with apt-get download into $DEBS"
    if ! ls "$DEBS"/python3-skimage_*.deb >/dev/null 2>&1; then
      (cd "$DEBS" && timeout 300 apt-get download python3-skimage >/dev/null 2>&1) ||
        { apt-get update -q >/dev/null && (cd "$DEBS" && timeout 300 apt-get download python3-skimage >/dev/null 2>&1); }
    fi
    mkdir -p "$DEBS/skimage"
    dpkg-deb --fsys-tarfile "$(ls "$DEBS"/python3-skimage_*.deb | tail -1)" |
      tar -x -C "$DEBS/skimage" --wildcards './usr/lib/python3/dist-packages/skimage/data/astronaut.png'
  fi
  rm -rf "$WWW"
  bench_log "making the origin's content in $WWW"
  $PY "$HELPER" content --out "$WWW" --skimage "$SK" --photos "$REPO/tests/data/photos" >&2
  {
    echo "# the origin's files (bench/experiments/slow_links.py content; $RUN_DATE)"
    cat "$WWW/manifest.tsv"
  } >"${OUT}_content.tsv"

  # ------------------------------------------------------------------------ the link
  exp_lock
  LOCK_WAIT=$((SECONDS - START))
  bench_log "slow_links: lock taken after ${LOCK_WAIT} s"
  (
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep "$MAX_SECONDS" &
    sp=$!
    wait "$sp"
    bench_log "slow_links: MAX_SECONDS=$MAX_SECONDS reached, stopping"
    kill -TERM $$
  ) &
  WATCHDOG_PID=$!
  if ip -o addr show | grep -q " inet $SUBNET\."; then
    echo "addresses of $SUBNET.0/24 are already in use here; set SUBNET" >&2
    exit 1
  fi
  ip netns add "$NS"
  ip -n "$NS" link set lo up
  PROFILE_FILE="$WORK/profile"
  first="${PROFILES%% *}"
  IFS=: read -r pname prate prtt _ <<<"$first"
  echo "$pname $prate $(awk -v r="$prtt" 'BEGIN{print r/2}')" >"$PROFILE_FILE"
  bench_bg 0 "$WORK/wire.log" $PY "$HELPER" wire --ns "$NS" --root-dev "$DEV_R" --ns-dev "$DEV_N" --profile "$PROFILE_FILE"
  WIRE_PID="$BG_PID"
  for i in $(seq 100); do grep -q '^ready' "$WORK/wire.log" 2>/dev/null && break; sleep 0.1; done
  grep -q '^ready' "$WORK/wire.log" || { cat "$WORK/wire.log" >&2; exit 1; }
  # IPv4 only: no IPv6 router solicitations or MLD reports on the slow link.
  sysctl -q -w "net.ipv6.conf.$DEV_R.disable_ipv6=1" || true
  ip netns exec "$NS" sysctl -q -w "net.ipv6.conf.$DEV_N.disable_ipv6=1" || true
  ip addr add "$ROOT_IP" peer "$CLIENT_IP" dev "$DEV_R"
  ip link set "$DEV_R" mtu 1500 up
  ip -n "$NS" addr add "$CLIENT_IP" peer "$ROOT_IP" dev "$DEV_N"
  ip -n "$NS" link set "$DEV_N" mtu 1500 up

  # set_profile NAME RATE RTT_MS: the wire re-reads its profile (between fetches: the link is idle).
  set_profile() {
    local before
    before="$(grep -c applied "$WORK/wire.log" || true)"
    echo "$1 $2 $(awk -v r="$3" 'BEGIN{print r/2}')" >"$PROFILE_FILE"
    kill -USR1 "$WIRE_PID"
    for _ in $(seq 50); do
      (($(grep -c applied "$WORK/wire.log") > before)) && return 0
      sleep 0.1
    done
    echo "the wire did not take profile $1" >&2
    return 1
  }

  # ------------------------------------------------------------------ origin and TranSend
  OPORT="$(bench_free_port)"
  bench_bg 0 "$WORK/origin.log" $PY "$HELPER" origin --bind "$ROOT_IP" --port "$OPORT" --dir "$WWW"
  ORIGIN="http://$ROOT_IP:$OPORT"
  bench_wait_http "$ORIGIN/page.html" 20
  bench_log "slow_links: starting TranSend (tacc up) on core 1"
  # exp_up picks its ports as free ones of the ephemeral range, so a worker of the new
  # cluster may take one of them first (seen once: the admin port); then try again.
  for attempt in 1 2 3; do
    if exp_up 1 "$WORK/up.log" "frontend.host=$ROOT_IP" \
      "proxy.client_networks=[\"127.0.0.0/8\", \"$SUBNET.0/24\"]" \
      "proxy.allowed_destinations=[\"$ROOT_IP/32\"]" \
      "profiles.cache_ttl_ms=0"; then
      break
    fi
    bench_stop "$UP_PID"
    ((attempt < 3)) || { tail -n 20 "$WORK/up.log" >&2; exit 1; }
    bench_log "tacc up did not come up (see $WORK/up.log); again"
  done
  PROXY="http://$ROOT_IP:$FE_PORT"

  IN_NS=(ip netns exec "$NS" taskset -c 0)
  N=0  # every fetch gets a URL of its own: no cache hits
  {
    echo "# every fetch of bench/experiments/slow_links.sh, $RUN_DATE; $MACHINE"
    echo "# ttfb_s: for a page, the time of its HTML; total_s: for a page, HTML then images (4 connections)"
    printf '#phase\tlink\trep\tobject\tlevel\tcode\tbytes\tttfb_s\ttotal_s\tchain\tapprox\n'
  } >"$RAW"

  set_level() {
    local lv="$1" code
    [[ "$lv" == direct ]] && return 0
    code="$("${IN_NS[@]}" curl -s -o /dev/null -w '%{http_code}' --max-time "$CURL_MAX" -x "$PROXY" \
      -d "$(level_prefs "$lv")" "$ORIGIN/_tacc/prefs")"
    [[ "$code" == 200 ]] || { echo "setting preferences for level $lv: HTTP $code" >&2; return 1; }
  }

  # fetch PHASE LINK REP OBJECT LEVEL: one picture (one curl, a fresh connection).
  fetch() {
    local phase="$1" link="$2" rep="$3" obj="$4" lv="$5" px=() res
    [[ "$lv" != direct ]] && px=(-x "$PROXY")
    N=$((N + 1))
    res="$("${IN_NS[@]}" curl -s -o /dev/null --max-time "$CURL_MAX" "${px[@]}" \
      -w '%{http_code}\t%{size_download}\t%{time_starttransfer}\t%{time_total}\t%header{x-tacc-chain}\t%header{x-tacc-approximate}' \
      "$ORIGIN/$obj?r=$N" || true)"
    IFS=$'\t' read -r code bytes ttfb total chain approx <<<"$res"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$phase" "$link" "$rep" "$obj" "$lv" "${code:-000}" \
      "${bytes:-0}" "${ttfb:-0}" "${total:-0}" "${chain:--}" "${approx:--}" >>"$RAW"
  }

  # fetch_page LINK REP LEVEL: the HTML, then its images over 4 parallel connections (as a
  # browser of the time: Netscape opened 4); wall time of the whole.
  fetch_page() {
    local link="$1" rep="$2" lv="$3" proxy="" urls=() img res
    [[ "$lv" != direct ]] && proxy="$PROXY"
    N=$((N + 1))
    for img in $PAGE_IMAGES; do urls+=("$ORIGIN/$img?r=$N"); done
    res="$("${IN_NS[@]}" bash -c '
      px="$1"; max="$2"; page="$3"; shift 3
      args=(); for u in "$@"; do args+=(-o /dev/null "$u"); done
      t0=$(date +%s%N)
      h=$(curl -s -o /dev/null --max-time "$max" ${px:+-x "$px"} -w "%{http_code} %{size_download} %{time_total}" "$page")
      t1=$(date +%s%N)
      i=$(curl -s --max-time "$max" --parallel --parallel-max 4 ${px:+-x "$px"} -w "%{http_code} %{size_download}\n" "${args[@]}" 2>/dev/null)
      t2=$(date +%s%N)
      set -- $h
      code=$1; bytes=$2
      while read -r c b; do [[ "$c" == 200 ]] || code=$c; bytes=$((bytes + b)); done <<<"$i"
      printf "%s\t%s\t%s\t%s\n" "$code" "$bytes" "$(awk -v a=$t0 -v b=$t1 "BEGIN{printf \"%.6f\", (b-a)/1e9}")" \
        "$(awk -v a=$t0 -v b=$t2 "BEGIN{printf \"%.6f\", (b-a)/1e9}")"
    ' _ "$proxy" "$CURL_MAX" "$ORIGIN/page.html?r=$N" "${urls[@]}" || true)"
    IFS=$'\t' read -r code bytes ttfb total <<<"$res"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' links "$link" "$rep" page "$lv" "${code:-000}" \
      "${bytes:-0}" "${ttfb:-0}" "${total:-0}" - - >>"$RAW"
  }

  # Warm-up: every worker class once (min_workers are up, but the first task of each warms
  # its process), and the link.
  set_level default
  for obj in $DISTILL_OBJECTS; do fetch warmup lan 0 "$obj" default; done
  set_level off
  fetch warmup lan 0 portrait.jpg off

  # ------------------------------------------------------------------ phase 1: distillation
  IFS=: read -r lan_name lan_rate lan_rtt _ <<<"${PROFILES%% *}"
  set_profile "$lan_name" "$lan_rate" "$lan_rtt"
  bench_log "phase 1: distillation time on $lan_name, $DISTILL_REPS rounds of 9 objects x 5 levels"
  for rep in $(seq "$DISTILL_REPS"); do
    for lv in off q75 default w160 pda; do
      set_level "$lv"
      for obj in $DISTILL_OBJECTS; do fetch distill "$lan_name" "$rep" "$obj" "$lv"; done
    done
  done

  # ------------------------------------------------------------------ phase 2: the links
  for prof in $PROFILES; do
    IFS=: read -r name rate rtt reps <<<"$prof"
    set_profile "$name" "$rate" "$rtt"
    ping_rtt="$("${IN_NS[@]}" ping -q -c 3 -i 0.5 "$ROOT_IP" | awk -F/ '/^rtt/{print $5}')"
    bench_log "phase 2: $name ($rate bit/s, RTT ${rtt} ms; ping of 84 bytes: ${ping_rtt} ms), $reps rounds ($((SECONDS - START - LOCK_WAIT)) s so far)"
    echo "# link $name: rate $rate bit/s, rtt $rtt ms, rounds $reps, ping (84-byte packets) avg $ping_rtt ms" >>"$RAW"
    for rep in $(seq "$reps"); do
      for lv in $LEVELS; do
        set_level "$lv"
        for obj in $IMAGES; do fetch links "$name" "$rep" "$obj" "$lv"; done
        case "$lv" in direct | default | pda) fetch_page "$name" "$rep" "$lv" ;; esac
      done
      bench_log "  $name round $rep done ($((SECONDS - START - LOCK_WAIT)) s so far)"
    done
    # The same profile again: the wire reports this link's packets, drops and TCP
    # retransmissions (a repeated data segment), which go into the raw file.
    set_profile "$name" "$rate" "$rtt"
    grep "^  $name " "$WORK/wire.log" | tail -n 2 | sed 's/^  /# wire: /' >>"$RAW"
  done

}

START=$SECONDS
LOCK_WAIT=0
if [[ "$REPLOT" == 1 ]]; then
  [[ -f "${OUT}_raw.tsv" ]] || { echo "--replot: no ${OUT}_raw.tsv" >&2; exit 1; }
  bench_log "slow_links: --replot: analysis and charts of ${OUT}_raw.tsv only"
else
  measure
fi

# ------------------------------------------------------------------ analysis and charts
bench_log "analysis"
$PY "$HELPER" analyze --raw "$RAW" --out "$OUT" | tee "$WORK/analysis.txt" >&2

nlinks=$(grep -c '^# index' "${OUT}_bars.dat")
mapfile -t links < <(sed -n 's/^# index [0-9]*: //p' "${OUT}_bars.dat")
declare -A TITLE=([lan]="LAN (100 Mbit/s, RTT 1 ms)" [isdn]="ISDN (128 kbit/s, RTT 20 ms)"
  [cdpd]="CDPD-like (19.2 kbit/s, RTT 500 ms)" [modem]="14.4K modem (RTT 350 ms)")
plot_link() {  # gnuplot commands for one link's panel: index, title (ms when its longest bar is under 1 s)
  local max sc unit fmt
  max=$(awk -F'\t' -v want="$1" '/^# index/{n++} n-1 == want && $1 ~ /^[0-9]/ && $3 > m {m = $3} END{print m + 0}' "${OUT}_bars.dat")
  if awk -v m="$max" 'BEGIN{exit !(m < 1)}'; then sc=1000 unit=ms fmt="%.1f"; else sc=1 unit=s fmt="%.2f"; fi
  cat <<EOF
set title "$2"
set style fill solid 0.85 border rgb "black"
set xlabel "end-to-end latency ($unit)"
set xrange [0:*]
set offsets 0, graph 0.3, 0, 0
set yrange [-0.8:*]
set grid x
set key bottom right
plot "${OUT}_bars.dat" index $1 using (\$2*$sc/2):1:(0):(\$2*$sc):(\$1-0.4):(\$1+0.4):ytic(4) with boxxyerror lc rgb "#d62728" title "distillation", \\
     "" index $1 using ((\$2+\$3)*$sc/2):1:(\$2*$sc):(\$3*$sc):(\$1-0.4):(\$1+0.4) with boxxyerror lc rgb "#1f77b4" title "transmission", \\
     "" index $1 using (\$3*$sc):1:(\$2 > 0 ? sprintf(" $fmt $unit (distillation %.1f ms)", \$3*$sc, \$2*1000) : sprintf(" $fmt $unit", \$3*$sc)) with labels left font ",8" notitle
EOF
}
if [[ " ${links[*]} " == *" modem "* ]]; then
  idx=$(sed -n 's/^# index \([0-9]*\): modem$/\1/p' "${OUT}_bars.dat")
  {
    echo "set terminal pngcairo size 1000,760 font 'DejaVu Sans,9'"
    echo "set output '${OUT}_modem.png'"
    echo "set ytics font ',8'"
    plot_link "$idx" "End-to-end latency over a 14.4K modem (RTT 350 ms), TranSend $RUN_DATE (after Fig. 2 of Fox et al.)"
  } | gnuplot
fi
{
  echo "set terminal pngcairo size 1600,$((420 * ((nlinks + 1) / 2))) font 'DejaVu Sans,8'"
  echo "set output '${OUT}_links.png'"
  echo "set multiplot layout $(((nlinks + 1) / 2)),2"
  echo "set ytics font ',7'"
  for i in $(seq 0 $((nlinks - 1))); do plot_link "$i" "${TITLE[${links[$i]}]:-${links[$i]}}"; done
  echo "unset multiplot"
} | gnuplot
ymax=$(awk -F'\t' '!/^#/{for (i = 2; i <= NF; i++) if ($i + 0 > m) m = $i + 0} END{print (m * 1.1 > 5.5 ? m * 1.1 : 5.5)}' "${OUT}_speedup.tsv")
gnuplot <<EOF
set terminal pngcairo size 1000,520 font 'DejaVu Sans,9'
set output '${OUT}_speedup.png'
set title "Speed-up of TranSend's default distillation over fetching directly (median end-to-end time)"
set ylabel "direct time / TranSend time"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "black"
set object 1 rect from graph 0, first 3 to graph 1, first 5 fc rgb "#d8f0d8" behind
set label 1 "paper: 3-5x" at graph 0.02, first 4 font ",9"
set arrow 1 from graph 0, first 1 to graph 1, first 1 nohead dt 2
set yrange [0:$ymax]
set grid y
set key below
plot "${OUT}_speedup.tsv" using 2:xtic(1) title "cartoon GIF", "" using 3 title "portrait JPEG", \
     "" using 4 title "rendered GIF", "" using 5 title "page (HTML + 7 images)", "" using 6 title "page, pda level"
EOF
bench_log "slow_links: done in $((SECONDS - START - LOCK_WAIT)) s (and ${LOCK_WAIT} s waiting for the lock); results in ${OUT}_*"
