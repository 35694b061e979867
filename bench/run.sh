#!/usr/bin/env bash
# `make bench`: the platform's speed figures, each beside a baseline
# measured on the same machine in the same run, with their ratio. Figures
# are printed, never asserted (these machines are shared and noisy).
#
# Every section runs on Apache Kafka (one throwaway KRaft node with its
# mTLS users, scripts/throwaway.sh throwaway_kafka: what `make run` runs
# on), then again on kafka-mock (SIGNPOST_BROKER=mock), so the two can be
# compared; BENCH_BROKERS="kafka" (or "mock") runs one. Each section's
# header says which broker it ran on, and the summary at the end lists
# every figure with its broker, its baseline and their ratio. The broker's
# own ceiling is measured first: Kafka's ProducerPerformance at the size of
# a sealed referral, acks=all, as the admin TLS user; every figure that
# goes through the broker is also printed as a ratio of it.
set -uo pipefail
BUILD=${1:-build}
cd "$(dirname "$0")/.."
. scripts/throwaway.sh
throwaway_start || { echo "bench: could not start the stack"; exit 1; }
BENCH_BROKERS=${BENCH_BROKERS:-kafka mock}
BENCH_MOCK=$SIGNPOST_TEST_KAFKA # the throwaway kafka-mock
BENCH_KAFKA=""
if [[ " $BENCH_BROKERS " == *" kafka "* ]]; then
  throwaway_kafka || { echo "bench: Apache Kafka did not start"; exit 1; }
  BENCH_KAFKA=$SIGNPOST_TEST_KAFKA
fi
# every figure, one line each: broker, name, value, baseline name, baseline
# value, target (the summary prints them)
BENCH_FIGS=$THROWAWAY_DIR/figures.tsv
: > "$BENCH_FIGS"

# bench_use kafka|mock: points the daemons and tools the sections start at
# that broker (scripts/env.sh daemon_env reads SIGNPOST_BROKER: on Apache
# Kafka each daemon connects as its own TLS user; tools run as admin).
bench_use() {
  bench_broker=$1
  if [ "$1" = kafka ]; then
    export SIGNPOST_BROKER=kafka SIGNPOST_TEST_KAFKA=$BENCH_KAFKA
    export SIGNPOST_KAFKA_TLS_DIR=$SIGNPOST_TEST_SECRETS/kafka/admin
  else
    export SIGNPOST_BROKER=mock SIGNPOST_TEST_KAFKA=$BENCH_MOCK
    unset SIGNPOST_KAFKA_TLS_DIR
  fi
}

# bench_figure NAME VALUE [BASELINE_NAME BASELINE_VALUE [TARGET]]: records a
# figure of the current broker for the summary (nothing when VALUE is
# empty). bench_vs_kafka NAME VALUE: the same figure against the broker's
# ProducerPerformance records/s.
bench_figure() {
  [ -n "${2:-}" ] || return 0
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$bench_broker" "$1" "$2" "${3:--}" "${4:--}" "${5:-}" >> "$BENCH_FIGS"
}
bench_vs_kafka() {
  [ -n "${BENCH_KPERF:-}" ] || return 0
  bench_figure "$1" "$2" kafka_producer_perf_records_per_s "$BENCH_KPERF"
  awk -v n="$1" -v a="$2" -v b="$BENCH_KPERF" 'BEGIN {
    if (a != "" && b > 0) printf "%s_vs_kafka_producer_perf_ratio=%.3f\n", n, a / b }'
}

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
# gateway, intake, notification); pgbench's insert TPS and the broker's
# ProducerPerformance are always measured.
bench_wanted() { [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]; }

# bench_median "a b c": the median of the numbers (the sections run some
# measures in rounds and report this)
bench_median() {
  echo "$1" | tr ' ' '\n' | grep . | sort -n |
    awk '{v[NR] = $1} END { if (NR > 0) print v[int((NR + 1) / 2)] }'
}

