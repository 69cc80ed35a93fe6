"""rqfast's registries: RQ's started and failed registries, handled in bulk.

Stock RQ handles registry entries one job at a time: the started registry's
cleanup fetches each abandoned job in its own round trip, and requeueing
failed jobs costs four round trips per job. Here a chunk of entries costs a
round trip to read and one script to write:

- :meth:`StartedJobRegistry.cleanup` fails each chunk of abandoned jobs with
  one Lua script (``lua/sweep_started.lua``) that writes what stock RQ
  writes for an AbandonedJobError. Jobs that need Python (a failure
  callback, retries left, dependents, a failure ttl that deletes the job)
  are left by the script and handled as stock RQ handles them, a chunk's
  worth in one pipeline; so is every job when exception handlers are given
  or the job class overrides one of the failure hooks, since those must
  see each job. A job retried with a delay costs one extra round trip,
  because RQ's ``ScheduledJobRegistry.schedule`` ignores the pipeline it is
  given; a failed job with dependents costs what stock's
  ``enqueue_dependents`` costs.
- :func:`requeue_failed_jobs` moves failed jobs back to their queues with one
  Lua script per chunk (``lua/requeue_failed.lua``), optionally with a fresh
  retry budget, reading the registry a chunk at a time so that memory stays
  bounded on any number of jobs.
- :meth:`BaseRegistry.get_jobs_page` returns a page of jobs with their hashes
  in one round trip.
"""

from __future__ import annotations

import logging
import traceback
import zlib
from base64 import b64encode
from collections.abc import Callable, Iterable, Iterator
from typing import Any, NamedTuple

from redis import Redis
from rq.defaults import DEFAULT_FAILURE_TTL
from rq.exceptions import AbandonedJobError, NoSuchJobError
from rq.job import Job as _RQJob
from rq.job import JobStatus
from rq.queue import Queue as _RQQueue
from rq.registry import BaseRegistry as _RQBaseRegistry
from rq.registry import FailedJobRegistry as _RQFailedJobRegistry
from rq.registry import StartedJobRegistry as _RQStartedJobRegistry
from rq.utils import current_timestamp, now

from . import _impl
from .scripts import Script

__all__ = [
    "CLEANUP_CHUNK_SIZE",
    "REQUEUE_CHUNK_SIZE",
    "BaseRegistry",
    "FailedJobRegistry",
    "RequeueOutcome",
    "StartedJobRegistry",
    "requeue_failed_jobs",
]

logger = logging.getLogger(__name__)

#: Abandoned entries of the started registry handled per script call.
CLEANUP_CHUNK_SIZE = 500
#: Failed jobs moved by one script call.
REQUEUE_CHUNK_SIZE = 500
#: How many job ids a log line names.
SHOWN_IDS = 20

# What stock RQ stores as the exception text of a requeued job: zlib of "".
_EMPTY_EXC_INFO = zlib.compress(b"")

_page_script = Script("registry_page")
_sweep_script = Script("sweep_started")
_requeue_script = Script("requeue_failed")

# The Job methods stock cleanup calls for each abandoned job. A job class that
# replaces one of them must see every job, so its cleanup runs in Python.
_FAILURE_HOOKS = {
    name: vars(_RQJob)[name]
    for name in ("execute_failure_callback", "_handle_failure", "set_status")
}


def _shown(job_ids: list[str]) -> str:
    more = len(job_ids) - SHOWN_IDS
    return ", ".join(job_ids[:SHOWN_IDS]) + (f" and {more} more" if more > 0 else "")


class BaseRegistry(_RQBaseRegistry):
    """RQ's base registry with a one-round-trip page of jobs."""

    def get_jobs_page(
        self, start: int = 0, end: int = -1, desc: bool = False
    ) -> list[_RQJob]:
        """Return the jobs ranked ``start`` to ``end``, read with their hashes.

        Entries whose job hash is gone, or is not a job's, are left out.
        Unlike ``get_job_ids``, no cleanup runs first.
        """
        prefix = self.job_class.redis_job_namespace_prefix
        reply = _page_script(
            self.connection, [self.key], [start, end, 1 if desc else 0, prefix]
        )
        members = reply[0::2]
        job_ids = _impl.ext.member_job_ids(members)
        jobs = []
        for job_id, flat in zip(job_ids, reply[1::2], strict=True):
            if not flat:
                continue
            raw = dict(zip(flat[0::2], flat[1::2], strict=True))
            job = self.job_class(
                job_id, connection=self.connection, serializer=self.serializer
            )
            try:
                job.restore(raw)
            except NoSuchJobError:
                continue
            jobs.append(job)
        return jobs


