#!/usr/bin/env bash
# Experiment 3 of issue 10, and the workload figures it rests on: the synthetic day's
# size distributions (SNS paper Figure 5), its request rate at three time scales
# (Figure 6: 24 hours, 3.5 hours, 3.5 minutes), and the dedicated worker pool sized both
# ways §4.2 names:
#   1. utilisation: the line L (tasks/s) across Figure 6a under which the share of the
#      day's work is the wanted utilisation of the dedicated pool (sum min(r, L) / (L T));
#   2. overflow time: the line L that the rate crosses in the wanted share of seconds.
# Distillers needed = ceil(L / capacity), with the capacity of one distiller both as the
# paper measured it (Table 2: about 24 req/s of ~10 KB JPEGs per distiller) and as ours
# measure (docs/experiments/distiller_cost-summary.tsv, if experiment 6 has run: one
# worker's tasks/s = 1000 / its mean ms, mixed by the trace's distillable types).
#
# What it runs: `tacc trace synth -n $REQUESTS -d 24h --seed $SEED` (the paper's 25,000
# users; the default 1,000,000 requests a day is 2.25 times the paper's 20 million over
# 45 days) and `tacc trace stats`; the rest is arithmetic on the trace. No cluster.
# Tasks are the requests a distiller would take: GIF, JPEG and HTML answers of status 200
# and at least 1 KB (TranSend passes smaller content untouched, as the paper's did).
# Writes docs/experiments/workload-sizes.png, workload-rates.png, workload.md (tables),
# and small .dat files beside them. Env: REQUESTS=1000000 SEED=1.
set -euo pipefail
case "${1:-}" in -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;; esac
source "$(dirname "$0")/lib.sh"
REQUESTS="${REQUESTS:-1000000}"
SEED="${SEED:-1}"
bench_build
work="$(mktemp -d)"
trap 'bench_cleanup; rm -rf "$work"' EXIT
trace="$work/day.trace"
bench_log "synthesising $REQUESTS requests over 24 h"
start=$(date +%s.%N)
exp_trace "$trace" -n "$REQUESTS" -d 24h --seed "$SEED"
synth_s=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN{printf "%.2f", b - a}')
"$TACC" trace stats "$trace" --bucket 1s --sizes-csv "$work/sizes.csv" >"$work/stats.txt"
cat "$work/stats.txt"
/usr/bin/python3 - "$trace" "$work" "$EXP_DIR" "$EXP_DIR/distiller_cost-summary.tsv" "$synth_s" "$REQUESTS" "$SEED" <<'PY'
import math, os, sys
import numpy as np
trace, work, out, cost_file, synth_s, requests, seed = sys.argv[1:8]
T = 86400
tasks = np.zeros(T)
reqs = np.zeros(T)
sizes = {"html": [], "gif": [], "jpeg": []}
mix = {"gif": 0, "jpeg": 0, "html": 0}
kind = {"image/gif": "gif", "image/jpeg": "jpeg", "text/html": "html"}
for line in open(trace):
    if line[0] == "#":
        continue
    f = line.rstrip("\n").split("\t")
    t = int(f[0]) // 1000000
    reqs[t] += 1
    url = f[3]
    ext = url.rsplit(".", 1)[-1]
    cls = {"gif": "gif", "jpg": "jpeg", "html": "html"}.get(ext)
    if cls:
        sizes[cls].append(int(f[5]))
    k = kind.get(f[6])
    if k and f[4] == "200" and int(f[5]) >= 1024:
        tasks[t] += 1
        mix[k] += 1

# Figure 5: share of requests per log2 size bin, by URL extension (as the paper classified).
edges = 2.0 ** np.arange(4, 22)
with open(os.path.join(out, "workload-sizes.dat"), "w") as fh:
    fh.write("# bin_low_bytes html gif jpeg (share of that type's requests)\n")
    h = {c: np.histogram(np.array(v), bins=edges)[0] / max(1, len(v)) for c, v in sizes.items()}
    for i in range(len(edges) - 1):
        fh.write("%d %.5f %.5f %.5f\n" % (edges[i], h["html"][i], h["gif"][i], h["jpeg"][i]))

# Figure 6: (a) 24 h in 2-minute buckets, (b) the 3.5 h around the busiest hour in 10 s
# buckets, (c) 3.5 min inside it in 1 s buckets; all as requests per second.
def series(a, start, span, bucket):
    seg = a[start:start + span]
    n = len(seg) // bucket
    return seg[: n * bucket].reshape(n, bucket).mean(axis=1)
hourly = series(reqs, 0, T, 3600)
peak_h = int(np.argmax(hourly))
b_start = max(0, min(T - 12600, peak_h * 3600 + 1800 - 6300))
per10 = series(reqs, b_start, 12600, 10)
c_start = b_start + int(np.argmax(per10)) * 10 - 105
c_start = max(b_start, min(b_start + 12600 - 210, c_start))
for name, start, span, bucket in (("a", 0, T, 120), ("b", b_start, 12600, 10), ("c", c_start, 210, 1)):
    s = series(reqs, start, span, bucket)
    with open(os.path.join(out, "workload-rate-%s.dat" % name), "w") as fh:
        fh.write("# hours_from_midnight requests_per_s (bucket %d s)\n" % bucket)
        for i, v in enumerate(s):
            fh.write("%.5f %.3f\n" % ((start + i * bucket) / 3600.0, v))

