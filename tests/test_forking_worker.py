"""rqfast's forking Worker: one fresh process per job, nothing left behind.

The worker forks the horse for the next job while the current one runs and
does not wait for a horse's exit once it has handed its job over; these tests
check what that must not change.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import psutil
import pytest
import redis
from rq import Queue
from rq.command import send_stop_job_command
from rq.job import JobStatus

import rqfast


def pid_of_horse() -> tuple[int, int]:
    return os.getpid(), os.getppid()


def big_result(size: int) -> bytes:
    return os.urandom(size)


def exit_abruptly() -> None:
    os._exit(3)


def kill_itself() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def sleep_for(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


def horses_left(before: set[int]) -> list[psutil.Process]:
    """Return the processes forked since ``before`` that still exist, zombies too."""
    return [
        child
        for child in psutil.Process().children(recursive=True)
        if child.pid not in before
    ]


def children() -> set[int]:
    return {child.pid for child in psutil.Process().children(recursive=True)}


def work(connection: redis.Redis, queue: Queue, **options: object) -> rqfast.Worker:
    worker = rqfast.Worker([queue], connection=connection)
    worker.work(burst=True, **options)  # type: ignore[arg-type]
    return worker


def test_each_job_runs_in_a_process_of_its_own(connection: redis.Redis) -> None:
    queue = Queue("default", connection=connection)
    jobs = [queue.enqueue(pid_of_horse) for _ in range(8)]

    work(connection, queue)

    results = [job.latest_result() for job in jobs]
    assert all(result is not None for result in results)
    pids = [result.return_value[0] for result in results]  # type: ignore[union-attr]
    parents = {result.return_value[1] for result in results}  # type: ignore[union-attr]
    assert len(set(pids)) == len(jobs)
    assert os.getpid() not in pids
    assert parents == {os.getpid()}


def test_nothing_left_running_or_unreaped(connection: redis.Redis) -> None:
    queue = Queue("default", connection=connection)
    for _ in range(5):
        queue.enqueue(pid_of_horse)

    before = children()

    work(connection, queue)

    assert horses_left(before) == []


def test_a_waiting_horse_killed_from_outside_is_replaced(
    connection: redis.Redis,
) -> None:
    queue = Queue("default", connection=connection)
    first = queue.enqueue(pid_of_horse)
    second = queue.enqueue(pid_of_horse)
    worker = rqfast.Worker([queue], connection=connection)
    before = children()
    original = worker._give_job
    calls = []

    def kill_spare_then_give(job: rqfast.Job, queue: Queue) -> object:
        spare = worker._spare
        if spare is not None and calls:
            os.kill(spare.pid, signal.SIGKILL)
            os.waitpid(spare.pid, 0)
            worker._exiting.append(spare.pid)
        calls.append(job.id)
        return original(job, queue)

    worker._give_job = kill_spare_then_give  # type: ignore[method-assign]
    worker.work(burst=True)

    assert calls == [first.id, second.id]
    assert first.get_status() == JobStatus.FINISHED
    assert second.get_status() == JobStatus.FINISHED
    assert horses_left(before) == []


@pytest.mark.parametrize("func", [exit_abruptly, kill_itself])
def test_a_horse_that_dies_fails_its_job_as_stock_does(
    connection: redis.Redis, func: object
) -> None:
    queue = Queue("default", connection=connection)
    job = queue.enqueue(func)
    after = queue.enqueue(pid_of_horse)
    before = children()

    work(connection, queue)

    assert job.get_status() == JobStatus.FAILED
    result = job.latest_result()
    assert result is not None
    assert "Work-horse terminated unexpectedly" in (result.exc_string or "")
    assert job.id in queue.failed_job_registry
    assert after.get_status() == JobStatus.FINISHED
    assert horses_left(before) == []


def test_a_result_larger_than_a_pipe_buffer(connection: redis.Redis) -> None:
    queue = Queue("default", connection=connection)
    job = queue.enqueue(big_result, 3 * 1024 * 1024)

    work(connection, queue)

    result = job.latest_result()
    assert result is not None
    assert isinstance(result.return_value, bytes)
    assert len(result.return_value) == 3 * 1024 * 1024
    assert job.get_status() == JobStatus.FINISHED


def test_heartbeats_while_a_long_job_runs(connection: redis.Redis) -> None:
    queue = Queue("default", connection=connection)
    job = queue.enqueue(sleep_for, 2.5)
    worker = rqfast.Worker([queue], connection=connection)
    worker.job_monitoring_interval = 1
    beats = []
    original = worker.maintain_heartbeats

    def counted(job: rqfast.Job) -> None:
        beats.append(time.monotonic())
        original(job)

    worker.maintain_heartbeats = counted  # type: ignore[method-assign]
    before = children()
    worker.work(burst=True)

    assert job.get_status() == JobStatus.FINISHED
    assert job.return_value() == "slept"
    assert len(beats) >= 2
    assert horses_left(before) == []


def test_stopping_a_running_job_kills_its_horse(connection: redis.Redis) -> None:
    queue = Queue("default", connection=connection)
    job = queue.enqueue(sleep_for, 60)
    worker = rqfast.Worker([queue], connection=connection)
    before = children()

    def stop_when_started() -> None:
        deadline = time.monotonic() + 30
        while job.get_status() != JobStatus.STARTED and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the worker subscribes to its channel before it starts
        send_stop_job_command(connection, job.id)

    stopper = threading.Thread(target=stop_when_started)
    stopper.start()
    worker.work(burst=True)
    stopper.join()

    assert job.get_status() == JobStatus.STOPPED
    assert job.id in queue.failed_job_registry
    assert horses_left(before) == []


def test_execute_job_outside_the_work_loop_leaves_no_process(
    connection: redis.Redis,
) -> None:
    queue = Queue("default", connection=connection)
    worker = rqfast.Worker([queue], connection=connection)
    worker.bootstrap()
    before = children()

    for _ in range(3):
        queue.enqueue(pid_of_horse)
        dequeued = worker.dequeue_job_and_maintain_ttl(None)
        assert dequeued is not None
        worker.execute_job(*dequeued)
        # No horse forked ahead, none left to be waited for.
        assert horses_left(before) == []
    worker.flush()

    assert queue.finished_job_registry.count == 3
