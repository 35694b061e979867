#!/usr/bin/env bash
# End to end through the gateway: a self referral submitted over HTTP,
# routed sealed to the partner, driven through every state by the
# provider's POST status route (a command on referral.updates) and a
# second one by signpost-partner; each state checked via the provider's
# GET (forwarded to intake, audited) and via the public status link; a
# provider of another organisation gets 404; an illegal transition is
# not applied; consent withdrawn through the status link (JSON and the
# web form) reaches the consent ledger and consent.state. Prints TAP.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/stack.sh
. tests/lib/intake.sh
CHECK="/usr/bin/python3 tests/lib/intake_check.py"
D=$T/referral_flow
rm -rf "$D"; mkdir -p "$D"
F=$D/body H=$D/headers

check "directory starts" stack_start directory
check "intake starts" stack_start intake
check "consent starts" stack_start consent
check "notification starts" stack_start notification SIGNPOST_NOTIFY_SPOOL_DIR="$D/spool"
check "gateway starts" stack_start gateway SIGNPOST_INTAKE_URL="$(stack_url intake)" \
  SIGNPOST_DIRECTORY_URL="$(stack_url directory)" SIGNPOST_CONSENT_URL="$(stack_url consent)" \
  SIGNPOST_GATEWAY_RATE_IP=1000 SIGNPOST_GATEWAY_BURST_IP=1000 \
  SIGNPOST_GATEWAY_RATE_FORM=100 SIGNPOST_GATEWAY_BURST_FORM=100
GW=$(stack_url gateway)

ORG=$(uuid) SVC=$(uuid) ORG2=$(uuid) SVC2=$(uuid)
"$B/signpost-partner" keygen "$D/org" >"$D/org.b64" 2>>"$T/intake-setup.err"
catalogue "$ORG" "$SVC" "$(cat "$D/org.b64")" active
catalogue "$ORG2" "$SVC2" "" active
check "intake's replica has the service" replica_has "$SVC"
check "the gateway's replica has the service" wait_for 30 \
  "SELECT count(*) FROM gateway.catalogue_services WHERE id = '$SVC'" 1

# req METHOD PATH [curl args]: status code; body in $F, headers in $H
req() { local m=$1 p=$2; shift 2; curl -s -o "$F" -D "$H" -w '%{http_code}' -X "$m" "$@" "$GW$p"; }
json() { req "$1" "$2" -H 'Content-Type: application/json' --data-binary "$3" "${@:4}"; }
field() { $CHECK field "$F" "$1"; }
hdr() { grep -i "^$1:" "$H" | head -1 | cut -d' ' -f2- | tr -d '\r'; }
admin() {
  SIGNPOST_DB="$(scripts/pg.sh conninfo x "$SIGNPOST_TEST_PGPORT" "$SIGNPOST_TEST_SECRETS" gateway)" \
  SIGNPOST_SECRETS_DIR="$SIGNPOST_TEST_SECRETS" "$B/signpost-admin" "$@" 2>/dev/null | awk '/^token:/ {print $2}'
}

# ---- two self referrals through the gateway ----
submit() { # NAME EMAIL: prints "id key"; the payload goes to $D/submitted.jsonl
  local body="{\"service_id\":\"$SVC\",\"kind\":\"self\",\"person\":{\"name\":\"$1\",\"email\":\"$2\",\"phone\":\"07700 900123\",\"postcode\":\"KT1 1EU\"},\"special_category\":{\"health\":\"asthma\"},\"share_special_category\":[\"health\"],\"notes\":\"mornings\",\"consents\":{\"share_with_provider\":true,\"feedback_requests\":true}}"
  [ "$(json POST /v1/referrals "$body")" = 202 ] || return 1
  local id ref key
  id=$(field id); ref=$(field reference); key=$(hdr Location | sed 's/.*key=//')
  /usr/bin/python3 -c 'import json,sys; b=json.loads(sys.argv[1]); print(json.dumps({"referral_id":sys.argv[2],"reference":sys.argv[3],"kind":"self","payload":{k:b[k] for k in ("person","special_category","share_special_category","notes")}}))' \
    "$body" "$id" "$ref" >>"$D/submitted.jsonl"
  echo "$id $key"
}
read -r A AKEY < <(submit "Ada Flowtest" "ada@example.org")
read -r R2 R2KEY < <(submit "Bob Flowtest" "bob@example.org")
check "two self referrals accepted by the gateway" test -n "$A" -a -n "$R2" -a -n "$AKEY"
check "intake stored both" wait_for 30 \
  "SELECT count(*) FROM intake.referrals WHERE id IN ('$A', '$R2')" 2
