"""A job whose hash cannot be read is failed with the reason; the worker goes on."""

from __future__ import annotations

import zlib

import pytest
import rq
from redis import Redis
from rq.job import JobStatus
from rq.results import Result

import rqfast


def test_unreadable_jobs_are_failed_and_the_worker_goes_on(connection: Redis) -> None:
    queue = rqfast.Queue("default", connection=connection)
    first = queue.enqueue("os.path.join", "a", "b")
    broken = queue.enqueue("os.path.join", "c", "d")
    headless = queue.enqueue("os.path.join", "e", "f")
    last = queue.enqueue("os.path.join", "g", "h")
    connection.hset(broken.key, "created_at", b"the day before yesterday")
    connection.hdel(headless.key, "data")

    worker = rqfast.SimpleWorker([queue], connection=connection)
    assert worker.work(burst=True)

    for good in (first, last):
        assert good.get_status(refresh=True) == JobStatus.FINISHED
    failed = queue.failed_job_registry
    assert sorted(failed.get_job_ids()) == sorted([broken.id, headless.id])
    assert queue.started_job_registry.get_job_ids() == []

    reason = zlib.decompress(connection.hget(broken.key, "exc_info") or b"").decode()
    assert "'created_at'" in reason and "the day before" in reason
    assert connection.hget(broken.key, "status") == b"failed"
    # The raw field is kept for whoever repairs the job.
    assert connection.hget(broken.key, "created_at") == b"the day before yesterday"
    assert (
        "data"
        in zlib.decompress(connection.hget(headless.key, "exc_info") or b"").decode()
    )

    stock_worker = rq.Worker.find_by_key(worker.key, connection=connection)
    assert stock_worker is not None
    assert stock_worker.failed_job_count == 2
    assert stock_worker.successful_job_count == 2

    entries = connection.xrange(Result.get_key(broken.id))
    assert len(entries) == 1
    assert entries[0][1][b"type"] == str(Result.Type.FAILED.value).encode()


@pytest.mark.parametrize("worker_class", [rqfast.SimpleWorker, rqfast.Worker])
def test_a_payload_that_cannot_be_unpickled_fails_its_job(
    connection: Redis, worker_class: type[rqfast.SimpleWorker]
) -> None:
    queue = rqfast.Queue("default", connection=connection)
    broken = queue.enqueue("os.path.join", "a", "b")
    last = queue.enqueue("os.path.join", "c", "d")
    data = zlib.decompress(connection.hget(broken.key, "data") or b"")
    connection.hset(broken.key, "data", zlib.compress(data[: len(data) // 2]))

    worker = worker_class([queue], connection=connection)
    assert worker.work(burst=True)

    assert broken.get_status(refresh=True) == JobStatus.FAILED
    result = broken.latest_result()
    assert result is not None
    assert "DeserializationError" in (result.exc_string or "")
    assert broken.id in queue.failed_job_registry
    assert last.get_status(refresh=True) == JobStatus.FINISHED
