"""Measure the retry arithmetic: C against its twin and against stock RQ.

    python benchmarks/bench_retry.py [--jobs N]

Per call: stock ``Retry.get_interval`` and ``Job.get_retry_interval`` against
rqfast's (C and twin), and a jittered exponential backoff, which stock RQ
cannot express. In bulk: the next run time of N failed jobs, which stock RQ
computes one job at a time (``get_retry_interval`` plus ``now() + timedelta``)
and rqfast in one ``next_run_times`` call. Times are the best of five
repeats; the ratio is stock's time (or the twin's, where stock has no
equivalent) over C's.
"""

from __future__ import annotations

import argparse
import time
import timeit
from collections.abc import Callable
from datetime import timedelta

import redis
import rq
import rq.job
from rq.utils import now

from rqfast import _reference
from rqfast._impl import c_ext


def best(fn: Callable[[], object], number: int) -> float:
    """Return the best time per call, in microseconds, of five repeats."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000)
    parser.add_argument("--number", type=int, default=100_000)
    options = parser.parse_args()
    if c_ext is None:
        raise SystemExit("the rqfast C extension is not built")
    number, jobs = options.number, options.jobs

    intervals = [10, 30, 60, 120, 300]
    job = rq.job.Job.create("os.path.join", connection=redis.Redis())
    job.retry_intervals, job.retries_left = intervals, 3
    per_call = [
        (
            "Retry.get_interval",
            lambda: rq.Retry.get_interval(3, intervals),
            lambda: c_ext.get_interval(3, intervals),
            lambda: _reference.get_interval(3, intervals),
        ),
        (
            "Job.get_retry_interval",
            lambda: rq.job.Job.get_retry_interval(job),
            lambda: c_ext.retry_interval(intervals, 3),
            lambda: _reference.retry_interval(intervals, 3),
        ),
        (
            "backoff + full jitter",
            None,
            lambda: c_ext.retry_delay(4, 8.0, 1.0, 2.0, 300.0, 1, 12345),
            lambda: _reference.retry_delay(4, 8.0, 1.0, 2.0, 300.0, 1, 12345),
        ),
    ]
    print(f"per call, µs (best of 5 x {number})")
    print(f"{'operation':<26}{'stock':>8}{'C':>8}{'twin':>8}{'ratio':>9}")
    for name, stock, fast, twin in per_call:
        c_us, twin_us = best(fast, number), best(twin, number)
        stock_us = best(stock, number) if stock is not None else None
        base = stock_us if stock_us is not None else twin_us
        shown = f"{stock_us:>8.3f}" if stock_us is not None else f"{'-':>8}"
        label = "x" if stock_us is not None else "x (twin/C)"
        print(f"{name:<26}{shown}{c_us:>8.3f}{twin_us:>8.3f}{base / c_us:>8.1f}{label}")

    numbers = [1 + i % 5 for i in range(jobs)]
    previous = [float(2 ** (n - 1)) for n in numbers]

    def stock_bulk() -> object:
        due = []
        for left in numbers:
            job.retries_left = 6 - left
            due.append(now() + timedelta(seconds=job.get_retry_interval()))
        return due

    def c_bulk() -> object:
        return c_ext.next_run_times(
            time.time(), numbers, previous, 1.0, 2.0, 300.0, 1, 99
        )

    def twin_bulk() -> object:
        return _reference.next_run_times(
            time.time(), numbers, previous, 1.0, 2.0, 300.0, 1, 99
        )

    stock_ms = min(timeit.repeat(stock_bulk, number=1, repeat=3)) * 1e3
    c_ms = min(timeit.repeat(c_bulk, number=1, repeat=5)) * 1e3
    twin_ms = min(timeit.repeat(twin_bulk, number=1, repeat=3)) * 1e3
    print(f"\nnext run time of {jobs} jobs, ms")
    print(f"{'stock, one job at a time':<34}{stock_ms:>10.1f}")
    print(f"{'rqfast twin, next_run_times':<34}{twin_ms:>10.1f}")
    print(f"{'rqfast C, next_run_times':<34}{c_ms:>10.1f}")
    print(f"ratio stock/C {stock_ms / c_ms:.1f}x, twin/C {twin_ms / c_ms:.1f}x")


if __name__ == "__main__":
    main()
