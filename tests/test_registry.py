"""rqfast's registries against stock RQ's: the same Redis state, in bulk."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from typing import Any

import pytest
import rq.registry
from redis import Redis
from registry_state import copy_database, other_database, snapshot, timestamps
from rq import Callback, Queue, Retry, SimpleWorker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Dependency, Job, JobStatus

import rqfast.registry
from rqfast import patch
from rqfast.registry import (
    FailedJobRegistry,
    StartedJobRegistry,
    requeue_failed_jobs,
)

STOCK_CLEANUP = vars(rq.registry.StartedJobRegistry)["cleanup"]
STOCK_REQUEUE = vars(rq.registry.FailedJobRegistry).get(
    "requeue", vars(rq.registry.BaseRegistry)["requeue"]
)
FROZEN = datetime(2030, 1, 2, 3, 4, 5, 678901, tzinfo=timezone.utc)


def record_failure(job: Job, connection: Redis, *exc_info: Any) -> None:
    connection.rpush("failure-callbacks", job.id)


def fail_always() -> None:
    raise ValueError("this job fails")


@pytest.fixture
def twin(connection: Redis) -> Iterator[Redis]:
    client = other_database(connection)
    client.flushdb()
    try:
        yield client
    finally:
        client.flushdb()
        client.close()


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the time written into failure messages the same in both runs."""
    monkeypatch.setattr(rq.registry, "now", lambda: FROZEN)
    monkeypatch.setattr(rqfast.registry, "now", lambda: FROZEN)


def start(job: Job, connection: Redis, execution: str, score: float = 1) -> None:
    """Put a job in the started registry the way a worker that died would leave it."""
    with connection.pipeline() as pipeline:
        job.prepare_for_execution("dead-worker", pipeline)
        pipeline.execute()
    connection.zadd(f"rq:wip:{job.origin}", {f"{job.id}:{execution}": score})


