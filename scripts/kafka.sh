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
#   scripts/kafka.sh client-props SECRETS USER DIR
#        a Java client's properties for broker user USER in DIR (Kafka's
#        own tools' --command-config); prints their path
#
# A cluster, for tests that lose a broker (tests/scripts/kafka_cluster.sh):
#   scripts/kafka.sh cluster-start DIR BASEPORT N SECRETS [BIN]
#        N nodes, each a combined controller and broker (a static N-voter
#        quorum), in DIR/node1..N, node I on port BASEPORT+2(I-1) and its
#        controller on the next; heap SIGNPOST_KAFKA_HEAP (384m) each. The
#        same users, TLS and ACLs as start; topics (and a partner's, made
#        on demand) with replication min(N,3) and min.insync.replicas 2
#        (1 below three nodes). Writes DIR/bootstrap (every node).
#   scripts/kafka.sh cluster-stop DIR
#   scripts/kafka.sh cluster-kill DIR I       SIGKILL node I
#   scripts/kafka.sh cluster-restart DIR I    start node I again, wait for it
#   scripts/kafka.sh cluster-tool DIR CLASS ARGS...
#        one of Kafka's Java tools (org.apache.kafka.tools.TopicCommand,
#        ...MetadataQuorumCommand) against the cluster as the admin user
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

# tls_props DIR SECRETS: a node's TLS, principal and ACL settings (its
# key store DIR/broker.pem, the platform's CA).
tls_props() {
  local dir=$1 secrets=$2
  cat <<CONF
ssl.client.auth=required
ssl.keystore.type=PEM
ssl.keystore.location=$dir/broker.pem
ssl.truststore.type=PEM
ssl.truststore.location=$secrets/kafka/ca.crt
ssl.principal.mapping.rules=RULE:^CN=([a-zA-Z0-9._-]+)\$/\$1/,DEFAULT
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:broker;User:admin;User:ANONYMOUS
allow.everyone.if.no.acl.found=false
CONF
}

# node_props KEYDIR DATADIR NODE VOTERS PORT SECRETS RF ISR: what every
# node's server.properties holds, the single node's (a cluster of one) and
# each of a cluster's: node NODE of the quorum VOTERS, SSL on PORT and its
# controller on the next, TLS as tls_props KEYDIR, its log in DATADIR,
# internal topics replicated RF with min.insync.replicas ISR.
node_props() {
  local keydir=$1 data=$2 node=$3 voters=$4 port=$5 secrets=$6 rf=$7 isr=$8
  cat <<CONF
process.roles=broker,controller
node.id=$node
controller.quorum.voters=$voters
listeners=SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$(( port + 1 ))
advertised.listeners=SSL://127.0.0.1:$port
listener.security.protocol.map=SSL:SSL,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=SSL
$(tls_props "$keydir" "$secrets")
log.dirs=$data
num.partitions=8
default.replication.factor=$rf
min.insync.replicas=$isr
offsets.topic.replication.factor=$rf
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$isr
# a partner's topic is made as intake first routes to it, and only a user
# with Create on it may do that (intake, on partner.*: proto/broker.json)
auto.create.topics.enable=true
log.retention.hours=168
group.initial.rebalance.delay.ms=0
CONF
}

# cmd_client_props SECRETS USER DIR: a Java client's properties for broker
# user USER (Kafka's own tools: --command-config), its PEM key store (key
# and certificate in one file, as broker.pem) beside them in DIR (0700);
# prints the properties file's path.
cmd_client_props() {
  local secrets=$1 user=$2 dir=$3
  mkdir -p "$dir"; chmod 700 "$dir"
  (umask 077
   cat "$secrets/kafka/$user/user.key" "$secrets/kafka/$user/user.crt" > "$dir/$user.pem"
   printf '%s\n' security.protocol=SSL ssl.keystore.type=PEM "ssl.keystore.location=$dir/$user.pem" \
     ssl.truststore.type=PEM "ssl.truststore.location=$secrets/kafka/ca.crt" > "$dir/$user.properties")
  echo "$dir/$user.properties"
}

# log4j_props DIR: the node's log4j2 settings, logs in DIR/logs.
log4j_props() {
  local dir=$1
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
}

# keys DIR SECRETS: every broker user's certificate, and the brokers' key
# store DIR/broker.pem: the broker's key (PKCS#8) and certificate in one file
keys() {
  local dir=$1 secrets=$2 u
  for u in broker admin $(python3 -c 'import json;print(" ".join(json.load(open("proto/broker.json"))["principals"]))'); do
    cmd_user "$secrets" "$u"
  done
  (umask 077; cat "$secrets/kafka/broker/user.key" "$secrets/kafka/broker/user.crt" > "$dir/broker.pem")
}

# java_args DIR HEAP: JAVA, the command a node in DIR runs with
java_args() {
  JAVA=(java -Xms128m "-Xmx$2" -XX:+UseG1GC -Djava.awt.headless=true
        -Dlog4j2.configurationFile="$1/log4j2.properties" -cp "$(java_cp)")
}

