"""Build the rqfast C extension.

RQFAST_NO_EXTENSIONS=1 skips the extension (rqfast then runs on its pure-Python
twin). RQFAST_DEBUG_BUILD=1 builds with -O0, debug symbols and assertions;
RQFAST_ASAN=1 adds AddressSanitizer and UndefinedBehaviorSanitizer.
"""

import os
import sys
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

sources = sorted(glob("csrc/*.c"))
ext_modules = []
if (
    sources
    and not os.environ.get("RQFAST_NO_EXTENSIONS")
    and sys.implementation.name == "cpython"
):
    ext_modules.append(
        Extension(
            "rqfast._speedups",
            sources=sources,
            depends=sorted(glob("csrc/*.h")),
            include_dirs=["csrc"],
            extra_compile_args=extra_compile_args,
            extra_link_args=extra_link_args,
            undef_macros=undef_macros,
        )
    )

setup(ext_modules=ext_modules)
