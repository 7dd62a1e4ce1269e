#!/usr/bin/env bash
# JPEG distillation (issue 8): the peers tacc's distillers are measured against, same run,
# same core, on the paper's workload (bench/image_corpus.sh: ~10 KB photos, and ~150 KB ones),
# each image scaled by 1/2 in each dimension and re-encoded at quality 25.
#
#   core 0   wrk (the load, bench/image_rotate.lua: every corpus image in turn) and the origin:
#            nginx serving the corpus files from a temp dir (worker_processes 1, keep-alive).
#   core 1   the distiller under test, one measured at a time, all started at the beginning:
#     loop    bench/jpeg_loop: libjpeg-turbo decode at 1/2 DCT scale + encode at quality 25,
#             no HTTP (the practical limit; run on core 1 alone, nothing on core 0);
#     nginx   nginx image_filter as a proxy that fetches: /half/<w>/<h>/<file> is proxy_pass'ed
#             to the origin (upstream keep-alive) and `image_filter resize $w $h` with
#             image_filter_jpeg_quality $QUALITY (libgd), worker_processes 1;
#     sharp   bench/peers/sharp/server.js: Node.js + sharp (libvips), same URL scheme, fetches
#             from the origin with keep-alive, resize to fit, JPEG at $QUALITY (sharp's
#             defaults: mozjpeg with optimised Huffman tables);
#     tacc    `tacc up` with TranSend as a reverse proxy of the origin and the dispatch rule
#             $TACC_RULE, one front end thread and one worker of class `jpeg`, no cache
#             (every request distilled): measured only once the binary has a `jpeg` worker
#             (`tacc worker --list`); until then skipped, and the table says so.
# The URL asks each peer for half the original's size (the corpus sizes are even), so all of
# them do the same work: the paper's "scale by 2 in each dimension, quality 25".
#
# Per set and peer: every image fetched once through the peer first (status 200, image/jpeg,
# kept for the bytes and SSIM columns), then a WARMUP s warm-up and DURATION s of
# `wrk -t1 -c$CONNECTIONS --latency -s bench/image_rotate.lua`. Reported: images per CPU
# second of the peer's own processes (their utime + stime, all threads: the per-core rate,
# which other work on a shared machine does not disturb; the ratios to the plain loop and to
# nginx are of these), wall-clock images/s (the peer has core 1 to itself only on a quiet
# machine), p50/p99 latency, mean output bytes, and SSIM against the original scaled to the
# output's size (bench/image_ssim.py).
# Results: a markdown table on stdout and in bench/results/image_peers-<date>.md, wrk outputs
# beside it (-wrk.txt). Everything started is stopped on exit (bench/lib.sh).
set -euo pipefail

