"""rqfast's workers leave Redis exactly as stock RQ's workers do, in fewer calls.

Each scenario enqueues the same jobs (same ids) with stock RQ, runs them to
the end with a stock worker, and snapshots the whole database; then does the
same with an rqfast worker. The snapshots are compared after ids of
executions, timestamps and other per-run values are normalised; rqfast's
documented extra hash fields (``rqfast_*``) and its counters hashes
(``rqfast:stats:*``) are left out.
"""

from __future__ import annotations

import collections
import re
import threading
import time
import zlib
from base64 import b64decode
from collections.abc import Callable
from typing import Any

import pytest
import redis
import rq
from rq import Callback, Queue, Retry, get_current_job

import rqfast
from rqfast.scripts import lifecycle_script

WORKER_NAME = "lifecycle-worker"

# --- the jobs (module-level so both workers import them by name) -------------


def noop() -> int:
    return 42


def boom() -> None:
    raise ValueError("boom")


def flaky() -> str:
    job = get_current_job()
    assert job is not None
    if (job.retries_left or 0) > 1:
        raise ValueError("not yet")
    return "ok"


def asks_for_retry() -> Any:
    job = get_current_job()
    assert job is not None
    if (job.number_of_retries or 0) >= 1:
        return "done"
    return Retry(max=2)


def always_asks_for_retry() -> Retry:
    return Retry(max=1)


def sleeper() -> None:
    time.sleep(3)


def record_success(job: rq.job.Job, connection: redis.Redis, result: Any) -> None:
    connection.set(f"test:success:{job.id}", repr(result))


def record_failure(
    job: rq.job.Job, connection: redis.Redis, exc_type: type, *args: Any
) -> None:
    connection.set(f"test:failure:{job.id}", exc_type.__name__)


# --- scenarios ---------------------------------------------------------------


def _success(queue: Queue) -> None:
    queue.enqueue(noop, job_id="j1")
    queue.enqueue(noop, job_id="j2", result_ttl=-1)


def _failure(queue: Queue) -> None:
    queue.enqueue(boom, job_id="j1")
    queue.enqueue(boom, job_id="j2", failure_ttl=300)


def _retry_now(queue: Queue) -> None:
    queue.enqueue(flaky, job_id="j1", retry=Retry(max=3))
    queue.enqueue(boom, job_id="j2", retry=Retry(max=2))


def _retry_later(queue: Queue) -> None:
    queue.enqueue(boom, job_id="j1", retry=Retry(max=2, interval=600), ttl=5000)


def _returned_retry(queue: Queue) -> None:
    queue.enqueue(asks_for_retry, job_id="j1")
    queue.enqueue(always_asks_for_retry, job_id="j2")


def _timeout(queue: Queue) -> None:
    queue.enqueue(sleeper, job_id="j1", job_timeout=1)


def _callbacks(queue: Queue) -> None:
    queue.enqueue(noop, job_id="j1", on_success=Callback(record_success))
    queue.enqueue(boom, job_id="j2", on_failure=Callback(record_failure))


def _dependents(queue: Queue) -> None:
    parent = queue.enqueue(noop, job_id="j1")
    queue.enqueue(noop, job_id="j2", depends_on=parent)
    failing = queue.enqueue(boom, job_id="j3")
    queue.enqueue(noop, job_id="j4", depends_on=rq.job.Dependency([failing], True))


SCENARIOS: dict[str, Callable[[Queue], None]] = {
    "success": _success,
    "failure": _failure,
    "retry_now": _retry_now,
    "retry_later": _retry_later,
    "returned_retry": _returned_retry,
    "timeout": _timeout,
    "callbacks": _callbacks,
    "dependents": _dependents,
}

# --- the state snapshot ------------------------------------------------------

