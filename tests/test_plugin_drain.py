"""``rqfast.testing.drain``: jobs run to their end on a virtual clock."""

from __future__ import annotations

import datetime as dt
import logging
import signal
import time
from typing import Any

import pytest
import redis
import rq.job
import rq.queue
import rq.repeat
import rq.utils
from rq import get_current_job
from rq.job import JobStatus
from rq.repeat import Repeat
from rq.worker import Worker as RQForkingWorker

from rqfast import Queue, Retry
from rqfast import testing as rqtesting
from rqfast.testing import DrainError, VirtualClock, drain

UTC = dt.timezone.utc
START = dt.datetime(2030, 1, 1, tzinfo=UTC)


class TransientError(ConnectionError):
    """A service was briefly unreachable."""


def flaky(failures: int) -> int:
    """Fail the first ``failures`` attempts, then return the attempt number."""
    job = get_current_job()
    assert job is not None
    attempt = int(job.meta.get("attempts", 0)) + 1
    job.meta["attempts"] = attempt
    job.save_meta()  # type: ignore[no-untyped-call]
    if attempt <= failures:
        raise TransientError(f"unreachable on attempt {attempt}")
    return attempt


def stamp_now() -> str:
    """Return the time RQ's job module reads, as ISO text."""
    return rq.job.now().isoformat()


def noop() -> None:
    """Do nothing."""


@pytest.fixture
def queue(connection: redis.Redis) -> Queue:
    """Return an empty queue on the test database."""
    return Queue("drained", connection=connection)


def backoff(max_retries: int = 3) -> Retry:
    """Return the retry policy the tests use: 10, 30, then 60 seconds."""
    return Retry(max=max_retries, interval=[10, 30, 60])


def test_retries_run_at_their_virtual_due_times(queue: Queue) -> None:
    job = queue.enqueue(flaky, 2, retry=backoff())

    result = drain(queue, start=START)

    report = result.job(job).succeeded_after(retries=2)
    assert report.offsets == [0, 10, 40]
    assert [each.at for each in report.attempts] == [
        START,
        START + dt.timedelta(seconds=10),
        START + dt.timedelta(seconds=40),
    ]
    assert [each.outcome for each in report.attempts] == [
        "failed",
        "failed",
        "succeeded",
    ]
    assert [each.status for each in report.attempts] == [
        JobStatus.SCHEDULED,
        JobStatus.SCHEDULED,
        JobStatus.FINISHED,
    ]
    assert [str(each) for each in report.exceptions] == [
        "unreachable on attempt 1",
        "unreachable on attempt 2",
    ]
    assert result.reason == "empty"
    assert result.elapsed == dt.timedelta(seconds=40)
    assert job.latest_result().return_value == 3  # type: ignore[no-untyped-call]


