"""rqfast's workers: RQ's Worker and SimpleWorker on one Lua script per job.

Stock RQ spends about twenty round trips on a job: the pop, the fetch of the
hash, two pipelines to mark it started, a heartbeat after it ran, a
transaction to finish it, state writes and a suspension check. Here each job
costs one call of the lifecycle script (``lua/start.lua``, ``lua/finish.lua``,
``lua/lifecycle.lua``):

- the *start* phase checks the suspension flag, pops the next job, records
  its execution (execution hash, execution registry, StartedJobRegistry
  entry), marks the job and the worker busy and returns the job hash;
- the *finish* phase ends an execution with the outcome the worker decided in
  Python: finished, failed for good, retried now or retried later, with the
  job hash, result entry, registry entries, expiries and worker counters
  stock RQ writes for that outcome.

A :class:`SimpleWorker` keeps a finished job's *finish* phase until it asks
for the next job and sends both in one call, so a steady stream of jobs costs
one round trip each; the finish is sent on its own when the queues are empty,
when the worker stops, or when the job has webhooks. The forking
:class:`Worker` does the same from its parent process: the work horse runs the
job and hands its finish phase over through a pipe, so a horse opens no
connection of its own. Its script calls go out on one connection the worker
holds from its client's pool (:class:`rqfast.scripts.Link`), without
redis-py's per-command layers.

What Redis holds afterwards is what stock RQ leaves, plus one extra job hash
field stock RQ ignores, ``rqfast_executions`` (the number of executions rqfast
workers started, used as the attempt number in logs). Differences a reader of
Redis can notice: the intermediate queue is not used (the pop and the start are
one atomic step, so no job can be lost between them); a finished job stays in
the StartedJobRegistry until the worker's next call, microseconds later in a
steady stream; dependents are checked with EXISTS inside the script, and only
when the set exists does the worker take stock RQ's path to enqueue them.

Rare features keep stock RQ's code paths: results kept for 0 seconds, repeated
jobs, a job ttl of 0, jobs stopped on request, and workers that disable the
default exception handler.
"""

from __future__ import annotations

import calendar
import logging
import os
import pickle
import random
import select
import struct
import time
import zlib
from base64 import b64encode
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import chain
from typing import TYPE_CHECKING, Any

import redis.exceptions
import rq.exceptions
import rq.job
import rq.queue
import rq.timeouts
import rq.worker
from rq.defaults import (
    DEFAULT_FAILURE_TTL,
    DEFAULT_LOGGING_DATE_FORMAT,
    DEFAULT_LOGGING_FORMAT,
    DEFAULT_WORKER_TTL,
)
from rq.executions import Execution
from rq.job import JobStatus
from rq.job import Retry as _RQRetry
from rq.results import Result
from rq.suspension import WORKERS_SUSPENDED
from rq.timeouts import JobTimeoutException
from rq.utils import current_timestamp, now, utcformat
from rq.worker.base import BaseWorker, WorkerStatus

from . import _impl
from .job import (
    Job,
    attach_policy,
    last_attempt,
    last_attempt_number,
    record_attempt,
)
from .patch import installed
from .queue import Queue
from .retry import Retry, retry_after_of
from .scheduler import RQScheduler
from .scripts import Link, lifecycle_script
from .stats import counters_key
from .timeouts import AlarmDeathPenalty
from .tracebacks import attempt_traceback, stock_traceback

if TYPE_CHECKING:
    from rq.job import Job as RQJob
    from rq.queue import Queue as RQQueue

__all__ = ["SimpleWorker", "Worker"]

logger = logging.getLogger(__name__)

#: The extra job hash field counting executions started by rqfast workers.
EXECUTIONS_FIELD = "rqfast_executions"

# Stock implementations, captured before anything could patch them.
_stock_init = BaseWorker.__init__
_stock_handle_job_success = BaseWorker.handle_job_success
_stock_handle_job_failure = BaseWorker.handle_job_failure
_stock_handle_job_retry = BaseWorker.handle_job_retry
_stock_teardown = BaseWorker.teardown
_stock_perform_job = BaseWorker.perform_job
_stock_handle_exception = BaseWorker.handle_exception
_stock_job_init = rq.job.Job.__init__
_UNSERIALIZABLE_RETURN_VALUE = rq.job.UNSERIALIZABLE_RETURN_VALUE_PAYLOAD  # type: ignore[attr-defined]
_job_stack = rq.job._job_stack
_chain = chain.from_iterable


# Execution ids, in the layout of stock RQ's uuid4().hex. They need to be
# unique per job only, so they come from a private generator seeded by the
# OS (and seeded again in every forked child) rather than from one
# getrandom() system call each.
_execution_ids = random.Random()
os.register_at_fork(after_in_child=_execution_ids.seed)
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)


def _execution_id() -> str:
    """Return a new execution id: 32 hex digits of a version 4 UUID."""
    return "%032x" % (_execution_ids.getrandbits(128) & _UUID4_CLEAR | _UUID4_SET)


_stock_procline = BaseWorker.procline
_rq_worker_globals = vars(rq.worker.base)
# RQ's setprocname when setproctitle is not installed: it does nothing.
_silent_setprocname = (
    _rq_worker_globals["setprocname"]
    if _rq_worker_globals["setprocname"].__module__ == rq.worker.base.__name__
    else None
)


def _shows_titles(worker: BaseWorker) -> bool:
    """Return whether the worker's procline does anything, so its title is worth making.

    Without setproctitle, stock RQ's procline does nothing with the title it
    is given; a worker class with a procline of its own always gets it.
    """
    return (
        _rq_worker_globals["setprocname"] is not _silent_setprocname
        or type(worker).procline is not _stock_procline
    )


# RQ's current-job stack is a LocalStack over a werkzeug-style Local, whose
# __getattr__ runs (behind an AttributeError formatted and dropped) for every
# read of its stack. The worker pushes and pops through the Local's storage
# instead, {thread ident: {"stack": [...]}}, when it has one.
_job_local = _job_stack._local
_job_storage: dict[Any, dict[str, Any]] | None = getattr(
    _job_local, "__storage__", None
)
_job_ident = getattr(_job_local, "__ident_func__", None)
if not isinstance(_job_storage, dict) or not callable(_job_ident):
    _job_storage = None


