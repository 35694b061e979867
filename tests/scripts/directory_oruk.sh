#!/usr/bin/env bash
# End to end: the directory daemon as the gateway and partners see it.
# Loads the shared ORUK examples plus 200 synthetic services through
# directory.commands, then validates every ORUK endpoint's responses
# against the Open Referral UK schemas (tests/oruk/validate.py), and checks
# a clean stop.
cd "$(dirname "$0")/../.."
. tests/lib/tap.sh
. tests/lib/stack.sh
psql_su() { psql "$SIGNPOST_TEST_PG dbname=signpost" -X -q -tA -c "$1"; }

check "directory starts and is ready" stack_start directory
{ tools/directory-demo/examples.py; tools/directory-demo/gen.py -n 200 --seed 7; } > "$SIGNPOST_TEST_TMP/dir.ndjson"
# scripts/demo.sh passes its partner key as --partner-key=KEY: a base64url
# key may start with '-', which argparse refuses as a separate argument
check "the demo generator takes a partner key starting with '-'" bash -c \
  "tools/directory-demo/gen.py -n 1 --seed 7 --partner-key=-Ht9LBFxSKuceruhi0DHp-S-eYyAQ9Dv8WGqv3RaPUc | grep -q -- '-Ht9LBFxSKuceruhi0DHp-S-eYyAQ9Dv8WGqv3RaPUc'"
check "demo commands acknowledged by Kafka" \
  "$SIGNPOST_TEST_BUILD/bin/directory-load" "$SIGNPOST_TEST_KAFKA" "$SIGNPOST_TEST_TMP/dir.ndjson"
n=0
for _ in $(seq 600); do
  n=$(psql_su "SELECT count(*) FROM directory.services" 2>/dev/null || echo 0)
  [ "${n:-0}" -ge 201 ] && break; sleep 0.2
done
check "201 services applied from the commands (saw $n)" [ "${n:-0}" -ge 201 ]
check "outbox drained to the catalogue topics" \
  bash -c "for _ in \$(seq 100); do [ \"\$(psql \"$SIGNPOST_TEST_PG dbname=signpost\" -X -tAc 'SELECT count(*) FROM directory.outbox')\" = 0 ] && exit 0; sleep 0.2; done; exit 1"
/usr/bin/python3 tests/oruk/validate.py --url "$(stack_url directory)" \
  --key-file "$SIGNPOST_TEST_SECRETS/principal.key" | sed -E "s/^(not )?ok [0-9]+ - /\1ok 0 - oruk: /" > "$SIGNPOST_TEST_TMP/oruk.tap"
while IFS= read -r line; do
  case "$line" in
    "ok 0 - "*) ok "${line#ok 0 - }" ;;
    "not ok 0 - "*) not_ok "${line#not ok 0 - }" ;;
    1..*) ;;
    *) echo "$line" ;;
  esac
done < "$SIGNPOST_TEST_TMP/oruk.tap"
check "directory stops cleanly on SIGTERM (exit 0)" stack_stop
