"""Per-queue retry counters and a job's attempt history, as ``rqfast stats`` shows them.

rqfast workers count, per queue, in the hash ``rqfast:stats:<queue>`` (stock RQ
neither writes nor reads it):

- ``retried``: failed attempts that were retried, now or later;
- ``exhausted``: jobs that failed with no retries left;
- ``gave_up``: jobs whose exception their policy does not retry;
- ``succeeded_after_retry``: jobs that succeeded after at least one failed
  attempt, and ``succeeded_after:<n>`` those that did after exactly n.

The counters are incremented inside the same script call that finishes the
attempt, so they stay exact with any number of workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import click
from redis import Redis

__all__ = ["QueueCounters", "counters_key", "read_counters", "stats_command"]

COUNTERS_PREFIX = "rqfast:stats:"


def counters_key(queue_name: str) -> str:
    """Return the key of a queue's rqfast counters hash."""
    return f"{COUNTERS_PREFIX}{queue_name}"


@dataclass(frozen=True)
class QueueCounters:
    """The retry counters of one queue."""

    queue: str
    retried: int = 0
    exhausted: int = 0
    gave_up: int = 0
    succeeded_after_retry: int = 0
    #: How many jobs succeeded after exactly n failed attempts, by n.
    succeeded_after: dict[int, int] = field(default_factory=dict)


def read_counters(connection: Redis, queue_names: list[str]) -> list[QueueCounters]:
    """Return the counters of each named queue, in one round trip."""
    with connection.pipeline(transaction=False) as pipe:
        for name in queue_names:
            pipe.hgetall(counters_key(name))
        hashes = pipe.execute()
    found = []
    for name, raw in zip(queue_names, hashes, strict=True):
        values = {key.decode(): int(value) for key, value in raw.items()}
        after = {
            int(key.split(":", 1)[1]): count
            for key, count in values.items()
            if key.startswith("succeeded_after:")
        }
        found.append(
            QueueCounters(
                queue=name,
                retried=values.get("retried", 0),
                exhausted=values.get("exhausted", 0),
                gave_up=values.get("gave_up", 0),
                succeeded_after_retry=values.get("succeeded_after_retry", 0),
                succeeded_after=dict(sorted(after.items())),
            )
        )
    return found


def _job_report(connection: Redis, job_id: str) -> str:
    from .job import Job

    job = Job(job_id, connection=connection)
    job.refresh()  # type: ignore[no-untyped-call]
    policy = job.retry_policy
    lines = [
        f"job {job.id} ({job.func_name}) on queue {job.origin}",
        f"  status: {job.get_status(refresh=False).value}",
        f"  retries left: {job.retries_left if job.retries_left is not None else '-'}",
        f"  retry policy: {policy!r}" if policy is not None else "  retry policy: -",
    ]
    attempts = job.attempts
    if not attempts:
        lines.append("  no failed attempts recorded")
    for attempt in attempts:
        then = (
            "gave up" if attempt.retry_in is None else f"retry in {attempt.retry_in:g}s"
        )
        lines.append(
            f"  attempt {attempt.number} failed at "
            f"{attempt.failed_at:%Y-%m-%d %H:%M:%S}Z on {attempt.worker_name or '?'}: "
            f"{attempt.exc_type}: {attempt.message} ({then})"
        )
    if attempts:
        lines.append("  last traceback:")
        lines.extend(f"    {line}" for line in attempts[-1].traceback.splitlines())
    return "\n".join(lines)


def _queues_report(connection: Redis, names: list[str]) -> str:
    if not names:
        from rq.queue import Queue

        names = sorted(queue.name for queue in Queue.all(connection=connection))
    rows = [("queue", "retried", "exhausted", "gave up", "ok after retry", "after n")]
    for counters in read_counters(connection, names):
        spread = " ".join(
            f"{n}:{count}" for n, count in counters.succeeded_after.items()
        )
        rows.append(
            (
                counters.queue,
                str(counters.retried),
                str(counters.exhausted),
                str(counters.gave_up),
                str(counters.succeeded_after_retry),
                spread or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(
            cell.ljust(width) for cell, width in zip(row, widths, strict=True)
        ).rstrip()
        for row in rows
    )


@click.command("stats")
@click.argument("job_id", required=False)
@click.option(
    "--url",
    "-u",
    envvar="REDIS_URL",
    default="redis://localhost:6379/0",
    show_default=True,
    help="The Redis to read (REDIS_URL also sets it).",
)
@click.option(
    "--queue", "-q", "queues", multiple=True, help="A queue to show (repeat)."
)
def stats_command(job_id: str | None, url: str, queues: tuple[str, ...]) -> None:
    """Show retry counters per queue, or one job's failed attempts."""
    from rq.exceptions import NoSuchJobError

    connection = Redis.from_url(url)
    try:
        if job_id is not None:
            click.echo(_job_report(connection, job_id))
        else:
            click.echo(_queues_report(connection, list(queues)))
    except NoSuchJobError as error:
        raise click.ClickException(f"no job {job_id!r} in {url}") from error
    finally:
        connection.close()
