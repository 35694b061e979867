#!/usr/bin/env bash
# intake end to end, through its public faces only: sealed submissions on
# referral.submissions (as the gateway produces them), the partner client
# (signpost-partner, as the organisation's own broker user on Apache
# Kafka) on partner.<org>.referrals and referral.updates, and
# intake's internal HTTP API with a signed principal (as the gateway
# forwards it). Plants canary values in every personal field and finally
# scans schema intake, every topic and every log for them. Prints TAP.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/stack.sh
. tests/lib/intake.sh
CHECK="/usr/bin/python3 tests/lib/intake_check.py"
TAG=zqcanary$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
D=$T/intake_e2e
rm -rf "$D"; mkdir -p "$D"

check "directory starts" stack_start directory
check "intake starts" stack_start intake
ORG=$(uuid) SVC=$(uuid) ORG2=$(uuid) SVC2=$(uuid) ORG3=$(uuid) SVC3=$(uuid)
"$B/signpost-partner" keygen "$D/orgA" >"$D/orgA.b64" 2>>"$T/intake-setup.err"
"$B/signpost-partner" keygen "$D/orgB" >"$D/orgB.b64" 2>>"$T/intake-setup.err"
catalogue "$ORG" "$SVC" "$(cat "$D/orgA.b64")" active
check "signpost-admin registers organisation A as a partner on the broker" \
  partner_register "$ORG" "$D/orgA-kafka"
check "intake's replica has the service from directory.services" replica_has "$SVC"

# ---- submissions routed sealed to the provider ----
"$B/intake-load" submit --brokers "$K" --pk "$SIGNPOST_TEST_SECRETS/intake.pk" \
  --service "$SVC" --count 6 --canary "$TAG" --out "$D/submitted.jsonl" 2>>"$T/intake-setup.err"
check "six referrals stored" wait_for 30 \
  "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC'" 6
as_partner "$D/orgA-kafka" "$B/signpost-partner" receive --brokers "$K" --org "$ORG" --sk "$D/orgA.sk" \
  --pk "$D/orgA.pk" --out "$D/partner.jsonl" --count 6 --timeout 60 --ack \
  --intake-pk "$SIGNPOST_TEST_SECRETS/intake.pk" \
  2>>"$T/partner.log"
check "the partner's decrypted messages equal what was submitted" \
  $CHECK match "$D/submitted.jsonl" "$D/partner.jsonl"
check "signpost-partner --ack marked all six delivered" wait_for 30 \
  "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC' AND status = 'delivered'" 6
mapfile -t IDS < <(/usr/bin/python3 -c 'import json,sys; [print(json.loads(l)["referral_id"]) for l in open(sys.argv[1])]' "$D/submitted.jsonl")
mapfile -t REFS < <(/usr/bin/python3 -c 'import json,sys; [print(json.loads(l)["reference"]+" "+json.loads(l)["secret"]) for l in open(sys.argv[1])]' "$D/submitted.jsonl")

# ---- every state via signpost-partner ----
partner_status() {
  as_partner "$D/orgA-kafka" "$B/signpost-partner" status --brokers "$K" --org "$ORG" --sk "$D/orgA.sk" \
    --intake-pk "$SIGNPOST_TEST_SECRETS/intake.pk" --referral "$1" --status "$2" ${3:+--reason "$3"} 2>>"$T/partner.log"
}
status_is() { wait_for 20 "SELECT status FROM intake.referrals WHERE id = '$1'" "$2"; }
ok_path=1
for s in accepted contacted in_progress completed; do
  partner_status "${IDS[0]}" "$s" && status_is "${IDS[0]}" "$s" || ok_path=0
done
check "signpost-partner drives delivered -> accepted -> contacted -> in_progress -> completed" test $ok_path = 1
check "contacted_at recorded" test "$(sql "SELECT contacted_at IS NOT NULL FROM intake.referrals WHERE id = '${IDS[0]}'")" = t
check "history keeps who and when for every change" test \
  "$(sql "SELECT count(*) FROM intake.status_history WHERE referral_id = '${IDS[0]}' AND by_sub <> '' AND at IS NOT NULL")" = 6
ok_path=1
for s in accepted unable_to_contact; do
  partner_status "${IDS[2]}" "$s" && status_is "${IDS[2]}" "$s" || ok_path=0
done
check "signpost-partner: accepted -> unable_to_contact" test $ok_path = 1
partner_status "${IDS[0]}" accepted
check "an illegal update from a partner is dead-lettered with its reason" \
  dlq_has referral.updates.dlq "${IDS[0]}" "not allowed"
