#!/usr/bin/env python3
"""Sampler of bench/experiments/frontend_state.sh: the state of each front end over time.

Every --interval seconds, for each front end given as --fe NAME:PID:PORT:ADMIN_PORT, one CSV row:

  t_s             seconds since --t0 (a Unix time: the start of the load)
  fe              NAME
  rss_kb          VmRSS (/proc/PID/status)
  threads         Threads (/proc/PID/status)
  fds             open descriptors (/proc/PID/fd)
  client_sockets  its ESTABLISHED TCP sockets whose local port is PORT (connections from clients)
  origin_sockets  its ESTABLISHED TCP sockets whose remote port is one of --origin-ports
  utime, stime    CPU ticks, cumulative (/proc/PID/stat; CLK_TCK a second)
  answered        tacc_http_requests_total from http://127.0.0.1:ADMIN_PORT/_tacc/metrics (-1: no answer)
  play_in_flight  sum over --play-log files of the last "in flight N" of `tacc play --progress always`

Sockets are attributed to a process by inode: `ss -tne state established` (netlink, one call
for all front ends) joined with the socket inodes of /proc/PID/fd, so several front ends (and
the clients and origins on the same host, whose ends of the same connections have the same
ports) are told apart. Runs until SIGTERM/SIGINT or --duration.
"""
import argparse
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request

SS_RE = re.compile(r"\S+:(\d+)\s+\S+:(\d+)\s.*?ino:(\d+)")
FLIGHT_RE = re.compile(rb"in flight (\d+)")


def status_fields(pid):
    rss = thr = -1
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
            elif line.startswith("Threads:"):
                thr = int(line.split()[1])
    return rss, thr


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return int(rest[11]), int(rest[12])  # utime, stime (fields 14 and 15)


def socket_inodes(pid):
    d = f"/proc/{pid}/fd"
    n, inodes = 0, set()
    for fd in os.listdir(d):
        n += 1
        try:
            link = os.readlink(f"{d}/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            inodes.add(int(link[8:-1]))
    return n, inodes


def answered(admin_port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/_tacc/metrics", timeout=1) as r:
            for line in r.read().decode().splitlines():
                if line.startswith("tacc_http_requests_total"):
                    return int(float(line.split()[-1]))
    except Exception:
        pass
    return -1


def last_in_flight(path):
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 4096))
            tail = f.read()
    except OSError:
        return 0
    m = FLIGHT_RE.findall(tail)
    return int(m[-1]) if m else 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--fe", action="append", required=True, help="NAME:PID:PORT:ADMIN_PORT")
    p.add_argument("--origin-ports", required=True, help="comma-separated")
    p.add_argument("--play-log", action="append", default=[])
    p.add_argument("--t0", type=float, required=True)
    p.add_argument("--interval", type=float, default=1.0)
    p.add_argument("--duration", type=float, default=0)
    p.add_argument("--out", required=True)
    a = p.parse_args()
    fes = []
    for spec in a.fe:
        name, pid, port, admin = spec.split(":")
        fes.append((name, int(pid), int(port), int(admin)))
    oports = {int(x) for x in a.origin_ports.split(",") if x}
    fports = {f[2] for f in fes}
    terms = [f"sport = :{x}" for x in sorted(fports)] + [f"dport = :{x}" for x in sorted(oports)]
    ss_cmd = ["ss", "-Htne", "state", "established", "( " + " or ".join(terms) + " )"]

    stop = False

    def on_signal(*_):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    out = open(a.out, "a", buffering=1)
    if out.tell() == 0:
        out.write("t_s,fe,rss_kb,threads,fds,client_sockets,origin_sockets,utime,stime,answered,play_in_flight\n")
    start = time.monotonic()
    nxt = start
    while not stop and (a.duration <= 0 or time.monotonic() - start < a.duration):
        t = time.time() - a.t0
        try:
            ss = subprocess.run(ss_cmd, capture_output=True, text=True, timeout=10).stdout
        except subprocess.TimeoutExpired:
            ss = ""
        by_inode = {}
        for line in ss.splitlines():
            m = SS_RE.search(line)
            if m:
                by_inode[int(m.group(3))] = (int(m.group(1)), int(m.group(2)))
        flight = sum(last_in_flight(x) for x in a.play_log)
        for name, pid, port, admin in fes:
            try:
                rss, thr = status_fields(pid)
                ut, st = cpu_ticks(pid)
                nfd, inodes = socket_inodes(pid)
            except (OSError, IndexError, ValueError):
                continue  # gone
            cl = og = 0
            for ino in inodes:
                ports = by_inode.get(ino)
                if ports is None:
                    continue
                if ports[0] == port:
                    cl += 1
                elif ports[1] in oports:
                    og += 1
            out.write(f"{t:.2f},{name},{rss},{thr},{nfd},{cl},{og},{ut},{st},{answered(admin)},{flight}\n")
        nxt += a.interval
        delay = nxt - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            nxt = time.monotonic()
    out.close()


if __name__ == "__main__":
    sys.exit(main())
