"""Run RQ jobs to their end inside a test, on a clock the test controls.

:func:`drain` works the given queues with an in-process worker until nothing is
left to run, including retries and jobs scheduled for later. Instead of
waiting, it moves a virtual clock forward to the next due time, so a job with
``Retry(max=3, interval=[10, 30, 60])`` reaches its end in milliseconds. It
returns a :class:`DrainResult` describing every attempt, with assertions that
read as sentences::

    result = drain(queue)
    result.job(job).succeeded_after(retries=2)

The virtual clock reaches only what decides when a job runs next: the ``now``
that RQ's job and queue modules use to compute retry and ``enqueue_in`` due
times (and therefore the ``created_at`` and ``enqueued_at`` stamps those
modules write), the clock of RQ's repeat arithmetic, the same names in
rqfast's own modules, and the due-time comparisons :func:`drain` makes when
it moves scheduled jobs to their queue. Heartbeats, job timeouts, worker
bookkeeping and Redis key expiry stay on the real clock. Everything is put
back when :func:`drain` returns.

The clock moves only between worker passes and only to whole seconds, the
resolution of RQ's scheduled-job registry; all attempts of one pass happen at
the same virtual instant.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import math
import re
import signal
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from types import ModuleType, TracebackType

import redis
import rq.exceptions
import rq.utils
from rq.job import Job as _RQJob
from rq.job import JobStatus
from rq.queue import Queue as _RQQueue
from rq.worker import SimpleWorker as _RQSimpleWorker

from .scheduler import promote_due_jobs
from .worker import SimpleWorker

__all__ = [
    "Attempt",
    "DrainError",
    "DrainResult",
    "JobReport",
    "VirtualClock",
    "drain",
    "worker_side_effects_undone",
]

logger = logging.getLogger(__name__)

#: Attempts after which :func:`drain` gives up when no limit was given.
SAFETY_ATTEMPT_LIMIT = 1000
#: Modules whose ``now`` decides when a job runs next (patched when loaded).
CLOCK_MODULES = (
    "rq.job",
    "rq.queue",
    "rqfast.job",
    "rqfast.queue",
    "rqfast.retry",
    "rqfast.scheduler",
    "rqfast.worker",
)
#: Modules computing due times with ``datetime.now()`` (patched when loaded).
DATETIME_MODULES = ("rq.repeat",)
#: Loggers that an RQ worker configures when it starts.
_WORKER_LOGGERS = ("rq.worker", "rq.job")
_WORKER_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class DrainError(RuntimeError):
    """The queues could not be drained (a job keeps coming back, or is stuck)."""


class VirtualClock:
    """A clock that stands still until it is moved forward."""

    def __init__(self, timestamp: float) -> None:
        self.timestamp = float(timestamp)

    def now(self) -> _dt.datetime:
        """Return the current virtual time as an aware UTC datetime."""
        return _dt.datetime.fromtimestamp(self.timestamp, tz=_dt.timezone.utc)

    def advance_to(self, timestamp: float) -> None:
        """Move the clock to ``timestamp``; moving it backwards is an error."""
        if timestamp < self.timestamp:
            raise ValueError(
                f"the virtual clock cannot go back from {self.timestamp} to {timestamp}"
            )
        self.timestamp = float(timestamp)

    def datetime_class(self) -> type[_dt.datetime]:
        """Return a ``datetime`` subclass whose ``now()`` reads this clock."""
        clock = self

        class VirtualDatetime(_dt.datetime):
            """A datetime whose ``now()`` is the virtual clock's time."""

            @classmethod
            def now(cls, tz: _dt.tzinfo | None = None) -> VirtualDatetime:
                """Return the virtual time, naive local time without ``tz``."""
                return cls.fromtimestamp(clock.timestamp, tz=tz)

        return VirtualDatetime

    @contextlib.contextmanager
    def installed(self) -> Iterator[VirtualClock]:
        """Make RQ's due-time arithmetic read this clock until the block ends."""
        saved: list[tuple[ModuleType, str, object]] = []
        try:
            for name in CLOCK_MODULES:
                module = sys.modules.get(name)
                if module is not None and getattr(module, "now", None) is rq.utils.now:
                    saved.append((module, "now", module.now))
                    module.now = self.now  # type: ignore[attr-defined]
            virtual_datetime = self.datetime_class()
            for name in DATETIME_MODULES:
                module = sys.modules.get(name)
                if module is not None and getattr(module, "datetime", None) is (
                    _dt.datetime
                ):
                    saved.append((module, "datetime", module.datetime))
                    module.datetime = virtual_datetime  # type: ignore[attr-defined]
            yield self
        finally:
            for module, attribute, original in reversed(saved):
                setattr(module, attribute, original)


