"""rqfast.install(): RQ's own classes and functions, accelerated in place."""

from __future__ import annotations

import sys
import types
from collections.abc import Iterator

import pytest
import rq
import rq.job
import rq.scheduler
import rq.utils
import rq.worker.base
from redis import Redis

import rqfast
from rqfast import _impl, _reference

STOCK_RESTORE = rq.job.Job.restore
STOCK_TO_DICT = rq.job.Job.to_dict
STOCK_GET_INTERVAL = vars(rq.job.Retry)["get_interval"]
STOCK_UTCPARSE = rq.utils.utcparse
STOCK_UTCFORMAT = rq.utils.utcformat


@pytest.fixture
def installed() -> Iterator[None]:
    rqfast.install()
    try:
        yield
    finally:
        rqfast.uninstall()


def test_install_patches_classes_and_every_binding(installed: None) -> None:
    assert rq.job.Job.restore is rqfast.Job.restore
    assert rq.job.Job.to_dict is rqfast.Job.to_dict
    assert vars(rq.job.Retry)["get_interval"] is vars(rqfast.Retry)["get_interval"]
    for module in (rq.utils, rq.scheduler, rq.worker.base):
        assert module.utcparse is _impl.ext.utcparse
        assert module.utcformat is _impl.ext.utcformat


def test_modules_imported_earlier_are_rebound() -> None:
    early = types.ModuleType("early_app")
    early.utcparse = rq.utils.utcparse  # type: ignore[attr-defined]
    sys.modules["early_app"] = early
    try:
        rqfast.install()
        assert early.utcparse is _impl.ext.utcparse  # type: ignore[attr-defined]
        rqfast.uninstall()
        assert early.utcparse is STOCK_UTCPARSE  # type: ignore[attr-defined]
    finally:
        del sys.modules["early_app"]
        rqfast.uninstall()


def test_install_is_idempotent_and_uninstall_restores_everything() -> None:
    rqfast.install()
    rqfast.install()
    assert rqfast.installed()
    rqfast.uninstall()
    assert not rqfast.installed()
    assert rq.job.Job.restore is STOCK_RESTORE
    assert rq.job.Job.to_dict is STOCK_TO_DICT
    assert vars(rq.job.Retry)["get_interval"] is STOCK_GET_INTERVAL
    assert rq.utils.utcparse is STOCK_UTCPARSE
    assert rq.worker.base.utcformat is STOCK_UTCFORMAT
    rqfast.uninstall()
    assert rq.job.Job.restore is STOCK_RESTORE


def test_switching_implementation_rebinds_functions(installed: None) -> None:
    _impl.use("py")
    assert rq.utils.utcparse is _reference.utcparse
    assert rq.worker.base.utcparse is _reference.utcparse


def test_an_unmodified_rq_app_runs_on_the_codec(
    installed: None, connection: Redis
) -> None:
    queue = rq.Queue("default", connection=connection)
    job = queue.enqueue("os.path.join", "a", "b", retry=rq.Retry(max=2, interval=[0]))
    fetched = rq.job.Job.fetch(job.id, connection=connection)
    # The codec keeps the compressed payload it read next to the payload.
    assert vars(fetched)["_rqfast_zdata"][1] == connection.hget(job.key, "data")

    worker = rq.SimpleWorker([queue], connection=connection)
    assert worker.work(burst=True)
    job.refresh()
    assert job.get_status() == rq.job.JobStatus.FINISHED
    assert job.return_value() == "a/b"
    assert job.retries_left == 2
