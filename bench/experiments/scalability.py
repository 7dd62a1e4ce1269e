#!/usr/bin/env python3
"""Driver and report of bench/experiments/scalability.sh (SNS paper §4.6, Table 2).

  scalability.py drive ...   raises the offered load in steps (one open-loop `tacc play`
                             per step, so each step has its own summary) while sampling,
                             every --poll-ms, the front end's /_tacc/status (distillers,
                             their queues), the CPU time of every process of the cluster
                             (/proc/PID/stat), the machine's cores (/proc/stat) and the
                             front ends' links (tc); after each step it decides whether
                             the system kept up and, if not, which element saturated;
                             then adds what can be added (the manager spawns distillers by
                             itself; a front end is added by the --fe-add command) and goes
                             on, until nothing more can be added or the budget is spent.
                             Writes DIR/steps.jsonl (one record per step), DIR/samples.jsonl.
  scalability.py report ...  Table 2 from one or more drives, gnuplot data and script,
                             and a markdown fragment.

Standard library only.
"""
import argparse
import json
import os
import shlex
import subprocess
import sys
import threading
import time
import urllib.request

TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def cpu_seconds(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TCK
    except (OSError, IndexError, ValueError):
        return None


def tree_cpu_seconds(pid):
    """CPU seconds of pid and its live descendants (e.g. `ip netns exec` -> tacc)."""
    total = cpu_seconds(pid)
    if total is None:
        return None
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        kids = []
    for k in kids:
        c = tree_cpu_seconds(k)
        if c is not None:
            total += c
    return total


def cores_busy(cpus):
    """{cpu: (busy_jiffies, total_jiffies)} for the given cpu numbers."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if not line.startswith("cpu") or line.startswith("cpu "):
                continue
            p = line.split()
            n = int(p[0][3:])
            if n not in cpus:
                continue
            v = [int(x) for x in p[1:]]
            idle = v[3] + v[4]
            out[n] = (sum(v[:8]) - idle, sum(v[:8]))
    return out


def fetch_status(urls, prefix=None):
    """The first front end's /_tacc/status that answers (prefix: e.g. `ip netns exec NS`)."""
    for u in urls:
        try:
            if prefix:
                out = subprocess.run(prefix + ["curl", "-fsS", "--max-time", "1", u.rstrip("/") + "/_tacc/status"],
                                     capture_output=True, text=True, timeout=3)
                if out.returncode == 0:
                    return json.loads(out.stdout)
                continue
            with urllib.request.urlopen(u.rstrip("/") + "/_tacc/status", timeout=1.0) as r:
                return json.load(r)
        except Exception:
            continue
    return None


class Throttle:
    """One cgroup-v1 cpu group per distiller under ROOT: QUOTA/PERIOD of a core (a 'host')."""

    def __init__(self, root, quota_us, period_us):
        self.root, self.quota_us, self.period_us = root, quota_us, period_us

    def enabled(self):
        return bool(self.root) and self.quota_us > 0

    def adopt(self, pid):
        if not self.enabled():
            return False
        d = os.path.join(self.root, f"w{pid}")
        try:
            os.makedirs(d, exist_ok=True)
            with open(os.path.join(d, "cpu.cfs_period_us"), "w") as f:
                f.write(str(self.period_us))
            with open(os.path.join(d, "cpu.cfs_quota_us"), "w") as f:
                f.write(str(self.quota_us))
            with open(os.path.join(d, "cgroup.procs"), "w") as f:
                f.write(str(pid))
            for t in os.listdir(f"/proc/{pid}/task"):  # threads already started
                try:
                    with open(os.path.join(d, "tasks"), "w") as f:
                        f.write(t)
                except OSError:
                    pass
            return True
        except OSError as e:
            log(f"could not throttle pid {pid}: {e}")
            return False

    def throttled_s(self, pid):
        try:
            with open(os.path.join(self.root, f"w{pid}", "cpu.stat")) as f:
                for line in f:
                    k, v = line.split()
                    if k == "throttled_time":
                        return int(v) / 1e9
        except (OSError, ValueError):
            pass
        return None


def link_bytes(spec):
    """spec: (name, ns, dev, bits_per_s) -> (tx_bytes, backlog_bytes, drops) of dev's root qdisc."""
    _, ns, dev, _ = spec
    cmd = ["tc", "-s", "-j", "qdisc", "show", "dev", dev]
    if ns:
        cmd = ["tc", "-n", ns, "-s", "-j", "qdisc", "show", "dev", dev]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=2).stdout
        q = [x for x in json.loads(out) if x.get("root")]
        if not q:
            return None
        q = q[0]
        return (int(q.get("bytes", 0)), int(q.get("backlog", 0)), int(q.get("drops", 0)))
    except Exception:
        return None


