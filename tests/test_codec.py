"""The codec functions, C extension and pure-Python twin side by side.

Tests that check one implementation's behaviour run once per implementation
(ids ``c`` and ``py``); differential tests (id ``both``) compare the C
extension with the twin on Hypothesis-generated input, errors included; the
twin is anchored to stock RQ on valid input. No Redis server is needed: jobs
are built with a client that never connects.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import pickle
import string
import sys
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta, timezone
from types import ModuleType
from typing import Any

import pytest
import rq.serializers
import rq.utils
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from redis import Redis
from redis.connection import Encoder
from rq.exceptions import NoSuchJobError
from rq.job import UNEVALUATED, Callback, Job, JobStatus, Retry

from rqfast import _impl
from rqfast import _reference as py
from rqfast.exceptions import JobHashError

c: ModuleType | None = _impl.c_ext  # type: ignore[assignment]
IMPLEMENTATIONS = {"c": c, "py": py}
CONNECTION = Redis()  # never connects: nothing here talks to Redis

settings.register_profile(
    "codec",
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
# RQFAST_CODEC_EXAMPLES scales the differential tests up for a longer hunt.
SCALE = int(os.environ.get("RQFAST_CODEC_EXAMPLES", "600"))
FEW = settings(settings.get_profile("codec"), max_examples=max(1, SCALE // 4))
MANY = settings(settings.get_profile("codec"), max_examples=SCALE)


@pytest.fixture(autouse=True, params=list(IMPLEMENTATIONS))
def implementation(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test on one implementation (overrides the suite-wide fixture)."""
    if request.param == "c" and c is None:
        pytest.skip("the C extension is not built")
    previous = _impl.name
    _impl.use(request.param)
    try:
        yield request.param
    finally:
        _impl.use(previous)


@pytest.fixture
def mod(implementation: str) -> ModuleType:
    """The implementation under test."""
    module = IMPLEMENTATIONS[implementation]
    assert module is not None
    return module


# Differential tests use both implementations at once: one run, id "both".
both = pytest.mark.parametrize("implementation", ["both"])


def needs_c() -> ModuleType:
    if c is None:
        pytest.skip("the C extension is not built")
    return c


def outcome(function: Callable[..., Any], *args: Any) -> tuple[Any, ...]:
    """What a call did: ("ok", value) or ("error", type, message)."""
    try:
        return ("ok", function(*args))
    except Exception as exc:
        return ("error", type(exc), str(exc))


def agree(name: str, *args: Any) -> tuple[Any, ...]:
    """Call C's and the twin's function ``name``; assert equal outcomes."""
    mine = outcome(getattr(needs_c(), name), *args)
    theirs = outcome(getattr(py, name), *args)
    assert mine == theirs, (args, mine, theirs)
    return theirs


def to_redis(mapping: dict[str, Any]) -> dict[bytes, bytes]:
    """Encode a to_dict() mapping the way redis-py writes it to a hash."""
    raw = {}
    for key, value in mapping.items():
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, str):
            data = value.encode()
        elif isinstance(value, int):
            data = repr(int(value)).encode()
        else:
            raise TypeError(type(value))
        raw[key.encode()] = data
    return raw


def full_job() -> Job:
    job = Job.create(
        "os.path.join",
        args=(1, "é"),
        kwargs={"a": [1, 2]},
        connection=CONNECTION,
        result_ttl=500,
        ttl=70,
        failure_ttl=900,
        description="déscription",
        depends_on=["dep-1", "dep-2"],
        timeout=180,
        meta={"progress": 3},
        retry=Retry(3, [1, 5, 60]),
        origin="default",
        group_id="group",
        on_success=Callback("os.path.join", 5),
        on_failure=Callback("os.path.join", 6),
        on_stopped=Callback("os.path.join", 7),
    )
    now = datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=timezone.utc)
    job.enqueued_at = now
    job.started_at = now + timedelta(seconds=1)
    job.ended_at = now + timedelta(seconds=2)
    job.last_heartbeat = now + timedelta(seconds=1, microseconds=5)
    job.worker_name = "worker-1"
    job._status = JobStatus.FAILED
    job._result = {"answer": 42}
    job._exc_info = "Traceback: boom ✗"
    job.number_of_retries = 1
    job.repeats_left = 2
    job.repeat_intervals = [10, 20]
    job.allow_dependency_failures = True
    job.enqueue_at_front = False
    job.enqueue_at_front_on_retry = True
    return job


def full_hash() -> dict[bytes, bytes]:
    return to_redis(full_job().to_dict())


# Timestamps


VALID_TIMESTAMPS = [
    ("2024-01-02T03:04:05.123456Z", datetime(2024, 1, 2, 3, 4, 5, 123456)),
    ("2024-01-02T03:04:05Z", datetime(2024, 1, 2, 3, 4, 5)),
    ("2024-1-2T3:4:5Z", datetime(2024, 1, 2, 3, 4, 5)),
    ("2024-12-31t23:59:59.9z", datetime(2024, 12, 31, 23, 59, 59, 900000)),
    ("2024-02- 9T00:00:00.000001Z", datetime(2024, 2, 9, 0, 0, 0, 1)),
    ("2024-02-29T00:00:00Z", datetime(2024, 2, 29)),
    ("0001-01-01T00:00:00Z", datetime(1, 1, 1)),
    ("9999-12-31T23:59:59.999999Z", datetime(9999, 12, 31, 23, 59, 59, 999999)),
    (
        "\uff12\uff10\uff12\uff14-01-1\u0663T0\u0664:5\u0665:0\u0669Z",
        datetime(2024, 1, 13, 4, 55, 9),
    ),
    ("2024-01-02T\u0669:04:05Z", datetime(2024, 1, 2, 9, 4, 5)),
]

INVALID_TIMESTAMPS = [
    "",
    "2024-01-02",
    "2024-01-02T03:04:05",
    "2024-01-02T03:04:05.Z",
    "2024-01-02T03:04:05.1234567Z",
    "2024-01-02T03:04:05.12345\u0666Z",
    "2024-01-02T03:04:05+00:00",
    "2024-01-02 03:04:05Z",
    " 2024-01-02T03:04:05Z",
    "2024-01-02T03:04:05Z ",
    "2024-13-02T03:04:05Z",
    "2024-00-02T03:04:05Z",
    "2024-0\u0661-02T03:04:05Z",
    "2024-01-02T03:04:\u06609Z",
    "2024-01-00T03:04:05Z",
    "2024-01-32T03:04:05Z",
    "2024-01-3\u0660T03:04:05Z",
    "2023-02-29T03:04:05Z",
    "2024-01-02T24:04:05Z",
    "2024-01-02T2\u0663:04:05Z",
    "2024-01-02T03:60:05Z",
    "2024-01-02T03:04:60Z",
    "2024-01-02T03:04:61Z",
    "0000-01-02T03:04:05Z",
    "02024-01-02T03:04:05Z",
    "2024-01-  2T03:04:05Z",
    "2024-01- 10T03:04:05Z",
    "2024-01-02T03:04:05ZZ",
    "2024-01-02T03:04:05\x00Z",
    "x" * 100,
]


@pytest.mark.parametrize(("text", "expected"), VALID_TIMESTAMPS)
def test_utcparse_valid(mod: ModuleType, text: str, expected: datetime) -> None:
    parsed = mod.utcparse(text)
    assert parsed == expected.replace(tzinfo=timezone.utc)
    assert parsed.tzinfo is timezone.utc
    assert type(parsed) is datetime


@pytest.mark.parametrize("text", INVALID_TIMESTAMPS)
def test_utcparse_invalid(mod: ModuleType, text: str) -> None:
    with pytest.raises(ValueError) as info:
        mod.utcparse(text)
    assert str(info.value) == f"invalid timestamp {text[:40]!r}"


@pytest.mark.parametrize("value", [b"2024-01-02T03:04:05Z", None, 5])
def test_utcparse_wrong_type(mod: ModuleType, value: Any) -> None:
    with pytest.raises(TypeError) as info:
        mod.utcparse(value)
    assert str(info.value) == (
        f"utcparse() argument must be str, not {type(value).__name__}"
    )


@pytest.mark.parametrize(
    "value",
    [
        datetime(2024, 1, 2, 3, 4, 5, 6),
        datetime(2024, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=5))),
        datetime(1000, 1, 1),
        datetime(999, 12, 31, 23, 59, 59, 999999),
        datetime(1, 1, 1),
        datetime(9999, 12, 31, 23, 59, 59, 999999),
        date(2024, 1, 2),
    ],
)
def test_utcformat(mod: ModuleType, value: Any) -> None:
    assert mod.utcformat(value) == value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def test_utcformat_subclass_uses_its_strftime(mod: ModuleType) -> None:
    class Stamp(datetime):
        def strftime(self, fmt: str) -> str:
            return "custom " + fmt

    assert mod.utcformat(Stamp(2024, 1, 1)) == "custom %Y-%m-%dT%H:%M:%S.%fZ"


def test_utcformat_wrong_type(mod: ModuleType) -> None:
    with pytest.raises(AttributeError, match="strftime"):
        mod.utcformat(5)


# Retry intervals


@pytest.mark.parametrize(
    ("count", "intervals", "expected"),
    [
        (0, None, 0),
        (3, [], 0),
        (3, (), 0),
        (0, 7, 7),
        (5, 0, 0),
        (0, [1, 2, 3], 1),
        (2, [1, 2, 3], 3),
        (10**30, [1, 2, 3], 3),
        (-1, [1, 2, 3], 3),
        (-3, (1, 2, 3), 1),
        (True, [4, 5], 5),
    ],
)
def test_get_interval(
    mod: ModuleType, count: int, intervals: Any, expected: int
) -> None:
    assert mod.get_interval(count, intervals) == expected