def _push_current_job(job: RQJob) -> None:
    """Make ``job`` the one get_current_job() answers in this thread."""
    if _job_storage is None:
        _job_stack.push(job)  # type: ignore[no-untyped-call]
        return
    assert _job_ident is not None
    local = _job_storage.setdefault(_job_ident(), {})
    stack = local.get("stack")
    if stack is None:
        stack = local["stack"] = []
    stack.append(job)


def _pop_current_job() -> None:
    """Pop the job get_current_job() answers, keeping the thread's emptied stack.

    RQ's LocalStack.pop releases the thread's storage when it pops the last
    job, so that the next push finds no stack and makes one through two
    caught exceptions. An empty stack left in place answers None all the same.
    """
    if _job_storage is None:
        stack = getattr(_job_stack._local, "stack", None)
    else:
        assert _job_ident is not None
        stack = _job_storage.get(_job_ident(), {}).get("stack")
    if stack:
        stack.pop()


@dataclass
class _Finish:
    """A finish phase ready to send, and what the stock path needs instead."""

    keys: list[str]
    args: list[Any]
    job: RQJob
    queue: RQQueue
    #: Whether the job's dependents must be enqueued after the finish.
    dependents: bool
    extra: dict[str, Any] = field(default_factory=dict)


def _flat(mapping: dict[str, Any]) -> list[Any]:
    """Return a mapping as the flat field/value list HSET takes."""
    return list(_chain(mapping.items()))


def _text(value: bytes | str) -> str:
    """Return a reply from Redis as text."""
    return value.decode() if isinstance(value, bytes) else value


def _function_of(job: RQJob) -> str:
    """Return the job's function name for a log line, even if its data is unreadable."""
    try:
        return str(job.func_name)
    except rq.exceptions.DeserializationError:
        return "<DeserializationError>"


def _score_for(ttl: int) -> int | str:
    """Return the registry score stock RQ gives an entry kept ``ttl`` seconds."""
    if ttl == -1:
        return "+inf"
    return ttl if ttl < 0 else int(time.time()) + ttl


@dataclass(frozen=True)
class _QueueKeys:
    """The keys of a queue's registries, read once per worker and queue."""

    started: str
    finished: str
    failed: str
    scheduled: str
    queues: str


def _result_expiry(ttl: int | None) -> str | int:
    """Return how stock Result.save treats the results stream for ``ttl``."""
    if ttl is None:
        return ""
    return "persist" if ttl == -1 else ttl


def _success_counters(job: RQJob) -> tuple[str, ...]:
    """Return the counters a success increments: after how many failed attempts."""
    number = last_attempt_number(job)
    if number is None:
        return ()
    return ("succeeded_after_retry", f"succeeded_after:{number}")