class Sampler(threading.Thread):
    def __init__(self, a, throttle, samples_path):
        super().__init__(daemon=True)
        self.a, self.throttle = a, throttle
        self.admins = list(a.admin)
        self.lock = threading.Lock()
        self.samples = []
        self.stop_ev = threading.Event()
        self.out = open(samples_path, "a")
        self.seen = {}  # worker id -> pid
        self.named = dict(p.split("=", 1) for p in (a.pids or []))
        self.links = []
        for spec in a.link or []:
            name, ns, dev, bps = spec.split(":")
            self.links.append((name, ns, dev, float(bps)))
        self.play_pid = None
        self.cpus = sorted(int(c) for c in a.machine_cpus.split(","))
        self.t0 = time.time()

    def add_admin(self, url):
        with self.lock:
            self.admins.append(url)

    def run(self):
        nxt = time.time()
        while not self.stop_ev.is_set():
            self.sample()
            nxt += self.a.poll_ms / 1000.0
            self.stop_ev.wait(max(0.0, nxt - time.time()))

    def sample(self):
        t = time.time() - self.t0
        with self.lock:
            admins = list(self.admins)
        st = fetch_status(admins, shlex.split(self.a.play_prefix) if self.a.play_prefix else None)
        s = {"t": round(t, 3), "cpu": {}, "cores": cores_busy(self.cpus), "links": {}}
        if st is not None:
            ws = [w for w in st.get("workers", []) if w.get("class") == self.a.cls]
            s["distillers"] = [[w["id"], int(w.get("pid", 0)), round(w.get("load", 0.0), 3)] for w in ws]
            cl = next((c for c in st.get("classes", []) if c.get("name") == self.a.cls), {})
            s["class"] = {"workers": cl.get("workers", 0), "pending": cl.get("pending", 0), "mean_load": cl.get("mean_load", 0.0)}
            s["frontends"] = [[f["index"], int(f.get("pid", 0))] for f in st.get("frontends", [])]
            mpid = int((st.get("manager") or {}).get("pid", 0))
            for w in ws:
                pid = int(w.get("pid", 0))
                if w["id"] not in self.seen and pid > 0:
                    self.seen[w["id"]] = pid
                    ok = self.throttle.adopt(pid)
                    log(f"{self.a.label}: distiller {w['id']} (pid {pid}) at t={t:.1f} s{' moved into its own cpu group' if ok else ''}")
                c = cpu_seconds(pid)
                if c is not None:
                    s["cpu"][f"distiller:{w['id']}"] = c
                if self.throttle.enabled():
                    th = self.throttle.throttled_s(pid)
                    if th is not None:
                        s["cpu"][f"throttled:{w['id']}"] = th
            for idx, pid in s["frontends"]:
                c = cpu_seconds(pid)
                if c is not None:
                    s["cpu"][f"frontend:{idx}"] = c
            if mpid > 0:
                c = cpu_seconds(mpid)
                if c is not None:
                    s["cpu"]["manager"] = c
        for name, pid in self.named.items():
            c = tree_cpu_seconds(int(pid))
            if c is not None:
                s["cpu"][name] = c
        if self.play_pid:
            c = tree_cpu_seconds(self.play_pid)
            if c is not None:
                s["cpu"]["play"] = c
        for spec in self.links:
            b = link_bytes(spec)
            if b is not None:
                s["links"][spec[0]] = b
        with self.lock:
            self.samples.append(s)
        self.out.write(json.dumps(s) + "\n")
        self.out.flush()

    def window(self, ta, tb):
        with self.lock:
            return [s for s in self.samples if ta <= s["t"] <= tb]


def delta_rate(w, key):
    """Mean rate of a cumulative counter over the samples w that have it (per second)."""
    have = [s for s in w if key in s["cpu"]]
    if len(have) < 2:
        return None
    dt = have[-1]["t"] - have[0]["t"]
    if dt <= 0:
        return None
    return (have[-1]["cpu"][key] - have[0]["cpu"][key]) / dt


