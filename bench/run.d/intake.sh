# Sourced by bench/run.sh (after its throwaway stack is up): intake end to
# end. The headline figures run from the HTTP POST to the gateway's
# /v1/referrals to the sealed partner message on partner.<org>.referrals
# (gateway, Kafka, intake, outbox relay, Kafka again), at a steady
# 1,000/s and as a burst, each BENCH_ROUNDS (3) times on the same daemons
# and broker, with the medians reported; then a burst with submissions
# produced straight onto referral.submissions, which shows intake's own
# share. Printed beside
# pgbench's single-row INSERT TPS; nothing is asserted.
echo "== intake: HTTP POST -> sealed partner message (broker=$bench_broker)"
(
  . tests/lib/stack.sh
  . tests/lib/intake.sh
  mkdir -p "$T/intake_bench"
  trap 'stack_stop >/dev/null 2>&1; bench_broker_down' EXIT
  # the daemons' replicas start at the broker's end (on Apache Kafka the
  # earlier sections left 100,000 directory services and every referral
  # of the gateway section)
  bench_skip_backlog intake referral.submissions referral.updates directory.services \
    directory.organisations consent.state notification.events rights.tasks
  bench_skip_backlog gateway directory.services directory.organisations \
    referral.events
  # intake_round_up: the daemons on the broker (on kafka-mock one of the
  # section's own, bench_broker_up), with a new organisation and service;
  # every round runs on them.
  bench_broker_up intake || exit 0
  intake_round_up() {
    K=$SIGNPOST_TEST_KAFKA
    stack_start directory >/dev/null && stack_start intake >/dev/null || { echo "intake bench: stack did not start"; return 1; }
    ORG=$(uuid) SVC=$(uuid)
    "$B/signpost-partner" keygen "$T/intake_bench/org-$ORG" >"$T/intake_bench/org.b64"
    catalogue "$ORG" "$SVC" "$(cat "$T/intake_bench/org.b64")" active
    replica_has "$SVC" 300 || { echo "intake bench: replica not ready"; return 1; }
    stack_start gateway SIGNPOST_DIRECTORY_URL="$(stack_url directory)" \
      SIGNPOST_INTAKE_URL="$(stack_url intake)" SIGNPOST_GATEWAY_RATE_IP=0 \
      SIGNPOST_GATEWAY_RATE_TOKEN=0 SIGNPOST_GATEWAY_RATE_FORM=0 \
      SIGNPOST_LOG_LEVEL=warn >/dev/null || { echo "intake bench: gateway did not start"; return 1; }
    wait_for 300 "SELECT count(*) FROM gateway.catalogue_services WHERE id = '$SVC'" 1 ||
      { echo "intake bench: gateway replica not ready"; return 1; }
    common=(--brokers "$K" --pk "$SIGNPOST_TEST_SECRETS/intake.pk" --service "$SVC" --org "$ORG")
    http=(--http "$(stack_url gateway)")
    # warm-up, not reported: the partner topic is created by the first
    # routed referral, and a watcher subscribed before it existed would
    # only find it at its next metadata refresh (seconds)
    "$B/intake-load" bench "${common[@]}" "${http[@]}" --rate 0 --seconds 1 \
      >/dev/null 2>"$T/intake_bench/warm.err" || {
      echo "-- the warm-up round did not finish (the rounds run all the same):"
      tail -3 "$T/intake_bench/warm.err" | sed 's/^/# /'
    }
    return 0
  }
  # rounds of the steady rate and of the burst, as in the gateway section:
  # the figures are medians over the rounds, each round printed
  rounds=${BENCH_ROUNDS:-3} p50s="" p99s="" rpss=""
  for r in $(seq "$rounds"); do
    if [ "$r" = 1 ]; then intake_round_up || { echo "intake bench: no figures"; exit 0; }; fi
    echo "-- via the gateway: steady 1000/s for 5 s [$r]"
    steady=$("$B/intake-load" bench "${common[@]}" "${http[@]}" --rate 1000 --seconds 5 2>/dev/null)
    echo "$steady"
    p50s="$p50s $(echo "$steady" | awk -F= '/latency_p50_ms/ {print $2}')"
    p99s="$p99s $(echo "$steady" | awk -F= '/latency_p99_ms/ {print $2}')"
    echo "-- via the gateway: burst of 5000, 64 connections [$r]"
    burst=$("$B/intake-load" bench "${common[@]}" "${http[@]}" --rate 0 --seconds 5 2>/dev/null)
    echo "$burst"
    rpss="$rpss $(echo "$burst" | awk -F= '/end_to_end_referrals_per_s/ {print $2}')"
  done
  echo "-- intake alone (produced onto referral.submissions): burst of 5000"
  alone=$("$B/intake-load" bench "${common[@]}" --rate 0 --seconds 5 2>/dev/null)
  echo "$alone"
  rps=$(bench_median "$rpss"); p50=$(bench_median "$p50s"); p99=$(bench_median "$p99s")
  arps=$(echo "$alone" | awk -F= '/end_to_end_referrals_per_s/ {print $2}')
  echo "intake_sustained_referrals_per_s=${rps:-n/a} (HTTP POST to partner topic; target >= 2000; rounds:$rpss)"
  echo "intake_p50_ms_at_1000_per_s=${p50:-n/a} intake_p99_ms_at_1000_per_s=${p99:-n/a} (target p99 < 250; rounds:$p99s)"
  echo "intake_alone_referrals_per_s=${arps:-n/a} (from referral.submissions)"
  echo "pgbench_single_row_insert_tps=${tps:-n/a}"
  if [ -n "$rps" ] && [ -n "${tps:-}" ] && [ "${tps:-0}" -gt 0 ]; then
    awk -v a="$rps" -v b="$tps" 'BEGIN {printf "intake_vs_pgbench_ratio=%.2f (target >= 0.8)\n", a / b}'
  fi
  bench_figure intake_sustained_referrals_per_s "$rps" pgbench_single_row_insert_tps "${tps:-}" ">= 0.8"
  bench_figure intake_alone_referrals_per_s "$arps" pgbench_single_row_insert_tps "${tps:-}"
  bench_vs_kafka intake_sustained_referrals_per_s "$rps"
  bench_vs_kafka intake_alone_referrals_per_s "$arps"
  bench_figure intake_p99_ms_at_1000_per_s "$p99" - - "< 250"
)
