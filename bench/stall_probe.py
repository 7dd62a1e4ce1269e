#!/usr/bin/env python3
"""Stall probe: how long the machine kept a process off its core (bench/manager_capacity.sh).

Sleeps --interval-ms in a loop for --seconds and reports how much later than asked it
woke up. Run beside a benchmarked process on the same core, at the same or a higher
scheduling priority, it tells stalls of the machine (hypervisor, kernel throttling of
real-time tasks, other work) from stalls of that process. Prints "key value" lines.
"""
import argparse
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--interval-ms", type=float, default=5)
    a = ap.parse_args()
    step = a.interval_ms / 1000
    end = time.monotonic() + a.seconds
    late = []
    prev = time.monotonic()
    while prev < end:
        time.sleep(step)
        now = time.monotonic()
        late.append((now - prev - step) * 1000)
        prev = now
    late.sort()
    print(f"probe_wakeups {len(late)}")
    print(f"probe_late_p99_ms {late[int(0.99 * (len(late) - 1))]:.2f}")
    print(f"probe_late_max_ms {late[-1]:.2f}")
    print(f"probe_stalls_over_20ms {sum(1 for x in late if x > 20)}")


if __name__ == "__main__":
    main()
