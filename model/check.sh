#!/usr/bin/env bash
# Checks model/handoff.pml with spin: generates the verifier (spin -a),
# compiles pan with cc, and runs it once per configuration below. Fails on
# any assertion violation, invalid end state (a process blocked forever, i.e.
# a lost wakeup) or incomplete search.
#
#   model/check.sh          the CI set (about 2 minutes, under 3 GB)
#   model/check.sh --full   adds the two-caller exhaustive run (about 4 more
#                           minutes and 5 GB)
#
# Every run is exhaustive (no bitstate): the bound is the size of the
# configuration, written next to each run: NT containers (one slot each), ND
# callers, CANCELLERS of them with a canceller, MAXNEXT=2 calls to
# slotq_dequeuer_next() per caller, and TIMEOUTS=0 (waits end only by a
# handoff, a stop or a cancellation: lost wakeups show) or 1 (any wait may
# also time out: more interleavings for the safety properties).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${SLOTQ_MODEL_BUILD:-/tmp/slotq-model}
mkdir -p "$work"
cp "$here/handoff.pml" "$work/"
cd "$work"

configs=(
  "-DNT=1 -DND=1 -DCANCELLERS=1 -DTIMEOUTS=0"
  "-DNT=1 -DND=1 -DCANCELLERS=1 -DTIMEOUTS=1"
  "-DNT=2 -DND=1 -DCANCELLERS=1 -DTIMEOUTS=0"
  "-DNT=1 -DND=2 -DCANCELLERS=0 -DTIMEOUTS=0"
)
if [ "${1:-}" = "--full" ]; then
  configs+=("-DNT=1 -DND=2 -DCANCELLERS=1 -DTIMEOUTS=0")
fi

failed=0
for cfg in "${configs[@]}"; do
  # shellcheck disable=SC2086
  spin -a $cfg handoff.pml >/dev/null
  cc -O2 -DSAFETY -DCOLLAPSE -DMEMLIM=12000 -o pan pan.c
  out=$(./pan -m2000000 2>&1) || true
  errors=$(printf '%s\n' "$out" | sed -n 's/.*errors: \([0-9]*\).*/\1/p' | tail -1)
  states=$(printf '%s\n' "$out" | awk '/states, stored/ {print $1; exit}')
  secs=$(printf '%s\n' "$out" | sed -n 's/^pan: elapsed time \([0-9.e+]*\).*/\1/p')
  if [ "$errors" != "0" ] || printf '%s\n' "$out" | grep -qE 'Search not completed|MEMLIM|max search depth too small'; then
    echo "model/check.sh: FAIL  [$cfg]"
    printf '%s\n' "$out" | grep -E '^pan:|errors:|Search not completed|MEMLIM|depth' | head -10
    if [ -f handoff.pml.trail ]; then
      echo "--- counterexample (spin -t -p) ---"
      # shellcheck disable=SC2086
      spin -t -p $cfg handoff.pml | tail -60
      rm -f handoff.pml.trail
    fi
    failed=1
  else
    echo "model/check.sh: ok    [$cfg] $states states, ${secs}s, exhaustive"
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "model/check.sh: FAILED"
  exit 1
fi
echo "model/check.sh: all configurations verified"
