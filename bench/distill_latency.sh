#!/usr/bin/env bash
# Distillation latency against input size, per type (issue 8; paper Figure 7: "average
# distillation latency is linear in input size, with variance"), and bytes saved beside
# it. Every file of the corpus (bench/image_corpus.sh: ~10 KB and ~150 KB photos) goes
# through the built-in worker of its type in-process (bench/distill_latency.cc, the median
# of REPEAT runs, one thread pinned to core CPU); for PNG and GIF workers that are built in,
# the same photos are converted (Pillow: PNG as is, GIF quantized to 256 colours) into
# bench/corpus/latency/ first. The paper's task: scale 0.5, quality 25 (the workers'
# defaults). Needs /usr/bin/python3 with PIL (python3-pil: scripts/install-deps.sh --bench).
#
# Writes docs/bench/distill_latency-<date>.tsv (one row per file) and .png (ms against
# input KB, one series per type, with a least-squares line each), and prints per type:
# files, mean input and output bytes, bytes saved, median ms, and the fitted ms per KB.
#
#   REPEAT=7 CPU=1 bench/distill_latency.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
case "${1:-}" in -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
REPEAT="${REPEAT:-7}"
CPU="${CPU:-1}"
CORPUS="$REPO/bench/corpus"
[[ -f "$CORPUS/manifest.tsv" ]] || "$REPO/bench/image_corpus.sh"
bench_build --target distill_latency
BIN="$BUILD/bench/distill_latency"
mkdir -p "$OUT_DIR" "$CORPUS/latency"
STAMP="$(date -u +%Y-%m-%d-%H%M)"
TSV="$OUT_DIR/distill_latency-$STAMP.tsv"
PNG="$OUT_DIR/distill_latency-$STAMP.png"

jpegs=("$CORPUS"/small/*.jpg "$CORPUS"/large/*.jpg)
has_worker() { "$TACC" worker --list 2>/dev/null | grep -q "^ *$1\b"; }
# PNG and GIF versions of the same photos, made once.
if has_worker png || has_worker gif; then
  /usr/bin/python3 - "$CORPUS/latency" "${jpegs[@]}" <<'PY'
import os, sys
from PIL import Image
out = sys.argv[1]
for path in sys.argv[2:]:
    base = os.path.splitext(os.path.basename(path))[0] + "-" + os.path.basename(os.path.dirname(path))
    png, gif = os.path.join(out, base + ".png"), os.path.join(out, base + ".gif")
    if os.path.exists(png) and os.path.exists(gif):
        continue
    im = Image.open(path).convert("RGB")
    im.save(png, optimize=False)
    im.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(gif)
PY
fi

bench_log "jpeg: ${#jpegs[@]} files, $REPEAT runs each, core $CPU"
"${RUN[@]}" taskset -c "$CPU" timeout 600 "$BIN" --worker jpeg --type image/jpeg --repeat "$REPEAT" --header "${jpegs[@]}" >"$TSV"
for t in png gif; do
  if has_worker "$t"; then
    files=("$CORPUS"/latency/*."$t")
    bench_log "$t: ${#files[@]} files"
    "${RUN[@]}" taskset -c "$CPU" timeout 600 "$BIN" --worker "$t" --type "image/$t" --repeat "$REPEAT" "${files[@]}" >>"$TSV"
  fi
done

# Per type: bytes saved and the least-squares ms = a + b * KB.
summary="$(awk -F'\t' 'NR > 1 && $8 != "error" {
    t = $1; n[t]++; in_b[t] += $3; out_b[t] += $4; x = $3 / 1024; y = $5
    sx[t] += x; sy[t] += y; sxx[t] += x * x; sxy[t] += x * y; ms[t, n[t]] = y }
  END { for (t in n) {
      b = (n[t] * sxy[t] - sx[t] * sy[t]) / (n[t] * sxx[t] - sx[t] * sx[t]); a = (sy[t] - b * sx[t]) / n[t]
      printf "%s\t%d\t%.0f\t%.0f\t%.1f\t%.3f\t%.3f\t%.3f\n", t, n[t], in_b[t] / n[t], out_b[t] / n[t], 100 * (1 - out_b[t] / in_b[t]), sy[t] / n[t], a, b } }' "$TSV" | sort)"
echo "type	files	mean_in_B	mean_out_B	saved_%	mean_ms	fit_a_ms	fit_ms_per_KB"
echo "$summary"

if command -v gnuplot >/dev/null; then
  plot=""
  i=1
  while IFS=$'\t' read -r t _ _ _ _ _ a b; do
    plot+="${plot:+, }'< grep \"^$t\" $TSV' using (\$3/1024):5 with points pt 7 ps 0.6 lc $i title '$t', $a + $b * x with lines lc $i notitle"
    i=$((i + 1))
  done <<<"$summary"
  gnuplot <<GP
set terminal pngcairo size 900,560
set output '$PNG'
set title "Distillation latency vs input size (one core, scale 0.5, quality 25; $RUN_DATE)"
set xlabel 'input (KB)'
set ylabel 'median latency (ms)'
set key top left
set grid
set yrange [0:*]
plot $plot
GP
  bench_log "plot: $PNG"
fi
bench_log "rows: $TSV"
