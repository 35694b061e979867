#!/usr/bin/env bash
# The embedded stack as `make run` / `make stop` run it (scripts/run.sh, in
# a run directory and on ports of its own), on Apache Kafka:
#   - without a broker the gateway answers 503 with Retry-After, never 202,
#     and accepts again once the broker is back; nothing it accepted before
#     is lost;
#   - a referral produced while the daemons are stopped is consumed after
#     the next start, exactly once, and nothing consumed before the stop is
#     consumed again (topics, offsets and groups are kept);
#   - `make stop` leaves no process (no Java either) and no port behind.
# Prints TAP; figures are comments, never asserted.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
export SIGNPOST_RUN_DIR=$SIGNPOST_TEST_TMP/make-run
export SIGNPOST_BROKER=kafka SIGNPOST_BIN=$SIGNPOST_TEST_BUILD/bin
export SIGNPOST_PG_PORT=$(( 26000 + RANDOM % 4000 ))
export SIGNPOST_KAFKA_PORT=$(( 30700 + (RANDOM % 100) * 2 ))
export SIGNPOST_PORT_OFFSET=$(( ${SIGNPOST_PORT_OFFSET:-1000} + 50 ))
export SIGNPOST_DEMO_SERVICES=20
# one resident's loopback address sends every request here
export SIGNPOST_GATEWAY_RATE_IP=1000 SIGNPOST_GATEWAY_BURST_IP=1000
. scripts/env.sh
R=$SIGNPOST_RUN_DIR B=$SIGNPOST_BIN
K=127.0.0.1:$KAFKA_PORT
GW=http://127.0.0.1:$(daemon_port gateway)
trap 'scripts/run.sh stop >/dev/null 2>&1' EXIT
psql_run() { scripts/pg.sh psql "$R/pg" "$PG_PORT" -d signpost -tAc "$1" 2>/dev/null; }

t0=$SECONDS
check "make run (scripts/run.sh start) brings the whole stack up" \
  bash -c "scripts/run.sh start >'$SIGNPOST_TEST_TMP/make-run.out' 2>&1"
echo "# $(grep -o 'broker (kafka) ready after [0-9]* s' "$SIGNPOST_TEST_TMP/make-run.out"); stack up after $((SECONDS - t0)) s"
check "on Apache Kafka" grep -q "(Apache Kafka" "$SIGNPOST_TEST_TMP/make-run.out"

# the directory has applied the demo data; the gateway's replica follows
for _ in $(seq 120); do
  SVC=$(psql_run "SELECT id FROM gateway.catalogue_services WHERE accepts_referrals ORDER BY id LIMIT 1")
  [ -n "$SVC" ] && break; sleep 0.5
done
check "the gateway's replica holds the demo catalogue" test -n "$SVC"
body() {
  echo "{\"service_id\":\"$SVC\",\"kind\":\"self\",\"person\":{\"name\":\"Make Run $1\",\"email\":\"makerun$1@example.org\"},\"consents\":{\"share_with_provider\":true}}"
}
post() { # N: status of one referral (its answer in $R/post-N.*); its id
  # appended to $ACCEPTED when 202. The gateway answers within its produce
  # timeout (30 s, above a broker's failover).
  local st
  st=$(curl -s -o "$R/post-$1.json" -D "$R/post-$1.hdr" -w '%{http_code}' --max-time 60 \
    -H 'Content-Type: application/json' --data-binary "$(body "$1")" "$GW/v1/referrals")
  [ "$st" = 202 ] && python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$R/post-$1.json" >>"$ACCEPTED"
  echo "$st"
}
stored() { # FILE: how many of the ids in FILE intake stores (each once)
  local ids
  ids=$(sed "s/.*/'&'/" "$1" | paste -sd,)
  [ -n "$ids" ] || { echo 0; return; }
  psql_run "SELECT count(*) FROM intake.referrals WHERE id IN ($ids)"
}
wait_stored() { # FILE N
  for _ in $(seq 150); do [ "$(stored "$1")" = "$2" ] && return 0; sleep 0.2; done
  echo "# stored $(stored "$1") of $2"; return 1
}

ACCEPTED=$R/before.ids; : >"$ACCEPTED"
n=0; for i in 1 2 3 4 5; do [ "$(post "b$i")" = 202 ] && n=$((n + 1)); done
check "five referrals accepted (202) with the broker up" test "$n" = 5
check "and intake stores each" wait_stored "$R/before.ids" 5

