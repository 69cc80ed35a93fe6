"""A job canceled while it runs leaves its dependents deferred, as stock RQ does."""

from __future__ import annotations

import pytest
import redis
import rq
from rq import Queue, get_current_job
from rq.job import Job, JobStatus

import rqfast


def cancel_myself() -> str:
    job = get_current_job()
    assert job is not None
    Job.fetch(job.id, connection=job.connection).cancel()
    return "ran to the end"


def noop() -> None:
    return None


@pytest.mark.parametrize(
    "worker_class",
    [rq.SimpleWorker, rqfast.SimpleWorker, rq.Worker, rqfast.Worker],
    ids=["stock-simple", "rqfast-simple", "stock-fork", "rqfast-fork"],
)
def test_dependents_of_a_canceled_job_stay_deferred(
    connection: redis.Redis, worker_class: type[rq.worker.BaseWorker]
) -> None:
    queue = Queue("default", connection=connection)
    parent = queue.enqueue(cancel_myself)
    child = queue.enqueue(noop, depends_on=parent)

    worker_class([queue], connection=connection).work(burst=True)

    assert child.get_status() == JobStatus.DEFERRED
    assert queue.get_job_ids() == []
    assert child.id in queue.deferred_job_registry


@pytest.mark.parametrize("worker_class", [rqfast.SimpleWorker, rqfast.Worker])
def test_dependents_of_a_finished_job_run(
    connection: redis.Redis, worker_class: type[rq.worker.BaseWorker]
) -> None:
    queue = Queue("default", connection=connection)
    parent = queue.enqueue(noop)
    child = queue.enqueue(noop, depends_on=parent)

    worker_class([queue], connection=connection).work(burst=True)

    assert parent.get_status() == JobStatus.FINISHED
    assert child.get_status() == JobStatus.FINISHED
