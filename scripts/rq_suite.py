"""Run RQ's own test suite on stock RQ and with ``rqfast.install()`` active.

The suite comes from the source distribution of the installed RQ version,
downloaded once with pip into ``.rq-suite/`` (only its ``tests/`` folder is
extracted, so the installed ``rq`` package is the one under test). It runs
three times with pytest: stock; with ``-p rqfast.rq_suite_plugin``
(``install()``); and with the plugin putting rqfast's ``Worker`` and
``SimpleWorker`` in place of RQ's, so that RQ's worker tests run on rqfast's
lifecycle scripts. The per-test outcomes are compared with the stock run.
A few of RQ's tests check what rqfast's workers do differently by design;
``WORKER_DIFFERENCES`` names them and says why, and they are reported apart.

RQ's suite always connects to Redis at 127.0.0.1:6379 and uses its databases 4
and up. A server already answering there is used; otherwise one is started on
that port for the run.

Exits with status 1 when a test that passes on stock RQ does not pass with
rqfast (other than those differences), or when a run ends without running any
test; 0 otherwise.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import importlib.metadata
import os
import re
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import redis

from rqfast import _server

ROOT = Path(__file__).resolve().parent.parent
#: Modules that must be in every run; the default runs all of RQ's test modules.
REQUIRED_FILES = (
    "test_job",
    "test_retry",
    "test_registry",
    "test_scheduler",
    "test_worker",
    "test_queue",
)
#: Seconds a pytest run may go on after printing its summary line before its
#: leftover processes (a failed test can leave a forked worker behind) are
#: killed.
EXIT_GRACE = 30.0
#: Seconds one whole pytest run may take.
RUN_TIMEOUT = 1800.0
SUITE_URL = "redis://127.0.0.1:6379/0"
HEROKU_SANDBOX = "/tmp/rq_shutdown"
#: RQ's suite uses the server's databases from this one up.
FIRST_SUITE_DATABASE = 4
SUMMARY = re.compile(r"^=+ .* in [\d.]+s( \(.*\))? =+$", re.MULTILINE)
OUTCOME = re.compile(
    r"^(?P<test>\S+::\S+) (?P<outcome>PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)\b"
)
# When a test is reported twice (a failure, then an error in its teardown),
# the worse outcome counts.
PLUGIN = "-prqfast.rq_suite_plugin"
#: The runs: their pytest options and environment.
PASSES: dict[str, tuple[list[str], dict[str, str]]] = {
    "stock": ([], {}),
    "rqfast": ([PLUGIN], {}),
    "workers": ([PLUGIN], {"RQFAST_SUITE_WORKERS": "1"}),
}
#: Tests of RQ's suite that check what rqfast's workers do differently on
#: purpose, and why. They must pass in the other two runs.
_INTERMEDIATE = (
    "rqfast's start phase pops a job and marks it started in one script, so "
    "no job waits in the intermediate list that this test inspects"
)
_CLASSES = (
    "rqfast's workers use rqfast's Job and Queue (same data, plus the attempt "
    "history) unless given others; the test compares with RQ's classes"
)
WORKER_DIFFERENCES: dict[str, str] = {
    "tests/test_intermediate_queue.py::TestIntermediateQueue::"
    "test_cleanup_intermediate_queue": _INTERMEDIATE,
    "tests/test_intermediate_queue.py::TestIntermediateQueue::"
    "test_cleanup_intermediate_queue_in_maintenance": _INTERMEDIATE,
    "tests/test_intermediate_queue.py::TestIntermediateQueue::"
    "test_no_cleanup_while_in_started_queue": _INTERMEDIATE,
    "tests/test_queue.py::TestQueue::test_intermediate_queue": _INTERMEDIATE,
    "tests/test_worker.py::TestWorker::test_custom_job_class_is_not_global": _CLASSES,
    "tests/test_worker.py::TestWorker::test_custom_queue_class_is_not_global": (
        _CLASSES
    ),
    "tests/test_worker.py::TestWorker::test_get_current_job": _CLASSES,
}
SEVERITY = {"PASSED": 0, "XPASS": 0, "XFAIL": 0, "SKIPPED": 0, "FAILED": 1, "ERROR": 2}
#: A run's pytest exit status, each test's outcome, and its log file.
Run = tuple[int, dict[str, str], Path]

PYTEST_INI = """\
[pytest]
addopts = --strict-markers
markers =
    slow: slow tests, run only with RUN_SLOW_TESTS_TOO set
    ssl_test: tests that need a TLS-enabled Redis
