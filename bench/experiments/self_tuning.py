#!/usr/bin/env python3
"""Driver and analysis of bench/experiments/self_tuning.sh (paper §4.5, Figure 8).

  self_tuning.py run ...      starts `tacc play` (the command after --), polls the front
                              end's /_tacc/status every --poll-ms and writes one line per
                              new beacon and worker of --class; moves each new worker of
                              the class into its own cpu cgroup (--cgroup, optional: a
                              CPU quota per distiller); kills workers by pid at --kill
                              times; stops at --duration.
  self_tuning.py analyze ...  reads that record, the manager's log (spawn, crash and reap
                              lines) and play's per-second series; writes gnuplot data
                              and a JSON summary (spawns, time to rebalance, kills,
                              recovery).

Standard library only. Times in the outputs are seconds from the start of `tacc play`.
"""
import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request


def fetch_status(url):
    with urllib.request.urlopen(url, timeout=1.0) as r:
        return json.load(r)


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


class Throttle:
    """One cgroup-v1 cpu group per worker under ROOT, each with QUOTA/PERIOD of a core."""

    def __init__(self, root, quota_us, period_us):
        self.root, self.quota_us, self.period_us = root, quota_us, period_us

    def adopt(self, pid):
        if not self.root:
            return True
        d = os.path.join(self.root, f"w{pid}")
        try:
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "cpu.cfs_period_us"), "w") as f:
                f.write(str(self.period_us))
            with open(os.path.join(d, "cpu.cfs_quota_us"), "w") as f:
                f.write(str(self.quota_us))
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(pid))
            return True
        except OSError as e:
            print(f"self_tuning.py: could not throttle pid {pid}: {e}", file=sys.stderr)
            return False


def cmd_run(a):
    url = a.admin.rstrip("/") + "/_tacc/status"
    throttle = Throttle(a.cgroup, a.quota_us, a.period_us)
    kills = []  # (t, count)
    for k in a.kill or []:
        t, _, n = k.partition(":")
        kills.append([float(t), int(n or 1)])
    kills.sort()
    samples = open(a.samples, "w")
    samples.write("# t_s beacon_t_s seq worker pid load   (worker of class %s; load = the manager's smoothed queue length, as in its beacons)\n" % a.cls)
    samples.write("# C t_s beacon_t_s seq class_workers class_pending class_mean_load\n")
    events = open(a.events, "w")
    first_seen = {}  # worker id -> (t, pid)
    cpu = {}  # pid -> last CPU seconds seen
    last_seq = None
    t0 = time.time()
    events.write(f"play_start_unix {t0:.3f}\n")
    events.flush()
    play = subprocess.Popen(a.play) if a.play else None
    end = t0 + a.duration
    next_poll = time.time()
    while True:
        now = time.time()
        if now >= end:
            break
        t = now - t0
        try:
            st = fetch_status(url)
        except Exception as e:  # the front end may be busy or restarting: skip one sample
            st = None
            events.write(f"status_error {t:.3f} {type(e).__name__}\n")
        if st is not None:
            ws = [w for w in st.get("workers", []) if w.get("class") == a.cls]
            for w in ws:
                pid = int(w.get("pid", 0))
                if w["id"] not in first_seen:
                    first_seen[w["id"]] = (t, pid)
                    ok = throttle.adopt(pid) if pid > 0 else False
                    events.write(f"worker_seen {t:.3f} {w['id']} {pid} throttled={int(ok)}\n")
                c = cpu_seconds(pid)
                if c is not None:
                    cpu[pid] = c
            m = st.get("manager", {})
            seq = m.get("beacon_seq")
            if seq != last_seq:
                last_seq = seq
                bt = t - m.get("beacon_age_ms", 0) / 1000.0
                for w in ws:
                    samples.write(f"{t:.3f} {bt:.3f} {seq} {w['id']} {w.get('pid', 0)} {w.get('load', 0):.3f}\n")
                cl = next((c for c in st.get("classes", []) if c.get("name") == a.cls), {})
                samples.write(f"C {t:.3f} {bt:.3f} {seq} {cl.get('workers', 0)} {cl.get('pending', 0)} {cl.get('mean_load', 0):.3f}\n")
                samples.flush()
            while kills and t >= kills[0][0]:
                _, n = kills.pop(0)
                live = sorted((first_seen[w["id"]][0], w["id"], int(w["pid"])) for w in ws if int(w.get("pid", 0)) > 0)
                for _, wid, pid in live[:n]:
                    try:
                        os.kill(pid, signal.SIGKILL)
                        events.write(f"kill {time.time() - t0:.3f} {wid} {pid}\n")
                        print(f"[{time.strftime('%H:%M:%S')}] killed {wid} (pid {pid}) with SIGKILL at t={t:.1f} s", file=sys.stderr)
                    except OSError as e:
                        events.write(f"kill_failed {t:.3f} {wid} {pid} {e}\n")
                events.flush()
        next_poll += a.poll_ms / 1000.0
        time.sleep(max(0.0, next_poll - time.time()))
        if play is not None and play.poll() is not None and a.stop_with_play:
            break
    if play is not None:
        if play.poll() is None:
            play.terminate()
            try:
                play.wait(10)
            except subprocess.TimeoutExpired:
                play.kill()
        events.write(f"play_exit {time.time() - t0:.3f} {play.returncode}\n")
    for pid, c in sorted(cpu.items()):
        events.write(f"cpu {pid} {c:.3f}\n")
    events.close()
    samples.close()
    return 0


