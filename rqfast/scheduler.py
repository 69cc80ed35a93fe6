"""rqfast's RQScheduler: every due job of a queue promoted in one tick.

Stock RQ reads at most 1000 due ids per queue per tick, fetches their hashes,
then queues and removes them in a pipeline that a second scheduler can race.
Here each chunk of due ids is one Lua script (``lua/promote_scheduled.lua``)
that removes the ids still due from the registry and queues them with the
fields stock RQ writes, so a job is never queued twice and never lost between
the registry and the queue; the tick repeats chunks until nothing is due.

The chunk size bounds how long one script holds Redis: a chunk of
:data:`PROMOTE_CHUNK_SIZE` ids ran in 2 ms (median) on a loopback Redis 7.0
(``benchmarks/bench_registries.py`` prints the figure measured on the host).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from redis import Redis
from redis.exceptions import NoScriptError
from rq.job import Job as _RQJob
from rq.queue import Queue as _RQQueue
from rq.registry import DeferredJobRegistry, ScheduledJobRegistry
from rq.scheduler import RQScheduler as _RQScheduler
from rq.utils import current_timestamp, now

from . import _impl
from .scripts import Script

__all__ = ["PROMOTE_CHUNK_SIZE", "RQScheduler", "promote_due_jobs"]

logger = logging.getLogger(__name__)

#: Due ids moved by one script call.
PROMOTE_CHUNK_SIZE = 250

_promote_script = Script("promote_scheduled")


def promote_due_jobs(
    connection: Redis,
    queue_name: str,
    deadline: float | None = None,
    *,
    chunk_size: int = PROMOTE_CHUNK_SIZE,
    default_timeout: int | None = None,
    on_chunk: Callable[[int, int], None] | None = None,
) -> int:
    """Queue every job of ``queue_name`` scheduled at or before ``deadline``.

    ``deadline`` defaults to now, in whole Unix seconds as stock RQ reads it.
    ``on_chunk(promoted, dropped)`` is called after each chunk committed.
    Returns how many jobs were queued; ids whose job hash is gone are removed
    from the registry and not counted.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    score = current_timestamp() if deadline is None else deadline
    timeout = _RQQueue.DEFAULT_TIMEOUT if default_timeout is None else default_timeout
    registry_key = ScheduledJobRegistry.key_template.format(queue_name)
    keys = [
        registry_key,
        _RQQueue.redis_queue_namespace_prefix + queue_name,
        DeferredJobRegistry.key_template.format(queue_name),
    ]
    prefix = _RQJob.redis_job_namespace_prefix
    total = 0

    def due(client: Any) -> Any:
        return client.zrangebyscore(registry_key, 0, score, start=0, num=chunk_size)

    members = due(connection)
    while members:
        job_ids = _impl.ext.member_job_ids(members)
        args = [score, _impl.ext.utcformat(now()), queue_name, timeout, prefix]
        args += job_ids
        # The next chunk is read in the round trip that promotes this one.
        with connection.pipeline(transaction=False) as pipeline:
            pipeline.evalsha(_promote_script.sha, len(keys), *keys, *args)
            due(pipeline)
            try:
                (promoted, dropped), members = pipeline.execute()
            except NoScriptError:
                promoted, dropped = _promote_script(connection, keys, args)
                members = due(connection)
        total += promoted
        if dropped:
            logger.info(
                "Scheduler: %d due job(s) of queue %s had no job hash; dropped",
                dropped,
                queue_name,
            )
        if on_chunk is not None:
            on_chunk(promoted, dropped)
    if total:
        logger.info("Scheduler: queued %d due job(s) on %s", total, queue_name)
    return total


class RQScheduler(_RQScheduler):
    """An RQ scheduler that queues all due jobs of each queue in every tick."""

    def enqueue_scheduled_jobs(self) -> None:
        """Queue every due job of each queue whose lock this scheduler holds."""
        self._status = self.Status.WORKING
        if not self._scheduled_job_registries and self._acquired_locks:
            self.prepare_registries()
        for registry in self._scheduled_job_registries:
            promote_due_jobs(self.connection, registry.name)
        self._status = self.Status.STARTED


PATCHES: list[tuple[type, type]] = [(_RQScheduler, RQScheduler)]
