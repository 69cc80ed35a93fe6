"""``rqfast requeue``: put failed jobs back on their queues, in bulk.

The counterpart of ``rq requeue``: the same ``--url``, ``--queue`` and
``--all`` options and job id arguments, but jobs move a chunk per round trip
(see :func:`rqfast.registry.requeue_failed_jobs`), the registry is read a
chunk at a time so memory stays bounded on any number of jobs, and a
progress bar shows how far it got.
"""

from __future__ import annotations

import click
from redis import Redis
from rq.registry import FailedJobRegistry

from .registry import REQUEUE_CHUNK_SIZE, requeue_failed_jobs

__all__ = ["requeue_command"]


@click.command("requeue")
@click.option(
    "--url",
    "-u",
    envvar="RQ_REDIS_URL",
    default="redis://localhost:6379/0",
    show_default=True,
    help="URL of the Redis server (or set RQ_REDIS_URL).",
)
@click.option("--queue", "-q", default="default", show_default=True, help="Queue name.")
@click.option("--all", "-a", "requeue_all", is_flag=True, help="Requeue every job.")
@click.option("--at-front", is_flag=True, help="Push the jobs at the queues' front.")
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=None,
    help="Give every requeued job this many retries left.",
)
@click.option(
    "--chunk-size",
    type=click.IntRange(min=1),
    default=REQUEUE_CHUNK_SIZE,
    show_default=True,
    help="Jobs moved per round trip.",
)
@click.argument("job_ids", nargs=-1)
def requeue_command(
    url: str,
    queue: str,
    requeue_all: bool,
    at_front: bool,
    retries: int | None,
    chunk_size: int,
    job_ids: tuple[str, ...],
) -> None:
    """Requeue the failed jobs of a queue: those named, or all with --all."""
    if requeue_all == bool(job_ids):
        raise click.UsageError("Name the jobs to requeue, or pass --all (not both).")
    connection = Redis.from_url(url)
    registry_key = FailedJobRegistry.key_template.format(queue)
    total = connection.zcard(registry_key) if requeue_all else len(job_ids)
    requeued = skipped = 0
    with click.progressbar(
        length=total, label=f"Requeueing failed jobs of {queue}", show_pos=True
    ) as bar:

        def advance(done: int, left: int) -> None:
            nonlocal requeued, skipped
            requeued += done
            skipped += left
            bar.update(done + left)

        try:
            requeue_failed_jobs(
                connection,
                queue,
                None if requeue_all else list(job_ids),
                at_front=at_front,
                retries=retries,
                chunk_size=chunk_size,
                on_chunk=advance,
            )
        except ValueError as error:
            raise click.BadParameter(str(error), param_hint="JOB_IDS") from error
    click.echo(
        f"Requeued {requeued} job(s); skipped {skipped} that were not in the "
        "failed registry or whose job hash was gone."
    )
