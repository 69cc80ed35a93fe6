"""rqfast: a fast, wire-compatible retry engine for RQ.

Import the classes from here instead of from ``rq``, or call :func:`install`
to accelerate RQ's own classes in place. Both read and write the same Redis
data as stock RQ.

The names below are imported on first use, so that importing a submodule
(the pytest plugin, say) does not load RQ and redis-py before they are needed.
"""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

if _TYPE_CHECKING:
    from .exceptions import JobHashError
    from .job import Job
    from .patch import install, installed, uninstall
    from .queue import Queue
    from .retry import Retry, RetryAfter
    from .worker import SimpleWorker, Worker

__version__ = "0.1.0"

_EXPORTS = {
    "Job": ".job",
    "JobHashError": ".exceptions",
    "Queue": ".queue",
    "Retry": ".retry",
    "RetryAfter": ".retry",
    "SimpleWorker": ".worker",
    "Worker": ".worker",
    "install": ".patch",
    "installed": ".patch",
    "uninstall": ".patch",
}

__all__ = [
    "Job",
    "JobHashError",
    "Queue",
    "Retry",
    "RetryAfter",
    "SimpleWorker",
    "Worker",
    "__version__",
    "install",
    "installed",
    "uninstall",
]


def __getattr__(name: str) -> _Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'rqfast' has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({name for name in globals() if not name.startswith("_")} | {*__all__})