@pytest.mark.parametrize(
    ("count", "intervals", "error", "message"),
    [
        (-4, [1, 2, 3], IndexError, "list index out of range"),
        (-4, (1, 2, 3), IndexError, "tuple index out of range"),
        (-(10**30), [1], IndexError, "cannot fit 'int' into an index-sized integer"),
        ("1", [1], TypeError, "get_interval() count must be int, not str"),
        (
            1,
            "12",
            TypeError,
            "get_interval() intervals must be int, list, tuple or None, not str",
        ),
    ],
)
def test_get_interval_errors(
    mod: ModuleType, count: Any, intervals: Any, error: type, message: str
) -> None:
    with pytest.raises(error) as info:
        mod.get_interval(count, intervals)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("intervals", "left", "expected"),
    [
        (None, 0, 0),
        ([], 0, 0),
        ([1, 2, 3], 1, 3),
        ([1, 2, 3], 3, 1),
        ([1, 2, 3], 10, 1),
        ([1, 2, 3], 10**40, 1),
        ((4, 5), 1, 5),
    ],
)
def test_retry_interval(
    mod: ModuleType, intervals: Any, left: int, expected: int
) -> None:
    assert mod.retry_interval(intervals, left) == expected


@pytest.mark.parametrize(
    ("intervals", "left", "error", "message"),
    [
        ([1], 0, ValueError, "retries_left must be at least 1, not 0"),
        (
            [1],
            -(10**30),
            ValueError,
            f"retries_left must be at least 1, not {-(10**30)}",
        ),
        ([1], False, ValueError, "retries_left must be at least 1, not False"),
        (
            [1],
            None,
            TypeError,
            "retry_interval() retries_left must be int, not NoneType",
        ),
        (
            5,
            1,
            TypeError,
            "retry_interval() intervals must be list, tuple or None, not int",
        ),
    ],
)
def test_retry_interval_errors(
    mod: ModuleType, intervals: Any, left: Any, error: type, message: str
) -> None:
    with pytest.raises(error) as info:
        mod.retry_interval(intervals, left)
    assert str(info.value) == message


def test_wrong_argument_counts(mod: ModuleType) -> None:
    for function in (mod.get_interval, mod.retry_interval):
        with pytest.raises(TypeError):
            function(1)
        with pytest.raises(TypeError):
            function(1, [1], 2)
    with pytest.raises(TypeError):
        mod.encode_job_hash(full_job(), b"")
    with pytest.raises(TypeError):
        mod.encode_job_hash(full_job(), b"", None, nonsense=True)


# Decoding


def test_decode_matches_stock_restore(mod: ModuleType) -> None:
    raw = full_hash()
    attrs, result, meta, webhooks = mod.decode_job_hash(raw)
    stock = Job("x", connection=CONNECTION)
    stock.restore(raw)
    for name, value in attrs.items():
        assert stock.__dict__[name] == value, name
        assert type(stock.__dict__[name]) is type(value), name
    assert result == raw[b"result"]
    assert meta == raw[b"meta"]
    assert webhooks is None
    assert attrs["_exc_info"] == "Traceback: boom ✗"
    assert attrs["_status"] is JobStatus.FAILED


def test_decode_key_order_and_str_keys(mod: ModuleType) -> None:
    raw = full_hash()
    attrs = mod.decode_job_hash(raw)[0]
    text_keys = {key.decode(): value for key, value in raw.items()}
    assert mod.decode_job_hash(text_keys)[0] == attrs
    assert list(attrs) == list(py.decode_job_hash(raw)[0])


def test_decode_minimal_hash(mod: ModuleType) -> None:
    before = datetime.now(timezone.utc)
    attrs, result, meta, webhooks = mod.decode_job_hash({b"data": b"raw"})
    assert before <= attrs.pop("created_at") <= datetime.now(timezone.utc)
    assert attrs == {
        "_data": b"raw",
        "origin": "",
        "worker_name": None,
        "description": None,
        "group_id": None,
        "enqueued_at": None,
        "started_at": None,
        "ended_at": None,
        "last_heartbeat": None,
        "timeout": None,
        "result_ttl": None,
        "failure_ttl": None,
        "ttl": None,
        "number_of_retries": None,
        "retries_left": None,
        "repeats_left": None,
        "_status": JobStatus.CREATED,
        "_dependency_ids": [],
        "allow_dependency_failures": None,
        "enqueue_at_front": None,
        "enqueue_at_front_on_retry": False,
    }
    assert (result, meta, webhooks) == (None, None, None)


def test_decode_empty_values_and_mapping(mod: ModuleType) -> None:
    class Hash(dict[bytes, bytes]):
        pass

    raw = Hash(
        {
            b"data": zlib.compress(b"payload"),
            b"dependency_id": b"parent",
            b"result": b"",
            b"meta": b"",
            b"webhooks": b"[]",
            b"retry_intervals": b"",
            b"success_callback_name": b"",
            b"unknown": b"anything",
            "\udcff".encode("utf-8", "surrogatepass"): b"x",
        }
    )
    attrs, result, meta, webhooks = mod.decode_job_hash(raw)
    assert attrs["_data"] == b"payload"
    assert attrs["_dependency_ids"] == ["parent"]
    assert "retry_intervals" not in attrs
    assert "_success_callback_name" not in attrs
    assert (result, meta, webhooks) == (None, None, b"[]")


def test_decode_broken_zlib_falls_back_to_raw(mod: ModuleType) -> None:
    broken = zlib.compress(b"payload")[:-3]
    attrs = mod.decode_job_hash({b"data": broken, b"exc_info": b"plain text"})[0]
    assert attrs["_data"] == broken
    assert attrs["_exc_info"] == "plain text"


@pytest.mark.parametrize("kind", range(7))
@pytest.mark.parametrize("size", [0, 1, 100, 8191, 8192, 8193, 100_000])
def test_decode_inflates_as_zlib_decompress(
    mod: ModuleType, kind: int, size: int
) -> None:
    payload = bytes(ord("a") + i * 7 % 26 for i in range(size))
    stored = zlib_variant(payload, kind)
    try:
        expected = zlib.decompress(stored)
    except zlib.error:
        expected = stored
    inflated = expected is not stored
    # A stream that is not zlib is kept as it is, which is not UTF-8 text.
    raw = {b"data": stored, b"exc_info": stored if inflated else b"text"}
    assert mod.decode_job_hash(raw)[0]["_data"] == expected
    state: dict[str, Any] = {}
    mod.decode_job_state(raw, state)
    assert state["_data"] == expected
    assert state["_rqfast_zdata"] == ((expected, stored) if inflated else None)
    assert state["_rqfast_zexc"] == ((expected.decode(), stored) if inflated else None)


def test_decode_state(mod: ModuleType) -> None:
    raw = {
        **full_hash(),
        b"rqfast_retry": b'{"max": 3}',
        b"rqfast_attempts": b"zz",
    }
    state: dict[str, Any] = {"_func_name": "f", "id": "kept", "_result": 5}
    rest = mod.decode_job_state(raw, state)
    attrs, *expected_rest = mod.decode_job_hash(raw)
    assert rest == tuple(expected_rest)
    assert state["id"] == "kept"
    assert state["_result"] == 5
    for name, value in attrs.items():
        if name != "created_at":
            assert state[name] == value, name
    for name in ("_func_name", "_instance", "_args", "_kwargs"):
        assert state[name] is UNEVALUATED
    assert state["_rqfast_policy"] is None
    assert state["_rqfast_policy_raw"] == b'{"max": 3}'
    assert state["_rqfast_attempts_raw"] == b"zz"
    assert state["_rqfast_zdata"] == (attrs["_data"], raw[b"data"])
    assert state["_rqfast_zexc"] == (attrs["_exc_info"], raw[b"exc_info"])


def test_decode_state_uncompressed_and_absent(mod: ModuleType) -> None:
    state: dict[str, Any] = {"_rqfast_zexc": ("old", b"z"), "_exc_info": "old"}
    assert mod.decode_job_state({b"data": b"raw"}, state) == (None, None, None)
    assert state["_data"] == b"raw"
    assert state["_rqfast_zdata"] is None
    assert state["_rqfast_zexc"] == ("old", b"z")  # exc_info absent: kept
    assert state["_rqfast_policy_raw"] is None
    assert state["_rqfast_attempts_raw"] is None
    mod.decode_job_state({b"data": b"raw", b"exc_info": b"plain"}, state)
    assert state["_exc_info"] == "plain"
    assert state["_rqfast_zexc"] is None


def test_decode_state_errors_write_nothing(mod: ModuleType) -> None:
    state: dict[str, Any] = {"_data": b"old"}
    with pytest.raises(JobHashError, match="ttl"):
        mod.decode_job_state({b"data": zlib.compress(b"new"), b"ttl": b"x"}, state)
    with pytest.raises(NoSuchJobError):
        mod.decode_job_state({b"status": b"queued"}, state)
    assert state == {"_data": b"old"}
    with pytest.raises(TypeError, match="state must be a dict, not list"):
        mod.decode_job_state({b"data": b""}, [])


def test_decode_missing_data(mod: ModuleType) -> None:
    with pytest.raises(NoSuchJobError, match="job hash has no 'data' field"):
        mod.decode_job_hash({b"status": b"queued"})
    with pytest.raises(NoSuchJobError):
        mod.decode_job_hash({})