# another organisation's partner, with its own key, and one claiming to be
# this organisation: both dead-lettered, the referral untouched
ORG5=$(uuid) SVC5=$(uuid)
catalogue "$ORG5" "$SVC5" "$(cat "$D/orgB.b64")" active
replica_has "$SVC5"
"$B/signpost-partner" status --brokers "$K" --org "$ORG5" --sk "$D/orgB.sk" \
  --intake-pk "$SIGNPOST_TEST_SECRETS/intake.pk" --referral "${IDS[4]}" --status declined \
  --reason "$TAG forged" --sub admin 2>>"$T/partner.log"
check "another organisation's update is dead-lettered" \
  dlq_has referral.updates.dlq "${IDS[4]}" "no such referral"
"$B/signpost-partner" status --brokers "$K" --org "$ORG" --sk "$D/orgB.sk" \
  --intake-pk "$SIGNPOST_TEST_SECRETS/intake.pk" --referral "${IDS[5]}" --status declined \
  --reason "$TAG forged" 2>>"$T/partner.log"
check "an update boxed with another organisation's key is dead-lettered" \
  dlq_has referral.updates.dlq "${IDS[5]}" "partner key"
check "both referrals are unchanged" test \
  "$(sql "SELECT count(*) FROM intake.referrals WHERE id IN ('${IDS[4]}', '${IDS[5]}') AND status = 'delivered'")" = 2
# a decline reason with the canary in it: it must appear in no table,
# topic or log in plaintext (the scan at the end)
ok_path=1
partner_status "${IDS[5]}" declined "moved away $TAG" && status_is "${IDS[5]}" declined || ok_path=0
check "a partner declines with a reason" test $ok_path = 1
check "the provider reads the reason back" test "$(api GET "/v1/referrals/${IDS[5]}" "$(principal provider prov-a "$ORG")")" = 200 -a \
  "$($CHECK field "$T/api.out" history.2.reason)" = "moved away $TAG"

# ---- the provider API (as the gateway forwards it) ----
PROV=$(principal provider prov-a "$ORG")
OTHER=$(principal provider prov-b "$(uuid)")
ADMIN=$(principal admin admin-1)
SUPPORT=$(principal support sup-1)
SUPPORT_WHY=$(principal support sup-1 "" "ticket 42: referral not delivered")
check "provider reads its referral decrypted" test "$(api GET "/v1/referrals/${IDS[1]}" "$PROV")" = 200
check "the read names the referral it returned, for the gateway to audit" \
  test "$(api_header X-Signpost-Audit-Records)" = "${IDS[1]}"
check "the read shows the person as submitted" test \
  "$($CHECK field "$T/api.out" person.name)" = "$(/usr/bin/python3 -c 'import json,sys; print(json.loads(open(sys.argv[1]).readlines()[1])["payload"]["person"]["name"])' "$D/submitted.jsonl")"
check "another organisation's provider gets 404" test "$(api GET "/v1/referrals/${IDS[1]}" "$OTHER")" = 404
check "support without a reason gets 403" test "$(api GET "/v1/referrals/${IDS[1]}" "$SUPPORT")" = 403
check "support with a reason reads it" test "$(api GET "/v1/referrals/${IDS[1]}" "$SUPPORT_WHY")" = 200
check "a request without the gateway's signature gets 401" test \
  "$(curl -s -o /dev/null -w '%{http_code}' "$(stack_url intake)/v1/referrals/${IDS[1]}")" = 401
# a status changes by one path: referral.updates (the gateway's POST
# /v1/referrals/{id}/status, test_updates.c and referral_flow.sh, or a
# partner); intake serves no status route of its own
st=$(api POST "/v1/referrals/${IDS[1]}/status" "$PROV" '{"status":"accepted"}')
check "intake has no status route of its own (got $st)" test "$st" = 404 -o "$st" = 405
check "and the referral is unchanged" test "$(sql "SELECT status FROM intake.referrals WHERE id = '${IDS[1]}'")" = delivered
ok_path=1
for s in accepted contacted; do
  partner_status "${IDS[1]}" "$s" && status_is "${IDS[1]}" "$s" || ok_path=0
done
partner_status "${IDS[1]}" declined "outside our area" && status_is "${IDS[1]}" declined || ok_path=0
check "the partner moves it on and declines it with a reason" test $ok_path = 1
check "provider list shows its six referrals" test "$(api GET "/v1/referrals?per_page=50" "$PROV")" = 200 -a \
  "$($CHECK field "$T/api.out" total)" = 6
check "the list names the six referrals it returned" test \
  "$(api_header X-Signpost-Audit-Records | tr ',' '\n' | sort | tr '\n' ' ')" = "$(printf '%s\n' "${IDS[@]}" | sort | tr '\n' ' ')"
check "list filters by status" test "$(api GET "/v1/referrals?status=completed" "$PROV")" = 200 -a \
  "$($CHECK field "$T/api.out" total)" = 1