class _Lifecycle(BaseWorker):
    """The per-job path shared by both workers; not for direct use."""

    job_class = Job
    queue_class = Queue
    #: "1" when the job runs in the worker's own process (heartbeat TTL rule).
    _runs_in_process = "1"

    #: The retry policy of jobs enqueued without one (``retry=`` overrides it).
    default_retry: _RQRetry | None = None
    #: The execution the start phase began last (stock RQ's own path starts
    #: executions too: a job in any other execution takes that path).
    _lifecycle_execution: Execution | None = None

    # Stock RQ's SIGALRM timeouts, set and cleared more cheaply; a worker
    # given another death penalty class keeps it.
    if BaseWorker.death_penalty_class is rq.timeouts.UnixSignalDeathPenalty:
        death_penalty_class = AlarmDeathPenalty

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        """Create the worker as stock RQ does; no finish phase is pending.

        ``retry``, a keyword-only extra, is the policy of jobs enqueued without
        one; a job's own policy wins. RQ's own ``Job`` and ``Queue`` given as
        ``job_class`` and ``queue_class`` (the ``rq worker`` command passes
        them by default) mean rqfast's, which read and write the same data and
        keep the attempt history.
        """
        self.default_retry = kwargs.pop("retry", self.default_retry)
        if kwargs.get("job_class") is rq.job.Job:
            kwargs["job_class"] = Job
        if kwargs.get("queue_class") is rq.queue.Queue:
            kwargs["queue_class"] = Queue
        _stock_init(self, *args, **kwargs)
        self._link = Link(self.connection)
        self._pending: _Finish | None = None
        self._suspension_checked = False

    def validate_queues(self) -> None:
        """Accept stock RQ queues as well as rqfast's: they share one format."""
        for queue in self.queues:
            if not isinstance(queue, rq.queue.Queue):
                raise TypeError(f"{queue} is not an RQ queue or a queue name")

    def _start_scheduler(
        self,
        burst: bool = False,
        logging_level: str | None = "INFO",
        date_format: str = DEFAULT_LOGGING_DATE_FORMAT,
        log_format: str = DEFAULT_LOGGING_FORMAT,
    ) -> None:
        """Start the scheduler as stock RQ does, as rqfast's RQScheduler.

        It queues every due job of a queue in each tick, where stock RQ's
        queues at most 1000 a second. Under :func:`rqfast.install` RQ's own
        class has the same method and is used, as stock RQ would.
        """
        scheduler_class: type[RQScheduler] = (
            vars(rq.worker.base)["RQScheduler"] if installed() else RQScheduler
        )
        scheduler = scheduler_class(
            self.queues,
            connection=self.connection,
            logging_level=logging_level
            if logging_level is not None
            else self.log.level,
            date_format=date_format,
            log_format=log_format,
            serializer=self.serializer,
        )
        self.scheduler = scheduler
        scheduler.acquire_locks()  # type: ignore[no-untyped-call]
        if not scheduler.acquired_locks:
            return
        if not burst:
            scheduler.start()  # type: ignore[no-untyped-call]
            return
        try:
            scheduler.register_birth()
            scheduler.enqueue_scheduled_jobs()
        finally:
            scheduler.release_locks()  # type: ignore[no-untyped-call]
            scheduler.register_death()

    # The loop: one script call per job ---------------------------------

    @property
    def should_run_maintenance_tasks(self) -> bool:
        """Return whether maintenance is due, as stock RQ decides it, for less.

        Stock RQ compares the time since the last cleaning with the interval
        twice per job; the moment it falls due is worked out once per
        cleaning here, so that each check is one comparison.
        """
        last = self.last_cleaned_at
        if last is None:
            return True
        interval = self.maintenance_interval
        due = self.__dict__.get("_rqfast_maintenance_due")
        if due is None or due[0] is not last or due[1] != interval:
            due = (last, interval, last + timedelta(seconds=interval))
            self.__dict__["_rqfast_maintenance_due"] = due
        return bool(now() > due[2])

    def check_for_suspension(self, burst: bool) -> None:
        """Leave the suspension check to the start phase, which does it for free."""
        if self._suspension_checked:
            return
        wait_while_suspended(self, burst)

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        """Send a heartbeat, unless the pending finish phase is about to send it."""
        pending = self._pending
        if pipeline is None and pending is not None:
            # The finish phase's own heartbeat: the moment its job ended.
            self.last_heartbeat = pending.job.ended_at or now()
            return
        rq.worker.base.BaseWorker.heartbeat(self, timeout, pipeline)

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[RQJob, RQQueue] | None:
        """Finish the last job and start the next one in one call when possible."""
        if _shows_titles(self):
            names = ",".join(self.queue_names())
            self.procline("Listening on " + names)  # type: ignore[no-untyped-call]
        idle_since = None
        idle_left = max_idle_time
        wait = 1.0
        claim: tuple[int, str] | None = None
        while True:
            try:
                if self.should_run_maintenance_tasks:
                    self.flush()
                    self.run_maintenance_tasks()  # type: ignore[no-untyped-call]
                answer = self._start(claim)
                claim = None
                if answer[0] == b"suspended":
                    self._suspension_checked = False
                    wait_while_suspended(self, timeout is None)
                    continue
                self._suspension_checked = True
                if answer[0] == b"job":
                    try:
                        return self._started(answer)
                    except Exception as error:
                        if getattr(error, "job_id", None) is None:
                            raise
                        self._set_aside_unreadable(error)
                        continue
                if timeout is None:
                    return None
                block = timeout if idle_left is None else min(timeout, idle_left)
                if idle_since is None:
                    idle_since = now()
                claim = self._wait_for_job(block)
                if claim is None and max_idle_time is not None:
                    idle_for = (now() - idle_since).total_seconds()
                    idle_left = int(max_idle_time - idle_for + 0.999)
                    if idle_left <= 0:
                        return None
            except redis.exceptions.ConnectionError as error:
                self.log.error(
                    "Worker %s: could not connect to Redis: %s; retrying in %d s",
                    self.name,
                    error,
                    wait,
                )
                time.sleep(wait)
                wait = min(
                    wait * self.exponential_backoff_factor,
                    self.max_connection_wait_time,
                )

    def _start(self, claim: tuple[int, str] | None) -> list[Any]:
        """Send any pending finish with a start phase; return the start's answer."""
        execution_id = _execution_id()
        execution = Execution(execution_id, "", self.connection, worker_name=self.name)
        started = execution.created_at
        keys = self._start_keys()
        args: list[Any] = [
            self.name,
            execution_id,
            _impl.ext.utcformat(started),
            _impl.ext.timestamp_text(started),
            self._runs_in_process,
            self.job_monitoring_interval,
            DEFAULT_WORKER_TTL,
            self.worker_ttl + 60,
            self.job_class.redis_job_namespace_prefix,
            claim[1] if claim else "",
            claim[0] if claim else "",
        ]
        self._next_execution = execution
        pending = self._pending
        if pending is None:
            return self._call([("start", keys, args)])[0]  # type: ignore[no-any-return]
        answers = self._call(
            [("finish", pending.keys, pending.args), ("start", keys, args)]
        )
        self._pending = None
        if answers[0][0] == b"dependents":
            self._finish_with_dependents(pending, answers[0])
            return self._call([("start", keys, args)])[0]  # type: ignore[no-any-return]
        return answers[1]  # type: ignore[no-any-return]

    def _start_keys(self) -> list[str]:
        """Return the start phase's keys for the queues in their current order."""
        queues = self._ordered_queues
        names = tuple(queue.name for queue in queues)
        cache: dict[tuple[str, ...], list[str]] = self.__dict__.setdefault(
            "_rqfast_start_keys", {}
        )
        keys = cache.get(names)
        if keys is None:
            keys = [self.key, WORKERS_SUSPENDED]
            for queue in queues:
                keys += [queue.key, queue.started_job_registry.key]
                keys.append(queue.intermediate_queue_key)
            cache[names] = keys
        return keys

    def _keys_of(self, queue: RQQueue) -> _QueueKeys:
        """Return a queue's registry keys, cached by queue name."""
        cache: dict[str, _QueueKeys] = self.__dict__.setdefault(
            "_rqfast_queue_keys", {}
        )
        keys = cache.get(queue.name)
        if keys is None:
            keys = _QueueKeys(
                started=queue.started_job_registry.key,
                finished=queue.finished_job_registry.key,
                failed=queue.failed_job_registry.key,
                scheduled=queue.scheduled_job_registry.key,
                queues=queue.redis_queues_keys,
            )
            cache[queue.name] = keys
        return keys

    def _new_job(self, job_id: str) -> RQJob:
        """Return an empty job object, as the job class's constructor makes one.

        Stock Job.__init__ resolves the serializer (a Protocol isinstance
        check) and sets some forty attributes; a job of the stock constructor
        is copied from a template made once, its containers copied too.
        """
        job_class = self.job_class
        if job_class.__init__ is not _stock_job_init:
            return job_class(
                job_id, connection=self.connection, serializer=self.serializer
            )
        template = self.__dict__.get("_rqfast_job_template")
        if template is None or type(template[0]) is not job_class:
            made = job_class(
                job_id, connection=self.connection, serializer=self.serializer
            )
            mutable = tuple(
                name
                for name, value in vars(made).items()
                if isinstance(value, (list, dict, set))
            )
            template = (made, dict(vars(made)), mutable)
            self.__dict__["_rqfast_job_template"] = template
        job = job_class.__new__(job_class)
        state = job.__dict__
        state.update(template[1])
        for name in template[2]:
            state[name] = state[name].copy()
        state["_id"] = job_id
        return job

    def _call(self, phases: list[tuple[str, list[str], list[Any]]]) -> list[Any]:
        """Run lifecycle phases in one script call and return their answers."""
        keys: list[str] = []
        header: list[Any] = [len(phases)]
        args: list[Any] = []
        for name, phase_keys, phase_args in phases:
            header += [name, len(phase_keys), len(phase_args)]
            keys += phase_keys
            args += phase_args
        link = self._link
        if link.client is not self.connection:
            link.close()
            link = self._link = Link(self.connection)
        answers: list[Any] = link.call(lifecycle_script, keys, header + args)
        return answers

    def _wait_for_job(self, timeout: int) -> tuple[int, str] | None:
        """Block until a job id arrives on a queue; return (queue index, id)."""
        queues = self._ordered_queues
        self.log.debug("Worker %s: waiting up to %d s for a job", self.name, timeout)
        if len(queues) == 1:
            queue = queues[0]
            job_id = self.connection.blmove(
                queue.key, queue.intermediate_queue_key, timeout, "LEFT", "RIGHT"
            )
            if job_id is None:
                return None
            return 0, _text(job_id)
        popped = self.connection.blpop([queue.key for queue in queues], timeout)
        if popped is None:
            return None
        queue_key, job_id = popped
        index = [queue.key for queue in queues].index(_text(queue_key))
        return index, _text(job_id)

    def _job_from_hash(self, job_id: str, raw: dict[bytes, bytes]) -> RQJob:
        """Return the job a start phase read, keeping its hash for the finish's diff."""
        job = self._new_job(job_id)
        job.restore(raw)
        job.__dict__["_rqfast_raw"] = raw
        job.__dict__["_rqfast_executions"] = int(raw.get(b"rqfast_executions", 1))
        return job

    def _started(self, answer: list[Any]) -> tuple[RQJob, RQQueue]:
        """Build the job and its queue from a start phase's answer."""
        queue = self._ordered_queues[int(answer[1]) - 1]
        job_id = answer[2].decode()
        values = iter(answer[3])
        raw = dict(zip(values, values, strict=True))
        try:
            job = self._job_from_hash(job_id, raw)
        except Exception as error:
            error.job_id = job_id  # type: ignore[attr-defined]
            error.queue = queue  # type: ignore[attr-defined]
            raise
        execution = self._next_execution
        execution.job_id = job_id
        self.execution = self._lifecycle_execution = execution
        # The start phase wrote the busy state to Redis; a shutdown request
        # now waits for the job to end, as with stock RQ.
        self._state = WorkerStatus.BUSY
        self.reorder_queues(reference_queue=queue)
        job.redis_server_version = self.get_redis_server_version()  # type: ignore[no-untyped-call]
        if self.log_job_description:
            self.log.info(
                "Worker %s: %s: %s (%s)", self.name, queue.name, job.description, job_id
            )
        else:
            self.log.info("Worker %s: %s: %s", self.name, queue.name, job_id)
        return job, queue

    def _set_aside_unreadable(self, error: Exception) -> None:
        """Fail a job whose hash cannot be read, with the reason, and go on.

        The job hash is left as it is but for its status, end time and
        ``exc_info``; the failure is recorded (failed registry, results
        stream, worker counter) in the finish phase sent with the next start.
        """
        job_id: str = error.job_id  # type: ignore[attr-defined]
        queue: RQQueue = error.queue  # type: ignore[attr-defined]
        reason = f"rqfast: the job hash cannot be read: {error!r}"
        self.log.error(
            "Worker %s: job %s on %s cannot be read (%s); moved to the failed registry",
            self.name,
            job_id,
            queue.name,
            error,
        )
        job = self.job_class(job_id, connection=self.connection)
        job.ended_at = now()
        execution = self._next_execution
        execution.job_id = job_id
        self.execution = execution
        ttl = DEFAULT_FAILURE_TTL
        self._queue_finish(
            job,
            queue,
            destination=self._keys_of(queue).failed,
            dependents=False,
            counter="failed_job_count",
            mapping={
                "status": JobStatus.FAILED.value,
                "ended_at": utcformat(job.ended_at),
                "exc_info": zlib.compress(reason.encode()),
            },
            result=self._result(job, Result.Type.FAILED, exc_string=reason),
            result_expiry=ttl,
            job_expiry="",
            move="zadd",
            score=current_timestamp() + ttl,
            queues_member="",
        )

    def flush(self) -> None:
        """Send the pending finish phase now, if there is one."""
        pending = self._pending
        if pending is None:
            return
        self._pending = None
        answer = self._call([("finish", pending.keys, pending.args)])[0]
        if answer[0] == b"dependents":
            self._finish_with_dependents(pending, answer)

    def _finish_with_dependents(self, pending: _Finish, answer: list[Any]) -> None:
        """Finish a job that has dependents, then enqueue them as stock RQ does.

        Stock RQ decides on a succeeded job's dependents before it marks the job
        finished, so a job canceled or stopped while it ran leaves them
        deferred; ``answer`` carries the status the job had when the finish
        phase found its dependents. (Stock RQ makes that decision and the
        finish one transaction; here a cancel in the instant between the two
        calls still lets the dependents run.)
        """
        args = list(pending.args)
        args[0] = "0" + args[0][1:]
        self._call([("finish", pending.keys, args)])
        succeeded = pending.job.get_status(refresh=False) == JobStatus.FINISHED
        if succeeded and _text(answer[1]) in (JobStatus.CANCELED, JobStatus.STOPPED):
            return
        pending.queue.enqueue_dependents(pending.job)

    def teardown(self) -> None:
        """Send the pending finish phase, then tear down as stock RQ does."""
        try:
            self.flush()
        finally:
            self._link.close()
            _stock_teardown(self)  # type: ignore[no-untyped-call]

    # Running one job ---------------------------------------------------

    def perform_job(self, job: RQJob, queue: RQQueue) -> bool:
        """Run a job started by the start phase and decide how it ends.

        A job the start phase did not start (one given to this method
        directly) takes stock RQ's path.
        """
        if not self._started_here(job):
            return _stock_perform_job(self, job, queue)
        try:
            # Reading the function's name deserializes the payload, which fails
            # for a job whose data cannot be read: that fails the job.
            name = job.func_name
            if _shows_titles(self):
                self.procline(  # type: ignore[no-untyped-call]
                    f"Processing {name} from {job.origin} since {time.time()}"
                )
            job.started_at = now()
            timeout = job.timeout or self.queue_class.DEFAULT_TIMEOUT
            with self.death_penalty_class(timeout, JobTimeoutException, job_id=job.id):
                _push_current_job(job)
                try:
                    job._result = job._execute()
                finally:
                    _pop_current_job()
            return_value = job._result
            job.ended_at = job.last_heartbeat = now()
            if isinstance(return_value, _RQRetry):
                self._returned_retry(job, queue, return_value)
                return True
            job._status = JobStatus.FINISHED
            job.execute_success_callback(self.death_penalty_class, return_value)
            self._succeeded(job, queue, return_value)
        except BaseException as raised:
            job._status = JobStatus.FAILED
            job.ended_at = job.last_heartbeat = now()
            error = raised
            try:
                job.execute_failure_callback(
                    self.death_penalty_class, type(error), error, error.__traceback__
                )
            except BaseException as callback_error:
                error = callback_error
            self.handle_exception(job, type(error), error, error.__traceback__)
            self._failed(job, queue, error)
            return False
        self.log.info("Worker %s: %s: Job OK (%s)", self.name, job.origin, job.id)
        if self.log_result_lifespan:
            ttl = job.get_result_ttl(self.default_result_ttl)
            if ttl > 0:
                self.log.info(
                    "Worker %s: job %s result is kept for %s seconds",
                    self.name,
                    job.id,
                    ttl,
                )
            elif ttl < 0:
                self.log.info(
                    "Worker %s: job %s result will never expire", self.name, job.id
                )
        return True

    def _started_here(self, job: RQJob) -> bool:
        """Return whether the start phase started this execution of ``job``."""
        execution = self._lifecycle_execution
        return (
            execution is not None
            and execution is self.execution
            and execution.job_id == job.id
        )

    def handle_exception(self, job: RQJob, *exc_info: Any) -> None:
        """Run the exception handlers; the failure itself is logged once, later."""
        if not self._started_here(job):
            _stock_handle_exception(self, job, *exc_info)
            return
        for handler in self._exc_handlers:
            fallthrough = handler(job, *exc_info)
            if fallthrough is not None and not fallthrough:
                break

    def _finish_keys(self, job: RQJob, queue: RQQueue, destination: str) -> list[str]:
        execution = self.execution
        assert execution is not None
        queue_keys = self._keys_of(queue)
        return [
            self.key,
            job.key,
            job.dependents_key,
            execution.key,
            f"rq:executions:{job.id}",
            queue_keys.started,
            Result.get_key(job.id),  # type: ignore[no-untyped-call]
            destination,
            queue_keys.queues,
            job.dependencies_key,
        ]

    def _queue_finish(
        self,
        job: RQJob,
        queue: RQQueue,
        *,
        destination: str,
        dependents: bool,
        counter: str,
        mapping: dict[str, Any],
        result: dict[str, Any] | None,
        result_expiry: str | int,
        job_expiry: str | int,
        move: str,
        score: int | str,
        queues_member: str,
        counters: tuple[str, ...] = (),
    ) -> None:
        """Prepare a finish phase; send it now or with the next start.

        ``counters`` are fields of the queue's rqfast counters hash to
        increment in the same call.
        """
        working = ""
        if job.started_at and job.ended_at:
            working = _impl.ext.seconds_text(job.ended_at - job.started_at)
        result_items = _flat(result) if result else []
        raw = job.__dict__.get("_rqfast_raw")
        mapping_items = _flat(
            _impl.ext.changed_fields(mapping, raw) if raw is not None else mapping
        )
        assert self.execution is not None
        flags = ("1" if dependents else "0") + ("1" if job._dependency_ids else "0")
        args: list[Any] = [
            flags,
            job.id,
            counter,
            working,
            self.execution.id,
            # The worker's heartbeat while idle: the moment the job ended.
            _impl.ext.utcformat(job.ended_at or now()),
            self.worker_ttl + 60,
            job_expiry,
            result_expiry,
            move,
            score,
            queues_member,
            len(mapping_items),
            len(result_items),
            *mapping_items,
            *result_items,
        ]
        keys = self._finish_keys(job, queue, destination)
        if counters:
            keys.append(counters_key(queue.name))
            args += [len(counters), *counters]
        self._pending = _Finish(keys, args, job, queue, dependents)
        self.execution = None
        self._state = WorkerStatus.IDLE
        if job.webhooks:
            self.flush()
        elif self.is_horse:
            self._hand_over()

    def _hand_over(self) -> None:
        """Give a work horse's finish phase to its parent, which sends it.

        The parent reads the pipe while the horse runs and sends the phase
        with its next start, so the horse needs no Redis connection of its own.
        A horse without a parent's pipe (one forked by stock RQ's code) sends
        the phase itself.
        """
        pending = self._pending
        writer = getattr(self, "_finish_writer", None)
        if pending is None or writer is None:
            self.flush()
            return
        _send_message(
            writer,
            pickle.dumps(
                (pending.keys, pending.args, pending.dependents, pending.job._status),
                pickle.HIGHEST_PROTOCOL,
            ),
        )
        self._pending = None

    def _result(self, job: RQJob, kind: Result.Type, **fields: Any) -> dict[str, Any]:
        """Return the results stream entry stock RQ writes for this execution."""
        execution = self.execution
        assert execution is not None
        entry: dict[str, Any] = {"type": kind.value, "worker_name": self.name}
        exc_string = fields.get("exc_string")
        if exc_string is not None:
            entry["exc_string"] = b64encode(
                _impl.ext.compress(exc_string.encode())
            ).decode()
        return_value = fields.get("return_value")
        if return_value is not None:
            try:
                payload = job.serializer.dumps(return_value)
            except Exception:
                payload = job.serializer.dumps(_UNSERIALIZABLE_RETURN_VALUE)
            entry["return_value"] = b64encode(payload).decode()
        entry["execution_id"] = execution.id
        # The floats stock RQ writes, as the text redis-py sends for them.
        entry["execution_started_at"] = _impl.ext.timestamp_text(execution.created_at)
        if job.ended_at:
            entry["execution_ended_at"] = _impl.ext.timestamp_text(job.ended_at)
        return entry

    def _succeeded(self, job: RQJob, queue: RQQueue, return_value: Any) -> None:
        """Finish a job that returned normally."""
        ttl = job.get_result_ttl(self.default_result_ttl)
        repeats = job.repeats_left is not None and job.repeats_left > 0
        if ttl == 0 or repeats:
            self.flush()
            _stock_handle_job_success(self, job, queue, queue.started_job_registry)
            job.send_webhooks(JobStatus.FINISHED)
            return
        self._queue_finish(
            job,
            queue,
            destination=self._keys_of(queue).finished,
            dependents=True,
            counter="successful_job_count",
            mapping=job.to_dict(include_meta=False, include_result=False),
            result=self._result(job, Result.Type.SUCCESSFUL, return_value=return_value),
            result_expiry=_result_expiry(ttl),
            job_expiry=ttl if ttl > 0 else "",
            move="zadd",
            score=_score_for(ttl),
            queues_member="",
            counters=_success_counters(job),
        )
        if job.webhooks:
            job.send_webhooks(JobStatus.FINISHED)

    def _give_up(
        self,
        job: RQJob,
        queue: RQQueue,
        exc_string: str,
        result: dict[str, Any],
        counters: tuple[str, ...] = (),
    ) -> None:
        """Move a job to its FailedJobRegistry with a result entry."""
        ttl = DEFAULT_FAILURE_TTL if job.failure_ttl is None else job.failure_ttl
        job._status = JobStatus.FAILED
        job._exc_info = exc_string
        self._queue_finish(
            job,
            queue,
            destination=self._keys_of(queue).failed,
            dependents=True,
            counter="failed_job_count",
            mapping=job.to_dict(include_meta=False, include_result=False),
            result=result,
            result_expiry=_result_expiry(job.failure_ttl),
            job_expiry=ttl if ttl > 0 else "",
            move="zadd",
            score=ttl if ttl < 0 else current_timestamp() + ttl,
            queues_member="",
            counters=counters,
        )
        if job.webhooks:
            job.send_webhooks(JobStatus.FAILED, exc_string=exc_string)

    def _again(
        self,
        job: RQJob,
        queue: RQQueue,
        delay: float,
        at_front: bool,
        result: dict[str, Any] | None = None,
        result_expiry: str | int = "",
        counters: tuple[str, ...] = (),
    ) -> None:
        """Put a failed job back on its queue, or schedule it ``delay`` s from now."""
        job_expiry: str | int = job.ttl if job.ttl is not None and job.ttl > 0 else ""
        if delay:
            when = now() + timedelta(seconds=delay)
            job._status = JobStatus.SCHEDULED
            registry = queue.scheduled_job_registry
            self._queue_finish(
                job,
                queue,
                destination=registry.key,
                dependents=False,
                counter="failed_job_count",
                mapping=job.to_dict(),
                result=result,
                result_expiry=result_expiry,
                job_expiry=job_expiry,
                move="zadd",
                score=calendar.timegm(when.utctimetuple()),
                queues_member=queue.key,
                counters=counters,
            )
            return
        queue._prepare_for_queue(job)
        self._queue_finish(
            job,
            queue,
            destination=queue.key,
            dependents=False,
            counter="failed_job_count",
            mapping=job.to_dict(),
            result=result,
            result_expiry=result_expiry,
            job_expiry=job_expiry,
            move="lpush" if at_front else "rpush",
            score="",
            queues_member="",
            counters=counters,
        )

    def _attempt(self, job: RQJob) -> int:
        """Return the number of the execution that just ended."""
        return int(job.__dict__.get("_rqfast_executions", 1))

    def _failed(self, job: RQJob, queue: RQQueue, exc: BaseException) -> None:
        """Finish a job that raised: retry it now, later, or fail it for good.

        A failure that ends the job is stored with the traceback text stock RQ
        stores; a retried attempt's history and log line take the cheaper
        :func:`attempt_traceback`.
        """
        if (
            self._stopped_job_id == job.id
            or self.disable_default_exception_handler
            or job.ttl == 0
        ):
            self.flush()
            exc_string = stock_traceback(exc)
            self.log.error(
                "Worker %s: job %s (%s) failed\n%s",
                self.name,
                job.id,
                _function_of(job),
                exc_string,
            )
            _stock_handle_job_failure(
                self,
                job,
                queue,
                started_job_registry=queue.started_job_registry,
                exc_string=exc_string,
            )
            return
        attempt = self._attempt(job)
        policy = self._policy_for(job)
        if policy is not None and not policy.should_retry(exc):
            exc_string = stock_traceback(exc)
            self.log.error(
                "Worker %s: job %s (%s) attempt %d failed with %s, which its "
                "retry policy does not retry\n%s",
                self.name,
                job.id,
                _function_of(job),
                attempt,
                type(exc).__name__,
                exc_string,
            )
            record_attempt(job, attempt, exc, exc_string, self.name, None)
            self._give_up(
                job,
                queue,
                exc_string,
                self._result(job, Result.Type.FAILED, exc_string=exc_string),
                counters=("gave_up",),
            )
            return
        if not job.should_retry:
            exc_string = stock_traceback(exc)
            self.log.error(
                "Worker %s: job %s (%s) attempt %d failed, no retries left\n%s",
                self.name,
                job.id,
                _function_of(job),
                attempt,
                exc_string,
            )
            exhausted = job.retries_left is not None
            if exhausted:
                record_attempt(job, attempt, exc, exc_string, self.name, None)
            self._give_up(
                job,
                queue,
                exc_string,
                self._result(job, Result.Type.FAILED, exc_string=exc_string),
                counters=("exhausted",) if exhausted else (),
            )
            return
        delay = self._retry_delay(job, policy, exc)
        assert job.retries_left
        job.retries_left -= 1
        exc_string = attempt_traceback(exc)
        record_attempt(job, attempt, exc, exc_string, self.name, delay)
        self.log.error(
            "Worker %s: job %s (%s) attempt %d failed, runs again %s "
            "(%d retries left)\n%s",
            self.name,
            job.id,
            _function_of(job),
            attempt,
            f"at {now() + timedelta(seconds=delay):%Y-%m-%d %H:%M:%S}Z"
            if delay
            else "now",
            job.retries_left,
            exc_string,
        )
        self._again(
            job, queue, delay, job.enqueue_at_front_on_retry, counters=("retried",)
        )

    def _policy_for(self, job: RQJob) -> Retry | None:
        """Return the rqfast policy a failed job follows, applying the worker's default.

        A job enqueued without any retry takes the worker's ``retry``: its
        count and deterministic delays go into the job's stock fields, and its
        extras (if any) into ``rqfast_retry``, so that later attempts follow it
        wherever they run.
        """
        policy: Retry | None = getattr(job, "retry_policy", None)
        default = self.default_retry
        if policy is not None or default is None:
            return policy
        if job.retries_left is not None or job.number_of_retries is not None:
            return None
        job.retries_left = default.max
        job.retry_intervals = list(default.intervals)
        job.enqueue_at_front_on_retry = default.enqueue_at_front
        attach_policy(job, default)
        return default if isinstance(default, Retry) else None

    def _retry_delay(
        self, job: RQJob, policy: Retry | None, exc: BaseException
    ) -> float:
        """Return the delay before a failed job's next attempt."""
        if policy is not None:
            assert job.retries_left
            number = min(max(policy.max - job.retries_left + 1, 1), policy.max)
            last = last_attempt(job)
            previous = last.get("retry_in") if last else None
            return policy.delay(number, previous, exc, key=job.id)
        asked = retry_after_of(exc)
        if asked is not None:
            return asked
        return job.get_retry_interval()

    def _returned_retry(self, job: RQJob, queue: RQQueue, retry: _RQRetry) -> None:
        """Finish a job that returned a Retry: retry it, or fail it at the limit."""
        retries = job.number_of_retries or 0
        if retries and retries >= retry.max:
            self.log.warning(
                "Worker %s: job %s has exceeded maximum retry attempts (%d)",
                self.name,
                job.id,
                retry.max,
            )
            self._give_up(
                job,
                queue,
                "",
                self._result(job, Result.Type.MAX_RETRIES_EXCEEDED, return_value=retry),
            )
            return
        result = self._result(job, Result.Type.RETRIED, return_value=retry)
        delay = _RQRetry.get_interval(retries, retry.intervals)
        job.number_of_retries = retries + 1
        self.log.info(
            "Worker %s: job %s asked to be retried %s, %d remaining",
            self.name,
            job.id,
            f"in {delay} s" if delay else "now",
            retry.max - job.number_of_retries,
        )
        self._again(job, queue, delay, False, result, _result_expiry(job.failure_ttl))


