#!/usr/bin/env python3
"""Idle connections for bench/frontend_memory.sh: opens N, holds them, closes them.

Opens --count TCP connections to --port in batches (optionally sends one request on
each and reads its answer, so that the connection has served a request and sits idle
in keep-alive), prints "open <n> failed <n>" when they are all up, then waits for a line
on stdin and closes every connection, printing "closed". Raises its own RLIMIT_NOFILE.
"""
import argparse
import resource
import socket
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--request", default="", help="request path to send on each connection ('' = none)")
    ap.add_argument("--batch", type=int, default=500)
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = a.count + 100
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard) if hard != resource.RLIM_INFINITY else want, hard))
    conns, failed = [], 0
    req = f"GET {a.request} HTTP/1.1\r\nHost: x\r\n\r\n".encode() if a.request else b""
    while len(conns) + failed < a.count:
        batch = []
        for _ in range(min(a.batch, a.count - len(conns) - failed)):
            s = socket.socket()
            s.settimeout(10)
            try:
                s.connect(("127.0.0.1", a.port))
                batch.append(s)
            except OSError:
                failed += 1
                s.close()
        if req:
            for s in batch:
                s.sendall(req)
            for s in list(batch):
                try:
                    data = s.recv(65536)  # the small answers fit in one read
                    if not data.startswith(b"HTTP/1.1"):
                        raise OSError("no answer")
                except OSError:
                    failed += 1
                    batch.remove(s)
                    s.close()
        conns.extend(batch)
    print(f"open {len(conns)} failed {failed}", flush=True)
    sys.stdin.readline()
    for s in conns:
        s.close()
    print("closed", flush=True)


if __name__ == "__main__":
    main()