check "the gateway learnt their organisation from referral.received" wait_for 30 \
  "SELECT count(*) FROM gateway.referral_owner WHERE referral_id IN ('$A', '$R2') AND organisation_id = '$ORG'" 2
"$B/signpost-partner" receive --brokers "$K" --org "$ORG" --sk "$D/org.sk" \
  --pk "$D/org.pk" --out "$D/partner.jsonl" --count 2 --timeout 60 2>>"$T/partner.log"
check "the partner's decrypted messages match what was submitted" \
  $CHECK match "$D/submitted.jsonl" "$D/partner.jsonl"

PTOK=$(admin token issue --role provider --org "$ORG" --label flow)
OTOK=$(admin token issue --role provider --org "$ORG2" --label other)
ATOK=$(admin token issue --role admin --label flow)
STOK=$(admin token issue --role support --expires 1h --label flow)
check "tokens issued with signpost-admin" test -n "$PTOK" -a -n "$OTOK" -a -n "$ATOK" -a -n "$STOK"
P=(-H "Authorization: Bearer $PTOK")

# provider_sees ID STATUS: the provider's GET shows STATUS (20 s)
provider_sees() {
  local i
  for i in $(seq 40); do
    [ "$(req GET "/v1/referrals/$1" "${P[@]}")" = 200 ] && [ "$(field status)" = "$2" ] && return 0
    sleep 0.5
  done
  echo "# provider sees $(field status), want $2"; return 1
}
# public_sees ID KEY WORD: the status link shows WORD (20 s)
public_sees() {
  local i
  for i in $(seq 40); do
    [ "$(req GET "/v1/referrals/$1/status?key=$2")" = 200 ] && [ "$(field status)" = "$3" ] && return 0
    sleep 0.5
  done
  echo "# status link shows $(field status), want $3"; return 1
}
word() { case $1 in delivered|accepted) echo with_provider ;; contacted|in_progress) echo contacted ;;
  completed|declined|withdrawn|unable_to_contact) echo closed ;; *) echo "$1" ;; esac; }

check "provider GET through the gateway reads it (received)" provider_sees "$A" received
check "the status link shows received" public_sees "$A" "$AKEY" received

# ---- referral A through every state via the gateway ----
for s in delivered accepted contacted in_progress completed; do
  st=$(json POST "/v1/referrals/$A/status" "{\"status\":\"$s\"}" "${P[@]}")
  check "POST status $s answers 202 (got $st) with Location" test "$st" = 202 -a "$(hdr Location)" = "/v1/referrals/$A"
  check "provider GET shows $s" provider_sees "$A" "$s"
  check "the status link shows $(word $s)" public_sees "$A" "$AKEY" "$(word $s)"
done
check "the command on referral.updates is status_update.v1 keyed by the referral, sealed" \
  bash -c "'$B/topic-dump' '$K' referral.updates 2>/dev/null | grep -F '\"key\":\"$A\"' | grep -F signpost.referral.status_update.v1 | grep -q sealed"
check "its status and caller are not readable on the topic" \
  bash -c "! '$B/topic-dump' '$K' referral.updates 2>/dev/null | grep -F '\"key\":\"$A\"' | grep -qE 'completed|provider'"
