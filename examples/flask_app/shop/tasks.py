"""The shop's background jobs."""

from __future__ import annotations

from rq import get_current_job


class WarehouseUnavailable(ConnectionError):
    """The warehouse service did not answer; a later try may succeed."""


def notify_warehouse(order_id: str, outage_attempts: int = 0) -> str:
    """Tell the warehouse to ship ``order_id``; return its shipment number.

    The warehouse is simulated: it refuses the first ``outage_attempts`` calls
    for each order. The attempt count is kept in the job's ``meta``, where the
    status endpoint reads it.
    """
    job = get_current_job()
    attempt = 1
    if job is not None:
        attempt = int(job.meta.get("attempts", 0)) + 1
        job.meta["attempts"] = attempt
        job.save_meta()
    if attempt <= outage_attempts:
        raise WarehouseUnavailable(f"warehouse did not answer (attempt {attempt})")
    return f"shipment-{order_id}"