@dataclass(frozen=True)
class Attempt:
    """One execution of a job: when it ran on the virtual clock and how it ended.

    ``outcome`` is ``"succeeded"``, ``"failed"`` (it raised), ``"retried"``
    (it returned a ``Retry``) or ``"stopped"``. ``status`` is the job's status
    right after the attempt: ``scheduled`` or ``queued`` when another attempt
    follows, ``failed`` when RQ gave up. ``exception`` is what the job raised,
    when the worker reported it.
    """

    job_id: str
    number: int
    at: _dt.datetime
    offset: float
    outcome: str
    status: JobStatus | None
    exception: BaseException | None = None

    def describe(self) -> str:
        """Return one line saying when this attempt ran and how it ended."""
        text = f"attempt {self.number} at +{_seconds(self.offset)}: {self.outcome}"
        if self.exception is not None:
            text += f" with {_exception_text(self.exception)}"
        if self.outcome != "succeeded":
            text += f" ({_next_step(self.status)})"
        return text


@dataclass
class JobReport:
    """What happened to one job across the drains of a test."""

    job_id: str
    description: str
    status: JobStatus | None
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def retries(self) -> int:
        """Return how many attempts followed the first one."""
        return max(len(self.attempts) - 1, 0)

    @property
    def exceptions(self) -> list[BaseException | None]:
        """Return the exception of each failed attempt, in order."""
        return [each.exception for each in self.attempts if each.outcome == "failed"]

    @property
    def offsets(self) -> list[float]:
        """Return the virtual second of each attempt, from the first drain's start."""
        return [each.offset for each in self.attempts]

    def succeeded_after(self, retries: int) -> JobReport:
        """Assert that the job finished, on its attempt number ``retries + 1``."""
        __tracebackhide__ = True
        if (
            self.status != JobStatus.FINISHED
            or len(self.attempts) != retries + 1
            or self.attempts[-1].outcome != "succeeded"
        ):
            expected = (
                "at once" if retries == 0 else f"after {_plural(retries, 'retry')}"
            )
            raise AssertionError(
                f"expected {self._name()} to succeed {expected}; {self}"
            )
        return self

    def gave_up_with(
        self,
        exception: type[BaseException],
        match: str | None = None,
        *,
        retries: int | None = None,
    ) -> JobReport:
        """Assert that the job failed for good, its last attempt raising ``exception``.

        ``match`` is a regular expression searched for in the exception's text;
        ``retries``, when given, is how many retries must have been made.
        """
        __tracebackhide__ = True
        last = self.attempts[-1] if self.attempts else None
        raised = last.exception if last is not None else None
        problem = None
        if self.status != JobStatus.FAILED:
            problem = "it did not fail for good"
        elif not isinstance(raised, exception):
            problem = "its last attempt raised something else"
        elif match is not None and not re.search(match, str(raised)):
            problem = f"the exception text does not match {match!r}"
        elif retries is not None and self.retries != retries:
            problem = f"it was retried {_plural(self.retries, 'time')}, not {retries}"
        if problem is not None:
            raise AssertionError(
                f"expected {self._name()} to give up with {exception.__name__}, "
                f"but {problem}; {self}"
            )
        return self

    def _name(self) -> str:
        """Return how messages name this job."""
        return f"job {self.job_id} ({self.description})"

    def __str__(self) -> str:
        lines = [f"final status {_status_text(self.status)}"]
        if not self.attempts:
            lines.append("  it never ran")
        lines.extend(f"  {each.describe()}" for each in self.attempts)
        return "\n".join(lines)