usage() {
  cat <<'EOF'
Usage: bench/image_peers.sh [--help]

JPEG distillation (scale 1/2, quality 25) on the corpus of bench/image_corpus.sh: the plain
libjpeg-turbo loop, nginx image_filter, a sharp (libvips) proxy and, once it has a `jpeg`
worker, tacc's TranSend; each on core 1, wrk and the origin on core 0. Prints a markdown table
(images/s per core, CPU per image, p99, output bytes, SSIM, ratios) and writes
bench/results/image_peers-<date>.md.

Environment (defaults):
  DURATION=10            measured seconds per point (after WARMUP)
  WARMUP=2               warm-up seconds per point
  CONNECTIONS=8          wrk connections (one wrk thread)
  SETS="small large"     corpus sets (small: ~10 KB photos, the paper's; large: ~150 KB)
  PEERS="loop nginx sharp tacc"   what to measure
  QUALITY=25             output JPEG quality
  CORPUS=bench/corpus    corpus directory (built by bench/image_corpus.sh if it has no manifest)
  BUILD=build/release    build directory holding tacc and bench/jpeg_loop (not rebuilt)
  TACC_BIN=$BUILD/tacc   the tacc binary
  JPEG_LOOP=$BUILD/bench/jpeg_loop   the plain loop (cmake --build $BUILD --target jpeg_loop)
  TACC_RULE='image/jpeg -> jpeg{scale=0.5,quality=25}'   tacc's dispatch rule
  BEACON_PORT=27411      tacc's beacon port (own cluster name and run dir under the temp dir)
  OUT_DIR=bench/results  where the table and wrk outputs go
  KEEP_OUTPUTS=DIR       keep every peer's distilled images there (default: removed)
  BENCH_SCHED=auto       none | rr | nice | auto (see bench/lib.sh)
  QUIET_WAIT=0           before each point, wait up to this many seconds for the machine to quiet
                         down (bench/lib.sh)
  RT_WAIT=$QUIET_WAIT    before each point, wait up to this many seconds for other benchmarks'
                         real-time (SCHED_RR) processes to end: they would share core 1
EOF
}
if [[ "${1:-}" == -h || "${1:-}" == --help ]]; then usage; exit 0; fi
if [[ $# -gt 0 ]]; then usage >&2; exit 2; fi

LOADAVG_START="$(cut -d' ' -f1-3 /proc/loadavg)"
START_UTC="$(date -u '+%Y-%m-%d %H:%M UTC')"
REPO="$(cd "$(dirname "$0")/.." && pwd)"
BUILD="${BUILD:-$REPO/build/release}"
OUT_DIR="${OUT_DIR:-$REPO/bench/results}"
source "$REPO/bench/lib.sh"

DURATION="${DURATION:-10}"
WARMUP="${WARMUP:-2}"
CONNECTIONS="${CONNECTIONS:-8}"
SETS="${SETS:-small large}"
PEERS="${PEERS:-loop nginx sharp tacc}"
QUALITY="${QUALITY:-25}"
CORPUS="${CORPUS:-$REPO/bench/corpus}"
TACC_BIN="${TACC_BIN:-$BUILD/tacc}"
JPEG_LOOP="${JPEG_LOOP:-$BUILD/bench/jpeg_loop}"
TACC_RULE="${TACC_RULE:-image/jpeg -> jpeg{scale=0.5,quality=$QUALITY}}"
BEACON_PORT="${BEACON_PORT:-27411}"
RT_WAIT="${RT_WAIT:-${QUIET_WAIT:-0}}"
HOST_HDR="bench.test"
LOAD_CPU=0
PEER_CPU=1
PY=/usr/bin/python3  # Debian's, with python3-pil and python3-numpy
SHARP_DIR="$REPO/bench/peers/sharp"
IMAGE_FILTER_SO=/usr/lib/nginx/modules/ngx_http_image_filter_module.so

has() { [[ " $PEERS " == *" $1 "* ]]; }
drop() { PEERS="$(echo " $PEERS " | sed "s/ $1 / /; s/^ *//; s/ *\$//")"; }
declare -A SKIPPED

# --- what the peers need (Debian packages; sharp from the npm registry)
need=()
command -v nginx >/dev/null || need+=(nginx-light)
[[ -f "$IMAGE_FILTER_SO" ]] || need+=(libnginx-mod-http-image-filter)
command -v wrk >/dev/null || need+=(wrk)
"$PY" -c 'import PIL, numpy' 2>/dev/null || need+=(python3-pil python3-numpy)
if has sharp && ! command -v npm >/dev/null; then need+=(nodejs npm); fi
if ((${#need[@]})); then
  bench_log "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
if has sharp && [[ ! -d "$SHARP_DIR/node_modules/sharp" ]]; then
  bench_log "npm ci in $SHARP_DIR (sharp with its prebuilt libvips)"
  (cd "$SHARP_DIR" && timeout 300 npm ci --no-audit --no-fund >&2) || {
    SKIPPED[sharp]="npm ci of sharp failed (Node.js $(node -v 2>/dev/null); sharp 0.35 needs >= 20.9)"; drop sharp; }
fi
if has loop && [[ ! -x "$JPEG_LOOP" ]]; then
  SKIPPED[loop]="no $JPEG_LOOP (cmake --build $BUILD --target jpeg_loop; needs libjpeg62-turbo-dev)"; drop loop
fi
if has tacc; then
  if [[ ! -x "$TACC_BIN" ]]; then
    SKIPPED[tacc]="no tacc binary at $TACC_BIN"; drop tacc
  elif ! "$TACC_BIN" worker --list 2>/dev/null | awk '{print $1}' | grep -qx jpeg; then
    SKIPPED[tacc]="no \`jpeg\` worker registered in $TACC_BIN (\`tacc worker --list\`: $("$TACC_BIN" worker --list 2>/dev/null | awk '{printf "%s%s", s, $1; s=", "}'))"
    drop tacc
  fi
fi
for p in "${!SKIPPED[@]}"; do bench_log "skipping $p: ${SKIPPED[$p]}"; done

[[ -f "$CORPUS/manifest.tsv" ]] || "$REPO/bench/image_corpus.sh" "$CORPUS"
COMMIT="$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)"
DIRTY="$(git -C "$REPO" status --porcelain -- src 2>/dev/null | wc -l)"
TACC_NOTE="tacc not run"
if has tacc; then
  TACC_NOTE="tacc binary $TACC_BIN, built $(date -u -r "$TACC_BIN" '+%Y-%m-%d %H:%M UTC'), rule '$TACC_RULE'"
fi

TMP="$(mktemp -d /tmp/image-peers.XXXXXX)"
chmod 755 "$TMP"
CLUSTER="bench-img-$$"
on_exit() {
  local rc=$?
  bench_cleanup
  if ((rc != 0)); then  # keep what the servers said
    for f in "$TMP"/*.log "$TMP"/*/*.log; do
      [[ -s "$f" ]] && { echo "--- ${f#$TMP/} (last lines)"; tail -15 "$f"; } >&2
    done
  fi
  if [[ -n "${KEEP_OUTPUTS:-}" && -d "$TMP/out" ]]; then mkdir -p "$KEEP_OUTPUTS" && cp -r "$TMP/out/." "$KEEP_OUTPUTS/"; fi
  rm -rf "$TMP"
}
trap on_exit EXIT
mkdir -p "$OUT_DIR" "$TMP/www" "$TMP/out"

# The corpus, readable by nginx's unprivileged workers; per set: "file width height" rows.
for s in $SETS; do
  mkdir -p "$TMP/www/$s"
  awk -F'\t' -v s="$s" '$1==s{print $2, $4, $5}' "$CORPUS/manifest.tsv" >"$TMP/$s.list"
  [[ -s "$TMP/$s.list" ]] || { echo "no images of set $s in $CORPUS/manifest.tsv" >&2; exit 1; }
  while read -r f w h; do cp "$CORPUS/$f" "$TMP/www/$f"; done <"$TMP/$s.list"
done
chmod -R a+rX "$TMP/www"

nginx_common() {  # $1: prefix dir
  cat <<EOF
worker_processes 1;
daemon off;
pid $1/nginx.pid;
error_log $1/error.log warn;
events { worker_connections 4096; }
EOF
}
temp_paths() {
  echo "  client_body_temp_path $1/body; proxy_temp_path $1/proxy; fastcgi_temp_path $1/fastcgi;"
  echo "  uwsgi_temp_path $1/uwsgi; scgi_temp_path $1/scgi;"
}

# --- origin on core 0
ORIGIN_PORT="$(bench_free_port)"
mkdir -p "$TMP/origin"
{
  nginx_common "$TMP/origin"
  cat <<EOF
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 100000000;
  keepalive_timeout 65s;
  types { image/jpeg jpg; }
$(temp_paths "$TMP/origin")
  server {
    listen 127.0.0.1:$ORIGIN_PORT reuseport backlog=4096;
    root $TMP/www;
  }
}
EOF
} >"$TMP/origin/nginx.conf"
bench_bg "$LOAD_CPU" "$TMP/origin/out.log" nginx -p "$TMP/origin" -c "$TMP/origin/nginx.conf"

declare -A PORT PGID
# --- nginx image_filter on core 1: a proxy that fetches from the origin
if has nginx; then
  PORT[nginx]="$(bench_free_port)"
  mkdir -p "$TMP/nginx"
  {
    echo "load_module $IMAGE_FILTER_SO;"
    nginx_common "$TMP/nginx"
    cat <<EOF
http {
  access_log off;
  keepalive_requests 100000000;
$(temp_paths "$TMP/nginx")
  upstream origin {
    server 127.0.0.1:$ORIGIN_PORT;
    keepalive 32;
    keepalive_requests 100000000;
  }
  server {
    listen 127.0.0.1:${PORT[nginx]} backlog=4096;
    location ~ ^/half/(?<w>[0-9]+)/(?<h>[0-9]+)/(?<file>.+)\$ {
      proxy_pass http://origin/\$file;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      image_filter resize \$w \$h;
      image_filter_jpeg_quality $QUALITY;
      image_filter_buffer 8M;
    }
  }
}
EOF
  } >"$TMP/nginx/nginx.conf"
  bench_bg "$PEER_CPU" "$TMP/nginx/out.log" nginx -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf"
  PGID[nginx]="$BG_PID"
fi

# --- sharp on core 1
if has sharp; then
  PORT[sharp]="$(bench_free_port)"
  mkdir -p "$TMP/sharp"
  bench_bg "$PEER_CPU" "$TMP/sharp/out.log" \
    env PORT="${PORT[sharp]}" ORIGIN="127.0.0.1:$ORIGIN_PORT" QUALITY="$QUALITY" node "$SHARP_DIR/server.js"
  PGID[sharp]="$BG_PID"
fi

# --- tacc up on core 1: manager, one front end (one thread), one jpeg worker, no cache
if has tacc; then
  PORT[tacc]="$(bench_free_port)"
  mkdir -p "$TMP/tacc-run"
  cp "$TACC_BIN" "$TMP/tacc"  # a rebuild of $BUILD during the run cannot swap it
  TACC_CACHE_OFF=()
  if "$TMP/tacc" up --print-config 2>/dev/null | grep -q '^\[cache\]'; then
    TACC_CACHE_OFF=(--set cache.enabled=false --set classes.cache.min_workers=0)
  fi
  # Only the jpeg worker: the default configuration also keeps png, gif and HTML workers
  # warm, which this benchmark does not use (their idle processes would share core 1).
  TACC_OTHERS_OFF=()
  for cls in png gif html_munger keyword_filter; do
    if "$TMP/tacc" up --print-config 2>/dev/null | grep -q "^\[classes\.$cls\]"; then TACC_OTHERS_OFF+=(--set "classes.$cls.min_workers=0"); fi
  done
  bench_bg "$PEER_CPU" "$TMP/tacc.log" "$TMP/tacc" up --port "${PORT[tacc]}" \
    --set "cluster.name=$CLUSTER" --set "cluster.run_dir=$TMP/tacc-run" --set "beacon.port=$BEACON_PORT" \
    --set "frontend.admin_port=$(bench_free_port)" --set frontend.service=transend \
    --set frontend.threads=1 --set frontend.count=1 --set log.level=warn "${TACC_CACHE_OFF[@]}" "${TACC_OTHERS_OFF[@]}" \
    --set classes.jpeg.min_workers=1 --set classes.jpeg.max_workers=1 \
    --set "dispatch.rules=[\"$TACC_RULE\"]" \
    --set "proxy.reverse_origins=[\"$HOST_HDR=http://127.0.0.1:$ORIGIN_PORT\"]"
  PGID[tacc]="$BG_PID"
fi

# The path a peer is asked for: half the size, for all but tacc (whose dispatch rule says it).
peer_path() {  # peer file w h
  if [[ "$1" == tacc ]]; then echo "/$2"; else echo "/half/$(($3 / 2))/$(($4 / 2))/$2"; fi
}

# --- every image once through every peer: status 200, image/jpeg; the outputs are kept
check_peer() {  # peer set
  local p="$1" s="$2" f w h n=0 bad=0 code type
  mkdir -p "$TMP/out/$p/$s"
  : >"$TMP/$p-$s.curl"
  : >"$TMP/$p-$s.paths"
  while read -r f w h; do
    echo "$(peer_path "$p" "$f" "$w" "$h")" >>"$TMP/$p-$s.paths"
    printf 'url = "http://127.0.0.1:%s%s"\noutput = "%s"\n' "${PORT[$p]}" "$(peer_path "$p" "$f" "$w" "$h")" \
      "$TMP/out/$p/$s/$(basename "$f")" >>"$TMP/$p-$s.curl"
  done <"$TMP/$s.list"
  while read -r code type; do
    n=$((n + 1))
    [[ "$code" == 200 && "$type" == image/jpeg* ]] || bad=$((bad + 1))
  done < <(curl -s --max-time 30 -H "Host: $HOST_HDR" -K "$TMP/$p-$s.curl" -w '%{http_code} %{content_type}\n')
  if ((bad)); then
    echo "$p: $bad of $n images of set $s did not come back as 200 image/jpeg; its log:" >&2
    tail -20 "$TMP/$p"/*.log "$TMP/$p.log" 2>/dev/null >&2 || true
    exit 1
  fi
  # A distiller that answered the original (tacc marks such answers X-Tacc-Approximate) or
  # another size would not be doing the work measured here.
  read -r n _ _ _ _ _ half < <("$PY" "$REPO/bench/image_ssim.py" "$CORPUS" "$s" "$TMP/out/$p/$s" | sed 's/[a-z_]*=//g')
  if [[ "$half" != "$n" ]]; then
    echo "$p: only $half of $n images of set $s came back at half the original's size" >&2
    exit 1
  fi
}
for p in nginx sharp tacc; do
  has "$p" || continue
  for i in $(seq 200); do
    curl -s -o /dev/null --max-time 1 "http://127.0.0.1:${PORT[$p]}/" && break
    sleep 0.1
  done
  for s in $SETS; do check_peer "$p" "$s"; done
  bench_log "$p on :${PORT[$p]} distils every image of $SETS"
done

# --- measurements
to_ms() {  # "123.45us" | "1.23ms" | "1.02s" -> milliseconds
  awk -v v="$1" 'BEGIN{ if (v ~ /us$/) printf "%.2f", v/1000; else if (v ~ /ms$/) printf "%.2f", v+0; else if (v ~ /s$/) printf "%.2f", v*1000; else printf "%.2f", v/1000000 }'
}
cpu_ticks() { awk -v c="cpu$1" '$1==c{print $2+$3+$4+$7+$8+$9, $5+$6}' /proc/stat; }
group_cpu_ticks() {  # CPU jiffies (user + system, all threads) of the processes in group $1
  local p t=0 v
  for p in $(pgrep -g "$1" || true); do
    v="$(awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null || true)"
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
# Other benchmarks on a shared machine run as SCHED_RR too (bench/lib.sh): while one of
# their processes is busy on core 1, it takes turns with the distiller, which the busy figure
# of bench_wait_quiet does not show (its processes may be idle between its own points).
# Counts user-space real-time processes not started by this script.
foreign_rt() {
  local mine=" ${BENCH_PIDS[*]:-} " pid pgid cls n=0
  while read -r pid pgid cls; do
    [[ "$cls" == RR || "$cls" == FF ]] || continue
    [[ "$pgid" != 0 && "$mine" != *" $pgid "* && -n "$(readlink "/proc/$pid/exe" 2>/dev/null)" ]] || continue
    n=$((n + 1))
  done < <(ps -eo pid=,pgid=,cls=)
  echo "$n"
}
wait_no_foreign_rt() {  # up to RT_WAIT seconds
  local start=$SECONDS n
  while n="$(foreign_rt)"; ((n > 0 && SECONDS - start < RT_WAIT)); do
    bench_log "$n real-time processes of another benchmark are running; waiting for them to end"
    sleep 5
  done
  FOREIGN_RT="$n"
}
busy() { awk -v b=$(($3 - $1)) -v i=$(($4 - $2)) 'BEGIN{printf "%.0f", (b+i) ? 100*b/(b+i) : 0}'; }
HZ="$(getconf CLK_TCK)"

STAMP="$(date -u +%Y-%m-%d)"
RESULT="$OUT_DIR/image_peers-$STAMP.md"
[[ -e "$RESULT" ]] && RESULT="$OUT_DIR/image_peers-$STAMP-$(date -u +%H%M).md"
WRK_OUT="${RESULT%.md}-wrk.txt"
: >"$WRK_OUT"

declare -A RPS CPUMS CPURATE P50 P99 ERRS C1 NOISE SSIM SSIMMIN OUTB INB HALF
for s in $SETS; do
  for p in $PEERS; do
    k="$s,$p"
    wait_no_foreign_rt
    bench_wait_quiet
    NOISE[$k]="${BENCH_NOISE#other CPU load before the run: }"
    ((FOREIGN_RT == 0)) || NOISE[$k]+=", $FOREIGN_RT real-time processes of another benchmark"
    if [[ "$p" == loop ]]; then
      bench_log "$s via the plain loop: $JPEG_LOOP --seconds $DURATION on core $PEER_CPU"
      a1=($(cpu_ticks "$PEER_CPU"))
      timeout $((DURATION + 60)) "${RUN[@]}" taskset -c "$PEER_CPU" "$JPEG_LOOP" --corpus "$CORPUS" --set "$s" \
        --seconds "$DURATION" --quality "$QUALITY" --out "$TMP/out/loop/$s" >"$TMP/loop.txt"
      b1=($(cpu_ticks "$PEER_CPU"))
      { echo "### $s via loop: taskset -c $PEER_CPU $JPEG_LOOP --corpus $CORPUS --set $s --seconds $DURATION --quality $QUALITY"
        cat "$TMP/loop.txt"; echo; } >>"$WRK_OUT"
      RPS[$k]="$(sed -n 's/^RESULT.* images_per_s=\([0-9.]*\).*/\1/p' "$TMP/loop.txt")"
      CPUMS[$k]="$(sed -n 's/^RESULT.* images_per_cpu_s=\([0-9.]*\).*/\1/p' "$TMP/loop.txt" | awk '{ if ($1 > 0) printf "%.4f", 1000 / $1; else print "—" }')"
      P50[$k]="—"; P99[$k]="—"; ERRS[$k]="none"
    else
      url="http://127.0.0.1:${PORT[$p]}"
      bench_log "$s via $p: warm-up ${WARMUP}s, then wrk -t1 -c$CONNECTIONS -d${DURATION}s over $(wc -l <"$TMP/$s.list") images"
      timeout $((WARMUP + 30)) "${RUN[@]}" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${WARMUP}s" \
        -H "Host: $HOST_HDR" -s "$REPO/bench/image_rotate.lua" "$url" -- "$TMP/$p-$s.paths" >/dev/null
      a1=($(cpu_ticks "$PEER_CPU")); g0="$(group_cpu_ticks "${PGID[$p]}")"
      timeout $((DURATION + 30)) "${RUN[@]}" taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" \
        --latency -H "Host: $HOST_HDR" -s "$REPO/bench/image_rotate.lua" "$url" -- "$TMP/$p-$s.paths" >"$TMP/wrk.txt"
      g1="$(group_cpu_ticks "${PGID[$p]}")"; b1=($(cpu_ticks "$PEER_CPU"))
      { echo "### $s via $p: taskset -c $LOAD_CPU wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency -s bench/image_rotate.lua $url"
        cat "$TMP/wrk.txt"; echo; } >>"$WRK_OUT"
      RPS[$k]=$(awk '/^Requests\/sec:/{printf "%.1f", $2}' "$TMP/wrk.txt")
      P50[$k]=$(to_ms "$(awk '$1=="50%"{print $2}' "$TMP/wrk.txt")")
      P99[$k]=$(to_ms "$(awk '$1=="99%"{print $2}' "$TMP/wrk.txt")")
      ERRS[$k]=$(awk '/Non-2xx|Socket errors/{sub(/^ +/, ""); printf "%s ", $0}' "$TMP/wrk.txt")
      CPUMS[$k]=$(awk -v g=$((g1 - g0)) -v hz="$HZ" -v r="${RPS[$k]}" -v d="$DURATION" \
        'BEGIN{ if (r == 0) print "—"; else printf "%.4f", 1000 * g / hz / (r * d) }')
    fi
    CPURATE[$k]="$(awk -v m="${CPUMS[$k]}" 'BEGIN{ if (m + 0 > 0) printf "%.1f", 1000 / m; else print "—" }')"
    C1[$k]="$(busy "${a1[0]}" "${a1[1]}" "${b1[0]}" "${b1[1]}")"
    read -r n miss sm smin ob ib hf < <("$PY" "$REPO/bench/image_ssim.py" "$CORPUS" "$s" "$TMP/out/$p/$s" |
      sed 's/[a-z_]*=//g')
    SSIM[$k]="$sm"; SSIMMIN[$k]="$smin"; OUTB[$k]="$ob"; INB[$k]="$ib"; HALF[$k]="$hf/$n"
  done
done

fmt() { awk -v n="$1" 'BEGIN{ if (n == "" || n == "—") { print "—"; exit } s = sprintf("%.0f", n); o = ""; while (length(s) > 3) { o = "," substr(s, length(s) - 2) o; s = substr(s, 1, length(s) - 3) } print s o }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0 && a != "") printf "%.2f", a/b; else print "—" }'; }
label() {
  case "$1" in
    loop) echo "plain loop (libjpeg-turbo, no HTTP)" ;;
    nginx) echo "nginx image_filter (proxy)" ;;
    sharp) echo "sharp proxy (libvips)" ;;
    tacc) echo "tacc TranSend (front end + jpeg worker)" ;;
  esac
}
NODE_V="$(node -v 2>/dev/null || echo none)"
SHARP_V="$(cd "$SHARP_DIR" 2>/dev/null && node -e 'const s=require("sharp");console.log(`sharp ${s.versions.sharp}, libvips ${s.versions.vips}, mozjpeg ${s.versions.mozjpeg}`)' 2>/dev/null || echo 'sharp not run')"
{
  echo "# JPEG distillation peers (bench/image_peers.sh)"
  echo
  echo "- **Run:** $START_UTC, commit $COMMIT ($DIRTY uncommitted paths under src/); $TACC_NOTE."
  echo "- **Corpus:** $(sed -n 's/^# packages: //p' "$CORPUS/manifest.tsv")."
  echo "- **Machine:** $MACHINE. Load average at start: $LOADAVG_START."
  echo "- **Work:** every image scaled by 1/2 in each dimension, JPEG quality $QUALITY."
  echo "  wrk and the nginx origin on core 0, the distiller on core 1; \`wrk -t1 -c$CONNECTIONS -d${DURATION}s --latency\`"
  echo "  after a ${WARMUP} s warm-up, every corpus image in turn (bench/image_rotate.lua); the plain loop runs on"
  echo "  core 1 for ${DURATION} s with nothing on core 0."
  echo "  Versions: $(nginx -v 2>&1 | sed 's/.*: //') with image_filter (libgd $(dpkg-query -W -f='${Version}' libgd3 2>/dev/null)),"
  echo "  $SHARP_V on Node.js $NODE_V, libjpeg-turbo $(dpkg-query -W -f='${Version}' libjpeg62-turbo 2>/dev/null), wrk $(wrk -v 2>&1 | head -1 | awk '{print $2}')."
  for p in "${!SKIPPED[@]}"; do echo "- **Not measured:** $p: ${SKIPPED[$p]}."; done
  echo
  echo "| set | distiller | images per CPU second | ÷ plain loop | ÷ nginx | images/s (wall, core 1) | wall ÷ nginx | CPU ms/image | p50 ms | p99 ms | mean bytes in → out | SSIM mean (min) | half size | core 1 busy | errors | other load before |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  for s in $SETS; do
    for p in $PEERS; do
      k="$s,$p"
      echo "| $s | $(label "$p") | $(fmt "${CPURATE[$k]}") | $(ratio "${CPURATE[$k]}" "${CPURATE[$s,loop]:-0}") | $(ratio "${CPURATE[$k]}" "${CPURATE[$s,nginx]:-0}") |" \
        "$(fmt "${RPS[$k]}") | $(ratio "${RPS[$k]}" "${RPS[$s,nginx]:-0}") |" \
        "${CPUMS[$k]} | ${P50[$k]} | ${P99[$k]} | $(fmt "${INB[$k]}") → $(fmt "${OUTB[$k]}") | ${SSIM[$k]} (${SSIMMIN[$k]}) | ${HALF[$k]} |" \
        "${C1[$k]}% | ${ERRS[$k]:-none} | ${NOISE[$k]} |"
    done
  done
  echo
  echo "\"Images per CPU second\" (1000 ÷ \"CPU ms/image\"): images answered per second of user + system"
  echo "CPU time of the distiller's own processes (all their threads; for the loop, its own rusage)"
  echo "over the measured run: the per-core rate, not disturbed by other work sharing core 1 (on a"
  echo "shared machine, other real-time benchmark processes can take core 1 from the distiller; then"
  echo "the wall-clock images/s falls and this does not). The ratios are of these rates; the wall"
  echo "ratio is beside them. \"SSIM\": luma SSIM (11x11 Gaussian, sigma 1.5) of each output"
  echo "against the original scaled to the output's size with Lanczos (bench/image_ssim.py), over"
  echo "every image of the set once. \"Half size\": outputs exactly half the original's width and"
  echo "height. wrk outputs: $(basename "$WRK_OUT")."
} >"$RESULT"
cat "$RESULT"
bench_log "written $RESULT and $WRK_OUT"
