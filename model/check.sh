#!/usr/bin/env bash
# Checks the protocol models with spin: model/handoff.pml (blocking waits)
# and model/armed.pml (armed dequeuers, notifications and frees). For each
# configuration below it generates the verifier (spin -a), compiles pan with
# cc, and runs it. Fails on any assertion violation, invalid end state (a
# process blocked forever, i.e. a lost wakeup or a thread waiting for itself)
# or incomplete search.
#
#   model/check.sh          the CI set (about 3 minutes, under 3 GB)
#   model/check.sh --full   adds the two-caller exhaustive handoff run (about
#                           4 more minutes and 5 GB) and an armed run with a
#                           third arm (about 1 more minute)
#
# Every run is exhaustive (no bitstate): the bound is the size of the
# configuration, written next to each run.
#   handoff.pml: NT containers (one slot each), ND callers, CANCELLERS of
#     them with a canceller, MAXNEXT=2 calls to slotq_dequeuer_next() per
#     caller, and TIMEOUTS=0 (waits end only by a handoff, a stop or a
#     cancellation: lost wakeups show) or 1 (any wait may also time out:
#     more interleavings for the safety properties).
#   armed.pml: NT containers, two hosts with one armed dequeuer each (host 1
#     arms up to MAXROUND times), dequeuer 1's token may fire at any time.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${SLOTQ_MODEL_BUILD:-/tmp/slotq-model}
mkdir -p "$work"
cp "$here/handoff.pml" "$here/armed.pml" "$work/"
cd "$work"

# Each entry: the model, then its spin flags.
configs=(
  "handoff.pml -DNT=1 -DND=1 -DCANCELLERS=1 -DTIMEOUTS=0"
  "handoff.pml -DNT=1 -DND=1 -DCANCELLERS=1 -DTIMEOUTS=1"
  "handoff.pml -DNT=2 -DND=1 -DCANCELLERS=1 -DTIMEOUTS=0"
  "handoff.pml -DNT=1 -DND=2 -DCANCELLERS=0 -DTIMEOUTS=0"
  "armed.pml -DNT=1 -DMAXROUND=2"
)
if [ "${1:-}" = "--full" ]; then
  configs+=("handoff.pml -DNT=1 -DND=2 -DCANCELLERS=1 -DTIMEOUTS=0")
  configs+=("armed.pml -DNT=1 -DMAXROUND=3")
fi

failed=0
for entry in "${configs[@]}"; do
  model=${entry%% *}
  cfg=${entry#* }
  rm -f ./*.trail
  # shellcheck disable=SC2086
  spin -a $cfg "$model" >/dev/null
  cc -O2 -DSAFETY -DCOLLAPSE -DMEMLIM=12000 -o pan pan.c
  out=$(./pan -m2000000 2>&1) || true
  errors=$(printf '%s\n' "$out" | sed -n 's/.*errors: \([0-9]*\).*/\1/p' | tail -1)
  states=$(printf '%s\n' "$out" | awk '/states, stored/ {print $1; exit}')
  secs=$(printf '%s\n' "$out" | sed -n 's/^pan: elapsed time \([0-9.e+]*\).*/\1/p')
  if [ "$errors" != "0" ] || printf '%s\n' "$out" | grep -qE 'Search not completed|MEMLIM|max search depth too small'; then
    echo "model/check.sh: FAIL  [$model $cfg]"
    printf '%s\n' "$out" | grep -E '^pan:|errors:|Search not completed|MEMLIM|depth' | head -10
    if [ -f "$model.trail" ]; then
      echo "--- counterexample (spin -t -p) ---"
      # shellcheck disable=SC2086
      spin -t -p $cfg "$model" | tail -60
      rm -f "$model.trail"
    fi
    failed=1
  else
    echo "model/check.sh: ok    [$model $cfg] $states states, ${secs}s, exhaustive"
  fi
done
if [ "$failed" -ne 0 ]; then
  echo "model/check.sh: FAILED"
  exit 1
fi
echo "model/check.sh: all configurations verified"
