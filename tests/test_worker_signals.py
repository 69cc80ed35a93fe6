"""A warm shutdown lets the running job finish, as with stock RQ's workers."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest
import redis
from rq import Queue
from rq.job import JobStatus

import rqfast


def sleep_for(seconds: float) -> str:
    time.sleep(seconds)
    return "done"


@pytest.fixture
def own_signal_handlers() -> Iterator[None]:
    """Put back the test process's handlers, which the worker replaces."""
    saved = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in saved.items():
            signal.signal(sig, handler)


@pytest.mark.parametrize("worker_class", [rqfast.SimpleWorker, rqfast.Worker])
@pytest.mark.usefixtures("own_signal_handlers")
def test_sigterm_during_a_job_finishes_it_then_stops(
    connection: redis.Redis, worker_class: type[rqfast.SimpleWorker]
) -> None:
    queue = Queue("default", connection=connection)
    running = queue.enqueue(sleep_for, 1.0)
    waiting = queue.enqueue(sleep_for, 0)

    def stop_while_running() -> None:
        deadline = time.monotonic() + 30
        while running.get_status() != JobStatus.STARTED:
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    stopper = threading.Thread(target=stop_while_running)
    stopper.start()
    worker = worker_class([queue], connection=connection)
    worker.work(burst=True)
    stopper.join()

    assert running.get_status() == JobStatus.FINISHED
    assert running.return_value() == "done"
    # The worker stopped after that job: the next one is still queued.
    assert waiting.get_status() == JobStatus.QUEUED
    assert queue.get_job_ids() == [waiting.id]
