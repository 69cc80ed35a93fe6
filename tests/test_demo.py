"""``rqfast demo`` against the test server: printed attempts and Redis state."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import redis
from click.testing import CliRunner, Result
from rq.job import Job
from rq.registry import FailedJobRegistry, FinishedJobRegistry, ScheduledJobRegistry
from rq.results import Result as JobResult

from rqfast import _server
from rqfast.cli import main
from rqfast.demo import QUEUE_NAME


def run(redis_url: str, *args: str) -> Result:
    """Run ``rqfast demo`` in this process against ``redis_url``."""
    runner = CliRunner(env={"REDIS_URL": redis_url})
    return runner.invoke(main, ["demo", *args], catch_exceptions=False)


def job_id(output: str) -> str:
    """Return the id of the job the demo enqueued."""
    match = re.search(r"^Enqueued job (\S+) on queue", output, re.MULTILINE)
    assert match, output
    return match.group(1)


def attempt_lines(output: str) -> list[str]:
    """Return the attempt lines without their elapsed-time prefix."""
    return re.findall(r"^\[\+ *[\d.]+ s\] (Attempt .*)$", output, re.MULTILINE)


def test_demo_fails_twice_then_succeeds(
    redis_url: str, connection: redis.Redis
) -> None:
    result = run(redis_url)

    assert result.exit_code == 0, result.output
    lines = attempt_lines(result.output)
    assert len(lines) == 3, result.output
    for number, line in enumerate(lines[:2], start=1):
        assert line.startswith(
            f"Attempt {number}: failed with TransientServiceError: "
            f"service 'inventory' unreachable (attempt {number}); retry due at "
        ), line
        assert line.endswith(f"retries left: {3 - number}"), line
    assert lines[2] == "Attempt 3: succeeded, returned 'inventory: 42 items'"
    assert "Final status: finished\n" in result.output
    assert "Result: 'inventory: 42 items'\n" in result.output

    identifier = job_id(result.output)
    assert connection.hget(f"rq:job:{identifier}", "status") == b"finished"
    job = Job.fetch(identifier, connection=connection)
    assert job.meta["attempts"] == 3
    assert job.retries_left == 1
    assert job.return_value() == "inventory: 42 items"
    latest = job.latest_result()
    assert latest is not None and latest.type == JobResult.Type.SUCCESSFUL
    assert identifier in FinishedJobRegistry(QUEUE_NAME, connection=connection)
    assert identifier not in ScheduledJobRegistry(QUEUE_NAME, connection=connection)
    assert identifier not in FailedJobRegistry(QUEUE_NAME, connection=connection)


def test_demo_reports_failure_when_retries_run_out(
    redis_url: str, connection: redis.Redis
) -> None:
    result = run(redis_url, "--failures", "4")

    assert result.exit_code == 1, result.output
    lines = attempt_lines(result.output)
    assert len(lines) == 4, result.output
    assert lines[3] == (
        "Attempt 4: failed with TransientServiceError: "
        "service 'inventory' unreachable (attempt 4); no retries left"
    )
    assert "Final status: failed\n" in result.output
    assert "Result:" not in result.output

    identifier = job_id(result.output)
    job = Job.fetch(identifier, connection=connection)
    assert job.get_status() == "failed"
    assert job.meta["attempts"] == 4
    assert job.retries_left == 0
    assert identifier in FailedJobRegistry(QUEUE_NAME, connection=connection)
    latest = job.latest_result()
    assert latest is not None and latest.type == JobResult.Type.FAILED
    assert latest.exc_string is not None
    assert "TransientServiceError" in latest.exc_string


def test_demo_starts_and_stops_a_private_server() -> None:
    env = dict(os.environ)
    env.pop("REDIS_URL", None)
    completed = subprocess.run(
        [sys.executable, "-c", "from rqfast.cli import main; main()", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert completed.returncode == 0, completed.stdout + completed.stderr
    match = re.search(
        r"^Redis at (\S+) \(a private server, stopped at the end\)$",
        completed.stdout,
        re.MULTILINE,
    )
    assert match, completed.stdout
    assert "Final status: finished" in completed.stdout
    assert not _server.ping(match.group(1))
