"""A retried attempt's traceback reads as Python's own, without column markers.

The oracle is ``traceback.format_exception`` itself with the marker lines
(``^^^`` and ``~~~``, drawn by Python 3.11 and later under a frame's source
line) taken out; a SyntaxError's own caret line stays.
"""

from __future__ import annotations

import re
import sys
import traceback
from collections.abc import Callable

import pytest

from rqfast.tracebacks import attempt_traceback

# A frame's two lines, then its marker line; in an exception group each line
# starts with the group's margin of spaces and bars.
MARKERS = re.compile(
    r'^([ |]*  File "[^\n]*", line \d+, in [^\n]*\n[ |]*    [^\n]*\n)[ |]*[~^]+ *\n',
    re.MULTILINE,
)


def python_text(exc: BaseException) -> str:
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return MARKERS.sub(r"\1", text)


def caught(raise_it: Callable[[], object]) -> BaseException:
    try:
        raise_it()
    except BaseException as exc:
        return exc
    raise AssertionError("nothing was raised")


def divide(a: int, b: int) -> float:
    return a / b


def nested() -> float:
    return divide(1, 0) + divide(2, 1)


def caused() -> None:
    try:
        nested()
    except ZeroDivisionError as exc:
        raise RuntimeError("could not compute") from exc


def in_handling() -> None:
    try:
        {}["missing"]
    except KeyError:
        int("not a number")


def suppressed() -> None:
    try:
        nested()
    except ZeroDivisionError:
        raise ValueError("plain") from None


def recurse(depth: int) -> None:
    if depth == 0:
        raise RecursionError("deep enough")
    recurse(depth - 1)


def with_notes() -> None:
    error = ValueError("with a note")
    if hasattr(error, "add_note"):
        error.add_note("first note")
        error.add_note("second\nnote")
    raise error


def compiled_elsewhere() -> None:
    exec(compile("def f():\n    raise LookupError('no source')\nf()", "<job>", "exec"))


def bad_syntax() -> None:
    compile("def broken(:\n    pass", "broken.py", "exec")


def multiline_message() -> None:
    raise ValueError("line one\nline two\n")


class LocalError(Exception):
    """An exception type from this module, shown with its module's name."""


class UnprintableError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no text for this one")


def raise_local() -> None:
    raise LocalError("with a module")


def raise_empty() -> None:
    raise KeyError()


def raise_unprintable() -> None:
    raise UnprintableError()


CASES: dict[str, Callable[[], object]] = {
    "module-qualified type": raise_local,
    "empty message": raise_empty,
    "str() that fails": raise_unprintable,
    "nested calls": nested,
    "explicit cause": caused,
    "implicit context": in_handling,
    "context suppressed": suppressed,
    "recursion elided": lambda: recurse(40),
    "repeated exactly three times": lambda: recurse(2),
    "repeated four times": lambda: recurse(3),
    "notes": with_notes,
    "no source line": compiled_elsewhere,
    "syntax error": bad_syntax,
    "multi-line message": multiline_message,
}


@pytest.mark.parametrize("name", CASES)
def test_same_text_as_python_without_markers(name: str) -> None:
    exc = caught(CASES[name])

    assert attempt_traceback(exc) == python_text(exc)


def test_no_markers_but_everything_else() -> None:
    exc = caught(nested)

    text = attempt_traceback(exc)

    assert not MARKERS.search(text)
    assert "return divide(1, 0) + divide(2, 1)" in text
    assert text.endswith("ZeroDivisionError: division by zero\n")


def test_exception_never_raised() -> None:
    exc = ValueError("made, not raised")

    assert attempt_traceback(exc) == "ValueError: made, not raised\n"
    assert attempt_traceback(exc) == python_text(exc)


def test_cycle_in_the_chain_ends() -> None:
    first, second = caught(nested), caught(in_handling)
    first.__context__ = second
    second.__context__ = first

    assert attempt_traceback(first) == python_text(first)


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception groups: 3.11+")
def test_exception_group() -> None:
    def grouped() -> None:
        errors = [caught(nested), caught(in_handling)]
        raise ExceptionGroup("several", errors)  # type: ignore[name-defined] # noqa: F821

    exc = caught(grouped)

    assert attempt_traceback(exc) == python_text(exc)


def test_traceback_limit_in_force(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "tracebacklimit", 1, raising=False)
    exc = caught(lambda: recurse(5))

    assert attempt_traceback(exc) == python_text(exc)
    assert attempt_traceback(exc).count('  File "') == 1