# Apache Kafka's own Java tools, as the admin TLS user: the client
# properties they read (scripts/kafka.sh client-props), made once.
bench_java_props() {
  local d=$THROWAWAY_DIR/bench-java
  [ -s "$d/admin.properties" ] && { echo "$d/admin.properties"; return; }
  scripts/kafka.sh client-props "$SIGNPOST_TEST_SECRETS" admin "$d"
}
bench_java() { java -Xms64m -Xmx512m -cp "$(scripts/kafka.sh libs)" "$@"; }

# bench_skip_backlog GROUP TOPIC...: on Apache Kafka, moves GROUP's offsets
# on the topics to their end, so a daemon of a section starts where the
# earlier sections left the broker instead of reading through all they
# produced (100,000 directory services, every referral of the gateway
# section). A fresh kafka-mock has no history; nothing to do there.
bench_skip_backlog() {
  [ "$bench_broker" = kafka ] || return 0
  local g=$1 t a=(); shift
  for t in "$@"; do a+=(--topic "$t"); done
  bench_java org.apache.kafka.tools.consumer.group.ConsumerGroupCommand \
    --bootstrap-server "$BENCH_KAFKA" --command-config "$(bench_java_props)" \
    --group "$g" --reset-offsets --to-latest "${a[@]}" --execute \
    >"$THROWAWAY_DIR/skip-$g.log" 2>&1 ||
    { echo "bench: could not move group $g to the end; its log:"; tail -3 "$THROWAWAY_DIR/skip-$g.log" | sed 's/^/# /'; }
}