st=$(json POST "/v1/referrals/$A/status" '{"status":"accepted"}' "${P[@]}")
check "an illegal transition is accepted for processing (202)" test "$st" = 202
check "intake dead-letters it with the reason" dlq_has referral.updates.dlq "$A" "not allowed"
check "and the referral stays completed" provider_sees "$A" completed

# ---- referral B via signpost-partner ----
for s in delivered accepted contacted in_progress completed; do
  "$B/signpost-partner" status --brokers "$K" --org "$ORG" --sk "$D/org.sk" \
    --intake-pk "$SIGNPOST_TEST_SECRETS/intake.pk" --referral "$R2" --status "$s" 2>>"$T/partner.log"
  check "signpost-partner $s: provider GET shows it" provider_sees "$R2" "$s"
  check "signpost-partner $s: the status link shows $(word $s)" public_sees "$R2" "$R2KEY" "$(word $s)"
done

# ---- authority and bad input ----
check "another organisation's provider reads 404" test "$(req GET "/v1/referrals/$A" -H "Authorization: Bearer $OTOK")" = 404
check "another organisation's provider cannot change it (404)" test \
  "$(json POST "/v1/referrals/$R2/status" '{"status":"declined","reason":"x"}' -H "Authorization: Bearer $OTOK")" = 404
check "an unknown referral is 404" test \
  "$(json POST "/v1/referrals/$(uuid)/status" '{"status":"accepted"}' "${P[@]}")" = 404
check "support may not change a status (403)" test \
  "$(json POST "/v1/referrals/$A/status" '{"status":"accepted"}' -H "Authorization: Bearer $STOK" -H 'X-Signpost-Reason: ticket 7')" = 403
check "declined without a reason is 422 naming reason" test \
  "$(json POST "/v1/referrals/$A/status" '{"status":"declined"}' "${P[@]}")" = 422 -a "$(field error.field)" = reason
check "an unknown status is 422" test "$(json POST "/v1/referrals/$A/status" '{"status":"lost"}' "${P[@]}")" = 422
check "an unknown field is 400" test "$(json POST "/v1/referrals/$A/status" '{"status":"accepted","x":1}' "${P[@]}")" = 400
sleep 1
"$B/topic-dump" "$K" audit.access >"$D/audit" 2>/dev/null
check "provider reads emitted audit.access events" test "$(grep -c "$A" "$D/audit")" -ge 5

# ---- consent through the status link ----
SUBJ=$(sql "SELECT subject_id FROM gateway.referral_owner WHERE referral_id = '$A'")
st=$(json POST "/v1/referrals/$A/consents?key=$AKEY" '{"purpose":"feedback_requests","action":"withdrawn"}')
check "withdrawing feedback consent through the status link: 202 (got $st)" test "$st" = 202
check "the answer is a receipt" test "$(field purpose)" = feedback_requests -a "$(field action)" = withdrawn -a -n "$(field recorded_at)"
check "a wrong key is 404" test \
  "$(json POST "/v1/referrals/$A/consents?key=00000000000000000000000000000000" '{"purpose":"feedback_requests","action":"withdrawn"}')" = 404
check "an unknown purpose is 422" test \
  "$(json POST "/v1/referrals/$A/consents?key=$AKEY" '{"purpose":"spam","action":"withdrawn"}')" = 422
consent_is() { # PATH VALUE: admin's GET /v1/consents/SUBJ through the gateway (60 s: a loaded machine is slow)
  local i
  for i in $(seq 120); do
    [ "$(req GET "/v1/consents/$SUBJ" -H "Authorization: Bearer $ATOK")" = 200 ] && [ "$(field "$1")" = "$2" ] && return 0
    sleep 0.5
  done
  echo "# $1 is $(field "$1"), want $2"; return 1
}
check "consent's state (admin GET through the gateway) shows feedback withdrawn" consent_is state.purposes.feedback_requests withdrawn
check "the ledger row says web status link by the person" \
  wait_for 10 "SELECT count(*) FROM consent.ledger WHERE subject_id = '$SUBJ' AND purpose = 'feedback_requests' AND action = 'withdrawn' AND recorded_by = 'person'" 1
