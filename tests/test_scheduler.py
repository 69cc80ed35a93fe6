"""rqfast's RQScheduler against stock RQ's: same Redis state, all due jobs, no races."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import rq.scheduler
from redis import Redis
from registry_state import copy_database, other_database, snapshot, timestamps
from rq import Queue, Retry, SimpleWorker
from rq.job import Job

import rqfast
from rqfast import patch
from rqfast.scheduler import RQScheduler, promote_due_jobs

STOCK_ENQUEUE_SCHEDULED = vars(rq.scheduler.RQScheduler)["enqueue_scheduled_jobs"]
PAST = datetime.now(timezone.utc) - timedelta(minutes=5)


def fail_always() -> None:
    raise ValueError("this job fails")


def noop_job() -> None:
    return None


@pytest.fixture
def twin(connection: Redis) -> Iterator[Redis]:
    """Yield a client for a second emptied database of the same server."""
    client = other_database(connection)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


def stock_tick(connection: Redis, queue_name: str = "default") -> None:
    """Run one tick of stock RQ's scheduler, whatever install() did to the class."""
    assert not patch.installed()
    scheduler = rq.scheduler.RQScheduler([queue_name], connection=connection)
    scheduler._acquired_locks = {queue_name}
    STOCK_ENQUEUE_SCHEDULED(scheduler)


def rqfast_tick(connection: Redis, queue_name: str = "default") -> None:
    scheduler = RQScheduler([queue_name], connection=connection)
    scheduler._acquired_locks = {queue_name}
    scheduler.enqueue_scheduled_jobs()


def build_scheduled_jobs(connection: Redis) -> None:
    """Fill the default queue's scheduled registry with every kind of entry."""
    queue = Queue("default", connection=connection)
    queue.enqueue_at(PAST, "os.path.join", "plain", job_id="plain")
    queue.enqueue_at(PAST, "os.path.join", "front", job_id="front", at_front=True)
    queue.enqueue_at(
        PAST,
        "os.path.join",
        "rich",
        job_id="rich",
        ttl=300,
        result_ttl=20,
        failure_ttl=40,
        description="a described job",
        meta={"owner": "tests"},
    )
    connection.sadd("rq:job:rich:dependents", "someone")
    connection.sadd("rq:job::rich:dependencies", "someone-else")
    queue.enqueue_at(PAST, "os.path.join", "retry-front", job_id="retry_front")
    connection.hset(
        "rq:job:retry_front",
        mapping={
            "enqueue_at_front_on_retry": 1,
            "ended_at": "2024-01-01T00:00:00.000001Z",
        },
    )
    queue.enqueue_at(PAST, "os.path.join", "no-timeout", job_id="no_timeout")
    connection.hdel("rq:job:no_timeout", "timeout")
    queue.enqueue_at(PAST, "os.path.join", "deferred", job_id="was_deferred")
    connection.hset("rq:job:was_deferred", "status", "deferred")
    connection.zadd("rq:deferred:default", {"was_deferred": 1})
    queue.enqueue_in(timedelta(hours=1), "os.path.join", "later", job_id="later")
    connection.zadd("rq:scheduled:default", {"ghost": 1})

    # A job scheduled for retry by a stock worker, made due now.
    queue.enqueue(fail_always, job_id="retried", retry=Retry(max=2, interval=[60]))
    SimpleWorker([queue], connection=connection).work(burst=True)
    assert connection.zscore("rq:scheduled:default", "retried") is not None
    connection.zadd("rq:scheduled:default", {"retried": 2})


def test_one_tick_leaves_what_stock_leaves(connection: Redis, twin: Redis) -> None:
    build_scheduled_jobs(connection)
    copy_database(connection, twin)
    old = timestamps(connection)

    stock_tick(connection)
    rqfast_tick(twin)

    expected = snapshot(connection, old)
    assert snapshot(twin, old) == expected
    assert expected[b"rq:queue:default"][1][:2] == [b"retry_front", b"front"]
    assert expected[b"rq:scheduled:default"][1] == [(b"later", "<now-based>")]


