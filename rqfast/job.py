"""rqfast's Job: RQ's Job with its hash read and written by the C codec.

A job hash is decoded in one call into the attribute values stock
``Job.restore`` assigns, and encoded in one call into the mapping stock
``Job.to_dict`` returns, so what reaches Redis is byte for byte what stock RQ
writes. The methods here are also copied onto ``rq.job.Job`` by
:func:`rqfast.install`, so they call stock code through module-level
references rather than ``super()``.

The compressed payload (``data``) and exception text (``exc_info``) are kept
next to the values they were made from, so saving a job whose payload has not
changed compresses nothing. A payload read from Redis is written back exactly
as it was read; stock RQ would recompress it, which gives the same bytes for
any payload written by this zlib at RQ's level.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import math
import re
import sys
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from types import ModuleType
from typing import TYPE_CHECKING, Any

import rq.job
from rq.job import Job as _RQJob
from rq.utils import import_attribute
from rq.webhook import Webhook

from . import _impl

if TYPE_CHECKING:
    from .retry import Retry

__all__ = ["Attempt", "Job", "attach_policy"]

#: Extra hash fields rqfast writes; stock RQ ignores them.
POLICY_FIELD = "rqfast_retry"
ATTEMPTS_FIELD = "rqfast_attempts"

_UNSERIALIZABLE_RESULT = rq.job.UNSERIALIZABLE_RETURN_VALUE_PAYLOAD  # type: ignore[attr-defined]


_stock_create = vars(_RQJob)["create"].__func__


def _argument(
    function: Callable[..., Any], name: str
) -> Callable[[tuple[Any, ...], dict[str, Any]], Any]:
    """Return a getter of argument ``name`` from a call's (args, kwargs)."""
    position = list(inspect.signature(function).parameters).index(name) - 1

    def get(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if name in kwargs:
            return kwargs[name]
        return args[position] if len(args) > position else None

    return get


_create_retry = _argument(_stock_create, "retry")


def attach_policy(job: _RQJob, retry: object) -> None:
    """Keep an rqfast retry policy with a job, if it says more than stock RQ can."""
    # After install(), RQ's own Retry carries rqfast's policy methods too.
    if isinstance(retry, rq.job.Retry) and getattr(retry, "has_extras", False):
        job.__dict__["_rqfast_policy"] = retry


@dataclass(frozen=True)
class Attempt:
    """One failed attempt of a job, as kept in its ``rqfast_attempts`` field."""

    number: int
    exc_type: str
    message: str
    traceback: str
    failed_at: datetime
    worker_name: str | None
    #: The delay before the next attempt, or None when the job gave up.
    retry_in: float | None


#: How many failed attempts a job keeps, the newest.
ATTEMPTS_KEPT = 10
#: How much of each attempt's exception message and traceback is kept.
MESSAGE_CHARS = 1000
TRACEBACK_CHARS = 4000


# The history is a JSON list of flat objects, each written
# with "n" first and with every quote inside a string escaped, so ``{"n":``
# occurs only where an entry begins. Appending an attempt and reading the
# newest one therefore work on the text around those marks, without parsing
# or re-encoding the older entries; a history in any other layout is parsed.
_ENTRY = b'{"n":'
_OWN_LAYOUT = b"[" + _ENTRY
#: The attempt number that follows _ENTRY, as rqfast writes it.
_ENTRY_NUMBER = re.compile(rb"-?[0-9]+(?=[,}])")


#: A history's text is stored as it is up to this many bytes, and
#: zlib-compressed when longer: deflating a few hundred bytes costs a worker
#: more than the memory it saves. Readers tell the two forms apart by the
#: first byte: the text's is "[", and a zlib stream's never is (its low four
#: bits are always 8).
HISTORY_PLAIN_BYTES = 4096


def _stored_history(text: bytes) -> bytes:
    """Return the history text as stored in the job hash: as is, or compressed."""
    if len(text) <= HISTORY_PLAIN_BYTES:
        return text
    return _impl.ext.compress(text)


def _history_text(job: _RQJob) -> bytes:
    """Return a job's attempt history as JSON text (b"" for none), read once."""
    state = job.__dict__
    raw = state.get("_rqfast_attempts_raw")
    if not raw:
        return b""
    if raw[:1] == b"[":
        text: bytes = raw
        return text
    cached = state.get("_rqfast_attempts_text")
    if cached is not None and cached[0] is raw:
        text = cached[1]
        return text
    text = zlib.decompress(raw)
    state["_rqfast_attempts_text"] = (raw, text)
    return text


def _entries_text(text: bytes) -> list[bytes]:
    """Split a history in rqfast's own layout into its entries' JSON texts."""
    pieces = text[1:-1].split(b"," + _ENTRY)
    return [pieces[0], *(_ENTRY + piece for piece in pieces[1:])]


def _attempt_entries(job: _RQJob) -> list[dict[str, Any]]:
    text = _history_text(job)
    if not text:
        return []
    entries: list[dict[str, Any]] = json.loads(text)
    return entries


def last_attempt(job: _RQJob) -> dict[str, Any] | None:
    """Return the newest recorded failed attempt of a job, as stored."""
    text = _history_text(job)
    if not text.startswith(_OWN_LAYOUT):
        entries = _attempt_entries(job)
        return entries[-1] if entries else None
    cut = text.rfind(b"," + _ENTRY)
    entry: dict[str, Any] = json.loads(text[cut + 1 if cut >= 0 else 1 : -1])
    return entry


def last_attempt_number(job: _RQJob) -> int | None:
    """Return the number of a job's newest recorded failed attempt, if any.

    In rqfast's own layout the number is read where the newest entry begins,
    without parsing the entry.
    """
    text = _history_text(job)
    if not text:
        return None
    if text.startswith(_OWN_LAYOUT):
        number = _ENTRY_NUMBER.match(text, text.rfind(_ENTRY) + len(_ENTRY))
        if number is not None:
            return int(number[0])
    last = last_attempt(job)
    return None if last is None else int(last["n"])


def record_attempt(
    job: _RQJob,
    number: int,
    exc: BaseException | None,
    traceback_text: str,
    worker_name: str | None,
    retry_in: float | None,
) -> None:
    """Add a failed attempt to a job's history; the next save stores it."""
    kind = type(exc) if exc is not None else None
    entry = {
        "n": number,
        "type": (
            ""
            if kind is None
            else kind.__qualname__
            if kind.__module__ == "builtins"
            else f"{kind.__module__}.{kind.__qualname__}"
        ),
        "message": str(exc)[:MESSAGE_CHARS] if exc is not None else "",
        "traceback": traceback_text[-TRACEBACK_CHARS:],
        "at": _impl.ext.utcformat(datetime.now(timezone.utc)),
        "worker": worker_name,
        "retry_in": retry_in,
    }
    added = _entry_json(entry)
    text = _history_text(job)
    if not text:
        kept: list[bytes] = []
    elif text.startswith(_OWN_LAYOUT):
        if text.count(b"," + _ENTRY) < ATTEMPTS_KEPT - 1:
            # Room for one more: the older entries stay as they are.
            text = text[:-1] + b"," + added + b"]"
            _store_history(job, text)
            return
        kept = _entries_text(text)[-(ATTEMPTS_KEPT - 1) :]
    else:
        kept = [
            json.dumps(old, separators=(",", ":")).encode()
            for old in _attempt_entries(job)[-(ATTEMPTS_KEPT - 1) :]
        ]
    _store_history(job, b"[" + b",".join([*kept, added]) + b"]")


def _store_history(job: _RQJob, text: bytes) -> None:
    """Keep a job's new history text, in its stored form, for the next save."""
    raw = _stored_history(text)
    job.__dict__["_rqfast_attempts_raw"] = raw
    if raw is not text:
        job.__dict__["_rqfast_attempts_text"] = (raw, text)


_json_string = json.encoder.encode_basestring_ascii


#: The JSON of recent long texts (tracebacks, mostly): a failing job tends
#: to fail the same way again, and looking a text up costs far less than
#: escaping it character by character.
_escaped_texts: dict[str, str] = {}
_ESCAPED_KEPT = 64
_ESCAPED_FROM = 128


def _json_text(value: str) -> str:
    """Return a str as json.dumps writes it, long ones from recent results."""
    if len(value) < _ESCAPED_FROM:
        text: str = _json_string(value)
        return text
    text = _escaped_texts.get(value, "")
    if not text:
        if len(_escaped_texts) >= _ESCAPED_KEPT:
            _escaped_texts.clear()
        text = _escaped_texts[value] = _json_string(value)
    return text


def _json_scalar(value: Any) -> str | None:
    """Return a value as json.dumps writes it, for the types an entry holds."""
    kind = type(value)
    if kind is str:
        return _json_text(value)
    if value is None:
        return "null"
    if kind is int or (kind is float and math.isfinite(value)):
        return repr(value)
    return None


def _entry_json(entry: dict[str, Any]) -> bytes:
    """Return an attempt entry as ``json.dumps`` writes it compactly, in ASCII.

    Entries are written field by field with the json module's own string
    escaper; a value of any other type than text, a whole or finite number
    or None takes ``json.dumps`` itself.
    """
    parts = []
    for name, value in entry.items():
        written = _json_scalar(value)
        if written is None:
            return json.dumps(entry, separators=(",", ":")).encode()
        parts.append(f'"{name}":{written}')
    return ("{" + ",".join(parts) + "}").encode()


#: Where a job function named "module.attribute" was found: its name ->
#: (module name, module, attribute name). RQ resolves a job's function
#: through importlib for every execution; while the module is still the one
#: in sys.modules, reading the attribute from it gives the same function
#: (patched, if a test patched it) without importlib's module locks.
_found_functions: dict[str, tuple[str, ModuleType, str]] = {}
_MISSING = object()


def _job_function(job: _RQJob) -> Any:
    """Return the function a job calls, as stock ``Job.func`` resolves it."""
    name = job.func_name
    if name is None:
        return None
    if job.instance:
        return getattr(job.instance, name)
    found = _found_functions.get(name)
    if found is not None and sys.modules.get(found[0]) is found[1]:
        function = getattr(found[1], found[2], _MISSING)
        if function is not _MISSING:
            return function
    function = import_attribute(name)
    module_name, _, attribute = name.rpartition(".")
    module = sys.modules.get(module_name)
    if module is not None and getattr(module, attribute, None) is function:
        _found_functions[name] = (module_name, module, attribute)
    return function


class Job(_RQJob):
    """An RQ job whose hash is decoded and encoded in C."""

    @classmethod
    def create(cls, *args: Any, **kwargs: Any) -> Any:
        """Create a job as stock RQ does, keeping an rqfast retry policy with it."""
        job = _stock_create(cls, *args, **kwargs)
        attach_policy(job, _create_retry(args, kwargs))
        return job

    @property
    def func(self) -> Any:
        """Return the function this job calls, resolved as stock RQ does."""
        return _job_function(self)

    def _execute(self) -> Any:
        """Call the job's function as stock RQ does, resolving it once."""
        function = _job_function(self)
        if not function:
            raise ValueError("Cannot execute job: function is None")
        result = function(*self.args, **self.kwargs)
        if asyncio.iscoroutine(result):
            return asyncio.new_event_loop().run_until_complete(result)
        return result

    @property
    def retry_policy(self) -> Retry | None:
        """Return the rqfast retry policy stored with this job, if any."""
        state = self.__dict__
        policy: Retry | None = state.get("_rqfast_policy")
        if policy is None and state.get("_rqfast_policy_raw"):
            from .retry import Retry

            policy = Retry.from_json(state["_rqfast_policy_raw"])
            state["_rqfast_policy"] = policy
        return policy

    @property
    def attempts(self) -> list[Attempt]:
        """Return this job's failed attempts, oldest first (a bounded number)."""
        return [
            Attempt(
                number=entry["n"],
                exc_type=entry["type"],
                message=entry["message"],
                traceback=entry["traceback"],
                failed_at=_impl.ext.utcparse(entry["at"]),
                worker_name=entry.get("worker"),
                retry_in=entry.get("retry_in"),
            )
            for entry in _attempt_entries(self)
        ]

    def restore(self, raw_data: Mapping[Any, Any]) -> None:
        """Overwrite this job's attributes with a job hash as HGETALL returns it."""
        # The attributes, payload resets, rqfast's fields and the compressed
        # forms read, written into the instance dict in one call.
        result, meta, webhooks = _impl.ext.decode_job_state(raw_data, self.__dict__)
        if result is not None:
            try:
                self._result = self.serializer.loads(result)
            except Exception:
                self._result = _UNSERIALIZABLE_RESULT
        if meta is None:
            self.meta = {}
        else:
            try:
                self.meta = self.serializer.loads(meta)
            except Exception:
                self.meta = {"unserialized": meta}
        if webhooks is not None:
            try:
                self.webhooks = [
                    Webhook.from_dict(entry) for entry in json.loads(webhooks.decode())
                ]
            except Exception:
                self.log.warning(
                    "Job %s: failed to deserialize webhooks", self.id, exc_info=True
                )
                self.webhooks = []

    def to_dict(
        self, include_meta: bool = True, include_result: bool = True
    ) -> dict[str, Any]:
        """Return the mapping stock RQ stores for this job, and rqfast's fields."""
        return _impl.ext.encode_job_state(self, include_meta, include_result)

    def get_retry_interval(self) -> int:
        """Return the delay in seconds before this job's next retry."""
        return _impl.ext.retry_interval(self.retry_intervals, self.retries_left or 0)


PATCHES: list[tuple[type, type]] = [(_RQJob, Job)]
