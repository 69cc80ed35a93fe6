"""Build the rqfast C extension.

RQFAST_NO_EXTENSIONS=1 skips the extension (rqfast then runs on its pure-Python
twin). RQFAST_DEBUG_BUILD=1 builds with -O0, debug symbols and assertions;
RQFAST_ASAN=1 adds AddressSanitizer and UndefinedBehaviorSanitizer.

The codec inflates small payloads with zlib directly when a C program can
include zlib.h and link -lz (zlib1g-dev on Debian); otherwise, or with
RQFAST_NO_ZLIB=1, it calls Python's zlib module, with the same results.
"""

import os
import subprocess
import sys
import sysconfig
import tempfile
from glob import glob

from setuptools import Extension, setup

# No floating-point contraction: the retry arithmetic must give the same bits
# as its pure-Python twin.
extra_compile_args = [
    "-std=c11",
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    "-ffp-contract=off",
]
extra_link_args: list[str] = []
undef_macros: list[str] = []

if os.environ.get("RQFAST_DEBUG_BUILD") or os.environ.get("RQFAST_ASAN"):
    extra_compile_args += ["-O0", "-g3"]
    undef_macros.append("NDEBUG")
if os.environ.get("RQFAST_ASAN"):
    sanitize = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]
    extra_compile_args += sanitize
    extra_link_args += sanitize


def have_zlib() -> bool:
    """Return whether a C program can include zlib.h and link with -lz."""
    if os.environ.get("RQFAST_NO_ZLIB"):
        return False
    compiler = (sysconfig.get_config_var("CC") or "cc").split()
    with tempfile.TemporaryDirectory() as work:
        probe = os.path.join(work, "probe.c")
        with open(probe, "w") as f:
            f.write("#include <zlib.h>\nint main(void) { return !zlibVersion(); }\n")
        try:
            built = subprocess.run(
                [*compiler, probe, "-o", os.path.join(work, "probe"), "-lz"],
                capture_output=True,
                check=False,
            )
        except OSError:
            return False
    return built.returncode == 0


define_macros: list[tuple[str, str | None]] = []
libraries: list[str] = []
sources = sorted(glob("csrc/*.c"))
ext_modules = []
if (
    sources
    and not os.environ.get("RQFAST_NO_EXTENSIONS")
    and sys.implementation.name == "cpython"
):
    if have_zlib():
        define_macros.append(("RQF_HAVE_ZLIB", "1"))
        libraries.append("z")
    ext_modules.append(
        Extension(
            "rqfast._speedups",
            sources=sources,
            depends=sorted(glob("csrc/*.h")),
            include_dirs=["csrc"],
            extra_compile_args=extra_compile_args,
            extra_link_args=extra_link_args,
            define_macros=define_macros,
            undef_macros=undef_macros,
            libraries=libraries,
        )
    )

setup(ext_modules=ext_modules)
