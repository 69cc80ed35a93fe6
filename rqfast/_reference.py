"""The pure-Python twin of the C extension ``rqfast._speedups``.

Every function here has a C counterpart of the same name that returns equal
values and raises the same exception type with the same message. This module
is the oracle of the differential tests and the fallback when the extension
is not built or ``RQFAST_PURE_PYTHON=1`` is set. It favours plainness over
speed: where a rule is subtle, the rule is written out here first.

Wire format (RQ 2.x job hashes, ``rq:job:<id>``):

- timestamps are ``%Y-%m-%dT%H:%M:%S.%fZ`` in UTC; the legacy
  ``%Y-%m-%dT%H:%M:%SZ`` is still read;
- integers are decimal text, booleans ``0``/``1``;
- ``retry_intervals`` and ``repeat_intervals`` are JSON lists of integers,
  ``dependency_ids`` a JSON list of strings;
- ``data`` and ``exc_info`` are zlib streams (uncompressed values are read as
  they are);
- ``result`` and ``meta`` belong to the job's serializer and are handed back
  undecoded; so are ``webhooks`` (JSON objects that RQ rebuilds itself).
"""

from __future__ import annotations

import json
import math
import re
import zlib
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from rq.exceptions import NoSuchJobError
from rq.job import UNEVALUATED, JobStatus

from .exceptions import JobHashError

__all__ = [
    "backoff_delay",
    "changed_fields",
    "compress",
    "decode_job_hash",
    "decode_job_state",
    "encode_job_hash",
    "encode_job_state",
    "get_interval",
    "member_job_ids",
    "next_run_times",
    "pack_command",
    "partition_by_deadline",
    "retry_delay",
    "retry_interval",
    "seconds_text",
    "split_members",
    "timestamp_text",
    "uniform",
    "utcformat",
    "utcparse",
    "validate_job_id",
    "validate_job_ids",
]

TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
LEGACY_TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"

#: How many bytes of a bad value an error message quotes.
SHOWN_BYTES = 40
#: The longest timestamp field read; RQ writes 27 bytes.
MAX_TIMESTAMP_LEN = 64
#: The longest integer field read, sign and blanks included.
MAX_INT_LEN = 64
#: The longest JSON list field read.
MAX_JSON_LEN = 1 << 20
#: The most items a JSON list field may hold.
MAX_LIST_ITEMS = 65536
#: Integers in JSON lists must fit a signed 64-bit integer.
INT64_MIN = -(1 << 63)
INT64_MAX = (1 << 63) - 1

# What int() accepts from bytes, less what RQ never writes: ASCII blanks
# around an optional sign, then digits with single underscores between them.
_INT_RE = re.compile(rb"[ \t\n\r\x0b\x0c]*[+-]?[0-9]+(?:_[0-9]+)*[ \t\n\r\x0b\x0c]*")

# Fields decoded as plain UTF-8 text, default when absent or empty.
_TEXT_FIELDS = (
    ("origin", "origin", ""),
    ("worker_name", "worker_name", None),
    ("description", "description", None),
    ("group_id", "group_id", None),
)
# Timestamp fields, default None when absent or empty (created_at differs).
_TIME_FIELDS = (
    ("enqueued_at", "enqueued_at"),
    ("started_at", "started_at"),
    ("ended_at", "ended_at"),
    ("last_heartbeat", "last_heartbeat"),
)
# Integer fields, None when absent or empty.
_INT_FIELDS = (
    ("timeout", "timeout"),
    ("result_ttl", "result_ttl"),
    ("failure_ttl", "failure_ttl"),
    ("ttl", "ttl"),
    ("number_of_retries", "number_of_retries"),
    ("retries_left", "retries_left"),
    ("repeats_left", "repeats_left"),
)
# Callback names: set only when present and non-empty.
_CALLBACK_NAMES = (
    ("success_callback_name", "_success_callback_name"),
    ("failure_callback_name", "_failure_callback_name"),
    ("stopped_callback_name", "_stopped_callback_name"),
)
# Callback timeouts: set whenever the field is present, even empty (an error).
_CALLBACK_TIMEOUTS = (
    ("success_callback_timeout", "_success_callback_timeout"),
    ("failure_callback_timeout", "_failure_callback_timeout"),
    ("stopped_callback_timeout", "_stopped_callback_timeout"),
)
# JSON integer lists: set only when present and non-empty.
_INT_LIST_FIELDS = (
    ("retry_intervals", "retry_intervals"),
    ("repeat_intervals", "repeat_intervals"),
)

