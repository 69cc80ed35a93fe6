"""Fixtures for testing RQ jobs against a real Redis server.

pytest loads this plugin in every project where rqfast is installed, so it
does nothing until a test asks for one of its fixtures: no server is started,
nothing is patched and the rest of rqfast is not even imported before that.

- ``rq_redis_url``: the URL of a Redis server for the whole session. A private
  server is started on first use and stopped when the session ends; when
  ``REDIS_URL`` is set, that server is used instead and left running.
- ``rq_connection``: a client for that server; the database is emptied before
  each test that uses it.
- ``rq_queue`` and ``rq_worker``: an rqfast ``Queue`` named ``default`` and a
  ``SimpleWorker`` for it, on ``rq_connection``.
- ``drain``: a callable that runs jobs to their end on a virtual clock (see
  :func:`rqfast.testing.drain`). Without queues it drains ``rq_queue``; each
  call continues the clock and the job histories of the previous ones in the
  same test.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import redis
    from rq.queue import Queue as RQQueue

    from .queue import Queue
    from .testing import DrainResult
    from .worker import SimpleWorker

__all__ = ["Drain", "drain", "rq_connection", "rq_queue", "rq_redis_url", "rq_worker"]


@pytest.fixture(scope="session")
def rq_redis_url() -> Iterator[str]:
    """Yield the URL of the session's Redis server, starting one if need be."""
    from ._server import redis_url_or_server

    with redis_url_or_server() as url:
        yield url


@pytest.fixture
def rq_connection(rq_redis_url: str) -> Iterator[redis.Redis]:
    """Yield a client for the session's server, its database emptied first."""
    import redis

    client = redis.Redis.from_url(rq_redis_url)
    client.flushdb()
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def rq_queue(rq_connection: redis.Redis) -> Queue:
    """Return the queue ``default`` on the test's connection."""
    from .queue import Queue

    return Queue("default", connection=rq_connection)


@pytest.fixture
def rq_worker(rq_queue: Queue) -> Iterator[SimpleWorker]:
    """Yield a worker for ``rq_queue``; its signal handlers are put back after."""
    from .testing import worker_side_effects_undone
    from .worker import SimpleWorker

    with worker_side_effects_undone():
        yield SimpleWorker([rq_queue], connection=rq_queue.connection)


class Drain:
    """Drain queues on a virtual clock that runs on across calls within a test."""

    def __init__(self, request: pytest.FixtureRequest) -> None:
        self._request = request
        self.last: DrainResult | None = None

    def __call__(
        self, queues: RQQueue | Iterable[RQQueue] | None = None, **options: Any
    ) -> DrainResult:
        """Drain ``queues`` (default: ``rq_queue``) and return what happened.

        Takes the keyword options of :func:`rqfast.testing.drain`.
        """
        from .testing import drain as drain_queues

        if queues is None:
            queues = self._request.getfixturevalue("rq_queue")
        options.setdefault("after", self.last)
        self.last = drain_queues(queues, **options)
        return self.last


@pytest.fixture
def drain(request: pytest.FixtureRequest) -> Drain:
    """Return a callable that runs queued and scheduled jobs to their end."""
    return Drain(request)
