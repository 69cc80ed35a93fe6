"""rqfast.Job against stock RQ's Job: the bytes stored and the attributes read back."""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import rq.job
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from redis import Redis
from rq.exceptions import NoSuchJobError
from rq.job import Callback, JobStatus

import rqfast
from rqfast import JobHashError

# Attributes that are objects rather than stored state; rqfast's own start
# with "_rqfast_" (caches and the extra fields, tested on their own).
_NOT_STATE = {"connection", "serializer", "log"}

job_ids = st.text(
    alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-",
    min_size=1,
    max_size=20,
)
plain = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
moments = st.datetimes(
    min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)
).map(lambda dt: dt.replace(tzinfo=timezone.utc))
small_ints = st.integers(min_value=-1, max_value=10**9)
intervals = st.integers(min_value=0, max_value=3600) | st.lists(
    st.integers(min_value=0, max_value=3600), min_size=1, max_size=6
)


@st.composite
def stock_jobs(draw: st.DrawFn, connection: Redis) -> rq.job.Job:
    """Build a job through stock RQ's API with every kind of field drawn."""
    callback = st.none() | st.just(Callback("os.path.join", timeout=draw(small_ints)))
    retry = draw(st.none() | st.builds(rq.job.Retry, st.integers(1, 10), intervals))
    job = rq.job.Job.create(
        "os.path.join",
        args=draw(st.lists(plain, max_size=3)),
        kwargs=draw(st.dictionaries(st.text(max_size=6), plain, max_size=3)),
        connection=connection,
        result_ttl=draw(st.none() | small_ints),
        ttl=draw(st.none() | st.integers(1, 10**6)),
        failure_ttl=draw(st.none() | small_ints),
        status=draw(st.sampled_from(list(JobStatus))),
        description=draw(st.none() | st.text()),
        depends_on=draw(st.none() | st.lists(job_ids, min_size=1, max_size=3)),
        timeout=draw(st.none() | st.integers(1, 10**6)),
        retry=retry,
        id=draw(job_ids),
        origin=draw(st.sampled_from(["default", "high", "émoji-☃"])),
        meta=draw(st.none() | st.dictionaries(st.text(max_size=6), plain, max_size=3)),
        group_id=draw(st.none() | job_ids),
        on_success=draw(callback),
        on_failure=draw(callback),
        on_stopped=draw(callback),
    )
    job.enqueued_at = draw(st.none() | moments)
    job.started_at = draw(st.none() | moments)
    job.ended_at = draw(st.none() | moments)
    job.last_heartbeat = draw(st.none() | moments)
    job.created_at = draw(moments)
    job.worker_name = draw(st.none() | st.text(max_size=12))
    job._result = draw(st.none() | plain)
    job._exc_info = draw(st.none() | st.text(max_size=200))
    job.number_of_retries = draw(st.none() | st.integers(0, 10))
    job.enqueue_at_front = draw(st.none() | st.booleans())
    job.enqueue_at_front_on_retry = draw(st.booleans())
    job.allow_dependency_failures = draw(st.none() | st.booleans())
    job.repeats_left = draw(st.none() | st.integers(0, 10))
    job.repeat_intervals = draw(st.none() | st.lists(st.integers(0, 100), max_size=3))
    return job


def stored(connection: Redis, key: str, mapping: dict[str, Any]) -> list[Any]:
    """Store a mapping as a fresh hash and return HGETALL's pairs, in order."""
    connection.delete(key)
    connection.hset(key, mapping=mapping)
    return list(connection.hgetall(key).items())


def state(job: rq.job.Job) -> dict[str, Any]:
    return {
        k: v
        for k, v in vars(job).items()
        if k not in _NOT_STATE and not k.startswith("_rqfast_")
    }


job_settings = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@job_settings
@given(data=st.data())
def test_to_dict_stores_the_bytes_stock_stores(connection: Redis, data: Any) -> None:
    job = data.draw(stock_jobs(connection))
    for include_meta in (True, False):
        for include_result in (True, False):
            expected = rq.job.Job.to_dict(job, include_meta, include_result)
            actual = rqfast.Job.to_dict(job, include_meta, include_result)
            assert actual == expected
            assert list(actual) == list(expected)
            assert stored(connection, "a", actual) == stored(connection, "b", expected)
    # A second save reuses the cached compressed payload: still the same bytes.
    assert rqfast.Job.to_dict(job) == rq.job.Job.to_dict(job)


@job_settings
@given(data=st.data())
def test_restore_reads_what_stock_reads(connection: Redis, data: Any) -> None:
    job = data.draw(stock_jobs(connection))
    rq.job.Job.save(job)
    raw = connection.hgetall(job.key)

    expected = rq.job.Job(job.id, connection=connection)
    rq.job.Job.restore(expected, raw)
    actual = rqfast.Job(job.id, connection=connection)
    actual.restore(raw)
    assert state(actual) == state(expected)
    assert (actual.func_name, actual.args, actual.kwargs) == (
        expected.func_name,
        expected.args,
        expected.kwargs,
    )
    # What rqfast writes back after reading is again what stock writes.
    assert rqfast.Job.to_dict(actual) == rq.job.Job.to_dict(expected)


