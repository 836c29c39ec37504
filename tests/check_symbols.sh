#!/bin/sh
# Fails if the shared library exports any symbol not named slotq_*, or if a
# function declared SLOTQ_API in the header is missing from it.
# Usage: check_symbols.sh LIBRARY HEADER
set -eu
lib=$1
header=$2
exported=$(nm -D --defined-only "$lib" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | sort -u)
bad=$(printf '%s\n' "$exported" | grep -v '^slotq_' || true)
if [ -n "$bad" ]; then
  echo "FAIL: $lib exports symbols outside the slotq_ prefix:"
  printf '  %s\n' $bad
  exit 1
fi
declared=$(tr '\n' ' ' < "$header" | grep -o 'SLOTQ_API [^;(]*(' | grep -o 'slotq_[a-z0-9_]*(' | tr -d '(' | sort -u)
missing=$(printf '%s\n' "$declared" | while read -r f; do
  printf '%s\n' "$exported" | grep -qx "$f" || echo "$f"
done)
if [ -n "$missing" ]; then
  echo "FAIL: declared in $header but not exported:"
  printf '  %s\n' $missing
  exit 1
fi
echo "OK: $(printf '%s\n' "$exported" | wc -l) symbols exported, all slotq_*, every declared function present"
