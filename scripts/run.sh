#!/usr/bin/env bash
# The embedded default: `make run` -> scripts/run.sh start; `make stop` ->
# scripts/run.sh stop. Everything lives under .run/: pg/ (kept across
# runs), secrets/ (generated once, 0600), logs/, pids/.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
. scripts/proc.sh # stop_pid
BIN=${SIGNPOST_BIN:-build/bin}

secrets() { scripts/secrets.sh "$RUN_DIR/secrets" "$BIN"; }

running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

start_broker() {
  if [ "$BROKER" = kafka ]; then
    scripts/kafka.sh start "$RUN_DIR/kafka" "$KAFKA_PORT" "$RUN_DIR/secrets" "$BIN"
    cp "$RUN_DIR/kafka/bootstrap" "$RUN_DIR/kafka.bootstrap"
    return 0
  fi
  local pid=$RUN_DIR/pids/kafka-mock.pid
  running "$pid" && return 0
  rm -f "$RUN_DIR/kafka.bootstrap"
  nohup "$BIN/kafka-mock" -t proto/topics -o "$RUN_DIR/kafka.bootstrap" \
    >"$RUN_DIR/logs/kafka-mock.log" 2>&1 &
  echo $! > "$pid"
  for _ in $(seq 100); do [ -s "$RUN_DIR/kafka.bootstrap" ] && return 0; sleep 0.1; done
  echo "kafka-mock did not start; see $RUN_DIR/logs/kafka-mock.log" >&2; exit 1
}

start_daemon() {
  local d=$1 pid=$RUN_DIR/pids/$1.pid
  running "$pid" && return 0
  (
    while IFS= read -r kv; do export "${kv?}"; done \
      < <(daemon_env "$d" "$RUN_DIR/secrets" "$(cat "$RUN_DIR/kafka.bootstrap")")
    exec "$BIN/signpost-$d"
  ) </dev/null >>"$RUN_DIR/logs/$d.log" 2>&1 &
  echo $! > "$pid"
}

wait_ready() {
  local d=$1 port
  port=$(daemon_port "$d")
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null && return 0
    running "$RUN_DIR/pids/$d.pid" || { echo "$d exited; see $RUN_DIR/logs/$d.log" >&2; tail -5 "$RUN_DIR/logs/$d.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "$d not ready after 60 s; see $RUN_DIR/logs/$d.log" >&2; exit 1
}

cmd_start() {
  mkdir -p "$RUN_DIR/logs" "$RUN_DIR/pids"
  secrets
  scripts/pg.sh start "$RUN_DIR/pg" "$PG_PORT"
  scripts/pg.sh bootstrap "$RUN_DIR/pg" "$PG_PORT" "$RUN_DIR/secrets" >/dev/null
  local t0=$SECONDS
  start_broker
  echo "broker ($BROKER) ready after $((SECONDS - t0)) s"
  local started=()
  for d in $DAEMONS; do
    [ -x "$BIN/signpost-$d" ] || continue
    start_daemon "$d"; started+=("$d")
  done
  for d in "${started[@]}"; do wait_ready "$d"; done
  # SIGNPOST_DEMO_SERVICES: how many synthetic services (tests use a few)
  [ -x scripts/demo.sh ] && scripts/demo.sh "$RUN_DIR" "${SIGNPOST_DEMO_SERVICES:-1000}" || true
  echo
  echo "signpost is running (state in $RUN_DIR, logs in $RUN_DIR/logs):"
  echo "  PostgreSQL  127.0.0.1:$PG_PORT (database signpost)"
  if [ "$BROKER" = kafka ]; then
    echo "  Kafka       $(cat "$RUN_DIR/kafka.bootstrap") (Apache Kafka, TLS client certificates in $RUN_DIR/secrets/kafka/)"
  else
    echo "  Kafka       $(cat "$RUN_DIR/kafka.bootstrap") (kafka-mock: no ACLs, nothing kept)"
  fi
  for d in "${started[@]}"; do
    printf '  %-12s http://127.0.0.1:%s/\n' "$d" "$(daemon_port "$d")"
  done
  if [ -x "$BIN/signpost-gateway" ]; then
    echo "Referral web form: http://127.0.0.1:$(daemon_port gateway)/"
  fi
  echo "Stop with: make stop"
}

cmd_stop() {
  for d in gateway $DAEMONS; do stop_pid "$RUN_DIR/pids/$d.pid" 15; done
  stop_pid "$RUN_DIR/pids/kafka-mock.pid" 15
  scripts/kafka.sh stop "$RUN_DIR/kafka"
  scripts/pg.sh stop "$RUN_DIR/pg"
  echo "signpost stopped"
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