def analyse_window(a, w, throttle, links):
    """Utilisation of every element over the samples w."""
    r = {}
    if len(w) < 2:
        return r
    dt = w[-1]["t"] - w[0]["t"]
    busy = tot = 0
    per_core = {}
    for c, (b1, t1) in w[-1]["cores"].items():
        b0, t0 = w[0]["cores"].get(c, (b1, t1))
        busy += b1 - b0
        tot += t1 - t0
        per_core[c] = round((b1 - b0) / max(1, t1 - t0), 3)
    r["machine_busy"] = round(busy / max(1, tot), 3)
    r["core_busy"] = per_core
    keys = set()
    for s in w:
        keys.update(s["cpu"].keys())
    cpu = {}
    for k in sorted(keys):
        v = delta_rate(w, k)
        if v is not None:
            cpu[k] = round(v, 3)
    r["cpu"] = cpu
    ours = sum(v for k, v in cpu.items() if not k.startswith("throttled:"))
    r["accounted_cores"] = round(ours, 3)
    r["other_cores"] = round(max(0.0, busy / max(1, tot) * len(per_core) - ours), 3)  # kernel work for us + everything else
    dist = [k for k in cpu if k.startswith("distiller:")]
    r["distillers_end"] = len(w[-1].get("distillers", []))
    r["distiller_cpu_total"] = round(sum(cpu[k] for k in dist), 3)
    cap = throttle.quota_us / throttle.period_us if throttle.enabled() else 1.0
    r["distiller_capacity"] = cap
    r["distiller_util"] = round(max([cpu[k] / cap for k in dist] or [0.0]), 3)
    r["distiller_util_mean"] = round(sum(cpu[k] / cap for k in dist) / max(1, len(dist)), 3)
    loads = [s["class"]["mean_load"] for s in w if "class" in s]
    r["queue_mean"] = round(sum(loads) / max(1, len(loads)), 2)
    r["queue_max"] = round(max(loads or [0.0]), 2)
    fes = [k for k in cpu if k.startswith("frontend:")]
    r["frontend_cpu"] = {k.split(":")[1]: cpu[k] for k in fes}
    r["frontend_cpu_max"] = round(max([cpu[k] for k in fes] or [0.0]), 3)
    lu = {}
    for name, _, _, bps in links:
        have = [s for s in w if name in s["links"]]
        if len(have) >= 2:
            d = have[-1]["t"] - have[0]["t"]
            b = have[-1]["links"][name][0] - have[0]["links"][name][0]
            drops = have[-1]["links"][name][2] - have[0]["links"][name][2]
            backlog = max(s["links"][name][1] for s in have)
            lu[name] = {"util": round(8 * b / d / bps, 3) if d > 0 else 0.0, "drops": drops, "backlog_max": backlog}
    r["links"] = lu
    return r


def read_series(path, settle):
    rows = []
    try:
        with open(path) as f:
            hdr = f.readline().strip().split(",")
            for line in f:
                v = line.strip().split(",")
                if len(v) == len(hdr):
                    rows.append({k: float(x) for k, x in zip(hdr, v)})
    except OSError:
        return None
    return rows