# ---------------------------------------------------------------------------- analysis

LOG_RE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)\.(\d{3}) (\w+)\s+\[manager \d+\] (.*)$")


def log_time(date, ms):
    return time.mktime(time.strptime(date, "%Y-%m-%d %H:%M:%S")) + int(ms) / 1000.0


def read_manager_log(path, cls, t0):
    """Spawns, crash restarts and reaps of class CLS from the manager's lines of `tacc up`'s log."""
    out = []
    for line in open(path, errors="replace"):
        m = LOG_RE.match(line.rstrip("\n"))
        if not m:
            continue
        t = log_time(m.group(1), m.group(2)) - t0
        msg = m.group(4)
        s = re.match(r"spawned worker of class (\S+) \(pid (\d+)\): (.*)", msg)
        if s and s.group(1) == cls:
            out.append({"t": t, "kind": "spawn", "pid": int(s.group(2)), "reason": s.group(3)})
            continue
        s = re.match(r"worker (%s@\S+) \(pid (\d+)\) (.*)" % re.escape(cls), msg)
        if s:
            out.append({"t": t, "kind": "exit", "id": s.group(1), "pid": int(s.group(2)), "how": s.group(3)})
            continue
        s = re.match(r"reaping worker (%s@\S+): (.*)" % re.escape(cls), msg)
        if s:
            out.append({"t": t, "kind": "reap", "id": s.group(1), "reason": s.group(2)})
            continue
        if ("class %s" % cls) in msg and ("restart" in msg or "suspend" in msg):
            out.append({"t": t, "kind": "note", "msg": msg})
    return out


def read_samples(path):
    beacons = []  # list of (t, {worker: load}, {worker: pid}, class tuple)
    cur = None
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        f = line.split()
        if f[0] == "C":
            t, bt, seq = float(f[1]), float(f[2]), f[3]
            if cur is None or cur["seq"] != seq:
                cur = {"t": t, "bt": bt, "seq": seq, "loads": {}, "pids": {}}
            cur["workers"], cur["pending"], cur["mean"] = int(f[4]), int(f[5]), float(f[6])
            beacons.append(cur)
            cur = None
            continue
        t, bt, seq, wid, pid, load = float(f[0]), float(f[1]), f[2], f[3], int(f[4]), float(f[5])
        if cur is None or cur["seq"] != seq:
            cur = {"t": t, "bt": bt, "seq": seq, "loads": {}, "pids": {}}
        cur["loads"][wid] = load
        cur["pids"][wid] = pid
    return beacons