def test_fetch_and_fetch_many_use_rqfast_job(connection: Redis) -> None:
    queue = rq.Queue("default", connection=connection)
    first = queue.enqueue("os.path.join", "a", "b", meta={"k": "v"}, description="é")
    second = queue.enqueue("os.path.join", "c", retry=rq.Retry(max=2, interval=[5, 9]))

    fetched = rqfast.Job.fetch(first.id, connection=connection)
    assert isinstance(fetched, rqfast.Job)
    assert fetched.meta == {"k": "v"}
    assert fetched.description == "é"
    assert fetched.args == ("a", "b")
    assert fetched.get_status(refresh=False) == JobStatus.QUEUED

    many = rqfast.Job.fetch_many(
        [first.id, "missing", second.id], connection=connection
    )
    assert many[1] is None
    assert [j.id for j in many if j] == [first.id, second.id]
    assert many[2] is not None
    assert many[2].retry_intervals == [5, 9]
    assert many[2].retries_left == 2
    assert many[2].get_retry_interval() == 5


def test_queue_makes_rqfast_jobs_that_stock_reads(connection: Redis) -> None:
    queue = rqfast.Queue("default", connection=connection)
    job = queue.enqueue("os.path.join", "x", retry=rqfast.Retry(max=3, interval=2))
    assert isinstance(job, rqfast.Job)
    stock = rq.job.Job.fetch(job.id, connection=connection)
    assert stock.retries_left == 3
    assert stock.retry_intervals == [2]
    assert stock.args == ("x",)
    assert stock.enqueued_at == job.enqueued_at


def test_uncompressed_payload_is_read_and_recompressed_like_stock(
    connection: Redis,
) -> None:
    job = rq.job.Job.create("os.path.join", args=("p",), connection=connection)
    rq.job.Job.save(job)
    connection.hset(job.key, "data", job.data)  # stored without compression
    connection.hset(job.key, "exc_info", b"plain text")
    raw = connection.hgetall(job.key)

    fast = rqfast.Job(job.id, connection=connection)
    fast.restore(raw)
    stock = rq.job.Job(job.id, connection=connection)
    rq.job.Job.restore(stock, raw)
    assert fast.args == ("p",)
    assert fast._exc_info == "plain text"
    assert rqfast.Job.to_dict(fast) == rq.job.Job.to_dict(stock)
    assert rqfast.Job.to_dict(fast)["data"] == zlib.compress(job.data)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("created_at", b"2024-13-01T00:00:00.000000Z"),
        ("started_at", b"yesterday"),
        ("timeout", b"12x"),
        ("result_ttl", b"9" * 100),
        ("retry_intervals", b"[1, 2.5]"),
        ("retry_intervals", b"[1, "),
        ("dependency_ids", b'["a", 3]'),
        ("description", b"\xff\xfe"),
        ("status", b"exploded"),
    ],
)
def test_a_bad_field_is_named(connection: Redis, field: str, value: bytes) -> None:
    job = rqfast.Queue("default", connection=connection).enqueue("os.path.join", "a")
    connection.hset(job.key, field, value)
    with pytest.raises(JobHashError) as info:
        rqfast.Job.fetch(job.id, connection=connection)
    assert info.value.field == field
    assert repr(field) in str(info.value)


def test_a_hash_without_data_is_no_such_job(connection: Redis) -> None:
    connection.hset("rq:job:nodata", mapping={"status": "queued"})
    with pytest.raises(NoSuchJobError, match="data"):
        rqfast.Job.fetch("nodata", connection=connection)


def test_retry_intervals_follow_stock_rules(connection: Redis) -> None:
    for max_retries, interval in [(3, [10, 20, 30]), (5, [1, 2]), (2, 7), (1, [4])]:
        retry = rq.Retry(max=max_retries, interval=interval)
        job = rq.job.Job.create("os.path.join", connection=connection, retry=retry)
        fast = rqfast.Job(job.id, connection=connection)
        fast.retry_intervals, fast.retries_left = job.retry_intervals, job.retries_left
        while job.retries_left:
            assert fast.get_retry_interval() == job.get_retry_interval()
            job.retries_left -= 1
            fast.retries_left -= 1
        for count in range(8):
            assert rqfast.Retry.get_interval(count, retry.intervals) == (
                rq.Retry.get_interval(count, retry.intervals)
            )


def test_timestamps_round_trip_through_rqfast(connection: Redis) -> None:
    moment = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
    job = rqfast.Job.create("os.path.join", connection=connection)
    job.enqueued_at = moment
    job.started_at = moment + timedelta(seconds=1)
    job.save()
    again = rqfast.Job.fetch(job.id, connection=connection)
    assert again.enqueued_at == moment
    assert again.started_at == moment + timedelta(seconds=1)
    assert again.enqueued_at.tzinfo is timezone.utc
    assert connection.hget(job.key, "enqueued_at") == b"2031-05-06T07:08:09.123456Z"