@dataclass
class DrainResult:
    """What :func:`drain` did: every attempt and how each job ended.

    ``attempts`` holds this call's attempts in the order they ran; ``jobs``
    holds a report per job that ran, counting attempts of earlier drains this
    result continues. ``reason`` says why the drain stopped: ``"empty"``,
    ``"max_attempts"`` or ``"until"``.
    """

    connection: redis.Redis
    start: _dt.datetime
    now: _dt.datetime
    attempts: list[Attempt]
    jobs: dict[str, JobReport]
    reason: str

    @property
    def elapsed(self) -> _dt.timedelta:
        """Return how far the virtual clock moved since the first drain started."""
        return self.now - self.start

    def job(self, job: _RQJob | str) -> JobReport:
        """Return the report of ``job`` (a job or its id), even if it never ran."""
        job_id = job if isinstance(job, str) else job.id
        report = self.jobs.get(job_id)
        if report is not None:
            return report
        fetched = _fetch(self.connection, job_id)
        description = _describe_job(fetched) if fetched is not None else "no such job"
        status = fetched.get_status(refresh=False) if fetched is not None else None
        return JobReport(job_id, description, status)

    def __str__(self) -> str:
        elapsed = _seconds(self.elapsed.total_seconds())
        head = (
            f"drained {_plural(len(self.attempts), 'attempt')} of "
            f"{_plural(len(self.jobs), 'job')} over {elapsed} of virtual time "
            f"(stopped: {self.reason})"
        )
        body = [f"{report._name()}, {report}" for report in self.jobs.values()]
        return "\n".join([head, *body])


def drain(
    queues: _RQQueue | Iterable[_RQQueue],
    *,
    max_attempts: int | None = None,
    until: float | _dt.timedelta | None = None,
    start: _dt.datetime | None = None,
    after: DrainResult | None = None,
    worker_class: type[_RQSimpleWorker] = SimpleWorker,
) -> DrainResult:
    """Run the jobs of ``queues`` until none is left, fast-forwarding scheduled ones.

    Stops early after ``max_attempts`` attempts, or before moving the clock
    past ``until`` (seconds or a timedelta from the start). ``start`` sets the
    virtual time the drain begins at (default: now, in whole seconds);
    ``after`` continues an earlier result: its clock and job histories.
    ``worker_class`` must run jobs in its own process, like ``SimpleWorker``;
    the queues must share the first one's connection, which the worker uses.
    Raises :class:`DrainError` when jobs keep coming back with no limit set.
    """
    queue_list = [queues] if isinstance(queues, _RQQueue) else list(queues)
    if not queue_list:
        raise ValueError("drain needs at least one queue")
    if not issubclass(worker_class, _RQSimpleWorker):
        raise TypeError(
            f"drain runs jobs in this process; {worker_class.__name__} is not a "
            "SimpleWorker subclass"
        )
    if max_attempts is not None and max_attempts < 0:
        raise ValueError(f"max_attempts must not be negative, not {max_attempts}")
    connection = queue_list[0].connection
    origin = _start_time(start, after)
    clock = VirtualClock(origin.timestamp())
    if after is not None:
        clock.advance_to(max(clock.timestamp, after.now.timestamp()))
    first_start = after.start if after is not None else origin
    limit = SAFETY_ATTEMPT_LIMIT if max_attempts is None else max_attempts
    deadline = None if until is None else clock.timestamp + _as_seconds(until)
    recorder = _Recorder(clock, first_start, after)
    worker_type = _recording_class(worker_class)
    reason = "empty"
    with clock.installed(), worker_side_effects_undone():
        while True:
            for queue in queue_list:
                _promote_due(queue, clock.timestamp)
            if len(recorder.attempts) >= limit:
                reason = "max_attempts"
                break
            if any(queue.count for queue in queue_list):
                ran = _work_pass(worker_type, queue_list, recorder, limit)
                if ran == 0:
                    raise DrainError(
                        "a worker pass ran nothing although jobs are queued on "
                        + ", ".join(queue.name for queue in queue_list)
                    )
                continue
            due = _next_due(queue_list)
            if due is None:
                break
            if deadline is not None and due > deadline:
                clock.advance_to(max(clock.timestamp, deadline))
                reason = "until"
                break
            clock.advance_to(max(clock.timestamp, due))
    if max_attempts is None and reason == "max_attempts":
        raise DrainError(
            f"jobs were still runnable after {SAFETY_ATTEMPT_LIMIT} attempts; "
            "pass max_attempts to stop on purpose"
        )
    for report in recorder.jobs.values():
        job = _fetch(connection, report.job_id)
        report.status = job.get_status(refresh=False) if job is not None else None
    logger.debug(
        "Drained %d attempt(s) of %d job(s); virtual clock at %s",
        len(recorder.attempts),
        len(recorder.jobs),
        clock.now(),
    )
    return DrainResult(
        connection=connection,
        start=first_start,
        now=clock.now(),
        attempts=recorder.attempts,
        jobs=recorder.jobs,
        reason=reason,
    )


