#!/usr/bin/env bash
# The directory and intake on Apache Kafka (scripts/kafka.sh) rather than
# the mock, each as its own broker user: the catalogue reaches intake,
# submissions are stored and routed (intake making the partner's topic),
# and what was submitted while the daemons and then the broker were down
# is stored and routed exactly once after the restart; the broker compacts
# the catalogue, and a new intake replica (its schema and group gone)
# rebuilds it from the topics alone. Prints TAP.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/stack.sh
. tests/lib/intake.sh
KD=$T/kafka-stack S=$T/kafka-stack/secrets
mkdir -p "$S"
PORT=$(( 32000 + (RANDOM % 400) * 2 ))
K=127.0.0.1:$PORT
trap 'stack_stop >/dev/null 2>&1; scripts/kafka.sh stop "$KD/kafka"' EXIT
check "Apache Kafka starts" scripts/kafka.sh start "$KD/kafka" "$PORT" "$S" "$B"
# tools run as the admin user; each daemon as its own
export SIGNPOST_KAFKA_TLS_DIR=$S/kafka/admin
on_kafka() { # NAME: stack_start NAME on this broker as its own user
  stack_start "$1" SIGNPOST_KAFKA="$K" SIGNPOST_KAFKA_TLS_DIR="$S/kafka/$1"
}
check "directory starts on Apache Kafka" on_kafka directory
check "intake starts on Apache Kafka" on_kafka intake
ORG=$(uuid) SVC=$(uuid)
"$B/signpost-partner" keygen "$KD/org" >"$KD/org.b64" 2>>"$T/intake-setup.err"
catalogue "$ORG" "$SVC" "$(cat "$KD/org.b64")" active
check "intake's replica has the service from directory.services" replica_has "$SVC" 60
submit() { # N: submissions as the gateway user
  SIGNPOST_KAFKA_TLS_DIR=$S/kafka/gateway "$B/intake-load" submit --brokers "$K" \
    --pk "$SIGNPOST_TEST_SECRETS/intake.pk" --service "$SVC" --count "$1" \
    --out "$KD/submitted.jsonl" 2>>"$T/intake-setup.err"
}
submit 3
check "three referrals stored" wait_for 60 \
  "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC'" 3
check "all three routed to the partner's topic, which intake made" topic_settles "partner.$ORG.referrals" 3

# submitted while the daemons are down, then the broker restarts
check "the daemons stop cleanly" stack_stop
submit 2
check "the broker stops" scripts/kafka.sh stop "$KD/kafka"
check "the broker starts again with what it held" scripts/kafka.sh start "$KD/kafka" "$PORT" "$S" "$B"
check "directory starts again" on_kafka directory
check "intake starts again" on_kafka intake
check "the two submitted while it was down are stored: five in all" wait_for 60 \
  "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC'" 5
check "each exactly once" test "$(sql "SELECT count(DISTINCT id) FROM intake.referrals WHERE service_id = '$SVC'")" = 5
check "and routed exactly once each: five on the partner's topic" topic_settles "partner.$ORG.referrals" 5

# ---- a replica rebuilt from the compacted catalogue alone ----
adm() { "$B/kafka-admin" "$K" "$@"; }
svc_cmd() { # VERB SVC STATUS: a service command through directory.commands
  echo "{\"type\":\"signpost.directory.service_$1.v1\",\"key\":\"$2\",\"data\":{\"id\":\"$2\",\"organization_id\":\"$ORG\",\"name\":\"Rebuild $3\",\"description\":\"test\",\"status\":\"$3\",\"accepts_referrals\":true}}" |
    "$B/directory-load" "$K" >/dev/null 2>>"$T/intake-setup.err"
}
SVC2=$(uuid) SVC3=$(uuid)
svc_cmd create "$SVC2" inactive
for st in active inactive active; do sleep 0.5; svc_cmd update "$SVC2" "$st"; done
svc_cmd create "$SVC3" active; sleep 0.5
echo "{\"type\":\"signpost.directory.service_delete.v1\",\"key\":\"$SVC3\",\"data\":{\"id\":\"$SVC3\"}}" |
  "$B/directory-load" "$K" >/dev/null 2>>"$T/intake-setup.err"
