#!/bin/sh
# CTest checks of slotq-agent (no timing is asserted):
#   check.sh demo     AGENT   a short run exits 0, prints the table, matches every call
#   check.sh mismatch AGENT   wrong responses make it exit 1 and count mismatches
#   check.sh flags    AGENT   bad flags exit 2 with a message; --help exits 0
set -u
mode=$1
agent=$2
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
fail() {
  echo "FAIL: $*"
  echo "--- stdout"; cat "$out"
  echo "--- stderr"; cat "$err"
  exit 1
}
expect() { # expect FILE REGEX: an extended regex matches a line of FILE
  grep -Eq -- "$2" "$1" || fail "no line matches /$2/"
}

case $mode in
demo)
  "$agent" --calls 200 --functions 2 --callers 4 --rate 400 --start-ms 10 --work-ms 1 \
    --idle-timeout 200 >"$out" 2>"$err"
  rc=$?
  [ "$rc" -eq 0 ] || fail "exit status $rc, expected 0"
  expect "$out" '^slotq-agent \(libslotq [0-9.]+\): 2 functions, 4 callers, policy idle-aware,'
  expect "$out" '^fn +calls +started +hot-hit +wait-p50 +wait-p99 +ejected +stopped +deleted +errors$'
  expect "$out" '^fn-0 +[0-9]+ +[1-9][0-9]* +[0-9.]+% +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+ +[0-9]+ +0$'
  expect "$out" '^fn-1 +[0-9]+ +[1-9][0-9]* +[0-9.]+% +[0-9.]+ +[0-9.]+ +[0-9]+ +[0-9]+ +[0-9]+ +0$'
  expect "$out" '^total: 200 calls in [0-9.]+ s; [0-9]+ containers started, [0-9]+ ejected idle; '
  expect "$out" '^result: 0 mismatches, 0 failed calls, 0 container errors$'
  expect "$out" '^slotq_queues [0-9]+$'
  expect "$out" '^slotq_slots_acquired_total\{key="[0-9a-f]{40}"\} [1-9][0-9]*$'
  # The seed's policy too.
  "$agent" --calls 100 --functions 1 --callers 3 --policy seed --start-ms 0 \
    --work-ms 0 >"$out" 2>"$err"
  rc=$?
  [ "$rc" -eq 0 ] || fail "seed: exit status $rc, expected 0"
  expect "$out" '^slotq-agent \(libslotq [0-9.]+\): 1 function, 3 callers, policy seed,'
  expect "$out" '^result: 0 mismatches, 0 failed calls, 0 container errors$'
  ;;
mismatch)
  SLOTQ_HOTFN_CORRUPT_EVERY=7 "$agent" --calls 60 --functions 2 --callers 2 --start-ms 0 \
    --work-ms 0 >"$out" 2>"$err"
  rc=$?
  [ "$rc" -eq 1 ] || fail "exit status $rc, expected 1"
  expect "$out" '^result: [1-9][0-9]* mismatches, 0 failed calls'
  expect "$err" 'answered "fn-[0-9]+ call-[0-9]+ [0-9a-f]{8}", expected'
  # A missing function program is a bad flag.
  "$agent" --fn-path /nonexistent/slotq-hotfn >"$out" 2>"$err"
  rc=$?
  [ "$rc" -eq 2 ] || fail "--fn-path /nonexistent: exit status $rc, expected 2"
  expect "$err" "--fn-path: cannot execute '/nonexistent/slotq-hotfn'"
  ;;
flags)
  bad() { # bad EXPECTED-MESSAGE-REGEX ARGS...
    msg=$1
    shift
    "$agent" "$@" >"$out" 2>"$err"
    rc=$?
    [ "$rc" -eq 2 ] || fail "'$*': exit status $rc, expected 2"
    expect "$err" "^slotq-agent: $msg"
    if [ -s "$out" ]; then fail "'$*': wrote to stdout"; fi
  }
  bad "unknown flag '--bogus'" --bogus
  bad "unknown flag 'extra'" extra
  bad "--calls: 'abc' is not a number" --calls abc
  bad "--calls: '12x' is not a number" --calls=12x
  bad "--callers: -3 is out of range \\(1-1024\\)" --callers -3
  bad "--rate: '' is not a number" --rate=
  bad "--functions: 0 is out of range \\(1-64\\)" --functions 0
  bad "--idle-timeout: 99999999999999999999 is out of range" --idle-timeout 99999999999999999999
  bad "--burst: 101 is out of range \\(0-100\\)" --burst=101
  bad "--policy: 'fastest' is neither 'seed' nor 'idle-aware'" --policy fastest
  bad "--work-ms needs a value" --work-ms
  "$agent" --help >"$out" 2>"$err"
  rc=$?
  [ "$rc" -eq 0 ] || fail "--help: exit status $rc, expected 0"
  for flag in --functions --callers --calls --burst --rate --idle-timeout --work-ms --start-ms \
    --policy --fn-path --help hot-hit wait-p99 errors; do
    expect "$out" "^ +$flag "
  done
  ;;
*)
  echo "usage: check.sh demo|mismatch|flags AGENT" >&2
  exit 2
  ;;
esac
echo "PASS: $mode"