LONG = b"9" * 65


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("created_at", b"yesterday", "invalid timestamp b'yesterday'"),
        (
            "started_at",
            b"2024-02-30T00:00:00Z",
            "invalid timestamp b'2024-02-30T00:00:00Z'",
        ),
        ("ended_at", b"\xff2024", "invalid timestamp b'\\xff2024'"),
        ("enqueued_at", b"1" * 65, "timestamp longer than 64 bytes"),
        ("timeout", b"1.5", "invalid integer b'1.5'"),
        ("timeout", b"1__0", "invalid integer b'1__0'"),
        ("ttl", b"0x10", "invalid integer b'0x10'"),
        ("result_ttl", LONG, f"invalid integer {LONG[:40]!r}"),
        ("retries_left", b"\xd9\xa1", "invalid integer b'\\xd9\\xa1'"),
        ("success_callback_timeout", b"", "invalid integer b''"),
        ("enqueue_at_front", b"", "invalid integer b''"),
        ("allow_dependency_failures", b"yes", "invalid integer b'yes'"),
        ("origin", b"\xc3(", "not valid UTF-8: b'\\xc3('"),
        ("worker_name", b"\xed\xa0\x80", "not valid UTF-8: b'\\xed\\xa0\\x80'"),
        ("status", b"sleeping", "unknown status b'sleeping'"),
        ("status", b"\xff", "not valid UTF-8: b'\\xff'"),
        ("failure_callback_name", b"\x80", "not valid UTF-8: b'\\x80'"),
        ("dependency_id", b"\x80", "not valid UTF-8: b'\\x80'"),
        (
            "retry_intervals",
            b"[1, 2.0]",
            "expected a JSON list of integers: b'[1, 2.0]'",
        ),
        (
            "retry_intervals",
            b"[1, true]",
            "expected a JSON list of integers: b'[1, true]'",
        ),
        (
            "repeat_intervals",
            b"[9223372036854775808]",
            "expected a JSON list of integers: b'[9223372036854775808]'",
        ),
        (
            "retry_intervals",
            b"[" * 100000,
            f"expected a JSON list of integers: {b'[' * 40!r}",
        ),
        ("retry_intervals", b"[1" + b",1" * 65536 + b"]", None),
        (
            "retry_intervals",
            b" " * (1 << 20) + b"[]",
            "JSON list longer than 1048576 bytes",
        ),
        (
            "dependency_ids",
            b'["a", 1]',
            "expected a JSON list of strings: b'[\"a\", 1]'",
        ),
        (
            "dependency_ids",
            b'["a\tb"]',
            "expected a JSON list of strings: b'[\"a\\tb\"]'",
        ),
        ("dependency_ids", b'"a"', "expected a JSON list of strings: b'\"a\"'"),
        (
            "dependency_ids",
            b'["\\x"]',
            "expected a JSON list of strings: b'[\"\\\\x\"]'",
        ),
        (
            "dependency_ids",
            b'["\xff"]',
            "expected a JSON list of strings: b'[\"\\xff\"]'",
        ),
        ("exc_info", zlib.compress(b"\xff"), "not valid UTF-8: b'\\xff'"),
    ],
)
def test_decode_bad_field(
    mod: ModuleType, field: str, value: bytes, reason: str | None
) -> None:
    raw = full_hash()
    raw.pop(b"dependency_ids")
    raw[field.encode()] = value
    with pytest.raises(JobHashError) as info:
        mod.decode_job_hash(raw)
    assert info.value.field == field
    if reason is not None:
        assert info.value.reason == reason
        assert str(info.value) == f"job hash field {field!r}: {reason}"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({b"data": "text"}, "job hash field 'data': expected bytes, not str"),
        ({b"other\xff": 5}, "job hash field 'other\\udcff': expected bytes, not int"),
        ({"x": None}, "job hash field 'x': expected bytes, not NoneType"),
        ({5: b"data"}, "job hash keys must be bytes or str, not int"),
    ],
)
def test_decode_wrong_types(mod: ModuleType, raw: dict[Any, Any], message: str) -> None:
    with pytest.raises(TypeError) as info:
        mod.decode_job_hash(raw)
    assert str(info.value) == message


def test_decode_not_a_mapping(mod: ModuleType) -> None:
    with pytest.raises(AttributeError):
        mod.decode_job_hash([(b"data", b"x")])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b" [ ] ", []),
        (
            b"[-0, 0, -9223372036854775808, 9223372036854775807]",
            [0, 0, -(2**63), 2**63 - 1],
        ),
        (b"\t\n\r[1,2\n]\r\n", [1, 2]),
    ],
)
def test_decode_int_lists(mod: ModuleType, text: bytes, expected: list[int]) -> None:
    attrs = mod.decode_job_hash({b"data": b"", b"retry_intervals": text})[0]
    assert attrs["retry_intervals"] == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b'["a", "b"]', ["a", "b"]),
        (
            b'["\\ud83d\\ude00", "\\ud83d", "\\ude00x", "\\ud83d\\u0041"]',
            ["😀", "\ud83d", "\ude00x", "\ud83dA"],
        ),
        (b'["\\"\\\\\\/\\b\\f\\n\\r\\t", "\\u00E9\\u00e9"]', ['"\\/\b\f\n\r\t', "éé"]),
        ('["é✓", "\x7f"]'.encode(), ["é✓", "\x7f"]),
    ],
)
def test_decode_str_lists(mod: ModuleType, text: bytes, expected: list[str]) -> None:
    attrs = mod.decode_job_hash({b"data": b"", b"dependency_ids": text})[0]
    assert attrs["_dependency_ids"] == expected
    assert attrs["_dependency_ids"] == json.loads(text)


def test_decode_results_are_not_decoded(mod: ModuleType) -> None:
    raw = {b"data": b"x", b"result": b"\x80r", b"meta": b"m", b"webhooks": b"[{}]"}
    assert mod.decode_job_hash(raw)[1:] == (b"\x80r", b"m", b"[{}]")


# Encoding


@pytest.mark.parametrize("include_meta", [True, False])
@pytest.mark.parametrize("include_result", [True, False])
def test_encode_matches_stock(
    mod: ModuleType, include_meta: bool, include_result: bool
) -> None:
    job = full_job()
    stock = job.to_dict(include_meta=include_meta, include_result=include_result)
    exc = zlib.compress(str(job._exc_info).encode())
    mine = mod.encode_job_hash(
        job, zlib.compress(job.data), exc, include_meta, include_result
    )
    assert mine == stock
    assert list(mine) == list(stock)
    keyword = mod.encode_job_hash(
        job,
        zlib.compress(job.data),
        exc,
        include_result=include_result,
        include_meta=include_meta,
    )
    assert keyword == stock


def test_encode_minimal_job(mod: ModuleType) -> None:
    job = Job.create("os.path.join", connection=CONNECTION)
    job.created_at = None
    before = datetime.now(timezone.utc).replace(tzinfo=None)
    obj = mod.encode_job_hash(job, b"z", None)
    created = datetime.strptime(obj.pop("created_at"), "%Y-%m-%dT%H:%M:%S.%fZ")
    assert before <= created <= datetime.now(timezone.utc).replace(tzinfo=None)
    job.created_at = datetime(2020, 1, 1)
    stock = job.to_dict()
    stock.pop("created_at")
    assert obj == {**stock, "data": b"z"}


def test_encode_fallbacks(mod: ModuleType) -> None:
    job = full_job()
    job.retry_intervals = [1, 2**70, True]
    job.repeat_intervals = []
    job._dependency_ids = ['quote"d', "é", "tab\t"]
    job.created_at = datetime(999, 1, 1)
    job._result = lambda: None  # pickle fails: the placeholder is written
    exc = b"exc"
    obj = mod.encode_job_hash(job, b"z", exc)
    assert obj["retry_intervals"] == json.dumps(job.retry_intervals)
    assert obj["repeat_intervals"] == "[]"
    assert obj["dependency_ids"] == json.dumps(job._dependency_ids)
    assert obj["dependency_id"] == 'quote"d'
    assert obj["created_at"] == datetime(999, 1, 1).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert obj["result"] == "Unserializable return value"
    assert obj["exc_info"] == b"exc"


def test_encode_webhooks(mod: ModuleType) -> None:
    class Hook:
        def __init__(self, url: str) -> None:
            self.url = url

        def to_dict(self) -> dict[str, str]:
            return {"url": self.url}

    job = full_job()
    job.webhooks = [Hook("http://a"), Hook("http://é")]  # type: ignore[list-item]
    obj = mod.encode_job_hash(job, b"z", None)
    assert obj["webhooks"] == json.dumps([{"url": "http://a"}, {"url": "http://é"}])


def test_encode_errors_propagate(mod: ModuleType) -> None:
    class Broken:
        def dumps(self, value: Any) -> bytes:
            raise KeyError("meta")

    job = full_job()
    job.serializer = Broken()
    with pytest.raises(KeyError):
        mod.encode_job_hash(job, b"z", None)
    job = full_job()
    job.retry_intervals = [float("nan"), {1}]
    with pytest.raises(TypeError):
        mod.encode_job_hash(job, b"z", None)
    job = full_job()
    del job.__dict__["timeout"]
    with pytest.raises(AttributeError):
        mod.encode_job_hash(job, b"z", None)


# Encoding as rqfast's Job.to_dict does

#: Stock RQ's own to_dict, taken before anything could patch it.
stock_to_dict = Job.to_dict


