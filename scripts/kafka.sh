#!/usr/bin/env bash
# Apache Kafka for the embedded stack and the tests: one KRaft node
# (combined controller and broker) on loopback, mutual TLS for every
# client, ACLs from proto/broker.json.
#
#   scripts/kafka.sh fetch
#        the broker's jars (tools/kafka/pom.xml) from Maven Central, once,
#        into $SIGNPOST_CACHE (default ~/.cache/signpost), which make clean
#        leaves alone; Maven checks each file's checksum
#   scripts/kafka.sh start DIR PORT SECRETS [BIN]
#        formats DIR once (kept: topics, offsets and groups survive a
#        stop), starts the node (heap 512 MiB; logs in DIR/logs), waits
#        until it answers, then creates the topics and ACLs as the admin
#        user (BIN/kafka-admin setup proto). Writes DIR/bootstrap.
#   scripts/kafka.sh stop DIR
#   scripts/kafka.sh user SECRETS NAME
#        a client certificate for broker user NAME (CN=NAME, signed by the
#        platform's Kafka CA) in SECRETS/kafka/NAME/{user.crt,user.key,
#        ca.crt}, made once, 0600: what SIGNPOST_KAFKA_TLS_DIR names
#   scripts/kafka.sh libs
#        prints the class path of the fetched jars
#
# Why TLS client certificates rather than SASL/SCRAM: Debian 12's
# librdkafka (2.0.2) computes a SCRAM proof Kafka 4 rejects (fixed in
# librdkafka 2.6.1), and the Kubernetes manifests authenticate with
# Strimzi's TLS users already, so the embedded broker checks the same way.
# The controller listener is plaintext on loopback, used by the node
# itself only.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/proc.sh # stop_pid
KAFKA_VERSION=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' tools/kafka/pom.xml)
CACHE=${SIGNPOST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/signpost}
LIBS=$CACHE/kafka-$KAFKA_VERSION/libs

cmd_fetch() {
  [ -f "$LIBS/.complete" ] && return 0
  command -v mvn >/dev/null || { echo "kafka.sh: maven is missing (scripts/deps.sh installs it)" >&2; exit 1; }
  echo "kafka: fetching Apache Kafka $KAFKA_VERSION from Maven Central into $LIBS"
  rm -rf "$LIBS"; mkdir -p "$LIBS"
  mvn -q -B -f tools/kafka/pom.xml dependency:copy-dependencies \
    -DincludeScope=runtime -DoutputDirectory="$LIBS" >"$CACHE/kafka-fetch.log" 2>&1 ||
    { echo "kafka.sh: fetch failed; see $CACHE/kafka-fetch.log" >&2; exit 1; }
  touch "$LIBS/.complete"
}

java_cp() { echo "$LIBS/*"; }

# tls_ca SECRETS: the platform's Kafka CA (made once).
tls_ca() {
  local d=$1/kafka
  mkdir -p "$d"; chmod 700 "$d"
  [ -s "$d/ca.crt" ] && return 0
  (umask 077
   openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
     -keyout "$d/ca.key" -out "$d/ca.crt" -days 3650 -subj "/CN=signpost-kafka-ca" 2>/dev/null)
}

# cmd_user SECRETS NAME: a client (or the broker's) certificate.
cmd_user() {
  local s=$1 name=$2 d
  case "$name" in
    '' | *[!a-zA-Z0-9._-]*) echo "kafka.sh: user name $name: letters, digits, . _ - only" >&2; return 1 ;;
  esac
  tls_ca "$s"
  d=$s/kafka/$name
  [ -s "$d/user.crt" ] && return 0
  mkdir -p "$d"; chmod 700 "$d"
  (umask 077
   openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
     -keyout "$d/key.pem" -out "$d/user.csr" -subj "/CN=$name" 2>/dev/null
   printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > "$d/ext"
   openssl x509 -req -in "$d/user.csr" -CA "$s/kafka/ca.crt" -CAkey "$s/kafka/ca.key" \
     -CAcreateserial -out "$d/user.crt" -days 3650 -extfile "$d/ext" 2>/dev/null
   openssl pkcs8 -topk8 -nocrypt -in "$d/key.pem" -out "$d/user.key"
   cp "$s/kafka/ca.crt" "$d/ca.crt"
   rm -f "$d/key.pem" "$d/user.csr" "$d/ext")
}

