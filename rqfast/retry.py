"""rqfast's Retry: RQ's Retry with its interval arithmetic in C."""

from __future__ import annotations

from rq.job import Retry as _RQRetry

from . import _impl

__all__ = ["Retry"]


class Retry(_RQRetry):
    """An RQ retry policy: ``max`` retries, a delay or a list of delays."""

    @classmethod
    def get_interval(cls, count: int, intervals: int | list[int] | None) -> int:
        """Return the delay before retry number ``count``.

        The last delay of a list repeats once the list is used up.
        """
        return _impl.ext.get_interval(count, intervals)


PATCHES: list[tuple[type, type]] = [(_RQRetry, Retry)]
