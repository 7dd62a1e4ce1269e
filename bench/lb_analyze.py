#!/usr/bin/env python3
"""Per-worker queue lengths from http_load request logs (bench/load_balance.sh).

For each run (NAME=REQUESTS_FILE[:BEACONS_FILE]), reconstructs every worker's queue
(requests in flight that the worker served) sampled every --dt seconds over
[--from, --to], and prints one markdown table row of spread statistics per run.
Writes NAME.dat (t q_worker1 q_worker2 ... , workers in id order) into --dat-dir for
gnuplot. With --summary FILE, also writes there a table of sd and p99 by policy and
estimator (rows) and topology (columns), for run names TOPO_POLICY_estimator_ON|OFF
such as 2x2_least_loaded_estimator_on.

Statistics, over the samples:
  sd      mean over time of the standard deviation of the queues across workers
  range   mean over time of max - min across workers
  idle+2  fraction of the time some worker sat idle while another had >= 2 tasks
  mean q  mean queue per worker (offered load check: ~ rate * cost / workers)
  share   min..max fraction of requests served per worker
  p50/p99 end-to-end latency in ms
  beacon sd  the same standard deviation over the manager's smoothed loads in beacons
Stdlib only.
"""
import argparse
import bisect
import math
import os
import statistics


def load_requests(path):
    reqs = []
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            start, end, status, worker, attempts = line.split()
            reqs.append((float(start), float(end), int(status), worker, int(attempts)))
    return reqs


def queues(reqs, workers, t0, t1, dt):
    """Samples of each worker's in-flight count at t0, t0+dt, ... < t1."""
    starts = {w: sorted(r[0] for r in reqs if r[3] == w) for w in workers}
    ends = {w: sorted(r[1] for r in reqs if r[3] == w) for w in workers}
    samples = []
    n = int(round((t1 - t0) / dt))
    for k in range(n):
        t = t0 + k * dt
        # started at or before t and not yet ended at t
        samples.append((t, [bisect.bisect_right(starts[w], t) - bisect.bisect_right(ends[w], t) for w in workers]))
    return samples


def beacon_sd(path, t0, t1):
    by_seq = {}
    with open(path) as f:
        for line in f:
            if line.startswith("#"):
                continue
            t, seq, worker, load = line.split()
            if t0 <= float(t) <= t1:
                by_seq.setdefault(seq, []).append(float(load))
    sds = [statistics.pstdev(v) for v in by_seq.values() if len(v) > 1]
    return statistics.fmean(sds) if sds else float("nan")


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(p / 100 * (len(v) - 1) + 0.5))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", help="NAME=REQUESTS[:BEACONS]")
    ap.add_argument("--dt", type=float, default=0.05)
    ap.add_argument("--from", dest="t0", type=float, default=2.0)
    ap.add_argument("--to", dest="t1", type=float, default=30.0)
    ap.add_argument("--dat-dir", default=".")
    ap.add_argument("--summary", help="file for the sd/p99 table by topology")
    a = ap.parse_args()
    summary = {}  # (policy, estimator) -> topology -> (sd, p99)
    topologies = []

    print("| run | sd of queues | max−min | idle while other ≥2 | mean queue | share per worker | p50 ms | p99 ms | beacon load sd | requests | retried | non-200 |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for spec in a.runs:
        name, files = spec.split("=", 1)
        req_path, _, beacon_path = files.partition(":")
        reqs = load_requests(req_path)
        ok = [r for r in reqs if r[2] == 200 and r[3] != "-"]
        workers = sorted({r[3] for r in ok})
        samples = queues(ok, workers, a.t0, a.t1, a.dt)
        sds = [statistics.pstdev(q) for _, q in samples]
        ranges = [max(q) - min(q) for _, q in samples]
        idle2 = sum(1 for _, q in samples if min(q) == 0 and max(q) >= 2) / len(samples)
        meanq = statistics.fmean(sum(q) / len(q) for _, q in samples)
        window = [r for r in ok if a.t0 <= r[0] < a.t1]
        shares = [sum(1 for r in window if r[3] == w) / len(window) for w in workers]
        lat = [(r[1] - r[0]) * 1000 for r in window]
        bsd = beacon_sd(beacon_path, a.t0, a.t1) if beacon_path else float("nan")
        retried = sum(1 for r in reqs if r[4] > 1)
        bad = sum(1 for r in reqs if r[2] != 200)
        topo, _, rest = name.partition("_")
        policy, _, est = rest.rpartition("_estimator_")
        summary.setdefault((policy, est), {})[topo] = (statistics.fmean(sds), pct(lat, 99))
        if topo not in topologies:
            topologies.append(topo)
        print(f"| {name} | {statistics.fmean(sds):.2f} | {statistics.fmean(ranges):.2f} | {idle2 * 100:.0f}% | {meanq:.2f} | "
              f"{min(shares) * 100:.1f}–{max(shares) * 100:.1f}% | {pct(lat, 50):.1f} | {pct(lat, 99):.1f} | {bsd:.2f} | {len(reqs)} | {retried} | {bad} |")
        with open(os.path.join(a.dat_dir, f"{name}.dat"), "w") as f:
            f.write("# t " + " ".join(workers) + "\n")
            for t, q in samples:
                f.write(f"{t:.3f} " + " ".join(str(x) for x in q) + "\n")

    if a.summary:
        with open(a.summary, "w") as f:
            f.write("| policy | estimator | " + " | ".join(f"sd {t}" for t in topologies) + " | "
                    + " | ".join(f"p99 {t}" for t in topologies) + " |\n")
            f.write("|---|---|" + "---|" * (2 * len(topologies)) + "\n")
            for (policy, est), by_topo in summary.items():
                sd = [f"{by_topo[t][0]:.2f}" if t in by_topo else "" for t in topologies]
                p99 = [f"{by_topo[t][1]:.0f}" if t in by_topo else "" for t in topologies]
                f.write(f"| {policy} | {est} | " + " | ".join(sd) + " | " + " | ".join(p99) + " |\n")


if __name__ == "__main__":
    main()
