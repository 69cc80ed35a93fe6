"""rqfast's Retry: RQ's Retry plus backoff, jitter and exception filters.

``Retry(max, interval)`` keeps stock RQ's exact behaviour and bytes. The
keyword-only arguments add what stock RQ lacks:

- ``backoff=factor``: exponential backoff, ``interval`` being the first
  delay, each later delay ``factor`` times the one before, up to ``cap``;
- ``jitter``: ``"none"``, ``"full"`` (uniform between 0 and the delay),
  ``"equal"`` (half the delay plus up to half again) or ``"decorrelated"``
  (uniform between the first delay and three times the previous one, capped);
  ``seed`` makes the draws reproducible;
- ``on``: the exception types worth retrying (any exception by default);
  ``giveup_on``: types never retried, whatever ``on`` says; ``retry_if``: a
  predicate called with the exception for anything else.

A job enqueued with such a policy stores it in an extra hash field,
``rqfast_retry`` (JSON), which stock RQ ignores. ``retries_left`` and
``retry_intervals`` still hold the policy's count and its deterministic
delays (backoff without jitter, rounded up to whole seconds), so a stock
worker that picks the job up still retries it, on that schedule, for any
exception. Exception types and predicates are stored by their import path,
so they must be importable module-level names.

An exception raised by a job may choose its own next delay: raise
:class:`RetryAfter`, or any exception with a numeric (or timedelta)
``retry_after`` attribute. The delay is still capped and still counts as an
attempt.
"""

from __future__ import annotations

import json
import math
import os
import threading
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from rq.job import Retry as _RQRetry
from rq.utils import import_attribute

from . import _impl

__all__ = ["Retry", "RetryAfter", "RetrySchedule"]

# Stock methods, captured before install() copies this module's onto RQ's Retry.
_stock_init = _RQRetry.__init__

_JITTERS = {"none": 0, "full": 1, "equal": 2, "decorrelated": 3}
_MASK64 = (1 << 64) - 1
#: The policy format version written in ``rqfast_retry``.
POLICY_VERSION = 1


class RetryAfter(Exception):
    """Raised by a job to be retried after ``seconds``; capped, and still an attempt."""

    def __init__(self, seconds: float | timedelta, message: str = "") -> None:
        delay = seconds.total_seconds() if isinstance(seconds, timedelta) else seconds
        if not delay >= 0:
            raise ValueError(f"RetryAfter needs a delay >= 0, not {seconds!r}")
        super().__init__(message or f"retry after {delay:g}s")
        self.retry_after = float(delay)


class _ProcessRandom:
    """The process's jitter generator state, reseeded from the OS after fork."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reseed()
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self.state = int.from_bytes(os.urandom(8), "little")

    def retry_delay(self, retry_number: int, previous: float, policy: Retry) -> float:
        with self._lock:
            delay, self.state = policy._draw(retry_number, previous, self.state)
        return delay


_process_random = _ProcessRandom()


def _import_path(obj: Any, what: str) -> str:
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname or "<" in qualname or module == "__main__":
        raise ValueError(
            f"{what} {obj!r} must be an importable module-level name to be stored "
            "with the job"
        )
    return qualname if module == "builtins" else f"{module}.{qualname}"


def _import_exception(name: str) -> type[BaseException]:
    kind = import_attribute(name)
    if not (isinstance(kind, type) and issubclass(kind, BaseException)):
        raise TypeError(f"{name!r} is not an exception type")
    return kind


def _exception_types(value: Any, what: str) -> tuple[type[BaseException], ...]:
    types = (value,) if isinstance(value, type) else tuple(value)
    for kind in types:
        if not (isinstance(kind, type) and issubclass(kind, BaseException)):
            raise TypeError(f"{what} must hold exception types, not {kind!r}")
    return types


def retry_after_of(exc: BaseException) -> float | None:
    """Return the delay an exception asks for through ``retry_after``, if any."""
    value = getattr(exc, "retry_after", None)
    if isinstance(value, timedelta):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if value >= 0 and math.isfinite(value) else None


@dataclass(frozen=True)
class _Extras:
    """What an rqfast policy adds to stock RQ's ``max`` and ``intervals``."""

    first: float
    backoff: float | None = None
    cap: float | None = None
    jitter: str = "none"
    on: tuple[type[BaseException], ...] | None = None
    giveup_on: tuple[type[BaseException], ...] = ()
    retry_if: Callable[[BaseException], bool] | None = None
    seed: int | None = None


