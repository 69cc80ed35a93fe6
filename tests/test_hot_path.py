"""Shortcuts the workers take per execution, checked against what they replace.

Execution ids come from a private generator instead of ``uuid4()``, a job's
function is found without importlib once its module is known, and the
current-job stack keeps its emptied list between jobs.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import types
import uuid
from datetime import timedelta

import pytest
import redis
import rq
from rq.utils import import_attribute, now
from rq.worker.base import BaseWorker

import rqfast
from rqfast.worker import _execution_id, _pop_current_job, _push_current_job

NO_SERVER = redis.Redis()  # never connects: nothing here does I/O


def current_job_id() -> str | None:
    job = rq.get_current_job()
    return job.id if job is not None else None


async def doubled(value: int) -> int:
    return 2 * value


class Owner:
    @staticmethod
    def helper() -> str:
        return "static"

    def method(self) -> str:
        return "bound"


def test_execution_ids_are_version_4_uuids_and_distinct() -> None:
    ids = [_execution_id() for _ in range(20000)]

    assert len(set(ids)) == len(ids)
    for value in ids[:500]:
        parsed = uuid.UUID(value)
        assert (parsed.hex, parsed.version, parsed.variant) == (
            value,
            4,
            uuid.RFC_4122,
        )


def test_a_forked_child_draws_other_execution_ids() -> None:
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids and leave at once
        os.write(writer, json.dumps([_execution_id() for _ in range(3)]).encode())
        os._exit(0)
    os.close(writer)
    parent = [_execution_id() for _ in range(3)]
    with os.fdopen(reader, "rb") as pipe:
        child = json.loads(pipe.read())
    os.waitpid(pid, 0)

    assert len(set(child) | set(parent)) == 6


def test_the_job_stack_answers_each_job_then_none(connection: redis.Redis) -> None:
    queue = rqfast.Queue("default", connection=connection)
    jobs = [queue.enqueue(current_job_id) for _ in range(3)]

    rqfast.SimpleWorker([queue], connection=connection).work(burst=True)

    assert [job.return_value() for job in jobs] == [job.id for job in jobs]
    assert rq.get_current_job() is None


def test_each_thread_has_its_own_current_job() -> None:
    seen: dict[str, str | None] = {}
    ready = threading.Barrier(2)

    def run(name: str) -> None:
        _push_current_job(rqfast.Job(name, connection=NO_SERVER))
        ready.wait()  # both pushed before either looks
        seen[name] = current_job_id()
        _pop_current_job()
        seen[name + " after"] = current_job_id()

    threads = [threading.Thread(target=run, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert seen == {"a": "a", "b": "b", "a after": None, "b after": None}
    assert rq.get_current_job() is None


def test_a_coroutine_function_is_awaited(connection: redis.Redis) -> None:
    queue = rqfast.Queue("default", connection=connection)
    job = queue.enqueue(doubled, 21)

    rqfast.SimpleWorker([queue], connection=connection).work(burst=True)

    assert job.return_value() == 42


def test_popping_the_job_stack_keeps_outer_jobs() -> None:
    outer = rqfast.Job("outer", connection=NO_SERVER)
    inner = rqfast.Job("inner", connection=NO_SERVER)
    rq.job._job_stack.push(outer)  # RQ's own push and the worker's share a stack
    _push_current_job(inner)
    assert rq.get_current_job() is inner

    _pop_current_job()
    assert rq.get_current_job() is outer
    _pop_current_job()
    assert rq.get_current_job() is None
    _pop_current_job()  # an empty stack stays empty
    assert rq.get_current_job() is None


@pytest.mark.parametrize(
    "name",
    ["os.path.join", "tests.test_hot_path.Owner.helper", "len", "json.dumps"],
)
def test_a_jobs_function_is_what_stock_rq_resolves(name: str) -> None:
    job = rqfast.Job.create(name, connection=NO_SERVER)

    for _ in range(2):  # found, then found again from what was learned
        assert job.func is import_attribute(name)
        assert job.func is rq.job.Job.func.fget(job)  # type: ignore[attr-defined]


def test_an_instance_method_is_read_from_its_instance() -> None:
    owner = Owner()
    job = rqfast.Job.create(owner.method, connection=NO_SERVER)

    assert job.func() == "bound"


def test_a_function_patched_after_a_lookup_is_the_one_called(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = rqfast.Job.create("json.dumps", connection=NO_SERVER)
    assert job.func is json.dumps

    def replacement(value: object) -> str:
        return "patched"

    monkeypatch.setattr(json, "dumps", replacement)
    assert job.func is replacement
    monkeypatch.undo()
    assert job.func is json.dumps


def test_a_module_imported_again_is_looked_up_again() -> None:
    name = "rqfast_test_hot_path_module"
    first = types.ModuleType(name)
    first.task = lambda: "first"  # type: ignore[attr-defined]
    sys.modules[name] = first
    try:
        job = rqfast.Job.create(f"{name}.task", connection=NO_SERVER)
        assert job.func() == "first"

        second = types.ModuleType(name)
        second.task = lambda: "second"  # type: ignore[attr-defined]
        sys.modules[name] = second
        assert job.func() == "second"

        del second.task
        with pytest.raises(ValueError, match="Invalid attribute name"):
            job.func  # noqa: B018 - resolving it is what is tested
    finally:
        del sys.modules[name]


def test_maintenance_falls_due_when_stock_rq_says_it_does(
    connection: redis.Redis,
) -> None:
    worker = rqfast.SimpleWorker(["default"], connection=connection)
    stock = BaseWorker.should_run_maintenance_tasks.fget  # type: ignore[attr-defined]
    cases = [
        None,
        now(),
        now() - timedelta(seconds=599),
        now() - timedelta(seconds=601),
    ]

    for interval in (600, 1, 10_000):
        worker.maintenance_interval = interval
        for last in cases:
            worker.last_cleaned_at = last
            assert worker.should_run_maintenance_tasks == stock(worker), (
                interval,
                last,
            )
    worker.maintenance_interval = 600
    worker.last_cleaned_at = now() - timedelta(seconds=601)
    assert worker.should_run_maintenance_tasks
    worker.last_cleaned_at = now()
    assert not worker.should_run_maintenance_tasks


def test_process_titles_are_set_when_they_can_be_shown(
    connection: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    titles: list[str] = []
    monkeypatch.setitem(vars(rq.worker.base), "setprocname", titles.append)
    queue = rqfast.Queue("default", connection=connection)
    queue.enqueue(current_job_id)

    worker = rqfast.SimpleWorker([queue], connection=connection)
    worker.work(burst=True)

    prefix = f"rq:worker:{worker.name}: "
    function = f"{current_job_id.__module__}.current_job_id"
    assert f"{prefix}Listening on default" in titles
    assert any(
        title.startswith(f"{prefix}Processing {function} from default since ")
        for title in titles
    )


def test_a_worker_class_with_its_own_procline_is_given_every_title(
    connection: redis.Redis,
) -> None:
    class Titled(rqfast.SimpleWorker):
        titles: list[str] = []

        def procline(self, message: str) -> None:
            self.titles.append(message)

    queue = rqfast.Queue("default", connection=connection)
    queue.enqueue(current_job_id)
    Titled([queue], connection=connection).work(burst=True)

    assert "Listening on default" in Titled.titles
    assert any(title.startswith("Processing ") for title in Titled.titles)


def test_seconds_reach_redis_as_the_floats_stock_rq_writes(
    connection: redis.Redis,
) -> None:
    """Result and execution times: repr() of a float, as redis-py sends it."""
    queue = rqfast.Queue("default", connection=connection)
    job = queue.enqueue(current_job_id)
    worker = rqfast.SimpleWorker([queue], connection=connection)
    started: list[bytes] = []
    real_perform = worker.perform_job

    def perform(job: rq.job.Job, queue: rq.Queue) -> bool:
        assert worker.execution is not None
        started.append(connection.hget(worker.execution.key, "created_at"))
        return real_perform(job, queue)

    worker.perform_job = perform  # type: ignore[method-assign]
    worker.work(burst=True)

    [(_, entry)] = connection.xrange(f"rq:results:{job.id}")
    texts = [
        started[0],
        entry[b"execution_started_at"],
        entry[b"execution_ended_at"],
    ]
    for text in texts:
        assert text is not None
        assert repr(float(text)).encode() == text, text
    assert float(texts[0]) == float(texts[1]) <= float(texts[2])
    # Redis formats the sum itself; what was added is the job's working time.
    working = float(connection.hget(worker.key, "total_working_time") or 0)
    assert 0 < working <= float(texts[2]) - float(texts[1]) + 1e-6


def test_an_idle_workers_heartbeat_is_when_its_last_job_ended(
    connection: redis.Redis,
) -> None:
    queue = rqfast.Queue("default", connection=connection)
    job = queue.enqueue(current_job_id)
    worker = rqfast.SimpleWorker([queue], connection=connection)

    # One job, then the worker stops: its finish phase goes out alone.
    worker.work(burst=True, max_jobs=1)

    job.refresh()
    assert job.ended_at is not None
    stored = connection.hget(worker.key, "last_heartbeat")
    assert stored == rq.utils.utcformat(job.ended_at).encode()
    assert worker.last_heartbeat is not None
    assert worker.last_heartbeat >= job.ended_at
