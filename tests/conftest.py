"""Shared fixtures: a real Redis server, a clean database, both implementations.

The session starts a private Redis server (see ``rqfast._server``) unless
``REDIS_URL`` names one to use instead. Every test runs twice, once on the C
extension (id ``c``) and once on the pure-Python twin (id ``py``); a ``c`` run
fails, rather than skips, when the extension cannot be loaded, and with
``RQFAST_REQUIRE_EXTENSION=1`` (as in CI) the session does not start at all.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from rqfast import _impl, _server

IMPLEMENTATIONS = ("c", "py")


def pytest_configure(config: pytest.Config) -> None:
    """Refuse to run without the C extension when it is required."""
    required = os.environ.get("RQFAST_REQUIRE_EXTENSION", "") not in ("", "0")
    if required and _impl.c_ext is None:
        raise pytest.UsageError(
            "RQFAST_REQUIRE_EXTENSION is set but the rqfast C extension did not "
            f"load: {_impl._import_error}"
        )


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """Yield the URL of the Redis server the tests use."""
    with _server.redis_url_or_server() as url:
        yield url


@pytest.fixture
def connection(redis_url: str) -> Iterator[redis.Redis]:
    """Yield a client for an emptied database of the test server."""
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(autouse=True, params=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test on one implementation and switch back afterwards."""
    previous = _impl.name
    _impl.use(request.param)
    try:
        yield request.param
    finally:
        _impl.use(previous)
