"""The pytest plugin, run in pytest sessions of its own through ``pytester``."""

from __future__ import annotations

import json
from importlib.metadata import entry_points
from pathlib import Path

import psutil
import pytest

from rqfast import _server

pytest_plugins = ["pytester"]

#: A job module the inner sessions import; the worker finds it by name.
JOBS = """
from rq import get_current_job


def flaky(failures):
    job = get_current_job()
    attempt = int(job.meta.get("attempts", 0)) + 1
    job.meta["attempts"] = attempt
    job.save_meta()
    if attempt <= failures:
        raise ValueError(f"boom {attempt}")
    return attempt
"""


@pytest.fixture
def inner(pytester: pytest.Pytester, redis_url: str) -> pytest.Pytester:
    """Return a pytester whose sessions use this session's server by default."""
    pytester.makepyfile(inner_jobs=JOBS)
    pytester.syspathinsert()
    pytester._monkeypatch.setenv("REDIS_URL", redis_url)
    return pytester


def test_the_plugin_is_registered_as_an_entry_point() -> None:
    plugins = {each.name: each.value for each in entry_points(group="pytest11")}

    assert plugins.get("rqfast") == "rqfast.pytest_plugin"


def test_an_unused_plugin_starts_nothing_and_patches_nothing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    pytester.makepyfile(
        """
        import sys

        import psutil
        import rq.job
        import rq.utils


        def test_idle(request):
            assert request.config.pluginmanager.has_plugin("rqfast")
            assert "rqfast.testing" not in sys.modules
            assert "rqfast._server" not in sys.modules
            assert rq.job.now is rq.utils.now
            assert psutil.Process().children(recursive=True) == []
        """
    )

    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)


def test_fixtures_start_a_server_for_the_session_and_stop_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("REDIS_URL", raising=False)
    seen = tmp_path / "seen.json"
    pytester.makepyfile(
        f"""
        import json


        def test_first(rq_connection, rq_redis_url):
            rq_connection.set("left-behind", 1)
            pid = rq_connection.info("server")["process_id"]
            with open({str(seen)!r}, "w") as out:
                json.dump({{"url": rq_redis_url, "pid": pid}}, out)


        def test_second(rq_connection, rq_redis_url):
            with open({str(seen)!r}) as saved:
                assert json.load(saved)["url"] == rq_redis_url
            assert rq_connection.dbsize() == 0
        """
    )

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2)
    server = json.loads(seen.read_text())
    assert not _server.ping(server["url"])
    assert not psutil.pid_exists(server["pid"])


def test_redis_url_names_a_server_to_use_and_leave_running(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, redis_url: str
) -> None:
    monkeypatch.setenv("REDIS_URL", redis_url)
    pytester.makepyfile(
        f"""
        def test_uses_it(rq_redis_url, rq_queue, rq_worker):
            assert rq_redis_url == {redis_url!r}
            assert rq_worker.queues == [rq_queue]
            assert type(rq_queue).__module__ == "rqfast.queue"
        """
    )

    result = pytester.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=1)
    assert _server.ping(redis_url)


def test_drain_fast_forwards_scheduled_retries(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        import time

        from rqfast import Retry

        from inner_jobs import flaky


        def test_backoff(rq_queue, drain, monkeypatch):
            monkeypatch.setattr(time, "sleep", None)
            job = rq_queue.enqueue(flaky, 3, retry=Retry(max=3, interval=[10, 30, 60]))

            result = drain()

            result.job(job).succeeded_after(retries=3)
            assert result.job(job).offsets == [0, 10, 40, 100]
            assert job.return_value() == 4


        def test_stop_and_continue(rq_queue, drain):
            job = rq_queue.enqueue(flaky, 5, retry=Retry(max=2, interval=30))

            assert [a.number for a in drain(max_attempts=2).attempts] == [1, 2]
            result = drain()

            result.job(job).gave_up_with(ValueError, "boom 3", retries=2)
            assert result.job(job).offsets == [0, 30, 60]
        """
    )

    result = inner.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(passed=2)


def test_failed_expectations_say_what_happened(inner: pytest.Pytester) -> None:
    inner.makepyfile(
        """
        from rqfast import Retry

        from inner_jobs import flaky


        def test_too_few_retries(rq_queue, drain):
            job = rq_queue.enqueue(flaky, 2, retry=Retry(max=2, interval=[10, 30]))
            drain().job(job).succeeded_after(retries=1)


        def test_wrong_exception(rq_queue, drain):
            job = rq_queue.enqueue(flaky, 9, retry=Retry(max=1, interval=5))
            drain().job(job).gave_up_with(KeyError)
        """
    )

    result = inner.runpytest("-p", "no:cacheprovider")

    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: expected job * (inner_jobs.flaky(2)) to succeed "
            "after 1 retry; final status finished",
            "E*attempt 1 at +0s: failed with ValueError: boom 1 (retry scheduled)",
            "E*attempt 2 at +10s: failed with ValueError: boom 2 (retry scheduled)",
            "E*attempt 3 at +40s: succeeded",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "E*AssertionError: expected job * (inner_jobs.flaky(9)) to give up with "
            "KeyError, but its last attempt raised something else; final status failed",
            "E*attempt 2 at +5s: failed with ValueError: boom 2 (gave up)",
        ]
    )
    assert "rqfast/testing.py" not in result.stdout.str()