timeout_method = thread
filterwarnings = ignore::pytest.PytestUnhandledThreadExceptionWarning
"""


def suite_dir(cache: Path, version: str) -> Path:
    """Return the folder holding RQ's ``tests/``, downloading it if missing."""
    target = cache / f"rq-{version}"
    if (target / "tests" / "__init__.py").is_file():
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache) as download:
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "download", "--quiet"),
                *("--no-binary", ":all:", "--no-deps", "--dest", download),
                f"rq=={version}",
            ],
            check=True,
        )
        archives = list(Path(download).glob("rq-*.tar.gz"))
        if len(archives) != 1:
            raise SystemExit(f"expected one rq source archive, found {archives}")
        prefix = f"rq-{version}/tests/"
        with tarfile.open(archives[0]) as archive:
            members = [
                member
                for member in archive.getmembers()
                if member.name.startswith(prefix)
                and (member.isfile() or member.isdir())
                and ".." not in Path(member.name).parts
            ]
            archive.extractall(cache, members=members)
    (target / "pytest.ini").write_text(PYTEST_INI)
    return target


def parse_outcomes(log: str) -> dict[str, str]:
    """Return each test's outcome from pytest's verbose output."""
    outcomes: dict[str, str] = {}
    for line in log.splitlines():
        match = OUTCOME.match(line)
        if match is None:
            continue
        test, outcome = match["test"], match["outcome"]
        if SEVERITY[outcome] >= SEVERITY.get(outcomes.get(test, "PASSED"), 0):
            outcomes[test] = outcome
    return outcomes


def empty_suite_databases() -> None:
    """Empty the databases RQ's suite uses, as each of its runs expects.

    Its tests look for an empty database from number 4 up, and one of them
    (``test_run_scheduled_access_self``) leaves a job in the one it found, so
    every run on the same server would use up another.
    """
    client = redis.Redis.from_url(SUITE_URL)
    try:
        databases = int(client.config_get("databases").get("databases", 16))
        server = SUITE_URL.rsplit("/", 1)[0]
        for number in range(FIRST_SUITE_DATABASE, databases):
            with redis.Redis.from_url(f"{server}/{number}") as database:
                database.flushdb()
    finally:
        client.close()


