#!/usr/bin/env bash
# Build the C extension with AddressSanitizer and UndefinedBehaviorSanitizer
# in a throwaway copy of the tree, then run the codec and extension tests
# (leak tests included) against it. The normal in-place build is untouched.
# Exits non-zero on a test failure or on any sanitizer report.
#
# Usage: scripts/asan.sh [extra pytest arguments]
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
python="${PYTHON:-python}"
work="$("$python" -c 'import tempfile; print(tempfile.mkdtemp(prefix="rqfast-asan-"))')"
trap 'rm -rf "$work"' EXIT

# Copy the sources only: no git data, no earlier builds.
tar -C "$root" --exclude=.git --exclude=build --exclude='*.so' \
    --exclude=.hypothesis --exclude='*.egg-info' --exclude=__pycache__ \
    --exclude=.mypy_cache --exclude=.ruff_cache --exclude=.pytest_cache \
    --exclude=.rq-suite \
    -cf - . | tar -C "$work" -xf -

cd "$work"
RQFAST_ASAN=1 "$python" setup.py -q build_ext --inplace >build.log 2>&1 || {
    cat build.log
    exit 1
}

ldd rqfast/_speedups*.so >ldd.log
if ! grep -q libasan ldd.log; then
    echo "asan.sh: the extension was not built with AddressSanitizer" >&2
    exit 1
fi

libasan="$(gcc -print-file-name=libasan.so)"
if [[ ! -e "$libasan" ]]; then
    echo "asan.sh: libasan not found (gcc -print-file-name=libasan.so)" >&2
    exit 1
fi

# The package under test must be the sanitized copy, not the editable
# install of the real tree.
check='import rqfast._speedups as s, sys; print(s.__file__)'
loaded="$(PYTHONPATH="$work" LD_PRELOAD="$libasan" \
    ASAN_OPTIONS=detect_leaks=0 "$python" -c "$check")"
if [[ "$loaded" != "$work"/* ]]; then
    echo "asan.sh: imported $loaded instead of the sanitized build" >&2
    exit 1
fi

# CPython itself does not free everything at exit: leak detection is off,
# and the tracemalloc/allocated-blocks leak tests cover the extension.
status=0
PYTHONPATH="$work" LD_PRELOAD="$libasan" \
    ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    RQFAST_REQUIRE_EXTENSION=1 \
    "$python" -m pytest -q -p no:cacheprovider \
    tests/test_codec.py tests/test_extension.py "$@" 2>&1 |
    tee test.log || status=$?

if grep -E -q 'ERROR: AddressSanitizer|runtime error:|SUMMARY: (Address|UndefinedBehavior)Sanitizer' test.log; then
    echo "asan.sh: sanitizer report found" >&2
    exit 1
fi
exit "$status"
