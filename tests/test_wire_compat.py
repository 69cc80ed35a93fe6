"""Stock RQ and rqfast share one wire format, in both directions.

Each scenario of the lifecycle tests runs four ways: enqueued by stock RQ or
by rqfast, and worked by a stock or an rqfast worker (and once more with
``rqfast.install()`` accelerating RQ's own classes). The database left behind
must be the same, field by field, once per-run values are normalised.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
import rq
from test_lifecycle import SCENARIOS, WORKER_NAME, snapshot

import rqfast


def run_with(
    connection: redis.Redis,
    scenario: str,
    queue_class: type[rq.Queue],
    worker_class: type[rq.worker.BaseWorker],
) -> dict[bytes, Any]:
    connection.flushdb()
    queue = queue_class("default", connection=connection)
    SCENARIOS[scenario](queue)
    worker = worker_class([queue], connection=connection, name=WORKER_NAME)
    worker.work(burst=True)
    return snapshot(connection)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_rqfast_enqueues_and_a_stock_worker_runs(
    connection: redis.Redis, scenario: str
) -> None:
    stock = run_with(connection, scenario, rq.Queue, rq.SimpleWorker)
    mixed = run_with(connection, scenario, rqfast.Queue, rq.SimpleWorker)
    assert mixed == stock


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_stock_enqueues_and_an_rqfast_worker_runs(
    connection: redis.Redis, scenario: str
) -> None:
    stock = run_with(connection, scenario, rq.Queue, rq.SimpleWorker)
    mixed = run_with(connection, scenario, rq.Queue, rqfast.SimpleWorker)
    assert mixed == stock


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_an_installed_rq_app_leaves_stock_state(
    connection: redis.Redis, scenario: str
) -> None:
    stock = run_with(connection, scenario, rq.Queue, rq.SimpleWorker)
    rqfast.install()
    try:
        installed = run_with(connection, scenario, rq.Queue, rq.SimpleWorker)
    finally:
        rqfast.uninstall()
    assert installed == stock
