"""Job functions for the retry tests; importable by name, as RQ requires."""

from __future__ import annotations

import builtins

from rq import get_current_job

from rqfast.retry import RetryAfter


def always_fails(message: str = "boom") -> None:
    raise ValueError(message)


def raises(kind: str, message: str = "transient") -> None:
    raise getattr(builtins, kind)(message)


def throttled(seconds: float) -> None:
    raise RetryAfter(seconds, "slow down")


def fails_then_succeeds(failures: int) -> int:
    """Raise ConnectionError on the first ``failures`` attempts, then succeed."""
    job = get_current_job()
    assert job is not None
    attempt = job.connection.incr(f"attempts:{job.id}")
    if attempt <= failures:
        raise ConnectionError(f"attempt {attempt} failed")
    return attempt
