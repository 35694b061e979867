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
# partners registered as an operator does (signpost-admin partner register)
A=$(cat /proc/sys/kernel/random/uuid) BB=$(cat /proc/sys/kernel/random/uuid)
register() { # ORG DIR
  SIGNPOST_KAFKA=$K SIGNPOST_SECRETS_DIR=$S SIGNPOST_KAFKA_TLS_DIR=$S/kafka/admin \
    "$B/signpost-admin" partner register "$1" --out "$2" >"$T/register.out" 2>"$T/register.err"
}
check "signpost-admin registers partner A: topic, user and ACLs" register "$A" "$T/partner-a"
check "it names the broker user and the topic it reads" \
  grep -qx "broker user: partner-$A" "$T/register.out"
check "and writes the key, certificate and CA once, readable only by its owner" \
  test "$(stat -c %a "$T/partner-a" "$T/partner-a/user.key" "$T/partner-a/user.crt" | tr '\n' ' ')" = "700 600 600 "
check "the certificate is for user partner-<org>, from the platform's CA" \
  bash -c "openssl verify -CAfile '$S/kafka/ca.crt' '$T/partner-a/user.crt' >/dev/null &&
    openssl x509 -noout -subject -in '$T/partner-a/user.crt' | grep -q 'CN *= *partner-$A'"
sums() { sha256sum "$T/partner-a"/* | awk '{print $1}' | paste -sd,; }
before=$(sums)
check "registering into a directory that exists is refused" \
  bash -c "! SIGNPOST_KAFKA=$K SIGNPOST_SECRETS_DIR=$S '$B/signpost-admin' partner register $A --out '$T/partner-a' 2>/dev/null"
check "and nothing in it is overwritten" test "$(sums)" = "$before"
check "signpost-admin registers partner B" register "$BB" "$T/partner-b"
check "the partner's topic exists before anything is routed to it" \
  as admin "$B/topic-dump" "$K" "partner.$BB.referrals"
bad_name() { # NAME: refused with exit 2 and a message saying why
  SIGNPOST_KAFKA=$K SIGNPOST_SECRETS_DIR=$S "$B/signpost-admin" partner register "$1" --out "$T/bad" 2>"$T/bad.err"
  [ $? = 2 ] && grep -q "not an organisation id" "$T/bad.err" && [ ! -e "$T/bad" ]
}
check "a partner name that is not a safe topic name part is refused with a message" bad_name 'a.b/c'
check "so is one that would reach another partner's prefix" bad_name "$A.x"
pa() { SIGNPOST_KAFKA_TLS_DIR=$T/partner-a "$@"; }
pb() { SIGNPOST_KAFKA_TLS_DIR=$T/partner-b "$@"; }
pdump() { # GROUP TOPIC as the partner the caller's prefix chose
  SIGNPOST_TOPIC_DUMP_GROUP=$1 "$B/topic-dump" "$K" "$2" 2>>"$T/dump.err"
}
check "intake writes partner A's topic" produce intake "partner.$A.referrals"
check "and partner B's" produce intake "partner.$BB.referrals"
check "partner B reads its own topic with its own group" \
  test "$(pb pdump "partner.$BB.receiver" "partner.$BB.referrals" | grep -c .)" = 1
refused() { ! "$@" >/dev/null; }
check "partner A cannot read partner B's topic" refused pa pdump "partner.$A.receiver" "partner.$BB.referrals"
check "partner A cannot read through partner B's group" refused pa pdump "partner.$BB.receiver" "partner.$A.referrals"
pproduce() { # TOPIC: one record as the partner the caller's prefix chose
  printf 'k-%s\t{"n":%s}\n' "$RANDOM" "$RANDOM" | "$B/topic-produce" "$K" "$1" signpost.test.v1 >/dev/null 2>>"$T/produce.err"
}
check "partner A cannot write referral.submissions" refused pa pproduce referral.submissions
check "the client sees an authorisation error" grep -qi "authoriz" "$T/produce.err"
check "partner A may write referral.updates" pa pproduce referral.updates
refused_read() { ! dump "$@" >/dev/null; }
check "a daemon cannot read a topic that is not its own (intake, directory.commands)" \
  refused_read intake intake directory.commands
check "the refusal names the topic" grep -q "directory.commands" "$T/dump.err"
# (a record first: on an empty topic there is nothing to fetch, and the
# gateway may describe the topic it writes, so only a fetch is refused)
check "the gateway writes referral.submissions" produce gateway referral.submissions
: > "$T/dump.err" # what follows is this refusal's alone
check "but cannot read it back (sealed personal data)" \
  refused_read gateway gateway referral.submissions
check "the refusal is an authorisation error" grep -qi "authoriz" "$T/dump.err"
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
# (a broker just restarted may still be electing its partitions' leaders)
kept_once() {
  local n
  for _ in $(seq 15); do
    n=$(dump admin topic-dump audit.access | grep -c kept-1); [ "$n" = 1 ] && return 0
    sleep 2
  done
  echo "# kept-1 read $n times"; return 1
}
check "a record written before the restart is there, exactly once" kept_once
check "the broker stops cleanly" scripts/kafka.sh stop "$T/kafka"