def test_a_tick_promotes_every_due_job(connection: Redis, twin: Redis) -> None:
    queue = Queue("default", connection=connection)
    with connection.pipeline() as pipeline:
        for number in range(2345):
            queue.enqueue_at(
                PAST, "os.path.join", number, job_id=f"j{number}", pipeline=pipeline
            )
        pipeline.execute()
    copy_database(connection, twin)
    old = timestamps(connection)

    rqfast_tick(twin)
    assert twin.zcard("rq:scheduled:default") == 0
    while connection.zcard("rq:scheduled:default"):
        stock_tick(connection)

    assert snapshot(twin, old) == snapshot(connection, old)


def test_two_schedulers_never_queue_a_job_twice(connection: Redis) -> None:
    queue = Queue("default", connection=connection)
    ids = [f"j{number}" for number in range(3000)]
    with connection.pipeline() as pipeline:
        for job_id in ids:
            queue.enqueue_at(
                PAST, "os.path.join", job_id, job_id=job_id, pipeline=pipeline
            )
        pipeline.execute()
    counts: list[int] = []

    def promote() -> None:
        client = other_database(connection, 0)
        counts.append(promote_due_jobs(client, "default", chunk_size=37))
        client.close()

    threads = [threading.Thread(target=promote) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    queued = connection.lrange("rq:queue:default", 0, -1)
    assert sorted(queued) == sorted(job_id.encode() for job_id in ids)
    assert sum(counts) == len(ids)


def test_a_killed_scheduler_loses_no_job(
    connection: Redis, redis_url: str, implementation: str
) -> None:
    queue = Queue("default", connection=connection)
    ids = {f"j{number}" for number in range(1000)}
    with connection.pipeline() as pipeline:
        for job_id in ids:
            queue.enqueue_at(
                PAST, "os.path.join", job_id, job_id=job_id, pipeline=pipeline
            )
        pipeline.execute()
    db = connection.connection_pool.connection_kwargs.get("db", 0)
    program = textwrap.dedent(
        f"""
        import os, signal
        from redis import Redis
        from rqfast.scheduler import promote_due_jobs
        chunks = []
        def on_chunk(promoted, dropped):
            chunks.append(promoted)
            if len(chunks) == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        client = Redis.from_url({redis_url!r}, db={db})
        promote_due_jobs(client, "default", chunk_size=100, on_chunk=on_chunk)
        """
    )
    env = dict(os.environ, RQFAST_PURE_PYTHON="1" if implementation == "py" else "0")
    process = subprocess.run([sys.executable, "-c", program], env=env, check=False)
    assert process.returncode == -9

    queued = {
        job_id.decode() for job_id in connection.lrange("rq:queue:default", 0, -1)
    }
    waiting = {
        job_id.decode() for job_id in connection.zrange("rq:scheduled:default", 0, -1)
    }
    assert len(queued) == 300
    assert not queued & waiting
    assert queued | waiting == ids


def test_jobs_no_longer_due_stay_scheduled(connection: Redis) -> None:
    queue = Queue("default", connection=connection)
    job = queue.enqueue_at(PAST, "os.path.join", "x", job_id="moved")
    # Rescheduled for later between the read and the script: the script checks.
    connection.zadd("rq:scheduled:default", {"moved": 10**10})
    assert promote_due_jobs(connection, "default", deadline=10**9) == 0
    assert Job.fetch(job.id, connection=connection).get_status() == "scheduled"
    assert connection.llen("rq:queue:default") == 0


def test_chunk_size_must_be_positive(connection: Redis) -> None:
    with pytest.raises(ValueError, match="chunk_size must be at least 1, not 0"):
        promote_due_jobs(connection, "default", chunk_size=0)


@pytest.mark.parametrize(
    ("worker_class", "queued"),
    [(SimpleWorker, 1000), (rqfast.SimpleWorker, 1500)],
    ids=["stock", "rqfast"],
)
def test_workers_scheduler_queues_every_due_job(
    connection: Redis, worker_class: type[SimpleWorker], queued: int
) -> None:
    queue = Queue("default", connection=connection)
    registry = queue.scheduled_job_registry
    with connection.pipeline() as pipeline:
        for index in range(1500):
            queue.enqueue_at(PAST, noop_job, job_id=f"due-{index}", pipeline=pipeline)
        pipeline.execute()
    assert registry.count == 1500

    worker = worker_class([queue], connection=connection)
    worker.bootstrap()
    worker._start_scheduler(burst=True)

    # Stock RQ's scheduler queues at most 1000 jobs of a queue per tick.
    assert queue.count == queued
    assert registry.count == 1500 - queued