class _Recorder:
    """Collect the attempts a recording worker reports."""

    def __init__(
        self, clock: VirtualClock, start: _dt.datetime, after: DrainResult | None
    ) -> None:
        self.clock = clock
        self.start = start
        self.attempts: list[Attempt] = []
        self.jobs: dict[str, JobReport] = {}
        if after is not None:
            for job_id, report in after.jobs.items():
                self.jobs[job_id] = JobReport(
                    job_id, report.description, report.status, list(report.attempts)
                )
        self.exception: BaseException | None = None

    def record(self, job: _RQJob, returned: bool) -> None:
        """Record the attempt of ``job`` that just ended.

        The status is the one the worker set on the job object: a worker may
        write the end of a job to Redis only when it asks for the next one.
        """
        status = job.get_status(refresh=False)
        exception, self.exception = self.exception, None
        if status == JobStatus.STOPPED:
            outcome = "stopped"
        elif exception is not None or not returned:
            outcome = "failed"
        elif status == JobStatus.FINISHED:
            outcome = "succeeded"
        else:
            outcome = "retried"
        report = self.jobs.get(job.id)
        if report is None:
            report = JobReport(job.id, _describe_job(job), status)
            self.jobs[job.id] = report
        attempt = Attempt(
            job_id=job.id,
            number=len(report.attempts) + 1,
            at=self.clock.now(),
            offset=self.clock.timestamp - self.start.timestamp(),
            outcome=outcome,
            status=status,
            exception=exception,
        )
        report.attempts.append(attempt)
        report.status = status
        self.attempts.append(attempt)


_RECORDING_CLASSES: dict[type[_RQSimpleWorker], type[_RQSimpleWorker]] = {}
_RECORDING_LOCK = threading.Lock()


def _recording_class(base: type[_RQSimpleWorker]) -> type[_RQSimpleWorker]:
    """Return a subclass of ``base`` that reports each attempt to a recorder."""
    with _RECORDING_LOCK:
        cached = _RECORDING_CLASSES.get(base)
        if cached is not None:
            return cached

        class RecordingWorker(base):  # type: ignore[valid-type,misc]
            """A worker telling a drain recorder how each attempt ended."""

            drain_recorder: _Recorder

            def subscribe(self) -> None:
                """Skip the command channel: nothing sends commands mid-drain.

                A burst worker stops its listener thread with a join that can
                wait a whole second for it, which drain cannot afford per pass.
                """

            def perform_job(self, job: _RQJob, queue: _RQQueue) -> bool:
                """Perform the job and record how the attempt ended."""
                returned = bool(super().perform_job(job, queue))
                self.drain_recorder.record(job, returned)
                return returned

            def handle_exception(
                self,
                job: _RQJob,
                exc_type: type[BaseException],
                exc_value: BaseException,
                traceback: TracebackType | None,
            ) -> None:
                """Remember the exception of the attempt, then handle it as usual."""
                self.drain_recorder.exception = exc_value
                super().handle_exception(job, exc_type, exc_value, traceback)

        RecordingWorker.__name__ = f"Recording{base.__name__}"
        RecordingWorker.__qualname__ = RecordingWorker.__name__
        _RECORDING_CLASSES[base] = RecordingWorker
        return RecordingWorker