check "list pages" test "$(api GET "/v1/referrals?per_page=2&page=3&service=$SVC" "$PROV")" = 200 -a \
  "$($CHECK field "$T/api.out" items.1.service_id)" = "$SVC"
check "another provider's list is empty" test "$(api GET "/v1/referrals" "$OTHER")" = 200 -a \
  "$($CHECK field "$T/api.out" total)" = 0
check "and says it returned none" test "$(api_header X-Signpost-Audit-Records)" = none
sleep 2
"$B/topic-dump" "$K" audit.access >"$D/audit" 2>/dev/null
# the gateway audits a caller's reads (from the header); intake only its own
check "intake writes no audit record of a caller's read: the gateway does" test \
  "$(grep "${IDS[1]}" "$D/audit" | grep -vcE 'route_to_provider|notify_person')" -eq 0
check "but its own decryption to tell the person, with its purpose" test "$(grep "${IDS[1]}" "$D/audit" | grep -c notify_person)" -ge 1

# ---- the person withdraws sharing, then opts out (consent.state) ----
SUBJ=$(sql "SELECT subject_id FROM intake.referrals WHERE id = '${IDS[1]}'")
consent_state() {
  printf '%s\t{"subject_id":"%s","purposes":{"share_with_provider":"%s"},"opted_out":%s,"updated_at":"2026-12-01T10:00:00Z","seq":%s}\n' \
    "$SUBJ" "$SUBJ" "$1" "$2" "$3" |
    "$B/topic-produce" "$K" consent.state signpost.consent.state.v1 >/dev/null 2>>"$T/intake-setup.err"
}
# until_true SECONDS CMD...: polls CMD every half second
until_true() { local n=$(($1 * 2)); shift; for _ in $(seq "$n"); do "$@" && return 0; sleep 0.5; done; return 1; }
read_as() { api GET "/v1/referrals/${IDS[1]}" "$1" >/dev/null; }
got() { $CHECK field "$T/api.out" "$1"; }
no_contact_view() { read_as "$PROV" && [ "$(got consent.contact)" = opted_out ] && ! got person.email | grep -q @ && [ "$(got person.name)" != None ]; }
withheld_view() { read_as "$PROV" && [ "$(got consent.share_with_provider)" = withdrawn ] && [ "$(got person)" = None ]; }
consent_state granted true 10
check "after an opt-out the provider's read keeps the name but no contact details" until_true 20 no_contact_view
consent_state withdrawn true 11
check "after withdrawing sharing the provider's read has nothing of the person" until_true 20 withheld_view
check "the admin still reads the whole referral" test "$(api GET "/v1/referrals/${IDS[1]}" "$ADMIN")" = 200 -a \
  "$(got person.name)" != None
check "the partner is told on its topic, with no personal data" bash -c \
  "'$B/topic-dump' '$K' 'partner.$ORG.referrals' 2>/dev/null | grep -F signpost.referral.consent_changed.v1 | grep -F '${IDS[1]}' | grep -q withdrawn"
consent_state granted false 9
sleep 2
check "an older state changes nothing" withheld_view

# ---- held for a missing key, routed when it arrives; closed service ----
catalogue "$ORG2" "$SVC2" "" active
replica_has "$SVC2"
"$B/intake-load" submit --brokers "$K" --pk "$SIGNPOST_TEST_SECRETS/intake.pk" \
  --service "$SVC2" --count 1 --canary "$TAG" --out "$D/held.jsonl" 2>>"$T/intake-setup.err"
check "no partner key: stored, held and flagged" wait_for 30 \
  "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC2' AND routed_at IS NULL AND 'partner_key_missing' = ANY (flags)" 1
catalogue "$ORG2" "$SVC2" "$(cat "$D/orgB.b64")" active update
check "the key arrives: routed" wait_for 30 \
  "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC2' AND routed_at IS NOT NULL AND flags = '{}'" 1
"$B/signpost-partner" receive --brokers "$K" --org "$ORG2" --sk "$D/orgB.sk" \
  --pk "$D/orgB.pk" --out "$D/partnerB.jsonl" --count 1 --timeout 30 2>>"$T/partner.log"
check "the held referral reaches its partner intact" $CHECK match "$D/held.jsonl" "$D/partnerB.jsonl"
catalogue "$ORG3" "$SVC3" "$(cat "$D/orgB.b64")" inactive
replica_has "$SVC3"
"$B/intake-load" submit --brokers "$K" --pk "$SIGNPOST_TEST_SECRETS/intake.pk" \
  --service "$SVC3" --count 1 --canary "$TAG" --out "$D/closed.jsonl" 2>>"$T/intake-setup.err"
check "closed service: stored and flagged service_closed, not routed" wait_for 30 \
  "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC3' AND routed_at IS NULL AND flags = '{service_closed}'" 1

