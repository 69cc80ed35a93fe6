"""``rqfast bench``: stock RQ's workers against rqfast's, side by side.

Each workload is run to its end by a stock worker and by an rqfast worker of
the same kind, on the same Redis, one after the other, from a fresh database
with the same jobs enqueued by stock RQ. For each run it reports jobs per
second, round trips per job (counted on the client: one per command or
pipeline sent, work horses included) and commands per job (counted by Redis
in ``INFO commandstats``, commands run by scripts included), and the ratio of
rqfast's throughput to stock's.

Workloads:

- ``noop``: jobs that return at once;
- ``retry``: each job fails twice, then succeeds (``Retry(max=3)``);
- ``scheduled``: the same with a 1 second retry interval, so the retries go
  through the ScheduledJobRegistry and the worker's scheduler. Its run time
  is mostly the scheduler's one second polling, for both workers.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import click
import redis
import redis.connection
import rq
from rq import Queue, Retry, get_current_job

__all__ = ["Measurement", "bench_command", "run_workload"]

#: Workload name -> (job function, Retry or None, scheduler on).
WORKLOADS: dict[str, tuple[str, Retry | None, bool]] = {
    "noop": ("rqfast.bench.noop", None, False),
    "retry": ("rqfast.bench.fails_twice", Retry(max=3), False),
    "scheduled": ("rqfast.bench.fails_twice", Retry(max=3, interval=1), True),
}
EXECUTIONS = {"noop": 1, "retry": 3, "scheduled": 3}


def noop() -> None:
    """Do nothing: the benchmark's no-op job."""


def fails_twice() -> str:
    """Fail on the first two attempts of a job retried with Retry(max=3)."""
    job = get_current_job()
    if job is not None and (job.retries_left or 0) > 1:
        raise RuntimeError("failing on purpose")
    return "ok"


# Round trips: every command or pipeline a client sends goes through this
# method once. The counter lives in shared memory so work horses add to it.
_sent = multiprocessing.Value("q", 0, lock=False)
_stock_send = redis.connection.AbstractConnection.send_packed_command


def _counting_send(self: Any, command: Any, check_health: bool = True) -> None:
    _sent.value += 1
    _stock_send(self, command, check_health)  # type: ignore[no-untyped-call]


@contextlib.contextmanager
def _counting_round_trips() -> Iterator[None]:
    redis.connection.AbstractConnection.send_packed_command = _counting_send  # type: ignore[method-assign]
    try:
        yield
    finally:
        redis.connection.AbstractConnection.send_packed_command = _stock_send  # type: ignore[method-assign]


def _commands(connection: redis.Redis) -> int:
    stats = connection.info("commandstats")
    return sum(int(entry["calls"]) for entry in stats.values())


@dataclass
class Measurement:
    """One run of one workload by one worker."""

    workload: str
    kind: str
    implementation: str
    jobs: int
    seconds: float
    round_trips: int
    commands: int

    @property
    def jobs_per_second(self) -> float:
        return self.jobs / self.seconds if self.seconds else 0.0


def _worker_class(implementation: str, kind: str) -> type[rq.worker.BaseWorker]:
    import rqfast

    if implementation == "rqfast":
        return rqfast.SimpleWorker if kind == "simple" else rqfast.Worker
    return rq.SimpleWorker if kind == "simple" else rq.Worker


def _progress(
    connection: redis.Redis,
    label: str,
    jobs: int,
    done: threading.Event,
    polls: list[int],
    show: Callable[[str], None],
) -> None:
    """Show how many jobs have finished until ``done`` is set."""
    queue_name = "bench"
    while not done.wait(0.25):
        finished = connection.zcard(f"rq:finished:{queue_name}")
        polls[0] += 1
        show(f"\r  {label}: {finished}/{jobs} jobs finished")
    show(f"\r  {label}: {jobs}/{jobs} jobs finished\n")


