"""``rqfast.flask.RQ``: queues and workers configured from a Flask app."""

from __future__ import annotations

import pytest
import redis
from flask import Flask

from rqfast import Queue, SimpleWorker, Worker
from rqfast.flask import DEFAULT_REDIS_URL, RQ


def make_app(redis_url: str | None = None, **config: object) -> Flask:
    """Return a bare Flask app with the given configuration."""
    app = Flask("rqfast_flask_test")
    if redis_url is not None:
        app.config["RQ_REDIS_URL"] = redis_url
    app.config.update(config)
    return app


def test_defaults_fill_the_config() -> None:
    app = make_app()

    RQ(app)

    assert app.config["RQ_REDIS_URL"] == DEFAULT_REDIS_URL
    assert app.config["RQ_QUEUES"] == ["default"]


def test_queues_follow_the_config_and_reach_the_configured_server(
    redis_url: str, connection: redis.Redis
) -> None:
    app = make_app(redis_url, RQ_QUEUES=["high", "low"])
    rq = RQ(app)

    with app.app_context():
        queues = rq.queues()
        default = rq.queue()
        default.enqueue("os.getcwd")

    assert [queue.name for queue in queues] == ["high", "low"]
    assert default is queues[0]
    assert isinstance(default, Queue)
    assert rq.queue("other", app=app).name == "other"
    assert connection.llen("rq:queue:high") == 1


def test_one_extension_serves_several_apps(redis_url: str) -> None:
    first = make_app(redis_url, RQ_QUEUES=["first"])
    second = make_app(redis_url.rsplit("/", 1)[0] + "/7", RQ_QUEUES=["second"])
    rq = RQ()
    rq.init_app(first)
    rq.init_app(second)

    assert rq.queue(app=first).name == "first"
    assert rq.queue(app=second).name == "second"
    assert rq.connection(second).connection_pool.connection_kwargs["db"] == 7
    assert rq.connection(first) is not rq.connection(second)


def test_workers_use_the_app_queues_and_the_chosen_class(redis_url: str) -> None:
    app = make_app(redis_url, RQ_QUEUES=["a", "b"])
    forking = RQ(app)
    simple = RQ(worker_class=SimpleWorker)

    worker = forking.worker(app, name="shop-worker")

    assert type(worker) is Worker
    assert worker.name == "shop-worker"
    assert worker.queue_names() == ["a", "b"]
    assert type(simple.worker(app)) is SimpleWorker


@pytest.mark.parametrize("queues", ["default", []])
def test_bad_queue_settings_are_refused(queues: object) -> None:
    with pytest.raises(ValueError, match="RQ_QUEUES must be a non-empty list"):
        RQ(make_app(RQ_QUEUES=queues))


def test_an_app_without_the_extension_is_named() -> None:
    app = make_app()

    with pytest.raises(RuntimeError, match="not set up on the app 'rqfast_flask_test'"):
        RQ().queue(app=app)