def _work_pass(
    worker_type: type[_RQSimpleWorker],
    queues: Sequence[_RQQueue],
    recorder: _Recorder,
    limit: int,
) -> int:
    """Run one burst of a worker over ``queues``; return how many attempts ran."""
    before = len(recorder.attempts)
    first = queues[0]
    worker = worker_type(
        list(queues),
        connection=first.connection,
        name=f"drain-{uuid.uuid4().hex}",
        job_class=first.job_class,
        serializer=first.serializer,
    )
    worker.drain_recorder = recorder  # type: ignore[attr-defined]
    worker.work(burst=True, max_jobs=limit - before, logging_level=None)
    return len(recorder.attempts) - before


def _promote_due(queue: _RQQueue, timestamp: float) -> int:
    """Queue the jobs of ``queue`` due at ``timestamp``, as the scheduler would."""
    return promote_due_jobs(
        queue.connection,
        queue.name,
        int(timestamp),
        default_timeout=queue.DEFAULT_TIMEOUT,
    )


def _next_due(queues: Sequence[_RQQueue]) -> float | None:
    """Return the earliest due time of a scheduled job of ``queues``, if any."""
    earliest: float | None = None
    for queue in queues:
        first = queue.connection.zrange(
            queue.scheduled_job_registry.key, 0, 0, withscores=True
        )
        if first:
            score = float(first[0][1])
            earliest = score if earliest is None else min(earliest, score)
    return earliest


@contextlib.contextmanager
def worker_side_effects_undone() -> Iterator[None]:
    """Put back the signal and log handlers that starting a worker replaces.

    Use it around ``worker.work()`` in a test, so that Ctrl-C still stops pytest
    and the worker's log handlers do not outlive the test.
    """
    main_thread = threading.current_thread() is threading.main_thread()
    handlers = {number: signal.getsignal(number) for number in _WORKER_SIGNALS}
    loggers = [logging.getLogger(name) for name in _WORKER_LOGGERS]
    kept = [(each, list(each.handlers), each.level) for each in loggers]
    try:
        yield
    finally:
        if main_thread:
            for number, handler in handlers.items():
                signal.signal(number, handler)
        for each, each_handlers, level in kept:
            each.handlers[:] = each_handlers
            each.setLevel(level)


def _start_time(start: _dt.datetime | None, after: DrainResult | None) -> _dt.datetime:
    """Return the virtual time a drain starts at, in whole seconds."""
    if start is None:
        moment = math.floor(time.time())
        return _dt.datetime.fromtimestamp(moment, tz=_dt.timezone.utc)
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime (e.g. with tz=UTC)")
    if start.microsecond:
        raise ValueError("start must be a whole second, as RQ schedules in seconds")
    return start


def _as_seconds(value: float | _dt.timedelta) -> float:
    """Return a duration in seconds."""
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    return float(value)


def _fetch(connection: redis.Redis, job_id: str) -> _RQJob | None:
    """Return the job ``job_id``, or None if its hash is gone."""
    try:
        job: _RQJob = _RQJob.fetch(job_id, connection=connection)
    except rq.exceptions.NoSuchJobError:
        return None
    return job


def _describe_job(job: _RQJob) -> str:
    """Return a short description of a job for messages."""
    description = job.description or job.func_name or "?"
    return description if len(description) <= 80 else description[:77] + "..."


def _exception_text(exception: BaseException) -> str:
    """Return ``Type: message`` for an exception."""
    message = str(exception)
    name = type(exception).__name__
    return f"{name}: {message}" if message else name


def _next_step(status: JobStatus | None) -> str:
    """Return what follows an attempt that left the job in ``status``."""
    if status == JobStatus.SCHEDULED:
        return "retry scheduled"
    if status == JobStatus.QUEUED:
        return "retried at once"
    if status == JobStatus.FAILED:
        return "gave up"
    return f"status {_status_text(status)}"


def _status_text(status: JobStatus | None) -> str:
    """Return a status as RQ stores it, or ``missing`` for a deleted job."""
    return "missing" if status is None else str(status.value)


def _plural(count: int, noun: str) -> str:
    """Return ``count`` and ``noun``, in the plural unless the count is one."""
    if count == 1:
        return f"1 {noun}"
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{count} {plural}"


def _seconds(value: float) -> str:
    """Return a number of seconds without a needless fraction."""
    return f"{value:g}s"
