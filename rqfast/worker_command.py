"""``rqfast worker``: ``rq worker`` with rqfast's classes as its defaults.

Every option of ``rq worker`` is accepted and means the same; only the
defaults of ``--worker-class``, ``--job-class`` and ``--queue-class`` change
(an explicit option or the ``RQ_*_CLASS`` environment variables still win).
"""

from __future__ import annotations

import copy

import click
from rq.cli.workers import worker as _rq_worker

__all__ = ["worker_command"]

#: The option defaults that differ from ``rq worker``'s.
DEFAULTS = {
    "worker_class": "rqfast.Worker",
    "job_class": "rqfast.Job",
    "queue_class": "rqfast.Queue",
}


def _build() -> click.Command:
    command = copy.deepcopy(_rq_worker)
    for param in command.params:
        if param.name in DEFAULTS:
            param.default = DEFAULTS[param.name]
    command.help = (
        "Start an rqfast worker: the options of `rq worker`, with rqfast's "
        "Worker, Job and Queue classes as defaults."
    )
    return command


worker_command = _build()
