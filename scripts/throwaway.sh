# Sourced by tests/run.sh and bench/run.sh: a throwaway PostgreSQL and
# kafka-mock broker in a temp dir, removed on exit. Exports the
# SIGNPOST_TEST_* variables tests/support/testenv.h documents.
# throwaway_kafka then adds a throwaway Apache Kafka and points the
# SIGNPOST_TEST_KAFKA the daemons and tools use at it.
# Needs: BUILD (the build dir with bin/kafka-mock).

throwaway_stop() {
  if [ -n "${THROWAWAY_DIR:-}" ] && [ -f "$THROWAWAY_DIR/kafka/kafka.pid" ]; then
    scripts/kafka.sh stop "$THROWAWAY_DIR/kafka" >/dev/null 2>&1
  fi
  if [ -n "${THROWAWAY_KPID:-}" ]; then
    kill "$THROWAWAY_KPID" 2>/dev/null; wait "$THROWAWAY_KPID" 2>/dev/null
  fi
  [ -n "${THROWAWAY_DIR:-}" ] || return 0
  scripts/pg.sh stop "$THROWAWAY_DIR/pg" >/dev/null 2>&1
  rm -rf "$THROWAWAY_DIR" 2>/dev/null
}

throwaway_start() {
  THROWAWAY_DIR=$(mktemp -d /tmp/signpost-test.XXXXXX)
  chmod 755 "$THROWAWAY_DIR"
  trap throwaway_stop EXIT
  trap 'throwaway_stop; trap - EXIT; exit 143' TERM
  trap 'throwaway_stop; trap - EXIT; exit 130' INT
  # below the ephemeral range, as scripts/env.sh explains
  local port=$(( 26000 + RANDOM % 4000 ))
  # daemons started by tests listen on their usual port + this offset, so
  # concurrent runs (and a `make run`) on one machine do not collide
  export SIGNPOST_PORT_OFFSET=$(( 1000 + (RANDOM % 50) * 100 ))
  echo "== starting throwaway PostgreSQL on 127.0.0.1:$port"
  scripts/pg.sh start "$THROWAWAY_DIR/pg" "$port" || return 1
  scripts/pg.sh bootstrap "$THROWAWAY_DIR/pg" "$port" "$THROWAWAY_DIR/secrets" >/dev/null || return 1
  export SIGNPOST_TEST_PG="host=127.0.0.1 port=$port user=postgres password=$(cat "$THROWAWAY_DIR/pg/admin.password")"
  export SIGNPOST_TEST_PGPORT=$port SIGNPOST_TEST_PGDIR=$THROWAWAY_DIR/pg
  export SIGNPOST_TEST_SECRETS=$THROWAWAY_DIR/secrets
  [ -x "$BUILD/bin/signpost-keygen" ] && scripts/secrets.sh "$THROWAWAY_DIR/secrets" "$BUILD/bin"
  export SIGNPOST_TEST_TMP=$THROWAWAY_DIR SIGNPOST_TEST_BUILD=$BUILD
  # the daemons tests start talk to this kafka-mock (scripts/env.sh);
  # tests/scripts/kafka_broker.sh starts an Apache Kafka of its own
  export SIGNPOST_BROKER=mock
  if [ -x "$BUILD/bin/kafka-mock" ]; then
    "$BUILD/bin/kafka-mock" -t proto/topics -o "$THROWAWAY_DIR/kafka.bootstrap" \
      >"$THROWAWAY_DIR/kafka-mock.log" 2>&1 &
    THROWAWAY_KPID=$!
    for _ in $(seq 100); do [ -s "$THROWAWAY_DIR/kafka.bootstrap" ] && break; sleep 0.1; done
    SIGNPOST_TEST_KAFKA=$(cat "$THROWAWAY_DIR/kafka.bootstrap" 2>/dev/null)
    export SIGNPOST_TEST_KAFKA
    echo "== kafka-mock at $SIGNPOST_TEST_KAFKA"
  fi
}

# throwaway_kafka: one Apache Kafka node (scripts/kafka.sh) in the temp
# dir, with the throwaway secrets' CA and users. From then on the daemons
# tests start (tests/lib/stack.sh, scripts/env.sh) run on it as their own
# broker users, and tools run as the admin user. kafka-mock stays up for
# the in-process flow tests that already have its address.
throwaway_kafka() {
  local port=$(( 30000 + (RANDOM % 300) * 2 ))
  echo "== starting throwaway Apache Kafka on 127.0.0.1:$port"
  scripts/kafka.sh start "$THROWAWAY_DIR/kafka" "$port" "$SIGNPOST_TEST_SECRETS" "$BUILD/bin" || return 1
  export SIGNPOST_BROKER=kafka SIGNPOST_TEST_KAFKA=127.0.0.1:$port
  export SIGNPOST_TEST_KAFKA_DIR=$THROWAWAY_DIR/kafka
  export SIGNPOST_KAFKA_TLS_DIR=$SIGNPOST_TEST_SECRETS/kafka/admin
}
