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
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from importlib import resources
from typing import Any

from redis import Redis
from redis.exceptions import NoScriptError

__all__ = ["Script", "lifecycle_script"]

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


#: The job lifecycle: its phases, then the dispatcher that runs a batch of them.
lifecycle_script = Script("lifecycle", ("start", "finish", "lifecycle"))
