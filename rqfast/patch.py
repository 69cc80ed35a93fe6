"""Apply rqfast's accelerations to RQ's own classes and functions, in place.

Applications that keep ``from rq import Queue, Worker`` and the ``rq`` command
get the same fast paths as ``from rqfast import ...`` after :func:`install`.

RQ and code written against it bind RQ's classes and helper functions by name
in many modules (``from rq.utils import utcparse``), so swapping a class or a
module attribute would miss most callers. Instead:

- each rqfast class listed in a module's ``PATCHES`` has the methods and
  properties it defines copied onto the RQ class it derives from; those
  methods therefore never use zero-argument ``super()``;
- RQ's timestamp helpers are rebound in every loaded module whose namespace
  holds them.

:func:`uninstall` puts every original back. A freshly spawned interpreter
(not a forked one) starts unpatched and must call :func:`install` itself.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import FunctionType, ModuleType
from typing import Any

import rq.utils

from . import _impl, _reference

__all__ = ["install", "installed", "reapply", "uninstall"]

_MISSING = object()
_COPIED_KINDS = (FunctionType, classmethod, staticmethod, property)
_FUNCTION_NAMES = ("utcparse", "utcformat")
# The stock functions, captured before anything is patched.
_STOCK_FUNCTIONS: dict[str, Callable[..., Any]] = {
    name: getattr(rq.utils, name) for name in _FUNCTION_NAMES
}

_lock = threading.Lock()
_saved_attributes: list[tuple[type, str, Any]] = []
_installed = False


def _patch_modules() -> list[ModuleType]:
    from . import job, queue, registry, retry, scheduler, worker

    return [job, queue, registry, retry, scheduler, worker]


def _replacement(name: str) -> Callable[..., Any]:
    function: Callable[..., Any] = getattr(_impl.ext, name)
    return function


def _rebind_functions(to_stock: bool) -> None:
    """Point every loaded module's binding of RQ's timestamp helpers at one target."""
    for name in _FUNCTION_NAMES:
        stock = _STOCK_FUNCTIONS[name]
        known = {id(stock), id(getattr(_reference, name))}
        if _impl.c_ext is not None:
            known.add(id(getattr(_impl.c_ext, name)))
        target = stock if to_stock else _replacement(name)
        for module in list(sys.modules.values()):
            namespace = getattr(module, "__dict__", None)
            if not isinstance(namespace, dict):
                continue
            if id(namespace.get(name)) in known and namespace[name] is not target:
                namespace[name] = target


def install() -> None:
    """Accelerate RQ's own classes and functions in this process; idempotent."""
    global _installed
    with _lock:
        if _installed:
            return
        for module in _patch_modules():
            for rq_class, fast_class in getattr(module, "PATCHES", ()):
                for name, value in vars(fast_class).items():
                    if not isinstance(value, _COPIED_KINDS):
                        continue
                    original = vars(rq_class).get(name, _MISSING)
                    _saved_attributes.append((rq_class, name, original))
                    setattr(rq_class, name, value)
        _rebind_functions(to_stock=False)
        _installed = True


def uninstall() -> None:
    """Undo :func:`install`, restoring every original RQ attribute and binding."""
    global _installed
    with _lock:
        if not _installed:
            return
        while _saved_attributes:
            rq_class, name, original = _saved_attributes.pop()
            if original is _MISSING:
                delattr(rq_class, name)
            else:
                setattr(rq_class, name, original)
        _rebind_functions(to_stock=True)
        _installed = False


def installed() -> bool:
    """Return whether :func:`install` is in effect."""
    return _installed


def reapply() -> None:
    """Rebind patched functions after the C/pure-Python implementation switched."""
    with _lock:
        if _installed:
            _rebind_functions(to_stock=False)
