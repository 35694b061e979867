#!/usr/bin/env bash
# kafka-broker.sh: docker-compose.yml's kafka service, in the apache/kafka
# image (run as its user, appuser). The same broker scripts/kafka.sh start
# runs for the embedded stack: one KRaft node (combined controller and
# broker), mutual TLS for every client (PEM key and trust stores, the CN of
# the client's certificate is its user name), StandardAuthorizer with
# nothing allowed that no ACL allows. tests/lib/deploy_check.py fails if the
# security settings below differ from scripts/kafka.sh's.
#
# The image's own start script is not used: it takes settings from KAFKA_*
# variables and, for SSL, insists on JKS-style password files. This writes
# server.properties itself, formats the data directory once (CLUSTER_ID),
# and runs the broker.
#
#   SIGNPOST_KAFKA_TLS_DIR  the broker's certificate: user.crt (CN=broker,
#                           subjectAltName DNS:kafka), user.key (PKCS#8),
#                           ca.crt (the platform's Kafka CA, which every
#                           client certificate must be signed by);
#                           deploy/compose/secrets.sh makes them
#   SIGNPOST_KAFKA_HOST     the name clients reach it by [kafka]
#   CLUSTER_ID              the KRaft cluster id, used once to format
#
# The controller listener is plaintext on the container's loopback, used by
# the node itself only. Writes /tmp/signpost-kafka/client.properties, the
# broker's own client settings, for the healthcheck.
set -euo pipefail
tls=${SIGNPOST_KAFKA_TLS_DIR:-/run/secrets/kafka}
host=${SIGNPOST_KAFKA_HOST:-kafka}
data=${KAFKA_LOG_DIRS:-/var/lib/kafka/data}
bin=${KAFKA_BIN:-/opt/kafka/bin}
conf=/tmp/signpost-kafka
port=9092 cport=9093
umask 077
mkdir -p "$conf"
for f in user.crt user.key ca.crt; do
  [ -r "$tls/$f" ] || { echo "kafka-broker: $tls/$f is missing or unreadable (deploy/compose/secrets.sh)" >&2; exit 1; }
done
# the broker's key store: its key (PKCS#8) and certificate in one file
cat "$tls/user.key" "$tls/user.crt" > "$conf/broker.pem"
cat > "$conf/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=SSL://0.0.0.0:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=SSL://$host:$port
listener.security.protocol.map=SSL:SSL,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SSL
ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location=$conf/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.crt
ssl.principal.mapping.rules=RULE:^CN=([a-zA-Z0-9._-]+)\$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:broker;User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
log.dirs=$data
num.partitions=8
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
# a partner's topic is made as intake first routes to it, and only a user
# with Create on it may do that (intake, on partner.*: proto/broker.json)
auto.create.topics.enable=true
log.retention.hours=168
group.initial.rebalance.delay.ms=0
CONF
cat > "$conf/client.properties" <<CONF
security.protocol=SSL
ssl.keystore.type=PEM
ssl.keystore.location=$conf/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$tls/ca.crt
CONF
if [ ! -f "$data/meta.properties" ]; then
  : "${CLUSTER_ID:?kafka-broker: CLUSTER_ID is needed to format $data}"
  "$bin/kafka-storage.sh" format -t "$CLUSTER_ID" -c "$conf/server.properties"
fi
exec "$bin/kafka-server-start.sh" "$conf/server.properties"
