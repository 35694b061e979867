#!/usr/bin/env bash
# Apache Kafka itself (scripts/kafka.sh), as the embedded stack runs it:
# each daemon and each partner organisation is a broker user with a TLS
# client certificate, allowed only what proto/broker.json gives it; the
# broker keeps what it was given across a restart. Prints TAP.
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
B=$SIGNPOST_TEST_BUILD/bin
T=$SIGNPOST_TEST_TMP/kafka-real S=$SIGNPOST_TEST_TMP/kafka-real/secrets
mkdir -p "$S"
PORT=$(( 31000 + (RANDOM % 400) * 2 )) # and the controller on PORT + 1
K=127.0.0.1:$PORT
trap 'scripts/kafka.sh stop "$T/kafka"' EXIT
check "Apache Kafka starts: formatted, topics and ACLs from proto/" \
  scripts/kafka.sh start "$T/kafka" "$PORT" "$S" "$B"
check "every topic of proto/topics and its .dlq was created" \
  grep -q "^topics: $(( 2 * $(grep -cvE '^(#|$)' proto/topics) )) listed, $(( 2 * $(grep -cvE '^(#|$)' proto/topics) )) created" "$T/kafka/logs/setup.log"

as() { local u=$1; shift; SIGNPOST_KAFKA_TLS_DIR=$S/kafka/$u "$@"; }
dump() { # USER GROUP TOPIC: topic-dump as USER with GROUP
  SIGNPOST_TOPIC_DUMP_GROUP=$2 as "$1" "$B/topic-dump" "$K" "$3" 2>>"$T/dump.err"
}
produce() { # USER TOPIC: one record
  printf 'k-%s\t{"n":%s}\n' "$RANDOM" "$RANDOM" | as "$1" "$B/topic-produce" "$K" "$2" signpost.test.v1 >/dev/null 2>>"$T/produce.err"
}
for org in orga orgb; do
  scripts/kafka.sh user "$S" "partner-$org"
  as admin "$B/kafka-admin" "$K" partner "$org" >/dev/null
done
check "a partner name that is not a safe topic name part is refused" \
  bash -c "! SIGNPOST_KAFKA_TLS_DIR='$S/kafka/admin' '$B/kafka-admin' '$K' partner 'a.b/c' 2>/dev/null"

check "intake writes (and so makes) partner A's topic" produce intake partner.orga.referrals
check "and partner B's" produce intake partner.orgb.referrals
check "partner B reads its own topic with its own group" \
  test "$(dump partner-orgb partner.orgb.receiver partner.orgb.referrals | grep -c .)" = 1
refused_read() { ! dump "$@" >/dev/null; }
check "partner A cannot read partner B's topic" refused_read partner-orga partner.orga.receiver partner.orgb.referrals
check "partner A cannot read through partner B's group" refused_read partner-orga partner.orgb.receiver partner.orga.referrals
refused_write() { ! produce "$@"; }
check "partner A cannot write referral.submissions" refused_write partner-orga referral.submissions
check "partner A may write referral.updates" produce partner-orga referral.updates
check "a daemon cannot read a topic that is not its own (intake, directory.commands)" \
  refused_read intake intake directory.commands
check "the refusal names the topic" grep -q "directory.commands" "$T/dump.err"
check "a daemon reads its own topic with its own group (consent, consent.commands)" \
  dump consent consent consent.commands

# a certificate the platform's CA did not sign gets nowhere
mkdir -p "$T/rogue"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/rogue/user.key" \
  -out "$T/rogue/user.crt" -days 1 -subj "/CN=admin" 2>/dev/null
cp "$S/kafka/ca.crt" "$T/rogue/ca.crt"
check "a certificate not signed by the platform's CA is refused, even named admin" \
  bash -c "! SIGNPOST_TOPIC_DUMP_GROUP=x SIGNPOST_KAFKA_TLS_DIR='$T/rogue' timeout 60 '$B/topic-dump' '$K' audit.access >/dev/null 2>&1"

# the broker keeps what it was given
printf 'kept-1\t{"n":1}\n' | as gateway "$B/topic-produce" "$K" audit.access signpost.test.v1 >/dev/null
check "the broker stops" scripts/kafka.sh stop "$T/kafka"
check "no broker process is left" bash -c "! pgrep -f '[k]afka.Kafka $T/kafka' >/dev/null"
check "and starts again on the same directory" scripts/kafka.sh start "$T/kafka" "$PORT" "$S" "$B"
check "nothing was created again (topics kept)" grep -q "listed, 0 created" "$T/kafka/logs/setup.log"
check "a record written before the restart is there, exactly once" \
  test "$(dump admin topic-dump audit.access | grep -c kept-1)" = 1
check "the broker stops cleanly" scripts/kafka.sh stop "$T/kafka"
