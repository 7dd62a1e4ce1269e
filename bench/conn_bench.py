#!/usr/bin/env python3
"""Many-connection helpers of bench/idle_connections.sh and bench/slow_origin.sh (asyncio).

  hold    opens --count keep-alive connections to 127.0.0.1:--port, sends one request
          (GET --path) on each and reads its whole answer (Content-Length framed), then
          holds them all idle. Prints one JSON line when they are all up
          ({"event": "open", "open": n, "failed": n, "statuses": {...}, "seconds": s}),
          then sleeps until --hold seconds have passed or it is killed.
  origin  a slow HTTP/1.1 origin on 127.0.0.1:--port: reads each request head, waits
          --delay seconds, answers 200 with --body bytes (Cache-Control: no-store), keeps
          the connection alive (a path starting /fast is answered at once, for warm-ups).
          Holds thousands of connections in one thread. Prints a JSON line with its
          counters (requests, in flight now, peak in flight, connections) every second
          while they change, and once more on SIGTERM.
  fetch   --count concurrent clients, each on its own connection: connect to the proxy at
          127.0.0.1:--port, send one absolute-form GET for --url + "<i>", read the whole
          answer, close. At most --connect-concurrency connects at once (the listen backlog
          is 4096 here). Prints one JSON line: ok (status 200 with the whole body), failed by
          reason, latency (request sent -> last byte) min/p50/p90/p99/max, connect time
          p50/max, and the spread of the send times.
Raises its own RLIMIT_NOFILE as far as the hard limit allows.
"""
import argparse
import asyncio
import json
import resource
import signal
import sys
import time


def raise_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        new = want if hard == resource.RLIM_INFINITY else min(want, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))


