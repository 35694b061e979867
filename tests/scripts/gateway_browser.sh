#!/usr/bin/env bash
# Browser test of the resident pages (tests/e2e/gateway.mjs): headless
# Debian chromium via playwright-core, axe-core on every page. Needs
# `npm ci` (node_modules) and the chromium package; without them it
# fails rather than skips.
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/stack.sh
. tests/lib/gateway.sh
check "node_modules has playwright-core, axe-core and govuk-frontend (npm ci)" \
  test -d node_modules/playwright-core -a -d node_modules/axe-core -a -d node_modules/govuk-frontend
check "chromium is installed (/usr/bin/chromium)" test -x "${CHROMIUM:-/usr/bin/chromium}"
check "directory starts" stack_start directory
check "fixture directory loaded" gw_fixture_load
mapfile -t ENV < <(gw_env)
check "gateway starts" stack_start gateway "${ENV[@]}"
check "gateway replica holds the fixture services" gw_catalogue_wait 3
timeout 300 node tests/e2e/gateway.mjs "$(stack_url gateway)" > "$SIGNPOST_TEST_TMP/e2e.out" 2>&1
while IFS= read -r line; do
  case "$line" in
    "ok - "*) ok "${line#ok - }" ;;
    "not ok - "*) not_ok "${line#not ok - }" ;;
    *) echo "# $line" ;;
  esac
done < "$SIGNPOST_TEST_TMP/e2e.out"
check "stack stops cleanly" stack_stop
