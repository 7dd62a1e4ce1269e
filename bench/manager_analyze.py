#!/usr/bin/env python3
"""Figures of one manager-benchmark run from the receiver's beacon trace (bench/manager_capacity.sh).

Input: the trace of `manager_fleet receive` (one line per whole beacon:
arrival_unix_s sent_unix_s seq tick extra workers parts bytes rx_cpu_s mgr_cpu_s load_reports)
and the number of fake workers. The steady window is the beacons that list all the
workers, from --warmup seconds after the first of them to a second before the last.

Lateness of a periodic beacon = its send stamp (header, ms resolution) minus its ideal
time, anchor + tick * interval, where the anchor is the earliest any beacon of the
window allows (so the most punctual beacon is 0 ms late). Arrival lateness is the same
for the moment the receiver had the whole beacon. Prints "key value" lines.
"""
import argparse


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("trace")
    ap.add_argument("--workers", type=int, required=True)
    ap.add_argument("--interval-ms", type=float, default=500)
    ap.add_argument("--warmup", type=float, default=5)
    a = ap.parse_args()
    rows = []
    for line in open(a.trace):
        if line.startswith("#") or not line.strip():
            continue
        f = line.split()
        rows.append(dict(arrival=float(f[0]), sent=float(f[1]), seq=int(f[2]), tick=int(f[3]), extra=int(f[4]), workers=int(f[5]),
                         parts=int(f[6]), bytes=int(f[7]), rx_cpu=float(f[8]), mgr_cpu=float(f[9]), reports=int(f[10])))
    full = [r for r in rows if r["workers"] >= a.workers]
    if len(full) < 3:
        print("error too_few_beacons_with_all_workers")
        return
    t_begin = full[0]["arrival"] + a.warmup
    # The last second goes too: the fleet deregisters at the end.
    window = [r for r in full if t_begin <= r["arrival"] <= full[-1]["arrival"] - 1.0]
    periodic = [r for r in window if not r["extra"]]
    if len(periodic) < 3:
        print("error window_too_short")
        return
    first, last = periodic[0], periodic[-1]
    dt = last["arrival"] - first["arrival"]
    iv = a.interval_ms / 1000
    anchor = min(r["sent"] - r["tick"] * iv for r in periodic)
    late_sent = [(r["sent"] - anchor - r["tick"] * iv) * 1000 for r in periodic]
    anchor_rx = min(r["arrival"] - r["tick"] * iv for r in periodic)
    late_rx = [(r["arrival"] - anchor_rx - r["tick"] * iv) * 1000 for r in periodic]
    ticks = last["tick"] - first["tick"] + 1
    inside = [r for r in window if first["arrival"] < r["arrival"] <= last["arrival"]]
    out = {
        "window_s": f"{dt:.1f}",
        "beacons": len(periodic),
        "extra_beacons": len(window) - len(periodic),
        "ticks_missing": ticks - len({r['tick'] for r in periodic}),
        "late_p50_ms": f"{pct(late_sent, 50):.1f}",
        "late_p99_ms": f"{pct(late_sent, 99):.1f}",
        "late_max_ms": f"{max(late_sent):.1f}",
        "late_over_10pct": sum(1 for x in late_sent if x > a.interval_ms / 10),
        "arrival_late_p99_ms": f"{pct(late_rx, 99):.1f}",
        "arrival_late_max_ms": f"{max(late_rx):.1f}",
        "parts": last["parts"],
        "bytes_per_beacon": last["bytes"],
        "beacon_bytes_per_s": f"{sum(r['bytes'] for r in inside) / dt:.0f}",
        "manager_cpu_pct": f"{100 * (last['mgr_cpu'] - first['mgr_cpu']) / dt:.1f}",
        "receiver_cpu_pct": f"{100 * (last['rx_cpu'] - first['rx_cpu']) / dt:.2f}",
        "receiver_cpu_ms_per_beacon": f"{1000 * (last['rx_cpu'] - first['rx_cpu']) / max(1, len(inside)):.2f}",
        "reports_per_s": f"{(last['reports'] - first['reports']) / dt:.0f}",
    }
    for k, v in out.items():
        print(k, v)


if __name__ == "__main__":
    main()