def play_step(a, rate, targets, step_dir, sampler):
    os.makedirs(step_dir, exist_ok=True)
    cmd = [a.tacc, "play", "-t", ",".join(targets), "--trace", a.trace, "--origin", a.origin, "--rate", str(rate),
           "-d", f"{a.step_s}s", "--timeout", f"{a.timeout_s}s", "--json", os.path.join(step_dir, "play.json"),
           "--series", os.path.join(step_dir, "series.csv"), "--progress", "never", "--seed", str(int(rate)),
           "--max-conns", str(a.max_conns)]
    for h in a.header or []:
        cmd += ["-H", h]
    if a.play_prefix:
        cmd = shlex.split(a.play_prefix) + cmd
    t_start = time.time() - sampler.t0
    with open(os.path.join(step_dir, "play.log"), "w") as lf:
        p = subprocess.Popen(cmd, stdout=lf, stderr=subprocess.STDOUT)
        sampler.play_pid = p.pid
        try:
            p.wait(timeout=a.step_s + a.timeout_s + 20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    sampler.play_pid = None
    return t_start, p.returncode


def judge(a, rate, step_dir, t_start, sampler, throttle, links, spawns_before):
    """One step's record: what play saw, what each element did, whether it kept up."""
    settle = a.settle_s
    rows = read_series(os.path.join(step_dir, "series.csv"), settle) or []
    try:
        js = json.load(open(os.path.join(step_dir, "play.json")))
    except (OSError, ValueError):
        js = {}
    steady = [r for r in rows if settle <= r["second"] < a.step_s]
    offered = sum(r["offered"] for r in steady)
    answered = sum(r["answered"] for r in steady)
    approx = sum(r["approximate"] for r in steady)
    errors = sum(r["errors"] + r["non_2xx"] for r in steady)
    secs = max(1, len(steady))
    p99s = sorted(r["p99_ms"] for r in steady if r["answered"] > 0)
    rec = {
        "rate": rate,
        "offered_per_s": round(offered / secs, 1),
        "answered_per_s": round(answered / secs, 1),
        "ratio": round(answered / offered, 3) if offered else 0.0,
        "approx_share": round(approx / answered, 3) if answered else 0.0,
        "error_share": round(errors / offered, 3) if offered else 0.0,
        "p99_ms_median_s": p99s[len(p99s) // 2] if p99s else None,
        "p99_ms_max_s": p99s[-1] if p99s else None,
        "step": {k: js.get(k) for k in ("offered", "answered", "failed", "approximate", "latency_ms", "errors", "status")},
    }
    w = sampler.window(t_start + settle, t_start + a.step_s)
    rec["t_start"] = round(t_start, 2)
    rec["util"] = analyse_window(a, w, throttle, links)
    wall = sampler.window(t_start, t_start + a.step_s + 1)
    rec["distillers_start"] = len(wall[0].get("distillers", [])) if wall else 0
    rec["distillers_end"] = len(sampler.window(t_start, 1e12)[-1].get("distillers", [])) if wall else 0
    rec["spawned"] = len(sampler.seen) - spawns_before
    p99 = rec["p99_ms_median_s"] or 0
    rec["ok"] = bool(rec["ratio"] >= a.ok_ratio and rec["approx_share"] <= a.approx_max and p99 <= a.p99_max_ms
                     and rec["error_share"] <= 1 - a.ok_ratio)
    u = rec["util"]
    sat = []
    if rec["spawned"] > 0 or (u.get("queue_max", 0) > a.h and u.get("distiller_util", 0) >= a.busy):
        sat.append("distillers")
    if any(v["util"] >= a.busy for v in u.get("links", {}).values()):
        sat.append("FE link")
    if a.fe_cpu_cap > 0 and u.get("frontend_cpu_max", 0) >= a.busy * a.fe_cpu_cap:
        sat.append("FE CPU")
    # Busy cores alone are not saturation (everything shares them; at low load much of the
    # busy time is wake-ups that batch away as the load grows): count them only on a step
    # that did not keep up or that made the manager spawn.
    if u.get("machine_busy", 0) >= a.machine_busy and (not rec["ok"] or rec["spawned"] > 0):
        sat.append("machine (all cores busy)")
    rec["saturated"] = sat
    return rec


def cmd_drive(a):
    os.makedirs(a.out, exist_ok=True)
    throttle = Throttle(a.cgroup, a.distiller_quota_us, a.period_us)
    sampler = Sampler(a, throttle, os.path.join(a.out, "samples.jsonl"))
    links = sampler.links
    sampler.start()
    time.sleep(1.0)
    targets = list(a.target)
    if a.warmup_s > 0:  # not judged: first connections, first tasks
        log(f"{a.label}: warm-up, {a.start} req/s for {a.warmup_s:.0f} s")
        wa = argparse.Namespace(**vars(a))
        wa.step_s = a.warmup_s
        play_step(wa, a.start, targets, os.path.join(a.out, "warmup"), sampler)
    steps_f = open(os.path.join(a.out, "steps.jsonl"), "w")
    rate = a.start
    retried = False
    deadline = time.time() + a.budget_s
    n = 0
    end_reason = "max steps"
    while n < a.max_steps:
        if time.time() + a.step_s + 5 > deadline:
            end_reason = "time budget"
            break
        n += 1
        spawns_before = len(sampler.seen)
        step_dir = os.path.join(a.out, f"step{n:02d}")
        t_start, rc = play_step(a, rate, targets, step_dir, sampler)
        time.sleep(a.poll_ms / 1000.0 * 2)
        rec = judge(a, rate, step_dir, t_start, sampler, throttle, links, spawns_before)
        rec["n"] = n
        rec["frontends"] = len(targets)
        rec["play_rc"] = rc
        u = rec["util"]
        log(f"{a.label} step {n}: {rate} req/s offered -> {rec['answered_per_s']} answered/s ({rec['ratio']:.0%}), "
            f"approx {rec['approx_share']:.1%}, p99 {rec['p99_ms_median_s']} ms; FEs {len(targets)}, distillers "
            f"{rec['distillers_start']}->{rec['distillers_end']} (util {u.get('distiller_util', 0):.0%}, queue max {u.get('queue_max')}), "
            f"FE cpu {u.get('frontend_cpu_max')}, machine {u.get('machine_busy', 0):.0%}, links "
            f"{ {k: v['util'] for k, v in u.get('links', {}).items()} } -> {'ok' if rec['ok'] else 'NOT KEPT UP'}"
            f"{' saturated: ' + ', '.join(rec['saturated']) if rec['saturated'] else ''}")
        action = "raise"
        if not rec["ok"]:
            fe_sat = any(x in rec["saturated"] for x in ("FE link", "FE CPU"))
            dist_growing = rec["spawned"] > 0 or ("distillers" in rec["saturated"] and rec["distillers_end"] < a.max_distillers)
            if fe_sat and a.fe_add and len(targets) < a.max_fe:
                out = subprocess.run(a.fe_add + " " + str(len(targets)), shell=True, capture_output=True, text=True, timeout=90)
                if out.returncode != 0:
                    log(f"adding a front end failed: {out.stderr.strip()}")
                    action, end_reason = "stop", "adding a front end failed"
                else:
                    tgt, adm = out.stdout.split()[-2:]
                    targets.append(tgt)
                    sampler.add_admin(adm)
                    action = "added front end"
                    log(f"{a.label}: added front end {len(targets)} at {tgt}")
                    time.sleep(2)
            elif dist_growing and not retried:
                action = "retry (distillers spawning)"
            elif not retried and not rec["saturated"]:
                action = "retry"
            else:
                action, end_reason = "stop", "saturated; nothing left to add" if rec["saturated"] else "did not keep up twice"
        rec["action"] = action
        steps_f.write(json.dumps(rec) + "\n")
        steps_f.flush()
        if action == "stop":
            break
        if action == "raise":
            rate += a.inc
            retried = False
        else:
            retried = action.startswith("retry")
            if action == "added front end":
                retried = False
        time.sleep(a.gap_s)
    sampler.stop_ev.set()
    sampler.join(3)
    with open(os.path.join(a.out, "end.json"), "w") as f:
        json.dump({"end_reason": end_reason, "steps": n, "frontends": len(targets)}, f)
    log(f"{a.label}: ended ({end_reason}) after {n} steps")
    return 0


# ------------------------------------------------------------------------------ report


def load_run(d):
    steps = [json.loads(l) for l in open(os.path.join(d, "steps.jsonl")) if l.strip()]
    end = json.load(open(os.path.join(d, "end.json"))) if os.path.exists(os.path.join(d, "end.json")) else {}
    return steps, end


def table_rows(steps):
    """Table 2's rows: (lo, hi, FEs, distillers, element) from a run's steps.

    A row is one configuration (front ends, distillers at the step's start). Its range ends
    at the highest offered rate it kept up with without the manager spawning (a "clean"
    step); its element is what saturated first after that: a spawn (distillers), or a step
    not kept up (the elements saturated then). A configuration with no clean step (the
    manager spawned again at once) is merged into the next one with the same front ends,
    whose distillers then show as a range; if the run ends in a row that never kept up, the
    row says so ("not kept up") with what saturated last."""
    rows = []
    cur = None
    prev_hi = 0

    def emit(c):
        nonlocal prev_hi
        if c["hi"] is None and c["any_hi"] is None and rows and rows[-1]["fe"] == c["fe"]:
            # never kept up, and the front ends are the same: part of the row before it
            last = rows[-1]
            last["dmax"] = c["dmax"]
            for e in (c["element"] or "").split(" & "):
                if e and e not in (last["element"] or ""):
                    last["element"] = (last["element"] + " & " if last["element"] else "") + e
            return
        hi = c["hi"] if c["hi"] is not None else c["any_hi"]
        c["hi_shown"] = hi
        rows.append(c)
        if hi is not None:
            prev_hi = hi

    for s in steps:
        fe, d = s["frontends"], s["distillers_start"]
        if cur is None or (fe, d) != (cur["fe"], cur["dmax"]):
            if cur is not None:
                if cur["hi"] is None and fe == cur["fe"]:
                    cur["dmax"] = d  # merge: the manager spawned again before a clean step
                else:
                    emit(cur)
                    cur = None
            if cur is None:
                cur = {"fe": fe, "dmin": d, "dmax": d, "lo": prev_hi + (1 if prev_hi else 0), "hi": None, "any_hi": None,
                       "element": None, "ended_failing": False}
        if s["ok"] and s["spawned"] == 0:
            cur["hi"] = s["rate"]
            cur["element"] = None  # a later saturation names this row's element
            cur["ended_failing"] = False
        else:
            if s["ok"]:
                cur["any_hi"] = max(cur["any_hi"] or 0, s["rate"])
            if cur["element"] is None or not s["ok"]:
                cur["element"] = " & ".join(s["saturated"]) or "(none identified)"
            cur["ended_failing"] = not s["ok"]
    if cur is not None:
        emit(cur)
    for r in rows:
        r["cfg"] = (r["fe"], r["dmax"])
        r["dist_shown"] = str(r["dmin"]) if r["dmin"] == r["dmax"] else f"{r['dmin']}–{r['dmax']}"
        if r["hi_shown"] is None:
            r["range"] = f"{r['lo']}+ (not kept up)"
        else:
            r["range"] = f"{r['lo']}–{r['hi_shown']}"
    return rows


def cmd_report(a):
    runs = []
    for spec in a.run:
        label, d = spec.split("=", 1)
        steps, end = load_run(d)
        runs.append((label, d, steps, end))
    md = []
    gp_data = os.path.join(a.data, "scalability-steps.dat")
    with open(gp_data, "w") as f:
        f.write("# run_index label step offered_req_s answered_req_s frontends distillers_start distillers_end ok p99_ms machine_busy fe_cpu distiller_util link_util_max\n")
        for i, (label, d, steps, end) in enumerate(runs):
            f.write(f"# run {i}: {label}\n")
            for s in steps:
                u = s["util"]
                lmax = max([v["util"] for v in u.get("links", {}).values()] or [0])
                f.write(f"{i} {label} {s['n']} {s['offered_per_s']} {s['answered_per_s']} {s['frontends']} {s['distillers_start']} "
                        f"{s['distillers_end']} {int(s['ok'])} {s['p99_ms_median_s'] or 0} {u.get('machine_busy', 0)} "
                        f"{u.get('frontend_cpu_max', 0)} {u.get('distiller_util', 0)} {lmax}\n")
            f.write("\n\n")
    for label, d, steps, end in runs:
        md.append(f"### {label}\n")
        md.append("Steps (steady part of each step; `ok`: answered ≥ {:.0%} of offered, ≤ {:.0%} approximate, per-second p99 median ≤ {} ms):\n".format(
            a.ok_ratio, a.approx_max, a.p99_max_ms))
        md.append("| step | offered req/s | answered req/s | approx | p99 ms | FEs | distillers | distiller CPU (max, of its share) | queue max | FE CPU (cores) | machine busy | ours / not ours (cores) | FE links | verdict |")
        md.append("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
        for s in steps:
            u = s["util"]
            links = ", ".join(f"{k} {v['util']:.0%}" for k, v in sorted(u.get("links", {}).items())) or "-"
            fe = ", ".join(f"{v:.2f}" for _, v in sorted(u.get("frontend_cpu", {}).items()))
            dist = f"{s['distillers_start']}" + (f"→{s['distillers_end']}" if s["distillers_end"] != s["distillers_start"] else "")
            verdict = ("ok" if s["ok"] else "**not kept up**") + (f"; saturated: {', '.join(s['saturated'])}" if s["saturated"] else "")
            if s.get("action") not in (None, "raise"):
                verdict += f"; {s['action']}"
            md.append(f"| {s['n']} | {s['offered_per_s']:.0f} | {s['answered_per_s']:.0f} | {s['approx_share']:.1%} | {s['p99_ms_median_s']} | "
                      f"{s['frontends']} | {dist} | {u.get('distiller_util', 0):.0%} | {u.get('queue_max', 0)} | {fe} | "
                      f"{u.get('machine_busy', 0):.0%} | {u.get('accounted_cores', 0):.2f} / {u.get('other_cores', 0):.2f} | {links} | {verdict} |")
        md.append(f"\nEnded: {end.get('end_reason', '?')}.\n")
        rows = table_rows(steps)
        md.append("Table 2 from this run:\n")
        md.append("| requests/second | # front ends | # distillers | element that saturated |")
        md.append("|---|---|---|---|")
        for r in rows:
            md.append(f"| {r['range']} | {r['fe']} | {r['dist_shown']} | {r['element'] or '(none: the run ended)'} |")
        if rows:
            md.append("")
            md.append("Per distiller and per front end: " + "; ".join(
                f"{r['fe']} FE, {r['dmax']} distiller(s): {r['hi_shown']} req/s = {r['hi_shown'] / max(1, r['dmax']):.0f} per distiller, "
                f"{r['hi_shown'] / max(1, r['fe']):.0f} per front end" for r in rows if r["hi_shown"]) + ".\n")
        with open(os.path.join(a.data, f"scalability-table-{label}.json"), "w") as f:
            json.dump([{"lo": r["lo"], "hi": r["hi_shown"], "cfg": r["cfg"], "distillers": r["dist_shown"], "element": r["element"]}
                       for r in rows], f)
    with open(a.md, "w") as f:
        f.write("\n".join(md) + "\n")
    print("\n".join(md))
    return 0


def cmd_plot(a):
    runs = []
    for spec in a.run:
        label, d = spec.split("=", 1)
        steps, _ = load_run(d)
        runs.append((label, steps))
    dat = os.path.join(a.data, "scalability-plot.dat")
    with open(dat, "w") as f:
        for label, steps in runs:
            f.write(f"# {label}: offered answered distillers_end frontends ok machine_busy% distiller_util% fe_link_max% fe_cpu_max label\n")
            for s in steps:
                u = s["util"]
                lmax = max([v["util"] for v in u.get("links", {}).values()] or [0])
                f.write(f"{s['offered_per_s']} {s['answered_per_s']} {s['distillers_end']} {s['frontends']} {int(s['ok'])} "
                        f"{100 * u.get('machine_busy', 0):.1f} {100 * u.get('distiller_util', 0):.1f} {100 * lmax:.1f} "
                        f"{u.get('frontend_cpu_max', 0)} \"{s['frontends']}F/{s['distillers_start']}D\"\n")
            f.write("\n\n")
    n = len(runs)
    title = {"a-fe1": "A: this machine, 1 front end", "a-fe2": "A: this machine, 2 front ends",
             "b-hosts": "B: namespace hosts (shaped FE links, distillers 1 cgroup each)"}
    gp = [f"set terminal pngcairo size {520 * n},480 font ',10'", f"set output '{os.path.join(a.out, 'scalability.png')}'",
          f"set multiplot layout 1,{n} title 'Answered vs offered (labels: front ends F / distillers D at the step start)'",
          "set grid", "set key top left", "set xlabel 'offered (req/s)'", "set ylabel 'answered (req/s, steady part of the step)'",
          "set size ratio -1"]
    for i, (label, steps) in enumerate(runs):
        mx = max([s["offered_per_s"] for s in steps] + [1]) * 1.1
        gp += [f"set title '{title.get(label, label)}'", f"set xrange [0:{mx:.0f}]", f"set yrange [0:{mx:.0f}]",
               f"plot x title 'answered = offered' lc rgb '#999999' dt 2, "
               f"'{dat}' index {i} using 1:($5==1?$2:1/0) with linespoints pt 7 lc 1 title 'kept up', "
               f"'{dat}' index {i} using 1:($5==0?$2:1/0) with points pt 6 ps 1.5 lc 7 title 'not kept up', "
               f"'{dat}' index {i} using 1:2:10 with labels offset 0,1 font ',8' notitle"]
    gp.append("unset multiplot")
    gp += [f"set terminal pngcairo size {520 * n},480 font ',10'", f"set output '{os.path.join(a.out, 'scalability-utilisation.png')}'",
           f"set multiplot layout 1,{n} title 'What saturates: busy share of each element per step, and the distillers running'",
           "set size noratio", "set grid", "set key below font ',9'", "set xlabel 'offered (req/s)'", "set ylabel 'busy (%)'",
           "set y2label 'distillers, front ends'", "set y2tics", "set ytics nomirror", "set yrange [0:110]", "set y2range [0:*]"]
    for i, (label, steps) in enumerate(runs):
        mx = max([s["offered_per_s"] for s in steps] + [1]) * 1.05
        gp += [f"set title '{title.get(label, label)}'", f"set xrange [0:{mx:.0f}]",
               f"plot '{dat}' index {i} using 1:6 with linespoints pt 7 title 'machine (2 cores)', "
               f"'{dat}' index {i} using 1:7 with linespoints pt 5 title 'busiest distiller (of its share)', "
               f"'{dat}' index {i} using 1:8 with linespoints pt 9 title 'busiest FE link', "
               f"'{dat}' index {i} using 1:3 axes x1y2 with steps lw 2 title 'distillers', "
               f"'{dat}' index {i} using 1:4 axes x1y2 with steps lw 2 dt 2 title 'front ends'"]
    gp.append("unset multiplot")
    # How close to linear: the highest rate each configuration kept up with, against its distillers.
    lin = os.path.join(a.data, "scalability-linearity.dat")
    plots = []
    with open(lin, "w") as f:
        for i, (label, _) in enumerate(runs):
            try:
                rows = json.load(open(os.path.join(a.data, f"scalability-table-{label}.json")))
            except (OSError, ValueError):
                rows = []
            f.write(f"# {label}: distillers max_rate_kept_up frontends linear_at_median_rate_per_distiller\n")
            rows = [r for r in rows if r["hi"]]
            pers = sorted(r["hi"] / max(1, r["cfg"][1]) for r in rows)
            per = pers[len(pers) // 2] if pers else 0  # the median row's rate per distiller
            for r in rows:
                f.write(f"{r['cfg'][1]} {r['hi']} {r['cfg'][0]} {per * r['cfg'][1]:.1f}\n")
            f.write("\n\n")
            plots.append(f"set title '{title.get(label, label)}'; plot '{lin}' index {i} using 1:2 with linespoints pt 7 lw 2 title 'measured', "
                         f"'{lin}' index {i} using 1:4 with linespoints dt 2 pt 6 title 'linear: median rate per distiller', "
                         f"'{lin}' index {i} using 1:2:(sprintf('%dF', $3)) with labels offset 0,1 font ',8' notitle")
    gp += [f"set terminal pngcairo size {460 * n},440 font ',10'", f"set output '{os.path.join(a.out, 'scalability-linearity.png')}'",
           f"set multiplot layout 1,{n} title 'Highest offered load kept up with, per configuration (labels: front ends)'", "set size noratio",
           "unset y2tics", "unset y2label", "set ytics mirror", "set autoscale", "set xrange [0:*]", "set yrange [0:*]", "set xtics 1",
           "set xlabel 'distillers'", "set ylabel 'req/s kept up with'", "set key inside top left"] + plots + ["unset multiplot"]
    path = os.path.join(a.data, "scalability.gp")
    with open(path, "w") as f:
        f.write("\n".join(gp) + "\n")
    return subprocess.run(["gnuplot", path]).returncode


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("drive")
    d.add_argument("--label", required=True)
    d.add_argument("--out", required=True)
    d.add_argument("--tacc", required=True)
    d.add_argument("--trace", required=True)
    d.add_argument("--origin", required=True)
    d.add_argument("--target", action="append", required=True)
    d.add_argument("--admin", action="append", required=True)
    d.add_argument("--class", dest="cls", default="jpeg")
    d.add_argument("--start", type=int, required=True)
    d.add_argument("--inc", type=int, required=True)
    d.add_argument("--step-s", type=float, default=12)
    d.add_argument("--settle-s", type=float, default=4)
    d.add_argument("--gap-s", type=float, default=0.5)
    d.add_argument("--warmup-s", type=float, default=5)
    d.add_argument("--timeout-s", type=float, default=10)
    d.add_argument("--max-steps", type=int, default=80)
    d.add_argument("--budget-s", type=float, default=600)
    d.add_argument("--max-conns", type=int, default=256)
    d.add_argument("--header", action="append")
    d.add_argument("--play-prefix", default="", help="run play (and status queries) under this command, e.g. 'ip netns exec NS'")
    d.add_argument("--h", type=float, default=4)
    d.add_argument("--max-distillers", type=int, default=8)
    d.add_argument("--ok-ratio", type=float, default=0.95)
    d.add_argument("--approx-max", type=float, default=0.05)
    d.add_argument("--p99-max-ms", type=float, default=1000)
    d.add_argument("--busy", type=float, default=0.85, help="an element this busy (of its share) counts as saturated")
    d.add_argument("--machine-busy", type=float, default=0.90)
    d.add_argument("--machine-cpus", default="0,1")
    d.add_argument("--fe-cpu-cap", type=float, default=0, help="cores a front end may use (0: not judged apart from the machine)")
    d.add_argument("--cgroup", default="")
    d.add_argument("--distiller-quota-us", type=int, default=0)
    d.add_argument("--period-us", type=int, default=20000)
    d.add_argument("--fe-add", default="", help="shell command + ' INDEX' that starts front end INDEX; prints 'TARGET ADMIN_URL'")
    d.add_argument("--max-fe", type=int, default=1)
    d.add_argument("--pids", action="append", help="name=pid of other processes to account (origin, ...)")
    d.add_argument("--link", action="append", help="name:netns:dev:bits_per_s of a rate-limited link (its root qdisc)")
    d.add_argument("--poll-ms", type=float, default=500)
    r = sub.add_parser("report")
    r.add_argument("--run", action="append", required=True, help="label=dir")
    r.add_argument("--data", required=True)
    r.add_argument("--md", required=True)
    r.add_argument("--ok-ratio", type=float, default=0.95)
    r.add_argument("--approx-max", type=float, default=0.05)
    r.add_argument("--p99-max-ms", type=float, default=1000)
    pl = sub.add_parser("plot")
    pl.add_argument("--run", action="append", required=True, help="label=dir")
    pl.add_argument("--data", required=True)
    pl.add_argument("--out", required=True)
    a = ap.parse_args()
    return {"drive": cmd_drive, "report": cmd_report, "plot": cmd_plot}[a.cmd](a)


if __name__ == "__main__":
    sys.exit(main())
