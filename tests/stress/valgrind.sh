#!/usr/bin/env bash
# Runs every CTest test binary of a build under valgrind memcheck and fails on
# any report: invalid reads or writes, uses of uninitialised values, and
# definitely or indirectly lost blocks. Still-reachable blocks (OpenSSL's
# globals, the library's parker pool) and "possibly lost" ones (the stack of
# the library's detached deadline-timer thread, if it is still lingering at
# exit) are not failures.
#
#   tests/stress/valgrind.sh BUILD_DIR [CTEST_REGEX]
#
# BUILD_DIR must be a build without sanitizers (-DSLOTQ_SANITIZE=""). Test
# commands come from `ctest --show-only=json-v1`, so new tests are picked up
# without changing this script; script tests (#! files, or commands run by a
# shell or another interpreter) are skipped. The
# stress test runs reduced (2 s, 3 containers, 3 callers) under valgrind.
set -euo pipefail

build=${1:?usage: valgrind.sh BUILD_DIR [CTEST_REGEX]}
regex=${2:-}
build=$(cd "$build" && pwd)
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind not installed" >&2; exit 2; }
command -v python3 >/dev/null || { echo "valgrind.sh: python3 not installed" >&2; exit 2; }
if grep -qE '^SLOTQ_SANITIZE:STRING=.+' "$build/CMakeCache.txt" 2>/dev/null; then
  echo "valgrind.sh: $build is a sanitizer build; use a plain one" >&2
  exit 2
fi

logdir="$build/valgrind"
mkdir -p "$logdir"
rm -f "$logdir"/*.log

# Fields separated by \x1e: name, workdir, skip code, env (k=v, \x1f-separated),
# argv (\x1f-separated). Neither is whitespace, so empty fields survive read.
list=$(cd "$build" && ctest --show-only=json-v1 ${regex:+-R "$regex"} | python3 -c '
import json, sys
data = json.load(sys.stdin)
for t in data.get("tests", []):
    cmd = t.get("command") or []
    if not cmd:
        continue
    props = {p["name"]: p["value"] for p in t.get("properties", [])}
    if props.get("DISABLED"):
        continue
    env = props.get("ENVIRONMENT", [])
    if isinstance(env, str):
        env = [env]
    skip = str(props.get("SKIP_RETURN_CODE", ""))
    wd = props.get("WORKING_DIRECTORY", ".")
    print("\x1e".join([t["name"], wd, skip, "\x1f".join(env), "\x1f".join(cmd)]))
')

vg=(valgrind --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect
    --errors-for-leak-kinds=definite,indirect --error-exitcode=99 --num-callers=30
    --child-silent-after-fork=no --track-fds=no)

passed=0
failed=0
skipped=0
failures=()
while IFS=$'\x1e' read -r name wd skip envs argv; do
  [ -n "$name" ] || continue
  IFS=$'\x1f' read -r -a cmd <<<"$argv"
  IFS=$'\x1f' read -r -a env <<<"$envs"
  # Scripts and interpreters: valgrind would check the shell, not our code.
  case "$(basename "${cmd[0]}")" in
    sh|bash|dash|env|python3|perl|cmake) interp=1 ;;
    *) interp=0 ;;
  esac
  if [ "$interp" = 1 ] || [ "$(head -c 2 "${cmd[0]}" 2>/dev/null)" = "#!" ]; then
    echo "valgrind.sh: skip  $name (a script)"
    skipped=$((skipped + 1))
    continue
  fi
  # valgrind's own allocator replaces glibc's: the tunables do not apply.
  filtered=()
  for e in "${env[@]+"${env[@]}"}"; do
    case "$e" in MALLOC_PERTURB_=*|GLIBC_TUNABLES=*) ;; *) [ -n "$e" ] && filtered+=("$e") ;; esac
  done
  # Tests that run many operations scale them down when they see this.
  filtered+=(SLOTQ_TEST_UNDER_VALGRIND=1)
  if [ "$name" = "stress_exactly_once" ]; then
    cmd=("${cmd[0]}" 2)
    filtered+=(SLOTQ_STRESS_CONTAINERS=3 SLOTQ_STRESS_CALLERS=3 SLOTQ_STRESS_CHAOS=1
               SLOTQ_STRESS_MAX_SLOTS=20000 SLOTQ_STRESS_STUCK_SECONDS=120)
  fi
  log="$logdir/$name.log"
  set +e
  (cd "$wd" && env "${filtered[@]+"${filtered[@]}"}" "${vg[@]}" --log-file="$log.%p" "${cmd[@]}") \
    >"$log.out" 2>&1
  rc=$?
  set -e
  cat "$log".* >"$log" 2>/dev/null || true
  rm -f "$log".[0-9]*
  reports=$(grep -cE '== (Invalid|Conditional|Use of uninit|Syscall param|Mismatched|Source and destination)|definitely lost in|indirectly lost in' "$log" || true)
  if [ -n "$skip" ] && [ "$rc" = "$skip" ] && [ "$reports" = "0" ]; then
    echo "valgrind.sh: skip  $name (exit $rc)"
    skipped=$((skipped + 1))
  elif [ "$rc" -eq 0 ] && [ "$reports" = "0" ]; then
    echo "valgrind.sh: ok    $name"
    passed=$((passed + 1))
  else
    echo "valgrind.sh: FAIL  $name (exit $rc, $reports valgrind report(s); $log)"
    grep -E '^==[0-9]+== (Invalid|Conditional|Use of|Syscall|Mismatched|[0-9,]+ bytes in .* (definitely|indirectly) lost)' "$log" | head -5 || true
    tail -3 "$log.out" || true
    failed=$((failed + 1))
    failures+=("$name")
  fi
done <<<"$list"

echo "valgrind: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] || { echo "valgrind.sh: failed: ${failures[*]}"; exit 1; }
