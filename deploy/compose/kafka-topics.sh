#!/usr/bin/env bash
# kafka-topics.sh TOPICS_FILE BOOTSTRAP: creates (if missing) every topic
# listed in TOPICS_FILE (proto/topics: "name [partitions]", default 8) and
# its "<name>.dlq" twin, plus partner.<org>.referrals (+ .dlq) for each
# organisation id in $SIGNPOST_PARTNER_ORGS. Run by docker-compose.yml's
# kafka-init service inside the apache/kafka image; the broker has topic
# auto-creation off, so this is the only place topics come from.
set -euo pipefail
file=$1 boot=$2
bin=${KAFKA_BIN:-/opt/kafka/bin}
rf=${SIGNPOST_KAFKA_REPLICATION:-1}

create() {
  local cfg=()
  # keyed snapshots (deploy/gen.py COMPACTED): a new replica reads them whole
  case "$1" in
    directory.services | directory.organisations | consent.state) cfg=(--config cleanup.policy=compact) ;;
    *.dlq) cfg=(--config retention.ms=2592000000) ;;
  esac
  "$bin/kafka-topics.sh" --bootstrap-server "$boot" --create --if-not-exists \
    --topic "$1" --partitions "$2" --replication-factor "$rf" "${cfg[@]}"
}

n=0
while read -r name parts _; do
  case "$name" in '' | '#'*) continue ;; esac
  parts=${parts:-8}
  create "$name" "$parts"
  create "$name.dlq" "$parts"
  n=$((n + 2))
done < "$file"
for org in ${SIGNPOST_PARTNER_ORGS:-}; do
  case "$org" in
    *[!0-9a-f-]*) echo "kafka-topics: not an organisation id: $org" >&2; exit 2 ;;
  esac
  create "partner.$org.referrals" 8
  create "partner.$org.referrals.dlq" 8
  n=$((n + 2))
done
echo "kafka-topics: $n topics present"
