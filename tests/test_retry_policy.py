"""Retry policies stock RQ lacks: backoff, jitter, filters, Retry-After, preview."""

from __future__ import annotations

import json
import statistics
from datetime import timedelta
from typing import Any

import pytest
import rq
import rq.job
from hypothesis import given, settings
from hypothesis import strategies as st
from redis import Redis

import rqfast
from rqfast import _reference
from rqfast.retry import RetryAfter

MASK64 = (1 << 64) - 1


class Throttled(Exception):
    """An HTTP client's 429, carrying the delay the server asked for."""

    def __init__(self, retry_after: float) -> None:
        super().__init__("429 Too Many Requests")
        self.retry_after = retry_after


def is_transient(exc: BaseException) -> bool:
    return "transient" in str(exc)


def test_plain_retry_keeps_stock_behaviour_and_bytes(connection: Redis) -> None:
    fast = rqfast.Retry(max=3, interval=[1, 5])
    stock = rq.Retry(max=3, interval=[1, 5])
    assert (fast.max, fast.intervals, fast.enqueue_at_front) == (3, [1, 5], False)
    assert not fast.has_extras
    assert repr(fast) == repr(stock)

    queue = rqfast.Queue("default", connection=connection)
    job = queue.enqueue("os.path.join", "a", retry=fast)
    fields = connection.hgetall(job.key)
    assert b"rqfast_retry" not in fields
    assert fields[b"retry_intervals"] == b"[1, 5]"
    assert fields[b"retries_left"] == b"3"

    with pytest.raises(ValueError, match="max"):
        rqfast.Retry(max=0)
    with pytest.raises(ValueError, match="negative"):
        rqfast.Retry(max=2, interval=[1, -1])


def test_backoff_stores_a_schedule_stock_workers_can_follow(connection: Redis) -> None:
    retry = rqfast.Retry(max=6, interval=1, backoff=2, cap=10, jitter="full")
    assert retry.intervals == [1, 2, 4, 8, 10, 10]

    queue = rqfast.Queue("default", connection=connection)
    job = queue.enqueue("os.path.join", "a", retry=retry)
    fields = connection.hgetall(job.key)
    assert json.loads(fields[b"retry_intervals"]) == [1, 2, 4, 8, 10, 10]
    assert fields[b"retries_left"] == b"6"
    policy = json.loads(fields[b"rqfast_retry"])
    assert policy["backoff"] == 2.0
    assert policy["cap"] == 10.0
    assert policy["jitter"] == "full"

    stock = rq.job.Job.fetch(job.id, connection=connection)
    assert stock.retries_left == 6
    # A stock worker walks the same schedule: retry k waits intervals[k - 1].
    walked = []
    while stock.retries_left:
        walked.append(stock.get_retry_interval())
        stock.retries_left -= 1
    assert walked == [1, 2, 4, 8, 10, 10]

    fast = rqfast.Job.fetch(job.id, connection=connection)
    assert fast.retry_policy is not None
    assert fast.retry_policy.to_json() == retry.to_json()
    # Saving the job again keeps the policy field.
    fast.save()
    assert connection.hget(job.key, "rqfast_retry") == fields[b"rqfast_retry"]


def test_policy_survives_stock_queue_after_install(connection: Redis) -> None:
    rqfast.install()
    try:
        retry = rq.Retry(max=2, interval=3, backoff=3.0, on=ConnectionError)
        assert isinstance(retry, rq.Retry)
        job = rq.Queue("default", connection=connection).enqueue(
            "os.path.join", "a", retry=retry
        )
    finally:
        rqfast.uninstall()
    policy = json.loads(connection.hget(job.key, "rqfast_retry") or b"{}")
    assert policy["on"] == ["ConnectionError"]
    assert json.loads(connection.hget(job.key, "retry_intervals") or b"") == [3, 9]


def test_exception_filters() -> None:
    retry = rqfast.Retry(
        max=3,
        on=(ConnectionError, TimeoutError),
        giveup_on=ConnectionRefusedError,
        retry_if=is_transient,
    )
    assert retry.should_retry(ConnectionError("transient blip"))
    assert not retry.should_retry(ConnectionError("permanent"))
    assert not retry.should_retry(ConnectionRefusedError("transient"))
    assert not retry.should_retry(ValueError("transient"))
    assert rqfast.Retry(max=1).should_retry(ValueError("anything"))

    again = rqfast.Retry.from_json(retry.to_json())
    assert again.on == (ConnectionError, TimeoutError)
    assert again.giveup_on == (ConnectionRefusedError,)
    assert again.retry_if is is_transient

    with pytest.raises(ValueError, match="importable"):
        rqfast.Retry(max=1, retry_if=lambda exc: True).to_json()
    with pytest.raises(TypeError, match="exception types"):
        rqfast.Retry(max=1, on=[int])  # type: ignore[list-item]


