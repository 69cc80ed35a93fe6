"""Traceback text for failed jobs: stock RQ's, and a cheaper one for retries.

A job that fails for good stores the text stock RQ stores,
``traceback.format_exception``. A retried attempt's text goes into the job's
attempt history and the worker's log line, where :func:`attempt_traceback`
gives the same layout without the column markers (``^^^``) that Python 3.11
and later draw under each source line: drawing them parses every line shown,
which costs several times the rest of the formatting.
"""

from __future__ import annotations

import builtins
import linecache
import sys
import traceback
from typing import Any

__all__ = ["attempt_traceback", "stock_traceback"]


def stock_traceback(exc: BaseException) -> str:
    """Return the traceback text stock RQ stores for a failed job."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


_sys_attributes = vars(sys)

#: BaseExceptionGroup where Python has it (3.11 and later).
_EXCEPTION_GROUP: Any = getattr(builtins, "BaseExceptionGroup", ())
#: Consecutive identical frames shown before the rest are counted, as CPython's
#: traceback module does for deep recursion.
_REPEATS_SHOWN = 3


def _frames_text(tb: Any) -> list[str]:
    """Return a traceback's frame lines in the traceback module's layout."""
    lines: list[str] = []
    last: tuple[str, int, str] | None = None
    repeated = 0
    while tb is not None:
        code = tb.tb_frame.f_code
        frame = (code.co_filename, tb.tb_lineno, code.co_name)
        tb = tb.tb_next
        if frame == last:
            repeated += 1
            if repeated >= _REPEATS_SHOWN:
                continue
        else:
            if repeated >= _REPEATS_SHOWN:
                lines.append(_repeated_text(repeated - _REPEATS_SHOWN + 1))
            last, repeated = frame, 0
        lines.append(f'  File "{frame[0]}", line {frame[1]}, in {frame[2]}\n')
        source = linecache.getline(frame[0], frame[1]).strip()
        if source:
            lines.append(f"    {source}\n")
    if repeated >= _REPEATS_SHOWN:
        lines.append(_repeated_text(repeated - _REPEATS_SHOWN + 1))
    return lines


def _repeated_text(count: int) -> str:
    return f"  [Previous line repeated {count} more time{'s' if count > 1 else ''}]\n"


def attempt_traceback(exc: BaseException) -> str:
    """Format an exception and its chain as ``traceback.format_exception`` does.

    Only the column markers (``^^^``) that Python 3.11 and later draw under
    each source line are left out: drawing them parses every line shown, which
    costs several times the rest. Exception groups, and a ``sys.tracebacklimit``
    in force, take the traceback module's own path, markers dropped the same way.
    """
    # sys.tracebacklimit is unset unless someone sets it: reading the module's
    # dict spares the AttributeError getattr() would format and drop.
    if _sys_attributes.get("tracebacklimit") is not None:
        return _traceback_without_markers(exc)
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    joint = ""
    while current is not None and id(current) not in seen:
        if isinstance(current, _EXCEPTION_GROUP):
            return _traceback_without_markers(exc)
        seen.add(id(current))
        chain.append((current, joint))
        if current.__cause__ is not None:
            current, joint = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, joint = current.__context__, _CONTEXT
        else:
            current = None
    parts: list[str] = []
    for error, joint in reversed(chain):
        if error.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts += _frames_text(error.__traceback__)
        parts.append(_exception_line(error))
        parts.append(joint)
    return "".join(parts)


def _exception_line(error: BaseException) -> str:
    """Return the exception's last line as ``traceback.format_exception_only`` does.

    A SyntaxError (several lines) and an exception with notes take the
    traceback module's own path.
    """
    kind = type(error)
    if issubclass(kind, SyntaxError) or getattr(error, "__notes__", None) is not None:
        return "".join(traceback.format_exception_only(kind, error))
    name = kind.__qualname__
    module = kind.__module__
    if module not in ("__main__", "builtins"):
        name = f"{module if isinstance(module, str) else '<unknown>'}.{name}"
    try:
        text = str(error)
    except Exception:
        text = "<exception str() failed>"
    return f"{name}: {text}\n" if text else f"{name}\n"


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _traceback_without_markers(exc: BaseException) -> str:
    """Format an exception with the traceback module, without column markers."""
    formatted = traceback.TracebackException(
        type(exc), exc, exc.__traceback__, lookup_lines=False
    )
    pending = [formatted]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        for frame in current.stack:
            frame.colno = None  # type: ignore[attr-defined]
        pending += [
            nested for nested in (current.__cause__, current.__context__) if nested
        ]
        pending += getattr(current, "exceptions", None) or []
    return "".join(formatted.format())
