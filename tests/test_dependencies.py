"""The installed dependencies are the ones rqfast is built and tested for."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import version

import pytest
import redis
import redis.utils
import rq
from redis import Redis


@pytest.fixture(autouse=True)
def implementation() -> Iterator[None]:
    """Run once: these tests check the environment, not an implementation."""
    yield None


def test_redis_py_uses_hiredis_for_parsing(connection: Redis) -> None:
    assert redis.utils.HIREDIS_AVAILABLE, "redis-py did not load hiredis"
    pool_connection = connection.connection_pool.get_connection()
    try:
        parser = type(pool_connection._parser).__name__
    finally:
        connection.connection_pool.release(pool_connection)
    assert "Hiredis" in parser, parser


def test_rq_is_in_the_supported_range() -> None:
    major, minor = (int(part) for part in rq.__version__.split(".")[:2])
    assert (major, minor) == (2, 12), rq.__version__
    assert int(version("hiredis").split(".")[0]) >= 3