_EXECUTION_ID = re.compile(rb"[0-9a-f]{32}")
_ISO_TIME = re.compile(rb"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
_NUMBER = re.compile(rb"^-?\d+(\.\d+)?(e-?\d+)?$")
#: Hash fields whose values differ from run to run.
_VOLATILE_FIELDS = {
    b"pid",
    b"hostname",
    b"ip_address",
    b"python_version",
    b"total_working_time",
    b"created_at",
    b"execution_started_at",
    b"execution_ended_at",
    b"birth",
    b"death",
}


def _name(raw: bytes) -> bytes:
    return _EXECUTION_ID.sub(b"<exec>", raw)


def _value(field: bytes, raw: bytes) -> Any:
    if field in _VOLATILE_FIELDS or _ISO_TIME.match(raw):
        return "<volatile>"
    if field in (b"exc_info", b"exc_string"):
        text = zlib.decompress(b64decode(raw) if field == b"exc_string" else raw)
        return text.decode().strip().splitlines()[-1]
    return _name(raw)


def _score(score: float, clock: float) -> Any:
    if score == float("inf") or score < 0:
        return score
    return round((score - clock) / 60)


def snapshot(connection: redis.Redis) -> dict[bytes, Any]:
    """Return the database's keys and values with per-run values normalised."""
    clock = time.time()
    state: dict[bytes, Any] = {}
    for key in sorted(connection.keys("*")):
        if key.startswith(b"rqfast:"):
            continue
        kind = connection.type(key)
        ttl = connection.ttl(key)
        value: Any
        if kind == b"hash":
            value = {
                field: _value(field, raw)
                for field, raw in connection.hgetall(key).items()
                if not field.startswith(b"rqfast_")
            }
        elif kind == b"zset":
            value = sorted(
                (_name(member), _score(score, clock))
                for member, score in connection.zrange(key, 0, -1, withscores=True)
            )
        elif kind == b"list":
            value = [_name(item) for item in connection.lrange(key, 0, -1)]
        elif kind == b"set":
            value = sorted(_name(item) for item in connection.smembers(key))
        elif kind == b"stream":
            value = [
                {field: _value(field, raw) for field, raw in entry.items()}
                for _, entry in connection.xrange(key)
            ]
        else:
            value = connection.get(key)
        state[_name(key)] = (kind, -1 if ttl < 0 else round(ttl / 60), value)
    return state


def run(
    connection: redis.Redis, scenario: str, worker_class: type[rq.worker.BaseWorker]
) -> dict[bytes, Any]:
    """Run a scenario with one worker in burst mode; snapshot the database."""
    connection.flushdb()
    queue = Queue("default", connection=connection)
    SCENARIOS[scenario](queue)
    worker = worker_class([queue], connection=connection, name=WORKER_NAME)
    worker.work(burst=True)
    return snapshot(connection)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_simple_worker_leaves_stock_state(
    connection: redis.Redis, scenario: str
) -> None:
    stock = run(connection, scenario, rq.SimpleWorker)
    fast = run(connection, scenario, rqfast.SimpleWorker)
    assert fast == stock


@pytest.mark.parametrize("scenario", ["success", "failure", "retry_now", "timeout"])
def test_forking_worker_leaves_stock_state(
    connection: redis.Redis, scenario: str
) -> None:
    stock = run(connection, scenario, rq.Worker)
    fast = run(connection, scenario, rqfast.Worker)
    assert fast == stock


def test_snapshot_sees_a_difference(connection: redis.Redis) -> None:
    before = run(connection, "success", rqfast.SimpleWorker)
    connection.hset("rq:job:j1", "status", "failed")
    assert snapshot(connection) != before


def test_extra_field_counts_executions(connection: redis.Redis) -> None:
    run(connection, "retry_now", rqfast.SimpleWorker)
    assert connection.hget("rq:job:j1", "rqfast_executions") == b"3"


# --- round trips -------------------------------------------------------------


class CommandLog:
    """Record the commands clients send (not those scripts run), with MONITOR."""

    def __init__(self, connection: redis.Redis) -> None:
        self.connection = connection
        self.commands: list[str] = []
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        with self.connection.monitor() as monitor:
            self._ready.set()
            for entry in monitor.listen():
                if entry["command"] == "ECHO end-of-command-log":
                    return
                if entry["client_type"] != "lua":
                    self.commands.append(entry["command"])

    def __enter__(self) -> CommandLog:
        self._thread.start()
        self._ready.wait()
        # The monitor is attached once it answers: send a first marker through it.
        time.sleep(0.1)
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.connection.echo("end-of-command-log")
        self._thread.join()


def _commands_for(
    connection: redis.Redis, jobs: int, func: Callable[..., Any]
) -> collections.Counter[str]:
    """Count, by name, the commands clients sent during a burst over ``jobs`` jobs."""
    connection.flushdb()
    queue = Queue("default", connection=connection)
    for index in range(jobs):
        queue.enqueue(func, job_id=f"j{index}", retry=Retry(max=3))
    worker = rqfast.SimpleWorker([queue], connection=connection, name=WORKER_NAME)
    lifecycle_script.load(connection)
    with CommandLog(connection) as log:
        worker.work(burst=True)
    # HELLO opens a connection; how many the pool opens is not the point here.
    names = collections.Counter(command.split()[0] for command in log.commands)
    del names["HELLO"]
    return names


@pytest.mark.parametrize(
    ("func", "executions"), [(noop, 1), (flaky, 3)], ids=["noop", "flaky"]
)
def test_one_round_trip_per_execution(
    connection: redis.Redis, func: Callable[..., Any], executions: int
) -> None:
    # Twenty more jobs cost twenty more script calls per execution and nothing
    # else: the worker sends no pipelines and no other command per job.
    small = _commands_for(connection, 10, func)
    large = _commands_for(connection, 30, func)
    assert large.pop("EVALSHA") - small.pop("EVALSHA") == 20 * executions
    assert large == small
