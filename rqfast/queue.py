"""rqfast's Queue: RQ's Queue making rqfast jobs."""

from __future__ import annotations

from typing import Any

from rq.queue import Queue as _RQQueue

from .job import Job, _argument, attach_policy

__all__ = ["Queue"]

_stock_create_job = _RQQueue.create_job
_create_job_retry = _argument(_stock_create_job, "retry")


class Queue(_RQQueue):
    """An RQ queue whose jobs are :class:`rqfast.Job`."""

    job_class: type[Job] = Job

    def create_job(self, *args: Any, **kwargs: Any) -> Any:
        """Create a job as stock RQ does, keeping an rqfast retry policy with it."""
        job = _stock_create_job(self, *args, **kwargs)
        attach_policy(job, _create_job_retry(args, kwargs))
        return job


# Only the method: RQ's own queues keep making RQ's own jobs.
class _QueuePatch(_RQQueue):
    create_job = Queue.create_job


PATCHES: list[tuple[type, type]] = [(_RQQueue, _QueuePatch)]