def fresh_state(job: Job) -> Job:
    """Forget the compressed forms kept with a job."""
    for name in ("_rqfast_zdata", "_rqfast_zexc"):
        job.__dict__.pop(name, None)
    return job


def test_encode_state_matches_stock(mod: ModuleType) -> None:
    job = fresh_state(full_job())
    for include_meta, include_result in [(True, True), (False, True), (True, False)]:
        stock = stock_to_dict(job, include_meta, include_result)
        mine = mod.encode_job_state(job, include_meta, include_result)
        assert mine == stock
        assert list(mine) == list(stock)
    keyword = mod.encode_job_state(job, include_result=False, include_meta=False)
    assert keyword == stock_to_dict(job, False, False)


def test_encode_state_keeps_compressed_forms(mod: ModuleType) -> None:
    job = fresh_state(full_job())
    data, exc_info = job.data, job._exc_info
    first = mod.encode_job_state(job)
    assert job.__dict__["_rqfast_zdata"] == (data, first["data"])
    assert job.__dict__["_rqfast_zdata"][0] is data
    assert job.__dict__["_rqfast_zexc"] == (exc_info, first["exc_info"])
    assert zlib.decompress(first["exc_info"]).decode() == exc_info

    # A kept form is reused for the very same object, whatever it holds.
    job.__dict__["_rqfast_zdata"] = (data, b"kept")
    job.__dict__["_rqfast_zexc"] = (exc_info, b"kept too")
    again = mod.encode_job_state(job)
    assert (again["data"], again["exc_info"]) == (b"kept", b"kept too")

    # A new payload, or a kept form that is not a pair, is compressed anew.
    job.args = (2, "new")
    job.__dict__["_rqfast_zexc"] = [exc_info, b"kept too"]
    new = mod.encode_job_state(job)
    assert new["data"] == zlib.compress(job.data)
    assert new["exc_info"] == first["exc_info"]
    assert job.__dict__["_rqfast_zexc"] == (exc_info, first["exc_info"])

    # Without results, exc_info is neither written nor compressed.
    job.__dict__.pop("_rqfast_zexc")
    assert "exc_info" not in mod.encode_job_state(job, include_result=False)
    assert "_rqfast_zexc" not in job.__dict__


class Policy:
    def to_json(self) -> str:
        return '{"max": 3}'


def test_encode_state_rqfast_fields(mod: ModuleType) -> None:
    job = fresh_state(full_job())
    plain = mod.encode_job_state(job)
    assert "rqfast_retry" not in plain and "rqfast_attempts" not in plain
    job.__dict__.update(_rqfast_policy=None, _rqfast_policy_raw=b"")
    job.__dict__["_rqfast_attempts_raw"] = b""
    assert mod.encode_job_state(job) == plain
    job.__dict__.update(_rqfast_policy_raw=b"raw", _rqfast_attempts_raw=b"z")
    mapping = mod.encode_job_state(job)
    assert list(mapping)[-2:] == ["rqfast_retry", "rqfast_attempts"]
    assert (mapping["rqfast_retry"], mapping["rqfast_attempts"]) == (b"raw", b"z")
    job.__dict__["_rqfast_policy"] = Policy()
    assert mod.encode_job_state(job)["rqfast_retry"] == '{"max": 3}'


def test_encode_state_errors(mod: ModuleType) -> None:
    job = fresh_state(full_job())
    job._data = "text"  # not bytes: Python's zlib says so
    with pytest.raises(TypeError) as info:
        mod.encode_job_state(job)
    with pytest.raises(TypeError) as expected:
        zlib.compress("text")  # type: ignore[call-overload]
    assert str(info.value) == str(expected.value)
    with pytest.raises(AttributeError):
        mod.encode_job_state(object())
    job = fresh_state(full_job())
    job.__dict__ = RawHash(job.__dict__)  # type: ignore[assignment]
    with pytest.raises(TypeError) as info:
        mod.encode_job_state(job)
    assert str(info.value) == "job.__dict__ must be a plain dict, not RawHash"
    expected = {**stock_to_dict(job), "data": b"z"}
    del expected["exc_info"]
    assert mod.encode_job_hash(job, b"z", None) == expected
    job = fresh_state(full_job())
    job.__dict__["_rqfast_policy"] = object()
    with pytest.raises(AttributeError, match="to_json"):
        mod.encode_job_state(job)
    job = fresh_state(full_job())
    job._exc_info = "\udcff"
    with pytest.raises(UnicodeEncodeError):
        mod.encode_job_state(job)
    with pytest.raises(TypeError):
        mod.encode_job_state()
    with pytest.raises(TypeError):
        mod.encode_job_state(job, True, True, True)
    with pytest.raises(TypeError):
        mod.encode_job_state(job, include_meta=True, nonsense=True)
    with pytest.raises(TypeError):
        mod.encode_job_state(job, True, include_meta=True)


class Shadowed(Job):
    """A job whose attributes are partly properties and class attributes."""

    worker_name = property(  # type: ignore[assignment]
        lambda self: "from a property", lambda self, value: None
    )

    @property
    def timeout(self) -> int:  # type: ignore[override]
        return 99

    @timeout.setter
    def timeout(self, value: int) -> None:
        pass


class Stored:
    """A data descriptor that keeps its value under another name."""

    def __get__(self, job: Any, owner: type) -> Any:
        return None if job is None else job.__dict__.get("_stored")

    def __set__(self, job: Any, value: Any) -> None:
        job.__dict__["_stored"] = value


class Described(Job):
    group_id = Stored()  # type: ignore[assignment]


class Looked(Job):
    def __getattribute__(self, name: str) -> Any:
        if name == "description":
            return "looked up"
        return super().__getattribute__(name)


class Missing(Job):
    def __getattr__(self, name: str) -> Any:
        if name == "ttl":
            return 321
        raise AttributeError(name)


def job_of(cls: type[Job]) -> Job:
    job = cls.create("os.path.join", args=(1,), connection=CONNECTION, ttl=5)
    job.__dict__.update(worker_name="in the dict", timeout=7, group_id="in dict")
    job.__dict__["description"] = "in the dict"
    return fresh_state(job)


@pytest.mark.parametrize("cls", [Job, Shadowed, Described, Looked, Missing])
def test_encode_reads_attributes_as_getattr(mod: ModuleType, cls: type[Job]) -> None:
    job = job_of(cls)
    if cls is Missing:
        del job.__dict__["ttl"]
    job.__dict__["_stored"] = "stored"
    for _ in range(2):  # the second time from what was learnt of the type
        mine = mod.encode_job_state(job)
        assert mine == stock_to_dict(job)
        assert list(mine) == list(stock_to_dict(job))
    if cls is Shadowed:
        assert (mine["worker_name"], mine["timeout"]) == ("from a property", 99)
    if cls is Described:
        assert mine["group_id"] == "stored"
    if cls is Looked:
        assert mine["description"] == "looked up"
    if cls is Missing:
        assert mine["ttl"] == 321


def test_encode_notices_a_changed_type(mod: ModuleType) -> None:
    class Later(Job):
        pass

    class Child(Later):
        pass

    job = job_of(Child)
    assert mod.encode_job_hash(job, b"z", None)["worker_name"] == "in the dict"
    Later.worker_name = property(lambda self: "later")  # type: ignore[assignment]
    assert mod.encode_job_hash(job, b"z", None)["worker_name"] == "later"
    del Later.worker_name
    assert mod.encode_job_hash(job, b"z", None)["worker_name"] == "in the dict"
    job.__class__ = Shadowed
    assert mod.encode_job_hash(job, b"z", None)["timeout"] == 99
    # More job types than are remembered, in turn.
    for cls in [Job, Shadowed, Described, Looked, Missing, Child] * 2:
        job = job_of(cls)
        if cls is Missing:
            del job.__dict__["ttl"]
        assert mod.encode_job_state(job) == stock_to_dict(job)


class Jsonish:
    @staticmethod
    def dumps(value: Any) -> bytes:
        return json.dumps(value).encode()

    @staticmethod
    def loads(value: bytes) -> Any:
        return json.loads(value)


@pytest.mark.parametrize(
    "serializer",
    [
        Jsonish,
        rq.serializers.JSONSerializer,
        functools.partial(pickle.dumps, protocol=2),
        functools.partial(pickle.dumps, protocol=pickle.HIGHEST_PROTOCOL),
    ],
)
def test_encode_custom_serializer(mod: ModuleType, serializer: Any) -> None:
    job = full_job()
    if callable(serializer) and not isinstance(serializer, type):
        # A serializer whose dumps is a partial that is not RQ's own.
        serializer = type("Partial", (), {"dumps": serializer, "loads": pickle.loads})
    job.serializer = serializer
    mine = mod.encode_job_state(fresh_state(job))
    assert mine == stock_to_dict(job)
    assert mine["meta"] == serializer.dumps(job.meta)


def test_encode_default_serializer_changed(mod: ModuleType) -> None:
    default = rq.serializers.DefaultSerializer
    job = full_job()
    assert job.serializer is default
    keywords = default.dumps.keywords
    keywords["protocol"] = 2
    try:
        mine = mod.encode_job_state(fresh_state(job))
        assert mine["meta"] == pickle.dumps(job.meta, protocol=2)
        assert mine == stock_to_dict(job)
    finally:
        keywords["protocol"] = pickle.HIGHEST_PROTOCOL
    assert mod.encode_job_state(job)["meta"] == pickle.dumps(job.meta, protocol=5)