# ---- no broker ----
check "the broker stops" scripts/kafka.sh stop "$R/kafka"
ACCEPTED=$R/down.ids; : >"$ACCEPTED"
# three at once: each waits out the gateway's produce timeout
for i in 1 2 3; do post "d$i" >"$R/down-$i.code" & done; wait
codes=$(cat "$R"/down-?.code | tr '\n' ' ')
echo "# with no broker the gateway answered: $codes (after $((SECONDS - t0)) s of the test)"
check "with no broker the gateway never answers 202" test ! -s "$R/down.ids"
check "it answers 503" bash -c "[ '$(echo $codes | tr ' ' '\n' | sort -u)' = 503 ]"
check "with Retry-After" grep -qi '^Retry-After: [0-9]' "$R/post-d1.hdr"
check "and says why in JSON (error.code unavailable: never reached a broker)" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["error"]["code"] == "unavailable" and d["error"]["message"]' "$R/post-d1.json"
check "its readiness says not ready once it has noticed" bash -c "
  for _ in \$(seq 40); do [ \"\$(curl -s -o /dev/null -w '%{http_code}' '$GW/readyz')\" != 200 ] && exit 0; sleep 0.5; done; exit 1"
check "the gateway is still running" kill -0 "$(cat "$R/pids/gateway.pid")"
check "the broker starts again" scripts/kafka.sh start "$R/kafka" "$KAFKA_PORT" "$R/secrets" "$B"
ACCEPTED=$R/after.ids; : >"$ACCEPTED"
back() { for _ in $(seq 60); do [ "$(post "a$RANDOM")" = 202 ] && return 0; sleep 1; done; return 1; }
check "once it is back the gateway accepts again" back
check "what it accepted before the stop is all stored, once each" test "$(stored "$R/before.ids")" = 5
check "and what it accepted after, too" wait_stored "$R/after.ids" "$(grep -c . "$R/after.ids")"

# ---- kept across make stop / make run ----
sleep 2
total_before=$(psql_run "SELECT count(*) FROM intake.referrals")
check "make stop (scripts/run.sh stop)" bash -c "scripts/run.sh stop >/dev/null 2>&1"
left() { # what the run left behind: processes and listening ports
  pgrep -af "$R" | grep -v pgrep
  ss -ltnH | awk '{print $4}' | grep -E ":($PG_PORT|$KAFKA_PORT|$((KAFKA_PORT + 1))|$(for d in $DAEMONS; do printf '%s|' "$(daemon_port "$d")"; done)x)\$"
}
nothing_left() { local l; l=$(left); [ -z "$l" ] || { echo "$l" | sed 's/^/# left: /'; return 1; }; }
check "it leaves no process (no Java either) and no port" nothing_left
# a referral produced while every daemon is down: the broker alone
check "the broker alone starts on what it kept" scripts/kafka.sh start "$R/kafka" "$KAFKA_PORT" "$R/secrets" "$B"
check "a referral is produced to referral.submissions while the daemons are down" \
  env SIGNPOST_KAFKA_TLS_DIR="$R/secrets/kafka/gateway" "$B/intake-load" submit --brokers "$K" --pk "$R/secrets/intake.pk" \
  --service "$SVC" --count 1 --out "$R/offline.jsonl"
python3 -c 'import json,sys; [print(json.loads(l)["referral_id"]) for l in open(sys.argv[1])]' "$R/offline.jsonl" >"$R/offline.ids"
check "the broker stops" scripts/kafka.sh stop "$R/kafka"
t0=$SECONDS
check "make run again" bash -c "scripts/run.sh start >'$SIGNPOST_TEST_TMP/make-run2.out' 2>&1"
echo "# $(grep -o 'broker (kafka) ready after [0-9]* s' "$SIGNPOST_TEST_TMP/make-run2.out"); stack up again after $((SECONDS - t0)) s"
check "the demo data is not loaded again (the broker kept its topics)" \
  grep -q "already loaded (the broker kept" "$SIGNPOST_TEST_TMP/make-run2.out"
check "the referral produced while it was down is consumed after the restart" wait_stored "$R/offline.ids" 1
sleep 3
check "exactly once, and nothing consumed before the stop came again (one more row in all)" \
  test "$(psql_run "SELECT count(*) FROM intake.referrals")" = $((total_before + 1))
check "make stop" bash -c "scripts/run.sh stop >/dev/null 2>&1"
check "again nothing left behind" nothing_left
trap - EXIT
