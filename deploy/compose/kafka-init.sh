#!/usr/bin/env bash
# kafka-init.sh BOOTSTRAP PROTO_DIR: docker-compose.yml's one-shot kafka-init
# step, in the signpost image, as the broker's admin user (the certificate
# in SIGNPOST_KAFKA_TLS_DIR). What scripts/kafka.sh start does for the
# embedded broker, with the same tool: tools/kafka-admin creates every
# topic of PROTO_DIR/topics and its .dlq twin with the compaction and
# retention of PROTO_DIR/broker.json (a topic that exists has its settings
# set again), then the ACLs broker.json gives each daemon's user; then, for
# each organisation id in $SIGNPOST_PARTNER_ORGS, that partner's ACLs
# (user partner-<org>). Idempotent: it runs on every `up`.
set -euo pipefail
boot=$1 proto=$2
kafka-admin "$boot" wait 120
kafka-admin "$boot" setup "$proto"
for org in ${SIGNPOST_PARTNER_ORGS:-}; do
  kafka-admin "$boot" partner "$org"
done
echo "kafka-init: topics and ACLs of $proto/broker.json are on $boot"
