"""``rqfast stats`` and ``rqfast worker --retry`` on a real server."""

from __future__ import annotations

from click.testing import CliRunner
from redis import Redis

import rqfast
from rqfast.cli import main
from rqfast.testing import drain
from rqfast.worker import SimpleWorker


def test_stats_shows_counters_and_a_jobs_attempts(
    connection: Redis, redis_url: str
) -> None:
    queue = rqfast.Queue("mail", connection=connection)
    flaky = queue.enqueue("retry_jobs.fails_then_succeeds", 2, retry=rqfast.Retry(3))
    doomed = queue.enqueue(
        "retry_jobs.always_fails", "no route", retry=rqfast.Retry(1, interval=4)
    )
    drain(queue)

    runner = CliRunner()
    table = runner.invoke(main, ["stats", "--url", redis_url, "-q", "mail"])
    assert table.exit_code == 0, table.output
    header, row = table.output.splitlines()
    assert header.split()[:3] == ["queue", "retried", "exhausted"]
    assert row.split() == ["mail", "3", "1", "0", "1", "2:1"]

    shown = runner.invoke(main, ["stats", "--url", redis_url, doomed.id])
    assert shown.exit_code == 0, shown.output
    assert "status: failed" in shown.output
    assert "attempt 1 failed at" in shown.output
    assert "ValueError: no route (retry in 4s)" in shown.output
    assert "attempt 2 failed" in shown.output and "(gave up)" in shown.output
    assert "raise ValueError(message)" in shown.output

    ok = runner.invoke(main, ["stats", "--url", redis_url, flaky.id])
    assert "status: finished" in ok.output
    assert ok.output.count(": ConnectionError: attempt") == 2

    missing = runner.invoke(main, ["stats", "--url", redis_url, "nope"])
    assert missing.exit_code != 0
    assert "no job 'nope'" in missing.output


def test_retry_spec_parsing() -> None:
    policy = rqfast.Retry.from_spec(
        "max=4,interval=2,backoff=3,cap=30,jitter=equal,on=ConnectionError|TimeoutError"
    )
    assert (policy.max, policy.first, policy.backoff, policy.cap) == (4, 2, 3, 30)
    assert policy.jitter == "equal"
    assert policy.on == (ConnectionError, TimeoutError)
    assert rqfast.Retry.from_spec("3").max == 3
    assert rqfast.Retry.from_spec("max=2,interval=10/30").intervals == [10, 30]
    for bad in ("interval=3", "max=2,colour=red", "max", "max=2,on=int"):
        try:
            rqfast.Retry.from_spec(bad)
        except (ValueError, TypeError) as error:
            assert repr(bad) in str(error) or "exception type" in str(error)
        else:
            raise AssertionError(f"{bad!r} was accepted")


def test_worker_command_takes_a_default_retry(
    connection: Redis, redis_url: str
) -> None:
    queue = rqfast.Queue("default", connection=connection)
    job = queue.enqueue("retry_jobs.always_fails")
    saved = SimpleWorker.default_retry
    try:
        result = CliRunner().invoke(
            main,
            [
                "worker",
                "--url",
                redis_url,
                "--burst",
                "--worker-class",
                "rqfast.SimpleWorker",
                "--retry",
                "max=2,interval=0",
            ],
        )
        assert result.exit_code == 0, result.output
    finally:
        SimpleWorker.default_retry = saved
    fetched = rqfast.Job.fetch(job.id, connection=connection)
    assert fetched.get_status() == "failed"
    assert [a.retry_in for a in fetched.attempts] == [0, 0, None]

    refused = CliRunner().invoke(main, ["worker", "--url", redis_url, "--retry", "max"])
    assert refused.exit_code == 2
    assert "--retry" in refused.output


def test_rq_command_runs_rqfast_worker_by_class_name(
    connection: Redis, redis_url: str
) -> None:
    from rq.cli import main as rq_main

    queue = rqfast.Queue("default", connection=connection)
    job = queue.enqueue("retry_jobs.always_fails", retry=rqfast.Retry(1, interval=0))
    result = CliRunner().invoke(
        rq_main,
        ["worker", "--url", redis_url, "--burst", "-w", "rqfast.SimpleWorker"],
    )
    assert result.exit_code == 0, result.output
    fetched = rqfast.Job.fetch(job.id, connection=connection)
    assert fetched.get_status() == "failed"
    # Only rqfast's workers keep the attempt history.
    assert [a.retry_in for a in fetched.attempts] == [0, None]