_STATUSES = {status.value: status for status in JobStatus}


# Timestamps


def utcformat(dt: datetime) -> str:
    """Format a datetime the way RQ stores it; its tzinfo is not consulted."""
    return dt.strftime(TIMESTAMP_FORMAT)


def utcparse(string: str) -> datetime:
    """Parse an RQ timestamp (current or legacy format) into an aware UTC datetime.

    Accepts exactly what ``datetime.strptime`` accepts for the two formats.
    """
    if not isinstance(string, str):
        raise TypeError(f"utcparse() argument must be str, not {type(string).__name__}")
    try:
        parsed = datetime.strptime(string, TIMESTAMP_FORMAT)
    except ValueError:
        try:
            parsed = datetime.strptime(string, LEGACY_TIMESTAMP_FORMAT)
        except ValueError:
            raise ValueError(f"invalid timestamp {string[:SHOWN_BYTES]!r}") from None
    return parsed.replace(tzinfo=timezone.utc)


# Retry intervals


def get_interval(count: int, intervals: int | list[int] | None) -> int:
    """Return the delay before retry number ``count`` (``Retry.get_interval``).

    An int is the delay of every retry; an empty list or None means no delay;
    past the end of a list its last value repeats.
    """
    if not isinstance(count, int):
        raise TypeError(f"get_interval() count must be int, not {type(count).__name__}")
    if isinstance(intervals, int):
        return intervals
    if intervals is None:
        return 0
    if not isinstance(intervals, (list, tuple)):
        raise TypeError(
            "get_interval() intervals must be int, list, tuple or None, "
            f"not {type(intervals).__name__}"
        )
    if not intervals:
        return 0
    return intervals[min(len(intervals) - 1, count)]


def retry_interval(intervals: list[int] | None, retries_left: int) -> int:
    """Return the delay before a job's next retry (``Job.get_retry_interval``).

    ``intervals`` is the job's ``retry_intervals``; with more retries left than
    intervals, the first interval is used. None or an empty list means no delay.
    """
    if intervals is not None and not isinstance(intervals, (list, tuple)):
        raise TypeError(
            "retry_interval() intervals must be list, tuple or None, "
            f"not {type(intervals).__name__}"
        )
    if not isinstance(retries_left, int):
        kind = type(retries_left).__name__
        raise TypeError(f"retry_interval() retries_left must be int, not {kind}")
    if not intervals:
        return 0
    if retries_left < 1:
        raise ValueError(f"retries_left must be at least 1, not {retries_left}")
    return intervals[max(len(intervals) - retries_left, 0)]


# Decoding a job hash


def _shown(value: bytes) -> bytes:
    return value[:SHOWN_BYTES]


