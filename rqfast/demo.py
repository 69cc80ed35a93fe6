"""``rqfast demo``: a job that fails transiently and succeeds on retry.

The job, :func:`flaky_fetch`, counts its attempts in its own ``meta`` and raises
:class:`TransientServiceError` (a :class:`ConnectionError`) until it has failed
the requested number of times. The command enqueues it with a
:class:`rqfast.Retry`, runs a :class:`rqfast.SimpleWorker` and the scheduler in
this process until the job is finished or has failed for good, and prints each
attempt as it ends.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterator
from types import TracebackType
from typing import Any

import click
import redis
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from . import _server
from .queue import Queue
from .retry import Retry
from .worker import SimpleWorker

logger = logging.getLogger(__name__)

QUEUE_NAME = "rqfast-demo"
#: The demo gives up when the job has not ended after this many seconds.
DEADLINE = 120.0
#: Longest sleep between two worker passes while a retry is pending.
POLL_INTERVAL = 0.5
_WORKER_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class TransientServiceError(ConnectionError):
    """A remote service was briefly unreachable; trying again may work."""


def flaky_fetch(service: str, failures: int = 2) -> str:
    """Pretend to fetch from ``service``; fail the first ``failures`` attempts."""
    from rq import get_current_job

    job = get_current_job()
    if job is None:
        raise RuntimeError("flaky_fetch must run as an RQ job")
    attempt = int(job.meta.get("attempts", 0)) + 1
    job.meta["attempts"] = attempt
    job.save_meta()  # type: ignore[no-untyped-call]
    if attempt <= failures:
        raise TransientServiceError(
            f"service {service!r} unreachable (attempt {attempt})"
        )
    return f"{service}: 42 items"


class _FailureLog:
    """Remember the exception of each failed attempt, for printing after it."""

    def __init__(self) -> None:
        self.pending: BaseException | None = None

    def __call__(
        self,
        job: Job,
        exc_type: type[BaseException],
        exc_value: BaseException,
        traceback: TracebackType | None,
    ) -> bool:
        """Record the exception and let the other handlers run."""
        self.pending = exc_value
        return True


@contextlib.contextmanager
def _signal_handlers_kept() -> Iterator[None]:
    """Restore the SIGINT and SIGTERM handlers that a worker replaces."""
    kept = {number: signal.getsignal(number) for number in _WORKER_SIGNALS}
    try:
        yield
    finally:
        for number, handler in kept.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def _worker_logging(verbose: bool) -> Iterator[None]:
    """Send RQ's and rqfast's logs to stderr when verbose, else nowhere."""
    handler: logging.Handler
    if verbose:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    else:
        handler = logging.NullHandler()
    loggers = [logging.getLogger("rq"), logging.getLogger("rqfast")]
    levels = [each.level for each in loggers]
    for each in loggers:
        each.addHandler(handler)
        if verbose:
            each.setLevel(logging.INFO)
    try:
        yield
    finally:
        for each, level in zip(loggers, levels, strict=True):
            each.removeHandler(handler)
            each.setLevel(level)


def _name(status: JobStatus | None) -> str:
    """Return a job status as RQ stores it, or ``none`` for a missing job."""
    return "none" if status is None else str(status.value)


def _describe_exception(exc: BaseException | None) -> str:
    """Return ``Type: message`` for an exception, or a placeholder."""
    if exc is None:
        return "an exception that was not seen by this process"
    return f"{type(exc).__name__}: {exc}"


def run_demo(
    connection: redis.Redis,
    failures: int = 2,
    retry: Retry | None = None,
    echo: Any = click.echo,
) -> Job:
    """Enqueue :func:`flaky_fetch`, work it to its end and return the job."""
    if retry is None:
        retry = Retry(max=3, interval=[1, 1])
    queue = Queue(QUEUE_NAME, connection=connection)
    job = queue.enqueue(flaky_fetch, "inventory", failures=failures, retry=retry)
    echo(
        f"Enqueued job {job.id} on queue {queue.name!r}: "
        f"flaky_fetch('inventory', failures={failures}), "
        f"Retry(max={retry.max}, interval={retry.intervals})"
    )
    failure_log = _FailureLog()
    scheduled = ScheduledJobRegistry(queue=queue)  # type: ignore[no-untyped-call]
    reported = 0
    started = time.monotonic()
    deadline = started + DEADLINE
    while True:
        worker = SimpleWorker(
            [queue], connection=connection, exception_handlers=[failure_log]
        )
        with _signal_handlers_kept():
            worker.work(burst=True, with_scheduler=True, logging_level=None)
        job.refresh()  # type: ignore[no-untyped-call]
        status = job.get_status()
        attempts = int(job.meta.get("attempts", 0))
        if attempts > reported:
            reported = attempts
            _report_attempt(
                job, status, attempts, failure_log, scheduled, echo, started
            )
        if status in (JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED):
            break
        if time.monotonic() > deadline:
            echo(f"Gave up after {DEADLINE:.0f} s; job status: {_name(status)}")
            break
        time.sleep(_seconds_until_due(job, scheduled))
    echo(f"Final status: {_name(job.get_status())}")
    if job.get_status() == JobStatus.FINISHED:
        echo(f"Result: {job.return_value()!r}")
    return job


def _report_attempt(
    job: Job,
    status: JobStatus | None,
    attempt: int,
    failure_log: _FailureLog,
    scheduled: ScheduledJobRegistry,
    echo: Any,
    started: float,
) -> None:
    """Print how the latest attempt of ``job`` ended."""
    prefix = f"[+{time.monotonic() - started:4.1f} s] Attempt {attempt}:"
    if status == JobStatus.FINISHED:
        echo(f"{prefix} succeeded, returned {job.return_value()!r}")
        return
    error = _describe_exception(failure_log.pending)
    failure_log.pending = None
    if status == JobStatus.SCHEDULED:
        # The scheduled registry keeps whole seconds, so a retry may run up to
        # a second before its interval has fully passed.
        when = scheduled.get_scheduled_time(job)
        echo(
            f"{prefix} failed with {error}; retry due at {when:%H:%M:%S} UTC, "
            f"retries left: {job.retries_left}"
        )
    elif status in (JobStatus.QUEUED, JobStatus.STARTED):
        echo(f"{prefix} failed with {error}; retrying now")
    else:
        echo(f"{prefix} failed with {error}; no retries left")


def _seconds_until_due(job: Job, scheduled: ScheduledJobRegistry) -> float:
    """Return how long to sleep before the next worker pass may find work."""
    score = scheduled.connection.zscore(scheduled.key, job.id)
    if score is None:
        return 0.0
    wait = float(score) - time.time()
    return min(max(wait, 0.05), POLL_INTERVAL)


@click.command("demo")
@click.option(
    "--failures",
    default=2,
    show_default=True,
    type=click.IntRange(0, 10),
    help="How many attempts fail before one succeeds.",
)
@click.option("--verbose", is_flag=True, help="Show the worker's own log on stderr.")
def demo_command(failures: int, verbose: bool) -> None:
    """Run a job that fails transiently and succeeds on retry.

    Uses the Redis server at REDIS_URL if that is set; otherwise starts a
    private server for the run and stops it at the end.
    """
    with contextlib.ExitStack() as stack:
        private = not os.environ.get("REDIS_URL")
        url = stack.enter_context(_server.redis_url_or_server())
        where = "a private server, stopped at the end" if private else "REDIS_URL"
        click.echo(f"Redis at {url} ({where})")
        connection = redis.Redis.from_url(url)
        stack.callback(connection.close)
        stack.enter_context(_worker_logging(verbose))
        job = run_demo(connection, failures=failures)
        if job.get_status() != JobStatus.FINISHED:
            raise SystemExit(1)
