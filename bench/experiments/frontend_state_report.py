#!/usr/bin/env python3
"""Analysis of bench/experiments/frontend_state.sh (run by it; settings come in the environment).

Reads $TMP/samples-a.csv, idle-a.csv, play-a.req (and the -b files of part B), writes
$EXP_DIR/frontend_state.md, $EXP_DIR/frontend_state_levels.tsv, and gnuplot scripts
($TMP/*.gp) with their derived series ($TMP/*.dat) for frontend_state.png and
frontend_state_spread.png.
"""
import csv
import glob
import math
import os
import statistics

E = os.environ
TMP = E["TMP"]
OUT = E["EXP_DIR"]
HZ = int(E["CLK_TCK"])
STEP = float(E["STEP_S"])
WARM = float(E["WARM_S"])
RATES = [float(r) for r in E["RATES"].split()]
SPREAD = E["SPREAD"] == "1"


def seconds(text):
    for unit, mult in (("ms", 1e-3), ("us", 1e-6), ("min", 60.0), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if text.endswith(unit):
            return float(text[: -len(unit)]) * mult
    return float(text)


# The longest origin delay: requests scheduled DMAX before a window's end are all answered by then.
DMAX = seconds(E["DELAY"].split(":")[-1])


def fmt(n, d=0):
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "—"
    return f"{n:,.{d}f}"


def read_samples(path):
    rows = []
    if not os.path.exists(path):
        return rows
    for r in csv.DictReader(open(path)):
        for k in r:
            if k != "fe":
                r[k] = float(r[k])
        rows.append(r)
    return rows


def read_requests(path):
    """(start_s, end_s, status, error) of every logged request."""
    out = []
    if not os.path.exists(path):
        return out
    for line in open(path):
        f = line.split()
        if len(f) < 7:
            continue
        out.append((float(f[0]), float(f[1]), int(f[3]), f[6]))
    return out


def window_stats(rows, t0, t1, idle_rss_kb):
    w = [r for r in rows if t0 <= r["t_s"] <= t1]
    if len(w) < 2:
        return None
    dt = w[-1]["t_s"] - w[0]["t_s"]
    cl = [r["client_sockets"] for r in w]
    og = [r["origin_sockets"] for r in w]
    both = [r["client_sockets"] + r["origin_sockets"] for r in w]
    rss = [r["rss_kb"] / 1024 for r in w]
    st = (w[-1]["stime"] - w[0]["stime"]) / HZ / dt
    ut = (w[-1]["utime"] - w[0]["utime"]) / HZ / dt
    ans = (w[-1]["answered"] - w[0]["answered"]) / dt if w[0]["answered"] >= 0 and w[-1]["answered"] >= 0 else float("nan")
    s = {
        "n": len(w),
        "out_mean": statistics.mean(cl), "out_max": max(cl), "out_min": min(cl),
        "og_mean": statistics.mean(og), "og_max": max(og),
        "sock_mean": statistics.mean(both), "sock_max": max(both),
        "fds_max": max(r["fds"] for r in w),
        "thr_max": max(r["threads"] for r in w),
        "rss_mean": statistics.mean(rss), "rss_max": max(rss),
        "sys": st, "usr": ut, "answered": ans,
        "flight_mean": statistics.mean(r["play_in_flight"] for r in w), "flight_max": max(r["play_in_flight"] for r in w),
    }
    s["sys_share"] = st / (st + ut) if st + ut > 0 else float("nan")
    s["kb_per_req"] = (s["rss_mean"] * 1024 - idle_rss_kb) / s["out_mean"] if s["out_mean"] > 0 else float("nan")
    s["sys_us_per_req"] = 1e6 * st / ans if ans and ans > 0 else float("nan")
    s["cpu_us_per_req"] = 1e6 * (st + ut) / ans if ans and ans > 0 else float("nan")
    return s


def request_stats(reqs, t0, t1):
    """Requests scheduled in [t0, t1 - DMAX]: all answered (or failed) by t1."""
    early = [q for q in reqs if t0 <= q[0] < t1 - DMAX]
    span = max(1e-9, (t1 - DMAX) - t0)
    codes = {}
    for q in early:
        key = str(q[2]) if q[2] else q[3]
        codes[key] = codes.get(key, 0) + 1
    served = [q for q in early if q[2] not in (0, 503)]  # taken by the front end and answered
    lat = [q[1] - q[0] for q in served]
    ok = [q[1] - q[0] for q in early if q[2] == 200]
    return {
        "n": len(early), "offered": len(early) / span, "accepted": len(served) / span, "codes": codes,
        "lat_mean": statistics.mean(lat) if lat else float("nan"),
        "lat_p50": statistics.median(lat) if lat else float("nan"),
        "lat_max": max(lat) if lat else float("nan"),
        "ok_mean": statistics.mean(ok) if ok else float("nan"),
    }


def codes_text(codes):
    return ", ".join(f"{k}: {v:,}" for k, v in sorted(codes.items(), key=lambda kv: -kv[1])) or "—"


def derive(rows, path, fe=None, smooth=5):
    """Per-sample series for gnuplot: t client origin flight rss_mb sys_s_per_s usr_s_per_s fds."""
    rs = [r for r in rows if fe is None or r["fe"] == fe]
    with open(path, "w") as f:
        for i, r in enumerate(rs):
            j = max(0, i - smooth)
            dt = r["t_s"] - rs[j]["t_s"]
            sy = (r["stime"] - rs[j]["stime"]) / HZ / dt if dt > 0 else 0
            us = (r["utime"] - rs[j]["utime"]) / HZ / dt if dt > 0 else 0
            f.write(f'{r["t_s"]:.2f} {int(r["client_sockets"])} {int(r["origin_sockets"])} {int(r["play_in_flight"])} '
                    f'{r["rss_kb"] / 1024:.1f} {sy:.3f} {us:.3f} {int(r["fds"])}\n')


def idle_rss(path):
    rs = read_samples(path)
    out = {}
    for r in rs:
        out[r["fe"]] = r["rss_kb"]
    return out


PAPER = {15: ("150–350", "≤ 700", "300", "> 70%")}

# ------------------------------------------------------------------ part A
rows_a = read_samples(f"{TMP}/samples-a.csv")
idle_a = idle_rss(f"{TMP}/idle-a.csv")
idle_a_rss = idle_a.get("fe0", rows_a[0]["rss_kb"] if rows_a else 0)
reqs_a = read_requests(f"{TMP}/play-a.req")
levels = []
for i, rate in enumerate(RATES):
    t0, t1 = i * STEP, (i + 1) * STEP
    ws = window_stats([r for r in rows_a if r["fe"] == "fe0"], t0 + WARM, t1, idle_a_rss)
    rq = request_stats(reqs_a, t0, t1)
    # Little's law: N = the front end's throughput over the measured window (= the rate of
    # requests it took: at its connection limit, fewer than offered), T = their mean latency.
    rq["little"] = ws["answered"] * rq["lat_mean"] if ws else float("nan")
    levels.append((rate, ws, rq))

with open(f"{OUT}/frontend_state_levels.tsv", "w") as f:
    f.write("part\tfe\trate\toutstanding_mean\toutstanding_max\tplay_in_flight_mean\torigin_sockets_mean\torigin_sockets_max\t"
            "sockets_mean\tsockets_max\tfds_max\tthreads_max\trss_mb_mean\trss_mb_max\tsys_cpu_s_per_s\tuser_cpu_s_per_s\t"
            "answered_per_s\tmean_latency_s\tlittle_N_x_T\n")
    for rate, ws, rq in levels:
        if ws:
            f.write(f"A\tfe0\t{rate:g}\t{ws['out_mean']:.1f}\t{ws['out_max']:.0f}\t{ws['flight_mean']:.1f}\t{ws['og_mean']:.1f}\t"
                    f"{ws['og_max']:.0f}\t{ws['sock_mean']:.1f}\t{ws['sock_max']:.0f}\t{ws['fds_max']:.0f}\t{ws['thr_max']:.0f}\t"
                    f"{ws['rss_mean']:.1f}\t{ws['rss_max']:.1f}\t{ws['sys']:.4f}\t{ws['usr']:.4f}\t{ws['answered']:.1f}\t"
                    f"{rq['lat_mean']:.3f}\t{rq['little']:.1f}\n")

# ------------------------------------------------------------------ part B
fe_b, spread_rows, spread_total, reqs_b_all = [], [], None, []
if SPREAD:
    rows_b = read_samples(f"{TMP}/samples-b.csv")
    idle_b = idle_rss(f"{TMP}/idle-b.csv")
    fe_b = sorted({r["fe"] for r in rows_b}, key=lambda x: int(x[2:]))
    for p in sorted(glob.glob(f"{TMP}/play-b*.req")):
        reqs_b_all += read_requests(p)
    rq_b = request_stats(reqs_b_all, 0, STEP)
    for fe in fe_b:
        ws = window_stats([r for r in rows_b if r["fe"] == fe], WARM, STEP, idle_b.get(fe, 0))
        spread_rows.append((fe, ws))
    rq_b["little"] = sum(ws["answered"] for _, ws in spread_rows if ws) * rq_b["lat_mean"]
    with open(f"{OUT}/frontend_state_levels.tsv", "a") as f:
        for fe, ws in spread_rows:
            if ws:
                f.write(f"B\t{fe}\t{float(E['SPREAD_RATE']) / len(fe_b):g}\t{ws['out_mean']:.1f}\t{ws['out_max']:.0f}\t—\t"
                        f"{ws['og_mean']:.1f}\t{ws['og_max']:.0f}\t{ws['sock_mean']:.1f}\t{ws['sock_max']:.0f}\t{ws['fds_max']:.0f}\t"
                        f"{ws['thr_max']:.0f}\t{ws['rss_mean']:.1f}\t{ws['rss_max']:.1f}\t{ws['sys']:.4f}\t{ws['usr']:.4f}\t"
                        f"{ws['answered']:.1f}\t{rq_b['lat_mean']:.3f}\t—\n")

# ------------------------------------------------------------------ plots
derive(rows_a, f"{TMP}/a.dat", "fe0")
a_end = len(RATES) * STEP
marks = "".join(f'set arrow from {i * STEP},graph 0 to {i * STEP},graph 1 nohead lc rgb "gray" dt 2\n' for i in range(1, len(RATES)))
labels = "".join(f'set label "{r:g} req/s" at {i * STEP + 4},graph 0.93 font ",9"\n' for i, r in enumerate(RATES))
warm = "".join(f'set object {i + 1} rect from {i * STEP},graph 0 to {i * STEP + WARM},graph 1 fc rgb "#f0f0f0" fs solid noborder behind\n'
               for i in range(len(RATES)))
maxc = int(E["FE_MAX_CONNS"])
with open(f"{TMP}/a.gp", "w") as g:
    g.write(f'''set terminal pngcairo size 1000,1000 font ",10"
set output "{OUT}/frontend_state.png"
set multiplot layout 3,1 title "One TranSend front end, origins answering in 100 ms .. 100 s (log-uniform), every request a miss\\n(shaded: the first {WARM:g} s of each level, not measured)"
set xrange [0:{a_end}]
set grid
set key bottom right font ",9"
set lmargin 10
{marks}{warm}
set logscale y
set yrange [1:{max(60000, 3 * maxc)}]
set ylabel "count"
{labels}
set label "paper, 15 req/s: 150-350 outstanding" at {a_end * 0.55},250 font ",8" tc rgb "dark-red"
set label "paper: <= 700 sockets" at {a_end * 0.55},900 font ",8" tc rgb "dark-red"
set label "http.max_connections = {maxc:,}" at {a_end * 0.55},{maxc * 0.7} font ",8" tc rgb "dark-gray"
plot "{TMP}/a.dat" u 1:2 w l lw 1.5 lc rgb "blue" t "outstanding = client sockets (established)", \\
     "" u 1:3 w l lc rgb "dark-green" t "origin sockets (established)", \\
     "" u 1:8 w l lc rgb "orange" t "open descriptors", \\
     "" u 1:4 w l dt 3 lc rgb "black" t "tacc play: in flight", \\
     150 w l dt 2 lc rgb "dark-red" notitle, 350 w l dt 2 lc rgb "dark-red" notitle, 700 w l dt 4 lc rgb "dark-red" notitle, \\
     {maxc} w l dt 2 lc rgb "dark-gray" notitle
unset logscale y
unset label
set yrange [0:*]
set ylabel "MB"
plot "{TMP}/a.dat" u 1:5 w l lw 1.5 lc rgb "purple" t "front-end RSS"
set ylabel "CPU s per s"
set xlabel "seconds since the load started"
plot "{TMP}/a.dat" u 1:6 w l lw 1.5 lc rgb "red" t "system (kernel) CPU, 5 s mean", "" u 1:7 w l lc rgb "blue" t "user CPU, 5 s mean"
unset multiplot
''')

if SPREAD and fe_b:
    colors = ["blue", "dark-green", "red", "orange", "purple", "black"]
    for fe in fe_b:
        derive(rows_b, f"{TMP}/b-{fe}.dat", fe)
    def plots(col, what):
        return ", ".join(f'"{TMP}/b-{fe}.dat" u 1:{col} w l lc rgb "{colors[k % len(colors)]}" t "{fe}{what}"' for k, fe in enumerate(fe_b))
    with open(f"{TMP}/b.gp", "w") as g:
        g.write(f'''set terminal pngcairo size 1000,1000 font ",10"
set output "{OUT}/frontend_state_spread.png"
set multiplot layout 3,1 title "{float(E['SPREAD_RATE']):,.0f} req/s over {len(fe_b)} TranSend front ends, origins answering in 100 ms .. 100 s, every request a miss\\n(shaded: the first {WARM:g} s, not measured)"
set xrange [0:{STEP:g}]
set grid
set key top left font ",8"
set lmargin 10
set object 1 rect from 0,graph 0 to {WARM:g},graph 1 fc rgb "#f0f0f0" fs solid noborder behind
set ylabel "count"
plot {plots(2, ": outstanding (client sockets)")}, {plots(3, ": origin sockets").replace(' w l ', ' w l dt 2 ')}
set ylabel "MB"
plot {plots(5, ": RSS")}
set ylabel "CPU s per s"
set xlabel "seconds since the load started"
plot {plots(6, ": system CPU (5 s mean)")}, {plots(7, ": user CPU").replace(' w l ', ' w l dt 2 ')}
unset multiplot
''')

# ------------------------------------------------------------------ write-up
md = []
w = md.append
w("# Front-end state under a miss penalty (experiment 5 of issue 10; SNS paper §4.4)")
w("")
w(f"Command: `{E.get('OVERRIDES', '')}bench/experiments/frontend_state.sh` (RATES=\"{E['RATES']}\", STEP_S={E['STEP_S']}, WARM_S={E['WARM_S']},"
  f" SPREAD={E['SPREAD']}, SPREAD_RATE={E['SPREAD_RATE']}, SPREAD_FES={E['SPREAD_FES']}, SPREAD_PLAYS={E['SPREAD_PLAYS']}, DISTILL={E['DISTILL']},"
  f" KEEPALIVE={E['KEEPALIVE']}).")
w("")
w(f"- **Run:** {E['START_UTC']}, commit {E['COMMIT']}; tacc binary built {E['TACC_BUILT']}.")
w(f"- **Machine:** {E['MACHINE']}; {E.get('BENCH_NOISE', '')}. Every process (origins, `tacc up`, `tacc play`, the sampler) on cores {E['CPUS']}.")
w(f"- **Descriptors:** `ulimit -n` {int(E['NOFILE']):,} per process (raised to the hard limit; the hard limit cannot be raised here), "
  f"so `http.max_connections={int(E['FE_MAX_CONNS']):,}` per front end (two descriptors per outstanding request, 400 spare).")
w(f"- **Trace:** `tacc trace synth -n {int(E['TRACE_N']):,} --objects {int(E['OBJECTS']):,} -d 1800s` ({E.get('TRACE_URLS', '?')} distinct URLs,"
  " the paper's MIME mix and sizes, Zipf popularity); `tacc play` takes its URLs in order, cycling.")
DLO = seconds(E["DELAY"].split(":")[0])
if DMAX > DLO:
    dmean, dmed = (DMAX - DLO) / math.log(DMAX / DLO), math.sqrt(DLO * DMAX)
    w(f"- **Origin:** `tacc trace serve --delay {E['DELAY']}`: each URL answered after its own delay, log-uniform between the bounds "
      f"(over URLs: mean {dmean:.1f} s, median {dmed:.2f} s), picked by a hash of the URL's path.")
else:
    w(f"- **Origin:** `tacc trace serve --delay {E['DELAY']}`: every answer after {DMAX:g} s.")
w(f"- **TranSend:** `tacc up` as forward proxy, cache off (`cache.enabled=false`, no cache partition), "
  + ("distillation off (`dispatch.rules=[]`, no warm workers)" if E["DISTILL"] == "off" else "default dispatch rules")
  + f", `http.request_timeout_ms` = `proxy.read_timeout_ms` = {int(E['TIMEOUT_MS']):,}, `proxy.max_connections_per_origin=100000`, "
  f"`frontend.threads={E['FE_THREADS']}` (0: one per core).")
w(f"- **Load:** `tacc play` open loop, Poisson arrivals, {'keep-alive' if E['KEEPALIVE'] == '1' else '`--no-keepalive` (one connection per request)'}, "
  f"`--timeout {E['PLAY_TIMEOUT']} --max-conns 100000 --max-outstanding 1000000`.")
w(f"- **Measured:** every {E['SAMPLE_S']} s per front end; each level over its last {STEP - WARM:g} s "
  f"(its first {WARM:g} s are the climb to steady state: after the longest delay, {DMAX:g} s, every request still out arrived at this level's rate).")
w("")
w("## Part A: one front end, " + " → ".join(f"{r:,.0f}" for r in RATES) + " requests/s")
w("")
w("![one front end over time](frontend_state.png)")
w("")
w("| offered req/s | outstanding: mean / max (paper) | play in flight (mean) | N × T (Little) | origin sockets: mean / max | sockets, client + origin: mean / max (paper) | descriptors max | threads (paper) | RSS MB: mean / max | KB per outstanding request | system CPU s/s | user CPU s/s | system share (paper) | answered/s | CPU µs per request (system) |")
w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
for rate, ws, rq in levels:
    if not ws:
        continue
    p = PAPER.get(int(rate), ("—", "—", "—", "—"))
    w(f"| {rate:,.0f} | **{fmt(ws['out_mean'])}** / {fmt(ws['out_max'])} ({p[0]}) | {fmt(ws['flight_mean'])} | {fmt(rq['little'])} "
      f"| {fmt(ws['og_mean'])} / {fmt(ws['og_max'])} | **{fmt(ws['sock_mean'])}** / {fmt(ws['sock_max'])} ({p[1]}) | {fmt(ws['fds_max'])} "
      f"| {fmt(ws['thr_max'])} ({p[2]}) | {fmt(ws['rss_mean'], 1)} / {fmt(ws['rss_max'], 1)} | {fmt(ws['kb_per_req'], 1)} "
      f"| **{fmt(ws['sys'], 3)}** | {fmt(ws['usr'], 3)} | {fmt(100 * ws['sys_share'])}% ({p[3]}) | {fmt(ws['answered'], 1)} "
      f"| {fmt(ws['cpu_us_per_req'])} ({fmt(ws['sys_us_per_req'])}) |")
w("")
w(f"N × T: the front end's answers per second over the measured window times T, the mean latency of the requests it took "
  f"(not refused with 503) among those scheduled in the level's first {STEP - DMAX:g} s (all answered within the level). "
  f"Idle front end before the load: RSS {idle_a_rss / 1024:.1f} MB. Those requests:")
w("")
w("| offered req/s | requests | offered/s | accepted/s (not 503; these 80 s include the climb) | mean latency T s (200s only) | p50 s | max s | answers |")
w("|---|---|---|---|---|---|---|---|")
for rate, ws, rq in levels:
    w(f"| {rate:,.0f} | {rq['n']:,} | {fmt(rq['offered'], 1)} | {fmt(rq['accepted'], 1)} | {fmt(rq['lat_mean'], 2)} ({fmt(rq['ok_mean'], 2)}) "
      f"| {fmt(rq['lat_p50'], 2)} | {fmt(rq['lat_max'], 1)} | {codes_text(rq['codes'])} |")
w("")
if SPREAD and spread_rows:
    w(f"## Part B: {float(E['SPREAD_RATE']):,.0f} requests/s over {len(fe_b)} front ends")
    w("")
    w(f"![{len(fe_b)} front ends over time](frontend_state_spread.png)")
    w("")
    w(f"{E['SPREAD_PLAYS']} `tacc play` processes, {float(E['SPREAD_RATE']) / int(E['SPREAD_PLAYS']):g} req/s each, each with its own origin "
      f"(same trace and delays), round-robin over the {len(fe_b)} front ends: {float(E['SPREAD_RATE']) / len(fe_b):,.0f} req/s per front end.")
    w("")
    w("| front end | offered req/s | outstanding: mean / max | origin sockets: mean / max | sockets: mean / max | descriptors max | threads | RSS MB: mean / max | KB per outstanding request | system CPU s/s | user CPU s/s | system share | answered/s | CPU µs per request (system) |")
    w("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    tot = {"out": 0, "sock": 0, "rss": 0, "sys": 0, "usr": 0, "ans": 0}
    for fe, ws in spread_rows:
        if not ws:
            continue
        tot["out"] += ws["out_mean"]; tot["sock"] += ws["sock_mean"]; tot["rss"] += ws["rss_mean"]
        tot["sys"] += ws["sys"]; tot["usr"] += ws["usr"]; tot["ans"] += ws["answered"]
        w(f"| {fe} | {float(E['SPREAD_RATE']) / len(fe_b):,.0f} | **{fmt(ws['out_mean'])}** / {fmt(ws['out_max'])} | {fmt(ws['og_mean'])} / {fmt(ws['og_max'])} "
          f"| **{fmt(ws['sock_mean'])}** / {fmt(ws['sock_max'])} | {fmt(ws['fds_max'])} | {fmt(ws['thr_max'])} | {fmt(ws['rss_mean'], 1)} / {fmt(ws['rss_max'], 1)} "
          f"| {fmt(ws['kb_per_req'], 1)} | **{fmt(ws['sys'], 3)}** | {fmt(ws['usr'], 3)} | {fmt(100 * ws['sys_share'])}% | {fmt(ws['answered'], 1)} "
          f"| {fmt(ws['cpu_us_per_req'])} ({fmt(ws['sys_us_per_req'])}) |")
    w(f"| **all** | {float(E['SPREAD_RATE']):,.0f} | **{fmt(tot['out'])}** | | {fmt(tot['sock'])} | | | {fmt(tot['rss'], 1)} | | {fmt(tot['sys'], 3)} | {fmt(tot['usr'], 3)} "
      f"| {fmt(100 * tot['sys'] / (tot['sys'] + tot['usr']) if tot['sys'] + tot['usr'] else None)}% | {fmt(tot['ans'], 1)} | |")
    w("")
    w(f"Requests scheduled in the first {STEP - DMAX:g} s: {rq_b['n']:,} ({fmt(rq_b['offered'], 1)}/s offered, {fmt(rq_b['accepted'], 1)}/s accepted), "
      f"mean latency {fmt(rq_b['lat_mean'], 2)} s (p50 {fmt(rq_b['lat_p50'], 2)} s, max {fmt(rq_b['lat_max'], 1)} s), N × T = {fmt(rq_b['little'])}; "
      f"answers: {codes_text(rq_b['codes'])}.")
    w("")
def counters(path):
    if not os.path.exists(path):
        return ""
    parts = []
    for line in open(path):
        f = line.split()
        if len(f) == 3:
            parts.append(f"{f[0]} {f[1].replace('tacc_http_', '').replace('_total', '')} {int(float(f[2])):,}")
        elif len(f) == 2:
            parts.append(f"{f[0].replace('_cpu_s', '')} CPU {f[1]} s")
    return "; ".join(parts)


for part, path in (("A", f"{TMP}/counters-a.txt"), ("B", f"{TMP}/counters-b.txt")):
    c = counters(path)
    if c:
        w(f"Counters at the end of part {part} (front ends' `/_tacc/metrics`; CPU of the load and measuring processes over the part): {c}.")
        w("")

# The discussion is written by hand between these markers; a new run keeps it (check its numbers!).
BEGIN, END = "<!-- notes: kept across runs -->", "<!-- /notes -->"
old_md = open(f"{OUT}/frontend_state.md").read() if os.path.exists(f"{OUT}/frontend_state.md") else ""
if BEGIN in old_md and END in old_md:
    w(old_md[old_md.index(BEGIN): old_md.index(END) + len(END)])
else:
    w(BEGIN)
    w("(discussion to be written)")
    w(END)
w("")
w("## Data")
w("")
w("- `frontend_state_samples.csv` (part A) and `frontend_state_spread_samples.csv` (part B): one row per front end and sample: "
  "t_s, fe, rss_kb, threads, fds, client_sockets, origin_sockets, utime and stime (cumulative ticks, "
  f"{HZ} a second), answered (tacc_http_requests_total), play_in_flight.")
w("- `frontend_state_levels.tsv`: the tables above, one row per level (A) or front end (B).")
w("- Sampler: `bench/experiments/frontend_state_sample.py`; analysis: `bench/experiments/frontend_state_report.py`.")
open(f"{OUT}/frontend_state.md", "w").write("\n".join(md) + "\n")
print("\n".join(md))