def build_abandoned_jobs(connection: Redis, count: int = 0) -> None:
    queue = Queue("default", connection=connection)
    start(queue.enqueue("os.path.join", "a", job_id="plain"), connection, "e1")
    start(
        queue.enqueue(
            "os.path.join", "b", job_id="called", on_failure=Callback(record_failure)
        ),
        connection,
        "e2",
    )
    start(
        queue.enqueue("os.path.join", "c", job_id="retry_now", retry=Retry(max=2)),
        connection,
        "e3",
    )
    start(
        queue.enqueue(
            "os.path.join", "d", job_id="retry_later", retry=Retry(max=2, interval=60)
        ),
        connection,
        "e4",
    )
    parent = queue.enqueue("os.path.join", "e", job_id="parent")
    queue.enqueue(
        "os.path.join",
        "f",
        job_id="child",
        depends_on=Dependency(jobs=[parent], allow_failure=True),
    )
    start(parent, connection, "e5")
    start(queue.enqueue("os.path.join", "g", job_id="alive"), connection, "e6", 10**10)
    connection.zadd("rq:wip:default", {"ghost:e7": 1})
    # Failure ttls: kept forever, short, and zero (the job is deleted).
    start(
        queue.enqueue("os.path.join", "h", job_id="kept", failure_ttl=-1),
        connection,
        "e8",
    )
    start(
        queue.enqueue("os.path.join", "i", job_id="short", failure_ttl=90, ttl=500),
        connection,
        "e9",
    )
    start(
        queue.enqueue("os.path.join", "j", job_id="gone", failure_ttl=0),
        connection,
        "e10",
    )
    # A job of another queue registered here, and one hash without data.
    other = Queue("other", connection=connection)
    start(other.enqueue("os.path.join", "k", job_id="elsewhere"), connection, "e11")
    connection.zrem("rq:wip:other", "elsewhere:e11")
    connection.zadd("rq:wip:default", {"elsewhere:e11": 1})
    connection.hset(
        "rq:job:no_data", mapping={"status": "started", "origin": "default"}
    )
    connection.zadd("rq:wip:default", {"no_data:e12": 1})
    # A job whose hash lacks created_at and the fields written with it.
    start(queue.enqueue("os.path.join", "l", job_id="sparse"), connection, "e13")
    connection.hdel("rq:job:sparse", "created_at", "group_id", "last_heartbeat")
    for number in range(count):
        start(
            queue.enqueue("os.path.join", number, job_id=f"j{number}"), connection, "x"
        )


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize("handlers", [False, True], ids=["script", "handlers"])
@pytest.mark.parametrize("count", [0, 2100])
def test_cleanup_leaves_what_stock_leaves(
    connection: Redis,
    twin: Redis,
    count: int,
    handlers: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    build_abandoned_jobs(connection, count)
    copy_database(connection, twin)
    old = timestamps(connection)
    monkeypatch.setattr(rqfast.registry, "CLEANUP_CHUNK_SIZE", 1000)
    calls: dict[str, list[str]] = {"stock": [], "rqfast": []}

    def handler(name: str) -> Any:
        def handle(job: Job, *exc_info: Any) -> None:
            calls[name].append(job.id)

        return handle

    assert not patch.installed()
    stock = rq.registry.StartedJobRegistry("default", connection=connection)
    STOCK_CLEANUP(stock, exception_handlers=[handler("stock")] if handlers else None)
    StartedJobRegistry("default", connection=twin).cleanup(
        exception_handlers=[handler("rqfast")] if handlers else None
    )

    assert calls["rqfast"] == calls["stock"]
    assert len(calls["stock"]) == (10 + count if handlers else 0)
    assert snapshot(twin, old) == snapshot(connection, old)
    assert twin.lrange("failure-callbacks", 0, -1) == [b"called"]
    assert Job.fetch("child", connection=twin).get_status() == JobStatus.QUEUED


def build_failed_jobs(connection: Redis, count: int) -> list[str]:
    queue = Queue("default", connection=connection)
    other = Queue("other", connection=connection)
    ids = []
    for number in range(count):
        target = other if number % 5 == 0 else queue
        job = target.enqueue(
            fail_always, job_id=f"f{number}", ttl=600 if number % 7 else None
        )
        ids.append(job.id)
    SimpleWorker([queue, other], connection=connection).work(burst=True)
    # Failed jobs of the other queue are registered under their own origin.
    for job_id in ids[::5]:
        score = connection.zscore("rq:failed:other", job_id)
        connection.zrem("rq:failed:other", job_id)
        connection.zadd("rq:failed:default", {job_id: score})
    connection.zadd("rq:failed:default", {"ghost": 4 * 10**9})  # not expired
    return ids


@pytest.mark.parametrize("selection", ["all", "some"])
def test_requeue_leaves_what_stock_leaves(
    connection: Redis, twin: Redis, selection: str
) -> None:
    ids = build_failed_jobs(connection, 40)
    copy_database(connection, twin)
    old = timestamps(connection)
    chosen = ids if selection == "all" else [*ids[3:30:2], "not-failed"]

    stock = rq.registry.FailedJobRegistry("default", connection=connection)
    for job_id in stock.get_job_ids() if selection == "all" else chosen:
        # The ghost, and ids that are not in the registry, raise.
        with contextlib.suppress(NoSuchJobError, InvalidJobOperation):
            STOCK_REQUEUE(stock, job_id)
    outcome = requeue_failed_jobs(
        twin, "default", None if selection == "all" else chosen, chunk_size=7
    )

    assert outcome.requeued == (40 if selection == "all" else 14)
    assert outcome.skipped == 1
    assert snapshot(twin, old) == snapshot(connection, old)


def test_requeue_with_a_fresh_retry_budget(connection: Redis) -> None:
    ids = build_failed_jobs(connection, 6)
    registry = FailedJobRegistry("default", connection=connection)
    outcome = registry.requeue_jobs(ids[:2], at_front=True, retries=3)
    assert outcome == (2, 0)
    for job_id in ids[:2]:
        job = Job.fetch(job_id, connection=connection)
        assert job.retries_left == 3
        assert job.get_status() == JobStatus.QUEUED
    assert connection.lrange("rq:queue:default", 0, 0) == [ids[1].encode()]


def test_requeue_rejects_invalid_ids(connection: Redis) -> None:
    with pytest.raises(ValueError, match="Job ID must only contain"):
        requeue_failed_jobs(connection, "default", ["no spaces"])


def test_a_page_comes_with_its_jobs(connection: Redis) -> None:
    build_abandoned_jobs(connection)
    registry = StartedJobRegistry("default", connection=connection)
    jobs = registry.get_jobs_page(0, -1)
    ids = registry.get_job_ids(cleanup=False)
    assert [job.id for job in jobs] == [
        job_id for job_id in ids if job_id not in ("ghost", "no_data")
    ]
    for job in jobs:
        assert job.to_dict() == Job.fetch(job.id, connection=connection).to_dict() or (
            job.id == "sparse"  # without created_at, to_dict writes the time now
        )
    assert [job.id for job in registry.get_jobs_page(0, 1, desc=True)] == ids[::-1][:2]


class HookedJob(Job):
    """A job class whose failure callback hook must see every abandoned job."""

    seen: list[str] = []

    def execute_failure_callback(self, *args: Any, **kwargs: Any) -> None:
        HookedJob.seen.append(self.id)
        super().execute_failure_callback(*args, **kwargs)


@pytest.mark.usefixtures("frozen_now")
def test_a_replaced_failure_hook_sees_every_job(connection: Redis, twin: Redis) -> None:
    build_abandoned_jobs(connection)
    copy_database(connection, twin)
    old = timestamps(connection)
    HookedJob.seen = []
    stock = rq.registry.StartedJobRegistry(
        "default", connection=connection, job_class=HookedJob
    )
    STOCK_CLEANUP(stock)
    stock_seen, HookedJob.seen = HookedJob.seen, []
    StartedJobRegistry("default", connection=twin, job_class=HookedJob).cleanup()

    assert HookedJob.seen == stock_seen
    assert len(stock_seen) == 10
    assert snapshot(twin, old) == snapshot(connection, old)


def test_racing_sweeps_fail_each_job_once(connection: Redis) -> None:
    queue = Queue("default", connection=connection)
    ids = [f"j{number}" for number in range(1500)]
    with connection.pipeline() as pipeline:
        for job_id in ids:
            job = queue.enqueue(
                "os.path.join", job_id, job_id=job_id, pipeline=pipeline
            )
            job.prepare_for_execution("dead-worker", pipeline)
        pipeline.zadd("rq:wip:default", {f"{job_id}:x": 1 for job_id in ids})
        pipeline.execute()

    def sweep() -> None:
        client = other_database(connection, 0)
        StartedJobRegistry("default", connection=client).cleanup()
        client.close()

    threads = [threading.Thread(target=sweep) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert connection.zcard("rq:wip:default") == 0
    assert connection.zcard("rq:failed:default") == len(ids)
    with connection.pipeline() as pipeline:
        for job_id in ids:
            pipeline.xlen(f"rq:results:{job_id}")
        assert set(pipeline.execute()) == {1}


def test_a_page_of_executions_names_each_job(connection: Redis) -> None:
    queue = Queue("default", connection=connection)
    for job_id in ("a", "b"):
        queue.enqueue("os.path.join", job_id, job_id=job_id)
    connection.zadd(
        "rq:wip:default", {"a:e1": 1, "b:e2": 2, "a:e3": 3, "ghost:e4": 4, "b": 5}
    )
    registry = StartedJobRegistry("default", connection=connection)

    assert [job.id for job in registry.get_jobs_page()] == ["a", "b", "a", "b"]
    assert [job.id for job in registry.get_jobs_page(0, 2, desc=True)] == ["b", "a"]
    assert [job.id for job in registry.get_jobs_page(1, 1)] == ["b"]
    assert registry.get_jobs_page(10, 20) == []
