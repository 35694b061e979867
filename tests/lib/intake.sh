# Sourced by the intake end-to-end scripts (tests/scripts/intake_*.sh):
# catalogue set-up through directory.commands, waiting on intake's
# replica, and SQL as the test superuser. Needs stack.sh sourced first.
B=$SIGNPOST_TEST_BUILD/bin
T=$SIGNPOST_TEST_TMP
K=$SIGNPOST_TEST_KAFKA

# sql QUERY: one value from database signpost as the superuser.
sql() { psql "$SIGNPOST_TEST_PG dbname=signpost" -X -qAt -c "$1"; }

# wait_for SECONDS QUERY EXPECTED: polls until sql QUERY prints EXPECTED.
wait_for() {
  local i
  for i in $(seq $(($1 * 5))); do
    [ "$(sql "$2")" = "$3" ] && return 0
    sleep 0.2
  done
  return 1
}

# catalogue ORG SVC KEY STATUS [create|update]: an organisation (KEY may
# be "" for none) and one service of it, through directory.commands.
catalogue() {
  local org=$1 svc=$2 key=$3 status=$4 verb=${5:-create} k=null
  [ -n "$key" ] && k="\"$key\""
  echo "{\"type\":\"signpost.directory.organization_$verb.v1\",\"key\":\"$org\",\"data\":{\"id\":\"$org\",\"name\":\"Test Org $org\",\"description\":\"test\",\"partner_public_key\":$k}}" |
    "$B/directory-load" "$K" >/dev/null 2>>"$T/intake-setup.err"
  # the service may only follow once the directory holds its organisation
  wait_for 30 "SELECT count(*) FROM directory.organizations WHERE id = '$org'" 1 || return 1
  echo "{\"type\":\"signpost.directory.service_$verb.v1\",\"key\":\"$svc\",\"data\":{\"id\":\"$svc\",\"organization_id\":\"$org\",\"name\":\"Warm Homes Advice\",\"description\":\"test\",\"status\":\"$status\",\"accepts_referrals\":true,\"referral_notice_email\":\"referrals@warmhomes.example\"}}" |
    "$B/directory-load" "$K" >/dev/null 2>>"$T/intake-setup.err"
}

# replica_has SVC: waits (30 s) until intake's replica knows the service.
# replica_has SVC [SECONDS]: until intake's replica holds the service (a
# broker already holding a large catalogue takes a while to read through).
replica_has() {
  wait_for "${2:-30}" "SELECT count(*) FROM intake.services WHERE id = '$1'" 1
}

# dlq_has TOPIC A B: waits (15 s) for a record on TOPIC whose line has
# both A and B.
dlq_has() {
  local i
  for i in $(seq 15); do
    "$B/topic-dump" "$K" "$1" 2>/dev/null | grep "$2" | grep -q "$3" && return 0
    sleep 1
  done
  return 1
}

# topic_settles TOPIC N [SECONDS]: waits (60 s) until TOPIC (on broker $K)
# holds N records, then checks it still holds N two seconds later (a
# second copy would show). An outbox relays after the commit, and Apache
# Kafka makes a partner's topic on its first record, so a record can lag
# its row.
topic_settles() {
  local i n
  for i in $(seq "${3:-60}"); do
    n=$("$B/topic-dump" "$K" "$1" 2>/dev/null | grep -c .); [ "$n" -ge "$2" ] && break
    sleep 1
  done
  sleep 2; n=$("$B/topic-dump" "$K" "$1" 2>/dev/null | grep -c .)
  [ "$n" = "$2" ] || { echo "# $1 holds $n records, not $2"; return 1; }
}

uuid() { cat /proc/sys/kernel/random/uuid; }

# partner_register ORG DIR: on Apache Kafka, the organisation becomes a
# partner on the broker (signpost-admin partner register: its topic, its
# broker user and ACLs), with its credentials written into DIR; as_partner
# DIR CMD… then runs CMD as that user. kafka-mock has no users: both just
# go on.
partner_register() {
  [ "${SIGNPOST_BROKER:-}" = kafka ] || return 0
  SIGNPOST_KAFKA=$K SIGNPOST_SECRETS_DIR=$SIGNPOST_TEST_SECRETS \
    "$B/signpost-admin" partner register "$1" --out "$2" >/dev/null 2>>"$T/intake-setup.err"
}
as_partner() {
  local d=$1; shift
  if [ "${SIGNPOST_BROKER:-}" = kafka ]; then SIGNPOST_KAFKA_TLS_DIR=$d "$@"; else "$@"; fi
}

# principal ROLE SUB [ORG [REASON]]: a signed X-Signpost-Principal value.
principal() { "$B/intake-load" principal "$SIGNPOST_TEST_SECRETS/principal.key" "$@"; }

# api METHOD PATH PRINCIPAL [BODY]: prints the HTTP status, body to
# $T/api.out, headers to $T/api.headers.
api() {
  local m=$1 p=$2 h=$3 body=${4:-}
  if [ -n "$body" ]; then
    curl -sS -o "$T/api.out" -D "$T/api.headers" -w '%{http_code}' -X "$m" -H "X-Signpost-Principal: $h" \
      -H 'Content-Type: application/json' --data "$body" "$(stack_url intake)$p"
  else
    curl -sS -o "$T/api.out" -D "$T/api.headers" -w '%{http_code}' -X "$m" -H "X-Signpost-Principal: $h" "$(stack_url intake)$p"
  fi
}
# api_header NAME: the value of header NAME in the last api answer.
api_header() { grep -i "^$1:" "$T/api.headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# A developer running these scripts beside another stack may move the ports.
[ -n "${INTAKE_PORT_OFFSET:-}" ] && export SIGNPOST_PORT_OFFSET=$INTAKE_PORT_OFFSET