def wait_while_suspended(worker: BaseWorker, burst: bool) -> None:
    """Block while workers are suspended, as stock RQ's worker loop does."""
    rq.worker.base.BaseWorker.check_for_suspension(worker, burst)


class SimpleWorker(_Lifecycle, rq.worker.SimpleWorker):
    """An RQ worker that runs jobs in its own process, one round trip per job."""

    def execute_job(self, job: RQJob, queue: RQQueue) -> None:
        """Run the job here; its finish phase goes out with the next start."""
        self.perform_job(job, queue)
        self._state = WorkerStatus.IDLE


#: The length of a message on a work horse's pipes, before the message.
_HEADER = struct.Struct("<Q")


def _send_message(fd: int, message: bytes) -> None:
    """Write a length-prefixed message to a pipe, all of it."""
    view = memoryview(_HEADER.pack(len(message)) + message)
    while view:
        view = view[os.write(fd, view) :]


def _read_exactly(fd: int, size: int, buffer: bytearray) -> bool:
    """Read from a pipe until ``buffer`` holds ``size`` bytes; False at its end."""
    while len(buffer) < size:
        chunk = os.read(fd, max(size - len(buffer), 65536))
        if not chunk:
            return False
        buffer += chunk
    return True


def _receive_message(fd: int) -> bytes | None:
    """Read one length-prefixed message from a pipe; None if it ends first."""
    buffer = bytearray()
    if not _read_exactly(fd, _HEADER.size, buffer):
        return None
    size = _HEADER.size + _HEADER.unpack_from(buffer)[0]
    if not _read_exactly(fd, size, buffer):
        return None
    return bytes(buffer[_HEADER.size : size])


