"""rqfast's Queue: RQ's Queue making rqfast jobs."""

from __future__ import annotations

from rq.queue import Queue as _RQQueue

from .job import Job

__all__ = ["Queue"]


class Queue(_RQQueue):
    """An RQ queue whose jobs are :class:`rqfast.Job`."""

    job_class: type[Job] = Job
