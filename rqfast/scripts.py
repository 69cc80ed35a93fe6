"""Load rqfast's Lua scripts once and call them by SHA.

Each script is kept as a ``.lua`` file in ``rqfast/lua``. A script may be
composed of several files (the lifecycle script is its phases followed by a
dispatcher); the text is read and hashed once per process. A call is an
EVALSHA; when Redis answers NOSCRIPT (the script cache was flushed, or the
server restarted) the script is loaded again and the call repeated once.

Scripts receive every key they are given to touch in KEYS. The one exception
is the start phase of the lifecycle script: it derives the keys of the job it
pops from the popped id, which cannot be known before the pop. That is valid on
a single Redis or Valkey node and its replicas, where RQ runs; RQ itself does
not run on Redis Cluster, whose slot routing would need those keys named.

A caller that runs one script many times a second from one thread (a worker
running its job lifecycle) can hold a :class:`Link`: one connection taken from
the client's pool and kept, on which a call is packed, sent and read with none
of redis-py's per-command layers around it. The bytes sent are those the
client itself would send. A link that loses its connection gives the call to
the client, whose own retry policy then applies, and takes a fresh connection
for the next call; in a forked child it always goes through the client.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
from collections.abc import Sequence
from importlib import resources
from typing import Any

import hiredis
import redis.connection
from redis import Redis
from redis.exceptions import ConnectionError, NoScriptError, TimeoutError

from . import _impl

__all__ = ["Link", "Script", "lifecycle_script", "pack_command"]

logger = logging.getLogger(__name__)


def _read(name: str) -> str:
    return resources.files("rqfast").joinpath("lua").joinpath(f"{name}.lua").read_text()


class Script:
    """A Lua script made of one or more packaged files, called by its SHA."""

    def __init__(self, name: str, parts: Sequence[str] | None = None) -> None:
        self.name = name
        self.parts = tuple(parts) if parts is not None else (name,)
        self._text: str | None = None
        self._sha = ""
        self._lock = threading.Lock()

    @property
    def text(self) -> str:
        """Return the script's source, reading its files on first use."""
        if self._text is None:
            with self._lock:
                if self._text is None:
                    text = "\n".join(_read(part) for part in self.parts)
                    self._sha = hashlib.sha1(text.encode()).hexdigest()
                    self._text = text
        return self._text

    @property
    def sha(self) -> str:
        """Return the SHA1 Redis knows the script by."""
        if self._text is None:
            self.text  # noqa: B018 - reads the files and computes the SHA
        return self._sha

    def load(self, connection: Redis) -> None:
        """Load the script into the server's script cache."""
        logger.debug("Script %s: loading into the server's cache", self.name)
        connection.script_load(self.text)

    def __call__(
        self, connection: Redis, keys: Sequence[Any], args: Sequence[Any]
    ) -> Any:
        """Run the script with ``keys`` and ``args``; load it if Redis lacks it."""
        sha = self.sha
        try:
            return connection.evalsha(sha, len(keys), *keys, *args)
        except NoScriptError:
            self.load(connection)
            return connection.evalsha(sha, len(keys), *keys, *args)

    def run_on(self, connection: Any, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run the script on one connection of a pool; load it if Redis lacks it."""
        command = ("EVALSHA", self.sha, len(keys), *keys, *args)
        # hiredis's packer is what redis-py itself calls for these arguments
        # (text, bytes and numbers), and rqfast's makes the same bytes with
        # less work; any other packer is asked as it is.
        packer = getattr(connection, "_command_packer", None)
        if isinstance(packer, redis.connection.HiredisRespSerializer):
            packed: Any = [pack_command(command)]
        else:
            packed = connection.pack_command(*command)
        connection.send_packed_command(packed, check_health=False)
        try:
            return connection.read_response()
        except NoScriptError:
            logger.debug("Script %s: loading into the server's cache", self.name)
            connection.send_command("SCRIPT", "LOAD", self.text)
            connection.read_response()
            connection.send_packed_command(packed, check_health=False)
            return connection.read_response()


def pack_command(command: tuple[Any, ...]) -> bytes:
    """Return a command's RESP bytes, exactly as ``hiredis.pack_command`` makes them.

    The codec packs the kinds of argument scripts are called with; hiredis
    packs anything else, and raises for what it cannot pack.
    """
    packed = _impl.ext.pack_command(command)
    if packed is None:
        packed = hiredis.pack_command(command)
    return packed


class Link:
    """One connection of a client's pool, held for calls from a single thread."""

    def __init__(self, client: Redis) -> None:
        self.client = client
        #: A redis-py pool connection (redis.connection.Connection or a subclass).
        self._connection: Any = None
        self._pid = 0

    def call(self, script: Script, keys: Sequence[Any], args: Sequence[Any]) -> Any:
        """Run ``script`` on the held connection, taking one first if needed."""
        connection = self._connection
        if connection is None or self._pid != os.getpid():
            connection = self._take()
            if connection is None:
                return script(self.client, keys, args)
        try:
            return script.run_on(connection, keys, args)
        except (ConnectionError, TimeoutError):
            # redis-py has disconnected it; the client retries by its policy.
            self.close()
            return script(self.client, keys, args)

    def _take(self) -> Any:
        """Take a connection from the pool, or None where the client must be used."""
        client = self.client
        if client.connection is not None or not isinstance(client, Redis):
            return None  # a single-connection client: share its connection
        # A connection inherited through fork is the parent's: never used here.
        self._connection = client.connection_pool.get_connection()
        self._pid = os.getpid()
        return self._connection

    def close(self) -> None:
        """Give the held connection back to the pool (in the process that took it)."""
        connection, self._connection = self._connection, None
        if connection is not None and self._pid == os.getpid():
            self.client.connection_pool.release(connection)


#: The job lifecycle: its phases, then the dispatcher that runs a batch of them.
lifecycle_script = Script("lifecycle", ("start", "finish", "lifecycle"))
