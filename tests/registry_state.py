"""Snapshots of a Redis database for comparing rqfast's writes with stock RQ's.

A helper module of the registry and scheduler tests, not a test module.
"""

from __future__ import annotations

import re
from typing import Any

from redis import Redis

# RQ's timestamp format; values written "now" differ between two runs.
_TIMESTAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{6})?Z")


def timestamps(connection: Redis) -> set[bytes]:
    """Return every timestamp held in a job hash field of the database."""
    found: set[bytes] = set()
    for key in connection.scan_iter():
        if connection.type(key) == b"hash":
            found.update(
                v for v in connection.hgetall(key).values() if _TIMESTAMP.fullmatch(v)
            )
    return found


def snapshot(connection: Redis, old: set[bytes] = frozenset()) -> dict[bytes, Any]:  # type: ignore[assignment]
    """Return every key of the database: type, value, and whether it expires.

    Timestamps not in ``old`` (written during the operation) compare equal to
    each other; the order of list members, the
    members of sets and sorted sets are kept exactly, and so are the scores the
    tests chose (below 10**9); scores computed from the current time are not.
    """
    state: dict[bytes, Any] = {}
    for key in sorted(connection.scan_iter()):
        kind = connection.type(key)
        value: Any
        if kind == b"hash":
            raw = connection.hgetall(key)
            value = {
                field: (v if v in old or not _TIMESTAMP.fullmatch(v) else b"<new time>")
                for field, v in raw.items()
            }
        elif kind == b"list":
            value = connection.lrange(key, 0, -1)
        elif kind == b"set":
            value = sorted(connection.smembers(key))
        elif kind == b"zset":
            value = sorted(
                (member, score if abs(score) < 10**9 else "<now-based>")
                for member, score in connection.zrange(key, 0, -1, withscores=True)
            )
        elif kind == b"stream":
            value = [
                {
                    f: (b"<new time>" if _TIMESTAMP.fullmatch(v) else v)
                    for f, v in e[1].items()
                }
                for e in connection.xrange(key)
            ]
        else:
            value = connection.get(key)
        state[key] = (kind, value, connection.ttl(key) > 0)
    return state


def copy_database(source: Redis, target: Redis) -> None:
    """Copy every key of ``source`` into the emptied ``target``, with its expiry."""
    target.flushdb()
    for key in source.scan_iter():
        ttl = source.pttl(key)
        dump = source.dump(key)
        assert dump is not None
        target.restore(key, max(ttl, 0), dump)


def other_database(connection: Redis, offset: int = 1) -> Redis:
    """Return a new client for database ``db + offset`` of the same server."""
    kwargs = connection.connection_pool.connection_kwargs
    db = kwargs.get("db", 0) + offset
    if kwargs.get("path"):
        return Redis(unix_socket_path=kwargs["path"], db=db)
    return Redis(host=kwargs["host"], port=kwargs["port"], db=db)