def test_retry_after_chooses_the_delay_within_the_cap() -> None:
    retry = rqfast.Retry(max=3, interval=5, backoff=2, cap=60)
    assert retry.delay(1, exc=RetryAfter(12)) == 12
    assert retry.delay(2, exc=RetryAfter(timedelta(minutes=5))) == 60
    assert retry.delay(1, exc=Throttled(7.5)) == 7.5
    assert retry.delay(2, exc=ValueError("no hint")) == 10
    with pytest.raises(ValueError, match="retry_number"):
        retry.delay(4)
    with pytest.raises(ValueError, match="delay"):
        RetryAfter(-1)


def test_schedule_previews_the_policy() -> None:
    plain = rqfast.Retry(max=3, interval=[10, 30, 60]).schedule()
    assert plain.delays == [(10, 10), (30, 30), (60, 60)]
    assert plain.total == (100, 100)

    full = rqfast.Retry(max=4, interval=1, backoff=3, cap=20, jitter="full").schedule()
    assert full.delays == [(0, 1), (0, 3), (0, 9), (0, 20)]
    assert full.total == (0, 33)

    equal = rqfast.Retry(max=2, interval=4, backoff=2, jitter="equal").schedule()
    assert equal.delays == [(2, 4), (4, 8)]

    decorrelated = rqfast.Retry(
        max=4, interval=1, backoff=2, cap=10, jitter="decorrelated"
    ).schedule()
    assert decorrelated.delays == [(1, 3), (1, 9), (1, 10), (1, 10)]
    assert "gives up after 4s to 32s" in str(decorrelated)


def draws(retry: rqfast.Retry, number: int, count: int) -> list[float]:
    return [retry.delay(number, key=f"job-{i}") for i in range(count)]


@pytest.mark.parametrize("seed", [None, 7])
def test_jitter_distributions(seed: int | None) -> None:
    count = 4000
    full = draws(
        rqfast.Retry(max=3, interval=8, backoff=2, jitter="full", seed=seed), 2, count
    )
    assert all(0 <= d < 16 for d in full)
    assert statistics.mean(full) == pytest.approx(8, rel=0.05)
    assert statistics.pstdev(full) == pytest.approx(16 / 12**0.5, rel=0.07)

    equal = draws(
        rqfast.Retry(max=3, interval=8, backoff=2, jitter="equal", seed=seed), 2, count
    )
    assert all(8 <= d < 16 for d in equal)
    assert statistics.mean(equal) == pytest.approx(12, rel=0.03)

    corr = rqfast.Retry(
        max=3, interval=2, backoff=2, cap=30, jitter="decorrelated", seed=seed
    )
    values = [corr.delay(2, previous=5, key=f"k{i}") for i in range(count)]
    assert all(2 <= d < 15 for d in values)
    assert statistics.mean(values) == pytest.approx(8.5, rel=0.05)
    capped = [corr.delay(3, previous=40, key=f"k{i}") for i in range(200)]
    assert max(capped) == 30
    assert min(capped) >= 2

    plain_list = rqfast.Retry(max=2, interval=[10, 20], jitter="full", seed=seed)
    assert all(0 <= d < 20 for d in draws(plain_list, 2, 200))


def test_a_seed_makes_draws_reproducible() -> None:
    one = rqfast.Retry(max=3, interval=1, backoff=2, jitter="full", seed=42)
    two = rqfast.Retry(max=3, interval=1, backoff=2, jitter="full", seed=42)
    assert one.delay(3, key="abc") == two.delay(3, key="abc")
    assert one.delay(3, key="abc") != one.delay(3, key="abd")