# Pool sizing on the per-minute task rate (a distiller pool cannot follow single seconds:
# spawning takes about a second and D holds further spawns).
minute = series(tasks, 0, T, 60)
def line_for_utilisation(r, u):
    lo, hi = 0.0, float(r.max())
    for _ in range(60):
        L = (lo + hi) / 2
        util = np.minimum(r, L).sum() / (L * len(r)) if L > 0 else 1
        if util > u: lo = L
        else: hi = L
    return (lo + hi) / 2
def line_for_overflow(r, p):
    return float(np.quantile(r, 1 - p))
paper_cap = 24.0
ours_cap = None
if os.path.exists(cost_file):
    ms = {}
    for line in open(cost_file):
        f = line.rstrip("\n").split("\t")
        if f[0] in kind:
            ms[kind[f[0]]] = float(f[5])
    if all(k in ms for k in mix):
        total = sum(mix.values())
        mean_ms = sum(ms[k] * mix[k] for k in mix) / total
        ours_cap = 1000.0 / mean_ms
rows = []
for label, L in [("utilisation 50%", line_for_utilisation(minute, 0.5)), ("utilisation 70%", line_for_utilisation(minute, 0.7)),
                 ("utilisation 90%", line_for_utilisation(minute, 0.9)), ("overflow 1% of minutes", line_for_overflow(minute, 0.01)),
                 ("overflow 5% of minutes", line_for_overflow(minute, 0.05)), ("overflow 20% of minutes", line_for_overflow(minute, 0.20))]:
    util = np.minimum(minute, L).sum() / (L * len(minute))
    over = float((minute > L).mean())
    overflow_work = float(np.maximum(minute - L, 0).sum() / minute.sum())
    rows.append((label, L, util, over, overflow_work, math.ceil(L / paper_cap), math.ceil(10 * L / paper_cap), math.ceil(100 * L / paper_cap),
                 math.ceil(100 * L / ours_cap) if ours_cap else None))
with open(os.path.join(out, "workload-pool.tsv"), "w") as fh:
    fh.write("rule\tline_tasks_per_s\tdedicated_utilisation\tshare_of_minutes_over\tshare_of_work_on_overflow\t"
             "distillers_paper_cap\tdistillers_paper_cap_10x_load\tdistillers_paper_cap_100x_load\tdistillers_our_cap_100x_load\n")
    for r in rows:
        fh.write("%s\t%.1f\t%.3f\t%.3f\t%.3f\t%d\t%d\t%d\t%s\n" % (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8] if r[8] is not None else "-"))
with open(os.path.join(work, "numbers.txt"), "w") as fh:
    day = reqs.sum()
    fh.write("requests %d\nmean_rps %.2f\npeak_hour %d\npeak_hour_rps %.2f\ntrough_hour_rps %.2f\n" % (day, day / T, peak_h, hourly.max(), hourly.min()))
    for scale, b in (("1s", 1), ("10s", 10), ("60s", 60), ("600s", 600)):
        s = series(reqs, 0, T, b)
        fh.write("peak_over_mean_%s %.2f\ncv_%s %.3f\n" % (scale, s.max() / s.mean(), scale, s.std() / s.mean()))
    fh.write("tasks_mean_per_s %.2f\ntasks_peak_minute %.2f\n" % (tasks.sum() / T, minute.max()))
    fh.write("our_capacity %s\nsynth_seconds %s\nb_start_h %.3f\nc_start_h %.4f\n" % ("%.1f" % ours_cap if ours_cap else "-", synth_s, b_start / 3600, c_start / 3600))
PY
cat "$work/numbers.txt"
column -t -s $'\t' "$EXP_DIR/workload-pool.tsv"

gnuplot <<GP
set terminal pngcairo size 900,520
set output '$EXP_DIR/workload-sizes.png'
set title "Content lengths of a synthetic day by URL extension (cf. paper Figure 5), $REQUESTS requests, seed $SEED"
set logscale x 2
set xtics ("16 B" 16, "64 B" 64, "256 B" 256, "1 KB" 1024, "4 KB" 4096, "16 KB" 16384, "64 KB" 65536, "256 KB" 262144, "1 MB" 1048576)
set xlabel 'content length (bin lower bound)'
set ylabel "share of the type's requests"
set grid
set key top right
plot '$EXP_DIR/workload-sizes.dat' using 1:2 with linespoints pt 7 title 'HTML', '' using 1:3 with linespoints pt 5 title 'GIF', '' using 1:4 with linespoints pt 9 title 'JPEG'
GP
gnuplot <<GP
set terminal pngcairo size 1200,900
set output '$EXP_DIR/workload-rates.png'
set multiplot layout 3,1 title "Requests per second of the synthetic day at three time scales (cf. paper Figure 6)"
set grid
set ylabel 'requests/s'
set xlabel 'hour of the day'
set xrange [0:24]
set title '(a) 24 hours, 2-minute buckets'
plot '$EXP_DIR/workload-rate-a.dat' using 1:2 with impulses lc rgb '#303030' notitle
set autoscale x
set autoscale xfix
set title '(b) 3.5 hours around the busiest hour, 10-second buckets'
plot '$EXP_DIR/workload-rate-b.dat' using 1:2 with impulses lc rgb '#303030' notitle
set title '(c) 3.5 minutes inside it, 1-second buckets'
plot '$EXP_DIR/workload-rate-c.dat' using 1:2 with impulses lw 3 lc rgb '#303030' notitle
unset multiplot
GP
cp "$work/numbers.txt" "$EXP_DIR/workload-numbers.txt"
bench_log "wrote $EXP_DIR/workload-sizes.png, workload-rates.png, workload-pool.tsv, workload-numbers.txt"
