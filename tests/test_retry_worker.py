"""rqfast workers applying retry policies: defaults, filters, Retry-After, history."""

from __future__ import annotations

import json
import logging
import multiprocessing
import time
from typing import Any

import pytest
import rq
import rq.job
from redis import Redis
from rq.job import JobStatus

import rqfast
from rqfast.stats import read_counters
from rqfast.testing import drain


class DefaultRetryWorker(rqfast.SimpleWorker):
    """A SimpleWorker whose jobs without a policy retry twice, 10 s apart."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("retry", rqfast.Retry(max=2, interval=10))
        super().__init__(*args, **kwargs)


def queue_for(connection: Redis) -> rqfast.Queue:
    return rqfast.Queue("default", connection=connection)


def test_worker_default_applies_to_jobs_without_a_policy(connection: Redis) -> None:
    queue = queue_for(connection)
    plain = queue.enqueue("retry_jobs.always_fails", job_id="plain")
    own = queue.enqueue("retry_jobs.always_fails", job_id="own", retry=rqfast.Retry(1))

    result = drain(queue, worker_class=DefaultRetryWorker)
    result.job(plain).gave_up_with(ValueError, retries=2)
    assert result.job(plain).offsets == [0, 10, 20]
    result.job(own).gave_up_with(ValueError, retries=1)

    stored = rq.job.Job.fetch(plain.id, connection=connection)
    assert stored.retries_left == 0
    assert stored.retry_intervals == [10]


def test_backoff_schedule_is_followed(connection: Redis) -> None:
    queue = queue_for(connection)
    job = queue.enqueue(
        "retry_jobs.always_fails", retry=rqfast.Retry(max=3, interval=5, backoff=3)
    )
    result = drain(queue)
    result.job(job).gave_up_with(ValueError, retries=3)
    assert result.job(job).offsets == [0, 5, 20, 65]


def test_exception_filters_give_up_at_once(connection: Redis) -> None:
    queue = queue_for(connection)
    policy = rqfast.Retry(max=3, on=ConnectionError, giveup_on=ConnectionRefusedError)
    wrong_kind = queue.enqueue("retry_jobs.raises", "KeyError", retry=policy)
    refused = queue.enqueue("retry_jobs.raises", "ConnectionRefusedError", retry=policy)
    transient = queue.enqueue("retry_jobs.fails_then_succeeds", 2, retry=policy)

    result = drain(queue)
    result.job(wrong_kind).gave_up_with(KeyError, retries=0)
    result.job(refused).gave_up_with(ConnectionRefusedError, retries=0)
    result.job(transient).succeeded_after(retries=2)

    (counters,) = read_counters(connection, ["default"])
    assert counters.gave_up == 2
    assert counters.retried == 2
    assert counters.succeeded_after_retry == 1
    assert counters.succeeded_after == {2: 1}
    assert counters.exhausted == 0


def test_retry_after_sets_the_delay_within_the_cap(connection: Redis) -> None:
    queue = queue_for(connection)
    capped = queue.enqueue(
        "retry_jobs.throttled", 300, retry=rqfast.Retry(max=2, interval=1, cap=40)
    )
    free = queue.enqueue("retry_jobs.throttled", 7, retry=rqfast.Retry(max=1))
    result = drain(queue)
    assert result.job(capped).offsets == [0, 40, 80]
    assert result.job(free).offsets == [0, 7]


def test_attempt_history_is_kept_bounded_and_readable(connection: Redis) -> None:
    queue = queue_for(connection)
    job = queue.enqueue("retry_jobs.always_fails", "kaput", retry=rqfast.Retry(max=14))
    drain(queue)

    fetched = rqfast.Job.fetch(job.id, connection=connection)
    attempts = fetched.attempts
    assert [a.number for a in attempts] == list(range(6, 16))
    assert all(a.exc_type == "ValueError" and a.message == "kaput" for a in attempts)
    assert "raise ValueError(message)" in attempts[-1].traceback
    assert attempts[-1].retry_in is None
    assert attempts[0].retry_in == 0
    assert attempts[-1].failed_at.tzinfo is not None
    # A stock reader sees the usual fields; the history is an extra field.
    stock = rq.job.Job.fetch(job.id, connection=connection)
    assert stock.get_status() == JobStatus.FAILED
    assert connection.hexists(job.key, "rqfast_attempts")

    (counters,) = read_counters(connection, ["default"])
    assert counters.retried == 14
    assert counters.exhausted == 1


def test_a_stock_worker_follows_the_deterministic_schedule(connection: Redis) -> None:
    queue = queue_for(connection)
    job = queue.enqueue(
        "retry_jobs.always_fails",
        retry=rqfast.Retry(max=3, interval=30, backoff=2, jitter="full", on=ValueError),
    )
    before = time.time()
    rq.SimpleWorker(
        [rq.Queue("default", connection=connection)], connection=connection
    ).work(burst=True)
    score = connection.zscore("rq:scheduled:default", job.id)
    assert score is not None
    assert before + 29 <= score <= time.time() + 31  # the first deterministic delay
    fields = connection.hgetall(job.key)
    assert fields[b"retries_left"] == b"2"
    assert json.loads(fields[b"rqfast_retry"])["jitter"] == "full"


def _run_worker(url: str) -> None:
    connection = Redis.from_url(url)
    queue = rqfast.Queue("default", connection=connection)
    rqfast.SimpleWorker([queue], connection=connection).work(burst=True)


def test_counters_are_exact_under_two_concurrent_workers(
    connection: Redis, redis_url: str
) -> None:
    queue = queue_for(connection)
    jobs = 120
    for _ in range(jobs):
        queue.enqueue("retry_jobs.fails_then_succeeds", 1, retry=rqfast.Retry(max=2))
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_run_worker, args=(redis_url,)) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
        assert worker.exitcode == 0

    assert len(queue.finished_job_registry) == jobs
    (counters,) = read_counters(connection, ["default"])
    assert counters.retried == jobs
    assert counters.succeeded_after_retry == jobs
    assert counters.succeeded_after == {1: jobs}


def test_each_failed_attempt_is_logged_once(
    connection: Redis, caplog: pytest.LogCaptureFixture
) -> None:
    queue = queue_for(connection)
    job = queue.enqueue(
        "retry_jobs.always_fails", "kaput", retry=rqfast.Retry(max=2, interval=[0, 30])
    )

    with caplog.at_level(logging.ERROR, logger="rq.worker"):
        drain(queue).job(job).gave_up_with(ValueError, retries=2)

    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 3, lines
    first, second, last = lines
    for number, line in enumerate(lines, start=1):
        assert f"job {job.id} (retry_jobs.always_fails) attempt {number} failed" in line
        assert line.count("Traceback (most recent call last)") == 1
        assert line.rstrip().endswith("ValueError: kaput")
    assert "runs again now (1 retries left)" in first
    assert "runs again at " in second and "(0 retries left)" in second
    assert "no retries left" in last
