"""rqfast's registries: RQ's started and failed registries, swept in bulk.

Stock RQ handles registry entries one job at a time; here each operation reads
and writes a chunk of entries per round trip.
"""

from __future__ import annotations

import hashlib
import logging
from importlib import resources
from typing import Any

from redis import Redis
from redis.exceptions import NoScriptError

__all__ = ["run_script"]

logger = logging.getLogger(__name__)

_sources: dict[str, tuple[str, str]] = {}


def _source(name: str) -> tuple[str, str]:
    entry = _sources.get(name)
    if entry is None:
        text = (
            resources.files("rqfast")
            .joinpath("lua")
            .joinpath(f"{name}.lua")
            .read_text()
        )
        entry = (text, hashlib.sha1(text.encode()).hexdigest())
        _sources[name] = entry
    return entry


def run_script(connection: Redis, name: str, keys: list[str], args: list[Any]) -> Any:
    """Run the packaged Lua script ``name`` by its SHA, loading it when missing."""
    text, sha = _source(name)
    try:
        return connection.evalsha(sha, len(keys), *keys, *args)
    except NoScriptError:
        connection.script_load(text)
        return connection.evalsha(sha, len(keys), *keys, *args)