def _text(field: str, value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        raise JobHashError(field, f"not valid UTF-8: {_shown(value)!r}") from None


def _timestamp(field: str, value: bytes) -> datetime:
    if len(value) > MAX_TIMESTAMP_LEN:
        raise JobHashError(field, f"timestamp longer than {MAX_TIMESTAMP_LEN} bytes")
    try:
        return utcparse(value.decode("utf-8"))
    except ValueError:
        raise JobHashError(field, f"invalid timestamp {_shown(value)!r}") from None


def _int(field: str, value: bytes) -> int:
    if len(value) > MAX_INT_LEN or not _INT_RE.fullmatch(value):
        raise JobHashError(field, f"invalid integer {_shown(value)!r}")
    return int(value)


def _int_list(field: str, value: bytes) -> list[int]:
    if len(value) > MAX_JSON_LEN:
        raise JobHashError(field, f"JSON list longer than {MAX_JSON_LEN} bytes")
    try:
        items = json.loads(value.decode("utf-8"))
    except (ValueError, RecursionError):  # deeply nested arrays recurse
        items = None
    if (
        not isinstance(items, list)
        or len(items) > MAX_LIST_ITEMS
        or not all(type(i) is int and INT64_MIN <= i <= INT64_MAX for i in items)
    ):
        raise JobHashError(
            field, f"expected a JSON list of integers: {_shown(value)!r}"
        )
    return items


def _str_list(field: str, value: bytes) -> list[str]:
    if len(value) > MAX_JSON_LEN:
        raise JobHashError(field, f"JSON list longer than {MAX_JSON_LEN} bytes")
    try:
        items = json.loads(value.decode("utf-8"))
    except (ValueError, RecursionError):  # deeply nested arrays recurse
        items = None
    if (
        not isinstance(items, list)
        or len(items) > MAX_LIST_ITEMS
        or not all(type(i) is str for i in items)
    ):
        raise JobHashError(field, f"expected a JSON list of strings: {_shown(value)!r}")
    return items


def _inflate(value: bytes) -> bytes:
    return _inflated(value)[0]


def _inflated(value: bytes) -> tuple[bytes, bool]:
    """Return (zlib.decompress(value), True), or (value, False) if not zlib."""
    try:
        return zlib.decompress(value), True
    except zlib.error:
        return value, False


def _fields(raw: Mapping[Any, Any]) -> dict[str, bytes]:
    fields: dict[str, bytes] = {}
    for item in raw.items():
        if not isinstance(item, tuple) or len(item) != 2:
            raise ValueError("items() must yield (key, value) pairs")
        key, value = item
        if isinstance(key, bytes):
            name = key.decode("utf-8", "surrogateescape")
        elif isinstance(key, str):
            name = key
        else:
            raise TypeError(
                f"job hash keys must be bytes or str, not {type(key).__name__}"
            )
        if not isinstance(value, bytes):
            raise TypeError(
                f"job hash field {name!r}: expected bytes, not {type(value).__name__}"
            )
        fields[name] = value
    return fields


def decode_job_hash(
    raw: Mapping[Any, Any],
) -> tuple[dict[str, Any], bytes | None, bytes | None, bytes | None]:
    """Decode a job hash as redis-py returns it (HGETALL, bytes to bytes).

    Returns ``(attributes, result, meta, webhooks)``. ``attributes`` maps Job
    instance attribute names to the values stock ``Job.restore`` assigns; a
    field that stock only assigns when present (callback names, intervals,
    ``exc_info``) is absent from it when absent from the hash. ``result``,
    ``meta`` and ``webhooks`` are the raw bytes of those fields, or None when
    absent or empty, for the caller's serializer.

    Raises NoSuchJobError when ``data`` is missing, JobHashError naming the
    field for any value that cannot be decoded, TypeError for non-bytes values.
    """
    fields = _fields(raw)
    attrs, _ = _decode(fields)
    return (
        attrs,
        fields.get("result") or None,
        fields.get("meta") or None,
        fields.get("webhooks") or None,
    )


#: Attributes that stock restore resets through the ``data`` setter.
_PAYLOAD_PARTS = ("_func_name", "_instance", "_args", "_kwargs")


def decode_job_state(
    raw: Mapping[Any, Any], state: dict[str, Any]
) -> tuple[bytes | None, bytes | None, bytes | None]:
    """Decode a job hash into ``state``, a Job's instance dict; rqfast's restore.

    ``state`` gets the attributes :func:`decode_job_hash` returns, the
    payload's deserialized parts reset to ``UNEVALUATED``, rqfast's own fields
    (``_rqfast_policy`` None, ``_rqfast_policy_raw`` and ``_rqfast_attempts_raw``
    the raw ``rqfast_retry`` and ``rqfast_attempts`` values or None) and the
    compressed forms read: ``_rqfast_zdata`` is ``(payload, raw data)`` when
    ``data`` was a zlib stream, else None; ``_rqfast_zexc`` likewise for
    ``exc_info``, set only when the hash has one. Nothing is written when the
    hash cannot be decoded. Returns ``(result, meta, webhooks)`` as
    :func:`decode_job_hash` does.
    """
    if not isinstance(state, dict):
        raise TypeError(f"state must be a dict, not {type(state).__name__}")
    fields = _fields(raw)
    attrs, zexc = _decode(fields)
    state.update(attrs)
    for name in _PAYLOAD_PARTS:
        state[name] = UNEVALUATED
    state["_rqfast_policy"] = None
    state["_rqfast_policy_raw"] = fields.get("rqfast_retry")
    state["_rqfast_attempts_raw"] = fields.get("rqfast_attempts")
    # _inflated() gives back the very object it was given when not zlib.
    data, compressed = attrs["_data"], fields["data"]
    state["_rqfast_zdata"] = (data, compressed) if data is not compressed else None
    if "_exc_info" in attrs:
        state["_rqfast_zexc"] = (
            (attrs["_exc_info"], fields["exc_info"]) if zexc else None
        )
    return (
        fields.get("result") or None,
        fields.get("meta") or None,
        fields.get("webhooks") or None,
    )


def _decode(fields: dict[str, bytes]) -> tuple[dict[str, Any], bool]:
    """Return (attributes, whether exc_info was a zlib stream) of a job hash."""
    if "data" not in fields:
        raise NoSuchJobError("job hash has no 'data' field")

    attrs: dict[str, Any] = {"_data": _inflate(fields["data"])}
    value = fields.get("created_at")
    attrs["created_at"] = (
        _timestamp("created_at", value) if value else datetime.now(timezone.utc)
    )
    for field, attr, default in _TEXT_FIELDS:
        value = fields.get(field)
        attrs[attr] = _text(field, value) if value else default
    for field, attr in _TIME_FIELDS:
        value = fields.get(field)
        attrs[attr] = _timestamp(field, value) if value else None
    for field, attr in _INT_FIELDS:
        value = fields.get(field)
        attrs[attr] = _int(field, value) if value else None

    value = fields.get("status")
    if value:
        status = _STATUSES.get(_text("status", value))
        if status is None:
            raise JobHashError("status", f"unknown status {_shown(value)!r}")
        attrs["_status"] = status
    else:
        attrs["_status"] = JobStatus.CREATED

    for field, attr in _CALLBACK_NAMES:
        value = fields.get(field)
        if value:
            attrs[attr] = _text(field, value)
    for field, attr in _CALLBACK_TIMEOUTS:
        if field in fields:
            attrs[attr] = _int(field, fields[field])

    value = fields.get("dependency_ids")
    if value:
        attrs["_dependency_ids"] = _str_list("dependency_ids", value)
    else:
        value = fields.get("dependency_id")
        attrs["_dependency_ids"] = [_text("dependency_id", value)] if value else []

    value = fields.get("allow_dependency_failures")
    attrs["allow_dependency_failures"] = (
        bool(_int("allow_dependency_failures", value)) if value else None
    )
    if "enqueue_at_front" in fields:
        attrs["enqueue_at_front"] = bool(
            _int("enqueue_at_front", fields["enqueue_at_front"])
        )
    else:
        attrs["enqueue_at_front"] = None
    value = fields.get("enqueue_at_front_on_retry")
    attrs["enqueue_at_front_on_retry"] = (
        bool(_int("enqueue_at_front_on_retry", value)) if value else False
    )

    for field, attr in _INT_LIST_FIELDS:
        value = fields.get(field)
        if value:
            attrs[attr] = _int_list(field, value)

    zexc = False
    value = fields.get("exc_info")
    if value:
        text, zexc = _inflated(value)
        attrs["_exc_info"] = _text("exc_info", text)
    return attrs, zexc


# Encoding a job hash


def encode_job_hash(
    job: Any,
    data: bytes,
    exc_info: bytes | None,
    include_meta: bool = True,
    include_result: bool = True,
) -> dict[str, Any]:
    """Return the mapping stock ``Job.to_dict`` returns, key order included.

    ``data`` is the zlib-compressed payload and ``exc_info`` the compressed
    exception text (or None); the caller compresses them, so that it can keep
    them between saves. Every other value is read from ``job``.
    """
    obj: dict[str, Any] = {
        "created_at": utcformat(job.created_at or datetime.now(timezone.utc)),
        "data": data,
        "success_callback_name": job._success_callback_name or "",
        "failure_callback_name": job._failure_callback_name or "",
        "stopped_callback_name": job._stopped_callback_name or "",
        "started_at": utcformat(job.started_at) if job.started_at else "",
        "ended_at": utcformat(job.ended_at) if job.ended_at else "",
        "last_heartbeat": utcformat(job.last_heartbeat) if job.last_heartbeat else "",
        "worker_name": job.worker_name or "",
        "group_id": job.group_id or "",
    }
    if job.number_of_retries is not None:
        obj["number_of_retries"] = job.number_of_retries
    if job.retries_left is not None:
        obj["retries_left"] = job.retries_left
    if job.retry_intervals is not None:
        obj["retry_intervals"] = json.dumps(job.retry_intervals)
    if job.enqueue_at_front_on_retry:
        obj["enqueue_at_front_on_retry"] = int(job.enqueue_at_front_on_retry)
    if job.origin:
        obj["origin"] = job.origin
    if job.description is not None:
        obj["description"] = job.description
    if job.enqueued_at is not None:
        obj["enqueued_at"] = utcformat(job.enqueued_at)
    if job.repeats_left is not None:
        obj["repeats_left"] = job.repeats_left
    if job.repeat_intervals is not None:
        obj["repeat_intervals"] = json.dumps(job.repeat_intervals)
    if job._result is not None and include_result:
        try:
            obj["result"] = job.serializer.dumps(job._result)
        except Exception:
            obj["result"] = "Unserializable return value"
    if exc_info is not None and include_result:
        obj["exc_info"] = exc_info
    if job.timeout is not None:
        obj["timeout"] = job.timeout
    if job._success_callback_timeout is not None:
        obj["success_callback_timeout"] = job._success_callback_timeout
    if job._failure_callback_timeout is not None:
        obj["failure_callback_timeout"] = job._failure_callback_timeout
    if job._stopped_callback_timeout is not None:
        obj["stopped_callback_timeout"] = job._stopped_callback_timeout
    if job.webhooks:
        obj["webhooks"] = json.dumps([webhook.to_dict() for webhook in job.webhooks])
    if job.result_ttl is not None:
        obj["result_ttl"] = job.result_ttl
    if job.failure_ttl is not None:
        obj["failure_ttl"] = job.failure_ttl
    obj["status"] = job._status
    if job._dependency_ids:
        obj["dependency_id"] = job._dependency_ids[0]
        obj["dependency_ids"] = json.dumps(job._dependency_ids)
    if job.meta and include_meta:
        obj["meta"] = job.serializer.dumps(job.meta)
    if job.ttl:
        obj["ttl"] = job.ttl
    if job.allow_dependency_failures is not None:
        obj["allow_dependency_failures"] = int(job.allow_dependency_failures)
    if job.enqueue_at_front is not None:
        obj["enqueue_at_front"] = int(job.enqueue_at_front)
    return obj


def compress(data: bytes) -> bytes:
    """Return ``zlib.compress(data)``; the C deflates small payloads itself."""
    return zlib.compress(data)


def _compressed_form(state: dict[str, Any], name: str, value: Any, text: bool) -> Any:
    """Return the compressed form of ``value``, kept in ``state[name]``.

    ``state[name]`` holds ``(value, compressed)``; it is reused when it is such
    a pair for this very object, and replaced otherwise. With ``text``, what
    is compressed is ``str(value)`` in UTF-8.
    """
    cached = state.get(name)
    if type(cached) is tuple and len(cached) == 2 and cached[0] is value:
        return cached[1]
    compressed = compress(str(value).encode("utf-8") if text else value)
    state[name] = (value, compressed)
    return compressed


def encode_job_state(
    job: Any, include_meta: bool = True, include_result: bool = True
) -> dict[str, Any]:
    """Return what rqfast's ``Job.to_dict`` stores: stock's mapping and rqfast's fields.

    The payload (``job.data``) and exception text are compressed through the
    forms kept in the instance dict (``_rqfast_zdata``, ``_rqfast_zexc``, as
    :func:`decode_job_state` leaves them), so an unchanged payload is not
    compressed again. ``rqfast_retry`` is the policy's ``to_json()``, or the
    raw form read when the policy was never loaded; ``rqfast_attempts`` the
    attempt history kept. The instance dict must be a plain dict.
    """
    state = job.__dict__
    if type(state) is not dict:
        raise TypeError(
            f"job.__dict__ must be a plain dict, not {type(state).__name__}"
        )
    zdata = _compressed_form(state, "_rqfast_zdata", job.data, False)
    zexc = None
    exc_info = job._exc_info
    if exc_info is not None and include_result:
        zexc = _compressed_form(state, "_rqfast_zexc", exc_info, True)
    mapping = encode_job_hash(job, zdata, zexc, include_meta, include_result)
    policy = state.get("_rqfast_policy")
    if policy is not None:
        mapping["rqfast_retry"] = policy.to_json()
    elif raw_policy := state.get("_rqfast_policy_raw"):
        mapping["rqfast_retry"] = raw_policy
    if attempts := state.get("_rqfast_attempts_raw"):
        mapping["rqfast_attempts"] = attempts
    return mapping


# Diffing a mapping against the hash read


def _sent(value: Any) -> Any:
    """Return what redis-py sends for a hash value, as ``value.encode()`` gives it.

    Bytes go as they are, a str UTF-8 encoded, a float as its repr() and
    anything else as its str(). Kinds are told by type, as the C does: an
    object's ``__class__`` is not consulted.
    """
    kind = type(value)
    if issubclass(kind, bytes):
        return value
    if issubclass(kind, str):
        return value.encode()
    if issubclass(kind, float):
        return repr(value).encode()
    return str(value).encode()


def changed_fields(mapping: dict[str, Any], raw: dict[bytes, bytes]) -> dict[str, Any]:
    """Return the entries of ``mapping`` whose bytes differ from the hash read.

    ``mapping`` is what ``Job.to_dict`` returns and ``raw`` what HGETALL
    returned; an entry is kept, with its value as given and in its order, when
    ``raw.get(name.encode()) != `` the bytes redis-py would send for its
    value. Both must be plain dicts; ``mapping`` is read once, before any
    value is converted. Errors from encoding a name or converting a value
    propagate as they are.
    """
    if type(mapping) is not dict:
        raise TypeError(f"mapping must be a plain dict, not {type(mapping).__name__}")
    if type(raw) is not dict:
        raise TypeError(f"raw must be a plain dict, not {type(raw).__name__}")
    changed: dict[str, Any] = {}
    for name, value in list(mapping.items()):
        if not issubclass(type(name), str):
            raise TypeError(f"mapping keys must be str, not {type(name).__name__}")
        if raw.get(name.encode()) != _sent(value):
            changed[name] = value
    return changed


# Backoff and jitter
#
# A retry policy's delay before retry number n (1-based) is
# ``first * factor ** (n - 1)``, capped, then jittered. Jitter draws come from
# SplitMix64, a 64-bit generator whose whole state is one integer: the C and
# this twin produce the same draws from the same state, which makes seeded
# schedules reproducible across implementations. The state is passed in and
# the advanced state returned, so the caller owns it (one per process).
#
# The arithmetic is written so that C doubles give the same bits: the same
# operations in the same order, min(a, b) as "b if b < a else a", and an
# overflowing power as infinity.

JITTER_NONE = 0
JITTER_FULL = 1
JITTER_EQUAL = 2
JITTER_DECORRELATED = 3
JITTER_KINDS = ("none", "full", "equal", "decorrelated")
#: The most jobs one call of ``next_run_times`` accepts.
MAX_BATCH = 10_000_000

_MASK64 = (1 << 64) - 1
_GOLDEN_GAMMA = 0x9E3779B97F4A7C15
_UNIT = 1.0 / (1 << 53)


def _splitmix64(state: int) -> tuple[int, int]:
    """Return (draw, new state) of SplitMix64."""
    state = (state + _GOLDEN_GAMMA) & _MASK64
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
    return z ^ (z >> 31), state


def _check_state(state: object) -> int:
    if not isinstance(state, int):
        raise TypeError("state must be an int")
    if not 0 <= state <= _MASK64:
        raise ValueError("state must be an integer from 0 to 2**64 - 1")
    return state


def _number(value: object, name: str) -> float:
    if not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number")
    return float(value)


def _retry_number(value: object) -> int:
    if not isinstance(value, int):
        raise TypeError("retry_number must be an int")
    if value < 1:
        raise ValueError("retry_number must be at least 1")
    return value


def _check_policy(
    first: object, factor: object, cap: object, jitter: object
) -> tuple[float, float, float | None, int]:
    first_f = _number(first, "first")
    factor_f = _number(factor, "factor")
    cap_f = None if cap is None else _number(cap, "cap")
    if not first_f >= 0:
        raise ValueError("first must be a number >= 0")
    if not factor_f >= 1:
        raise ValueError("factor must be a number >= 1")
    if cap_f is not None and not cap_f >= 0:
        raise ValueError("cap must be None or a number >= 0")
    if not isinstance(jitter, int) or jitter not in (0, 1, 2, 3):
        raise ValueError(
            "jitter must be 0 (none), 1 (full), 2 (equal) or 3 (decorrelated)"
        )
    return first_f, factor_f, cap_f, jitter


def _capped(value: float, cap: float | None) -> float:
    return cap if cap is not None and cap < value else value


def _backoff(number: int, first: float, factor: float, cap: float | None) -> float:
    if first == 0 or factor == 1:
        return _capped(first, cap)
    try:
        delay = first * math.pow(factor, float(number) - 1.0)
    except OverflowError:
        delay = math.inf
    return _capped(delay, cap)


def _jittered(
    number: int,
    previous: float,
    first: float,
    factor: float,
    cap: float | None,
    jitter: int,
    state: int,
) -> tuple[float, int]:
    delay = _backoff(number, first, factor, cap)
    if jitter == JITTER_NONE:
        return delay, state
    draw, state = _splitmix64(state)
    u = (draw >> 11) * _UNIT
    if jitter == JITTER_FULL:
        return u * delay, state
    if jitter == JITTER_EQUAL:
        half = delay / 2
        return half + u * half, state
    tripled = previous * 3
    high = tripled if tripled > first else first
    return _capped(first + u * (high - first), cap), state


def uniform(state: int) -> tuple[float, int]:
    """Return (a float in [0, 1), new state) drawn with SplitMix64."""
    draw, state = _splitmix64(_check_state(state))
    return (draw >> 11) * _UNIT, state


def backoff_delay(
    retry_number: int, first: float, factor: float, cap: float | None
) -> float:
    """Return the delay before retry ``retry_number`` (1-based), without jitter.

    A zero first delay or a factor of 1 never grows; a power too large for a
    float is infinity (then the cap, if any).
    """
    first_f, factor_f, cap_f, _ = _check_policy(first, factor, cap, JITTER_NONE)
    return _backoff(_retry_number(retry_number), first_f, factor_f, cap_f)


def retry_delay(
    retry_number: int,
    previous: float,
    first: float,
    factor: float,
    cap: float | None,
    jitter: int,
    state: int,
) -> tuple[float, int]:
    """Return (the jittered delay before retry ``retry_number``, new state).

    ``previous`` is the delay actually used before the previous retry (only
    decorrelated jitter reads it; pass ``first`` before the first retry).
    ``jitter`` is 0 (none), 1 (full), 2 (equal) or 3 (decorrelated).
    """
    state = _check_state(state)
    previous_f = _number(previous, "previous")
    first_f, factor_f, cap_f, kind = _check_policy(first, factor, cap, jitter)
    number = _retry_number(retry_number)
    return _jittered(number, previous_f, first_f, factor_f, cap_f, kind, state)


def next_run_times(
    now: float,
    retry_numbers: list[int],
    previous: list[float],
    first: float,
    factor: float,
    cap: float | None,
    jitter: int,
    state: int,
) -> tuple[list[float], int]:
    """Return (each job's next run time as a Unix timestamp, new state).

    The batch form of :func:`retry_delay`: job i is about to make retry
    ``retry_numbers[i]`` after a delay of ``previous[i]`` the last time.
    """
    state = _check_state(state)
    now_f = _number(now, "now")
    first_f, factor_f, cap_f, kind = _check_policy(first, factor, cap, jitter)
    if len(retry_numbers) != len(previous):
        raise ValueError("retry_numbers and previous must have the same length")
    if len(retry_numbers) > MAX_BATCH:
        raise ValueError(f"at most {MAX_BATCH} jobs per call")
    times = []
    for number, last in zip(retry_numbers, previous, strict=True):
        delay, state = _jittered(
            _retry_number(number),
            _number(last, "previous"),
            first_f,
            factor_f,
            cap_f,
            kind,
            state,
        )
        times.append(now_f + delay)
    return times, state


# ---------------------------------------------------------------------------
# Registry scanning
#
# A registry is a sorted set whose members are a job id, or, in the started
# registry, ``<job id>:<execution id>``. Members arrive from Redis as bytes
# (or str on a decoding connection) and are decoded as strict UTF-8. Scores
# are expiry or due times in Unix seconds; RQ reads "due" as 0 <= score <=
# deadline, so a negative score (a registry entry that never expires) is
# never due.


def _member_text(member: object) -> str:
    if isinstance(member, bytes):
        return member.decode("utf-8")
    if isinstance(member, str):
        return member
    raise TypeError(
        f"registry member must be bytes or str, not {type(member).__name__}"
    )


def _sequence(value: object, what: str) -> list[Any] | tuple[Any, ...]:
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"{what} must be a list or a tuple, not {type(value).__name__}")
    return value


