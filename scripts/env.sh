# Shared settings for scripts/run.sh and the benchmarks: where the embedded
# stack keeps its state, and the fixed internal port of each daemon.
RUN_DIR=${SIGNPOST_RUN_DIR:-$PWD/.run}
# below the kernel's ephemeral range (32768-60999 here): a client socket that
# happened to take the port would keep PostgreSQL from binding it for a
# minute after it closed (its TIME_WAIT)
PG_PORT=${SIGNPOST_PG_PORT:-25432}
# the broker: Apache Kafka (scripts/kafka.sh) unless SIGNPOST_BROKER=mock
# (tools/kafka-mock: no Java, but no ACLs and nothing kept); Kafka's
# controller listens on the port after this one
BROKER=${SIGNPOST_BROKER:-kafka}
KAFKA_PORT=${SIGNPOST_KAFKA_PORT:-29092}
DAEMONS="directory intake consent notification retention reporting gateway"
# SIGNPOST_PORT_OFFSET moves every port (tests use +1000 so they never
# collide with a `make run` on the same machine).
daemon_port() {
  local off=${SIGNPOST_PORT_OFFSET:-0} p
  case $1 in
    gateway) p=${SIGNPOST_GATEWAY_PORT:-8080} ;;
    intake) p=8091 ;; directory) p=8092 ;; consent) p=8093 ;;
    notification) p=8094 ;; retention) p=8095 ;; reporting) p=8096 ;;
  esac
  echo $((p + off))
}
# daemon_env NAME SECRETS BOOTSTRAP: the environment a daemon starts with.
daemon_env() {
  local d=$1 secrets=$2 boot=$3 up
  up=$(echo "$d" | tr a-z A-Z)
  echo "SIGNPOST_DB=$(scripts/pg.sh conninfo x "$PG_PORT" "$secrets" "$d")"
  # the schema's owner applies the migrations and grants the daemon's role
  # its rights; the daemon's own connections are made as that role
  echo "SIGNPOST_DB_MIGRATE=$(scripts/pg.sh conninfo x "$PG_PORT" "$secrets" "$d" owner)"
  echo "SIGNPOST_KAFKA=$boot"
  if [ "$BROKER" = kafka ]; then
    # the daemon's own broker user: its TLS client certificate
    echo "SIGNPOST_KAFKA_TLS_DIR=$secrets/kafka/$d"
  else
    # kafka-mock answers an empty fetch only when its wait runs out (Apache
    # Kafka answers as soon as data arrives): keep that wait short here (a
    # message arriving meanwhile waits it out at each hop; an idle consumer
    # asks 1000/N times a second)
    echo "SIGNPOST_KAFKA_FETCH_WAIT_MS=10"
  fi
  echo "SIGNPOST_${up}_LISTEN=127.0.0.1:$(daemon_port "$d")"
  echo "SIGNPOST_PRINCIPAL_KEY_FILE=$secrets/principal.key"
  echo "SIGNPOST_SECRETS_DIR=$secrets"
  echo "SIGNPOST_MIGRATIONS_DIR=services/$d/migrations"
  # the embedded stack has no mail server: its notifications go to the
  # spool, a development-only channel ("auto" never picks it)
  if [ "$d" = notification ]; then
    echo "SIGNPOST_NOTIFY_CHANNEL=${SIGNPOST_NOTIFY_CHANNEL:-spool}"
    echo "SIGNPOST_NOTIFY_SPOOL_DIR=${SIGNPOST_NOTIFY_SPOOL_DIR:-$RUN_DIR/notification-spool}"
  fi
  if [ "$d" = gateway ]; then # where the gateway forwards queries
    for up in intake directory consent; do
      echo "SIGNPOST_$(echo "$up" | tr a-z A-Z)_URL=http://127.0.0.1:$(daemon_port "$up")"
    done
  fi
}
