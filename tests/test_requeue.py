"""Bulk requeueing of failed jobs: killed between chunks, and ``rqfast requeue``."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from click.testing import CliRunner
from redis import Redis
from rq import Queue
from rq.job import Job, JobStatus

from rqfast.cli import main

# A failed registry score that has not expired.
LATER = 4 * 10**9


def build_failed(
    connection: Redis, count: int, queue_name: str = "default"
) -> set[str]:
    """Store ``count`` jobs as failed jobs of ``queue_name``; return their ids."""
    queue = Queue(queue_name, connection=connection)
    ids = {f"f{number}" for number in range(count)}
    with connection.pipeline() as pipeline:
        for job_id in sorted(ids):
            queue.enqueue("os.path.join", job_id, job_id=job_id, pipeline=pipeline)
            pipeline.hset(f"rq:job:{job_id}", "status", JobStatus.FAILED.value)
        pipeline.delete(f"rq:queue:{queue_name}")
        pipeline.zadd(f"rq:failed:{queue_name}", dict.fromkeys(ids, LATER))
        pipeline.execute()
    return ids


def decoded(members: list[bytes]) -> set[str]:
    return {member.decode() for member in members}


def test_a_killed_requeue_loses_no_job(
    connection: Redis, redis_url: str, implementation: str
) -> None:
    ids = build_failed(connection, 1000)
    db = connection.connection_pool.connection_kwargs.get("db", 0)
    program = textwrap.dedent(
        f"""
        import os, signal
        from redis import Redis
        from rqfast.registry import requeue_failed_jobs
        chunks = []
        def on_chunk(requeued, skipped):
            chunks.append(requeued)
            if len(chunks) == 3:
                os.kill(os.getpid(), signal.SIGKILL)
        client = Redis.from_url({redis_url!r}, db={db})
        requeue_failed_jobs(client, "default", chunk_size=100, on_chunk=on_chunk)
        """
    )
    env = dict(os.environ, RQFAST_PURE_PYTHON="1" if implementation == "py" else "0")
    process = subprocess.run([sys.executable, "-c", program], env=env, check=False)
    assert process.returncode == -9

    queued = decoded(connection.lrange("rq:queue:default", 0, -1))
    failed = decoded(connection.zrange("rq:failed:default", 0, -1))
    assert len(queued) == connection.llen("rq:queue:default") == 300
    assert not queued & failed
    assert queued | failed == ids
    for job_id in queued:
        assert Job.fetch(job_id, connection=connection).get_status() == "queued"
    for job_id in failed:
        assert Job.fetch(job_id, connection=connection).get_status() == "failed"


def test_requeue_command_moves_every_job(connection: Redis, redis_url: str) -> None:
    ids = build_failed(connection, 1234)
    connection.zadd("rq:failed:default", {"ghost": LATER})
    result = CliRunner().invoke(
        main,
        [
            "requeue",
            "--url",
            redis_url,
            "--all",
            "--chunk-size",
            "100",
            "--retries",
            "2",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "Requeued 1234 job(s); skipped 1 " in result.output
    assert decoded(connection.lrange("rq:queue:default", 0, -1)) == ids
    assert connection.zrange("rq:failed:default", 0, -1) == [b"ghost"]
    assert Job.fetch("f7", connection=connection).retries_left == 2


def test_requeue_command_moves_the_jobs_named(
    connection: Redis, redis_url: str
) -> None:
    build_failed(connection, 10, "mail")
    result = CliRunner().invoke(
        main,
        ["requeue", "-u", redis_url, "-q", "mail", "--at-front", "f3", "f4", "nope"],
    )
    assert result.exit_code == 0, result.output
    assert "Requeued 2 job(s); skipped 1 " in result.output
    assert connection.lrange("rq:queue:mail", 0, -1) == [b"f4", b"f3"]
    assert connection.zcard("rq:failed:mail") == 8


def test_requeue_command_needs_ids_or_all(redis_url: str) -> None:
    neither = CliRunner().invoke(main, ["requeue", "--url", redis_url])
    both = CliRunner().invoke(main, ["requeue", "--url", redis_url, "--all", "f1"])
    assert neither.exit_code == both.exit_code == 2
    assert "Name the jobs to requeue, or pass --all" in neither.output
    bad = CliRunner().invoke(main, ["requeue", "--url", redis_url, "bad id"])
    assert bad.exit_code == 2
    assert "Job ID must only contain" in bad.output