def read_events(path):
    ev = {"kills": [], "cpu": {}, "seen": {}}
    for line in open(path):
        f = line.split()
        if not f:
            continue
        if f[0] == "play_start_unix":
            ev["t0"] = float(f[1])
        elif f[0] == "kill":
            ev["kills"].append({"t": float(f[1]), "id": f[2], "pid": int(f[3])})
        elif f[0] == "cpu":
            ev["cpu"][int(f[1])] = float(f[2])
        elif f[0] == "worker_seen":
            ev["seen"][f[2]] = {"t": float(f[1]), "pid": int(f[3]), "throttled": f[4] == "throttled=1"}
    return ev


def read_series(path):
    rows = []
    if not path or not os.path.exists(path):
        return rows
    with open(path) as f:
        header = f.readline().strip().split(",")
        for line in f:
            vals = line.strip().split(",")
            if len(vals) != len(header):
                continue
            rows.append(dict(zip(header, vals)))
    return rows


def balanced(loads, tol_abs, tol_rel):
    v = list(loads.values())
    if len(v) < 2:
        return False
    mean = sum(v) / len(v)
    return max(v) - min(v) <= max(tol_abs, tol_rel * mean)


def cmd_analyze(a):
    ev = read_events(a.events)
    t0 = ev["t0"]
    beacons = read_samples(a.samples)
    mlog = read_manager_log(a.log, a.cls, t0)
    series = read_series(a.series)
    spawns = [e for e in mlog if e["kind"] == "spawn"]
    # Distiller numbers in order of spawn (the paper's "distiller 1, 2, ...").
    pid_to_id = {}
    for b in beacons:
        for wid, pid in b["pids"].items():
            pid_to_id.setdefault(pid, wid)
    order = []
    for s in spawns:
        wid = pid_to_id.get(s["pid"])
        s["id"] = wid
        if wid and wid not in order:
            order.append(wid)
    for b in beacons:  # workers not spawned in the log window (e.g. min_workers) go last
        for wid in b["loads"]:
            if wid not in order:
                order.append(wid)
    num = {wid: i + 1 for i, wid in enumerate(order)}
    # Wide table: t, then one column per distiller (NaN when not in the beacon), class stats.
    with open(a.out_prefix + ".dat", "w") as f:
        f.write("# t_s  " + "  ".join(f"d{num[w]}" for w in order) + "  workers pending mean_load   (d<i>: distiller i's smoothed queue length from the beacons)\n")
        for b in beacons:
            cols = [f"{b['loads'][w]:.2f}" if w in b["loads"] else "NaN" for w in order]
            f.write(f"{b['bt']:.2f} " + " ".join(cols) + f" {b.get('workers', len(b['loads']))} {b.get('pending', 0)} {b.get('mean', 0):.2f}\n")
    with open(a.out_prefix + ".events", "w") as f:
        f.write("# t_s kind distiller label\n")
        for s in spawns:
            n = num.get(s.get("id"), 0)
            f.write(f"{s['t']:.2f} spawn {n} \"d{n} spawned\"\n")
        for k in ev["kills"]:
            n = num.get(k["id"], 0)
            f.write(f"{k['t']:.2f} kill {n} \"d{n} killed\"\n")
        for e in mlog:
            if e["kind"] == "reap":
                n = num.get(e["id"], 0)
                f.write(f"{e['t']:.2f} reap {n} \"d{n} reaped\"\n")
    if series:
        with open(a.out_prefix + ".load", "w") as f:
            keys = list(series[0].keys())
            f.write("# " + " ".join(keys) + "   (tacc play --series: per second)\n")
            for r in series:
                f.write(" ".join(r[k] for k in keys) + "\n")

    # Rebalance after each spawn that leaves two or more workers.
    results = []
    for i, s in enumerate(spawns):
        wid = s.get("id")
        after = [b for b in beacons if b["bt"] >= s["t"]]
        r = {"distiller": num.get(wid, 0), "t": round(s["t"], 2), "reason": s["reason"], "pid": s["pid"]}
        first_in = next((b for b in after if wid in b["loads"]), None)
        r["in_beacon_after_s"] = round(first_in["bt"] - s["t"], 2) if first_in else None
        before = [b for b in beacons if s["t"] - 2.0 <= b["bt"] < s["t"]]
        r["max_queue_before"] = round(max((max(b["loads"].values()) for b in before if b["loads"]), default=0), 2)
        r["workers_after"] = len(first_in["loads"]) if first_in else 0
        if first_in and len(first_in["loads"]) >= 2:
            bal = next((b for b in after if wid in b["loads"] and balanced(b["loads"], a.tol_abs, a.tol_rel)), None)
            r["rebalanced_after_s"] = round(bal["bt"] - s["t"], 2) if bal else None
            r["pass"] = bal is not None and bal["bt"] - s["t"] <= a.within
            win = [b for b in beacons if s["t"] + a.within <= b["bt"] <= s["t"] + a.within + 10 and len(b["loads"]) >= 2]
            r["balanced_share_next_10s"] = round(sum(balanced(b["loads"], a.tol_abs, a.tol_rel) for b in win) / len(win), 2) if win else None
        else:
            r["rebalanced_after_s"] = None
            r["pass"] = None  # first (on-demand) spawn: nothing to balance against
        results.append(r)

    # After the kills: time to the first replacement, to the queue back under H, and peak.
    recov = {}
    if ev["kills"]:
        tk = min(k["t"] for k in ev["kills"])
        nxt = [s for s in spawns if s["t"] >= tk]
        after = [b for b in beacons if b["bt"] >= tk]
        peak = max(((b["bt"], max(b["loads"].values())) for b in after[:60] if b["loads"]), key=lambda x: x[1], default=(tk, 0))
        under = next((b for b in after if b["bt"] > peak[0] and b.get("mean", 0) <= a.h and len(b["loads"]) >= 2), None)
        recov = {
            "kill_t": round(tk, 2),
            "killed": [num.get(k["id"], 0) for k in ev["kills"]],
            "spawns_after_kill": [{"distiller": num.get(s.get("id"), 0), "after_s": round(s["t"] - tk, 2), "reason": s["reason"]} for s in nxt[:6]],
            "peak_queue": round(peak[1], 2),
            "peak_after_s": round(peak[0] - tk, 2),
            "mean_queue_under_H_after_s": round(under["bt"] - tk, 2) if under else None,
        }
    cpu_total = sum(ev["cpu"].values())
    summary = {
        "t0_unix": t0,
        "spawns": results,
        "reaps": [{"distiller": num.get(e["id"], 0), "t": round(e["t"], 2), "reason": e["reason"]} for e in mlog if e["kind"] == "reap"],
        "exits": [{"distiller": num.get(e["id"], 0), "t": round(e["t"], 2), "how": e["how"]} for e in mlog if e["kind"] == "exit"],
        "notes": [{"t": round(e["t"], 2), "msg": e["msg"]} for e in mlog if e["kind"] == "note"],
        "kill_recovery": recov,
        "distillers": len(order),
        "max_live": max((len(b["loads"]) for b in beacons), default=0),
        "distiller_cpu_s": round(cpu_total, 2),
        "throttled": all(v["throttled"] for v in ev["seen"].values()) if ev["seen"] else False,
        "rebalance_pass": all(r["pass"] for r in results if r["pass"] is not None) and any(r["pass"] is not None for r in results),
    }
    if a.play_json and os.path.exists(a.play_json):
        pj = json.load(open(a.play_json))
        summary["play"] = pj
    json.dump(summary, open(a.out_prefix + ".json", "w"), indent=1)
    for r in results:
        print(f"spawn of d{r['distiller']} at t={r['t']:.1f} s ({r['reason']}): in a beacon after {r['in_beacon_after_s']} s, "
              f"rebalanced after {r['rebalanced_after_s']} s -> {'PASS' if r['pass'] else ('n/a' if r['pass'] is None else 'FAIL')}")
    if recov:
        print(f"kill at t={recov['kill_t']} s of {recov['killed']}: spawns after it {recov['spawns_after_kill']}, peak queue {recov['peak_queue']} "
              f"{recov['peak_after_s']} s later, mean queue <= H again after {recov['mean_queue_under_H_after_s']} s")
    print(f"rebalance_pass {summary['rebalance_pass']}")
    return 0