_stock_enqueue_dependents = _RQQueue.enqueue_dependents


class StartedJobRegistry(_RQStartedJobRegistry, BaseRegistry):
    """RQ's started registry, swept of abandoned jobs a chunk at a time."""

    def cleanup(
        self,
        timestamp: float | None = None,
        exception_handlers: list[Any] | None = None,
    ) -> None:
        """Retry or fail every job whose entry expired by ``timestamp``, as stock does.

        Each abandoned job's failure callback and the exception handlers run
        first; then the job is retried if it has retries left, else moved to
        the failed registry with an AbandonedJobError. Entries whose job hash
        is gone are removed.
        """
        score = timestamp if timestamp is not None else current_timestamp()
        in_python = bool(exception_handlers) or any(
            getattr(self.job_class, name, None) is not hook
            for name, hook in _FAILURE_HOOKS.items()
        )
        queue = None
        seen = False
        while True:
            members = self.connection.zrangebyscore(
                self.key, 0, score, start=0, num=CLEANUP_CHUNK_SIZE
            )
            if not members:
                break
            seen = True
            if not in_python:
                members = self._sweep_by_script(members, score)
            if members:
                if queue is None:
                    queue = self.get_queue()  # type: ignore[no-untyped-call]
                self._sweep_in_python(queue, members, exception_handlers)
        if seen:
            self.connection.zremrangebyscore(self.key, 0, score)

    def _sweep_by_script(self, members: list[Any], score: float) -> list[Any]:
        """Fail a chunk's jobs that need no Python; return the members left."""
        job_ids = _impl.ext.member_job_ids(members)
        keys = [self.key, _RQFailedJobRegistry.key_template.format(self.name)]
        reason = _abandoned_reason()
        args = [
            score,
            current_timestamp(),
            _impl.ext.utcformat(now()),
            b64encode(zlib.compress(reason.encode())),
            self.name,
            DEFAULT_FAILURE_TTL,
            self.job_class.redis_job_namespace_prefix,
            *members,
        ]
        failed, _, left = _sweep_script(self.connection, keys, args)
        if failed:
            done = set(range(1, len(members) + 1)).difference(left)
            _log_failed(self, [job_ids[i - 1] for i in sorted(done)], reason)
        return [members[i - 1] for i in left]

    def _sweep_in_python(
        self, queue: _RQQueue, members: list[Any], handlers: list[Any] | None
    ) -> None:
        """Retry or fail a chunk's jobs one by one, as stock does, in one pipeline."""
        job_ids = _impl.ext.member_job_ids(members)
        job_class = self.job_class
        with self.connection.pipeline(transaction=False) as pipeline:
            for job_id in job_ids:
                pipeline.hgetall(job_class.key_for(job_id))
            for job_id in job_ids:
                pipeline.exists(job_class.dependents_key_for(job_id))
            replies = pipeline.execute()
        hashes, dependents = replies[: len(job_ids)], replies[len(job_ids) :]

        failed: list[str] = []
        reason = _abandoned_reason()
        with self.connection.pipeline() as pipeline:
            for job_id, raw, has_dependents in zip(
                job_ids, hashes, dependents, strict=True
            ):
                if not raw:
                    continue
                job = job_class(
                    job_id, connection=self.connection, serializer=self.serializer
                )
                try:
                    job.restore(raw)
                except NoSuchJobError:
                    continue
                if self._abandon(
                    job, queue, pipeline, handlers, bool(has_dependents), reason
                ):
                    failed.append(job.id)
            pipeline.zrem(self.key, *members)
            pipeline.execute()
        if failed:
            _log_failed(self, failed, reason)

    def _abandon(
        self,
        job: _RQJob,
        queue: _RQQueue,
        pipeline: Any,
        handlers: list[Any] | None,
        has_dependents: bool,
        reason: str,
    ) -> bool:
        """Retry or fail one abandoned job; return whether it was failed."""
        # The stack is what stock RQ hands to callbacks and handlers; it is
        # only taken when one of them will see it. A replaced
        # execute_failure_callback is called for every job, as stock does.
        hooked = (
            type(job).execute_failure_callback
            is not _FAILURE_HOOKS["execute_failure_callback"]
        )
        if job._failure_callback_name or hooked:
            job.execute_failure_callback(
                self.death_penalty_class,
                AbandonedJobError,
                AbandonedJobError(),
                traceback.extract_stack(),
            )
        for handler in handlers or ():
            fallthrough = handler(
                job, AbandonedJobError, AbandonedJobError(), traceback.extract_stack()
            )
            if fallthrough is not None and not fallthrough:
                break

        if job.retries_left and job.retries_left > 0:
            # Job.retry writes the job's status on job.connection, outside
            # the pipeline it is given; routing it into the pipeline keeps
            # the chunk to one round trip and the result the same.
            connection = job.connection
            job.connection = pipeline
            try:
                job.retry(queue, pipeline)
            finally:
                job.connection = connection
            return False
        job.set_status(JobStatus.FAILED, pipeline=pipeline)
        job._handle_failure(reason, pipeline, worker_name="")
        if has_dependents:
            queue.enqueue_dependents(job, refresh_job_status=False)
        return True


