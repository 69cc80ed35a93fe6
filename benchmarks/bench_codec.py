"""Measure the job-hash codec against stock RQ in one run and print the ratios.

    python benchmarks/bench_codec.py [--number N]

Each operation runs on the same realistic job (every field RQ writes is set):
stock RQ's method, then rqfast's on the C extension and on its pure-Python
twin. Two rows measure what the worker sends: a timestamp as the text
redis-py writes for its float, and a lifecycle script call of some seventy
arguments packed as hiredis packs it (stock: hiredis itself). Times are the
best of five repeats, in microseconds per call; the ratio is stock's time over
rqfast's. No Redis server is needed: the job hash is encoded exactly as
redis-py would send it.
"""

from __future__ import annotations

import argparse
import timeit
import uuid
import zlib
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import hiredis
import redis
import rq.job
import rq.utils
from redis.connection import Encoder
from rq.job import Callback, JobStatus

import rqfast
from rqfast import _impl
from rqfast.scripts import pack_command


def realistic_job(connection: redis.Redis) -> rq.job.Job:
    """Return a job with every field stock RQ writes set."""
    moment = datetime(2026, 12, 3, 19, 48, 6, 123456, tzinfo=timezone.utc)
    job = rq.job.Job.create(
        "myapp.tasks.send_invoice",
        args=(1234, "customer@example.com"),
        kwargs={"currency": "EUR", "lines": [("widget", 3, 9.99), ("gadget", 1, 24.5)]},
        connection=connection,
        result_ttl=3600,
        ttl=86400,
        failure_ttl=604800,
        status=JobStatus.STARTED,
        description="send_invoice(1234, 'customer@example.com') — répété",
        depends_on=["a1b2c3d4-parent"],
        timeout=180,
        retry=rq.job.Retry(max=5, interval=[10, 30, 60, 120, 300]),
        id="0f4c4f1e-6a8b-4bde-9d7e-5f0b8a1c2d3e",
        origin="invoices",
        meta={"tenant": "acme", "attempt_note": "first"},
        group_id="batch-42",
        on_success=Callback("myapp.tasks.on_ok", timeout=30),
        on_failure=Callback("myapp.tasks.on_error", timeout=30),
        on_stopped=Callback("myapp.tasks.on_stop", timeout=30),
    )
    job.created_at = moment
    job.enqueued_at = moment + timedelta(milliseconds=3)
    job.started_at = moment + timedelta(seconds=2)
    job.ended_at = moment + timedelta(seconds=3)
    job.last_heartbeat = moment + timedelta(seconds=2, milliseconds=500)
    job.worker_name = "worker-7f3a.host-1"
    job._result = {"invoice": 1234, "status": "sent"}
    job._exc_info = "Traceback (most recent call last):\n  ...\nTimeoutError: smtp\n"
    job.number_of_retries = 1
    job.enqueue_at_front = False
    job.allow_dependency_failures = False
    return job


def redis_hash(mapping: dict[str, Any]) -> dict[bytes, bytes]:
    """Return the hash HGETALL would give back after HSET of ``mapping``."""
    encoder = Encoder("utf-8", "strict", False)
    return {encoder.encode(k): encoder.encode(v) for k, v in mapping.items()}


def script_call(job: rq.job.Job) -> tuple[Any, ...]:
    """Return a lifecycle script call as a worker sends it: a finish, then a start."""
    execution = uuid.uuid4().hex
    now = "2026-12-03T19:48:09.123456Z"
    keys = [
        "rq:worker:w1",
        job.key,
        job.dependents_key,
        f"rq:execution:{job.id}:{execution}",
        f"rq:executions:{job.id}",
        "rq:wip:invoices",
        f"rq:results:{job.id}",
        "rq:finished:invoices",
        "rq:queues",
        job.dependencies_key,
        "rq:worker:w1",
        "rq:suspended",
        "rq:queue:invoices",
        "rq:wip:invoices",
        "rq:queue:invoices:intermediate",
    ]
    finish = ["10", job.id, "successful_job_count", "0.012345", execution, now, 480]
    finish += ["3600", "3600", "zadd", 1796345260, "", 8, 12]
    finish += ["status", JobStatus.FINISHED, "ended_at", now, "last_heartbeat", now]
    finish += ["started_at", now, "type", 1, "worker_name", "w1", "return_value"]
    finish += ["gASVBgAAAAAAAACMAm9rlC4=", "execution_id", execution]
    finish += ["execution_started_at", 1796345260.972173, "execution_ended_at"]
    finish += [1796345260.984518]
    start = ["w1", uuid.uuid4().hex, now, 1796345260.99, 1796345260, "1", 30]
    start += [420, 480, "rq:job:", "", ""]
    header = [2, "finish", 10, len(finish), "start", 5, len(start)]
    return ("EVALSHA", "a" * 40, len(keys), *keys, *header, *finish, *start)