running() { [ -f "$1/kafka.pid" ] && kill -0 "$(cat "$1/kafka.pid")" 2>/dev/null; }

cmd_start() {
  local dir=$1 port=$2 secrets=$3 bin=${4:-build/bin} cport=$(( $2 + 1 )) u
  cmd_fetch
  mkdir -p "$dir/logs"
  keys "$dir" "$secrets"
  cat > "$dir/server.properties" <<CONF
$(node_props "$dir" "$dir/data" 1 "1@127.0.0.1:$cport" "$port" "$secrets" 1 1)
CONF
  log4j_props "$dir"
  java_args "$dir" 512m
  if [ ! -f "$dir/data/meta.properties" ]; then
    "${JAVA[@]}" kafka.tools.StorageTool format -t "$("${JAVA[@]}" kafka.tools.StorageTool random-uuid)" \
      -c "$dir/server.properties" >"$dir/logs/format.log" 2>&1 ||
      { echo "kafka.sh: format failed; see $dir/logs/format.log" >&2; return 1; }
  fi
  echo "127.0.0.1:$port" > "$dir/bootstrap"
  if ! running "$dir"; then
    nohup "${JAVA[@]}" kafka.Kafka "$dir/server.properties" >"$dir/logs/stdout.log" 2>&1 &
    echo $! > "$dir/kafka.pid"
  fi
  SIGNPOST_KAFKA_TLS_DIR=$secrets/kafka/admin "$bin/kafka-admin" "127.0.0.1:$port" wait 60 ||
    { echo "kafka.sh: the broker did not answer in 60 s; see $dir/logs/kafka.log" >&2; return 1; }
  SIGNPOST_KAFKA_TLS_DIR=$secrets/kafka/admin "$bin/kafka-admin" "127.0.0.1:$port" setup proto \
    >"$dir/logs/setup.log" 2>&1 ||
    { echo "kafka.sh: topics and ACLs not set; see $dir/logs/setup.log" >&2; return 1; }
}

cmd_stop() { stop_pid "$1/kafka.pid" 30; }

# ---- a cluster of N nodes (tests/scripts/kafka_cluster.sh) ----
# Node I (1..N) lives in DIR/nodeI: its SSL port BASEPORT+2(I-1), its
# controller on the next. DIR/cluster.conf keeps what the other cluster
# subcommands need.

# cluster_conf DIR: C_BASE C_N C_SECRETS C_BIN C_HEAP from DIR/cluster.conf
cluster_conf() {
  [ -f "$1/cluster.conf" ] || { echo "kafka.sh: no cluster in $1" >&2; return 1; }
  . "$1/cluster.conf"
}
node_port() { echo $(( C_BASE + 2 * ($1 - 1) )); }
node_running() { [ -f "$1/node$2/kafka.pid" ] && kill -0 "$(cat "$1/node$2/kafka.pid")" 2>/dev/null; }

# node_start DIR I: starts node I (already formatted) unless it runs
node_start() {
  local nd=$1/node$2
  node_running "$1" "$2" && return 0
  java_args "$nd" "$C_HEAP"
  nohup "${JAVA[@]}" kafka.Kafka "$nd/server.properties" >>"$nd/logs/stdout.log" 2>&1 &
  echo $! > "$nd/kafka.pid"
}

cmd_cluster_start() {
  local dir=$1 base=$2 n=$3 secrets=$4 bin=${5:-build/bin} i nd port voters="" boot="" id
  local rf=$(( n < 3 ? n : 3 )) isr=$(( n < 3 ? 1 : 2 ))
  case "$n" in '' | *[!0-9]* | 0) echo "kafka.sh: cluster of $n nodes?" >&2; return 2 ;; esac
  cmd_fetch
  mkdir -p "$dir"
  keys "$dir" "$secrets"
  # the admin user for Kafka's own Java tools (cluster-tool)
  cmd_client_props "$secrets" admin "$dir" >/dev/null
  printf 'C_BASE=%q C_N=%q C_SECRETS=%q C_BIN=%q C_HEAP=%q\n' "$base" "$n" "$secrets" "$bin" \
    "${SIGNPOST_KAFKA_HEAP:-384m}" > "$dir/cluster.conf"
  cluster_conf "$dir"
  for i in $(seq "$n"); do
    voters+="${voters:+,}$i@127.0.0.1:$(( $(node_port "$i") + 1 ))"
    boot+="${boot:+,}127.0.0.1:$(node_port "$i")"
  done
  # a cluster id as StorageTool random-uuid makes it (one JVM fewer)
  [ -s "$dir/cluster.id" ] || python3 -c '
import base64, uuid
while True:
    u = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    if not u.startswith("-"):
        print(u); break' > "$dir/cluster.id"
  id=$(cat "$dir/cluster.id")
  for i in $(seq "$n"); do
    nd=$dir/node$i port=$(node_port "$i")
    mkdir -p "$nd/logs"
    cat > "$nd/server.properties" <<CONF