def payloads() -> list[bytes]:
    limit = 64 * 1024
    text = b"".join(b"%d:%d," % (i, i * i % 97) for i in range(20000))
    noise = bytes((i * 2654435761 >> 7) & 0xFF for i in range(limit + 10))
    return [
        b"",
        b"x",
        text[: limit - 1],
        text[:limit],
        text[: limit + 1],
        noise[:limit],
        noise[: limit + 1],
        zlib.compress(text),
        bytes(limit),
    ]


@pytest.mark.parametrize("data", payloads(), ids=lambda d: str(len(d)))
def test_compress_is_zlib_compress(mod: ModuleType, data: bytes) -> None:
    assert mod.compress(data) == zlib.compress(data)
    assert mod.compress(data) == zlib.compress(data)  # the kept stream again


@pytest.mark.parametrize("data", [bytearray(b"abc"), memoryview(b"abc"), "abc", 5])
def test_compress_other_types(mod: ModuleType, data: Any) -> None:
    assert outcome(mod.compress, data) == outcome(zlib.compress, data)


# Diffing against the hash read


class Text(str):
    """A str whose encode() is its own, as a subclass may define."""

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> bytes:
        return b"own:" + str.encode(self, encoding, errors)


class Blob(bytes):
    pass


class RawHash(dict[bytes, bytes]):
    pass


class Stringly:
    """A value whose str() is given, or raises."""

    def __init__(self, text: Any) -> None:
        self.text = text

    def __str__(self) -> Any:
        if isinstance(self.text, Exception):
            raise self.text
        return self.text


def sent_hash(mapping: dict[str, Any]) -> dict[bytes, bytes]:
    """The hash HGETALL returns after redis-py's HSET of ``mapping``."""
    encoder = Encoder("utf-8", "strict", False)
    return {encoder.encode(k): encoder.encode(v) for k, v in mapping.items()}


def test_changed_fields_keeps_what_differs(mod: ModuleType) -> None:
    value = ["not", "sent"]
    mapping = {
        "same": "text",
        "other": "text",
        "absent": "x",
        "number": 12,
        "big": 2**80,
        "negative": -(2**63),
        "float": 0.1,
        "flag": True,
        "none": None,
        "raw": b"\x00\xff",
        "blob": Blob(b"b"),
        "status": JobStatus.STARTED,
        "unicode": "é✓",
        "list": value,
        "empty": "",
    }
    raw = {
        b"same": b"text",
        b"other": b"texts",
        b"number": b"12",
        b"big": str(2**80).encode(),
        b"negative": b"-9223372036854775808",
        b"float": b"0.1",
        b"flag": b"1",
        b"none": b"None",
        b"raw": b"\x00\xff",
        b"blob": b"b",
        b"status": b"started",
        b"unicode": "é✓".encode(),
        b"list": b"['not', 'sent']",
        b"empty": b"",
        b"unrelated": b"x",
    }
    changed = mod.changed_fields(mapping, raw)
    assert list(changed) == ["other", "absent", "flag"]
    assert changed["flag"] is True
    raw[b"list"] = b"[]"
    assert mod.changed_fields(mapping, raw)["list"] is value


def test_changed_fields_of_a_saved_job_is_empty(mod: ModuleType) -> None:
    job = full_job()
    mapping = job.to_dict()
    raw = sent_hash(mapping)
    assert mod.changed_fields(mapping, raw) == {}
    job.worker_name = "worker-2"
    job.retries_left = 2
    job.started_at = job.started_at + timedelta(microseconds=1)
    changed = mod.changed_fields(job.to_dict(), raw)
    assert list(changed) == ["started_at", "worker_name", "retries_left"]
    assert changed["retries_left"] == 2


@pytest.mark.parametrize(
    ("value", "read", "changed"),
    [
        (0.5, b"0.5", False),
        (1e16, b"1e+16", False),
        (float("inf"), b"inf", False),
        (float("nan"), b"nan", False),
        (1e16, b"10000000000000000.0", True),
        (0, b"0", False),
        (0, b"00", True),
        (-1, b"-1", False),
        (2**63, b"9223372036854775808", False),
        (False, b"False", False),
        (False, b"0", True),
        ("a", "a", True),  # a decoding connection's str is never bytes
        (b"a", "a", True),
        (Text("a"), b"a", True),
        (Text("a"), b"own:a", False),
        (Stringly(Text("z")), b"own:z", False),
        (Stringly("é"), "é".encode(), False),
        (Blob(b"a"), b"a", False),
    ],
)
def test_changed_fields_sent_bytes(
    mod: ModuleType, value: Any, read: Any, changed: bool
) -> None:
    result = mod.changed_fields({"f": value}, {b"f": read})
    assert result == ({"f": value} if changed else {})


def test_changed_fields_names_are_encoded(mod: ModuleType) -> None:
    raw = {"é".encode(): b"1", b"own:x": b"2", b"x": b"3"}
    assert mod.changed_fields({"é": 1, Text("x"): 2}, raw) == {}
    assert mod.changed_fields({"é": 2, Text("x"): 3}, raw) == {"é": 2, "x": 3}


def test_changed_fields_many_entries(mod: ModuleType) -> None:
    mapping = {f"field{i}": i for i in range(1000)}
    raw = {f"field{i}".encode(): str(i + i % 3).encode() for i in range(1000)}
    changed = mod.changed_fields(mapping, raw)
    assert list(changed) == [f"field{i}" for i in range(1000) if i % 3]


def test_changed_fields_reads_mapping_once(mod: ModuleType) -> None:
    mapping: dict[str, Any] = {}
    raw: dict[bytes, bytes] = {b"a": b"1", b"c": b"3"}

    class Meddler:
        def __str__(self) -> str:
            mapping.clear()
            mapping["z"] = "new"
            raw.clear()
            return "2"

    mapping.update({"a": 1, "b": Meddler(), "c": 3})
    changed = mod.changed_fields(mapping, raw)
    assert list(changed) == ["b", "c"]  # raw was emptied before "c" was read
    assert mapping == {"z": "new"}


@pytest.mark.parametrize(
    ("mapping", "raw", "error", "message"),
    [
        ([("a", 1)], {}, TypeError, "mapping must be a plain dict, not list"),
        (
            OrderedDict(a=1),
            {},
            TypeError,
            "mapping must be a plain dict, not OrderedDict",
        ),
        ({}, None, TypeError, "raw must be a plain dict, not NoneType"),
        ({"a": 1}, RawHash(), TypeError, "raw must be a plain dict, not RawHash"),
        ({"a": 1, b"b": 2}, {}, TypeError, "mapping keys must be str, not bytes"),
        ({3: 1}, {}, TypeError, "mapping keys must be str, not int"),
        ({"a": Stringly(KeyError("gone"))}, {}, KeyError, "'gone'"),
        ({"a": Stringly(5)}, {}, TypeError, "__str__ returned non-string (type int)"),
        ({"a": 10**5000}, {}, ValueError, None),
    ],
)
def test_changed_fields_errors(
    mod: ModuleType, mapping: Any, raw: Any, error: type, message: str | None
) -> None:
    with pytest.raises(error) as info:
        mod.changed_fields(mapping, raw)
    if message is not None:
        assert str(info.value) == message


@pytest.mark.parametrize(
    ("mapping", "text"),
    [
        ({"a": "x\udcff"}, "x\udcff"),
        ({"\ud800b": 1}, "\ud800b"),
        ({"a": Stringly("\ud800")}, "\ud800"),
    ],
)
def test_changed_fields_unencodable_text(
    mod: ModuleType, mapping: dict[str, Any], text: str
) -> None:
    with pytest.raises(UnicodeEncodeError) as info:
        mod.changed_fields(mapping, {})
    with pytest.raises(UnicodeEncodeError) as expected:
        text.encode()
    assert str(info.value) == str(expected.value)


# Hypothesis: C against the twin, the twin against stock RQ

DECIMALS = st.characters(categories=["Nd"])
ASCII_DIGIT = st.sampled_from(string.digits)
DIGIT = st.one_of(ASCII_DIGIT, ASCII_DIGIT, ASCII_DIGIT, DECIMALS)


def digits(low: int, high: int) -> st.SearchStrategy[str]:
    return st.text(DIGIT, min_size=low, max_size=high)


@st.composite
def timestamp_like(draw: st.DrawFn) -> str:
    """Strings near RQ's timestamp formats, with strptime's odd corners."""
    parts = [
        draw(digits(3, 5)),
        draw(st.sampled_from(["-", "-", "/"])),
        draw(digits(0, 3)),
        "-",
        draw(st.one_of(digits(0, 3), digits(1, 2).map(lambda d: " " + d))),
        draw(st.sampled_from(["T", "t", " ", "x"])),
        draw(digits(0, 3)),
        ":",
        draw(digits(0, 3)),
        ":",
        draw(digits(0, 3)),
    ]
    fraction = draw(st.one_of(st.none(), digits(0, 8)))
    if fraction is not None:
        parts += [".", fraction]
    parts.append(draw(st.sampled_from(["Z", "z", "", "ZZ", "Z\n", "+00:00"])))
    return "".join(parts)


DATETIMES = st.datetimes(timezones=st.sampled_from([None, timezone.utc]))


@st.composite
def formatted(draw: st.DrawFn) -> str:
    """RQ-formatted timestamps, some shortened the ways strptime allows."""
    moment = draw(DATETIMES)
    text = moment.strftime(
        draw(st.sampled_from([py.TIMESTAMP_FORMAT, py.LEGACY_TIMESTAMP_FORMAT]))
    )
    if draw(st.booleans()):
        text = text.replace("-0", "-").replace(":0", ":").replace("T0", "T")
    return text


