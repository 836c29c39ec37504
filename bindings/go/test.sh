#!/bin/sh
# Vets and tests the Go binding against an installed libslotq, then runs its
# benchmark once, briefly, to show that it works (its figures are not judged).
#
# Usage: bindings/go/test.sh PREFIX
#   PREFIX: the install prefix of libslotq (cmake --install ... --prefix PREFIX).
# Needs Go >= 1.19 (Debian's golang-go), a C compiler and pkg-config; uses
# only the Go standard library, so no module proxy or network.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 PREFIX" >&2
	exit 2
fi
prefix=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)

# The pkg-config file and the library, wherever GNUInstallDirs put them.
pcdir=
for d in "$prefix"/lib/pkgconfig "$prefix"/lib64/pkgconfig "$prefix"/lib/*/pkgconfig; do
	if [ -f "$d/slotq.pc" ]; then
		pcdir=$d
		break
	fi
done
if [ -z "$pcdir" ]; then
	echo "$0: no slotq.pc under $prefix" >&2
	exit 1
fi
libdir=$(dirname "$pcdir")

PKG_CONFIG_PATH=$pcdir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}
LD_LIBRARY_PATH=$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Go's build cache keys a cgo package on CGO_* but not on what pkg-config
# says (golang/go#24544): without this, a second run against another prefix
# (test-all installs into a new temporary one each time) reuses the package
# built with the first prefix's -L and fails to link (cannot find -lslotq).
CGO_LDFLAGS="-L$libdir${CGO_LDFLAGS:+ $CGO_LDFLAGS}"
GOFLAGS=-mod=mod
GOPROXY=off
CGO_ENABLED=1
export PKG_CONFIG_PATH LD_LIBRARY_PATH CGO_LDFLAGS GOFLAGS GOPROXY CGO_ENABLED
# Go's caches default under $HOME, which CI may not let us write.
if [ -z "${HOME:-}" ] || ! [ -w "${HOME:-/nonexistent}" ]; then
	: "${GOCACHE:=${TMPDIR:-/tmp}/slotq-go-cache}"
	: "${GOPATH:=${TMPDIR:-/tmp}/slotq-go-path}"
	export GOCACHE GOPATH
fi

cd "$here"
go version

echo "== gofmt"
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "$0: not gofmt-clean: $unformatted" >&2
	exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test -race"
go test -race -count=1 -timeout 10m ./...

echo "== slotq-gobench (brief run; figures not judged)"
bench=$(mktemp -d)
trap 'rm -rf "$bench"' EXIT
go build -o "$bench/slotq-gobench" ./cmd/slotq-gobench
"$bench/slotq-gobench" -scenario=all -calls=2000 -queued=2000 -functions=100
