"""Job timeouts: the same handler, alarm, exception and message as stock RQ."""

from __future__ import annotations

import signal
import time

import pytest
import redis
from rq.timeouts import JobTimeoutException, UnixSignalDeathPenalty

import rqfast
from rqfast.timeouts import AlarmDeathPenalty


@pytest.mark.parametrize("penalty", [UnixSignalDeathPenalty, AlarmDeathPenalty])
def test_times_out_as_stock(penalty: type[UnixSignalDeathPenalty]) -> None:
    with pytest.raises(JobTimeoutException) as timed_out:  # noqa: SIM117
        with penalty(1, JobTimeoutException, job_id="job-1"):
            time.sleep(5)

    assert str(timed_out.value) == "Task exceeded maximum timeout value (1 seconds)"
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL
    assert signal.alarm(0) == 0


def test_handler_and_alarm_while_inside() -> None:
    penalty = AlarmDeathPenalty(30, JobTimeoutException)
    with penalty:
        handler = signal.getsignal(signal.SIGALRM)
        remaining = signal.alarm(30)

    assert handler == penalty.handle_death_penalty
    assert 29 <= remaining <= 30
    assert signal.getsignal(signal.SIGALRM) == signal.SIG_DFL
    assert signal.alarm(0) == 0


def test_workers_use_it_unless_told_otherwise(connection: redis.Redis) -> None:
    class Custom(UnixSignalDeathPenalty):
        pass

    class CustomWorker(rqfast.SimpleWorker):
        death_penalty_class = Custom

    assert rqfast.SimpleWorker(["q"], connection=connection).death_penalty_class is (
        AlarmDeathPenalty
    )
    assert rqfast.Worker(["q"], connection=connection).death_penalty_class is (
        AlarmDeathPenalty
    )
    assert CustomWorker(["q"], connection=connection).death_penalty_class is Custom
