"""Stock and rqfast workers share queues; each job ends as either alone ends it."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
from pathlib import Path

import redis
import rq
from rq import Queue, Retry

import rqfast
from rqfast.bench import fails_twice, noop

JOBS = 60


def _work(worker_class: type[rq.worker.BaseWorker], name: str, url: str) -> None:
    connection = redis.Redis.from_url(url)
    worker = worker_class(["high", "low"], connection=connection, name=name)
    worker.work(burst=True, logging_level="CRITICAL")


def test_stock_and_rqfast_workers_at_once(redis_url: str) -> None:
    setup = redis.Redis.from_url(redis_url)
    setup.flushdb()
    queues = [Queue("high", connection=setup), Queue("low", connection=setup)]
    for index in range(JOBS):
        queue = queues[index % 2]
        if index % 3:
            queue.enqueue(noop, job_id=f"ok{index}")
        else:
            queue.enqueue(fails_twice, job_id=f"flaky{index}", retry=Retry(max=3))

    # Workers install signal handlers, so each runs in its own process.
    context = multiprocessing.get_context("fork")
    classes = [
        rq.SimpleWorker,
        rqfast.SimpleWorker,
        rq.SimpleWorker,
        rqfast.SimpleWorker,
    ]
    processes = [
        context.Process(target=_work, args=(worker_class, f"w{index}", redis_url))
        for index, worker_class in enumerate(classes)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(60)
    assert [process.exitcode for process in processes] == [0, 0, 0, 0]

    # Every job finished exactly once, after exactly its planned executions.
    for index in range(JOBS):
        job = rq.job.Job.fetch(
            f"ok{index}" if index % 3 else f"flaky{index}", connection=setup
        )
        assert job.get_status() == "finished"
        results = rq.results.Result.all(job)
        assert [result.type for result in results] == [
            rq.results.Result.Type.SUCCESSFUL
        ]
        if not index % 3:
            assert job.retries_left == 1
    for queue in queues:
        assert queue.count == 0
        assert queue.started_job_registry.count == 0
        assert queue.failed_job_registry.count == 0
        assert queue.finished_job_registry.count == JOBS // 2
    # The counters add up across the fleet: one success per job, two failures
    # per flaky job, whoever ran them.
    counts = [
        rq.Worker.find_by_key(f"rq:worker:w{index}", connection=setup)
        for index in range(4)
    ]
    assert all(worker is not None for worker in counts)
    assert sum(w.successful_job_count for w in counts if w) == JOBS
    assert sum(w.failed_job_count for w in counts if w) == 2 * (JOBS // 3)


def test_rqfast_worker_command_runs_a_burst(redis_url: str) -> None:
    connection = redis.Redis.from_url(redis_url)
    connection.flushdb()
    queue = Queue("default", connection=connection)
    job = queue.enqueue(noop)
    completed = subprocess.run(
        [Path(sys.executable).with_name("rqfast"), "worker", "-b", "-u", redis_url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert job.get_status(refresh=True) == "finished"
    # Only rqfast's workers count executions in this extra field.
    assert connection.hget(job.key, "rqfast_executions") == b"1"
