# Sourced by bench/run.sh after its throwaway stack started (BUILD and the
# SIGNPOST_TEST_* variables set). The gateway's figures, each beside its
# baseline from the same run:
#   2. referral submissions accepted per second (202 = Kafka acknowledged)
#      and p50/p99 at 64 connections, vs a bare libmicrohttpd "hello"
#   3. ORUK /services?search= through the gateway vs straight to the
#      directory (forwarding overhead)
echo "== 2. gateway: referral submissions vs a bare libmicrohttpd server"
(
  . tests/lib/stack.sh
  . tests/lib/gateway.sh
  export SIGNPOST_PORT_OFFSET=2000
  # HTTP threads: the gateway's default (one per core, at least 2) unless
  # BENCH_GW_THREADS says; hello runs with as many
  cores=$(nproc); [ "$cores" -lt 2 ] && cores=2
  secs=${BENCH_SECONDS:-10} conc=64 threads=${BENCH_GW_THREADS:-$cores}
  trap 'stack_stop >/dev/null 2>&1; bench_broker_down' EXIT
  # gw_up: a broker of its own (a fresh one each round: bench_broker_up),
  # the directory and the gateway on it. The gateway reads back every
  # referral it produced (its status links), so the development broker
  # would slow with each round. Its replicas are in PostgreSQL and carry
  # over.
  gw_up() {
    bench_broker_up gateway || return 1
    stack_start directory >/dev/null || { echo "bench: directory did not start"; return 1; }
    [ -n "${gw_loaded:-}" ] || { gw_fixture_load; gw_loaded=1; }
    GW_RATE_IP=0 GW_RATE_FORM=0
    mapfile -t ENV < <(gw_env)
    stack_start gateway "${ENV[@]}" SIGNPOST_GATEWAY_RATE_TOKEN=0 \
      SIGNPOST_GATEWAY_THREADS="$threads" SIGNPOST_LOG_LEVEL=warn >/dev/null ||
      { echo "bench: gateway did not start"; return 1; }
    gw_catalogue_wait 3 || { echo "bench: catalogue not replicated"; return 1; }
  }
  gw_down() {
    stack_stop >/dev/null 2>&1
    bench_broker_down
  }
  gw_up || exit 0
  body=$SIGNPOST_TEST_TMP/referral.json
  printf '{"service_id":"%s","kind":"self","person":{"name":"Bench Person","phone":"07700 900123","postcode":"KT1 1EU"},"consents":{"share_with_provider":true}}' "$GW_SVC" > "$body"
  hport=$(( $(daemon_port gateway) + 60 ))
  "$BUILD/bench/hello" "$hport" "$threads" & hpid=$!
  sleep 0.5
  # rounds of hello then the gateway, back to back (see section 3); the
  # figures are each measure's median over the rounds
  rounds=${BENCH_ROUNDS:-3} rsecs=$(( (secs + 1) / 2 )) hs="" gs="" ps=""
  for r in $(seq "$rounds"); do
    if [ "$r" -gt 1 ]; then gw_down; gw_up || exit 0; fi
    h=$("$BUILD/bench/gwload" "http://127.0.0.1:$hport/" $conc "$rsecs" "$body" "Content-Type: application/json")
    g=$("$BUILD/bench/gwload" "$(stack_url gateway)/v1/referrals" $conc "$rsecs" "$body" "Content-Type: application/json")
    echo "hello_post[$r]: $h"
    echo "gateway_referrals[$r]: $g"
    hs="$hs $(echo "$h" | sed -E 's/.*rps=([0-9.]+).*/\1/')"
    gs="$gs $(echo "$g" | sed -E 's/.*rps=([0-9.]+).*/\1/')"
    ps="$ps $(echo "$g" | sed -E 's/.*p99_ms=([0-9.]+).*/\1/')"
  done
  kill $hpid; wait $hpid 2>/dev/null
  hr=$(bench_median "$hs"); gr=$(bench_median "$gs"); gp99=$(bench_median "$ps")
  awk -v g="$gr" -v h="$hr" -v p="$gp99" -v gs="$gs" -v ps="$ps" 'BEGIN {
    printf "gateway_referrals_per_s=%d (target >= 5000; rounds:%s) p99_ms=%s (target < 25; rounds:%s)\n", g, gs, p, ps
    if (h > 0) printf "gateway_vs_hello_ratio=%.3f\n", g / h }'

  echo "== 3. ORUK search: through the gateway vs straight to the directory"
  q="services?search=debt"
  pk=$SIGNPOST_TEST_SECRETS/principal.key
  # the directory needs a signed principal: borrow one the way the gateway
  # makes it (public role), via the gateway's own signing in a tiny helper
  ph=$(python3 - "$pk" <<'PY'
import base64, hashlib, hmac, json, sys, time
raw = open(sys.argv[1]).read().strip()
pad = "=" * (-len(raw) % 4)
try:
    key = base64.urlsafe_b64decode(raw + pad)
except Exception:
    key = base64.b64decode(raw + pad)
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
p = b64(json.dumps({"sub": "bench", "role": "public", "exp": int(time.time()) + 3600}, separators=(",", ":")).encode())
print(p + "." + b64(hmac.new(key, p.encode(), hashlib.sha512).digest()[:32]))
PY
)
  # rounds of direct then forwarded, back to back, so that a slow spell
  # on this shared machine hits both sides of a ratio; the median of the
  # rounds' overheads is the figure
  rounds=${BENCH_ROUNDS:-3} rsecs=$(( (secs + 1) / 2 )) ovh=""
  for r in $(seq "$rounds"); do
    d=$("$BUILD/bench/gwload" "$(stack_url directory)/$q" $conc "$rsecs" "" "X-Signpost-Principal: $ph" 2>/dev/null)
    f=$("$BUILD/bench/gwload" "$(stack_url gateway)/oruk/$q" $conc "$rsecs")
    echo "directory_direct[$r]: $d"
    echo "gateway_forwarded[$r]: $f"
    dr=$(echo "$d" | sed -E 's/.*rps=([0-9.]+).*/\1/'); fr=$(echo "$f" | sed -E 's/.*rps=([0-9.]+).*/\1/')
    ovh="$ovh $(awk -v d="$dr" -v f="$fr" 'BEGIN { if (d > 0) printf "%.1f", (1 - f / d) * 100 }')"
  done
  echo "forwarding_overhead=$(bench_median "$ovh")% (median of rounds:$ovh; target < 30%)"
)
