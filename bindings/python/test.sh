#!/bin/sh
# Runs the Python binding's tests against an installed libslotq:
#   bindings/python/test.sh PREFIX
# PREFIX is a `cmake --install` prefix (PREFIX/lib*/libslotq.so.1 and
# PREFIX/include/slotq.h). Needs only Python 3's standard library (PYTHON
# overrides the interpreter, /usr/bin/python3 by default) and, for the
# struct-layout test, a C compiler. Extra arguments go to unittest (e.g. -k lifo).
# Exits non-zero if a test fails.
set -eu

if [ $# -lt 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 PREFIX [unittest args...]" >&2
  exit 2
fi
PREFIX=$(cd "$1" && pwd)
shift
HERE=$(cd "$(dirname "$0")" && pwd)

LIB=
for d in "$PREFIX/lib" "$PREFIX/lib64" "$PREFIX"/lib/*-linux-gnu*; do
  if [ -e "$d/libslotq.so.1" ]; then
    LIB="$d/libslotq.so.1"
    break
  fi
done
if [ -z "$LIB" ]; then
  echo "$0: no libslotq.so.1 under $PREFIX/lib*" >&2
  exit 1
fi

PYTHON=${PYTHON:-/usr/bin/python3}
if [ ! -x "$PYTHON" ]; then
  PYTHON=$(command -v python3) || { echo "$0: python3 not found" >&2; exit 1; }
fi

export SLOTQ_LIBRARY="$LIB"
export SLOTQ_HEADER="$PREFIX/include/slotq.h"
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONDONTWRITEBYTECODE=1
echo "python binding tests: $("$PYTHON" --version 2>&1), library $LIB"

cd "$HERE"
# faulthandler prints every thread's stack on a crash, or on the SIGABRT that
# timeout sends if a test hangs.
run() { "$PYTHON" -X faulthandler -m unittest discover -s tests -t tests "$@"; }
if command -v timeout >/dev/null 2>&1; then
  run() { timeout -s ABRT 900 "$PYTHON" -X faulthandler -m unittest discover -s tests -t tests "$@"; }
fi
run -v "$@"