async def read_response(reader):
    """Reads one Content-Length framed response; returns (status, body length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = None
    chunked = False
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value.strip())
        elif name == "transfer-encoding" and "chunked" in value.lower():
            chunked = True
    if chunked:
        total = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await reader.readuntil(b"\r\n")
                return status, total
            await reader.readexactly(size + 2)
            total += size
    if length is None:
        body = await reader.read()  # close-delimited
        return status, len(body)
    await reader.readexactly(length)
    return status, length


# ------------------------------------------------------------------ hold

async def hold(a):
    sem = asyncio.Semaphore(a.concurrency)
    conns, statuses, failed = [], {}, {}
    req = f"GET {a.path} HTTP/1.1\r\nHost: 127.0.0.1:{a.port}\r\nUser-Agent: conn_bench\r\n\r\n".encode()
    t0 = time.monotonic()

    async def one():
        async with sem:
            try:
                r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", a.port), 30)
                w.write(req)
                st, _ = await asyncio.wait_for(read_response(r), 30)
                statuses[st] = statuses.get(st, 0) + 1
                conns.append((r, w))
            except Exception as e:  # noqa: BLE001 - counted, not fatal
                k = type(e).__name__
                failed[k] = failed.get(k, 0) + 1

    await asyncio.gather(*(one() for _ in range(a.count)))
    print(json.dumps({"event": "open", "open": len(conns), "failed": sum(failed.values()), "failures": failed,
                      "statuses": {str(k): v for k, v in statuses.items()}, "seconds": round(time.monotonic() - t0, 2)}),
          flush=True)
    # Hold: the server must not have closed any (a closed one would show as EOF).
    await asyncio.sleep(a.hold)


# ------------------------------------------------------------------ origin

async def origin(a):
    st = {"requests": 0, "in_flight": 0, "peak_in_flight": 0, "connections": 0, "peak_connections": 0}
    body = b"x" * a.body
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
            "Cache-Control: no-store\r\n\r\n").encode()

    async def serve(r, w):
        st["connections"] += 1
        st["peak_connections"] = max(st["peak_connections"], st["connections"])
        try:
            while True:
                try:
                    head_in = await r.readuntil(b"\r\n\r\n")  # GET only: no request body
                except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
                    break
                fast = head_in.split(b" ", 2)[1].startswith(b"/fast")  # for warm-ups: no delay, not counted
                if fast:
                    w.write(head + body)
                    await w.drain()
                    continue
                st["in_flight"] += 1
                st["peak_in_flight"] = max(st["peak_in_flight"], st["in_flight"])
                try:
                    await asyncio.sleep(a.delay)
                    w.write(head + body)
                    await w.drain()
                finally:
                    st["in_flight"] -= 1
                st["requests"] += 1
        except ConnectionError:
            pass
        finally:
            st["connections"] -= 1
            w.close()

    server = await asyncio.start_server(serve, "127.0.0.1", a.port, backlog=8192, reuse_address=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print(json.dumps({"event": "listening", "port": a.port}), flush=True)
    last = None
    async with server:
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), 1)
            except asyncio.TimeoutError:
                pass
            if st != last:
                print(json.dumps({"event": "stats", **st}), flush=True)
                last = dict(st)
    print(json.dumps({"event": "stats", **st}), flush=True)


# ------------------------------------------------------------------ fetch

def pct(xs, p):
    if not xs:
        return None
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


async def fetch(a):
    sem = asyncio.Semaphore(a.connect_concurrency)
    lat, conn_t, sends, failed = [], [], [], {}
    ok = 0
    target_host = a.url.split("/")[2]

    async def one(i):
        nonlocal ok
        w = None
        try:
            async with sem:
                c0 = time.monotonic()
                r, w = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", a.port), a.timeout)
                conn_t.append(time.monotonic() - c0)
            req = (f"GET {a.url}{i} HTTP/1.1\r\nHost: {target_host}\r\nUser-Agent: conn_bench\r\n"
                   "Connection: close\r\n\r\n").encode()
            s0 = time.monotonic()
            sends.append(s0)
            w.write(req)
            stt, n = await asyncio.wait_for(read_response(r), a.timeout)
            if stt == 200 and n == a.body:
                ok += 1
                lat.append(time.monotonic() - s0)
            else:
                k = f"status {stt}" if stt != 200 else f"short body {n}"
                failed[k] = failed.get(k, 0) + 1
        except Exception as e:  # noqa: BLE001 - counted
            k = type(e).__name__
            failed[k] = failed.get(k, 0) + 1
        finally:
            if w is not None:
                w.close()

    t0 = time.monotonic()
    await asyncio.gather(*(one(i) for i in range(a.count)))
    r3 = lambda x: None if x is None else round(x, 3)  # noqa: E731
    print(json.dumps({
        "event": "done", "count": a.count, "ok": ok, "failed": sum(failed.values()), "failures": failed,
        "latency_s": {"min": r3(min(lat) if lat else None), "p50": r3(pct(lat, 50)), "p90": r3(pct(lat, 90)),
                      "p99": r3(pct(lat, 99)), "max": r3(max(lat) if lat else None)},
        "connect_s": {"p50": r3(pct(conn_t, 50)), "max": r3(max(conn_t) if conn_t else None)},
        "send_spread_s": r3(max(sends) - min(sends) if sends else None),
        "wall_s": r3(time.monotonic() - t0)}), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hold")
    h.add_argument("--port", type=int, required=True)
    h.add_argument("--count", type=int, required=True)
    h.add_argument("--path", default="/")
    h.add_argument("--concurrency", type=int, default=500, help="connections being opened at once")
    h.add_argument("--hold", type=float, default=600)
    o = sub.add_parser("origin")
    o.add_argument("--port", type=int, required=True)
    o.add_argument("--delay", type=float, default=5)
    o.add_argument("--body", type=int, default=1024)
    f = sub.add_parser("fetch")
    f.add_argument("--port", type=int, required=True)
    f.add_argument("--count", type=int, required=True)
    f.add_argument("--url", required=True, help="absolute URL prefix; the client's index is appended")
    f.add_argument("--body", type=int, default=1024, help="expected body size")
    f.add_argument("--connect-concurrency", type=int, default=1000)
    f.add_argument("--timeout", type=float, default=120)
    a = ap.parse_args()
    raise_nofile(max(getattr(a, "count", 0) + 200, 20000))
    asyncio.run({"hold": hold, "origin": origin, "fetch": fetch}[a.cmd](a))


if __name__ == "__main__":
    main()
