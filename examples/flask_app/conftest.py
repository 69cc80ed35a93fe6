"""Fixtures for the shop's tests: the app on the rqfast plugin's Redis server.

The ``rq_connection`` and ``drain`` fixtures come from rqfast's pytest plugin,
which pytest loads by itself wherever rqfast is installed.
"""

from __future__ import annotations

from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from shop import create_app, rq

from rqfast import Queue


@pytest.fixture
def config() -> dict[str, Any]:
    """Return configuration overrides; a test may change them before ``app``."""
    return {}


@pytest.fixture
def app(rq_redis_url: str, rq_connection: redis.Redis, config: dict[str, Any]) -> Flask:
    """Return the shop app, its queues on the test server's emptied database."""
    return create_app({"TESTING": True, "RQ_REDIS_URL": rq_redis_url, **config})


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """Return a test client of the app."""
    return app.test_client()


@pytest.fixture
def orders(app: Flask) -> Queue:
    """Return the queue the app puts orders on."""
    return rq.queue(app=app)