# ---- bad input ----
"$B/intake-load" submit --brokers "$K" --pk "$SIGNPOST_TEST_SECRETS/intake.pk" \
  --service "$SVC" --count 1 --bad 2>>"$T/intake-setup.err"
"$B/intake-load" submit --brokers "$K" --pk "$SIGNPOST_TEST_SECRETS/intake.pk" \
  --service "$SVC" --count 1 --canary "$TAG" --out "$D/after.jsonl" 2>>"$T/intake-setup.err"
check "a payload that will not open is dead-lettered and the next one flows" wait_for 30 \
  "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC'" 7
check "referral.submissions.dlq names the reason" \
  dlq_has referral.submissions.dlq referral.submissions "does not open"

# ---- one person several times in one batch, each submission twice ----
ORG4=$(uuid) SVC4=$(uuid)
catalogue "$ORG4" "$SVC4" "$(cat "$D/orgB.b64")" active
replica_has "$SVC4"
subjects_before=$(sql "SELECT count(*) FROM intake.subjects")
"$B/intake-load" submit --brokers "$K" --pk "$SIGNPOST_TEST_SECRETS/intake.pk" \
  --service "$SVC4" --count 4 --canary "${TAG}s" --same-person --twice \
  --out "$D/same.jsonl" 2>>"$T/intake-setup.err"
check "four referrals of one person, each produced twice: stored once each" wait_for 30 \
  "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC4'" 4
sleep 1
subjects_after=$(sql "SELECT count(*) FROM intake.subjects")
check "one person, one subject (none left over: $subjects_before before, $subjects_after after)" \
  test "$subjects_after" -eq $((subjects_before + 1))
check "all four share it" test \
  "$(sql "SELECT count(DISTINCT subject_id) FROM intake.referrals WHERE service_id = '$SVC4'")" = 1
check "one received history row each" test \
  "$(sql "SELECT count(*) FROM intake.status_history h JOIN intake.referrals r ON r.id = h.referral_id WHERE r.service_id = '$SVC4'")" = 4
check "each routed to the partner exactly once" topic_settles "partner.$ORG4.referrals" 4

# ---- canary scan: tables, topics, logs ----
sleep 2
PGPASSWORD=$(cat "$SIGNPOST_TEST_PGDIR/admin.password") pg_dump -h 127.0.0.1 \
  -p "$SIGNPOST_TEST_PGPORT" -U postgres --schema=intake signpost >"$D/intake.sql"
check "pg_dump of schema intake taken" test -s "$D/intake.sql"
check "the dump holds the referrals (scan is meaningful)" grep -q "${IDS[0]}" "$D/intake.sql"
"$B/topic-dump" "$K" >"$D/topics.jsonl" 2>/dev/null
check "every topic dumped" grep -q "partner.$ORG.referrals" "$D/topics.jsonl"
cat "$D"/submitted.jsonl "$D"/held.jsonl "$D"/closed.jsonl "$D"/after.jsonl >"$D/all.jsonl"
check "no canary in schema intake" $CHECK canaries "$D/all.jsonl" "$D/intake.sql"
check "no canary on any topic" $CHECK canaries "$D/all.jsonl" "$D/topics.jsonl"
check "no canary in any log line" $CHECK canaries "$D/all.jsonl" "$T"/*.log
PGPASSWORD=$(cat "$SIGNPOST_TEST_PGDIR/admin.password") pg_dump -h 127.0.0.1 \
  -p "$SIGNPOST_TEST_PGPORT" -U postgres signpost >"$D/every-schema.sql"
check "the dump of every schema holds the declined referral" grep -q "${IDS[5]}" "$D/every-schema.sql"
check "no canary in any schema" $CHECK canaries "$D/all.jsonl" "$D/every-schema.sql"
check "the decline reason's canary is in no schema, topic or log line" \
  bash -c "! grep -lF 'moved away $TAG' '$D/every-schema.sql' '$D/topics.jsonl' '$T'/*.log"
# subject_id is pseudonymous: it goes only to daemons that hold personal
# data, never on a topic reporting (which holds none) reads
sql "SELECT id FROM intake.subjects" >"$D/subjects"
check "subjects to look for ($(grep -c . "$D/subjects"))" test -s "$D/subjects"
"$B/topic-dump" "$K" referral.facts audit.access notification.events >"$D/reporting-reads.jsonl" 2>/dev/null
check "reporting's topics hold the referrals' facts (scan is meaningful)" grep -q "${IDS[0]}" "$D/reporting-reads.jsonl"
check "no subject_id on any topic reporting reads" bash -c "! grep -qFf '$D/subjects' '$D/reporting-reads.jsonl'"
check "daemons stop cleanly" stack_stop
