"""Registry scanning: C functions against their pure-Python twins and RQ's rules."""

from __future__ import annotations

import sys
import tracemalloc
from collections.abc import Callable
from typing import Any

import pytest
import rq.job
from hypothesis import given, settings
from hypothesis import strategies as st

from rqfast import _impl, _reference

FUNCTIONS = (
    "split_members",
    "member_job_ids",
    "validate_job_id",
    "validate_job_ids",
    "partition_by_deadline",
)

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12) | st.sampled_from(
    ["a:b", "a:", ":b", "a:b:c", "::", "", "job-1_2:exec"]
)
members = (
    texts
    | texts.map(lambda text: text.encode())
    | st.binary(max_size=8)
    | st.integers()
    | st.none()
)
member_lists = st.lists(members, max_size=8)
sequences = member_lists | member_lists.map(tuple) | members
numbers = (
    st.floats(allow_nan=True)
    | st.integers(min_value=-(10**20), max_value=10**20)
    | st.integers(min_value=10**400, max_value=10**401)
    | st.booleans()
    | st.text(max_size=2)
)
entries = st.tuples(members, numbers) | st.tuples(members) | members
scored = st.lists(entries, max_size=8) | st.lists(
    st.tuples(texts.map(lambda text: text.encode()), numbers), max_size=8
)


def outcome(function: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """Return ("ok", value) or ("raised", (type, message)) for a call."""
    try:
        return ("ok", function(*args))
    except Exception as exc:
        return ("raised", (type(exc), str(exc)))


def c_function(name: str) -> Callable[..., Any]:
    assert _impl.c_ext is not None, "the C extension did not load"
    function: Callable[..., Any] = getattr(_impl.c_ext, name)
    return function


@pytest.mark.parametrize("name", FUNCTIONS)
def test_the_extension_provides_every_function(name: str) -> None:
    assert callable(c_function(name))
    assert callable(getattr(_impl.ext, name))


@settings(max_examples=400)
@given(sequences)
def test_split_members_matches_twin(value: Any) -> None:
    assert outcome(c_function("split_members"), value) == outcome(
        _reference.split_members, value
    )


@settings(max_examples=400)
@given(sequences)
def test_member_job_ids_matches_twin(value: Any) -> None:
    assert outcome(c_function("member_job_ids"), value) == outcome(
        _reference.member_job_ids, value
    )


@settings(max_examples=400)
@given(members | st.lists(members, max_size=4))
def test_validate_job_id_matches_twin_and_rq(value: Any) -> None:
    expected = outcome(rq.job.validate_job_id, value)
    assert outcome(c_function("validate_job_id"), value) == expected
    assert outcome(_reference.validate_job_id, value) == expected


@settings(max_examples=400)
@given(sequences)
def test_validate_job_ids_matches_twin(value: Any) -> None:
    assert outcome(c_function("validate_job_ids"), value) == outcome(
        _reference.validate_job_ids, value
    )


@settings(max_examples=400)
@given(scored | sequences, numbers)
def test_partition_by_deadline_matches_twin(value: Any, deadline: Any) -> None:
    assert outcome(c_function("partition_by_deadline"), value, deadline) == outcome(
        _reference.partition_by_deadline, value, deadline
    )


def test_members_split_as_rq_parses_them() -> None:
    entries = [b"plain", b"job:exec", "text:x", b"ends:"]
    assert _impl.ext.split_members(entries) == [
        ("plain", ""),
        ("job", "exec"),
        ("text", "x"),
        ("ends", ""),
    ]
    assert _impl.ext.member_job_ids(entries) == [
        rq.job.parse_job_id(entry if isinstance(entry, str) else entry.decode())
        for entry in entries
    ]


def test_due_means_zero_to_deadline_inclusive() -> None:
    pairs = [(b"a", 5.0), (b"b", 5.5), (b"c", -1.0), (b"d", 0.0), (b"e", float("inf"))]
    assert _impl.ext.partition_by_deadline(pairs, 5) == (["a", "d"], ["b", "c", "e"])


@pytest.mark.parametrize(
    ("scored", "error"),
    [
        ([(0, 10**400)], TypeError),
        ([(b"a", 10**400)], OverflowError),
        ([(b"a", "1")], TypeError),
    ],
)
def test_partition_checks_score_type_member_then_value(
    scored: list[Any], error: type[Exception]
) -> None:
    for function in (
        c_function("partition_by_deadline"),
        _reference.partition_by_deadline,
    ):
        with pytest.raises(error):
            function(scored, 1.0)


def test_c_functions_do_not_leak() -> None:
    members = [b"job-%d:exec" % n for n in range(200)]
    pairs = [(member, float(n)) for n, member in enumerate(members)]
    ids = [f"job-{n}" for n in range(200)]

    def exercise() -> None:
        c_function("split_members")(members)
        c_function("member_job_ids")(members)
        c_function("validate_job_ids")(ids)
        c_function("partition_by_deadline")(pairs, 100)
        for bad in ([b"a:b:c"], [1], [b"\xff"]):
            try:
                c_function("split_members")(bad)
            except (ValueError, TypeError):
                pass
            else:
                raise AssertionError(f"{bad!r} was accepted")
        for scored in ([(b"a", 10**400)], [(0, 1.0)], [(b"\xff", 1.0)]):
            try:
                c_function("partition_by_deadline")(scored, 100)
            except (OverflowError, TypeError, UnicodeDecodeError):
                pass
            else:
                raise AssertionError(f"{scored!r} was accepted")

    def traced_growth(rounds: int) -> int:
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for _ in range(rounds):
                exercise()
            return tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()

    for _ in range(50):
        exercise()
    # A leak grows with the number of calls; noise does not.
    small, large = traced_growth(200), traced_growth(2000)
    assert large < 4 * max(small, 4096), (
        f"{small} bytes after 200 rounds, {large} after 2000"
    )
    assert sys.getrefcount(members[0]) < 10
