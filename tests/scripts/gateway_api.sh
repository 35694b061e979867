#!/usr/bin/env bash
# End to end: the gateway's JSON API as a partner and a resident's browser
# see it, against a real directory, PostgreSQL and the Kafka mock. Good
# referrals of each kind are accepted (202 after Kafka acknowledged) and
# land sealed on referral.submissions; every kind of bad input is refused
# with the right status and field, and produces no message; Idempotency-Key
# replays; tokens and roles; ORUK forwarding; security headers; no
# personal data in the log.
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/stack.sh
. tests/lib/gateway.sh
B=$SIGNPOST_TEST_TMP/gw-body H=$SIGNPOST_TEST_TMP/gw-headers
CANARY="Zelda Canarywhistle"

check "directory starts" stack_start directory
check "fixture directory loaded through directory.commands" gw_fixture_load
mapfile -t ENV < <(gw_env)
check "gateway starts and is ready" stack_start gateway "${ENV[@]}"
check "gateway replica holds the 3 fixture services" gw_catalogue_wait 3
GW=$(stack_url gateway)

# req METHOD PATH [curl args...]: status code; body in $B, headers in $H
req() { local m=$1 p=$2; shift 2; curl -s -o "$B" -D "$H" -w '%{http_code}' -X "$m" "$@" "$GW$p"; }
post() { req POST /v1/referrals -H 'Content-Type: application/json' --data-binary "$@"; }
field() { python3 -c "import json,sys; d=json.load(open('$B')); print(eval('d'+sys.argv[1]))" "$1" 2>/dev/null; }
hdr() { grep -i "^$1:" "$H" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

self() { # self referral body; $1 overrides, e.g. '"notes":"x",'
  echo "{$1\"service_id\":\"${2:-$GW_SVC}\",\"kind\":\"self\",\"person\":{\"name\":\"$CANARY\",\"email\":\"zelda@example.org\",\"phone\":\"07700 900123\",\"postcode\":\"KT1 1EU\"},\"consents\":{\"share_with_provider\":true,\"feedback_requests\":true}}"
}
before=$(topic_count referral.submissions)

st=$(post "$(self)")
check "self referral accepted with 202 (got $st)" [ "$st" = 202 ]
ref=$(field "['reference']"); id=$(field "['id']"); loc=$(hdr Location)
check "answer carries a reference like SP-XXXX-XXXX ($ref)" bash -c "[[ '$ref' =~ ^SP-[2-9A-HJKMNP-TV-Z]{4}-[2-9A-HJKMNP-TV-Z]{4}$ ]]"
check "Location points at the status with its secret" bash -c "[[ '$loc' == /v1/referrals/$id/status?key=* ]]"
st=$(post "{\"service_id\":\"$GW_SVC\",\"kind\":\"on_behalf\",\"person\":{\"name\":\"$CANARY\",\"address\":\"1 High St\"},\"referrer\":{\"name\":\"Ann\",\"relationship\":\"daughter\",\"phone\":\"020 7946 0000\"},\"consents\":{\"share_with_provider\":true}}")
check "on-behalf referral accepted (got $st)" [ "$st" = 202 ]
st=$(post "{\"service_id\":\"$GW_SVC\",\"kind\":\"professional\",\"person\":{\"name\":\"$CANARY\",\"phone\":\"+44 7700 900456\"},\"referrer\":{\"name\":\"Dr Who\",\"organisation\":\"GP surgery\",\"role\":\"GP\",\"email\":\"gp@example.nhs.uk\"},\"special_category\":{\"health\":\"asthma\"},\"share_special_category\":[\"health\"],\"consents\":{\"share_with_provider\":true}}")
check "professional referral with special category accepted (got $st)" [ "$st" = 202 ]
after=$(topic_count referral.submissions)
check "three messages on referral.submissions ($before -> $after)" [ "$after" -eq $((before + 3)) ]
dump=$SIGNPOST_TEST_TMP/gateway_api.submissions
"$SIGNPOST_TEST_BUILD/bin/topic-dump" "$SIGNPOST_TEST_KAFKA" referral.submissions > "$dump"
check "the message is keyed by the referral id and typed submitted.v1" \
  bash -c "grep -F '\"key\":\"$id\"' '$dump' | grep -qF 'signpost.referral.submitted.v1'"
check "no personal data in plaintext on the topic" bash -c "! grep -qE 'Canarywhistle|zelda@example|07700' '$dump'"

# Idempotency-Key
k="test-$RANDOM$RANDOM"
st1=$(post "$(self)" -H "Idempotency-Key: $k"); id1=$(field "['id']"); ref1=$(field "['reference']")
n1=$(topic_count referral.submissions)
st2=$(post "$(self)" -H "Idempotency-Key: $k"); id2=$(field "['id']"); ref2=$(field "['reference']")
n2=$(topic_count referral.submissions)
check "retry with the same Idempotency-Key gets the same id and reference" \
  [ "$st1$st2" = 202202 -a "$id1" = "$id2" -a "$ref1" = "$ref2" -a -n "$id1" ]
check "the retry produced no second message ($n1 -> $n2)" [ "$n1" -eq "$n2" ]
st=$(post "$(self '"notes":"other",')" -H "Idempotency-Key: $k")
check "same Idempotency-Key with another body is 422 (got $st)" [ "$st" = 422 ]

# Bad input: none produces a message
before=$(topic_count referral.submissions)
bad() { # name expected_status expected_field body [curl args]
  local name=$1 want=$2 wf=$3 body=$4; shift 4
  local got f
  got=$(req POST /v1/referrals -H 'Content-Type: application/json' --data-binary "$body" "$@")
  f=$(field "['error'].get('field','')")
  check "$name: $want${wf:+ naming $wf} (got $got${f:+ $f})" [ "$got" = "$want" -a "$f" = "$wf" ]
}
bad "unknown top-level field" 400 nickname "$(self '"nickname":"z",')"
bad "unknown nested field" 400 person.nickname "{\"service_id\":\"$GW_SVC\",\"kind\":\"self\",\"person\":{\"name\":\"A\",\"nickname\":\"z\",\"phone\":\"07700900123\"},\"consents\":{\"share_with_provider\":true}}"
bad "wrong type" 400 person.name "{\"service_id\":\"$GW_SVC\",\"kind\":\"self\",\"person\":{\"name\":5,\"phone\":\"07700900123\"},\"consents\":{\"share_with_provider\":true}}"
bad "missing consent" 422 consents.share_with_provider "{\"service_id\":\"$GW_SVC\",\"kind\":\"self\",\"person\":{\"name\":\"A\",\"phone\":\"07700900123\"}}"
check "missing consent explains why it is needed" grep -q "provider cannot receive" "$B"
bad "consent refused" 422 consents.share_with_provider "{\"service_id\":\"$GW_SVC\",\"kind\":\"self\",\"person\":{\"name\":\"A\",\"phone\":\"07700900123\"},\"consents\":{\"share_with_provider\":false}}"
bad "unknown service" 422 service_id "$(self '' 6f0c6c3e-2f7a-4d6b-9a57-0c1f0e7a9999)"
bad "service not taking referrals" 422 service_id "$(self '' "$GW_SVC_CLOSED")"
bad "inactive service" 422 service_id "$(self '' "$GW_SVC_INACTIVE")"
bad "invalid email" 422 person.email "{\"service_id\":\"$GW_SVC\",\"kind\":\"self\",\"person\":{\"name\":\"A\",\"email\":\"not-an-email\"},\"consents\":{\"share_with_provider\":true}}"
bad "invalid UK phone" 422 person.phone "{\"service_id\":\"$GW_SVC\",\"kind\":\"self\",\"person\":{\"name\":\"A\",\"phone\":\"12345\"},\"consents\":{\"share_with_provider\":true}}"
bad "invalid postcode" 422 person.postcode "{\"service_id\":\"$GW_SVC\",\"kind\":\"self\",\"person\":{\"name\":\"A\",\"phone\":\"07700900123\",\"postcode\":\"NOT A PC\"},\"consents\":{\"share_with_provider\":true}}"
bad "no way to contact the person" 422 person "{\"service_id\":\"$GW_SVC\",\"kind\":\"self\",\"person\":{\"name\":\"A\"},\"consents\":{\"share_with_provider\":true}}"
bad "on_behalf without referrer" 422 referrer "{\"service_id\":\"$GW_SVC\",\"kind\":\"on_behalf\",\"person\":{\"name\":\"A\",\"phone\":\"07700900123\"},\"consents\":{\"share_with_provider\":true}}"
bad "malformed JSON" 400 "" '{"service_id": '
bad "duplicate keys" 400 "" "{\"kind\":\"self\",\"kind\":\"self\"}"
printf '{"service_id":"%s","kind":"self","person":{"name":"\xff\xfe","phone":"07700900123"},"consents":{"share_with_provider":true}}' "$GW_SVC" > "$SIGNPOST_TEST_TMP/badutf8.json"
bad "invalid UTF-8" 400 "" "@$SIGNPOST_TEST_TMP/badutf8.json"
st=$(req POST /v1/referrals -H 'Content-Type: text/plain' --data-binary "$(self)")
check "wrong content type is 415 (got $st)" [ "$st" = 415 ]
head -c 70000 /dev/zero | tr '\0' 'a' > "$SIGNPOST_TEST_TMP/big.json"
st=$(req POST /v1/referrals -H 'Content-Type: application/json' --data-binary "@$SIGNPOST_TEST_TMP/big.json")
check "oversized body is 413 (got $st)" [ "$st" = 413 ]
after=$(topic_count referral.submissions)
check "none of the refused requests produced a message ($before -> $after)" [ "$before" -eq "$after" ]

# Status link: it works from the 202 on (no intake runs here, so nothing
# has replicated it: the gateway checks the link against the id alone)
st=$(req GET "$loc")
check "the status link answers 200 at once, with the reference (got $st)" [ "$st" = 200 -a "$(field "['reference']")" = "$ref" ]
check "status is received" [ "$(field "['status']")" = received ]
check "updated_at is when it was made (the time in its id)" python3 - "$B" <<'PY'
import datetime, json, sys
d = json.load(open(sys.argv[1]))
made = int(d["id"].replace("-", "")[:12], 16) / 1000
shown = datetime.datetime.strptime(d["updated_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp()
sys.exit(0 if abs(shown - int(made)) < 1.5 else 1)
PY
st=$(req GET "/v1/referrals/$id/status?key=${loc##*key=}0")
check "a status secret one character too long is 404 (got $st)" [ "$st" = 404 ]
# another v7 id (its last digit changed), so the secret check refuses it
other=${id%?}$([ "${id: -1}" = 0 ] && echo 1 || echo 0)
st=$(req GET "/v1/referrals/$other/status?key=${loc##*key=}")
check "another referral's id with this secret is 404 (got $st)" [ "$st" = 404 ]
st=$(req GET "/v1/referrals/$(python3 -c 'import uuid;print(uuid.uuid4())')/status?key=${loc##*key=}")
check "an id that is not a UUIDv7 is 404 (got $st)" [ "$st" = 404 ]
st=$(req GET "/v1/referrals/$id/status?key=00000000000000000000000000000000")
check "a wrong status secret is 404 (got $st)" [ "$st" = 404 ]

# ORUK, forwarded publicly
st=$(req GET "/oruk/services?search=debt")
check "ORUK search forwarded to the directory (got $st)" [ "$st" = 200 ]
check "ORUK answer holds the fixture service" grep -q "$GW_SVC" "$B"
check "ORUK answer carries CORS" [ "$(hdr Access-Control-Allow-Origin)" = "*" ]
st=$(req GET "/oruk/services/$GW_SVC")
check "ORUK service by id (got $st)" [ "$st" = 200 ]
st=$(req GET "/oruk/services?page=zero")
check "ORUK bad parameter passes through as 400 (got $st)" [ "$st" = 400 ]

# Security headers
req GET / >/dev/null
check "CSP on pages" bash -c "grep -qi '^Content-Security-Policy: default-src' '$H'"
check "Referrer-Policy on pages" bash -c "grep -qi '^Referrer-Policy: no-referrer' '$H'"
check "X-Content-Type-Options on pages" bash -c "grep -qi '^X-Content-Type-Options: nosniff' '$H'"
check "no HSTS without TLS" bash -c "! grep -qi '^Strict-Transport-Security' '$H'"
post "$(self)" >/dev/null
check "CSP on the API" bash -c "grep -qi '^Content-Security-Policy: default-src' '$H'"
st=$(req GET /openapi.json)
check "OpenAPI document served (got $st)" [ "$st" = 200 -a "$(field "['openapi']")" = 3.1.0 ]

# Tokens and roles
out=$(admin token issue --role provider --org "$GW_ORG" --label test 2>/dev/null)
ptok=$(echo "$out" | awk '/^token:/ {print $2}'); pid=$(echo "$out" | awk '/^id:/ {print $2}')
check "signpost-admin issues a provider token" bash -c "[[ '$ptok' == sp_* ]]"
check "only the token's hash is stored" bash -c "! psql \"$SIGNPOST_TEST_PG dbname=signpost\" -X -tAc 'SELECT * FROM gateway.api_tokens' | grep -qF '$ptok'"
atok=$(admin token issue --role admin 2>/dev/null | awk '/^token:/ {print $2}')
stok=$(admin token issue --role support --expires 1h 2>/dev/null | awk '/^token:/ {print $2}')
refused() { ! admin token issue "$@" >/dev/null 2>&1; }
check "a support token without --expires is refused" refused --role support
check "a provider token without --org is refused" refused --role provider
check "a support token over 7 days is refused" refused --role support --expires 8d
st=$(req GET /v1/referrals)
check "referral list without a token is 401 (got $st)" [ "$st" = 401 ]
st=$(req GET /v1/referrals -H "Authorization: Bearer sp_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
check "a forged token is 401 (got $st)" [ "$st" = 401 ]
st=$(req GET /v1/referrals -H "Authorization: Bearer $ptok")
check "provider's referral read with intake down is 503 (got $st)" [ "$st" = 503 ]
check "503 carries Retry-After" [ -n "$(hdr Retry-After)" ]
st=$(req GET /v1/admin/update_requests -H "Authorization: Bearer $ptok")
check "provider may not read update requests: 403 (got $st)" [ "$st" = 403 ]
st=$(req GET /v1/admin/update_requests -H "Authorization: Bearer $atok")
check "admin reads update requests from the directory (got $st)" [ "$st" = 200 ]
st=$(req GET /v1/referrals -H "Authorization: Bearer $stok")
check "support without a stated reason is 400 (got $st)" [ "$st" = 400 -a "$(field "['error']['field']")" = X-Signpost-Reason ]
st=$(req GET /v1/admin/update_requests -H "Authorization: Bearer $stok" -H "X-Signpost-Reason: ticket 1234 diagnosis")
check "support may not read update requests: 403 (got $st)" [ "$st" = 403 ]
# Provider reads with a (fake) intake answering: each referral it says it
# returned (X-Signpost-Audit-Records) is audited on audit.access before
# the answer leaves
# (the fake writes down each request it gets, so what the gateway
# forwarded and what it refused itself can be told apart)
FLOG=$SIGNPOST_TEST_TMP/gateway_api.intake-requests
: >"$FLOG"
/usr/bin/python3 tests/lib/fake_intake.py "$(gw_intake_port)" "$FLOG" & FAKE=$!
trap 'kill $FAKE 2>/dev/null; stack_stop >/dev/null 2>&1' EXIT
# up: until the fake on port $1 answers (10 s)
up() { for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$1/" && return 0; sleep 0.1; done; return 1; }
check "a fake intake answers" up "$(gw_intake_port)"
: >"$FLOG"
a0=$(topic_count audit.access)
st=$(req GET /v1/referrals/01a20b30-286b-718a-b023-b4f988210c62 -H "Authorization: Bearer $ptok")
check "provider reads a referral through the gateway (got $st)" [ "$st" = 200 ]
check "the audit header does not leave the gateway" [ -z "$(hdr X-Signpost-Audit-Records)" ]
st=$(req GET /v1/referrals -H "Authorization: Bearer $ptok")
check "provider lists referrals through the gateway (got $st)" [ "$st" = 200 ]
a1=$(topic_count audit.access)
check "one audit.access event per referral read (1 + 2: $a0 -> $a1)" [ "$a1" -eq $((a0 + 3)) ]
UNNAMED=01a20b30-286b-718a-b023-b4f988210c64
st=$(req GET "/v1/referrals/$UNNAMED" -H "Authorization: Bearer $ptok")
check "an answer that does not say which referrals it returned is not shown (got $st)" [ "$st" = 503 ]
check "nothing of it reaches the caller" bash -c "! grep -qF '$UNNAMED' '$B'"
check "and the refusal is logged" grep -q "upstream answer not auditable" "$SIGNPOST_TEST_TMP/gateway.log"
audited() { "$SIGNPOST_TEST_BUILD/bin/topic-dump" "$SIGNPOST_TEST_KAFKA" audit.access | grep -F "\"key\":\"$pid\"" | grep -F '"role\":\"provider' | grep -qF "$GW_ORG"; }
check "the audit event names who (token id), role and organisation" audited
# forwarded (what intake got), against refused by the gateway (nothing)
# got_request ROLE REASON: the fake's newest request is the referral list,
# signed for ROLE with REASON ("" none)
got_request() { tail -1 "$FLOG" | /usr/bin/python3 -c 'import json,sys
r = json.loads(sys.stdin.read()); p = r["principal"] or {}
sys.exit(not (r["method"] == "GET" and r["path"] == "/v1/referrals" and
              p.get("role") == sys.argv[1] and p.get("reason", "") == sys.argv[2]))' "$1" "$2"; }
n0=$(wc -l <"$FLOG")
st=$(req GET /v1/referrals -H "Authorization: Bearer $stok")
n1=$(wc -l <"$FLOG")
check "support without a reason is refused by the gateway: 400, intake gets nothing (got $st, $n0 -> $n1 requests)" \
  [ "$st" = 400 -a "$n1" -eq "$n0" ]
st=$(req GET /v1/referrals -H "Authorization: Bearer $stok" -H "X-Signpost-Reason: ticket 1234 diagnosis")
n2=$(wc -l <"$FLOG")
check "support with a reason is forwarded: intake gets one request (got $st, $n1 -> $n2 requests)" \
  [ "$st" = 200 -a "$n2" -eq $((n1 + 1)) ]
check "what intake got is the list, signed for support with the stated reason" \
  got_request support "ticket 1234 diagnosis"
reasoned() { "$SIGNPOST_TEST_BUILD/bin/topic-dump" "$SIGNPOST_TEST_KAFKA" audit.access | grep support_diagnosis | grep -q sealed; }
check "the support read is audited as support_diagnosis with its reason sealed to reporting" reasoned
unsealed() { ! "$SIGNPOST_TEST_BUILD/bin/topic-dump" "$SIGNPOST_TEST_KAFKA" audit.access | grep -qF 'ticket 1234 diagnosis'; }
check "the reason itself is not on audit.access in the clear" unsealed
# a refused attempt leaves a trace too: another organisation's (or no)
# referral, and a role that may not read at all
# the audit events themselves (topic-dump prints each value as a JSON string)
audit_values() { "$SIGNPOST_TEST_BUILD/bin/topic-dump" "$SIGNPOST_TEST_KAFKA" audit.access | /usr/bin/python3 -c 'import json,sys
for l in sys.stdin: print(json.loads(l)["value"])'; }
PROBE=01a20b30-286b-718a-b023-b4f98821dead
st=$(req GET "/v1/referrals/$PROBE" -H "Authorization: Bearer $ptok")
check "a provider probing an id not routed to it gets 404 (got $st)" [ "$st" = 404 ]
probed() { audit_values | grep -F "$PROBE" | grep -F '"outcome":"refused"' | grep -F '"status":404' | grep -qF "\"sub\":\"$pid\""; }
check "the 404 is on audit.access as a refused attempt by that token" probed
st=$(req GET "/v1/referrals/$PROBE")
check "the same read without a token is 401 (got $st)" [ "$st" = 401 ]
anon() { audit_values | grep -F "$PROBE" | grep -F '"status":401' | grep -qF '"role":"public"'; }
check "and recorded as refused (401, public)" anon
# an admin reading a person's consent state is audited like a referral read
/usr/bin/python3 tests/lib/fake_intake.py "$(daemon_port consent)" & FAKEC=$!
check "a fake consent answers" up "$(daemon_port consent)"
SUBJ=0193a000-0000-7000-8000-00000000c0de
st=$(req GET "/v1/consents/$SUBJ" -H "Authorization: Bearer $atok")
check "admin reads a consent state through the gateway (got $st)" [ "$st" = 200 ]
consent_read() { audit_values | grep -F '"what":"consent_state"' | grep -F '"outcome":"read"' | grep -qF '"sealed"'; }
check "the consent read is on audit.access, its subject sealed" consent_read
no_subject() { ! "$SIGNPOST_TEST_BUILD/bin/topic-dump" "$SIGNPOST_TEST_KAFKA" audit.access | grep -qF "$SUBJ"; }
check "the subject's id is not on audit.access in the clear" no_subject
kill $FAKEC 2>/dev/null
kill $FAKE 2>/dev/null
admin token revoke "$pid" >/dev/null 2>&1
st=$(req GET /v1/referrals -H "Authorization: Bearer $ptok")
check "a revoked token is 401 (got $st)" [ "$st" = 401 ]
listed_revoked() { admin token list | grep "$pid" | grep -q revoked; }
check "signpost-admin lists the revoked token" listed_revoked
etok=$(admin token issue --role admin --expires 1s 2>/dev/null | awk '/^token:/ {print $2}')
sleep 2
st=$(req GET /v1/admin/update_requests -H "Authorization: Bearer $etok")
check "an expired token is 401 (got $st)" [ "$st" = 401 ]

check "gateway stops cleanly" stack_stop
check "no personal data in the gateway log" bash -c "! grep -qE 'Canarywhistle|zelda@example|07700' '$SIGNPOST_TEST_TMP/gateway.log'"

# Rate limits and HSTS: a gateway with a small per-address bucket
GW_RATE_IP=1 GW_BURST_IP=3 GW_TLS=true
mapfile -t ENV < <(gw_env)
stack_start directory >/dev/null
check "gateway restarts with tight limits" stack_start gateway "${ENV[@]}"
codes=""
for _ in 1 2 3 4 5 6; do codes="$codes $(req GET /privacy)"; done
check "per-address limit answers 429 after the burst ($codes)" bash -c "[[ '$codes' == *429* ]]"
check "429 carries Retry-After" [ -n "$(hdr Retry-After)" ]
sleep 2
req GET /privacy >/dev/null
check "HSTS behind TLS" bash -c "grep -qi '^Strict-Transport-Security: max-age' '$H'"
check "stops cleanly" stack_stop
