# Sourced by bench/run.sh (after the throwaway stack is up): notifications
# sent per second through the file (spool) channel, end to end: requests
# produced to notification.requests (sealed, as intake sends them), consumed
# into the delivery log, rendered, written to the spool and recorded with
# their events. Target >= 2,000/s.
echo "== notification: messages sent/s through the spool channel (target >= 2000) (broker=$bench_broker)"
(
  set -u
  export SIGNPOST_PORT_OFFSET=2000
  . tests/lib/stack.sh
  trap 'stack_stop >/dev/null 2>&1; bench_broker_down' EXIT
  # its consumer starts at the broker's end (on Apache Kafka the intake
  # section left a request for every referral it routed; on kafka-mock,
  # which cannot move a group, on a broker of the section's own: on the
  # shared one it read from the start of what the earlier sections left
  # and sent none of its own within the 300 s)
  bench_skip_backlog notification notification.requests
  bench_broker_up notification || exit 0
  . tests/lib/notify.sh # after: it reads SIGNPOST_TEST_KAFKA
  N=${SIGNPOST_BENCH_NOTIFY_N:-20000}
  SPOOL=$T/bench-spool-$bench_broker
  rm -rf "$SPOOL"
  stack_start notification SIGNPOST_NOTIFY_SPOOL_DIR="$SPOOL" SIGNPOST_NOTIFY_BATCH=500 \
    SIGNPOST_LOG_LEVEL=warn || { echo "notification did not start"; exit 0; }
  # message ids of this run's own (the section runs once per broker on one
  # database: the delivery log keeps each id once, so ids repeated from the
  # first broker's run would all be duplicates, and none sent)
  REF=$(uuid); RUN=${REF:9:4} # its second group, random
  seq "$N" | awk -v ref="$REF" -v run="$RUN" '{
    id = sprintf("%08x-%s-7000-8000-%012d", $1, run, $1);
    printf "%s\t{\"message_id\":\"%s\",\"template\":\"new_referral_provider\",\"audience\":\"provider\",\"referral_id\":\"%s\",\"sealed\":{\"email\":\"provider@example.org\",\"values\":{\"reference\":\"SP-7KQ2-M4XD\",\"service_name\":\"Warm Homes Advice\"}}}\n", id, id, ref }' \
    > "$T/bench-requests.tsv"
  t0=$(date +%s.%N)
  produce notification.requests signpost.notification.requested.v1 seal < "$T/bench-requests.tsv"
  for _ in $(seq 300); do
    n=$(sql "SELECT count(*) FROM notification.message WHERE referral_id = '$REF' AND status = 'sent'")
    [ "$n" -ge "$N" ] && break
    sleep 1
  done
  t1=$(date +%s.%N)
  files=$(find "$SPOOL" -name '*.eml' | wc -l)
  # from the first request recorded to the last one sent (the daemon's
  # own pipeline: consume, record intent, render, spool, record outcome)
  rate=$(sql "SELECT round(count(*) / greatest(extract(epoch FROM max(sent_at) - min(created_at)), 0.001)) FROM notification.message WHERE referral_id = '$REF' AND status = 'sent'")
  echo "notification_sent=$n spool_files=$files wall_seconds_incl_produce=$(echo "$t1 - $t0" | bc)"
  echo "notification_sent_per_s=$rate (target >= 2000)"
  bench_figure notification_sent_per_s "$rate" - - ">= 2000"
  bench_vs_kafka notification_sent_per_s "$rate"
)