def split_members(members: list[Any] | tuple[Any, ...]) -> list[tuple[str, str]]:
    """Split registry members into ``(job_id, execution_id)`` pairs.

    A member without ``:`` gives an empty execution id; one with more than one
    ``:`` raises ValueError, as RQ's ``parse_composite_key`` does.
    """
    pairs = []
    for member in _sequence(members, "members"):
        text = _member_text(member)
        job_id, colon, execution_id = text.partition(":")
        if colon and ":" in execution_id:
            raise ValueError(f"registry member {text!r} holds more than one ':'")
        pairs.append((job_id, execution_id))
    return pairs


def member_job_ids(members: list[Any] | tuple[Any, ...]) -> list[str]:
    """Return the job id of each registry member: the text before its first ``:``."""
    return [
        _member_text(member).partition(":")[0]
        for member in _sequence(members, "members")
    ]


def validate_job_id(job_id: object) -> None:
    """Raise as RQ's ``validate_job_id`` does unless ``job_id`` is a valid job id.

    A valid id is a non-empty str of ASCII letters, digits, ``_`` and ``-``.
    """
    if not isinstance(job_id, str):
        raise TypeError(f"Job ID must be a string, not {type(job_id)}")
    if not job_id or not all(
        ("a" <= c <= "z") or ("A" <= c <= "Z") or ("0" <= c <= "9") or c in "_-"
        for c in job_id
    ):
        raise ValueError(
            "Job ID must only contain letters, numbers, underscores and dashes"
        )