def run_workload(
    url: str,
    workload: str,
    kind: str,
    implementation: str,
    jobs: int,
    show: Callable[[str], None] = lambda text: None,
) -> Measurement:
    """Run one workload to its end with one worker and measure it."""
    func, retry, scheduler = WORKLOADS[workload]
    connection = redis.Redis.from_url(url)
    connection.flushdb()
    queue = Queue("bench", connection=connection)
    with connection.pipeline() as pipe:
        for _ in range(jobs):
            queue.enqueue(func, retry=retry, result_ttl=3600, pipeline=pipe)
        pipe.execute()

    worker_connection = redis.Redis.from_url(url)
    worker_class = _worker_class(implementation, kind)
    worker = worker_class(["bench"], connection=worker_connection)
    label = f"{workload} / {kind} / {implementation}"
    done = threading.Event()
    polls = [0]
    watcher = threading.Thread(
        target=_progress, args=(connection, label, jobs, done, polls, show)
    )
    # The clock stops when the worker's loop ends, before its teardown (whose
    # pubsub thread takes up to a second to stop, for stock and rqfast alike).
    ended: list[float] = []
    teardown = worker.teardown

    def timed_teardown() -> None:
        flush = getattr(worker, "flush", None)
        if flush is not None:
            flush()
        ended.append(time.perf_counter())
        teardown()  # type: ignore[no-untyped-call]

    worker.teardown = timed_teardown  # type: ignore[method-assign]
    commands_before = _commands(connection)
    watcher.start()
    with _counting_round_trips():
        sent_before = _sent.value
        started = time.perf_counter()
        if scheduler:
            worker.work(
                with_scheduler=True,
                max_jobs=jobs * EXECUTIONS[workload],
                logging_level="CRITICAL",
            )
        else:
            worker.work(burst=True, logging_level="CRITICAL")
        seconds = ended[0] - started
        round_trips = _sent.value - sent_before
    done.set()
    watcher.join()
    # The progress display's own ZCARDs and the INFO that reads the counters.
    commands = _commands(connection) - commands_before - polls[0] - 1
    worker_connection.close()
    connection.close()
    return Measurement(
        workload, kind, implementation, jobs, seconds, round_trips, commands
    )


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def _table(results: list[Measurement]) -> str:
    """Tabulate the runs: median jobs/s per implementation, median ratio per round.

    Rounds run stock RQ then rqfast, one after the other; a round's ratio is
    rqfast's jobs/s over stock's in that round.
    """
    header = (
        f"{'workload':<10} {'worker':<7} {'impl':<7} {'jobs':>6} {'jobs/s':>9} "
        f"{'rt/job':>7} {'cmd/job':>8} {'ratio':>6}"
    )
    lines = [header, "-" * len(header)]
    groups: dict[tuple[str, str, str], list[Measurement]] = {}
    for entry in results:
        groups.setdefault((entry.workload, entry.kind, entry.implementation), [])
        groups[(entry.workload, entry.kind, entry.implementation)].append(entry)
    for (workload, kind, implementation), runs in groups.items():
        stock_runs = groups.get((workload, kind, "stock"), [])
        ratio = ""
        if implementation != "stock" and stock_runs:
            ratios = [
                fast.jobs_per_second / stock.jobs_per_second
                for fast, stock in zip(runs, stock_runs, strict=False)
                if stock.jobs_per_second
            ]
            ratio = f"{_median(ratios):.1f}x" if ratios else ""
        elif implementation == "stock":
            ratio = "1.0x"
        first = runs[0]
        lines.append(
            f"{workload:<10} {kind:<7} {implementation:<7} "
            f"{first.jobs:>6} {_median([run.jobs_per_second for run in runs]):>9.0f} "
            f"{_median([run.round_trips / run.jobs for run in runs]):>7.1f} "
            f"{_median([run.commands / run.jobs for run in runs]):>8.1f} {ratio:>6}"
        )
    return "\n".join(lines)


@contextlib.contextmanager
def _redis_url() -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    from . import _server

    with _server.redis_url_or_server() as url:
        yield url


@click.command("bench")
@click.option("--jobs", "-n", default=2000, show_default=True, help="Jobs per run.")
@click.option(
    "--fork-jobs",
    default=300,
    show_default=True,
    help="Jobs per run of the forking workers (0 to skip them).",
)
@click.option(
    "--repeat",
    "-r",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Rounds of stock then rqfast per workload; the table shows medians.",
)
@click.option(
    "--workload",
    "-w",
    "workloads",
    multiple=True,
    type=click.Choice(sorted(WORKLOADS)),
    help="Workloads to run (all by default).",
)
def bench_command(
    jobs: int, fork_jobs: int, repeat: int, workloads: tuple[str, ...]
) -> None:
    """Run stock RQ's workers and rqfast's on the same workloads; print a table."""
    chosen = list(workloads) or ["noop", "retry", "scheduled"]
    results: list[Measurement] = []
    with _redis_url() as url:
        connection = redis.Redis.from_url(url)
        click.echo(f"Redis at {url}")
        for workload in chosen:
            for kind, count in (("simple", jobs), ("fork", fork_jobs)):
                if count <= 0:
                    continue
                for _ in range(repeat):
                    for implementation in ("stock", "rqfast"):
                        results.append(
                            run_workload(
                                url,
                                workload,
                                kind,
                                implementation,
                                count,
                                show=lambda text: click.echo(text, nl=False, err=True),
                            )
                        )
        connection.flushdb()
    click.echo("")
    click.echo(_table(results))
    click.echo(
        "\nrt/job: round trips per job; cmd/job: commands Redis ran per job, "
        "those run by scripts included; ratio: jobs/s against stock RQ's"
        + (f" (medians of {repeat} rounds)." if repeat > 1 else ".")
    )


if __name__ == "__main__":  # pragma: no cover
    bench_command(sys.argv[1:])
