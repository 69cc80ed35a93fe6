"""Exceptions raised by rqfast, by its C extension and its pure-Python twin alike."""

from __future__ import annotations


class JobHashError(ValueError):
    """A field of a job hash read from Redis cannot be decoded.

    ``field`` names the hash field; the message says what was wrong with it.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"job hash field {field!r}: {reason}")
        self.field = field
        self.reason = reason

    def __reduce__(self) -> tuple[type[JobHashError], tuple[str, str]]:
        return (type(self), (self.field, self.reason))