def validate_job_ids(job_ids: list[Any] | tuple[Any, ...]) -> None:
    """Validate every id with :func:`validate_job_id`; raise for the first bad one."""
    for job_id in _sequence(job_ids, "job_ids"):
        validate_job_id(job_id)


def partition_by_deadline(
    scored: list[Any] | tuple[Any, ...], deadline: float
) -> tuple[list[str], list[str]]:
    """Split ``(member, score)`` pairs into members due by ``deadline`` and the rest.

    Due means ``0 <= score <= deadline``. Members are decoded as by
    :func:`split_members` but not split; order is kept within each list.
    """
    entries = _sequence(scored, "scored")
    if isinstance(deadline, bool) or not isinstance(deadline, (int, float)):
        raise TypeError(f"deadline must be a number, not {type(deadline).__name__}")
    limit = float(deadline)
    due: list[str] = []
    rest: list[str] = []
    for entry in entries:
        if not isinstance(entry, tuple) or len(entry) != 2:
            raise TypeError("scored entries must be (member, score) tuples")
        member, score = entry
        if isinstance(score, bool) or not isinstance(score, (int, float)):
            raise TypeError(f"score must be a number, not {type(score).__name__}")
        text = _member_text(member)
        value = float(score)
        (due if 0.0 <= value <= limit else rest).append(text)
    return due, rest