$(node_props "$dir" "$nd/data" "$i" "$voters" "$port" "$secrets" "$rf" "$isr")
unclean.leader.election.enable=false
# a lost node is fenced (and leaves every ISR) after this
broker.session.timeout.ms=6000
broker.heartbeat.interval.ms=1000
CONF
    log4j_props "$nd"
    if [ ! -f "$nd/data/meta.properties" ]; then
      java_args "$nd" 128m
      "${JAVA[@]}" kafka.tools.StorageTool format -t "$id" -c "$nd/server.properties" \
        >"$nd/logs/format.log" 2>&1 &
    fi
  done
  wait || true
  for i in $(seq "$n"); do
    [ -f "$dir/node$i/data/meta.properties" ] ||
      { echo "kafka.sh: format failed; see $dir/node$i/logs/format.log" >&2; return 1; }
  done
  echo "$boot" > "$dir/bootstrap"
  for i in $(seq "$n"); do node_start "$dir" "$i"; done
  SIGNPOST_KAFKA_TLS_DIR=$secrets/kafka/admin "$bin/kafka-admin" "$boot" wait 90 ||
    { echo "kafka.sh: the cluster did not answer in 90 s; see $dir/node*/logs/kafka.log" >&2; return 1; }
  # topics with rf replicas can be made once that many brokers registered
  for i in $(seq 45); do
    SIGNPOST_KAFKA_TLS_DIR=$secrets/kafka/admin SIGNPOST_KAFKA_REPLICAS=$rf SIGNPOST_KAFKA_MIN_ISR=$isr \
      "$bin/kafka-admin" "$boot" setup proto >"$dir/setup.log" 2>&1 && return 0
    sleep 2
  done
  echo "kafka.sh: topics and ACLs not set; see $dir/setup.log" >&2
  return 1
}

# cmd_cluster_stop DIR: SIGTERM every node at once (one at a time, the
# last ones would wait on a quorum gone), SIGKILL what is left after 30 s
cmd_cluster_stop() {
  local dir=$1 f pid
  for f in "$dir"/node*/kafka.pid; do
    [ -f "$f" ] && { kill -TERM "$(cat "$f")" 2>/dev/null || true; }
  done
  for f in "$dir"/node*/kafka.pid; do
    [ -f "$f" ] || continue
    pid=$(cat "$f")
    for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null &&
      { echo "$(basename "$(dirname "$f")") did not stop in 30 s; killing" >&2; kill -KILL "$pid" 2>/dev/null || true; }
    rm -f "$f"
  done
  return 0
}

# cmd_cluster_kill DIR I: SIGKILL node I (a crash: no controlled shutdown)
cmd_cluster_kill() {
  local f=$1/node$2/kafka.pid pid
  [ -f "$f" ] || { echo "kafka.sh: node $2 of $1 is not running" >&2; return 1; }
  pid=$(cat "$f")
  kill -KILL "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  rm -f "$f"
}

# cmd_cluster_restart DIR I: starts node I again, waits until it answers
cmd_cluster_restart() {
  cluster_conf "$1" || return 1
  node_start "$1" "$2"
  SIGNPOST_KAFKA_TLS_DIR=$C_SECRETS/kafka/admin "$C_BIN/kafka-admin" "127.0.0.1:$(node_port "$2")" wait 60 ||
    { echo "kafka.sh: node $2 did not answer in 60 s; see $1/node$2/logs/kafka.log" >&2; return 1; }
}

# cmd_cluster_tool DIR CLASS ARGS...: one of Kafka's Java tools against
# the cluster as the admin user (--bootstrap-server, --command-config)
cmd_cluster_tool() {
  local dir=$1 class=$2; shift 2
  cluster_conf "$dir" || return 1
  java -Xmx128m -XX:TieredStopAtLevel=1 -Dlog4j2.level=warn -cp "$(java_cp)" "$class" \
    --bootstrap-server "$(cat "$dir/bootstrap")" --command-config "$dir/admin.properties" "$@"
}

case "${1:-}" in
  fetch) cmd_fetch ;;
  start) cmd_start "$2" "$3" "$4" "${5:-build/bin}" ;;
  stop) cmd_stop "$2" ;;
  user) cmd_user "$2" "$3" ;;
  libs) echo "$(java_cp)" ;;
  client-props) cmd_client_props "$2" "$3" "$4" ;;
  cluster-start) cmd_cluster_start "$2" "$3" "$4" "$5" "${6:-build/bin}" ;;
  cluster-stop) cmd_cluster_stop "$2" ;;
  cluster-kill) cmd_cluster_kill "$2" "$3" ;;
  cluster-restart) cmd_cluster_restart "$2" "$3" ;;
  cluster-tool) shift; cmd_cluster_tool "$@" ;;
  *) echo "usage: $0 fetch|start DIR PORT SECRETS [BIN]|stop DIR|user SECRETS NAME|libs" >&2
     echo "       $0 cluster-start DIR BASEPORT N SECRETS [BIN]|cluster-stop DIR|cluster-kill DIR I" >&2
     echo "       $0 cluster-restart DIR I|cluster-tool DIR CLASS ARGS..." >&2; exit 2 ;;
esac
