"""Use rqfast from a Flask application, configured from ``app.config``.

Flask is not a dependency of rqfast (install the ``flask`` extra); this module
imports it only when an application is being served.

Configuration keys, with their defaults:

- ``RQ_REDIS_URL``: ``redis://localhost:6379/0``, the server jobs go through;
- ``RQ_QUEUES``: ``["default"]``, the queues a worker of the app listens on,
  the first being the one :meth:`RQ.queue` returns without a name.

Typical use::

    rq = RQ()

    def create_app():
        app = Flask(__name__)
        rq.init_app(app)
        return app

    @app.post("/reports")
    def make_report():
        job = rq.queue().enqueue(build_report, retry=Retry(max=3, interval=10))
        ...
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import redis

from .queue import Queue
from .worker import Worker

if TYPE_CHECKING:
    from flask import Flask

__all__ = ["DEFAULT_QUEUES", "DEFAULT_REDIS_URL", "RQ"]

logger = logging.getLogger(__name__)

DEFAULT_REDIS_URL = "redis://localhost:6379/0"
DEFAULT_QUEUES = ("default",)
EXTENSION_KEY = "rqfast"


@dataclass
class _State:
    """What one application's extension holds: its client and queue names."""

    connection: redis.Redis
    queue_names: list[str]
    queues: dict[str, Queue] = field(default_factory=dict)


class RQ:
    """Give a Flask application a Redis connection, queues and workers."""

    def __init__(
        self,
        app: Flask | None = None,
        *,
        queue_class: type[Queue] = Queue,
        worker_class: type[Worker] = Worker,
    ) -> None:
        self.queue_class = queue_class
        self.worker_class = worker_class
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Read the app's configuration and keep a connection pool for it."""
        app.config.setdefault("RQ_REDIS_URL", DEFAULT_REDIS_URL)
        app.config.setdefault("RQ_QUEUES", list(DEFAULT_QUEUES))
        names = app.config["RQ_QUEUES"]
        if isinstance(names, str) or not names:
            raise ValueError(
                f"RQ_QUEUES must be a non-empty list of queue names, not {names!r}"
            )
        connection = redis.Redis.from_url(app.config["RQ_REDIS_URL"])
        app.extensions[EXTENSION_KEY] = _State(connection, [str(n) for n in names])
        logger.debug("App %s: RQ queues %s", app.name, ", ".join(names))

    def connection(self, app: Flask | None = None) -> redis.Redis:
        """Return the Redis client of ``app`` (default: the current app)."""
        return self._state(app).connection

    def queue(self, name: str | None = None, app: Flask | None = None) -> Queue:
        """Return the queue ``name``, or the app's first configured queue."""
        state = self._state(app)
        name = state.queue_names[0] if name is None else name
        queue = state.queues.get(name)
        if queue is None:
            queue = self.queue_class(name, connection=state.connection)
            state.queues[name] = queue
        return queue

    def queues(self, app: Flask | None = None) -> list[Queue]:
        """Return the app's configured queues, in order."""
        return [self.queue(name, app) for name in self._state(app).queue_names]

    def worker(self, app: Flask | None = None, **options: Any) -> Worker:
        """Return a worker for the app's queues; ``options`` go to the worker."""
        state = self._state(app)
        return self.worker_class(
            self.queues(app), connection=state.connection, **options
        )

    def _state(self, app: Flask | None) -> _State:
        """Return the extension state of ``app`` or of the current app."""
        if app is None:
            from flask import current_app

            app = current_app
        state = app.extensions.get(EXTENSION_KEY)
        if not isinstance(state, _State):
            raise RuntimeError(
                f"rqfast is not set up on the app {app.name!r}; call init_app first"
            )
        return state
