#!/usr/bin/env bash
# Experiment 6 of issue 10: distiller cost against input size, per type (SNS paper §4.3,
# Figure 7: "approximately linear ... 8 milliseconds per kilobyte of input" for GIF on their
# hardware, "similar results for the JPEG and HTML distillers", measured over ~100,000
# items of their trace).
#
# What it runs:
#   1. a synthetic day (`tacc trace synth`, seed 1) and its origin (`tacc trace serve`:
#      real photos and drawings encoded at the drawn sizes);
#   2. SAMPLE distinct URLs per type (GIF, JPEG, HTML) of at least MIN_BYTES (TranSend
#      passes smaller content untouched, as the paper's did under 1 KB), drawn uniformly
#      from the trace's URLs of that type, fetched from the origin into a temp dir;
#   3. each file through the built-in worker in-process (bench/distill_latency: `gif`,
#      `jpeg` with the paper's task, scale 0.5 and quality 25, and `html_munger`), REPEAT
#      runs each, the median kept; one thread pinned to core 1;
#   4. a least-squares line ms = a + b x KB per type, and the plot.
# Writes docs/experiments/distiller_cost.png, distiller_cost.tsv (one row per file) and
# distiller_cost-summary.tsv; prints the summary. Env: SAMPLE=300 REPEAT=3 MIN_BYTES=1024.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
source "$(dirname "$0")/lib.sh"
SAMPLE="${SAMPLE:-300}"
REPEAT="${REPEAT:-3}"
MIN_BYTES="${MIN_BYTES:-1024}"
bench_build --target distill_latency
BIN="$BUILD/bench/distill_latency"
work="$(mktemp -d)"
trap 'bench_cleanup; rm -rf "$work"' EXIT

exp_lock
bench_wait_quiet
trace="$work/day.trace"
exp_trace "$trace" -n 200000 -d 24h --seed 1
exp_serve 0 "$work/serve.log" "$trace"
bench_log "origin $ORIGIN_URL; sampling $SAMPLE URLs per type"
/usr/bin/python3 - "$trace" "$ORIGIN_URL" "$work" "$SAMPLE" "$MIN_BYTES" <<'PY'
import os, random, sys, urllib.request
trace, origin, out, sample, min_bytes = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
urls = {"gif": set(), "jpeg": set(), "html": set()}
kind = {"image/gif": "gif", "image/jpeg": "jpeg", "text/html": "html"}
for line in open(trace):
    if line.startswith("#"):
        continue
    f = line.rstrip("\n").split("\t")
    k = kind.get(f[6])
    if k and f[4] == "200" and int(f[5]) >= min_bytes:
        urls[k].add(f[3])
rng = random.Random(1)
for k, s in urls.items():
    os.makedirs(os.path.join(out, k), exist_ok=True)
    for i, u in enumerate(rng.sample(sorted(s), min(sample, len(s)))):
        path = "/" + u.split("/", 3)[3]
        body = urllib.request.urlopen(origin + path).read()
        ext = {"gif": "gif", "jpeg": "jpg", "html": "html"}[k]
        with open(os.path.join(out, k, "%04d.%s" % (i, ext)), "wb") as fh:
            fh.write(body)
PY
bench_stop "$SERVE_PID"

TSV="$EXP_DIR/distiller_cost.tsv"
bench_log "gif: $(ls "$work/gif" | wc -l) files, $REPEAT runs each, core 1"
"${RUN[@]}" taskset -c 1 timeout 900 "$BIN" --worker gif --type image/gif --repeat "$REPEAT" --header "$work"/gif/* >"$TSV"
bench_log "jpeg: $(ls "$work/jpeg" | wc -l) files"
"${RUN[@]}" taskset -c 1 timeout 900 "$BIN" --worker jpeg --type image/jpeg --repeat "$REPEAT" "$work"/jpeg/* >>"$TSV"
bench_log "html: $(ls "$work/html" | wc -l) files"
"${RUN[@]}" taskset -c 1 timeout 900 "$BIN" --worker html_munger --type text/html --arg url=http://s1.synth.test/p1/page.html --repeat "$REPEAT" \
  "$work"/html/* >>"$TSV"

SUMMARY="$EXP_DIR/distiller_cost-summary.tsv"
awk -F'\t' 'NR > 1 && $8 != "error" {
    t = $1; n[t]++; in_b[t] += $3; out_b[t] += $4; x = $3 / 1024; y = $5
    sx[t] += x; sy[t] += y; sxx[t] += x * x; sxy[t] += x * y; syy[t] += y * y }
  END { print "type\tfiles\tmean_in_B\tmean_out_B\tsaved_%\tmean_ms\tfit_a_ms\tfit_ms_per_KB\tr2"
    for (t in n) {
      b = (n[t] * sxy[t] - sx[t] * sy[t]) / (n[t] * sxx[t] - sx[t] * sx[t]); a = (sy[t] - b * sx[t]) / n[t]
      r = (n[t] * sxy[t] - sx[t] * sy[t]) / sqrt((n[t] * sxx[t] - sx[t] ^ 2) * (n[t] * syy[t] - sy[t] ^ 2))
      printf "%s\t%d\t%.0f\t%.0f\t%.1f\t%.3f\t%.3f\t%.4f\t%.2f\n", t, n[t], in_b[t] / n[t], out_b[t] / n[t], 100 * (1 - out_b[t] / in_b[t]), sy[t] / n[t], a, b, r * r } }' \
  "$TSV" | sort -r >"$SUMMARY"  # the header ("type") sorts first, reversed
column -t -s $'\t' "$SUMMARY"

PNG="$EXP_DIR/distiller_cost.png"
plots=""
i=1
while IFS=$'\t' read -r t _ _ _ _ _ a b _; do
  [[ "$t" == type ]] && continue
  plots+="${plots:+; }set title '$t (fit: $(printf '%.2f' "$a") ms + $(printf '%.3f' "$b") ms/KB)'; plot '< grep \"^$t\" $TSV' using (\$3/1024):5 with points pt 7 ps 0.5 lc $i notitle, $a + $b * x with lines lw 2 lc $i notitle"
  i=$((i + 1))
done <"$SUMMARY"
gnuplot <<GP
set terminal pngcairo size 1200,420
set output '$PNG'
set multiplot layout 1,3 title "Distillation latency against input size, one core ($RUN_DATE; paper Figure 7: GIF ~8 ms/KB on 1997 hardware)"
set xlabel 'input (KB)'
set ylabel 'latency (ms, median of $REPEAT)'
set grid
$plots
unset multiplot
GP
bench_log "wrote $PNG, $TSV, $SUMMARY"