def test_drain_never_sleeps(queue: Queue, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_sleep(seconds: float) -> None:
        raise AssertionError(f"drain slept {seconds} s")

    job = queue.enqueue(flaky, 3, retry=backoff())
    monkeypatch.setattr(time, "sleep", no_sleep)

    result = drain(queue, start=START)

    result.job(job).succeeded_after(retries=3)
    assert result.job(job).offsets == [0, 10, 40, 100]


def test_a_job_that_never_recovers_gives_up(queue: Queue) -> None:
    job = queue.enqueue(flaky, 99, retry=backoff())

    result = drain(queue, start=START)

    report = result.job(job).gave_up_with(TransientError, "attempt 4", retries=3)
    assert report.status == JobStatus.FAILED
    assert report.attempts[-1].status == JobStatus.FAILED
    report.gave_up_with(ConnectionError)


def test_the_clock_reaches_rq_now_inside_jobs(queue: Queue) -> None:
    job = queue.enqueue_at(START + dt.timedelta(hours=1), stamp_now)

    result = drain(queue, start=START)

    assert result.job(job).offsets == [3600]
    assert job.latest_result().return_value == (  # type: ignore[no-untyped-call]
        (START + dt.timedelta(hours=1)).isoformat()
    )


def test_everything_is_put_back_afterwards(queue: Queue) -> None:
    queue.enqueue(flaky, 1, retry=backoff())
    handlers = {
        number: signal.getsignal(number) for number in rqtesting._WORKER_SIGNALS
    }
    worker_logger = logging.getLogger("rq.worker")
    logger_handlers = list(worker_logger.handlers)

    drain(queue, start=START)

    assert rq.job.now is rq.utils.now
    assert rq.queue.now is rq.utils.now
    assert rq.repeat.datetime is dt.datetime
    assert {n: signal.getsignal(n) for n in handlers} == handlers
    assert worker_logger.handlers == logger_handlers


def test_the_clock_is_put_back_when_a_drain_fails(queue: Queue) -> None:
    queue.enqueue(noop)

    with pytest.raises(TypeError):
        drain(queue, worker_class=RQForkingWorker)  # type: ignore[arg-type]

    clock = VirtualClock(START.timestamp())
    with pytest.raises(RuntimeError), clock.installed():
        assert rq.job.now() == START
        raise RuntimeError("inside")
    assert rq.job.now is rq.utils.now


def test_max_attempts_stops_and_a_later_drain_continues(queue: Queue) -> None:
    job = queue.enqueue(flaky, 2, retry=backoff())

    first = drain(queue, start=START, max_attempts=2)

    assert first.reason == "max_attempts"
    assert [each.number for each in first.attempts] == [1, 2]
    assert first.job(job).status == JobStatus.SCHEDULED
    assert job.get_status() == JobStatus.SCHEDULED

    second = drain(queue, after=first)

    second.job(job).succeeded_after(retries=2)
    assert second.job(job).offsets == [0, 10, 40]
    assert [each.number for each in second.attempts] == [3]


def test_until_stops_before_moving_the_clock_past_it(queue: Queue) -> None:
    job = queue.enqueue(flaky, 2, retry=backoff())

    result = drain(queue, start=START, until=dt.timedelta(seconds=25))

    assert result.reason == "until"
    assert result.job(job).offsets == [0, 10]
    assert result.elapsed == dt.timedelta(seconds=25)
    assert job.get_status() == JobStatus.SCHEDULED


def test_repeats_and_dependents_are_run_too(queue: Queue) -> None:
    repeated = queue.enqueue(noop, repeat=Repeat(times=2, interval=60))
    parent = queue.enqueue(flaky, 1, retry=backoff())
    child = queue.enqueue(noop, depends_on=parent)

    result = drain(queue, start=START)

    assert result.job(repeated).offsets == [0, 60, 120]
    result.job(parent).succeeded_after(retries=1)
    assert result.job(child).offsets == [10]
    result.job(child).succeeded_after(retries=0)


def test_several_queues_are_drained_together(connection: redis.Redis) -> None:
    high = Queue("high", connection=connection)
    low = Queue("low", connection=connection)
    first = low.enqueue(flaky, 1, retry=Retry(max=1, interval=5))
    second = high.enqueue(noop)

    result = drain([high, low], start=START)

    assert [each.job_id for each in result.attempts] == [second.id, first.id, first.id]
    assert result.job(first).offsets == [0, 5]


def test_a_job_that_never_ran_has_an_empty_report(
    queue: Queue, connection: redis.Redis
) -> None:
    other = Queue("elsewhere", connection=connection)
    job = other.enqueue(noop)

    report = drain(queue, start=START).job(job)

    assert report.attempts == []
    assert report.status == JobStatus.QUEUED
    with pytest.raises(AssertionError, match="it never ran"):
        report.succeeded_after(retries=0)


def test_endless_work_is_reported(
    queue: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rqtesting, "SAFETY_ATTEMPT_LIMIT", 5)
    queue.enqueue(noop, repeat=Repeat(times=10, interval=1))

    with pytest.raises(DrainError, match="still runnable after 5 attempts"):
        drain(queue, start=START)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"start": dt.datetime(2030, 1, 1)}, "aware"),
        ({"start": START.replace(microsecond=5)}, "whole second"),
        ({"max_attempts": -1}, "negative"),
    ],
)
def test_bad_options_are_refused(
    queue: Queue, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        drain(queue, **options)


def test_failure_messages_show_each_attempt(queue: Queue) -> None:
    job = queue.enqueue(flaky, 2, retry=backoff())
    report = drain(queue, start=START).job(job)

    with pytest.raises(AssertionError) as wrong_count:
        report.succeeded_after(retries=1)
    with pytest.raises(AssertionError) as not_failed:
        report.gave_up_with(TransientError)

    text = str(wrong_count.value)
    assert f"expected job {job.id} (test_plugin_drain.flaky(2))" in text
    assert "to succeed after 1 retry; final status finished" in text
    assert "attempt 1 at +0s: failed with TransientError: unreachable on " in text
    assert "attempt 2 at +10s: failed with TransientError" in text
    assert "(retry scheduled)" in text
    assert "attempt 3 at +40s: succeeded" in text
    assert "but it did not fail for good" in str(not_failed.value)
