#!/usr/bin/env bash
# intake under a bounded load (2,000 referrals at a steady rate) killed
# with SIGKILL mid-stream and restarted, then PostgreSQL restarted
# under the same load: afterwards every referral is stored exactly once and
# routed exactly once (one routing event per referral on the partner
# topic; the relay may repeat a record, never route twice). Prints TAP.
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/stack.sh
. tests/lib/intake.sh
N=${INTAKE_CRASH_N:-2000}
D=$T/intake_crash
rm -rf "$D"; mkdir -p "$D"

check "directory starts" stack_start directory
check "intake starts" stack_start intake
ORG=$(uuid) SVC=$(uuid)
"$B/signpost-partner" keygen "$D/org" >"$D/org.b64" 2>>"$T/intake-setup.err"
catalogue "$ORG" "$SVC" "$(cat "$D/org.b64")" active
check "replica has the service" replica_has "$SVC"

"$B/intake-load" submit --brokers "$K" --pk "$SIGNPOST_TEST_SECRETS/intake.pk" \
  --service "$SVC" --count "$N" --rate 100 --canary zqcrash \
  --out "$D/submitted.jsonl" 2>"$D/load.err" &
LOAD=$!
stored() { sql "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC'"; }
for _ in $(seq 100); do [ "$(stored)" -gt 100 ] && break; sleep 0.1; done
before=$(stored)
kill -KILL "${STACK_PIDS[1]}"; wait "${STACK_PIDS[1]}" 2>/dev/null
check "intake killed with SIGKILL mid-stream ($before of $N stored)" test "$before" -lt "$N"
check "intake restarts" stack_start intake
for _ in $(seq 100); do [ "$(stored)" -gt $((before + 200)) ] && break; sleep 0.1; done
mid=$(stored)
scripts/pg.sh stop "$SIGNPOST_TEST_PGDIR" && sleep 1 &&
  scripts/pg.sh start "$SIGNPOST_TEST_PGDIR" "$SIGNPOST_TEST_PGPORT"
check "PostgreSQL restarted under load ($mid of $N stored)" test "$mid" -lt "$N"
wait "$LOAD"
check "every submission acknowledged by the broker" test $? = 0
check "all $N stored after recovery" wait_for 120 \
  "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC'" "$N"
check "each stored exactly once (one 'received' history row each)" test \
  "$(sql "SELECT count(*) FROM intake.status_history h JOIN intake.referrals r ON r.id = h.referral_id WHERE r.service_id = '$SVC' AND h.to_status = 'received'")" = "$N"
check "every referral routed" wait_for 60 \
  "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC' AND routed_at IS NOT NULL" "$N"
check "outbox drained" wait_for 60 "SELECT count(*) FROM intake.outbox" 0
"$B/topic-dump" "$K" "partner.$ORG.referrals" >"$D/partner.dump" 2>/dev/null
counts=$(/usr/bin/python3 - "$D/partner.dump" <<'EOF'
import json, sys
keys, ces = {}, set()
for line in open(sys.argv[1]):
    r = json.loads(line)
    k = r["key"]; ce = r["headers"]["ce_id"]
    keys.setdefault(k, set()).add(ce)
    ces.add(ce)
print(len(keys), sum(1 for v in keys.values() if len(v) > 1))
EOF
)
set -- $counts
check "partner topic: $1 distinct referrals (want $N)" test "$1" = "$N"
check "no referral routed twice (distinct routing events per referral: $2 over 1)" test "$2" = 0
"$B/signpost-partner" receive --brokers "$K" --org "$ORG" --sk "$D/org.sk" \
  --pk "$D/org.pk" --out "$D/partner.jsonl" --count "$N" --timeout 120 2>>"$T/partner.log"
check "the partner opens all $N and they match what was submitted" \
  /usr/bin/python3 tests/lib/intake_check.py match "$D/submitted.jsonl" "$D/partner.jsonl"
check "daemons stop cleanly" stack_stop