def _abandoned_reason() -> str:
    """Return the failure text stock RQ gives a job failed by cleanup."""
    return (
        f"Moved to {_RQFailedJobRegistry.__name__}, due to "
        f"{AbandonedJobError.__name__}, at {now()}"
    )


def _log_failed(
    registry: _RQStartedJobRegistry, job_ids: list[str], reason: str
) -> None:
    logger.warning(
        "%s cleanup: moved %d abandoned job(s) of queue %s: %s; %s",
        type(registry).__name__,
        len(job_ids),
        registry.name,
        _shown(job_ids),
        reason,
    )


class RequeueOutcome(NamedTuple):
    """How many failed jobs were requeued, and how many were left in the registry."""

    requeued: int
    skipped: int


def _chunks(items: Iterable[str], size: int) -> Iterator[list[str]]:
    chunk: list[str] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def requeue_failed_jobs(
    connection: Redis,
    queue_name: str,
    job_ids: Iterable[str] | None = None,
    *,
    at_front: bool = False,
    retries: int | None = None,
    chunk_size: int = REQUEUE_CHUNK_SIZE,
    default_timeout: int | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> RequeueOutcome:
    """Requeue failed jobs of ``queue_name``: all of them, or the ids given.

    Each job goes back to the queue it came from, as stock
    ``FailedJobRegistry.requeue`` puts it. ``retries`` gives every requeued
    job that many retries left. A job no longer in the registry, or whose hash
    is gone, is skipped. ``on_chunk(requeued, skipped)`` is called after each
    chunk. The registry and ``job_ids`` are read a chunk at a time.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    if retries is not None and retries < 0:
        raise ValueError(f"retries must not be negative, not {retries}")
    registry_key = _RQFailedJobRegistry.key_template.format(queue_name)
    timeout = _RQQueue.DEFAULT_TIMEOUT if default_timeout is None else default_timeout
    prefix = _RQJob.redis_job_namespace_prefix
    queue_prefix = _RQQueue.redis_queue_namespace_prefix
    requeued = skipped = 0

    def ids_in_registry() -> Iterator[list[str]]:
        # Skipped entries stay in the registry, ahead of those not yet read.
        while True:
            members = connection.zrange(registry_key, skipped, skipped + chunk_size - 1)
            if not members:
                return
            yield _impl.ext.member_job_ids(members)

    chunks = ids_in_registry() if job_ids is None else _chunks(job_ids, chunk_size)
    for chunk in chunks:
        _impl.ext.validate_job_ids(chunk)
        args: list[Any] = [
            _impl.ext.utcformat(now()),
            timeout,
            _EMPTY_EXC_INFO,
            1 if at_front else 0,
            "" if retries is None else retries,
            prefix,
            queue_prefix,
            *chunk,
        ]
        done, left = _requeue_script(connection, [registry_key], args)
        requeued += done
        skipped += left
        if on_chunk is not None:
            on_chunk(done, left)
    if requeued or skipped:
        logger.info(
            "Failed registry of %s: requeued %d job(s), skipped %d",
            queue_name,
            requeued,
            skipped,
        )
    return RequeueOutcome(requeued, skipped)


class FailedJobRegistry(_RQFailedJobRegistry, BaseRegistry):
    """RQ's failed registry with bulk requeueing."""

    def requeue_jobs(
        self,
        job_ids: Iterable[str] | None = None,
        at_front: bool = False,
        retries: int | None = None,
    ) -> RequeueOutcome:
        """Requeue all failed jobs, or those given; see :func:`requeue_failed_jobs`."""
        return requeue_failed_jobs(
            self.connection, self.name, job_ids, at_front=at_front, retries=retries
        )


PATCHES: list[tuple[type, type]] = [
    (_RQBaseRegistry, BaseRegistry),
    (_RQStartedJobRegistry, StartedJobRegistry),
    (_RQFailedJobRegistry, FailedJobRegistry),
]
