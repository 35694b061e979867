#!/usr/bin/env bash
# scripts/demo.sh RUN_DIR [N]: loads the demo directory (N synthetic
# services, default 1000, plus the shared Open Referral UK examples) into a
# running stack through directory.commands, once per PostgreSQL cluster.
set -euo pipefail
run=$1 n=${2:-1000}
BIN=${SIGNPOST_BIN:-build/bin}
[ -x "$BIN/directory-load" ] || exit 0
. scripts/env.sh # PG_PORT, BROKER
# an operator's tool: on Apache Kafka it connects as the admin user
[ "$BROKER" = kafka ] && export SIGNPOST_KAFKA_TLS_DIR=$run/secrets/kafka/admin
if [ -f "$run/pg/demo-loaded" ] && [ "$BROKER" = kafka ] && [ -f "$run/kafka/demo-seen" ]; then
  echo "demo data: already loaded (the broker kept its topics)"
  exit 0
fi
if [ -f "$run/pg/demo-loaded" ]; then
  # The database kept the directory but the broker is new (kafka-mock
  # always starts empty): ask the directory to publish its catalogue
  # again, so replicas (gateway, intake, notification) fill.
  echo '{"type":"signpost.directory.catalogue_republish.v1","key":"catalogue","data":{"reason":"make run on a new broker"}}' |
    "$BIN/directory-load" "$(cat "$run/kafka.bootstrap")" - >/dev/null
  echo "demo data: already loaded; catalogue republished to the new broker"
  [ "$BROKER" = kafka ] && touch "$run/kafka/demo-seen"
  exit 0
fi
# One demo partner keypair for every demo organisation, so referrals are
# routed sealed and can be read with signpost-partner (README).
[ -s "$run/secrets/demo-partner.sk" ] || "$BIN/signpost-keygen" box "$run/secrets/demo-partner" >/dev/null
{ tools/directory-demo/examples.py
  tools/directory-demo/gen.py -n "$n" --partner-key="$(cat "$run/secrets/demo-partner.pk")"; } > "$run/demo.ndjson"
"$BIN/directory-load" "$(cat "$run/kafka.bootstrap")" "$run/demo.ndjson" >/dev/null
touch "$run/pg/demo-loaded"
[ "$BROKER" = kafka ] && touch "$run/kafka/demo-seen"
echo "demo data: $n services and the Open Referral UK examples sent to directory.commands"
# The directory applies them on its own; wait (up to two minutes) until it
# has, so the first search after `make run` finds them.
for _ in $(seq 240); do
  have=$(scripts/pg.sh psql "$run/pg" "$PG_PORT" -d signpost -tAc \
    "SELECT count(*) FROM directory.services" 2>/dev/null || echo 0)
  [ "${have:-0}" -ge "$n" ] && { echo "demo data: applied ($have services)"; exit 0; }
  sleep 0.5
done
echo "demo data: the directory is still applying it (see $run/logs/directory.log)"
