"""Choose the C extension or its pure-Python twin: the one place that does.

``RQFAST_PURE_PYTHON=1`` forces the twin. Otherwise the C extension is used,
and the twin only stands in when the extension was not built (a warning then
says so). The rest of rqfast calls through ``_impl.ext`` so that the tests can
switch implementations with :func:`use`.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from . import _reference


class Codec(Protocol):
    """The functions the C extension and its pure-Python twin both provide."""

    def utcformat(self, dt: datetime, /) -> str: ...
    def utcparse(self, string: str, /) -> datetime: ...
    def get_interval(self, count: int, intervals: int | list[int] | None, /) -> int: ...
    def retry_interval(
        self, intervals: list[int] | None, retries_left: int, /
    ) -> int: ...
    def decode_job_hash(
        self, raw: Mapping[Any, Any], /
    ) -> tuple[dict[str, Any], bytes | None, bytes | None, bytes | None]: ...
    def decode_job_state(
        self, raw: Mapping[Any, Any], state: dict[str, Any], /
    ) -> tuple[bytes | None, bytes | None, bytes | None]: ...
    def encode_job_hash(
        self,
        job: Any,
        data: bytes,
        exc_info: bytes | None,
        include_meta: bool = True,
        include_result: bool = True,
        /,
    ) -> dict[str, Any]: ...
    def encode_job_state(
        self, job: Any, include_meta: bool = True, include_result: bool = True, /
    ) -> dict[str, Any]: ...
    def compress(self, data: bytes, /) -> bytes: ...
    def changed_fields(
        self, mapping: dict[str, Any], raw: dict[bytes, bytes], /
    ) -> dict[str, Any]: ...
    def uniform(self, state: int, /) -> tuple[float, int]: ...
    def backoff_delay(
        self, retry_number: int, first: float, factor: float, cap: float | None, /
    ) -> float: ...
    def retry_delay(
        self,
        retry_number: int,
        previous: float,
        first: float,
        factor: float,
        cap: float | None,
        jitter: int,
        state: int,
        /,
    ) -> tuple[float, int]: ...
    def next_run_times(
        self,
        now: float,
        retry_numbers: list[int],
        previous: list[float],
        first: float,
        factor: float,
        cap: float | None,
        jitter: int,
        state: int,
        /,
    ) -> tuple[list[float], int]: ...
    def split_members(
        self, members: list[Any] | tuple[Any, ...], /
    ) -> list[tuple[str, str]]: ...
    def member_job_ids(self, members: list[Any] | tuple[Any, ...], /) -> list[str]: ...
    def validate_job_id(self, job_id: object, /) -> None: ...
    def validate_job_ids(self, job_ids: list[Any] | tuple[Any, ...], /) -> None: ...
    def partition_by_deadline(
        self, scored: list[Any] | tuple[Any, ...], deadline: float, /
    ) -> tuple[list[str], list[str]]: ...
    def pack_command(self, args: tuple[Any, ...], /) -> bytes | None: ...
    def timestamp_text(self, dt: datetime, /) -> str: ...
    def seconds_text(self, td: timedelta, /) -> str: ...


ext: Codec
#: "c" or "py": which implementation ``ext`` is.
name: str
#: The loaded C extension, or None when it could not be imported.
c_ext: Codec | None

try:
    from . import _speedups
except ImportError as exc:  # the extension was not built
    c_ext = None
    _import_error: ImportError | None = exc
else:
    c_ext = _speedups
    _import_error = None

if os.environ.get("RQFAST_PURE_PYTHON", "") not in ("", "0"):
    ext, name = _reference, "py"
elif c_ext is not None:
    ext, name = c_ext, "c"
else:
    warnings.warn(
        f"rqfast: the C extension is not available ({_import_error}); "
        "using the pure-Python implementation",
        RuntimeWarning,
        stacklevel=2,
    )
    ext, name = _reference, "py"


def use(implementation: str) -> None:
    """Switch to the "c" or "py" implementation (for tests and benchmarks)."""
    global ext, name
    if implementation == "c":
        if c_ext is None:
            raise ImportError(
                f"the rqfast C extension is not available: {_import_error}"
            )
        ext, name = c_ext, "c"
    elif implementation == "py":
        ext, name = _reference, "py"
    else:
        raise ValueError(f"implementation must be 'c' or 'py', not {implementation!r}")
    from . import patch

    patch.reapply()