def best(fn: Callable[[], object], number: int) -> float:
    """Return the best time per call, in microseconds, of five repeats."""
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000)
    number = parser.parse_args().number

    connection = redis.Redis()  # never connects: nothing here does I/O
    job = realistic_job(connection)
    raw = redis_hash(rq.job.Job.to_dict(job))
    stamp = rq.utils.utcformat(job.started_at)
    moment = job.started_at
    command = script_call(job)
    assert pack_command(command) == hiredis.pack_command(command)
    target = rq.job.Job(job.id, connection=connection)
    fast_target = rqfast.Job(job.id, connection=connection)
    restored = rqfast.Job(job.id, connection=connection)
    restored.restore(raw)

    def fresh_payload(
        target: rq.job.Job, to_dict: Callable[[rq.job.Job], object]
    ) -> Callable[[], object]:
        def run() -> object:
            target.args = (1234, "customer@example.com")  # forces a new payload
            return to_dict(target)

        return run

    stock_fresh = rq.job.Job(job.id, connection=connection)
    rq.job.Job.restore(stock_fresh, raw)
    fast_fresh = rqfast.Job(job.id, connection=connection)
    fast_fresh.restore(raw)
    for loaded in (stock_fresh, fast_fresh):
        assert loaded.func_name  # deserialize once, so a new payload can be built

    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (
            "Job.restore",
            lambda: rq.job.Job.restore(target, raw),
            lambda: fast_target.restore(raw),
        ),
        (
            "Job.to_dict (read job)",
            lambda: rq.job.Job.to_dict(job),
            lambda: restored.to_dict(),
        ),
        (
            "Job.to_dict (new payload)",
            fresh_payload(stock_fresh, rq.job.Job.to_dict),
            fresh_payload(fast_fresh, rqfast.Job.to_dict),
        ),
        (
            "utcparse",
            lambda: rq.utils.utcparse(stamp),
            lambda: _impl.ext.utcparse(stamp),
        ),
        (
            "utcformat",
            lambda: rq.utils.utcformat(moment),
            lambda: _impl.ext.utcformat(moment),
        ),
        (
            "timestamp as sent",
            lambda: repr(moment.timestamp()),
            lambda: _impl.ext.timestamp_text(moment),
        ),
        (
            "pack a script call",
            lambda: hiredis.pack_command(command),
            lambda: pack_command(command),
        ),
    ]

    direct = (
        "deflated in C"
        if getattr(_impl.c_ext, "direct_deflate", False)
        else ("deflated by Python's zlib")
    )
    print(
        f"rq {rq.__version__}, rqfast {rqfast.__version__}, {number} calls x 5, "
        f"new payloads {direct} (zlib {zlib.ZLIB_RUNTIME_VERSION})"
    )
    print(
        f"{'operation':<28}{'stock µs':>10}{'C µs':>9}{'py µs':>9}"
        f"{'C ratio':>9}{'py ratio':>10}"
    )
    for name, stock, fast in cases:
        stock_us = best(stock, number)
        _impl.use("c")
        c_us = best(fast, number)
        _impl.use("py")
        py_us = best(fast, number)
        _impl.use("c")
        print(
            f"{name:<28}{stock_us:>10.2f}{c_us:>9.2f}{py_us:>9.2f}"
            f"{stock_us / c_us:>8.1f}x{stock_us / py_us:>9.1f}x"
        )


if __name__ == "__main__":
    main()
