#!/usr/bin/env bash
# `make bench`: the platform's speed figures, each beside a baseline
# measured on the same machine in the same run, with their ratio. Figures
# are printed, never asserted (these machines are shared and noisy).
set -uo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
. scripts/throwaway.sh
throwaway_start || { echo "bench: could not start the stack"; exit 1; }

pgbench_insert_tps() { # single-row INSERT transactions/s, 2 clients, 10 s
  local db=bench_pgbench
  PGOPTIONS="-c client_min_messages=warning" psql "$SIGNPOST_TEST_PG dbname=postgres" -X -q -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
  psql "$SIGNPOST_TEST_PG dbname=$db" -X -q -c "CREATE TABLE rows (id bigserial PRIMARY KEY, v int, at timestamptz DEFAULT now())" >/dev/null
  echo 'INSERT INTO rows (v) VALUES (:client_id);' > "$THROWAWAY_DIR/insert.sql"
  PGPASSWORD=$(cat "$SIGNPOST_TEST_PGDIR/admin.password") \
    /usr/lib/postgresql/15/bin/pgbench -n -h 127.0.0.1 -p "$SIGNPOST_TEST_PGPORT" -U postgres \
    -f "$THROWAWAY_DIR/insert.sql" -c 2 -j 2 -T 10 "$db" 2>/dev/null |
    awk '/^tps/ {print int($3)}'
}

# BENCH_ONLY=NAME[,NAME…] runs only those sections (pipeline, directory,
# gateway, intake, notification); pgbench's insert TPS is always measured.
bench_wanted() { [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]; }

tps=$(pgbench_insert_tps)
if bench_wanted pipeline; then
  echo "== 1. outbox -> Kafka -> inbox pipeline vs pgbench single-row INSERT"
  out=$("$BUILD/bench/pipeline" 50000)
  eps=$(echo "$out" | awk -F= '/pipeline_events_per_s/ {print $2}')
  echo "$out"
  echo "pgbench_single_row_insert_tps=$tps"
  if [ -n "$eps" ] && [ -n "$tps" ] && [ "$tps" -gt 0 ]; then
    awk -v a="$eps" -v b="$tps" 'BEGIN {printf "pipeline_vs_pgbench_ratio=%.2f (target >= 1.0)\n", a / b}'
  fi
fi

# bench_median "a b c": the median of the numbers (the sections run some
# measures in rounds and report this)
bench_median() {
  echo "$1" | tr ' ' '\n' | grep . | sort -n |
    awk '{v[NR] = $1} END { if (NR > 0) print v[int((NR + 1) / 2)] }'
}

# bench_broker_up NAME / bench_broker_down: a development broker of a
# section's own (kpid its process), SIGNPOST_TEST_KAFKA exported. The
# gateway and intake sections start one per round: the development broker
# (librdkafka's mock cluster) finds a fetch's offset by walking its
# in-memory log from the start, so its cost per fetch grows with all that
# was produced before (15 % of its CPU in a first 1,000/s intake round,
# 64 % in a fourth) and every hop queues behind it, a cost Apache Kafka,
# which looks offsets up in an index, does not have.
bench_broker_up() {
  local kdir
  kdir=$(mktemp -d "$SIGNPOST_TEST_TMP/$1-kafka.XXXXXX")
  "$BUILD/bin/kafka-mock" -t proto/topics -o "$kdir/bootstrap" >"$kdir/log" 2>&1 &
  kpid=$!
  for _ in $(seq 300); do [ -s "$kdir/bootstrap" ] && break; sleep 0.1; done
  SIGNPOST_TEST_KAFKA=$(cat "$kdir/bootstrap" 2>/dev/null)
  export SIGNPOST_TEST_KAFKA
  [ -n "$SIGNPOST_TEST_KAFKA" ] || {
    echo "bench: the $1 section's broker did not start in 30 s; its log:"
    tail -5 "$kdir/log" | sed 's/^/# /'
    return 1
  }
}
bench_broker_down() {
  [ -n "${kpid:-}" ] || return 0
  kill "$kpid" 2>/dev/null; wait "$kpid" 2>/dev/null; kpid=""
}

# bench_quiet: what one section wrote is on disk and vacuumed before the
# next is timed (the directory section writes 100,000 services; their
# checkpoint and autovacuum would otherwise land in the next one's figures).
bench_quiet() {
  local i
  psql "$SIGNPOST_TEST_PG dbname=signpost" -X -q -c "CHECKPOINT" >/dev/null
  for i in $(seq 60); do
    [ "$(psql "$SIGNPOST_TEST_PG dbname=signpost" -X -qAt -c \
      "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'")" = 0 ] && return
    sleep 1
  done
}

for extra in bench/run.d/*.sh; do
  [ -f "$extra" ] && bench_wanted "$(basename "$extra" .sh)" && bench_quiet && . "$extra"
done
exit 0