TIMESTAMP_TEXT = st.one_of(formatted(), timestamp_like(), st.text(max_size=30))


@both
@MANY
@given(TIMESTAMP_TEXT)
def test_utcparse_c_matches_twin(text: str) -> None:
    agree("utcparse", text)


@both
@FEW
@given(st.one_of(formatted(), timestamp_like()))
def test_utcparse_twin_matches_stock(text: str) -> None:
    mine = outcome(py.utcparse, text)
    stock = outcome(rq.utils.utcparse, text)
    if stock[0] == "ok":
        assert mine == stock
    else:
        assert mine[0] == "error" and issubclass(stock[1], ValueError)
        assert mine[1] is ValueError


@both
@MANY
@given(st.one_of(DATETIMES, st.dates(), st.integers(), st.none()))
def test_utcformat_c_matches_twin(value: Any) -> None:
    result = agree("utcformat", value)
    if isinstance(value, datetime):
        assert result == ("ok", rq.utils.utcformat(value))


INTERVALS = st.one_of(
    st.none(),
    st.integers(),
    st.lists(st.integers(-5, 10**12), max_size=5),
    st.tuples(st.integers(0, 9), st.integers(0, 9)),
    st.text(max_size=2),
    st.floats(),
)
COUNTS = st.one_of(
    st.integers(-8, 8), st.integers(), st.booleans(), st.none(), st.floats()
)


@both
@MANY
@given(COUNTS, INTERVALS)
def test_intervals_c_match_twin(count: Any, intervals: Any) -> None:
    agree("get_interval", count, intervals)
    agree("retry_interval", intervals, count)


@both
@FEW
@given(
    st.integers(0, 50),
    st.one_of(st.integers(0, 100), st.lists(st.integers(0, 100), max_size=5)),
)
def test_get_interval_twin_matches_stock(count: int, intervals: Any) -> None:
    assert py.get_interval(count, intervals) == Retry.get_interval(count, intervals)


@both
@FEW
@given(st.lists(st.integers(0, 100), min_size=1, max_size=5), st.integers(1, 10))
def test_retry_interval_twin_matches_stock(intervals: list[int], left: int) -> None:
    job = Job.create("os.path.join", connection=CONNECTION)
    job.retry_intervals = intervals
    job.retries_left = left
    assert py.retry_interval(intervals, left) == job.get_retry_interval()


INT64 = st.integers(-(2**63), 2**63 - 1)
WHITESPACE = st.text(st.sampled_from(" \t\n\r"), max_size=3)
JSONISH = st.text(
    st.sampled_from('[]{},"\\/u0123456789aAbBeEfF-+. \t\n\r\x00\x1ftrunlsé\ud800'),
    max_size=40,
)


def zlib_variant(payload: bytes, kind: int) -> bytes:
    """A zlib stream of payload, whole or damaged in one of several ways."""
    whole = zlib.compress(payload)
    if kind == 1:
        return whole[: len(whole) // 2]  # truncated
    if kind == 2:
        return whole + b"trailing bytes"
    if kind == 3:
        compressor = zlib.compressobj(zdict=b"dictionary")
        return compressor.compress(payload) + compressor.flush()  # needs zdict
    if kind == 4:
        return whole[:2] + bytes([whole[2] ^ 0xFF]) + whole[3:]  # corrupt
    if kind == 5:
        return zlib.compress(payload * 400)  # inflates past the stack buffer
    if kind == 6:
        return zlib.compress(payload, wbits=-15)  # raw deflate, no header
    return whole


@st.composite
def spaced_json(draw: st.DrawFn, items: st.SearchStrategy[list[Any]]) -> bytes:
    """JSON lists with random whitespace, escapes and non-ASCII."""
    values = draw(items)
    ensure_ascii = draw(st.booleans())
    texts = [json.dumps(v, ensure_ascii=ensure_ascii) for v in values]
    pieces = [draw(WHITESPACE), "[", draw(WHITESPACE)]
    for i, text in enumerate(texts):
        if i:
            pieces += [draw(WHITESPACE), ",", draw(WHITESPACE)]
        pieces.append(text)
    pieces += [draw(WHITESPACE), "]", draw(WHITESPACE)]
    return "".join(pieces).encode("utf-8", "surrogatepass")


INT_LIST_BYTES = st.one_of(
    spaced_json(
        st.lists(
            st.one_of(INT64, INT64, st.integers(), st.floats(), st.booleans()),
            max_size=6,
        )
    ),
    JSONISH.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=20),
)
STR_LIST_BYTES = st.one_of(
    spaced_json(
        st.lists(
            st.one_of(st.text(max_size=6), st.text(max_size=6), st.integers()),
            max_size=5,
        )
    ),
    JSONISH.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=20),
)
TIMESTAMP_BYTES = st.one_of(
    TIMESTAMP_TEXT.map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=30),
)
INT_BYTES = st.one_of(
    st.integers().map(lambda i: str(i).encode()),
    st.from_regex(rb"\A[ \t]?[+-]?[0-9_]{0,22}[ \n]?\Z"),
    st.binary(max_size=8),
)
TEXT_BYTES = st.one_of(
    st.text(max_size=10).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.binary(max_size=10),
)
STATUS_BYTES = st.one_of(
    st.sampled_from([s.value.encode() for s in JobStatus]), st.binary(max_size=8)
)
DATA_BYTES = st.one_of(
    st.binary(max_size=20),
    st.binary(max_size=20).map(zlib.compress),
    st.builds(
        lambda s: zlib_variant(*s), st.tuples(st.binary(max_size=40), st.integers(0, 7))
    ),
)
FLAG_BYTES = st.one_of(st.sampled_from([b"0", b"1", b"2", b"-1"]), INT_BYTES)

FIELD_VALUES: dict[str, st.SearchStrategy[bytes]] = {
    "data": DATA_BYTES,
    "created_at": TIMESTAMP_BYTES,
    "origin": TEXT_BYTES,
    "worker_name": TEXT_BYTES,
    "description": TEXT_BYTES,
    "group_id": TEXT_BYTES,
    "enqueued_at": TIMESTAMP_BYTES,
    "started_at": TIMESTAMP_BYTES,
    "ended_at": TIMESTAMP_BYTES,
    "last_heartbeat": TIMESTAMP_BYTES,
    "timeout": INT_BYTES,
    "result_ttl": INT_BYTES,
    "failure_ttl": INT_BYTES,
    "ttl": INT_BYTES,
    "number_of_retries": INT_BYTES,
    "retries_left": INT_BYTES,
    "repeats_left": INT_BYTES,
    "status": STATUS_BYTES,
    "success_callback_name": TEXT_BYTES,
    "failure_callback_name": TEXT_BYTES,
    "stopped_callback_name": TEXT_BYTES,
    "success_callback_timeout": INT_BYTES,
    "failure_callback_timeout": INT_BYTES,
    "stopped_callback_timeout": INT_BYTES,
    "dependency_ids": STR_LIST_BYTES,
    "dependency_id": TEXT_BYTES,
    "allow_dependency_failures": FLAG_BYTES,
    "enqueue_at_front": FLAG_BYTES,
    "enqueue_at_front_on_retry": FLAG_BYTES,
    "retry_intervals": INT_LIST_BYTES,
    "repeat_intervals": INT_LIST_BYTES,
    "exc_info": st.one_of(TEXT_BYTES, TEXT_BYTES.map(zlib.compress)),
    "result": st.binary(max_size=5),
    "meta": st.binary(max_size=5),
    "webhooks": st.binary(max_size=5),
    "rqfast_retry": st.binary(max_size=5),
    "rqfast_attempts": st.binary(max_size=5),
    "unknown_field": st.binary(max_size=5),
}


@st.composite
def job_hashes(draw: st.DrawFn) -> dict[Any, Any]:
    """Job hashes with a few fields each, keys as bytes or str."""
    names = draw(st.lists(st.sampled_from(list(FIELD_VALUES)), max_size=6, unique=True))
    if draw(st.integers(0, 9)) > 0:
        names.insert(0, "data")
    raw: dict[Any, Any] = {}
    for name in names:
        key: Any = name.encode() if draw(st.integers(0, 4)) else name
        raw[key] = draw(FIELD_VALUES[name])
    return raw


def without_now(result: tuple[Any, ...], raw: dict[Any, Any]) -> tuple[Any, ...]:
    """Drop the created_at that defaulted to now(), which differs per call."""
    present = any(k in (b"created_at", "created_at") and v for k, v in raw.items())
    if result[0] == "ok" and not present:
        attrs = dict(result[1][0])
        assert isinstance(attrs.pop("created_at"), datetime)
        return ("ok", (attrs, *result[1][1:]))
    return result


def state_outcome(module: ModuleType, raw: dict[Any, Any]) -> tuple[Any, ...]:
    """What decode_job_state did to a prefilled state, created_at aside."""
    state: dict[str, Any] = {"_data": b"old", "_rqfast_zexc": ("old", b"z")}
    done = outcome(module.decode_job_state, raw, state)
    if done[0] == "ok" and "created_at" in state:
        assert isinstance(state["created_at"], datetime)
        if not any(k in (b"created_at", "created_at") and v for k, v in raw.items()):
            del state["created_at"]
    return done, state, list(state)


@both
@MANY
@given(job_hashes())
def test_decode_state_c_matches_twin(raw: dict[Any, Any]) -> None:
    assert state_outcome(needs_c(), raw) == state_outcome(py, raw)


