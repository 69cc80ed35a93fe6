"""Types of the C extension; its behaviour is that of ``rqfast._reference``."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

def utcformat(dt: datetime, /) -> str: ...
def utcparse(string: str, /) -> datetime: ...
def get_interval(
    count: int, intervals: int | list[int] | tuple[int, ...] | None, /
) -> int: ...
def retry_interval(
    intervals: list[int] | tuple[int, ...] | None, retries_left: int, /
) -> int: ...
def decode_job_hash(
    raw: Mapping[Any, Any], /
) -> tuple[dict[str, Any], bytes | None, bytes | None, bytes | None]: ...
def decode_job_state(
    raw: Mapping[Any, Any], state: dict[str, Any], /
) -> tuple[bytes | None, bytes | None, bytes | None]: ...
def encode_job_hash(
    job: Any,
    data: bytes,
    exc_info: bytes | None,
    include_meta: bool = True,
    include_result: bool = True,
) -> dict[str, Any]: ...
def encode_job_state(
    job: Any, include_meta: bool = True, include_result: bool = True
) -> dict[str, Any]: ...
def compress(data: bytes, /) -> bytes: ...

#: Whether small payloads are deflated by the zlib linked into the extension
#: (the version Python's zlib module runs) rather than through Python's zlib.
direct_deflate: bool

def changed_fields(
    mapping: dict[str, Any], raw: dict[bytes, bytes], /
) -> dict[str, Any]: ...
def split_members(members: list[Any] | tuple[Any, ...], /) -> list[tuple[str, str]]: ...
def member_job_ids(members: list[Any] | tuple[Any, ...], /) -> list[str]: ...
def validate_job_id(job_id: object, /) -> None: ...
def validate_job_ids(job_ids: list[Any] | tuple[Any, ...], /) -> None: ...
def partition_by_deadline(
    scored: list[Any] | tuple[Any, ...], deadline: float, /
) -> tuple[list[str], list[str]]: ...
def uniform(state: int, /) -> tuple[float, int]: ...
def backoff_delay(
    retry_number: int, first: float, factor: float, cap: float | None, /
) -> float: ...
def retry_delay(
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
def pack_command(args: tuple[Any, ...], /) -> bytes | None: ...
def timestamp_text(dt: datetime, /) -> str: ...
def seconds_text(td: timedelta, /) -> str: ...
