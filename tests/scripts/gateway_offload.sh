#!/usr/bin/env bash
# A forwarded read, or a page, that waits on a slow upstream does not hold
# one of the gateway's HTTP threads: with a single HTTP thread and more
# reads and pages held than that, health checks, the JSON API and
# referrals are still answered; once the upstream answers, every held read
# and page completes; a read the upstream never answers gets a 503 with
# Retry-After once the gateway's upstream timeout (15 s) passes. Ordering
# only, no timing assertions (bounded by generous curl timeouts).
. tests/lib/tap.sh
. tests/lib/stack.sh
. tests/lib/gateway.sh
export SIGNPOST_PORT_OFFSET=3300
T=$SIGNPOST_TEST_TMP/gateway_offload
mkdir -p "$T"; rm -f "$T"/*
release=$T/release
uport=$(( $(daemon_port gateway) + 70 ))
/usr/bin/python3 tests/lib/held_upstream.py "$uport" "$release" & upid=$!
trap 'touch "$release"; kill $upid 2>/dev/null; stack_stop >/dev/null 2>&1' EXIT
mapfile -t ENV < <(gw_env)
if ! stack_start gateway "${ENV[@]}" SIGNPOST_DIRECTORY_URL="http://127.0.0.1:$uport" \
    SIGNPOST_GATEWAY_THREADS=1 >/dev/null; then
  not_ok "gateway started with one HTTP thread"; exit 1
fi
ok "gateway started with one HTTP thread"
gw=$(stack_url gateway)
curl -s -m 60 -D "$T/never.h" -o "$T/never" -w '%{http_code}' "$gw/oruk/services?search=never" > "$T/never.code" &
never=$!
held=()
for i in 1 2 3; do
  curl -s -m 60 -o "$T/held.$i" -w '%{http_code}' "$gw/oruk/services?search=held$i" > "$T/held.$i.code" &
  held+=($!)
done
pages=()
for i in 1 2; do # the search page reads the directory twice
  curl -s -m 60 -o "$T/page.$i" -w '%{http_code}' "$gw/?q=held$i" > "$T/page.$i.code" &
  pages+=($!)
done
sleep 1 # let the reads reach the upstream
check "the held reads have not been answered yet" bash -c "[ ! -s '$T/held.1.code' ] && [ ! -s '$T/held.3.code' ]"
st=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$gw/healthz")
check "health check answered while reads wait upstream (got $st)" [ "$st" = 200 ]
st=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$gw/openapi.json")
check "the API document answered while reads wait upstream (got $st)" [ "$st" = 200 ]
st=$(curl -s -m 10 -o "$T/bad.json" -w '%{http_code}' -H 'Content-Type: application/json' \
  -d '{"kind":"self"}' "$gw/v1/referrals")
check "a referral is checked and refused while reads wait upstream (got $st)" bash -c "[ '$st' = 400 ] || [ '$st' = 422 ]"
check "the held reads and pages are still waiting" bash -c "[ ! -s '$T/held.2.code' ] && [ ! -s '$T/page.2.code' ]"
touch "$release"
wait "${held[@]}" "${pages[@]}"
for i in 1 2; do
  check "held search page $i answered 200 with its results once the upstream answered (got $(cat "$T/page.$i.code"))" \
    bash -c "[ '$(cat "$T/page.$i.code")' = 200 ] && grep -q '0 results' '$T/page.$i'"
done
for i in 1 2 3; do
  check "held read $i answered 200 once the upstream answered (got $(cat "$T/held.$i.code"))" \
    [ "$(cat "$T/held.$i.code")" = 200 ]
done
check "the forwarded answer is the upstream's" grep -q '"total_items"' "$T/held.1"
wait "$never"
check "a read its upstream never answers gets 503 at the gateway's timeout (got $(cat "$T/never.code"))" \
  bash -c "[ '$(cat "$T/never.code")' = 503 ] && grep -qi '^Retry-After:' '$T/never.h' && grep -q '\"error\"' '$T/never'"
stack_stop >/dev/null 2>&1; s=$?
check "gateway stopped cleanly" [ "$s" = 0 ]
