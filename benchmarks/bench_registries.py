"""Measure rqfast's registry operations against stock RQ in one run; print ratios.

    python benchmarks/bench_registries.py [--promote N] [--sweep N] [--requeue N]

Three workloads, each built afresh for stock RQ and for rqfast on a private
Redis server (or the one ``REDIS_URL`` names, database 0 is emptied):

- promotion of N due scheduled retries (default 100,000). Stock RQ's
  scheduler queues at most 1000 jobs per queue per tick and sleeps its
  interval (1 s) between ticks, so its time is its ticks times the interval
  plus the time the ticks took; rqfast's is one tick;
- StartedJobRegistry.cleanup of N abandoned jobs (default 5,000);
- requeueing N failed jobs (default 5,000): stock RQ as ``rq requeue --all``
  does it, one ``FailedJobRegistry.requeue`` per job.

The longest promotion script, as Redis's SLOWLOG timed it, is printed too.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from datetime import datetime, timezone

import redis
import rq.job
import rq.registry
import rq.scheduler
from rq.job import JobStatus

from rqfast import _impl, _server
from rqfast.registry import StartedJobRegistry, requeue_failed_jobs
from rqfast.scheduler import PROMOTE_CHUNK_SIZE, RQScheduler

STOCK_TICK = vars(rq.scheduler.RQScheduler)["enqueue_scheduled_jobs"]
STOCK_CLEANUP = vars(rq.registry.StartedJobRegistry)["cleanup"]
STOCK_REQUEUE = vars(rq.registry.BaseRegistry)["requeue"]
BATCH = 2000
#: Microseconds above which Redis's SLOWLOG records a call during promotion.
SLOWLOG_FLOOR_US = 500
# A failed registry score not yet expired: stock RQ cleans up expired ones.
LATER = time.time() + 86400


def job_hash(
    connection: redis.Redis, status: JobStatus, retry: bool
) -> dict[str, object]:
    """Return the hash stock RQ stores for a job in the given status."""
    job = rq.job.Job.create(
        "myapp.tasks.send_invoice",
        args=(1234, "customer@example.com"),
        connection=connection,
        origin="default",
        result_ttl=3600,
        failure_ttl=604800,
        timeout=180,
        status=status,
        retry=rq.job.Retry(max=3, interval=[10, 30]) if retry else None,
        meta={"tenant": "acme"},
    )
    job.ended_at = datetime(2026, 12, 3, 19, 48, 6, 123456, tzinfo=timezone.utc)
    return job.to_dict()


def fill(
    connection: redis.Redis,
    count: int,
    status: JobStatus,
    registry: str,
    member: str,
    retry: bool = True,
    score: float = 1,
) -> None:
    """Store ``count`` job hashes and register each in ``registry``."""
    connection.flushdb()
    mapping = job_hash(connection, status, retry)
    for start in range(0, count, BATCH):
        with connection.pipeline(transaction=False) as pipeline:
            entries = {}
            for number in range(start, min(start + BATCH, count)):
                job_id = f"job-{number:07d}"
                pipeline.hset(f"rq:job:{job_id}", mapping=mapping)  # type: ignore[arg-type]
                entries[member.format(job_id)] = score
            pipeline.zadd(registry, entries)
            pipeline.execute()


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def promotion(connection: redis.Redis, count: int) -> tuple[float, float, int, float]:
    """Return stock's time, rqfast's time, stock's ticks, the longest script (ms)."""
    fill(connection, count, JobStatus.SCHEDULED, "rq:scheduled:default", "{}")
    stock = rq.scheduler.RQScheduler(["default"], connection=connection)
    stock._acquired_locks = {"default"}
    ticks, busy = 0, 0.0
    while connection.zcard("rq:scheduled:default"):
        busy += timed(lambda: STOCK_TICK(stock))
        ticks += 1
    assert connection.llen("rq:queue:default") == count
    stock_time = ticks * stock.interval + busy

    fill(connection, count, JobStatus.SCHEDULED, "rq:scheduled:default", "{}")
    fast = RQScheduler(["default"], connection=connection)
    fast._acquired_locks = {"default"}
    # Only calls slower than this are logged, so that logging the many quick
    # commands does not slow the run measured; every chunk's script is slower.
    connection.config_set("slowlog-log-slower-than", SLOWLOG_FLOOR_US)
    connection.config_set("slowlog-max-len", 100000)
    connection.slowlog_reset()
    fast_time = timed(fast.enqueue_scheduled_jobs)
    scripts = [
        entry["duration"]
        for entry in connection.slowlog_get(100000)
        if entry["command"].startswith(b"EVALSHA")
    ]
    connection.config_set("slowlog-log-slower-than", 10000)
    assert connection.llen("rq:queue:default") == count
    return stock_time, fast_time, ticks, max(scripts, default=0) / 1000


