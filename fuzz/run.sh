#!/usr/bin/env bash
# Builds the libFuzzer target (clang, ASan + UBSan) from the library sources
# and fuzz/slotq_fuzz.c, then fuzzes for SECONDS (default 60) starting from
# fuzz/corpus. New inputs go to a work corpus in the build directory, never
# into the repository; crash inputs go to $BUILD/artifacts.
#
#   fuzz/run.sh [SECONDS]
#
# Environment: SLOTQ_ROOT (the tree whose src/ and include/ to build, default
# this checkout), SLOTQ_FUZZ_BUILD (build dir, default /tmp/slotq-fuzz),
# SLOTQ_FUZZ_JOBS (parallel fuzzing processes, default 1), CC/CXX (default
# clang/clang++).
# Exits non-zero if the build fails or the fuzzer finds a crash.
set -euo pipefail

seconds=${1:-60}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=${SLOTQ_ROOT:-$(cd "$here/.." && pwd)}
build=${SLOTQ_FUZZ_BUILD:-/tmp/slotq-fuzz}
cc=${CC:-clang}
cxx=${CXX:-clang++}
jobs=${SLOTQ_FUZZ_JOBS:-1}
flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined
       -fno-sanitize-recover=undefined)

mkdir -p "$build/obj" "$build/corpus" "$build/artifacts"
echo "fuzz/run.sh: building into $build"
objs=()
# The library's own source list (src/CMakeLists.txt), so that files not yet
# part of the build are left out; every src/*.cc if it cannot be read.
srcs=$(sed -n '/^add_library(slotq$/,/)/p' "$root/src/CMakeLists.txt" | grep -oE '[A-Za-z0-9_]+\.cc' || true)
[ -n "$srcs" ] || srcs=$(cd "$root/src" && ls *.cc)
for name in $srcs; do
  src="$root/src/$name"
  obj="$build/obj/$(basename "$src" .cc).o"
  "$cxx" -std=c++17 "${flags[@]}" -DSLOTQ_BUILDING -I"$root/include" -I"$root/src" \
    -c "$src" -o "$obj"
  objs+=("$obj")
done
"$cc" -std=c11 -Wall -Wextra "${flags[@]}" -I"$root/include" -c "$here/slotq_fuzz.c" \
  -o "$build/obj/slotq_fuzz.o"
"$cxx" -fsanitize=fuzzer,address,undefined "${objs[@]}" "$build/obj/slotq_fuzz.o" \
  -o "$build/slotq_fuzz" -lcrypto -lpthread

echo "fuzz/run.sh: fuzzing for ${seconds}s from $(ls "$here/corpus" | wc -l) seed inputs"
log="$build/fuzz.log"
parallel=()
# -jobs makes libFuzzer write fuzz-N.log files into the current directory.
if [ "$jobs" -gt 1 ]; then parallel=(-jobs="$jobs" -workers="$jobs"); cd "$build"; fi
set +e
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
"$build/slotq_fuzz" "$build/corpus" "$here/corpus" \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=2048 \
  "${parallel[@]}" -artifact_prefix="$build/artifacts/" -print_final_stats=1 >"$log" 2>&1
rc=$?
set -e
if [ "$jobs" -gt 1 ]; then cat "$build"/fuzz-*.log >>"$log" 2>/dev/null || true; fi
execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{s += $2} END {print s + 0}')
echo "fuzz/run.sh: executions: $execs"
echo "fuzz/run.sh: corpus size: $(ls "$build/corpus" | wc -l) new + $(ls "$here/corpus" | wc -l) seed inputs"
if [ "$rc" -ne 0 ]; then
  grep -E 'slotq_fuzz:|ERROR:|SUMMARY:|Test unit written' "$log" | head -20 || true
  echo "fuzz/run.sh: FAILED (exit $rc), full log: $log"
  echo "fuzz/run.sh: reproduce with: slotq_fuzz_replay --no-fork $build/artifacts/crash-*"
  exit "$rc"
fi
echo "fuzz/run.sh: no crash"
