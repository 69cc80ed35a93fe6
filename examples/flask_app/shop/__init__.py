"""A small shop: placing an order tells the warehouse, through an RQ job.

The warehouse service is flaky, so the job is enqueued with a retry policy.
``POST /orders`` enqueues it; ``GET /jobs/<id>`` shows how far it got.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request, url_for
from rq.exceptions import NoSuchJobError

from rqfast import Retry
from rqfast.flask import RQ

from .tasks import notify_warehouse

rq = RQ()

#: Seconds to wait before each retry of a failed warehouse notification.
RETRY_DELAYS = [10, 30, 60]


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app; ``config`` overrides the defaults and the environment."""
    app = Flask(__name__)
    app.config.from_mapping(
        RQ_REDIS_URL="redis://localhost:6379/0",
        RQ_QUEUES=["orders"],
        # The simulated warehouse refuses this many calls per order.
        WAREHOUSE_OUTAGE_ATTEMPTS=2,
    )
    app.config.from_prefixed_env("SHOP")
    app.config.update(config or {})
    rq.init_app(app)

    @app.post("/orders")
    def place_order() -> tuple[dict[str, Any], int]:
        order = request.get_json(silent=True) or {}
        if "order_id" not in order:
            abort(400, description="order_id is required")
        job = rq.queue().enqueue(
            notify_warehouse,
            str(order["order_id"]),
            outage_attempts=app.config["WAREHOUSE_OUTAGE_ATTEMPTS"],
            retry=Retry(max=len(RETRY_DELAYS), interval=RETRY_DELAYS),
        )
        status_url = url_for("job_status", job_id=job.id)
        return {"job_id": job.id, "status_url": status_url}, 202

    @app.get("/jobs/<job_id>")
    def job_status(job_id: str) -> dict[str, Any]:
        try:
            job = rq.queue().fetch_job(job_id)
        except NoSuchJobError:
            job = None
        if job is None:
            abort(404, description=f"no job {job_id}")
        status = job.get_status()
        body: dict[str, Any] = {
            "id": job.id,
            "status": status.value if status else None,
            "attempts": job.meta.get("attempts", 0),
            "retries_left": job.retries_left,
        }
        result = job.latest_result()
        if result is not None and result.type == result.Type.SUCCESSFUL:
            body["result"] = result.return_value
        elif result is not None and result.type == result.Type.FAILED:
            body["error"] = (result.exc_string or "").strip().splitlines()[-1]
        return body

    return app
