"""Scripts run through a held connection behave as through the client.

A :class:`rqfast.scripts.Link` sends a script on one connection it keeps from
the client's pool. These tests check that it answers as the client would, that
it survives a flushed script cache, a killed connection and a fork, and that
it gives its connection back.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator

import pytest
import redis

from rqfast.scripts import Link, Script


def inline(name: str, text: str) -> Script:
    """Return a script with the given source instead of a packaged file."""
    script = Script(name, ())
    script._text = text
    script._sha = hashlib.sha1(text.encode()).hexdigest()
    return script


@pytest.fixture
def echo() -> Script:
    """A script that returns its keys and its arguments."""
    return inline("echo", "return {KEYS, ARGV}")


def held_id(link: Link) -> int:
    """Return the Redis client id of the connection a link holds."""
    held = link._connection
    assert held is not None
    held.send_command("CLIENT", "ID")
    return int(held.read_response())


@pytest.fixture
def link(connection: redis.Redis) -> Iterator[Link]:
    held = Link(connection)
    try:
        yield held
    finally:
        held.close()


def test_answers_as_the_client(
    connection: redis.Redis, link: Link, echo: Script
) -> None:
    args = ["text", b"\x00\xffbytes", 7, -3, 1.5, 1e-7, "é"]
    direct = link.call(echo, ["k1", "k2"], args)
    through_client = echo(connection, ["k1", "k2"], args)

    assert direct == through_client
    assert direct[1] == [
        b"text",
        b"\x00\xffbytes",
        b"7",
        b"-3",
        b"1.5",
        b"1e-07",
        "é".encode(),
    ]


def test_keeps_one_connection(
    connection: redis.Redis, link: Link, echo: Script
) -> None:
    link.call(echo, [], [])
    first = held_id(link)
    link.call(echo, [], [])

    assert held_id(link) == first
    assert connection.connection_pool._in_use_connections  # held, not released


def test_reloads_a_flushed_script(
    connection: redis.Redis, link: Link, echo: Script
) -> None:
    link.call(echo, [], [])
    connection.script_flush()

    assert link.call(echo, ["k"], ["a"]) == [[b"k"], [b"a"]]
    assert connection.script_exists(echo.sha) == [True]


def test_killed_connection_is_replaced(
    connection: redis.Redis, link: Link, echo: Script
) -> None:
    link.call(echo, [], [])
    killed = held_id(link)
    connection.client_kill_filter(_id=killed)

    # The call in flight goes through the client; the next takes a new one.
    assert link.call(echo, ["k"], []) == [[b"k"], []]
    link.call(echo, [], [])
    replacement = held_id(link)
    assert replacement != killed
    link.call(echo, [], [])
    assert held_id(link) == replacement


def test_forked_child_does_not_use_the_parents_connection(
    connection: redis.Redis, link: Link, echo: Script
) -> None:
    link.call(echo, [], [])
    parent_id = held_id(link)
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            link.call(echo, [], [])
            os.write(writer, str(held_id(link)).encode())
        finally:
            os._exit(0)
    os.close(writer)
    child_id = int(os.read(reader, 64) or b"0")
    os.close(reader)
    os.waitpid(pid, 0)

    assert child_id not in (0, parent_id)
    # The parent's connection is still in step after the child's call.
    assert link.call(echo, ["after"], []) == [[b"after"], []]
    assert held_id(link) == parent_id


def test_single_connection_client_is_shared(redis_url: str, echo: Script) -> None:
    client = redis.Redis.from_url(redis_url, single_connection_client=True)
    try:
        link = Link(client)
        assert link.call(echo, ["k"], []) == [[b"k"], []]
        assert link._connection is None  # the client's own connection is used
        assert client.connection is not None
        link.close()
    finally:
        client.close()


def test_close_gives_the_connection_back(connection: redis.Redis, echo: Script) -> None:
    pool = connection.connection_pool
    link = Link(connection)
    link.call(echo, [], [])
    assert len(pool._in_use_connections) == 1

    link.close()

    assert not pool._in_use_connections
    assert link.call(echo, ["again"], []) == [[b"again"], []]
    link.close()


def test_errors_raised_by_the_script_propagate(
    connection: redis.Redis, link: Link
) -> None:
    failing = inline("failing", "return redis.error_reply('no such thing')")

    with pytest.raises(redis.ResponseError, match="no such thing"):
        link.call(failing, [], [])
    # The connection is still usable after the error reply.
    with pytest.raises(redis.ResponseError, match="no such thing"):
        link.call(failing, [], [])
