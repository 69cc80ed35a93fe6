"""The built C extension is the implementation rqfast actually loads.

A build that compiled ``rqfast/_speedups*.so`` but silently fell back to the
pure-Python twin (a missing symbol, an import error in the module's setup)
would pass every other test while running slowly; this one fails instead.
``RQFAST_REQUIRE_EXTENSION=1`` demands the extension even when no built file
sits in the package directory (an installed wheel, for instance).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import rqfast
from rqfast import _reference

PACKAGE_DIR = Path(rqfast.__file__).parent
#: What the C module exports besides its functions: whether it deflates
#: small payloads itself (zlib linked in, the same version as Python's).
C_ONLY = {"direct_deflate"}


@pytest.fixture(autouse=True)
def implementation() -> Iterator[None]:
    """Run once: these tests look at import-time choices, not at one implementation."""
    yield None


def extension_expected() -> bool:
    built = any(PACKAGE_DIR.glob("_speedups*.so")) or any(
        PACKAGE_DIR.glob("_speedups*.pyd")
    )
    required = os.environ.get("RQFAST_REQUIRE_EXTENSION", "") not in ("", "0")
    return built or required


def chosen_implementation(pure_python: str | None) -> str:
    """What a fresh interpreter's rqfast._impl chooses, warnings as errors."""
    env = dict(os.environ)
    env.pop("RQFAST_PURE_PYTHON", None)
    if pure_python is not None:
        env["RQFAST_PURE_PYTHON"] = pure_python
    done = subprocess.run(
        [
            sys.executable,
            "-W",
            "error",
            "-c",
            "from rqfast import _impl; print(_impl.name)",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_built_extension_is_loaded() -> None:
    if not extension_expected():
        pytest.skip("the C extension was not built")
    assert chosen_implementation(None) == "c"


def test_pure_python_switch_is_honoured() -> None:
    assert chosen_implementation("1") == "py"
    if extension_expected():
        assert chosen_implementation("0") == "c"


def test_extension_provides_the_codec() -> None:
    if not extension_expected():
        pytest.skip("the C extension was not built")
    from rqfast import _speedups

    exported = {name for name in dir(_speedups) if not name.startswith("_")}
    # Every C function has its twin, and the twin nothing the C lacks.
    assert exported - C_ONLY == set(_reference.__all__)
    for name in _reference.__all__:
        assert callable(getattr(_speedups, name)), name
        assert callable(getattr(_reference, name)), name
    assert isinstance(_speedups.direct_deflate, bool)
