"""rqfast's registries against stock RQ's: the same Redis state, in bulk."""

from __future__ import annotations

import contextlib
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
    for number in range(count):
        start(
            queue.enqueue("os.path.join", number, job_id=f"j{number}"), connection, "x"
        )


@pytest.mark.usefixtures("frozen_now")
@pytest.mark.parametrize("count", [0, 2100])
def test_cleanup_leaves_what_stock_leaves(
    connection: Redis, twin: Redis, count: int, monkeypatch: pytest.MonkeyPatch
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
    STOCK_CLEANUP(stock, exception_handlers=[handler("stock")])
    StartedJobRegistry("default", connection=twin).cleanup(
        exception_handlers=[handler("rqfast")]
    )

    assert calls["rqfast"] == calls["stock"]
    assert len(calls["stock"]) == 5 + count
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
    assert [job.id for job in jobs] == [job_id for job_id in ids if job_id != "ghost"]
    for job in jobs:
        assert job.to_dict() == Job.fetch(job.id, connection=connection).to_dict()
    assert [job.id for job in registry.get_jobs_page(0, 1, desc=True)] == ids[::-1][:2]