# ---------------------------------------------------------------------------- report

def load_dat(path):
    rows, cols = [], []
    for line in open(path):
        if line.startswith("#"):
            cols = line[1:].split("(")[0].split()
            continue
        f = line.split()
        if f:
            rows.append([float(x) if x != "NaN" else None for x in f])
    return cols, rows


def integrate(rows, col, t_from, t_to, fn):
    """Sum of fn(value) * dt over beacon rows (step-wise) between t_from and t_to."""
    total = 0.0
    for r0, r1 in zip(rows, rows[1:]):
        a, b = max(r0[0], t_from), min(r1[0], t_to)
        if b > a and r0[col] is not None:
            total += fn(r0[col]) * (b - a)
    return total


def fmt(x, nd=1):
    return "—" if x is None else f"{x:.{nd}f}"


def cmd_report(a):
    data, out = a.data, a.out
    lines = []
    w = lines.append
    w("# Self-tuning (paper §4.5, Figure 8): measured results")
    w("")
    w(f"Generated by `bench/experiments/self_tuning.sh` on {a.date} (commit {a.commit}); machine: {a.machine}.")
    w(f"{a.noise}. Distillers: class `jpeg` (AVIF output, avif_speed={a.avif_speed}); {a.throttle}.")
    w(f"Settings: H (manager.spawn_threshold) = {a.h:g}, D (manager.spawn_hold_s) = {a.d} s, R (manager.reap_idle_s) = {a.r} s;"
      " beacons every 500 ms, load reports every 200 ms, smoothing 0.3 (defaults). The write-up is [self_tuning.md](self_tuning.md).")
    w("")
    gp = []
    if a.skip_main != "1" and os.path.exists(os.path.join(data, "main.json")):
        m = json.load(open(os.path.join(data, "main.json")))
        cols, rows = load_dat(os.path.join(data, "main.dat"))
        nd = sum(1 for c in cols if re.fullmatch(r"d\d+", c))
        w(f"## Main run: load `{a.steps}` req/s (rate@s), SIGKILL of the {a.kill_count} oldest distillers at {a.kill_at} s")
        w("")
        w("| distiller | spawned at (s) | why (manager's log) | max queue in the 2 s before | in a beacon after (s) | distillers then | balanced after (s) | within 5 s | balanced share of the next 10 s |")
        w("|---|---|---|---|---|---|---|---|---|")
        for s in m["spawns"]:
            ok = "n/a (alone)" if s["pass"] is None else ("**yes**" if s["pass"] else "**no**")
            w(f"| d{s['distiller']} | {s['t']:.1f} | {s['reason']} | {s['max_queue_before']:.1f} | {fmt(s['in_beacon_after_s'], 2)} | {s['workers_after']} | "
              f"{fmt(s['rebalanced_after_s'], 1)} | {ok} | {fmt(s.get('balanced_share_next_10s'), 2)} |")
        w("")
        w(f"Pass line (every spawn that leaves two or more distillers is balanced within 5 s; balanced: max − min ≤ max(2, half the mean) in one beacon): "
          f"**{'PASS' if m['rebalance_pass'] else 'FAIL'}**.")
        w("")
        k = m.get("kill_recovery")
        if k:
            sp = ", ".join(f"d{s['distiller']} after {s['after_s']:.2f} s ({s['reason']})" for s in k["spawns_after_kill"])
            w(f"Kill at {k['kill_t']:.1f} s of distillers {', '.join('d%d' % i for i in k['killed'])}: spawns after it: {sp or 'none'}; "
              f"peak queue {k['peak_queue']:.1f} at {k['peak_after_s']:.1f} s after the kill; class mean queue back to ≤ H "
              f"{fmt(k['mean_queue_under_H_after_s'], 1)} s after the kill.")
            w("")
        if m.get("reaps"):
            w("Reaps: " + ", ".join(f"d{r['distiller']} at {r['t']:.1f} s ({r['reason']})" for r in m["reaps"]) + ".")
            w("")
        p = m.get("play", {})
        if p:
            lat = p.get("latency_ms", {})
            w(f"Load: {p.get('offered')} requests offered, {p.get('answered')} answered, {p.get('failed')} failed, "
              f"{p.get('approximate')} approximate (original sent: distiller overloaded or failed); latency mean {fmt(lat.get('mean'))} ms, "
              f"p50 {fmt(lat.get('p50'))}, p90 {fmt(lat.get('p90'))}, p99 {fmt(lat.get('p99'))}, max {fmt(lat.get('max'))} ms. "
              f"Distillers' CPU: {m['distiller_cpu_s']:.1f} s ({1000 * m['distiller_cpu_s'] / max(1, p.get('answered', 1)):.1f} ms per request"
              + (f"; at {a.distiller_cpu} of a core each, one distiller's capacity is about "
                 f"{float(a.distiller_cpu) * p.get('answered', 1) / max(1e-9, m['distiller_cpu_s']):.0f} requests/s; the paper's: about 23)." if a.distiller_cpu and float(a.distiller_cpu) > 0 else ")."))
            w("")
        w("![Figure 8 (ours)](self_tuning.png)")
        w("")
        # gnuplot: (a) queues with spawn/kill marks, load and distillers below, (b) zoom on the kill.
        ev = sorted((l.split(None, 3) for l in open(os.path.join(data, "main.events")) if not l.startswith("#")), key=lambda e: float(e[0]))
        kill_t = min((float(e[0]) for e in ev if e[1] == "kill"), default=None)
        tmax = rows[-1][0] if rows else 1
        g = []
        g.append(f"set terminal pngcairo size 1300,1150 font 'sans,10' noenhanced")
        g.append(f"set output '{os.path.relpath(os.path.join(out, 'self_tuning.png'), data)}'")
        g.append("set multiplot")
        qmax = max((v for r in rows for v in r[1:nd + 1] if v is not None), default=1)
        g.append("set grid; set key outside top center horizontal; set lmargin 10; set rmargin 10")
        g.append("dat = 'main.dat'; load = 'main.load'")
        def marks(xlo, xhi):
            groups = []  # events of one kind within 0.3 s of each other share one mark
            for e in ev:
                t = float(e[0])
                if xlo <= t <= xhi:
                    if groups and groups[-1][1] == e[1] and t - groups[-1][0] < 0.3:
                        groups[-1][2].append(e[2])
                    else:
                        groups.append([t, e[1], [e[2]]])
            res = []
            for i, (t, kind, ds) in enumerate(groups):
                color = {"spawn": "#2060c0", "kill": "#d00000", "reap": "#808080"}.get(kind, "black")
                dash = "dt 2" if kind != "kill" else "dt 1"
                text = ", ".join("d" + d for d in ds) + {"spawn": " spawned", "kill": " killed", "reap": " reaped"}.get(kind, "")
                res.append(f"set arrow {i + 1} from {t},graph 0 to {t},graph 1 nohead lc rgb '{color}' {dash} lw 1.2 front")
                res.append(f"set label {i + 1} '{text}' at {t},graph 0.97 rotate by 90 right offset -0.6,0 font ',8' tc rgb '{color}' front")
            return res
        palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"]
        for i in range(nd):
            g.append(f"set linetype {i + 1} lc rgb '{palette[i % len(palette)]}' lw 1.6")
        g.append(f"set title \"(a) Distiller queue lengths over time (manager's smoothed queue per distiller, from its beacons every 0.5 s); H = {a.h:g}, D = {a.d} s; dashed: spawns and reaps, red: SIGKILL\"")
        g.append("set origin 0,0.56; set size 1,0.44")
        g.append(f"set xrange [0:{tmax:.0f}]; set yrange [0:{max(a.h, qmax) * 1.4:.1f}]; set ylabel 'queue length (tasks)'; set xlabel ''")
        g += marks(0, tmax)
        g.append(f"plot for [i=2:{nd + 1}] dat using 1:i with steps title 'distiller '.(i-1), {a.h} with lines dt 3 lc rgb 'black' title 'H'")
        g.append("unset arrow; unset label")
        g.append("set title 'Offered load (tacc play, Poisson, per second) and distillers alive'")
        g.append("set origin 0,0.33; set size 1,0.23")
        g.append("set ylabel 'requests/s'; set y2label 'distillers'; set y2tics 1; set ytics nomirror; set yrange [0:*]")
        g.append(f"set y2range [0:{max((r[nd + 1] or 0) for r in rows) + 1 if rows else 1:.0f}]")
        g.append(f"plot load using 1:2 with steps lc rgb '#404040' title 'offered', load using 1:6 with impulses lc rgb '#d00000' lw 2 title 'approximate answers/s', "
                 f"dat using 1:{nd + 2} axes x1y2 with steps lc rgb '#2060c0' lw 2 title 'distillers (beacon)'")
        g.append("unset y2label; unset y2tics; set ytics mirror")
        if kill_t is not None:
            lo, hi = max(0, kill_t - 10), min(tmax, kill_t + 30)
            g.append(f"set title \"(b) Enlargement of (a) around the SIGKILL of the {a.kill_count} oldest distillers at {kill_t:.1f} s\"")
            g.append("set origin 0,0; set size 1,0.33")
            zmax = max((v for r in rows if lo <= r[0] <= hi for v in r[1:nd + 1] if v is not None), default=1)
            g.append(f"set xrange [{lo:.1f}:{hi:.1f}]; set yrange [0:{max(a.h, zmax) * 1.4:.1f}]; set ylabel 'queue length (tasks)'; set xlabel 'time since the load started (s)'")
            g += marks(lo, hi)
            g.append(f"plot for [i=2:{nd + 1}] dat using 1:i with steps title 'distiller '.(i-1), {a.h} with lines dt 3 lc rgb 'black' title 'H'")
        g.append("unset multiplot")
        open(os.path.join(data, "main.gp"), "w").write("\n".join(g) + "\n")

    runs = []  # (name, D, H)
    for dh in a.sweep_runs.split():
        d, _, h = dh.partition(":")
        name = f"sweep_d{d}_h{h}"
        if os.path.exists(os.path.join(data, name + ".json")) and (name, d, h) not in runs:
            runs.append((name, d, h))
    if runs:
        step_at = 0.0
        st = a.sweep_steps.split(",")
        if len(st) > 1 and "@" in st[1]:
            step_at = float(st[1].split("@")[1].rstrip("s"))
        w(f"## Sweeps of D (manager.spawn_hold_s) and H (manager.spawn_threshold): load `{a.sweep_steps}` req/s (a step at {step_at:g} s), R = {a.r} s, a fresh cluster each")
        w("")
        w("| D (s) | H | spawns | distillers at the end | spawns after the step at (s) | mean queue ≤ H for good, after the step (s) | peak class mean queue | queue·s above H | distiller·s | approximate answers | p50 / p99 latency (ms) |")
        w("|---|---|---|---|---|---|---|---|---|---|---|")
        for name, d, h in runs:
            m = json.load(open(os.path.join(data, name + ".json")))
            cols, rows = load_dat(os.path.join(data, name + ".dat"))
            iw, im = cols.index("workers"), cols.index("mean_load")
            hv = float(h)
            end = rows[-1][0] if rows else 0
            after = [r for r in rows if r[0] >= step_at]
            last_above = max((r[0] for r in after if r[im] is not None and r[im] > hv), default=None)
            settled = 0.0 if last_above is None else next((r[0] - step_at for r in after if r[0] > last_above), None)
            peak = max((r[im] for r in after if r[im] is not None), default=0)
            above = integrate(rows, im, step_at, end, lambda v: max(0.0, v - hv))
            wsec = integrate(rows, iw, 0, end, lambda v: v)
            times = ", ".join(f"{s['t'] - step_at:.1f}" for s in m["spawns"] if s["t"] >= step_at) or "none"
            p = m.get("play", {})
            lat = p.get("latency_ms", {})
            w(f"| {d} | {h} | {len(m['spawns'])} | {rows[-1][iw]:.0f} | {times} | {fmt(settled, 1)} | {peak:.1f} | {above:.0f} | {wsec:.0f} | "
              f"{p.get('approximate', '—')} | {fmt(lat.get('p50'), 0)} / {fmt(lat.get('p99'), 0)} |")
        w("")
        w("Spawns after the step: seconds after it, from the manager's log. \"For good\": from the first beacon after the last one whose class mean queue was above H. "
          "Queue·s above H: the integral of max(0, mean queue − H) over time. Distiller·s: the integral of the number of distillers alive (the cost).")
        w("")
        w("![D sweep](self_tuning_d_sweep.png)")
        w("")
        hmain = f"{a.h:g}"
        druns = [(n, d, h) for n, d, h in runs if h == hmain]
        def col(name, c):
            return load_dat(os.path.join(data, name + ".dat"))[0].index(c) + 1
        g = [f"set terminal pngcairo size 1300,800 font 'sans,10' noenhanced", "set xrange [0:*]", f"set output '{os.path.relpath(os.path.join(out, 'self_tuning_d_sweep.png'), data)}'",
             "set multiplot layout 2,1", "set grid; set key top left horizontal opaque box", "set lmargin 10; set rmargin 4"]
        for i, c in enumerate(["#7b2cbf", "#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#8c564b", "#17becf"]):
            g.append(f"set linetype {i + 1} lc rgb '{c}'")
        g.append(f"set title 'Distillers alive (from the beacons) with the load {a.sweep_steps} req/s (rate@s), for each D; H = {hmain}'")
        g.append("set ylabel 'distillers'; set yrange [0:*]; set xlabel ''")
        g.append("plot " + ", ".join(f"'{n}.dat' using 1:{col(n, 'workers')} with steps lw 2 title 'D = {d} s'" for n, d, h in druns))
        g.append(f"set title \"Class mean queue (the manager's smoothed queue, mean over the distillers); H = {hmain}\"")
        g.append("set ylabel 'tasks'; set xlabel 'time since the load started (s)'")
        g.append("plot " + ", ".join(f"'{n}.dat' using 1:{col(n, 'mean_load')} with steps lw 1.5 title 'D = {d} s'" for n, d, h in druns)
                 + f", {hmain} with lines dt 3 lc rgb 'black' title 'H'")
        g.append("unset multiplot")
        open(os.path.join(data, "sweep.gp"), "w").write("\n".join(g) + "\n")
    open(os.path.join(out, "self_tuning_results.md"), "w").write("\n".join(lines) + "\n")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--admin", required=True, help="front end admin base URL, http://127.0.0.1:PORT")
    r.add_argument("--class", dest="cls", default="jpeg")
    r.add_argument("--samples", required=True)
    r.add_argument("--events", required=True)
    r.add_argument("--duration", type=float, required=True, help="seconds from the start of play")
    r.add_argument("--poll-ms", type=float, default=100)
    r.add_argument("--kill", action="append", help="T:N kills the N oldest live workers of the class T s after play starts")
    r.add_argument("--cgroup", default="", help="cgroup-v1 cpu directory to make per-worker groups in ('' : no throttling)")
    r.add_argument("--quota-us", type=int, default=5000)
    r.add_argument("--period-us", type=int, default=20000)
    r.add_argument("--stop-with-play", action="store_true")
    r.add_argument("play", nargs=argparse.REMAINDER, help="-- tacc play ...")
    z = sub.add_parser("analyze")
    z.add_argument("--samples", required=True)
    z.add_argument("--events", required=True)
    z.add_argument("--log", required=True, help="tacc up's log (manager lines at log.level=info)")
    z.add_argument("--series", default="")
    z.add_argument("--play-json", default="")
    z.add_argument("--class", dest="cls", default="jpeg")
    z.add_argument("--h", type=float, default=4.0)
    z.add_argument("--within", type=float, default=5.0)
    z.add_argument("--tol-abs", type=float, default=2.0, help="balanced: max - min <= max(tol_abs, tol_rel * mean)")
    z.add_argument("--tol-rel", type=float, default=0.5)
    z.add_argument("--out-prefix", required=True)
    p = sub.add_parser("report")
    for k in ("data", "out", "steps", "kill-at", "kill-count", "sweep-runs", "sweep-steps", "machine", "date", "noise", "throttle", "avif-speed", "commit", "skip-main", "distiller-cpu"):
        p.add_argument("--" + k, default="")
    p.add_argument("--h", type=float, default=4.0)
    p.add_argument("--d", default="5")
    p.add_argument("--r", default="30")
    a = ap.parse_args()
    if a.cmd == "report":
        return cmd_report(a)
    if a.cmd == "run":
        if a.play and a.play[0] == "--":
            a.play = a.play[1:]
        return cmd_run(a)
    return cmd_analyze(a)


if __name__ == "__main__":
    sys.exit(main())