@dataclass
class _Horse:
    """A forked work horse waiting for its job, and the pipes to talk to it."""

    pid: int
    #: The parent's end of the pipe the job is sent on.
    job_writer: int
    #: The parent's end of the pipe the horse hands its finish phase over on.
    finish_reader: int

    def close(self) -> None:
        for fd in (self.job_writer, self.finish_reader):
            if fd >= 0:
                os.close(fd)
        self.job_writer = self.finish_reader = -1


class Worker(_Lifecycle, rq.worker.Worker):
    """A forking RQ worker: each job runs in a work horse of its own.

    Forking a worker's process and ending the fork are most of what a short
    job costs, so neither is waited for where it need not be. The horse for
    the next job is forked while the current job runs; it waits, its signals
    set as a stock work horse's, until the parent sends it the job it has
    just started. Each job still runs in a process that has run no other
    job. The horse hands its finish phase to the parent through a pipe and
    exits; the parent goes on as soon as the phase has arrived (it sends it
    with its next start) and collects the horse's exit status later. A horse
    that ends without handing over is judged by its exit status, as stock RQ
    judges every horse.
    """

    _runs_in_process = "0"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._spare: _Horse | None = None
        self._finish_reader = -1
        #: Horses that handed their job over and have not been waited for yet.
        self._exiting: list[int] = []
        #: Whether the work loop runs: only it forks ahead and waits for exits
        #: later, since only it ends with a teardown that collects them.
        self._ahead = False

    def work(self, *args: Any, **kwargs: Any) -> bool:
        """Work as stock RQ's worker does, forking each next horse ahead."""
        self._ahead = True
        try:
            return bool(super().work(*args, **kwargs))
        finally:
            self._ahead = False

    def execute_job(self, job: RQJob, queue: RQQueue) -> None:
        """Give the job to a waiting horse, fork the next one, watch this one."""
        self.flush()
        self._collect_exited(block=False)
        self._horse_exit_ok = False
        horse = self._give_job(job, queue)
        try:
            if self._ahead and not self._stop_requested:
                self._spare = self._fork_horse()
            self.monitor_work_horse(job, queue)
        finally:
            horse.close()
            self._finish_reader = -1
        self._state = WorkerStatus.IDLE

    def _give_job(self, job: RQJob, queue: RQQueue) -> _Horse:
        """Send a started job to the waiting horse, forking one if none waits."""
        execution = self.execution
        assert execution is not None
        message = pickle.dumps(
            (
                queue.name,
                job.id,
                job.__dict__.get("_rqfast_raw"),
                execution.id,
                execution.created_at,
            ),
            pickle.HIGHEST_PROTOCOL,
        )
        for _ in range(2):
            horse = self._spare or self._fork_horse()
            self._spare = None
            try:
                _send_message(horse.job_writer, message)
            except BrokenPipeError:
                # The waiting horse is gone (killed from outside): fork another.
                horse.close()
                self._exiting.append(horse.pid)
                continue
            os.close(horse.job_writer)
            horse.job_writer = -1
            break
        else:
            raise RuntimeError(f"work horses for job {job.id} exited before starting")
        self._horse_pid = horse.pid
        self._finish_reader = horse.finish_reader
        os.environ["RQ_WORKER_ID"] = self.name
        os.environ["RQ_JOB_ID"] = job.id
        self.procline(f"Forked {horse.pid} at {time.time()}")  # type: ignore[no-untyped-call]
        return horse

    def _fork_horse(self) -> _Horse:
        """Fork a work horse that waits for a job; return it in the parent."""
        job_reader, job_writer = os.pipe()
        finish_reader, finish_writer = os.pipe()
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            os.close(job_writer)
            os.close(finish_reader)
            self._horse_main(job_reader, finish_writer)
        os.close(job_reader)
        os.close(finish_writer)
        return _Horse(pid, job_writer, finish_reader)

    def _horse_main(self, job_reader: int, finish_writer: int) -> None:
        """Wait for a job, run it as stock RQ's work horse does, and exit."""
        try:
            os.setpgrp()
            self.setup_work_horse_signals()  # type: ignore[no-untyped-call]
            running = getattr(self, "_finish_reader", -1)
            if running >= 0:
                os.close(running)  # the parent's end of the running horse's pipe
            message = _receive_message(job_reader)
            if message is None:
                os._exit(0)  # the parent stopped, or needed no more horses
            name, job_id, raw, execution_id, created_at = pickle.loads(message)
            os.environ["RQ_WORKER_ID"] = self.name
            os.environ["RQ_JOB_ID"] = job_id
            queue = next(q for q in self.queues if q.name == name)
            job = self._job_from_hash(job_id, raw)
            job.redis_server_version = self.get_redis_server_version()  # type: ignore[no-untyped-call]
            execution = Execution(
                execution_id, job_id, self.connection, worker_name=self.name
            )
            execution.created_at = execution.last_heartbeat = created_at
            self.execution = self._lifecycle_execution = execution
            self._finish_writer: int | None = finish_writer
            self.main_work_horse(job, queue)
        except BaseException:
            os._exit(1)
        os._exit(0)

    def _take_over(self, message: bytes, job: RQJob, queue: RQQueue) -> None:
        """Keep the finish phase a work horse handed over for the next start."""
        keys, args, dependents, status = pickle.loads(message)
        job._status = status
        self._pending = _Finish(keys, args, job, queue, dependents)
        self.execution = None

    def _collect_exited(self, block: bool) -> None:
        """Wait for the horses that handed their jobs over; at once or as they end."""
        still: list[int] = []
        for pid in self._exiting:
            try:
                done, _ = os.waitpid(pid, 0 if block else os.WNOHANG)
            except ChildProcessError:
                continue
            if not done:
                still.append(pid)
        self._exiting = still

    def teardown(self) -> None:
        """Let the waiting horse go, collect every horse, then tear down."""
        try:
            spare, self._spare = self._spare, None
            if spare is not None:
                spare.close()  # it reads the end of its pipe and exits
                self._exiting.append(spare.pid)
            self._collect_exited(block=True)
        finally:
            super().teardown()

    def monitor_work_horse(self, job: RQJob, queue: RQQueue) -> None:
        """Wait for the horse's finish phase, sending heartbeats while the job runs."""
        job.started_at = now()
        reader = self._finish_reader
        message: bytes | None = None
        killed = False
        while True:
            ready, _, _ = select.select([reader], [], [], self.job_monitoring_interval)
            if ready:
                message = _receive_message(reader)
                break
            elapsed = (now() - job.started_at).total_seconds()
            self.set_current_job_working_time(elapsed)
            if job.timeout != -1 and elapsed > (job.timeout or 0) + 60:
                self.heartbeat(self.job_monitoring_interval + 60)
                self.kill_horse()
                killed = True
                break
            self.maintain_heartbeats(job)
        self.current_job_working_time = 0
        if message is not None:
            # Handed over: the job has ended, whenever the process does.
            self._exiting.append(self._horse_pid)
            if not self._ahead:
                self._collect_exited(block=True)
            self._horse_pid = 0
            self._horse_exit_ok = True
            self._take_over(message, job, queue)
            return
        _, status, _ = self.wait_for_horse()
        self._horse_pid = 0
        if killed:
            status = None
        self._horse_exit_ok = status == os.EX_OK
        if status == os.EX_OK:
            # The horse sent its finish phase itself.
            return
        self.set_current_job_working_time(0)
        self._horse_failed(job, queue, status)

    def _horse_failed(self, job: RQJob, queue: RQQueue, status: int | None) -> None:
        """Handle a work horse that did not exit cleanly, as stock RQ does."""
        try:
            job_status = job.get_status()
        except rq.exceptions.InvalidJobOperation:
            return
        if self._stopped_job_id == job.id:
            self.log.warning(
                "Worker %s: job %s stopped by user, moving it to FailedJobRegistry",
                self.name,
                job.id,
            )
            if job.stopped_callback:
                job.execute_stopped_callback(self.death_penalty_class)
            _stock_handle_job_failure(
                self,
                job,
                queue,
                exc_string="Job stopped by user, work-horse terminated.",
            )
        elif job_status not in (JobStatus.FINISHED, JobStatus.FAILED):
            job.ended_at = now()
            signal_text = ""
            if status and os.WIFSIGNALED(status):
                signal_text = f" (signal {os.WTERMSIG(status)})"
            exc_string = (
                f"Work-horse terminated unexpectedly; waitpid returned {status}"
                f"{signal_text}; "
            )
            self.log.warning(
                "Worker %s: job %s failed (%s)", self.name, job.id, exc_string
            )
            self.handle_work_horse_killed(job, None, status, None)  # type: ignore[no-untyped-call]
            _stock_handle_job_failure(self, job, queue, exc_string=exc_string)


PATCHES: list[tuple[type, type]] = []