check "intake's replica follows: the updated service active, the deleted one gone" wait_for 60 \
  "SELECT string_agg(id::text || '=' || CASE WHEN deleted THEN 'deleted' ELSE status END, ',' ORDER BY id = '$SVC2' DESC) FROM intake.services WHERE id IN ('$SVC2', '$SVC3')" \
  "$SVC2=active,$SVC3=deleted"
svc_records() { "$B/topic-dump" "$K" directory.services 2>/dev/null | grep -cF "\"key\":\"$SVC2\""; }
written=$(svc_records)
check "the topic holds every snapshot of the service first ($written of 4)" test "$written" -ge 4
# then compaction as Apache Kafka does it, sooner: segments roll each
# second, the cleaner takes any dirt and tombstones go after a second (set
# only now: set before the snapshots, the cleaner could compact some of
# them before they were counted)
check "directory.services (compacted) is set to compact within seconds" adm tune directory.services \
  segment.ms=1000 min.cleanable.dirty.ratio=0.01 min.compaction.lag.ms=0 delete.retention.ms=1000
sleep 1.5; svc_cmd update "$SVC2" active # the next record rolls the segment
compacted() { for _ in $(seq 90); do [ "$(svc_records)" -le 2 ] && return 0; sleep 1; done; return 1; }
check "the broker compacts the topic: $written snapshots of one service become at most 2" compacted
check "the daemons stop" stack_stop
# a new replica: intake's database lost, its group's offsets forgotten
sql "DROP SCHEMA intake CASCADE" >/dev/null 2>&1
scripts/pg.sh bootstrap "$SIGNPOST_TEST_PGDIR" "$SIGNPOST_TEST_PGPORT" "$SIGNPOST_TEST_SECRETS" >/dev/null
check "intake's consumer group is forgotten (it reads from the beginning)" adm forget-group intake
check "intake starts on an empty schema" on_kafka intake
check "the new replica rebuilds the catalogue from the topics alone" wait_for 90 \
  "SELECT count(*) FROM intake.services WHERE id IN ('$SVC', '$SVC2') AND status = 'active'" 2
check "with the organisation's partner key" test \
  "$(sql "SELECT count(*) FROM intake.organisations WHERE id = '$ORG' AND partner_public_key IS NOT NULL")" = 1
check "and without the deleted service" test \
  "$(sql "SELECT count(*) FROM intake.services WHERE id = '$SVC3' AND NOT deleted")" = 0
check "the daemons stop cleanly" stack_stop

# a daemon whose certificate the broker does not accept: not ready, alive
mkdir -p "$KD/rogue"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$KD/rogue/user.key" \
  -out "$KD/rogue/user.crt" -days 1 -subj "/CN=intake" 2>/dev/null
cp "$S/kafka/ca.crt" "$KD/rogue/ca.crt"
(
  while IFS= read -r kv; do export "${kv?}"; done \
    < <(daemon_env intake "$SIGNPOST_TEST_SECRETS" "$K")
  export SIGNPOST_KAFKA_TLS_DIR=$KD/rogue
  exec "$B/signpost-intake"
) </dev/null >"$T/intake-rogue.log" 2>&1 &
ROGUE=$!
sleep 15
ready=$(curl -s -o /dev/null -w '%{http_code}' "$(stack_url intake)/readyz")
check "with a certificate the broker refuses, intake is not ready (readyz $ready)" test "$ready" != 200
check "and has not crashed" kill -0 "$ROGUE"
check "its log says why (the TLS handshake)" grep -qiE "handshake|certificate" "$T/intake-rogue.log"
check "and names the broker user it tried to be" grep -qF "does not answer this user: not ready\" user_tls_dir=$KD/rogue" "$T/intake-rogue.log"
kill -TERM "$ROGUE" 2>/dev/null
check "it still stops on SIGTERM" timeout 20 tail --pid="$ROGUE" -f /dev/null
