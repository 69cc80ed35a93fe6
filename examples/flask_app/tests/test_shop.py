"""The shop app, through Flask's test client, with jobs run by ``drain``."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from shop.tasks import WarehouseUnavailable
from shop.worker import run_worker

from rqfast import Queue
from rqfast.pytest_plugin import Drain
from rqfast.testing import worker_side_effects_undone


def place_order(client: FlaskClient, order_id: int = 7) -> str:
    """Place an order and return the id of the job that notifies the warehouse."""
    response = client.post("/orders", json={"order_id": order_id})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.get_json()
    assert body["status_url"] == f"/jobs/{body['job_id']}"
    return str(body["job_id"])


def job_status(client: FlaskClient, job_id: str) -> dict[str, Any]:
    """Return the status endpoint's answer for a job."""
    response = client.get(f"/jobs/{job_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.get_json()
    return body


def test_a_new_order_is_queued(client: FlaskClient) -> None:
    job_id = place_order(client)

    assert job_status(client, job_id) == {
        "id": job_id,
        "status": "queued",
        "attempts": 0,
        "retries_left": 3,
    }


def test_the_warehouse_is_told_after_two_retries(
    client: FlaskClient, orders: Queue, drain: Drain
) -> None:
    job_id = place_order(client, order_id=42)

    result = drain(orders)

    report = result.job(job_id).succeeded_after(retries=2)
    assert report.offsets == [0, 10, 40]
    assert job_status(client, job_id) == {
        "id": job_id,
        "status": "finished",
        "attempts": 3,
        "retries_left": 1,
        "result": "shipment-42",
    }


def test_the_status_shows_a_retry_waiting(
    client: FlaskClient, orders: Queue, drain: Drain
) -> None:
    job_id = place_order(client)

    drain(orders, max_attempts=1)

    status = job_status(client, job_id)
    assert (status["status"], status["attempts"], status["retries_left"]) == (
        "scheduled",
        1,
        2,
    )


@pytest.mark.parametrize("config", [{"WAREHOUSE_OUTAGE_ATTEMPTS": 10}])
def test_a_long_outage_fails_the_job(
    client: FlaskClient, orders: Queue, drain: Drain
) -> None:
    job_id = place_order(client)

    drain(orders).job(job_id).gave_up_with(WarehouseUnavailable, retries=3)

    status = job_status(client, job_id)
    assert status["status"] == "failed"
    assert status["attempts"] == 4
    assert status["error"] == (
        "shop.tasks.WarehouseUnavailable: warehouse did not answer (attempt 4)"
    )


def test_bad_requests_are_refused(client: FlaskClient) -> None:
    assert client.post("/orders", json={}).status_code == 400
    assert client.get("/jobs/no-such-job").status_code == 404


@pytest.mark.parametrize("config", [{"WAREHOUSE_OUTAGE_ATTEMPTS": 0}])
def test_the_worker_script_runs_the_jobs(app: Flask, client: FlaskClient) -> None:
    job_id = place_order(client)

    with worker_side_effects_undone():
        run_worker(app, burst=True)

    assert job_status(client, job_id)["result"] == "shipment-7"