check "consent.state on Kafka carries the withdrawal" \
  bash -c "'$B/topic-dump' '$K' consent.state 2>/dev/null | grep -F '\"key\":\"$SUBJ\"' | grep -q 'feedback_requests.*withdrawn'"
check "a provider may not read consent state (403)" test "$(req GET "/v1/consents/$SUBJ" "${P[@]}")" = 403
# someone else refers the same person, ticking feedback: what the person
# withdrew stays withdrawn (only their own referral grants it again)
obody="{\"service_id\":\"$SVC\",\"kind\":\"on_behalf\",\"person\":{\"name\":\"Ada Flowtest\",\"email\":\"ada@example.org\"},\"referrer\":{\"name\":\"Cy Helper\",\"relationship\":\"neighbour\",\"email\":\"cy@example.org\"},\"consents\":{\"share_with_provider\":true,\"feedback_requests\":true}}"
T0=$(sql "SELECT now()")
check "an on_behalf referral for the same person is accepted" test "$(json POST /v1/referrals "$obody")" = 202
OB=$(field id)
check "it joins the person's subject" wait_for 30 \
  "SELECT count(*) FROM gateway.referral_owner WHERE referral_id = '$OB' AND subject_id = '$SUBJ'" 1
check "consent has taken the referral in" wait_for 30 \
  "SELECT (count(*) > 0)::int FROM consent.inbox WHERE handled_at > '$T0'" 1
regranted="SELECT count(*) FROM consent.ledger WHERE subject_id = '$SUBJ' AND purpose = 'feedback_requests' AND action = 'granted' AND seq > (SELECT max(seq) FROM consent.ledger WHERE subject_id = '$SUBJ' AND purpose = 'feedback_requests' AND action = 'withdrawn')"
check "no grant of feedback_requests after the person's withdrawal (got $(sql "$regranted"))" test "$(sql "$regranted")" = 0
check "and the state still says withdrawn" consent_is state.purposes.feedback_requests withdrawn

# ---- the web form on the status page: opt out of all contact ----
req GET "/status/$A?key=$AKEY" >/dev/null
CSRF=$(grep -o 'name="csrf" value="[^"]*"' "$F" | head -1 | sed 's/.*value="//; s/"$//')
check "the status page has the contact-preferences form" grep -q 'action="/status/'"$A"'/consent"' "$F"
check "a form post without the CSRF token is refused (403)" test \
  "$(req POST "/status/$A/consent" --data-urlencode "key=$AKEY" --data-urlencode purpose=all_contact)" = 403
st=$(req POST "/status/$A/consent" --data-urlencode "csrf=$CSRF" --data-urlencode "key=$AKEY" \
  --data-urlencode purpose=all_contact --data-urlencode website=)
check "opting out through the web form shows the confirmation (got $st)" test "$st" = 200 -a "$(grep -c 'Your choice is saved' "$F")" -ge 1
check "consent state shows opted out" consent_is state.opted_out True
st=$(json POST /v1/consents "{\"subject_id\":\"$SUBJ\",\"purpose\":\"terms_change_notices\",\"action\":\"granted\"}" -H "Authorization: Bearer $ATOK")
check "an admin records a grant on the person's behalf (202)" test "$st" = 202
check "and consent records it" consent_is state.purposes.terms_change_notices granted
check "a provider may not post consents (403)" test \
  "$(json POST /v1/consents "{\"subject_id\":\"$SUBJ\",\"purpose\":\"all_contact\",\"action\":\"granted\"}" "${P[@]}")" = 403
check "daemons stop cleanly" stack_stop
