#!/usr/bin/env python3
"""A discrete-event model of bench/load_balance.sh, for comparing queue estimators.

Models what the benchmark runs: N single-threaded FIFO workers, Poisson arrivals split
evenly over D dispatching views (a view is what one estimate is made from: a front end
since its threads share one tally, or each thread before they did), worker load reports
every report_ms folded into the manager's moving average (weight `smoothing`), a beacon
every beacon_ms that resets every view's tally. Each view picks a worker by least-loaded
(ties at random) over its estimates. It prints the benchmark's main figure, the mean
over time of the standard deviation of the N queues (sampled every 50 ms), averaged
over seeds. Stdlib only; about a second per configuration and seed.

Estimators (L: beacon load; s, a: this view's sends and answers for the worker since the
beacon; ā: mean of a over the workers; D: views):
  scaled   L + D (s - a)                    (before issue 6, with D = every thread)
  pooled   L + s - a + (D-1) (s - ā)        (others' answers from the class mean only)
  shrunk   L + s - a + (D-1) (s - (a+ā)/2)  (EstimateQueue in src/sns/manager_stub.cc, before answers
                                            announced loads)
  answered shrunk, but L is the load the worker announced in its newest answer to this view
           when that answer came after the previous beacon, and s, a count from that answer
           (what src/sns/manager_stub.cc does since issue 6)
  random   no estimate: a worker at random (the reference)

  bench/lb_model.py                       # the table quoted in docs/design.md
  bench/lb_model.py --views 1 2 4 --service exp --seeds 10
"""
import argparse
import heapq
import random
import statistics


def simulate(views, estimator, service, seed, workers=4, rate=147.0, cost=0.020, seconds=30.0, report=0.2, beacon=0.5,
             smoothing=0.3):
    rng = random.Random(seed)
    n = workers
    queue = [0] * n              # queued + running
    fifo = [[] for _ in range(n)]  # view of each task, in order
    load = [0.0] * n             # the manager's moving average
    beacon_load = [0.0] * n
    sent = [[0] * n for _ in range(views)]
    answered = [[0] * n for _ in range(views)]
    picker = [random.Random(seed * 1000 + v) for v in range(views)]
    seen = [[None] * n for _ in range(views)]      # answered: (load, time) of the newest answer
    last_beacon = -1.0
    events = []
    seq = 0

    def push(t, kind, data=None):
        nonlocal seq
        seq += 1
        heapq.heappush(events, (t, seq, kind, data))

    for w in range(n):
        push(rng.random() * report, "report", w)
    push(rng.random() * beacon, "beacon")
    t = rng.expovariate(rate)
    while t < seconds:
        push(t, "arrive")
        t += rng.expovariate(rate)
    for k in range(int(seconds / 0.05)):
        push(k * 0.05, "sample")

    def estimate(v):
        s, a = sent[v], answered[v]
        mean_a = sum(a) / n
        out = []
        for w in range(n):
            base = beacon_load[w]
            if estimator == "answered" and seen[v][w] is not None:
                base = seen[v][w][0]
            if estimator == "scaled":
                q = beacon_load[w] + views * (s[w] - a[w])
            elif estimator == "pooled":
                q = beacon_load[w] + (s[w] - a[w]) + (views - 1) * (s[w] - mean_a)
            else:
                q = base + (s[w] - a[w]) + (views - 1) * (s[w] - (a[w] + mean_a) / 2)
            out.append(max(0.0, q))
        return out

    def start(w, now):
        if len(fifo[w]) == 1:  # it was idle
            push(now + (rng.expovariate(1 / cost) if service == "exp" else cost), "done", w)

    samples = []
    while events:
        now, _, kind, data = heapq.heappop(events)
        if now > seconds:
            break
        if kind == "report":
            load[data] = smoothing * queue[data] + (1 - smoothing) * load[data]
            push(now + report, "report", data)
        elif kind == "beacon":
            beacon_load = list(load)
            for v in range(views):
                for w in range(n):
                    if estimator == "answered" and seen[v][w] is not None and seen[v][w][1] >= last_beacon:
                        continue  # an answer since the previous beacon is fresher: keep it
                    seen[v][w] = None
                    sent[v][w] = 0
                    answered[v][w] = 0
            last_beacon = now
            push(now + beacon, "beacon")
        elif kind == "arrive":
            v = rng.randrange(views)
            if estimator == "random":
                w = picker[v].randrange(n)
            else:
                est = estimate(v)
                low = min(est)
                w = picker[v].choice([i for i in range(n) if est[i] <= low])
            sent[v][w] += 1
            queue[w] += 1
            fifo[w].append(v)
            start(w, now)
        elif kind == "done":
            v = fifo[data].pop(0)
            queue[data] -= 1
            answered[v][data] += 1
            if estimator == "answered":  # the answer announces the queue it leaves behind
                seen[v][data] = (queue[data], now)
                sent[v][data] = 0
                answered[v][data] = 0
            if fifo[data]:
                push(now + (rng.expovariate(1 / cost) if service == "exp" else cost), "done", data)
        elif kind == "sample" and now >= 2.0:
            samples.append(statistics.pstdev(queue))
    return statistics.fmean(samples)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--views", type=int, nargs="+", default=[1, 2, 4, 8])
    ap.add_argument("--estimators", nargs="+", default=["random", "scaled", "pooled", "shrunk", "answered"])
    ap.add_argument("--service", nargs="+", default=["det", "exp"], help="det: fixed 20 ms (the benchmark); exp: exponential, mean 20 ms")
    ap.add_argument("--seeds", type=int, default=6)
    a = ap.parse_args()
    print("| service time | estimator | " + " | ".join(f"{v} view{'s' if v > 1 else ''}" for v in a.views) + " |")
    print("|---|---|" + "---|" * len(a.views))
    for service in a.service:
        for est in a.estimators:
            row = [statistics.fmean(simulate(v, est, service, seed) for seed in range(1, a.seeds + 1)) for v in a.views]
            print(f"| {'fixed 20 ms' if service == 'det' else 'exponential, mean 20 ms'} | {est} | " + " | ".join(f"{x:.2f}" for x in row) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