running() { [ -f "$1/kafka.pid" ] && kill -0 "$(cat "$1/kafka.pid")" 2>/dev/null; }

cmd_start() {
  local dir=$1 port=$2 secrets=$3 bin=${4:-build/bin} cport=$(( $2 + 1 )) u
  cmd_fetch
  mkdir -p "$dir/logs"
  for u in broker admin $(python3 -c 'import json;print(" ".join(json.load(open("proto/broker.json"))["principals"]))'); do
    cmd_user "$secrets" "$u"
  done
  # the broker's key store: its key (PKCS#8) and certificate in one file
  (umask 077; cat "$secrets/kafka/broker/user.key" "$secrets/kafka/broker/user.crt" > "$dir/broker.pem")
  cat > "$dir/server.properties" <<CONF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=SSL://127.0.0.1:$port
listener.security.protocol.map=SSL:SSL,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SSL
ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location=$dir/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$secrets/kafka/ca.crt
ssl.principal.mapping.rules=RULE:^CN=([a-zA-Z0-9._-]+)\$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:broker;User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
log.dirs=$dir/data
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
  cat > "$dir/log4j2.properties" <<CONF
status = warn
appender.f.type = RollingFile
appender.f.name = f
appender.f.fileName = $dir/logs/kafka.log
appender.f.filePattern = $dir/logs/kafka.log.%i
appender.f.layout.type = PatternLayout
appender.f.layout.pattern = %d{ISO8601} %p %c{1}: %m%n
appender.f.policies.type = Policies
appender.f.policies.size.type = SizeBasedTriggeringPolicy
appender.f.policies.size.size = 20MB
appender.f.strategy.type = DefaultRolloverStrategy
appender.f.strategy.max = 3
rootLogger.level = info
rootLogger.appenderRef.f.ref = f
CONF
  local java=(java -Xms128m -Xmx512m -XX:+UseG1GC -Djava.awt.headless=true
              -Dlog4j2.configurationFile="$dir/log4j2.properties" -cp "$(java_cp)")
  if [ ! -f "$dir/data/meta.properties" ]; then
    "${java[@]}" kafka.tools.StorageTool format -t "$("${java[@]}" kafka.tools.StorageTool random-uuid)" \
      -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1 ||
      { echo "kafka.sh: format failed; see $dir/logs/format.log" >&2; return 1; }
  fi
  echo "127.0.0.1:$port" > "$dir/bootstrap"
  if ! running "$dir"; then
    nohup "${java[@]}" kafka.Kafka "$dir/server.properties" >"$dir/logs/stdout.log" 2>&1 &
    echo $! > "$dir/kafka.pid"
  fi
  SIGNPOST_KAFKA_TLS_DIR=$secrets/kafka/admin "$bin/kafka-admin" "127.0.0.1:$port" wait 60 ||
    { echo "kafka.sh: the broker did not answer in 60 s; see $dir/logs/kafka.log" >&2; return 1; }
  SIGNPOST_KAFKA_TLS_DIR=$secrets/kafka/admin "$bin/kafka-admin" "127.0.0.1:$port" setup proto \
    >"$dir/logs/setup.log" 2>&1 ||
    { echo "kafka.sh: topics and ACLs not set; see $dir/logs/setup.log" >&2; return 1; }
}

cmd_stop() { stop_pid "$1/kafka.pid" 30; }

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start "$2" "$3" "$4" "${5:-build/bin}" ;;
  stop) cmd_stop "$2" ;;
  user) cmd_user "$2" "$3" ;;
  libs) echo "$(java_cp)" ;;
  *) echo "usage: $0 fetch|start DIR PORT SECRETS [BIN]|stop DIR|user SECRETS NAME|libs" >&2; exit 2 ;;
esac
