# Sourced by the gateway's end-to-end tests: a small directory (one
# organisation, a category, an open, a closed and an inactive service, a
# postcode) loaded through directory.commands, and helpers to wait for the
# gateway's catalogue replica. Not a test itself (no TAP output).
GW_ORG=6f0c6c3e-2f7a-4d6b-9a57-0c1f0e7a0001
GW_TAX=6f0c6c3e-2f7a-4d6b-9a57-0c1f0e7a0002
GW_TERM=6f0c6c3e-2f7a-4d6b-9a57-0c1f0e7a0003
GW_SVC=6f0c6c3e-2f7a-4d6b-9a57-0c1f0e7a0010
GW_SVC_CLOSED=6f0c6c3e-2f7a-4d6b-9a57-0c1f0e7a0011
GW_SVC_INACTIVE=6f0c6c3e-2f7a-4d6b-9a57-0c1f0e7a0012

gw_fixture_load() {
  local f=$SIGNPOST_TEST_TMP/gw-fixture.ndjson t=signpost.directory.hsds_import.v1
  cat > "$f" <<JSON
{"type":"signpost.directory.postcodes_import.v1","key":"gw-fixture","data":{"csv":"postcode,latitude,longitude\nKT1 1EU,51.4085,-0.3064\n"}}
{"type":"$t","key":"gw-fixture","data":{"kind":"taxonomy","records":[{"id":"$GW_TAX","name":"Gateway test categories","description":"test","version":"1","taxonomy_terms":[{"id":"$GW_TERM","name":"Money advice","description":"Money advice","taxonomy":"Gateway test categories"}]}]}}
{"type":"$t","key":"gw-fixture","data":{"kind":"organization","records":[{"id":"$GW_ORG","name":"Kingston Advice Centre","description":"Advice for Kingston residents"}]}}
{"type":"$t","key":"gw-fixture","data":{"kind":"service","records":[{"id":"$GW_SVC","organization_id":"$GW_ORG","name":"Debt advice drop-in","description":"Free debt advice <b>for</b> everyone","status":"active","accepts_referrals":true,"attributes":[{"id":"6f0c6c3e-2f7a-4d6b-9a57-0c1f0e7a0020","taxonomy_term_id":"$GW_TERM"}]},{"id":"$GW_SVC_CLOSED","organization_id":"$GW_ORG","name":"Debt advice by letter","description":"Letters only","status":"active","accepts_referrals":false},{"id":"$GW_SVC_INACTIVE","organization_id":"$GW_ORG","name":"Old debt clinic","description":"Closed down","status":"inactive","accepts_referrals":true}]}}
JSON
  "$SIGNPOST_TEST_BUILD/bin/directory-load" "$SIGNPOST_TEST_KAFKA" "$f" >/dev/null 2>&1
}

# gw_catalogue_wait N: until the gateway's replica holds the N fixture
# services (60 s). Other tests share the broker, so the fixture's own ids
# are counted, not the table.
gw_catalogue_wait() {
  local n=0
  for _ in $(seq 300); do
    n=$(psql "$SIGNPOST_TEST_PG dbname=signpost" -X -tAc "SELECT count(*) FROM gateway.catalogue_services WHERE id IN ('$GW_SVC', '$GW_SVC_CLOSED', '$GW_SVC_INACTIVE')" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge "$1" ] && { sleep 0.5; return 0; }
    sleep 0.2
  done
  return 1
}

# gw_intake_port: where tests run a fake intake (tests/lib/fake_intake.py).
gw_intake_port() { echo $(( $(daemon_port gateway) + 50 )); }

# gw_env: the gateway's extra settings for tests.
gw_env() {
  echo "SIGNPOST_DIRECTORY_URL=$(stack_url directory)"
  echo "SIGNPOST_INTAKE_URL=http://127.0.0.1:$(gw_intake_port)"
  echo "SIGNPOST_GATEWAY_RATE_IP=${GW_RATE_IP:-1000}"
  echo "SIGNPOST_GATEWAY_BURST_IP=${GW_BURST_IP:-1000}"
  echo "SIGNPOST_GATEWAY_RATE_FORM=${GW_RATE_FORM:-100}"
  echo "SIGNPOST_GATEWAY_BURST_FORM=${GW_BURST_FORM:-100}"
  echo "SIGNPOST_GATEWAY_TLS=${GW_TLS:-false}"
}

# topic_count TOPIC: records in the topic now.
topic_count() {
  "$SIGNPOST_TEST_BUILD/bin/topic-dump" "$SIGNPOST_TEST_KAFKA" "$1" 2>/dev/null | wc -l
}

# admin ARGS...: signpost-admin against the test database.
admin() {
  SIGNPOST_DB="$(scripts/pg.sh conninfo x "$SIGNPOST_TEST_PGPORT" "$SIGNPOST_TEST_SECRETS" gateway)" \
  SIGNPOST_SECRETS_DIR="$SIGNPOST_TEST_SECRETS" "$SIGNPOST_TEST_BUILD/bin/signpost-admin" "$@"
}
