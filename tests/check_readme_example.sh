#!/bin/sh
# The README's C example must compile (as C99, warnings as errors but for
# unused parameters) and run. Usage: check_readme_example.sh README CC INCLUDE LIBDIR
set -eu
readme=$1 cc=$2 include=$3 libdir=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk '/^```c$/ { on = 1; next } on && /^```$/ { exit } on { print }' "$readme" > "$work/example.c"
[ -s "$work/example.c" ] || { echo "FAIL: no \`\`\`c block in $readme"; exit 1; }
"$cc" -std=c99 -Wall -Wextra -Wno-unused-parameter -Werror -I"$include" "$work/example.c" \
  -o "$work/example" -L"$libdir" -lslotq -Wl,-rpath,"$libdir"
out=$("$work/example")
echo "$out"
case $out in
  *"runs call #1"*) echo "OK: the README example builds and runs" ;;
  *) echo "FAIL: unexpected output"; exit 1 ;;
esac
