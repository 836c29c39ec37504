#!/bin/sh
# Checks that C programs can consume an installed libslotq:
#   tests/consumers/run.sh PREFIX
#
#   pkg-config  cc $(pkg-config --cflags --libs slotq) consumer.c, then run it
#   cmake       a project with find_package(slotq REQUIRED) and slotq::slotq
#               (CMAKE_PREFIX_PATH=PREFIX), then run it
#   dlopen      dlopen PREFIX/lib*/libslotq.so.1, dlsym every function that
#               PREFIX/include/slotq.h declares, run the slot cycle through them
#
# A static install (libslotq.a, no libslotq.so.1) is linked with
# `pkg-config --static` and from a C-only CMake project, each program must
# then have no libslotq.so mapped, and instead of dlopen a shared object
# (a plugin) is linked with the archive, which must be position-independent.
#
# Each program checks what it does and exits non-zero on failure; each must
# also be running against PREFIX's library, not another copy. Needs cc, cmake
# and pkg-config (CC overrides the compiler). Exits non-zero if any test fails.
set -u

if [ $# -ne 1 ] || [ ! -d "$1" ]; then
  echo "usage: $0 PREFIX" >&2
  exit 2
fi
PREFIX=$(cd "$1" && pwd)
HERE=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-cc}

LIBDIR=
STATIC=
for d in "$PREFIX/lib" "$PREFIX/lib64" "$PREFIX"/lib/*-linux-gnu*; do
  if [ -e "$d/libslotq.so.1" ]; then
    LIBDIR=$d
    break
  fi
  if [ -e "$d/libslotq.a" ]; then
    LIBDIR=$d
    STATIC=1
    break
  fi
done
if [ -z "$LIBDIR" ]; then
  echo "FAIL: no libslotq.so.1 or libslotq.a under $PREFIX/lib*" >&2
  exit 1
fi
HEADER="$PREFIX/include/slotq.h"

WORK=$(mktemp -d "${TMPDIR:-/tmp}/slotq-consumers.XXXXXX")
trap 'rm -rf "$WORK"' EXIT INT TERM

# Strict C99: the installed header must build cleanly for consumers.
STRICT="-std=c99 -Wall -Wextra -Wpedantic -Werror"

# Each step ends the test on failure (set -e does not apply inside `if`).
test_pkgconfig() {
  PKG_CONFIG_PATH="$LIBDIR/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  export PKG_CONFIG_PATH
  flags=$(pkg-config ${STATIC:+--static} --cflags --libs slotq) || return 1
  version=$(pkg-config --modversion slotq) || return 1
  echo "pkg-config: slotq $version: $flags"
  # The .pc file must describe PREFIX, or this would test another install.
  for var in includedir:"$PREFIX/include" libdir:"$LIBDIR"; do
    got=$(pkg-config --variable="${var%%:*}" slotq) || return 1
    if [ "$(cd "$got" 2>/dev/null && pwd -P)" != "$(cd "${var#*:}" && pwd -P)" ]; then
      echo "FAIL: slotq.pc says ${var%%:*}=$got, but the install is ${var#*:}" \
        "(the .pc file is not relocatable: was PREFIX installed with --prefix?)"
      return 1
    fi
  done
  # shellcheck disable=SC2086 # the flags are words
  "$CC" $STRICT -DSLOTQ_EXPECT_VERSION="\"$version\"" ${STATIC:+-DSLOTQ_EXPECT_STATIC} \
    "$HERE/consumer.c" -o "$WORK/pc-consumer" $flags || return 1
  if [ -n "$STATIC" ]; then
    "$WORK/pc-consumer"
    return
  fi
  # pkg-config gives no run path: tell the loader where PREFIX's library is.
  LD_LIBRARY_PATH="$LIBDIR${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" "$WORK/pc-consumer" "$LIBDIR"
}

test_cmake() {
  cmake -S "$HERE/cmake" -B "$WORK/cmake-build" -DCMAKE_PREFIX_PATH="$PREFIX" \
    -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_COMPILER="$CC" \
    -DSLOTQ_EXPECT_STATIC="${STATIC:-0}" || return 1
  cmake --build "$WORK/cmake-build" || return 1
  if [ -n "$STATIC" ]; then
    "$WORK/cmake-build/consumer"
    return
  fi
  # No LD_LIBRARY_PATH: the imported target's location gives the build tree's run path.
  env -u LD_LIBRARY_PATH "$WORK/cmake-build/consumer" "$LIBDIR"
}

test_plugin() {
  # A shared object with the archive inside: links only if it is PIC.
  PKG_CONFIG_PATH="$LIBDIR/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  export PKG_CONFIG_PATH
  flags=$(pkg-config --static --cflags --libs slotq) || return 1
  # shellcheck disable=SC2086
  "$CC" $STRICT -shared -fPIC "$HERE/consumer.c" -o "$WORK/plugin.so" $flags || return 1
  echo "plugin: linked $WORK/plugin.so with libslotq.a"
}

test_dlopen() {
  # shellcheck disable=SC2086
  "$CC" $STRICT -I"$PREFIX/include" "$HERE/dlopen_all.c" -o "$WORK/dlopen_all" -ldl || return 1
  "$WORK/dlopen_all" "$LIBDIR/libslotq.so.1" "$HEADER"
}

failed=
tests="pkgconfig cmake dlopen"
[ -n "$STATIC" ] && tests="pkgconfig cmake plugin"
for t in $tests; do
  echo "=== consumer test: $t"
  if (test_$t) >"$WORK/$t.log" 2>&1; then
    sed 's/^/  /' "$WORK/$t.log"
    echo "--- PASS: $t"
  else
    sed 's/^/  /' "$WORK/$t.log"
    echo "--- FAIL: $t"
    failed="$failed $t"
  fi
done

if [ -n "$failed" ]; then
  echo "consumer tests FAILED:$failed (prefix $PREFIX)"
  exit 1
fi
echo "consumer tests passed (prefix $PREFIX)"
