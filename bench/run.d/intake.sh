# Sourced by bench/run.sh (after its throwaway stack is up): intake end to
# end, from a sealed submission on referral.submissions to the sealed
# partner message on partner.<org>.referrals. Submissions are produced
# directly, as the gateway produces them (the HTTP POST leg of the gateway
# is not included in these figures). Prints figures beside pgbench's
# single-row INSERT TPS; nothing is asserted.
echo "== intake: submission -> sealed partner message (produced directly, not via HTTP POST)"
(
  . tests/lib/stack.sh
  trap 'stack_stop >/dev/null 2>&1' EXIT
  . tests/lib/intake.sh
  mkdir -p "$T/intake_bench"
  stack_start directory >/dev/null && stack_start intake >/dev/null || { echo "intake bench: stack did not start"; exit 0; }
  ORG=$(uuid) SVC=$(uuid)
  "$B/signpost-partner" keygen "$T/intake_bench/org" >"$T/intake_bench/org.b64"
  catalogue "$ORG" "$SVC" "$(cat "$T/intake_bench/org.b64")" active
  replica_has "$SVC" 300 || { echo "intake bench: replica not ready"; exit 0; }
  common=(--brokers "$K" --pk "$SIGNPOST_TEST_SECRETS/intake.pk" --service "$SVC" --org "$ORG")
  echo "-- steady 1000/s for 5 s"
  steady=$("$B/intake-load" bench "${common[@]}" --rate 1000 --seconds 5 2>/dev/null)
  echo "$steady"
  echo "-- burst: 5000 as fast as they can be produced"
  burst=$("$B/intake-load" bench "${common[@]}" --rate 0 --seconds 5 2>/dev/null)
  echo "$burst"
  rps=$(echo "$burst" | awk -F= '/end_to_end_referrals_per_s/ {print $2}')
  p99=$(echo "$steady" | awk -F= '/latency_p99_ms/ {print $2}')
  echo "intake_sustained_referrals_per_s=${rps:-n/a} (target >= 2000)"
  echo "intake_p99_ms_at_1000_per_s=${p99:-n/a} (target < 250)"
  echo "pgbench_single_row_insert_tps=${tps:-n/a}"
  if [ -n "$rps" ] && [ -n "${tps:-}" ] && [ "${tps:-0}" -gt 0 ]; then
    awk -v a="$rps" -v b="$tps" 'BEGIN {printf "intake_vs_pgbench_ratio=%.2f\n", a / b}'
  fi
)
