#!/usr/bin/env bash
# End to end: consent and notification together, driven only through
# Kafka (playing intake and the gateway) and the daemons' HTTP ports.
# A self-referral with feedback consent and one without: the second
# person never gets a feedback request; a withdrawal through the status
# link stops the very next contact; opt-out stops everything personal;
# provider notices still go.
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/stack.sh
. tests/lib/notify.sh

SPOOL=$T/notify-spool
SVC=$(uuid) ORG=$(uuid) S1=$(uuid) S2=$(uuid) R1=$(uuid) R2=$(uuid)
# migrations are the schema owner's (-m); the daemon's own role cannot run them
migrate_as() { # SIGNPOST_DB_MIGRATE value: signpost-consent -m with it
  ( while IFS= read -r kv; do export "${kv?}"; done \
      < <(daemon_env consent "$SIGNPOST_TEST_SECRETS" "$SIGNPOST_TEST_KAFKA")
    export SIGNPOST_DB_MIGRATE="$1"
    "$SIGNPOST_TEST_BUILD/bin/signpost-consent" -m ) >>"$T/migrate.log" 2>&1
}
refused_as() { ! migrate_as "$1"; }
check "signpost-consent -m as the schema owner applies the migrations and exits 0" \
  migrate_as "$(scripts/pg.sh conninfo x "$PG_PORT" "$SIGNPOST_TEST_SECRETS" consent owner)"
check "and refuses to run them as the daemon's own role" \
  refused_as "$(scripts/pg.sh conninfo x "$PG_PORT" "$SIGNPOST_TEST_SECRETS" consent)"
owner_of() { PGPASSWORD=$(cat "$SIGNPOST_TEST_PGDIR/admin.password") psql -X -tA -h 127.0.0.1 -p "$PG_PORT" -U postgres -d signpost -c "SELECT tableowner FROM pg_tables WHERE schemaname = 'consent' AND tablename = 'ledger'"; }
check "the ledger belongs to the owner role, not the daemon's (got $(owner_of))" \
  test "$(owner_of)" = signpost_consent_owner
check "consent starts" stack_start consent
check "notification starts (spool channel)" stack_start notification \
  SIGNPOST_NOTIFY_SPOOL_DIR="$SPOOL" SIGNPOST_NOTIFY_CONSENT_RECHECK=200ms
CONSENT=$(stack_url consent) NOTIFY=$(stack_url notification)

printf '%s\t{"id":"%s","organization_id":"%s","name":"Warm Homes Advice","organization_name":"Kingston Warmth","status":"active","accepts_referrals":true,"taxonomy_terms":[],"last_modified":"2026-11-24T10:00:00Z"}\n' \
  "$SVC" "$SVC" "$ORG" | produce directory.services signpost.service.updated.v1

received() { # REFERRAL SUBJECT FEEDBACK
  printf '%s\t{"referral_id":"%s","reference":"SP-7KQ2-M4XD","service_id":"%s","organisation_id":"%s","kind":"self","subject_id":"%s","taxonomy_terms":[],"postcode_district":"KT1","consents":{"share_with_provider":true,"contact_about_service":true,"feedback_requests":%s,"terms_change_notices":false},"privacy_notice_version":"2026-11-01","received_at":"2026-11-24T10:00:00Z","flags":[]}\n' \
    "$1" "$1" "$SVC" "$ORG" "$2" "$3"
}
{ received "$R1" "$S1" true; received "$R2" "$S2" false; } |
  produce referral.events signpost.referral.received.v1
check "both subjects' consent state reaches notification's replica" \
  wait_for 30 "SELECT count(*) FROM notification.consent_state WHERE subject_id IN ('$S1', '$S2')" 2

# request ID TEMPLATE AUDIENCE SUBJECT PURPOSE REFERRAL: one request line.
request() {
  local subj=null purpose=null
  [ -n "$4" ] && subj="\"$4\""
  [ -n "$5" ] && purpose="\"$5\""
  printf '%s\t{"message_id":"%s","template":"%s","audience":"%s","subject_id":%s,"purpose":%s,"referral_id":"%s","service_id":"%s","sealed":{"email":"person-%s@example.org","values":{"name":"Canary Person","reference":"SP-7KQ2-M4XD"}}}\n' \
    "$1" "$1" "$2" "$3" "$subj" "$purpose" "$6" "$SVC" "$1"
}
A1=$(uuid) A2=$(uuid) P1=$(uuid) P2=$(uuid) F1=$(uuid) F2=$(uuid)
{
  request "$A1" referral_received_person person "$S1" contact_about_service "$R1"
  request "$A2" referral_received_person person "$S2" contact_about_service "$R2"
  request "$P1" new_referral_provider provider "" "" "$R1"
  request "$P2" new_referral_provider provider "" "" "$R2"
  request "$F1" feedback_request_person person "$S1" feedback_requests "$R1"
  request "$F2" feedback_request_person person "$S2" feedback_requests "$R2"
} | produce notification.requests signpost.notification.requested.v1 seal
check "all six requests reach a final outcome" wait_for 30 \
  "SELECT count(*) FROM notification.message WHERE message_id IN ('$A1','$A2','$P1','$P2','$F1','$F2') AND status IN ('sent','suppressed','failed')" 6
