"""A pytest plugin that runs a test session with :func:`rqfast.install` active.

Load it explicitly with ``-p rqfast.rq_suite_plugin``; it is deliberately not
registered as an entry point, since it would then patch RQ in every project
that has rqfast installed. ``scripts/rq_suite.py`` uses it to run RQ's own
test suite against the accelerated classes.
"""

from __future__ import annotations

import pytest

import rqfast
from rqfast import _impl


def pytest_configure(config: pytest.Config) -> None:
    """Patch RQ's classes and functions before any test module is imported."""
    rqfast.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Put RQ's own classes and functions back."""
    rqfast.uninstall()


def pytest_report_header(config: pytest.Config) -> str:
    """Say in the session header that RQ runs with rqfast installed."""
    return f"rqfast: install() active, implementation {_impl.name!r}"