# bench_broker_up NAME / bench_broker_down: on kafka-mock only, a
# development broker of the section's own (kpid its process),
# SIGNPOST_TEST_KAFKA exported; on Apache Kafka nothing (every section
# runs on the one node, and bench_skip_backlog starts its daemons at the
# broker's end). The mock has no tool to move a group's offsets, so the
# gateway, intake and notification sections start on an empty one rather
# than read through what the earlier sections left (the directory
# section's 100,000 services; the pipeline's notification requests). Their rounds share it:
# librdkafka's mock cluster (Debian's 2.0.2) finds a fetch's offset by
# walking its in-memory log from the start, so each round on it is slower
# than the last; that is the difference from Apache Kafka, which looks
# offsets up in an index, and the bench shows it rather than hide it.
bench_broker_up() {
  [ "$bench_broker" = mock ] || return 0
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

# bench_producer_perf: Apache Kafka's own producer ceiling on this machine
# in this run (BENCH_ROUNDS rounds, the median in BENCH_KPERF): Kafka's
# ProducerPerformance at the size of one sealed referral as it lies on
# referral.submissions (value, key and headers: one made by intake-load,
# which produces them as the gateway does), acks=all, as the admin TLS
# user, onto a topic of its own with referral.submissions' 8 partitions.
bench_producer_perf() {
  local line sizes bytes r out rs="" props
  echo "== 0. Apache Kafka's own ceiling: ProducerPerformance, acks=all, as the admin TLS user"
  "$BUILD/bin/intake-load" submit --brokers "$BENCH_KAFKA" --pk "$SIGNPOST_TEST_SECRETS/intake.pk" \
    --service "$(cat /proc/sys/kernel/random/uuid)" --count 1 >/dev/null 2>&1
  line=$("$BUILD/bin/topic-dump" "$BENCH_KAFKA" referral.submissions 2>/dev/null | tail -1)
  sizes=$(echo "$line" | python3 -c '
import base64, json, sys
r = json.loads(sys.stdin.read())
v = r["value"].encode() if "value" in r else base64.b64decode(r.get("value_b64", ""))
h = sum(len(k.encode()) + len(x.encode()) for k, x in r.get("headers", {}).items())
print(len(v), len(r.get("key", "").encode()), h)' 2>/dev/null)
  if [ -z "$sizes" ]; then
    echo "bench: no referral on referral.submissions to weigh; ProducerPerformance skipped"
    return
  fi
  read -r v k h <<< "$sizes"
  bytes=$((v + k + h))
  echo "referral_record_bytes=$bytes (one sealed referral on referral.submissions: value $v, key $k, headers $h)"
  props=$(bench_java_props)
  for r in $(seq "${BENCH_ROUNDS:-3}"); do
    out=$(bench_java org.apache.kafka.tools.ProducerPerformance --bootstrap-server "$BENCH_KAFKA" --topic bench.producer-perf \
      --num-records 100000 --warmup-records 20000 --record-size "$bytes" --throughput -1 \
      --command-property acks=all --command-config "$props" 2>&1 | grep 'records sent' | tail -1)
    echo "kafka_producer_perf[$r]: $out"
    rs="$rs $(echo "$out" | sed -nE 's/.* ([0-9.]+) records\/sec.*/\1/p' | cut -d. -f1)"
  done
  BENCH_KPERF=$(bench_median "$rs")
  echo "kafka_producer_perf_records_per_s=${BENCH_KPERF:-n/a} (record-size $bytes, acks=all, TLS; steady state after 20,000; median of rounds:$rs)"
  bench_broker=kafka bench_figure kafka_producer_perf_records_per_s "$BENCH_KPERF"
}

# bench_pipeline: section 1.
bench_pipeline() {
  echo "== 1. outbox -> Kafka -> inbox pipeline vs pgbench single-row INSERT (broker=$bench_broker)"
  out=$("$BUILD/bench/pipeline" 50000)
  eps=$(echo "$out" | awk -F= '/pipeline_events_per_s/ {print $2}')
  echo "$out"
  echo "pgbench_single_row_insert_tps=$tps"
  if [ -n "$eps" ] && [ -n "$tps" ] && [ "$tps" -gt 0 ]; then
    awk -v a="$eps" -v b="$tps" 'BEGIN {printf "pipeline_vs_pgbench_ratio=%.2f (target >= 1.0)\n", a / b}'
  fi
  bench_figure pipeline_events_per_s "$eps" pgbench_single_row_insert_tps "$tps" ">= 1.0"
  bench_vs_kafka pipeline_events_per_s "$eps"
}

# bench_summary: every figure beside its baseline, by figure then broker.
bench_summary() {
  echo "== summary (broker=kafka: Apache Kafka, one KRaft node, mTLS users; broker=mock: kafka-mock)"
  awk -F'\t' '
    BEGIN { printf "%-36s %-6s %9s  %-36s %9s %7s  %s\n", "figure", "broker", "value", "baseline", "value", "ratio", "target" }
    { key = $2 SUBSEP $4
      if (!(key in seen)) { seen[key] = 1; order[++n] = key }
      row[key, $1] = $0 }
    END {
      for (i = 1; i <= n; i++)
        for (b = 1; b <= 2; b++) {
          br = b == 1 ? "kafka" : "mock"
          if (!((order[i], br) in row)) continue
          split(row[order[i], br], f, "\t")
          ratio = (f[5] != "-" && f[5] + 0 > 0) ? sprintf("%.3f", f[3] / f[5]) : "-"
          printf "%-36s %-6s %9s  %-36s %9s %7s  %s\n", f[2], f[1], f[3], f[4], f[5], ratio, f[6]
        }
    }' "$BENCH_FIGS"
}

tps=$(pgbench_insert_tps)
bench_broker=kafka
[ -n "$BENCH_KAFKA" ] && bench_producer_perf

for section in pipeline bench/run.d/*.sh; do
  name=$(basename "$section" .sh)
  bench_wanted "$name" || continue
  for b in $BENCH_BROKERS; do
    bench_use "$b"
    bench_quiet
    if [ "$section" = pipeline ]; then
      bench_pipeline
    else
      (. "$section")
    fi
  done
done
bench_summary
exit 0