@dataclass(frozen=True)
class RetrySchedule:
    """A preview of a retry policy: the delay range before each retry."""

    #: (shortest, longest) delay in seconds before retry 1, 2, ...
    delays: list[tuple[float, float]]

    @property
    def total(self) -> tuple[float, float]:
        """Return the (shortest, longest) time from the first failure to giving up."""
        return (
            sum(low for low, _ in self.delays),
            sum(high for _, high in self.delays),
        )

    def __str__(self) -> str:
        lines = ["retry  delay"]
        for number, (low, high) in enumerate(self.delays, 1):
            shown = f"{low:g}s" if low == high else f"{low:g}s to {high:g}s"
            lines.append(f"{number:>5}  {shown}")
        low, high = self.total
        total = f"{low:g}s" if low == high else f"{low:g}s to {high:g}s"
        lines.append(f"gives up after {total} of waiting")
        return "\n".join(lines)


class Retry(_RQRetry):
    """An RQ retry policy, with optional backoff, jitter and exception filters."""

    def __init__(
        self,
        max: int,
        interval: int | float | Iterable[int] = 0,
        enqueue_at_front: bool = False,
        *,
        backoff: float | None = None,
        cap: float | None = None,
        jitter: str = "none",
        on: type[BaseException] | Iterable[type[BaseException]] | None = None,
        giveup_on: type[BaseException] | Iterable[type[BaseException]] = (),
        retry_if: Callable[[BaseException], bool] | None = None,
        seed: int | None = None,
    ) -> None:
        if backoff is None:
            _stock_init(self, max, interval, enqueue_at_front)  # type: ignore[arg-type]
            first = float(self.intervals[0]) if self.intervals else 0.0
        else:
            if isinstance(interval, bool) or not isinstance(interval, (int, float)):
                raise ValueError(
                    "interval: with backoff, give the first delay as a number"
                )
            if not interval >= 0:
                raise ValueError("interval: negative numbers are not allowed")
            if not backoff >= 1:
                raise ValueError(f"backoff: the factor must be >= 1, not {backoff!r}")
            _stock_init(self, max, 0, enqueue_at_front)
            first = float(interval)
        if cap is not None and not cap >= 0:
            raise ValueError(f"cap: must be >= 0, not {cap!r}")
        if jitter not in _JITTERS:
            raise ValueError(
                f"jitter: must be one of {', '.join(_JITTERS)}, not {jitter!r}"
            )
        if jitter == "decorrelated" and backoff is None:
            raise ValueError("jitter: decorrelated jitter needs backoff=")
        if seed is not None and not 0 <= seed <= _MASK64:
            raise ValueError("seed: must be an integer from 0 to 2**64 - 1")

        extras = _Extras(
            first=first,
            backoff=None if backoff is None else float(backoff),
            cap=None if cap is None else float(cap),
            jitter=jitter,
            on=None if on is None else _exception_types(on, "on"),
            giveup_on=_exception_types(giveup_on, "giveup_on"),
            retry_if=retry_if,
            seed=seed,
        )
        # A policy stock RQ could express keeps stock's attributes only, so that
        # it pickles (in a job's result, say) to the bytes stock RQ would write.
        if extras != _Extras(first=first):
            self.__dict__["_rqfast_extras"] = extras
        if extras.backoff is not None:
            # What a stock worker reads: the deterministic delays, whole seconds.
            self.intervals = [
                math.ceil(_impl.ext.backoff_delay(n, first, extras.backoff, extras.cap))
                for n in range(1, self.max + 1)
            ]
        elif extras.cap is not None:
            self.intervals = [min(i, math.ceil(extras.cap)) for i in self.intervals]

    @property
    def _extras(self) -> _Extras:
        found: _Extras | None = self.__dict__.get("_rqfast_extras")
        if found is None:
            intervals = self.intervals
            return _Extras(first=float(intervals[0]) if intervals else 0.0)
        return found

    @property
    def first(self) -> float:
        """Return the first delay, in seconds."""
        return self._extras.first

    @property
    def backoff(self) -> float | None:
        """Return the backoff factor, or None for stock RQ's interval rules."""
        return self._extras.backoff

    @property
    def cap(self) -> float | None:
        """Return the longest delay, or None."""
        return self._extras.cap

    @property
    def jitter(self) -> str:
        """Return the jitter kind's name."""
        return self._extras.jitter

    @property
    def on(self) -> tuple[type[BaseException], ...] | None:
        """Return the exception types retried, or None for any."""
        return self._extras.on

    @property
    def giveup_on(self) -> tuple[type[BaseException], ...]:
        """Return the exception types never retried."""
        return self._extras.giveup_on

    @property
    def retry_if(self) -> Callable[[BaseException], bool] | None:
        """Return the predicate deciding on other exceptions, or None."""
        return self._extras.retry_if

    @property
    def seed(self) -> int | None:
        """Return the jitter seed, or None for the process's generator."""
        return self._extras.seed

    @classmethod
    def get_interval(cls, count: int, intervals: int | list[int] | None) -> int:
        """Return the delay before retry number ``count``.

        The last delay of a list repeats once the list is used up.
        """
        return _impl.ext.get_interval(count, intervals)

    def __repr__(self) -> str:
        interval = self.intervals[0] if len(self.intervals) == 1 else self.intervals
        extras = [
            f"max={self.max!r}",
            f"interval={interval!r}",
            f"enqueue_at_front={self.enqueue_at_front!r}",
        ]
        if self.backoff is not None:
            extras.append(f"backoff={self.backoff!r}")
        if self.cap is not None:
            extras.append(f"cap={self.cap!r}")
        if self.jitter != "none":
            extras.append(f"jitter={self.jitter!r}")
        if self.on is not None:
            extras.append(f"on={self.on!r}")
        if self.giveup_on:
            extras.append(f"giveup_on={self.giveup_on!r}")
        if self.retry_if is not None:
            extras.append(f"retry_if={self.retry_if!r}")
        if self.seed is not None:
            extras.append(f"seed={self.seed!r}")
        return f"{type(self).__name__}({', '.join(extras)})"

    # What stock RQ cannot express

    @property
    def has_extras(self) -> bool:
        """Return whether this policy needs the ``rqfast_retry`` field."""
        return (
            self.backoff is not None
            or self.cap is not None
            or self.jitter != "none"
            or self.on is not None
            or bool(self.giveup_on)
            or self.retry_if is not None
        )

    def to_json(self) -> str:
        """Return the policy as stored in a job's ``rqfast_retry`` field."""
        policy: dict[str, Any] = {
            "v": POLICY_VERSION,
            "max": self.max,
            "intervals": self.intervals,
            "first": self.first,
            "enqueue_at_front": self.enqueue_at_front,
        }
        if self.backoff is not None:
            policy["backoff"] = self.backoff
        if self.cap is not None:
            policy["cap"] = self.cap
        if self.jitter != "none":
            policy["jitter"] = self.jitter
        if self.on is not None:
            policy["on"] = [_import_path(kind, "on") for kind in self.on]
        if self.giveup_on:
            policy["giveup_on"] = [_import_path(k, "giveup_on") for k in self.giveup_on]
        if self.retry_if is not None:
            policy["retry_if"] = _import_path(self.retry_if, "retry_if")
        if self.seed is not None:
            policy["seed"] = self.seed
        return json.dumps(policy, separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> Retry:
        """Rebuild a policy from a job's ``rqfast_retry`` field."""
        policy = json.loads(text)
        if not isinstance(policy, dict) or policy.get("v") != POLICY_VERSION:
            raise ValueError(f"unsupported rqfast_retry policy: {text[:80]!r}")
        backoff = policy.get("backoff")
        retry = cls(
            policy["max"],
            policy["first"] if backoff is not None else policy["intervals"],
            policy.get("enqueue_at_front", False),
            backoff=backoff,
            cap=policy.get("cap"),
            jitter=policy.get("jitter", "none"),
            on=None
            if "on" not in policy
            else [_import_exception(n) for n in policy["on"]],
            giveup_on=[_import_exception(n) for n in policy.get("giveup_on", ())],
            retry_if=import_attribute(policy["retry_if"])
            if "retry_if" in policy
            else None,
            seed=policy.get("seed"),
        )
        return retry

    @classmethod
    def from_spec(cls, spec: str) -> Retry:
        """Build a policy from a command-line spec.

        ``"3"`` is three immediate retries; otherwise comma-separated
        ``name=value`` pairs: ``max``, ``interval`` (seconds, or delays joined
        by ``/``), ``backoff``, ``cap``, ``jitter``, ``seed``, ``on`` and
        ``giveup_on`` (exception import paths joined by ``|``), ``retry_if``
        and ``at_front``. Example: ``max=5,interval=1,backoff=2,cap=60,jitter=full``.
        """
        text = spec.strip()
        if text.isdigit():
            return cls(int(text))
        options: dict[str, Any] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            name, sep, value = part.partition("=")
            name, value = name.strip(), value.strip()
            if not sep or not value:
                raise ValueError(
                    f"retry spec {spec!r}: expected name=value, got {part!r}"
                )
            if name in ("max", "seed"):
                options[name] = int(value)
            elif name == "interval":
                delays = [float(v) if "." in v else int(v) for v in value.split("/")]
                options[name] = delays[0] if len(delays) == 1 else delays
            elif name in ("backoff", "cap"):
                options[name] = float(value)
            elif name == "jitter":
                options[name] = value
            elif name in ("on", "giveup_on"):
                options[name] = [_import_exception(v.strip()) for v in value.split("|")]
            elif name == "retry_if":
                options[name] = import_attribute(value)
            elif name == "at_front":
                options["enqueue_at_front"] = value.lower() in ("1", "true", "yes")
            else:
                raise ValueError(f"retry spec {spec!r}: unknown setting {name!r}")
        if "max" not in options:
            raise ValueError(f"retry spec {spec!r}: max= is required")
        return cls(**options)

    def should_retry(self, exc: BaseException) -> bool:
        """Return whether this policy retries after ``exc`` (retries left aside)."""
        if isinstance(exc, self.giveup_on):
            return False
        if self.on is not None and not isinstance(exc, self.on):
            return False
        return self.retry_if is None or bool(self.retry_if(exc))

    def _draw(
        self, retry_number: int, previous: float, state: int
    ) -> tuple[float, int]:
        if self.backoff is not None:
            return _impl.ext.retry_delay(
                retry_number,
                previous,
                self.first,
                self.backoff,
                self.cap,
                _JITTERS[self.jitter],
                state,
            )
        # Stock's list rule: with more retries left than delays, the first repeats.
        delay = float(
            _impl.ext.retry_interval(self.intervals, self.max - retry_number + 1)
        )
        if self.jitter == "full":
            u, state = _impl.ext.uniform(state)
            return u * delay, state
        if self.jitter == "equal":
            u, state = _impl.ext.uniform(state)
            return delay / 2 + u * delay / 2, state
        return delay, state

    def delay(
        self,
        retry_number: int,
        previous: float | None = None,
        exc: BaseException | None = None,
        key: str = "",
    ) -> float:
        """Return the delay in seconds before retry ``retry_number`` (1-based).

        ``previous`` is the delay used before the previous retry (decorrelated
        jitter grows from it); ``exc`` may ask for its own delay through
        ``retry_after``. With a ``seed``, the draw depends only on the seed,
        ``key`` (a job id) and ``retry_number``.
        """
        if not 1 <= retry_number <= self.max:
            raise ValueError(
                f"retry_number must be from 1 to {self.max}, not {retry_number}"
            )
        asked = retry_after_of(exc) if exc is not None else None
        if asked is not None:
            return asked if self.cap is None else min(asked, self.cap)
        last = self.first if previous is None else previous
        if self.seed is None:
            return _process_random.retry_delay(retry_number, last, self)
        state = (
            self.seed * 0x100000001B3
            + zlib.crc32(key.encode()) * 0x9E3779B1
            + retry_number
        ) & _MASK64
        return self._draw(retry_number, last, state)[0]

    def schedule(self) -> RetrySchedule:
        """Return the delay range before each retry and the total until giving up."""
        delays = []
        high_before = self.first
        for number in range(1, self.max + 1):
            if self.backoff is not None:
                delay = _impl.ext.backoff_delay(
                    number, self.first, self.backoff, self.cap
                )
            else:
                delay = float(
                    _impl.ext.retry_interval(self.intervals, self.max - number + 1)
                )
            if self.jitter == "full":
                delays.append((0.0, delay))
            elif self.jitter == "equal":
                delays.append((delay / 2, delay))
            elif self.jitter == "decorrelated":
                high = max(self.first, high_before * 3)
                if self.cap is not None:
                    high = min(high, self.cap)
                low = self.first if self.cap is None else min(self.first, self.cap)
                delays.append((low, high))
                high_before = high
            else:
                delays.append((delay, delay))
        return RetrySchedule(delays)


PATCHES: list[tuple[type, type]] = [(_RQRetry, Retry)]