@both
@MANY
@given(job_hashes())
def test_decode_c_matches_twin(raw: dict[Any, Any]) -> None:
    mine = without_now(outcome(needs_c().decode_job_hash, raw), raw)
    theirs = without_now(outcome(py.decode_job_hash, raw), raw)
    assert mine == theirs
    if mine[0] == "ok":
        assert list(mine[1][0]) == list(theirs[1][0])


@both
@MANY
@given(st.one_of(INT_LIST_BYTES, STR_LIST_BYTES))
def test_json_lists_c_match_twin(text: bytes) -> None:
    for field in (b"retry_intervals", b"dependency_ids"):
        raw = {b"data": b"", b"created_at": b"2024-01-01T00:00:00Z", field: text}
        agree("decode_job_hash", raw)


@both
@MANY
@given(TIMESTAMP_BYTES)
def test_timestamp_bytes_c_match_twin(text: bytes) -> None:
    raw = {b"data": b"", b"created_at": b"2024-01-01T00:00:00Z", b"started_at": text}
    agree("decode_job_hash", raw)


@both
@MANY
@given(INT_BYTES)
def test_int_bytes_c_match_twin(text: bytes) -> None:
    agree(
        "decode_job_hash",
        {b"data": b"", b"created_at": b"2024-01-01T00:00:00Z", b"ttl": text},
    )


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=5,
)
SMALL = st.one_of(st.none(), st.integers(-1, 10**7))
MOMENTS = st.one_of(st.none(), DATETIMES)


@st.composite
def jobs(draw: st.DrawFn) -> Job:
    """Real RQ jobs with random attributes (no webhooks)."""
    callback = st.one_of(
        st.none(),
        st.builds(
            Callback, st.just("os.path.join"), st.one_of(st.none(), st.integers(1, 99))
        ),
    )
    retry = st.one_of(
        st.none(),
        st.builds(
            Retry,
            st.integers(1, 5),
            st.one_of(
                st.integers(0, 100),
                st.lists(st.integers(0, 10**6), min_size=1, max_size=4),
            ),
        ),
    )
    job = Job.create(
        "os.path.join",
        args=draw(st.lists(JSON_VALUES, max_size=3)),
        kwargs=draw(st.dictionaries(st.text(max_size=4), JSON_VALUES, max_size=3)),
        connection=CONNECTION,
        result_ttl=draw(SMALL),
        ttl=draw(SMALL),
        failure_ttl=draw(SMALL),
        timeout=draw(st.one_of(st.none(), st.integers(1, 10**6))),
        description=draw(st.one_of(st.none(), st.text(max_size=12))),
        depends_on=draw(
            st.one_of(st.none(), st.lists(st.text(max_size=8), min_size=1, max_size=3))
        ),
        meta=draw(
            st.one_of(
                st.none(), st.dictionaries(st.text(max_size=3), JSON_VALUES, max_size=2)
            )
        ),
        retry=draw(retry),
        origin=draw(st.text(max_size=8)),
        group_id=draw(st.one_of(st.none(), st.text(max_size=6))),
        on_success=draw(callback),
        on_failure=draw(callback),
        on_stopped=draw(callback),
    )
    job.created_at = draw(
        st.one_of(DATETIMES, st.datetimes(max_value=datetime(1200, 1, 1)))
    )
    job.enqueued_at = draw(MOMENTS)
    job.started_at = draw(MOMENTS)
    job.ended_at = draw(MOMENTS)
    job.last_heartbeat = draw(MOMENTS)
    job.worker_name = draw(st.one_of(st.none(), st.text(max_size=6)))
    job._status = draw(st.sampled_from(list(JobStatus)))
    job._result = draw(st.one_of(st.none(), JSON_VALUES))
    job._exc_info = draw(st.one_of(st.none(), st.text(max_size=10)))
    job.number_of_retries = draw(SMALL)
    job.repeats_left = draw(SMALL)
    job.repeat_intervals = draw(
        st.one_of(st.none(), st.lists(st.integers(), max_size=3))
    )
    job.allow_dependency_failures = draw(st.one_of(st.none(), st.booleans()))
    job.enqueue_at_front = draw(st.one_of(st.none(), st.booleans()))
    job.enqueue_at_front_on_retry = draw(st.booleans())
    return job


@both
@FEW
@given(jobs(), st.booleans(), st.booleans())
def test_encode_c_matches_twin_and_stock(
    job: Job, include_meta: bool, include_result: bool
) -> None:
    data = zlib.compress(job.data)
    exc = None if job._exc_info is None else zlib.compress(str(job._exc_info).encode())
    stock = job.to_dict(include_meta=include_meta, include_result=include_result)
    theirs = py.encode_job_hash(job, data, exc, include_meta, include_result)
    mine = needs_c().encode_job_hash(job, data, exc, include_meta, include_result)
    assert mine == theirs == stock
    assert list(mine) == list(theirs) == list(stock)


@both
@FEW
@given(jobs())
def test_round_trip_matches_stock_restore(job: Job) -> None:
    # Stock RQ cannot read back the years below 1000 it writes.
    moments = [job.created_at, job.enqueued_at, job.started_at, job.ended_at]
    assume(all(m is None or m.year >= 1000 for m in [*moments, job.last_heartbeat]))
    # Integer lists are read as int64 (MAX_* limits); stock has no bound.
    assume(all(py.INT64_MIN <= i <= py.INT64_MAX for i in job.repeat_intervals or []))
    raw = to_redis(job.to_dict())
    stock = Job("x", connection=CONNECTION)
    stock.restore(raw)
    for module in (py, needs_c()):
        attrs = module.decode_job_hash(raw)[0]
        for name, value in attrs.items():
            assert stock.__dict__[name] == value, name


@both
@FEW
@given(
    jobs(),
    st.booleans(),
    st.booleans(),
    st.dictionaries(
        st.sampled_from(["_rqfast_policy_raw", "_rqfast_attempts_raw"]),
        st.one_of(st.none(), st.binary(max_size=4)),
    ),
)
def test_encode_state_c_matches_twin_and_stock(
    job: Job, include_meta: bool, include_result: bool, extra: dict[str, Any]
) -> None:
    job.__dict__.update(extra)
    stock = stock_to_dict(job, include_meta, include_result)
    stock.update(
        {
            field: extra[name]
            for name, field in [
                ("_rqfast_policy_raw", "rqfast_retry"),
                ("_rqfast_attempts_raw", "rqfast_attempts"),
            ]
            if extra.get(name)
        }
    )
    for reuse in (False, True):  # compressing, then reusing the forms kept
        results, states = [], []
        for module in (py, needs_c()):
            if not reuse:
                fresh_state(job)
            results.append(
                outcome(module.encode_job_state, job, include_meta, include_result)
            )
            states.append(dict(job.__dict__))
        assert results[0] == results[1] == ("ok", stock)
        assert list(results[0][1]) == list(results[1][1]) == list(stock)
        assert states[0] == states[1]


