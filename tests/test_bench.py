"""``rqfast bench`` runs both workers on the same workload and tabulates them."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from rqfast.bench import bench_command, run_workload


@pytest.fixture(autouse=True)
def implementation() -> None:
    """Run once: the benchmark measures workers, not one implementation."""


ROW = re.compile(
    r"^(?P<workload>\w+)\s+(?P<kind>simple|fork)\s+(?P<impl>stock|rqfast)\s+"
    r"(?P<jobs>\d+)\s+(?P<rate>\d+)\s+(?P<rt>[\d.]+)\s+(?P<cmd>[\d.]+)\s+(?P<ratio>[\d.]+)x$",
    re.MULTILINE,
)


def test_table_has_a_row_per_worker_and_implementation(redis_url: str) -> None:
    result = CliRunner().invoke(
        bench_command,
        ["-n", "30", "--fork-jobs", "4", "-w", "retry", "-r", "2"],
        env={"REDIS_URL": redis_url},
    )

    assert result.exit_code == 0, result.output
    rows = {(m["kind"], m["impl"]): m for m in ROW.finditer(result.output)}
    assert set(rows) == {
        ("simple", "stock"),
        ("simple", "rqfast"),
        ("fork", "stock"),
        ("fork", "rqfast"),
    }
    # Each job fails twice then succeeds: three script calls for rqfast's
    # simple worker (and a worker's start and end, spread over 30 jobs),
    # some fifty round trips for stock RQ's.
    fast, stock = (float(rows[("simple", impl)]["rt"]) for impl in ("rqfast", "stock"))
    assert 3 <= fast < 4.5
    assert stock > 10 * fast
    assert rows[("simple", "stock")]["ratio"] == "1.0"
    assert "medians of 2 rounds" in result.output


def test_run_workload_finishes_every_job(redis_url: str) -> None:
    measured = run_workload(redis_url, "noop", "simple", "rqfast", 25)

    assert measured.jobs == 25
    assert measured.seconds > 0
    assert measured.round_trips >= 25
    assert measured.commands >= 25
