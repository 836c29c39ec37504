#!/bin/sh
# Tests the Rust binding against an installed libslotq.
#
#   bindings/rust/test.sh PREFIX
#
# PREFIX is the library's install prefix (cmake --install ... --prefix PREFIX).
# Sets PKG_CONFIG_PATH and LD_LIBRARY_PATH from it, finds cargo (PATH, then
# /root/.cargo/bin, then ~/.cargo/bin; without it: SKIP, exit 0) and runs
# `cargo fmt --check` (if rustfmt is there) and `cargo test --offline` with its
# target directory under /tmp. Exits non-zero when the formatting is off or a
# test fails.
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 PREFIX" >&2
    exit 2
fi
prefix=$(cd "$1" 2>/dev/null && pwd) || { echo "$0: no such prefix: $1" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)

# The library directory: lib, lib64 or a multiarch lib/<triplet>.
libdir=
for d in "$prefix/lib" "$prefix/lib64" "$prefix"/lib/*-linux-gnu*; do
    if [ -e "$d/libslotq.so" ] || [ -e "$d/libslotq.a" ]; then
        libdir=$d
        break
    fi
done
if [ -z "$libdir" ]; then
    echo "$0: libslotq not found under $prefix/lib*" >&2
    exit 1
fi

if ! command -v cargo >/dev/null 2>&1; then
    for d in /root/.cargo/bin "${HOME:-/nonexistent}/.cargo/bin"; do
        if [ -x "$d/cargo" ]; then
            PATH="$d:$PATH"
            break
        fi
    done
fi
if ! command -v cargo >/dev/null 2>&1; then
    echo "SKIP: Rust binding tests: cargo not found (install Rust or put cargo on PATH)"
    exit 0
fi

PKG_CONFIG_PATH="$libdir/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-/tmp/slotq-rust-target-$(id -u)}
export PATH PKG_CONFIG_PATH LD_LIBRARY_PATH CARGO_TARGET_DIR
# Without pkg-config, build.rs links from SLOTQ_LIB_DIR.
if ! command -v "${PKG_CONFIG:-pkg-config}" >/dev/null 2>&1; then
    SLOTQ_LIB_DIR=$libdir
    export SLOTQ_LIB_DIR
fi
# Check the declarations against the installed header, not the source tree's.
if [ -f "$prefix/include/slotq.h" ]; then
    SLOTQ_HEADER="$prefix/include/slotq.h"
    export SLOTQ_HEADER
fi

cd "$here"
echo "Rust binding: $(cargo --version), libslotq from $libdir"
# The formatting, as clang-format checks the C++ (where rustfmt is installed).
if cargo fmt --version >/dev/null 2>&1; then
    cargo fmt --check
else
    echo "note: rustfmt not installed: formatting not checked"
fi
exec cargo test --offline