PAYLOADS = st.one_of(
    st.binary(max_size=300),
    st.builds(
        lambda piece, times: (piece * times)[: 64 * 1024 + 8],
        st.binary(min_size=1, max_size=40),
        st.integers(1, 70000),
    ),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


@both
@MANY
@given(PAYLOADS)
def test_compress_c_matches_zlib(data: bytes) -> None:
    assert needs_c().compress(data) == zlib.compress(data)


ODD_TEXT = st.text(st.characters(categories=["Cs", "Lu", "Nd", "Zs"]), max_size=3)
SENT_VALUES = st.one_of(
    st.binary(max_size=6),
    st.text(max_size=6),
    ODD_TEXT,
    st.integers(),
    st.integers(-(2**64), 2**64),
    st.floats(),
    st.booleans(),
    st.none(),
    st.sampled_from(list(JobStatus)),
    st.text(max_size=4).map(Text),
    st.binary(max_size=4).map(Blob),
    ODD_TEXT.map(Stringly),
    st.lists(st.integers(), max_size=2),
)
UNSENDABLE = st.sampled_from([Stringly(ValueError("no text")), Stringly(5), 10**5000])
FIELD_NAMES = st.one_of(
    st.text(max_size=5),
    st.text(max_size=5),
    ODD_TEXT,
    st.text(max_size=3).map(Text),
)


def rarely(draw: st.DrawFn) -> bool:
    """True about one time in ten (not at the bounds Hypothesis favours)."""
    return draw(st.integers(1, 20)) in (7, 13)


@st.composite
def diffs(draw: st.DrawFn) -> tuple[Any, Any]:
    """A mapping and a hash read that agrees with it on some entries."""
    mapping = draw(st.dictionaries(FIELD_NAMES, SENT_VALUES, max_size=8))
    if rarely(draw):
        mapping[draw(st.one_of(st.binary(max_size=3), st.integers()))] = 1
    if rarely(draw):
        mapping[draw(FIELD_NAMES)] = draw(UNSENDABLE)
    raw: dict[Any, Any] = {}
    for name, value in mapping.items():
        try:
            key, sent = name.encode(), py._sent(value)
        except Exception:
            continue
        choice = draw(st.integers(0, 3))
        if choice == 1:
            raw[key] = sent
        elif choice == 2:
            raw[key] = draw(st.binary(max_size=4))
        elif choice == 3:
            raw[key] = draw(st.one_of(st.text(max_size=2), st.integers(), st.none()))
    raw.update(draw(st.dictionaries(st.binary(max_size=3), st.binary(max_size=3))))
    odd = st.sampled_from([None, [], "x", OrderedDict(), RawHash()])
    if rarely(draw):
        mapping = draw(odd)
    if rarely(draw):
        raw = draw(odd)
    return mapping, raw


@both
@MANY
@given(diffs())
def test_changed_fields_c_matches_twin(pair: tuple[Any, Any]) -> None:
    mapping, raw = pair
    mine = agree("changed_fields", mapping, raw)
    if mine[0] == "ok":
        changed = needs_c().changed_fields(mapping, raw)
        assert list(changed) == list(mine[1])
        assert all(changed[name] is mapping[name] for name in changed)


REDIS_VALUES = st.one_of(
    st.binary(max_size=6),
    st.text(max_size=6),
    st.integers(),
    st.floats(),
    st.sampled_from(list(JobStatus)),
)


@both
@FEW
@given(
    st.dictionaries(st.text(max_size=5), REDIS_VALUES, max_size=8),
    st.sets(st.integers(0, 7)),
)
def test_changed_fields_twin_matches_redis_py(
    mapping: dict[str, Any], edited: set[int]
) -> None:
    raw = sent_hash(mapping)
    assert py.changed_fields(mapping, raw) == {}
    names = [name for i, name in enumerate(mapping) if i in edited]
    for name in names:
        raw[name.encode()] += b"~"
    assert list(py.changed_fields(mapping, raw)) == names


# Seconds as text (timestamp_text, seconds_text)

LIMIT_US = 2**33 * 10**6  # past this the C asks Python for the float


def edge_microseconds() -> list[int]:
    near = [LIMIT_US - 1, LIMIT_US, LIMIT_US + 1, 10**6, 10**6 - 1, 100, 99, 10]
    return [*near, *(-value for value in near), *range(0, 130), 0]


@both
@MANY
@given(
    st.one_of(
        st.integers(min_value=-LIMIT_US * 2, max_value=LIMIT_US * 2),
        st.integers(min_value=-1000, max_value=1000),
        st.sampled_from(edge_microseconds()),
        st.integers(min_value=-(10**17), max_value=10**17),
    )
)
def test_seconds_text_is_repr_of_total_seconds(microseconds: int) -> None:
    delta = timedelta(microseconds=microseconds)
    assert agree("seconds_text", delta) == ("ok", repr(delta.total_seconds()))


@both
@MANY
@given(
    st.datetimes(
        timezones=st.sampled_from(
            [timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(0))]
        )
    )
    | st.datetimes()
)
def test_timestamp_text_is_repr_of_timestamp(moment: datetime) -> None:
    try:
        expected = ("ok", repr(moment.timestamp()))
    except (OverflowError, ValueError, OSError) as error:
        expected = ("error", type(error), str(error))
    assert agree("timestamp_text", moment) == expected


def test_seconds_text_edges(mod: ModuleType) -> None:
    epoch = datetime(1970, 1, 1, tzinfo=timezone.utc)
    for microseconds in edge_microseconds():
        delta = timedelta(microseconds=microseconds)
        assert mod.seconds_text(delta) == repr(delta.total_seconds())
        moment = epoch + delta
        assert mod.timestamp_text(moment) == repr(moment.timestamp())
    assert mod.seconds_text(timedelta(microseconds=84)) == "8.4e-05"
    assert mod.timestamp_text(datetime(2026, 12, 4, tzinfo=timezone.utc)) == (
        "1796342400.0"
    )
    with pytest.raises(AttributeError):
        mod.seconds_text(1.5)


# Packing a command (rqfast.scripts.pack_command)


class Label(str):
    """A str subclass, as JobStatus members are: packed as its text."""

    def __str__(self) -> str:
        return "not this"


class Number(float):
    """A float subclass: left to hiredis."""


pack_arguments = st.one_of(
    st.binary(max_size=40),
    st.text(st.characters(blacklist_categories=()), max_size=20),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(),
    st.booleans(),
    st.none(),
    st.text(max_size=5).map(Label),
    st.floats().map(Number),
    st.binary(max_size=5).map(memoryview),
    st.sampled_from(list(JobStatus)),
)


def hiredis_outcome(args: tuple[Any, ...]) -> tuple[Any, ...]:
    import hiredis

    return outcome(hiredis.pack_command, args)


@both
@MANY
@given(st.lists(pack_arguments, max_size=120).map(tuple))
def test_pack_command_agrees_with_the_twin_and_with_hiredis(
    args: tuple[Any, ...],
) -> None:
    from rqfast.scripts import pack_command

    packed = agree("pack_command", args)
    hiredis_said = hiredis_outcome(args)
    if packed != ("ok", None):
        assert packed == hiredis_said
    # Whichever packs it, what is sent is hiredis's own bytes, or its error.
    assert outcome(pack_command, args) == hiredis_said


def test_pack_command_packs_what_the_worker_sends(mod: ModuleType) -> None:
    args = ("EVALSHA", "f" * 40, 2, "rq:job:é", b"\x00\r\n", 7, -1.5, JobStatus.QUEUED)
    assert mod.pack_command(args) == hiredis_outcome(args)[1]
    assert mod.pack_command(()) == b"*0\r\n"
    assert mod.pack_command(tuple(range(500))) == hiredis_outcome(tuple(range(500)))[1]


def test_pack_command_leaves_other_kinds_to_hiredis(mod: ModuleType) -> None:
    for odd in (True, None, 2**64, "\udcff", Number(1.0), memoryview(b"x"), [1]):
        assert mod.pack_command(("SET", odd)) is None, odd
    with pytest.raises(TypeError, match="must be a tuple"):
        mod.pack_command(["SET", "k"])


# Leaks


def leak_cases(module: ModuleType) -> list[Callable[[], Any]]:
    raw = full_hash()
    bad = {**raw, b"retry_intervals": b"[1, x]"}
    big = zlib.compress(bytes(range(256)) * 64)
    job = full_job()
    data = zlib.compress(job.data)
    moment = datetime(2024, 1, 2, 3, 4, 5)
    mapping = job.to_dict()
    shadowed = job_of(Shadowed)
    sent = sent_hash({**mapping, "worker_name": "other", "started_at": ""})
    return [
        lambda: module.utcparse("2024-01-02T03:04:05.123456Z"),
        lambda: module.utcparse("2024-01-02T03:04:05.123456"),
        lambda: module.utcparse(b"x"),
        lambda: module.utcformat(moment),
        lambda: module.utcformat(datetime(999, 1, 1)),
        lambda: module.utcformat(7),
        lambda: module.get_interval(3, [1, 2]),
        lambda: module.get_interval(-9, [1, 2]),
        lambda: module.retry_interval([1, 2], 0),
        lambda: module.decode_job_hash(raw),
        lambda: module.decode_job_hash(bad),
        lambda: module.decode_job_hash(
            {b"data": b"x", b"dependency_ids": b'["\\ud83d\\ude00", "a"]'}
        ),
        lambda: module.decode_job_hash({b"data": b"x", b"dependency_ids": b'["\\q"]'}),
        lambda: module.decode_job_hash({b"data": b"x", b"status": b"nope"}),
        lambda: module.decode_job_hash({b"data": 1}),
        lambda: module.decode_job_hash({}),
        lambda: module.decode_job_state(raw, {}),
        lambda: module.decode_job_state(bad, {}),
        lambda: module.decode_job_state({b"data": big, b"exc_info": b"x"}, {}),
        lambda: module.decode_job_state(raw, []),
        lambda: module.encode_job_hash(job, data, b"e"),
        lambda: module.encode_job_hash(job, data, None, include_meta=False),
        lambda: module.encode_job_hash(object(), data, None),
        lambda: module.encode_job_state(fresh_state(job)),
        lambda: module.encode_job_state(job, include_result=False),
        lambda: module.encode_job_state(shadowed),
        lambda: module.encode_job_state(job, nonsense=1),
        lambda: module.encode_job_state(object()),
        lambda: module.compress(data),
        lambda: module.compress(bytes(70000)),
        lambda: module.compress("text"),
        lambda: module.changed_fields(mapping, sent),
        lambda: module.changed_fields({**mapping, "x": Stringly(ValueError())}, sent),
        lambda: module.changed_fields({"a": Stringly("\udcff")}, sent),
        lambda: module.changed_fields({f"f{i}": i for i in range(100)}, sent),
        lambda: module.changed_fields({"a": 1, 2: 3}, sent),
        lambda: module.changed_fields(mapping, []),
        lambda: module.pack_command(("EVALSHA", "k", 1, b"v", 2.5, "\u00e9")),
        lambda: module.pack_command(tuple(range(300))),
        lambda: module.pack_command(("SET", "\udcff")),
        lambda: module.pack_command(("SET", 2**70)),
        lambda: module.pack_command(["SET"]),
        lambda: module.timestamp_text(datetime.now(timezone.utc)),
        lambda: module.timestamp_text(datetime(9999, 1, 1, tzinfo=timezone.utc)),
        lambda: module.timestamp_text(moment),
        lambda: module.timestamp_text(7),
        lambda: module.seconds_text(timedelta(microseconds=84)),
        lambda: module.seconds_text(timedelta(days=-999_999)),
        lambda: module.seconds_text("x"),
    ]


@pytest.mark.parametrize("implementation", ["c"])
def test_no_leaks(implementation: str) -> None:
    module = needs_c()
    for case in leak_cases(module):
        for _ in range(200):
            outcome(case)
        gc.collect()
        before = sys.getallocatedblocks()
        for _ in range(3000):
            outcome(case)
        gc.collect()
        grown = sys.getallocatedblocks() - before
        assert grown < 100, (case, grown)
