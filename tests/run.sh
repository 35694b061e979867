#!/usr/bin/env bash
# The test runner behind `make test` (and `make asan`).
#
#   tests/run.sh BUILD [unit]
#
# Starts a throwaway PostgreSQL and a kafka-mock broker, runs every test
# program in BUILD/tests (cmocka) and every tests/scripts/*.sh|*.py (TAP),
# then the integration checks (skipped with "unit"). Prints per-program
# results and, last, "N passed, N failed".
set -uo pipefail
BUILD=${1:-build}
MODE=${2:-all}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
passed=0 failed=0
failures=()
. scripts/throwaway.sh
if ! throwaway_start; then
  echo "could not start the throwaway stack"; echo "0 passed, 1 failed"; exit 1
fi
TMP=$THROWAWAY_DIR
[ -n "${SIGNPOST_SANITIZE:-}" ] && export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# count_cmocka LOGFILE RC NAME: adds the program's counts.
count_cmocka() {
  local log=$1 rc=$2 name=$3 p f
  p=$(grep -oE '^\[  PASSED  \] [0-9]+' "$log" | grep -oE '[0-9]+$' | tail -1)
  f=$(grep -oE '^\[  FAILED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' | tail -1)
  p=${p:-0}; f=${f:-0}
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi           # crashed before a summary
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi          # sanitizer or exit failure
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -gt 0 ] && failures+=("$name")
  printf '%-40s %4d passed %4d failed\n' "$name" "$p" "$f"
}

count_tap() {
  local log=$1 rc=$2 name=$3 p f
  p=$(grep -cE '^ok ' "$log"); f=$(grep -cE '^not ok ' "$log")
  if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -gt 0 ] && failures+=("$name")
  printf '%-40s %4d passed %4d failed\n' "$name" "$p" "$f"
}

run_prog() {
  local t=$1 name log rc
  name=$(basename "$t")
  log="$TMP/$name.log"
  timeout 600 "$t" >"$log" 2>&1; rc=$?
  count_cmocka "$log" "$rc" "$name"
  [ "$rc" -ne 0 ] && { echo "---- $name output (tail)"; tail -40 "$log"; echo "----"; }
}

echo "== unit and flow tests"
for t in $(ls "$BUILD"/tests/*_test_* 2>/dev/null | sort -u); do
  [ -x "$t" ] || continue
  run_prog "$t"
done

if [ "$MODE" != unit ]; then
  # the integration and end-to-end tests run on Apache Kafka
  if ! throwaway_kafka; then
    echo "could not start the throwaway Apache Kafka"; failed=$((failed + 1)); failures+=(kafka)
  fi
  echo "== integration tests"
  for t in "$BUILD"/tests/it_*; do
    [ -x "$t" ] && run_prog "$t"
  done
  for s in tests/scripts/*.sh tests/scripts/*.py; do
    [ -f "$s" ] || continue
    log="$TMP/$(basename "$s").log"
    case "$s" in *.py) timeout 900 /usr/bin/python3 "$s" >"$log" 2>&1 ;; *) timeout 900 bash "$s" >"$log" 2>&1 ;; esac
    rc=$?
    count_tap "$log" "$rc" "$(basename "$s")"
    if [ "$rc" -ne 0 ] || grep -q '^not ok' "$log"; then
      echo "---- $(basename "$s"): failures and diagnostics"
      grep -A4 -E '^not ok' "$log" | head -60
      [ "$rc" -ne 0 ] && tail -20 "$log"
      echo "----"
    fi
  done
fi

if [ ${#failures[@]} -gt 0 ]; then echo "failing: ${failures[*]}"; fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
