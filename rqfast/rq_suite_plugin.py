"""A pytest plugin that runs a test session with :func:`rqfast.install` active.

Load it explicitly with ``-p rqfast.rq_suite_plugin``; it is deliberately not
registered as an entry point, since it would then patch RQ in every project
that has rqfast installed. ``scripts/rq_suite.py`` uses it to run RQ's own
test suite against the accelerated classes.

With ``RQFAST_SUITE_WORKERS=1`` in the environment it also puts rqfast's
``Worker`` and ``SimpleWorker`` where RQ's are found by name (``rq``,
``rq.worker`` and its ``worker_classes`` module), so that the tests run RQ's
workers' scenarios on rqfast's lifecycle scripts. ``install()`` itself never
does that: rqfast's workers are chosen by name.
"""

from __future__ import annotations

import os
from types import ModuleType
from typing import Any

import pytest
import rq
import rq.worker
import rq.worker.worker_classes

import rqfast
from rqfast import _impl

#: The modules in which RQ's tests and RQ itself look its worker classes up.
_WORKER_MODULES: tuple[ModuleType, ...] = (rq, rq.worker, rq.worker.worker_classes)
_replaced: list[tuple[ModuleType, str, Any]] = []


def _workers_requested() -> bool:
    return os.environ.get("RQFAST_SUITE_WORKERS", "") not in ("", "0")


def pytest_configure(config: pytest.Config) -> None:
    """Patch RQ's classes and functions before any test module is imported."""
    rqfast.install()
    if _workers_requested():
        from rqfast import worker

        for module in _WORKER_MODULES:
            for name in ("Worker", "SimpleWorker"):
                _replaced.append((module, name, getattr(module, name)))
                setattr(module, name, getattr(worker, name))


def pytest_unconfigure(config: pytest.Config) -> None:
    """Put RQ's own classes and functions back."""
    while _replaced:
        module, name, original = _replaced.pop()
        setattr(module, name, original)
    rqfast.uninstall()


def pytest_report_header(config: pytest.Config) -> str:
    """Say in the session header that RQ runs with rqfast installed."""
    workers = ", rqfast's workers in place of RQ's" if _workers_requested() else ""
    return f"rqfast: install() active{workers}, implementation {_impl.name!r}"