check "both people get the referral acknowledgement" \
  test "$(status "$A1") $(status "$A2")" = "sent sent"
check "both providers get the new-referral notice" \
  test "$(status "$P1") $(status "$P2")" = "sent sent"
check "the person who agreed gets the feedback request" test "$(status "$F1")" = sent
check "the person who did not agree never gets a feedback request" \
  test "$(status "$F2")" = suppressed -a ! -e "$SPOOL/$F2.eml"
check "the feedback request that went is readable in the spool" \
  grep -q "Warm Homes Advice" "$SPOOL/$F1.eml"
check "no plaintext address in the delivery log" \
  test "$(sql "SELECT count(*) FROM notification.message m WHERE m::text LIKE '%@example.org%'")" = 0
check "sealed recipients dropped once final" \
  test "$(sql "SELECT count(*) FROM notification.message WHERE status IN ('sent','suppressed','failed') AND sealed IS NOT NULL")" = 0

# withdrawal through the status link: the gateway vouches for the subject
out=$(http public "subject:$S1" POST "$CONSENT/v1/consents" \
  "{\"subject_id\":\"$S1\",\"purpose\":\"feedback_requests\",\"action\":\"withdrawn\",\"privacy_notice_version\":\"2026-11-01\"}")
code=${out%% *} receipt=${out#* }
check "withdrawal recorded with a receipt (201)" test "$code" = 201
check "receipt says what, when, notice version and how to withdraw" \
  bash -c 'jq -e ".purpose == \"feedback_requests\" and .action == \"withdrawn\" and (.recorded_at|length) > 0 and .privacy_notice_version == \"2026-11-01\" and (.how_to_withdraw|length) > 0" >/dev/null <<<"$1"' _ "$receipt"
seq=$(jq -r .state.seq <<<"$receipt")
check "someone else's status link cannot withdraw for S1 (403)" \
  test "$(http public "subject:$S2" POST "$CONSENT/v1/consents" "{\"subject_id\":\"$S1\",\"purpose\":\"feedback_requests\",\"action\":\"granted\"}" | cut -d' ' -f1)" = 403
check "the withdrawal reaches notification's replica" wait_for 30 \
  "SELECT seq FROM notification.consent_state WHERE subject_id = '$S1'" "$seq"
F3=$(uuid)
request "$F3" feedback_request_person person "$S1" feedback_requests "$R1" |
  produce notification.requests signpost.notification.requested.v1 seal
check "the next feedback request after withdrawal is suppressed" wait_for 30 \
  "SELECT status || ':' || reason FROM notification.message WHERE message_id = '$F3'" "suppressed:consent withdrawn"

# opt-out of all contact, recorded by an admin on the person's behalf
out=$(http admin admin-1 POST "$CONSENT/v1/consents" \
  "{\"subject_id\":\"$S1\",\"purpose\":\"all_contact\",\"action\":\"withdrawn\"}")
check "opt-out recorded by an admin (201)" test "${out%% *}" = 201
seq=$(jq -r .state.seq <<<"${out#* }")
check "the opt-out reaches notification's replica" wait_for 30 \
  "SELECT seq FROM notification.consent_state WHERE subject_id = '$S1'" "$seq"
C1=$(uuid) P3=$(uuid)
{
  request "$C1" referral_completed_person person "$S1" contact_about_service "$R1"
  request "$P3" referral_reminder_provider provider "" "" "$R1"
} | produce notification.requests signpost.notification.requested.v1 seal
check "opt-out stops contact about the service too" wait_for 30 \
  "SELECT status || ':' || reason FROM notification.message WHERE message_id = '$C1'" "suppressed:opted out of all contact"
check "provider reminder for the opted-out person's referral still goes" \
  wait_for 30 "SELECT status FROM notification.message WHERE message_id = '$P3'" sent

out=$(http admin admin-1 GET "$CONSENT/v1/consents/$S1")
check "admin sees state and the full history (5 rows, chain valid)" \
  bash -c 'jq -e ".state.opted_out == true and (.history|length) == 5 and .chain_valid == true" >/dev/null <<<"${1#* }"' _ "$out"
check "a provider may not read consent history (403)" \
  test "$(http provider prov-1 GET "$CONSENT/v1/consents/$S1" | cut -d' ' -f1)" = 403
check "the ledger refuses an UPDATE even from its owner" \
  bash -c "! psql \"$SIGNPOST_TEST_PG dbname=signpost\" -X -q -c \"UPDATE consent.ledger SET action = 'granted'\" 2>/dev/null"

out=$(http admin admin-1 PUT "$NOTIFY/v1/templates/feedback_request_person/sms" '{"body_text":"How was {{service_name}}? Tell us."}')
check "admin edits a template over HTTP" test "${out%% *}" = 200
check "a template with a broken placeholder is refused (400)" \
  test "$(http admin admin-1 PUT "$NOTIFY/v1/templates/feedback_request_person/sms" '{"body_text":"Hi {{name"}' | cut -d' ' -f1)" = 400
check "templates are for admins (403)" \
  test "$(http provider p GET "$NOTIFY/v1/templates/feedback_request_person/email" | cut -d' ' -f1)" = 403

check "consent and notification stop cleanly on SIGTERM (exit 0)" stack_stop
