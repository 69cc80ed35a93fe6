"""``rqfast worker``: ``rq worker`` with rqfast's classes as its defaults.

Every option of ``rq worker`` is accepted and means the same; only the
defaults of ``--worker-class``, ``--job-class`` and ``--queue-class`` change
(an explicit option or the ``RQ_*_CLASS`` environment variables still win).
One option is added: ``--retry``, the policy of jobs enqueued without one.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

import click
from rq.cli.workers import worker as _rq_worker
from rq.utils import import_attribute

from .retry import Retry

__all__ = ["worker_command"]

#: The option defaults that differ from ``rq worker``'s.
DEFAULTS = {
    "worker_class": "rqfast.Worker",
    "job_class": "rqfast.Job",
    "queue_class": "rqfast.Queue",
}


def _set_default_retry(worker_class: str | None, spec: str | None) -> None:
    """Give the worker class a default retry policy for jobs enqueued without one."""
    if spec is None:
        return
    try:
        policy = Retry.from_spec(spec)
    except (ValueError, TypeError) as error:
        raise click.BadParameter(str(error), param_hint="--retry") from error
    cls = import_attribute(worker_class or DEFAULTS["worker_class"])
    if not (isinstance(cls, type) and hasattr(cls, "default_retry")):
        raise click.BadParameter(
            f"{worker_class} is not an rqfast worker; it cannot take a default retry",
            param_hint="--retry",
        )
    cls.default_retry = policy


def _build() -> click.Command:
    command = copy.deepcopy(_rq_worker)
    for param in command.params:
        if param.name in DEFAULTS:
            param.default = DEFAULTS[param.name]
    command.params.append(
        click.Option(
            ["--retry"],
            default=None,
            help=(
                "Retry policy of jobs enqueued without one, e.g. "
                "'max=5,interval=1,backoff=2,cap=60,jitter=full' or '3'."
            ),
        )
    )
    callback = command.callback
    assert callback is not None

    def run(*args: Any, retry: str | None = None, **kwargs: Any) -> Any:
        _set_default_retry(kwargs.get("worker_class"), retry)
        return callback(*args, **kwargs)

    command.callback = functools.update_wrapper(run, callback)
    command.help = (
        "Start an rqfast worker: the options of `rq worker`, with rqfast's "
        "Worker, Job and Queue classes as defaults."
    )
    return command


worker_command = _build()