def run_pytest(
    where: Path,
    label: str,
    files: list[str],
    extra: list[str],
    timeout: int,
    environment: dict[str, str] | None = None,
) -> Run:
    """Run the suite once; return pytest's exit status, outcomes and log path."""
    # RQ's HerokuWorker tests make this folder and fail where an interrupted
    # run left it behind.
    with contextlib.suppress(OSError):
        os.rmdir(HEROKU_SANDBOX)
    empty_suite_databases()
    log_path = where.parent / f"{label}.log"
    command = [
        *(sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"),
        *("-o", f"timeout={timeout}"),
        *extra,
        *files,
    ]
    env = dict(os.environ, **(environment or {}))
    # RQ's suite calls the rqworker console script: find this interpreter's.
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env["PATH"]])
    print(f"{label}: {' '.join(command[1:])} (log: {log_path})", flush=True)
    started = time.monotonic()
    with open(log_path, "w") as log:
        process = subprocess.Popen(
            command,
            cwd=where,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        status = wait_for_pytest(process, log_path, started)
    outcomes = parse_outcomes(log_path.read_text(errors="replace"))
    print(
        f"{label}: pytest exited {status} after {time.monotonic() - started:.0f} s",
        flush=True,
    )
    return status, outcomes, log_path


def wait_for_pytest(
    process: subprocess.Popen[bytes], log_path: Path, started: float
) -> int:
    """Wait for a pytest run; kill its process group if it lingers or hangs.

    Returns pytest's exit status, or -9 when it had to be killed before
    printing its summary.
    """
    summary_seen: float | None = None
    status: int | None = None
    while status is None:
        try:
            status = process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            now = time.monotonic()
            if summary_seen is None and SUMMARY.search(
                log_path.read_text(errors="replace")
            ):
                summary_seen = now
            lingering = summary_seen is not None and now - summary_seen > EXIT_GRACE
            if lingering or now - started > RUN_TIMEOUT:
                print(
                    "  pytest "
                    + ("did not exit after its summary" if lingering else "timed out")
                    + "; killing its process group",
                    flush=True,
                )
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
                status = 0 if lingering else -9
                if lingering:
                    status = _summary_status(log_path)
    # Forked workers that a failing test left behind go too.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    return status


def _summary_status(log_path: Path) -> int:
    """Return the exit status pytest's summary line implies."""
    tail = log_path.read_text(errors="replace").splitlines()[-1:]
    return 1 if any(" failed" in line or " error" in line for line in tail) else 0


def counts(outcomes: dict[str, str]) -> collections.Counter[str]:
    """Count outcomes by kind."""
    return collections.Counter(outcomes.values())


def main(argv: list[str] | None = None) -> int:
    """Run both passes, print the comparison and return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "files",
        nargs="*",
        help="test modules of RQ's suite, e.g. test_job (default: all of them)",
    )
    parser.add_argument("-k", dest="keyword", help="pytest -k expression")
    parser.add_argument(
        "--cache", type=Path, default=ROOT / ".rq-suite", help="download folder"
    )
    parser.add_argument(
        "--timeout", type=int, default=300, help="seconds per test (default 300)"
    )
    parser.add_argument(
        "--only", choices=tuple(PASSES), help="run one of the three passes"
    )
    args = parser.parse_args(argv)

    version = importlib.metadata.version("rq")
    where = suite_dir(args.cache, version)
    if args.files:
        names = [name.removesuffix(".py") for name in args.files]
    else:
        names = sorted(path.stem for path in (where / "tests").glob("test_*.py"))
        absent = sorted(set(REQUIRED_FILES) - set(names))
        if absent:
            parser.error(f"RQ {version}'s suite lacks {', '.join(absent)}")
    files = [f"tests/{name}.py" for name in names]
    missing = [file for file in files if not (where / file).is_file()]
    if missing:
        parser.error(f"not in RQ {version}'s suite: {', '.join(missing)}")
    extra = ["-k", args.keyword] if args.keyword else []
    passes = {args.only: PASSES[args.only]} if args.only else PASSES

    results: dict[str, Run] = {}
    reruns: dict[str, Run] = {}
    with ExitStack() as stack:
        if _server.ping(SUITE_URL):
            print(f"Using the Redis server already at {SUITE_URL}")
        else:
            server = stack.enter_context(_server.RedisServer(port=6379))
            print(f"Started a Redis server at {server.url}")
        for label, (options, environment) in passes.items():
            results[label] = run_pytest(
                where, label, files, options + extra, args.timeout, environment
            )
        for label in results:
            failed = regressions(results, label)
            if failed:
                # Some of RQ's tests depend on timing; a regression must repeat.
                print(f"Running the {len(failed)} regressions of {label} once more")
                options, environment = PASSES[label]
                reruns[label] = run_pytest(
                    where, f"{label}-rerun", failed, options, args.timeout, environment
                )

    return report(version, results, reruns)


def regressions(results: dict[str, Run], label: str) -> list[str]:
    """Return the tests that pass on stock RQ but not in run ``label``.

    The workers run's known differences are left out.
    """
    if label == "stock" or "stock" not in results or label not in results:
        return []
    stock, fast = results["stock"][1], results[label][1]
    known = WORKER_DIFFERENCES if label == "workers" else {}
    return sorted(
        test
        for test, kind in stock.items()
        if kind == "PASSED" and fast.get(test) != "PASSED" and test not in known
    )


def report(version: str, results: dict[str, Run], reruns: dict[str, Run]) -> int:
    """Print the runs side by side; return 1 on a regression or an empty run."""
    labels = list(results)
    print(f"\nRQ {version}'s own suite")
    print(f"{'':10}" + "".join(f"{label:>10}" for label in labels))
    tallies = {label: counts(results[label][1]) for label in labels}
    for kind in ("PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS"):
        row = [tallies[label][kind] for label in labels]
        if any(row) or kind in ("PASSED", "FAILED", "ERROR"):
            print(f"{kind.lower():10}" + "".join(f"{value:>10}" for value in row))

    status = 0
    for label in labels:
        code, outcomes, log = results[label]
        if not outcomes:
            print(f"{label}: no test ran (pytest exited {code}); see {log}")
            status = 1
        elif code not in (0, 1):
            print(f"{label}: pytest exited {code} (interrupted?); see {log}")
            status = 1
        known = WORKER_DIFFERENCES if label == "workers" else {}
        bad = sorted(
            test
            for test, kind in outcomes.items()
            if SEVERITY[kind] and test not in known
        )
        if bad:
            print(f"\n{label}: {len(bad)} not passing (log: {log}):")
            for test in bad:
                print(f"  {outcomes[test]:7} {test}")
        differing = sorted(
            test for test in known if outcomes.get(test, "PASSED") != "PASSED"
        )
        if differing:
            print(f"\n{label}: {len(differing)} differ by design:")
            for test in differing:
                print(f"  {test}\n      {known[test]}")

    for label in labels:
        failed = regressions(results, label)
        if not failed:
            if label != "stock" and "stock" in results:
                print(
                    f"\nEvery test that passes on stock RQ passes in the {label} run."
                )
            continue
        again = reruns[label][1] if label in reruns else {}
        lasting = [test for test in failed if again.get(test) != "PASSED"]
        flaky = [test for test in failed if again.get(test) == "PASSED"]
        if flaky:
            print(f"\n{label}: {len(flaky)} failed once, then passed on a rerun:")
            for test in flaky:
                print(f"  {test}")
        if lasting:
            status = 1
            print(f"\n{label}: {len(lasting)} pass on stock RQ but fail twice here:")
            for test in lasting:
                print(f"  {again.get(test, 'NOT RUN'):7} {test}")
    print()
    lines = []
    for label in labels:
        tally = tallies[label]
        known = WORKER_DIFFERENCES if label == "workers" else {}
        outcomes = results[label][1]
        expected = sum(1 for test in known if outcomes.get(test, "PASSED") != "PASSED")
        if known:
            print(f"{label}: {expected} tests differ by design (listed above)")
        failed = tally["FAILED"] + tally["ERROR"] - expected
        lines.append(
            f"{label}: {tally['PASSED']} passed, {failed} failed, "
            f"{tally['SKIPPED']} skipped"
        )
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    sys.exit(main())
