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


WORKERS = [rq.SimpleWorker, rqfast.SimpleWorker, rq.Worker, rqfast.Worker]
WORKER_IDS = ["stock-simple", "rqfast-simple", "stock-fork", "rqfast-fork"]


@pytest.mark.parametrize("worker_class", WORKERS, ids=WORKER_IDS)
@pytest.mark.parametrize(
    ("parent_func", "child_status"),
    [(cancel_myself, JobStatus.DEFERRED), (noop, JobStatus.FINISHED)],
    ids=["canceled", "finished"],
)
def test_dependents_run_only_after_a_parent_that_finished(
    connection: redis.Redis,
    worker_class: type[rq.worker.BaseWorker],
    parent_func: object,
    child_status: JobStatus,
) -> None:
    queue = Queue("default", connection=connection)
    parent = queue.enqueue(parent_func)
    child = queue.enqueue(noop, depends_on=parent)

    worker_class([queue], connection=connection).work(burst=True)

    assert parent.get_status() == JobStatus.FINISHED
    assert child.get_status() == child_status
    assert queue.get_job_ids() == []
    assert (child.id in queue.deferred_job_registry) == (
        child_status == JobStatus.DEFERRED
    )