def sweep(connection: redis.Redis, count: int) -> tuple[float, float]:
    """Return stock's and rqfast's time to fail ``count`` abandoned jobs."""
    fill(connection, count, JobStatus.STARTED, "rq:wip:default", "{}:x", False)
    stock = rq.registry.StartedJobRegistry("default", connection=connection)
    stock_time = timed(lambda: STOCK_CLEANUP(stock))
    assert connection.zcard("rq:failed:default") == count

    fill(connection, count, JobStatus.STARTED, "rq:wip:default", "{}:x", False)
    fast = StartedJobRegistry("default", connection=connection)
    fast_time = timed(fast.cleanup)
    assert connection.zcard("rq:failed:default") == count
    return stock_time, fast_time


def requeue(connection: redis.Redis, count: int) -> tuple[float, float]:
    """Return stock's and rqfast's time to requeue ``count`` failed jobs."""
    fill(connection, count, JobStatus.FAILED, "rq:failed:default", "{}", True, LATER)
    stock = rq.registry.FailedJobRegistry("default", connection=connection)

    def stock_requeue() -> None:
        for job_id in stock.get_job_ids():
            STOCK_REQUEUE(stock, job_id)

    stock_time = timed(stock_requeue)
    assert connection.llen("rq:queue:default") == count

    fill(connection, count, JobStatus.FAILED, "rq:failed:default", "{}", True, LATER)
    fast_time = timed(lambda: requeue_failed_jobs(connection, "default"))
    assert connection.llen("rq:queue:default") == count
    return stock_time, fast_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promote", type=int, default=100_000)
    parser.add_argument("--sweep", type=int, default=5_000)
    parser.add_argument("--requeue", type=int, default=5_000)
    options = parser.parse_args()

    with _server.redis_url_or_server() as url:
        connection = redis.Redis.from_url(url)
        print(
            f"implementation: {_impl.name}; Redis {connection.info()['redis_version']}"
        )
        stock, fast, ticks, longest = promotion(connection, options.promote)
        print(
            f"promote {options.promote} due jobs: stock {stock:.2f} s "
            f"({ticks} ticks of 1 s + {stock - ticks:.2f} s work), "
            f"rqfast {fast:.3f} s, ratio {stock / fast:.0f}x; "
            f"chunk {PROMOTE_CHUNK_SIZE}, longest script {longest:.2f} ms"
        )
        stock, fast = sweep(connection, options.sweep)
        print(
            f"sweep {options.sweep} abandoned jobs: stock {stock:.3f} s, "
            f"rqfast {fast:.3f} s, ratio {stock / fast:.1f}x"
        )
        stock, fast = requeue(connection, options.requeue)
        print(
            f"requeue {options.requeue} failed jobs: stock {stock:.3f} s, "
            f"rqfast {fast:.3f} s, ratio {stock / fast:.1f}x"
        )
        connection.flushdb()


if __name__ == "__main__":
    main()