# ---------------------------------------------------------------------------
# Packing a command
#
# The RESP bytes hiredis.pack_command makes for a command: "*<count>\r\n",
# then "$<length>\r\n<bytes>\r\n" for each argument, a str as its UTF-8 and
# an int or a float as its repr(). Only the kinds the worker's script calls
# use are packed here; for anything else the answer is None and the caller
# asks hiredis, which packs it or raises its own error.

_INT64 = range(-(2**63), 2**63)


def _packed_argument(value: object) -> bytes | None:
    kind = type(value)
    if kind is bytes:
        return value  # type: ignore[return-value]
    if isinstance(value, str):
        try:
            return str.encode(value, "utf-8")
        except UnicodeEncodeError:
            return None
    if kind is int:
        return str(value).encode() if value in _INT64 else None
    if kind is float:
        return repr(value).encode()
    return None


def pack_command(args: tuple[Any, ...]) -> bytes | None:
    """Return the RESP bytes of a command as hiredis packs them, or None.

    None means an argument is of a kind left to hiredis: anything but
    bytes, str, an int in the 64-bit range or a float (subclasses of bytes,
    int and float included), or a str with lone surrogates.
    """
    if not isinstance(args, tuple):
        raise TypeError(
            f"pack_command() argument must be a tuple, not {type(args).__name__}"
        )
    pieces = [b"*%d\r\n" % len(args)]
    for value in args:
        packed = _packed_argument(value)
        if packed is None:
            return None
        pieces.append(b"$%d\r\n%s\r\n" % (len(packed), packed))
    return b"".join(pieces)


# ---------------------------------------------------------------------------
# Seconds as text
#
# The text Redis receives for the floats RQ writes: execution and result
# timestamps (datetime.timestamp()) and working time
# (timedelta.total_seconds()), as redis-py packs them, repr().


def timestamp_text(dt: datetime) -> str:
    """Return ``repr(dt.timestamp())``."""
    return repr(dt.timestamp())


def seconds_text(td: timedelta) -> str:
    """Return ``repr(td.total_seconds())``."""
    return repr(td.total_seconds())