@settings(max_examples=200, deadline=None)
@given(
    state=st.integers(0, MASK64),
    number=st.integers(1, 2000),
    previous=st.floats(0, 1e6),
    first=st.floats(0, 1e4),
    factor=st.floats(1, 10),
    cap=st.none() | st.floats(0, 1e5),
    jitter=st.integers(0, 3),
)
def test_active_implementation_matches_the_twin(
    state: int,
    number: int,
    previous: float,
    first: float,
    factor: float,
    cap: float | None,
    jitter: int,
) -> None:
    from rqfast import _impl

    args = (number, previous, first, factor, cap, jitter, state)
    assert _impl.ext.retry_delay(*args) == _reference.retry_delay(*args)
    assert _impl.ext.uniform(state) == _reference.uniform(state)
    batch = _impl.ext.next_run_times(
        1000.0,
        [number, number + 1],
        [previous, first],
        first,
        factor,
        cap,
        jitter,
        state,
    )
    assert batch == _reference.next_run_times(
        1000.0,
        [number, number + 1],
        [previous, first],
        first,
        factor,
        cap,
        jitter,
        state,
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda ext: ext.retry_delay(1, 0, -1, 2, None, 0, 0), "first"),
        (lambda ext: ext.retry_delay(1, 0, 1, 0.5, None, 0, 0), "factor"),
        (lambda ext: ext.retry_delay(1, 0, 1, 2, -3, 0, 0), "cap"),
        (lambda ext: ext.retry_delay(1, 0, 1, 2, None, 9, 0), "jitter"),
        (lambda ext: ext.retry_delay(1, 0, 1, 2, None, 0, -1), "state"),
        (lambda ext: ext.backoff_delay(0, 1, 2, None), "retry_number"),
        (lambda ext: ext.next_run_times(0, [1], [], 1, 2, None, 0, 0), "same length"),
    ],
)
def test_bad_arguments_are_named(call: object, message: str) -> None:
    from rqfast import _impl

    with pytest.raises(ValueError, match=message):
        call(_impl.ext)  # type: ignore[operator]


def test_huge_backoff_is_capped_not_an_overflow() -> None:
    assert _reference.backoff_delay(5000, 1, 10, 3600) == 3600
    assert _reference.backoff_delay(5000, 1, 10, None) == float("inf")


def outcome(function: Any, *args: Any) -> Any:
    """Return a call's result, or its exception's type and message."""
    try:
        return function(*args)
    except Exception as exc:  # the differential compares every failure
        return (type(exc), str(exc))


anything = (
    st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False)
    | st.booleans()
    | st.none()
    | st.text(max_size=3)
)
states = st.integers(-5, 2**64 + 5) | anything
numbers = st.integers(-3, 3000) | st.integers(2**60, 2**1100) | anything
floats = st.floats(-10, 1e6) | anything


@settings(max_examples=500, deadline=None)
@given(
    number=numbers,
    previous=floats,
    first=floats,
    factor=st.floats(0.5, 20) | anything,
    cap=st.none() | floats,
    jitter=st.integers(-1, 4) | anything,
    state=states,
)
def test_c_matches_the_twin_on_any_input(
    number: Any,
    previous: Any,
    first: Any,
    factor: Any,
    cap: Any,
    jitter: Any,
    state: Any,
) -> None:
    from rqfast import _impl

    c = _impl.c_ext
    assert c is not None, "the C extension must be built for this test"
    for name, args in [
        ("uniform", (state,)),
        ("backoff_delay", (number, first, factor, cap)),
        ("retry_delay", (number, previous, first, factor, cap, jitter, state)),
        (
            "next_run_times",
            (12.5, [number, 2], [previous, 1.0], first, factor, cap, jitter, state),
        ),
    ]:
        expected = outcome(getattr(_reference, name), *args)
        actual = outcome(getattr(c, name), *args)
        assert actual == expected, name


def test_c_backoff_functions_do_not_leak() -> None:
    import gc
    import sys

    from rqfast import _impl

    c = _impl.c_ext
    assert c is not None, "the C extension must be built for this test"
    cases = [
        lambda: c.uniform(12345),
        lambda: c.uniform(-1),
        lambda: c.backoff_delay(3, 1.0, 2.0, 60),
        lambda: c.backoff_delay(0, 1.0, 2.0, None),
        lambda: c.retry_delay(2, 1.0, 1.0, 2.0, 30.0, 3, 99),
        lambda: c.retry_delay(2, "x", 1.0, 2.0, 30.0, 3, 99),
        lambda: c.next_run_times(1.0, [1, 2, 3], [1.0, 2.0, 4.0], 1, 2, None, 1, 5),
        lambda: c.next_run_times(1.0, [1, "2"], [1.0, 2.0], 1, 2, None, 1, 5),
        lambda: c.next_run_times(1.0, [1], [1.0, 2.0], 1, 2, None, 1, 5),
    ]
    for case in cases:
        for _ in range(200):
            outcome(case)
        gc.collect()
        before = sys.getallocatedblocks()
        for _ in range(5000):
            outcome(case)
        gc.collect()
        assert sys.getallocatedblocks() - before < 100, case
