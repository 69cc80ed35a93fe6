"""rqfast: a fast, wire-compatible retry engine for RQ.

Import the classes from here instead of from ``rq``, or call :func:`install`
to accelerate RQ's own classes in place. Both read and write the same Redis
data as stock RQ.
"""

from __future__ import annotations

from .exceptions import JobHashError
from .job import Job
from .patch import install, installed, uninstall
from .queue import Queue
from .retry import Retry
from .worker import SimpleWorker, Worker

__version__ = "0.1.0"

__all__ = [
    "Job",
    "JobHashError",
    "Queue",
    "Retry",
    "SimpleWorker",
    "Worker",
    "__version__",
    "install",
    "installed",
    "uninstall",
]
