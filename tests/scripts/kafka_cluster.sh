#!/usr/bin/env bash
# A broker lost under load: a three-node Apache Kafka cluster of its own
# (scripts/kafka.sh cluster-start: KRaft, combined roles, a 3-voter
# quorum, topics replicated 3 with min.insync.replicas 2), the directory,
# intake and the gateway on it as their own broker users. N referrals
# (20,000; KAFKA_CLUSTER_REFERRALS) go through the gateway's API; once a
# third are sent the node leading the controller quorum is SIGKILLed.
# Each referral carries its own Idempotency-Key and is sent again with it
# after a 503, as a careful client does. Every referral ends answered 202;
# each is stored by intake exactly once and routed exactly once to the
# partner's topic, and nothing else is (a 503 is not "not stored": one
# answered "unconfirmed" may have been committed during the failover,
# and its retry must not make a second referral). The node then restarts
# and every partition is back to three in-sync replicas; a preferred-leader
# election puts the leaders back where they were. Then a second gateway
# with a 3 s produce timeout, connected to every leader, meets every node
# stopped mid-request:
# it answers 503 "unconfirmed", and the retry with the same key leaves one
# referral. Figures are TAP comments, never assertions. Prints TAP.
#
# The gateway runs with its default settings (its produce timeout, 30 s,
# is above the cluster's failover). The load stops sending new referrals
# after KAFKA_CLUSTER_SECONDS (150) so a busy machine still finishes in
# time (what was sent is checked, and said).
cd "$(dirname "$0")/../.." || exit 1
. tests/lib/tap.sh
. tests/lib/stack.sh
. tests/lib/intake.sh
KD=$T/kafka-cluster S=$T/kafka-cluster/secrets
rm -rf "$KD"; mkdir -p "$S"
N=${KAFKA_CLUSTER_REFERRALS:-20000} CONC=${KAFKA_CLUSTER_CONC:-32}
DEADLINE=${KAFKA_CLUSTER_SECONDS:-150} # the load's bound
BASE=$(( 31000 + (RANDOM % 100) * 6 ))
K=127.0.0.1:$BASE,127.0.0.1:$((BASE + 2)),127.0.0.1:$((BASE + 4))
LOADPID=
cleanup() {
  [ -n "$LOADPID" ] && kill "$LOADPID" 2>/dev/null
  stack_stop >/dev/null 2>&1
  scripts/kafka.sh cluster-stop "$KD" >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 143' TERM; trap 'exit 130' INT; trap 'exit 129' HUP
T0=$(date +%s)
elapsed() { echo $(( $(date +%s) - T0 )); }

check "a three-node Apache Kafka cluster starts, topics replicated 3" \
  timeout 150 scripts/kafka.sh cluster-start "$KD" "$BASE" 3 "$S" "$B"
echo "# the cluster is up at $(elapsed) s"
export SIGNPOST_KAFKA_TLS_DIR=$S/kafka/admin # tools run as the admin user
tool() { timeout 60 scripts/kafka.sh cluster-tool "$KD" "$@" 2>>"$KD/tool.err"; }
describe() { tool org.apache.kafka.tools.TopicCommand --describe "$@"; }
describe --topic referral.submissions >"$KD/describe0.txt"
check "referral.submissions: 8 partitions on three replicas, min.insync.replicas=2" \
  /usr/bin/python3 -c '
import re, sys
t = open(sys.argv[1]).read()
parts = re.findall(r"Partition: \d+\s+Leader: \d+\s+Replicas: ([\d,]+)\s+Isr: ([\d,]+)", t)
sys.exit(not ("min.insync.replicas=2" in t and len(parts) == 8 and
              all(len(r.split(",")) == 3 and len(i.split(",")) == 3 for r, i in parts)))' "$KD/describe0.txt"

on_cluster() { # NAME [VAR=value ...]: stack_start NAME on the cluster as its own user
  local d=$1; shift
  stack_start "$d" SIGNPOST_KAFKA="$K" SIGNPOST_KAFKA_TLS_DIR="$S/kafka/$d" "$@"
}
check "directory starts on the cluster" on_cluster directory
check "intake starts on the cluster" on_cluster intake
check "the gateway starts on the cluster (no per-address limit)" on_cluster gateway \
  SIGNPOST_DIRECTORY_URL="$(stack_url directory)" SIGNPOST_INTAKE_URL="$(stack_url intake)" \
  SIGNPOST_GATEWAY_RATE_IP=0 SIGNPOST_GATEWAY_BURST_IP=0
ORG=$(uuid) SVC=$(uuid)
"$B/signpost-partner" keygen "$KD/org" >"$KD/org.b64" 2>>"$T/intake-setup.err"
catalogue "$ORG" "$SVC" "$(cat "$KD/org.b64")" active
check "intake's replica has the service" replica_has "$SVC" 60
check "the gateway's replica has the service" wait_for 60 \
  "SELECT count(*) FROM gateway.catalogue_services WHERE id = '$SVC'" 1

# the node to lose: the quorum's leader, so the controller fails over too
VICTIM=$(tool org.apache.kafka.tools.MetadataQuorumCommand describe --status | awk '/^LeaderId:/ {print $2}')
check "the controller quorum has a leader (node $VICTIM)" test -n "$VICTIM"
VICTIM=${VICTIM:-2}
echo "# set up at $(elapsed) s"

# ---- the load: CONC kept-alive connections, N referrals, the kill at N/3 ----
cat > "$KD/load.py" <<'PY'
# PORT SVC N CONC OUT DEADLINE KILL_CMD...: N referrals, no new one after
# DEADLINE seconds; KILL_CMD runs once N/3 are sent (or DEADLINE/3 passed).
# Referral i has Idempotency-Key cluster-i and is sent again with it after
# a 503 (at most 20 times). OUT: "status id seconds tries first503" per
# referral sent: its last answer, and the error code of its first 503.
import http.client, json, subprocess, sys, threading, time
url_port, svc, n, conc, out, deadline = sys.argv[1:7]
kill_cmd = sys.argv[7:]
n, conc, deadline = int(n), int(conc), float(deadline)
lock = threading.Lock()
nxt = 0
res = [None] * n
killed = {}
t0 = time.time()

def kill():
    killed["rc"] = subprocess.run(kill_cmd, stdout=subprocess.DEVNULL).returncode

def body(i):
    return json.dumps({"service_id": svc, "kind": "self",
                       "person": {"name": "Cluster Test %d" % i, "email": "c%d@example.org" % i,
                                  "postcode": "KT1 1EU"},
                       "consents": {"share_with_provider": True}})

def worker():
    global nxt
    conn = None
    while True:
        with lock:
            i = nxt
            nxt += 1
            now = time.time()
            if i >= n or now > t0 + deadline:
                break
            if "at" not in killed and (i >= n // 3 or now > t0 + deadline / 3):
                killed["at"] = now
                killed["thread"] = threading.Thread(target=kill)
                killed["thread"].start()
        first = "-"
        for tries in range(1, 21):
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", int(url_port), timeout=60)
                conn.request("POST", "/v1/referrals", body(i),
                             {"Content-Type": "application/json",
                              "Idempotency-Key": "cluster-%d" % i})
                r = conn.getresponse()
                data = r.read()
                st = r.status
                rid = json.loads(data)["id"] if st == 202 else "-"
                if st == 503 and first == "-":
                    first = json.loads(data)["error"]["code"]
                if r.getheader("Connection", "").lower() == "close":
                    conn.close(); conn = None
            except Exception:  # no answer: counted apart
                st, rid = 0, "-"
                if conn is not None:
                    conn.close()
                conn = None
            res[i] = (st, rid, time.time(), tries, first)
            if st != 503:
                break
            time.sleep(1)

ts = [threading.Thread(target=worker) for _ in range(conc)]
for t in ts: t.start()
for t in ts: t.join()
t1 = time.time()
if "thread" in killed:
    killed["thread"].join()
with open(out, "w") as f:
    for st, rid, at, tries, first in (x for x in res if x is not None):
        f.write("%d %s %.3f %d %s\n" % (st, rid, at - t0, tries, first))
print("seconds=%.1f kill_at_s=%.1f kill_rc=%s" % (t1 - t0, killed.get("at", t0) - t0, killed.get("rc")))
PY
GWPORT=$(daemon_port gateway)
echo "# sending $N referrals on $CONC connections (none new after $DEADLINE s); node $VICTIM killed after $((N / 3))"
echo "# (or after $((DEADLINE / 3)) s, on a machine too busy to send them all in time)"
timeout $((DEADLINE + 60)) /usr/bin/python3 "$KD/load.py" "$GWPORT" "$SVC" "$N" "$CONC" "$KD/answers.txt" "$DEADLINE" \
  scripts/kafka.sh cluster-kill "$KD" "$VICTIM" >"$KD/load.out" 2>"$KD/load.err" &
LOADPID=$!
wait "$LOADPID"; rc=$?; LOADPID=
check "the load ran to its end (rc $rc)" test "$rc" = 0
sed 's/^/# load: /' "$KD/load.out"
read -r SECS KILLAT KILLRC < <(tr '=' ' ' <"$KD/load.out" | awk '{print $2, $4, $6}')
check "node $VICTIM was SIGKILLed mid-way" test "${KILLRC:-}" = 0
echo "# load over at $(elapsed) s"
awk '$1 == 202 {print $2}' "$KD/answers.txt" | sort >"$KD/accepted.txt"
SENT=$(grep -c . "$KD/answers.txt")
N202=$(grep -c . "$KD/accepted.txt")
N503=$(awk '$5 != "-"' "$KD/answers.txt" | wc -l)
RETRIED=$(awk '$4 > 1' "$KD/answers.txt" | wc -l)
echo "# sent $SENT referrals, ended 202: $N202, answered 503 at first: $N503 (retried: $RETRIED) (load ${SECS:-?} s, kill at ${KILLAT:-?} s)"
awk '$5 != "-" {print $5}' "$KD/answers.txt" | sort | uniq -c | awk '{printf "# first 503 %s: %d\n", $2, $1}'
awk '$1 != 202 {print $1}' "$KD/answers.txt" | sort | uniq -c | awk '{printf "# ended %s: %d\n", $2, $1}'
awk '$4 > 1 {print $3}' "$KD/answers.txt" | sort -n | awk 'NR == 1 {a = $1} {b = $1} END {if (NR) printf "# retried referrals answered from %.1f s to %.1f s into the load\n", a, b}'
[ "$SENT" -lt "$N" ] && echo "# only $SENT of $N sent in the load's $DEADLINE s (a busy machine)"
check "every referral sent ended answered 202 (its retries with its key included)" test "$N202" = "$SENT" -a "$SENT" -gt 0
check "every 202 carried a distinct referral id" test "$(uniq "$KD/accepted.txt" | wc -l)" = "$N202"

# ---- stored exactly once, routed exactly once, with the node still down ----
stored() { sql "SELECT count(*) FROM intake.referrals WHERE service_id = '$SVC'"; }
for _ in $(seq 120); do [ "$(stored)" -ge "$N202" ] && break; sleep 1; done
sleep 2
sql "SELECT id FROM intake.referrals WHERE service_id = '$SVC'" | sort >"$KD/stored.txt"
NSTORED=$(grep -c . "$KD/stored.txt")
echo "# stored $NSTORED ($(sort -u "$KD/stored.txt" | wc -l) distinct) at $(elapsed) s"
check "intake stored every referral answered 202" test -z "$(comm -23 "$KD/accepted.txt" "$KD/stored.txt" | head -1)"
check "each exactly once" test "$(sort -u "$KD/stored.txt" | wc -l)" = "$NSTORED"
extra=$(comm -13 "$KD/accepted.txt" "$KD/stored.txt" | sort -u | wc -l)
check "and nothing else: no retry made a second referral ($extra stored beyond the 202s)" test "$extra" = 0

PT=partner.$ORG.referrals
routed_ids() { # the referral ids on the partner's topic, one a line
  "$B/topic-dump" "$K" "$PT" 2>>"$KD/dump.err" |
    /usr/bin/python3 -c '
import json, sys
for l in sys.stdin:
    r = json.loads(l)
    try:
        v = json.loads(r["value"])
        print(v.get("data", {}).get("referral_id") or v["referral_id"])
    except Exception:  # not the JSON we expect: its key, the referral id
        print(r.get("key"))'
}
for _ in $(seq 30); do
  n=$("$B/topic-dump" "$K" "$PT" 2>/dev/null | grep -c .)
  [ "$n" -ge "$NSTORED" ] && break
  sleep 3
done
sleep 2
routed_ids | sort >"$KD/routed.txt"
NROUTED=$(grep -c . "$KD/routed.txt")
echo "# routed $NROUTED records ($(sort -u "$KD/routed.txt" | wc -l) distinct ids) to $PT at $(elapsed) s"
check "every stored referral routed to the partner's topic" test -z "$(comm -23 "$KD/stored.txt" "$KD/routed.txt" | head -1)"
check "each exactly once, and nothing else" cmp -s "$KD/stored.txt" "$KD/routed.txt"

# ---- the lost node comes back ----
check "node $VICTIM restarts" timeout 90 scripts/kafka.sh cluster-restart "$KD" "$VICTIM"
insync() { # every partition of every topic (the partner's too) on three in-sync replicas
  describe --exclude-internal >"$KD/describe1.txt" || return 1
  /usr/bin/python3 -c '
import re, sys
parts = re.findall(r"Partition: \d+\s+Leader: \d+\s+Replicas: ([\d,]+)\s+Isr: ([\d,]+)", open(sys.argv[1]).read())
print(len(parts), sum(len(i.split(",")) == 3 for r, i in parts))
sys.exit(not parts or not all(len(r.split(",")) == 3 and len(i.split(",")) == 3 for r, i in parts))' "$KD/describe1.txt" >"$KD/insync.txt"
}
rejoined() { for _ in $(seq 12); do insync && return 0; sleep 2; done; return 1; }
echo "# node $VICTIM answers again at $(elapsed) s"
check "it rejoins: every partition back to three in-sync replicas" rejoined
read -r NPART NISR <"$KD/insync.txt"
echo "# partitions $NPART, with 3 in sync $NISR, at $(elapsed) s"
check "the partner's topic is among them" grep -q "Topic: $PT" "$KD/describe1.txt"
# Leaders back on their preferred replicas, as an operator does once a
# node rejoins: the controller's own rebalance runs only every 5 minutes,
# and a move after the second gateway below has connected would leave it
# with no connection to a partition's new leader (a record for that
# partition is then never sent, and its 503 is a true "unavailable", not
# the case under test).
leaders() { # "PORT ..." of referral.submissions' leaders, when each is its preferred replica
  describe --topic referral.submissions | K=$K /usr/bin/python3 -c '
import os, re, sys
parts = re.findall(r"Partition: \d+\s+Leader: (-?\d+)\s+Replicas: ([\d,]+)", sys.stdin.read())
if len(parts) != 8 or any(l != r.split(",")[0] for l, r in parts):
    sys.exit(1)
nodes = os.environ["K"].split(",")  # node i listens on the i-th address
print(" ".join(sorted({nodes[int(l) - 1].rsplit(":", 1)[1] for l, _ in parts})))'
}
preferred() {
  tool org.apache.kafka.tools.LeaderElectionCommand --election-type PREFERRED --all-topic-partitions >/dev/null
  for _ in $(seq 20); do LEADER_PORTS=$(leaders) && return 0; sleep 1; done
  return 1
}
check "a preferred-leader election puts every partition of referral.submissions on its first replica" preferred
echo "# the leaders of referral.submissions listen on ${LEADER_PORTS:-?}"

# ---- a 503 that is not "not stored": unconfirmed, then a retry with its key ----
# A second gateway with a short produce timeout (3 s). Every node is
# stopped (SIGSTOP) while a referral is at the leader, so librdkafka times
# it out in flight: the broker may still commit it once it runs again.
# The gateway must say "unconfirmed", and the retry with the same
# Idempotency-Key must leave exactly one referral. The web form, at the
# same moment, must answer with the same form token (its key), so that
# sending the form again also leaves one.
GW2_OFFSET=$(( SIGNPOST_PORT_OFFSET + 7 ))
SIGNPOST_PORT_OFFSET=$GW2_OFFSET on_cluster gateway \
  SIGNPOST_DIRECTORY_URL="$(stack_url directory)" SIGNPOST_INTAKE_URL="$(stack_url intake)" \
  SIGNPOST_GATEWAY_PRODUCE_TIMEOUT=3s SIGNPOST_GATEWAY_RATE_FORM=0
GW2=$(SIGNPOST_PORT_OFFSET=$GW2_OFFSET stack_url gateway)
post2() { # KEY: the status of one referral to the second gateway (answer in $KD/u.json)
  curl -s -o "$KD/u.json" -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
    -H "Idempotency-Key: $1" --data-binary \
    "{\"service_id\":\"$SVC\",\"kind\":\"self\",\"person\":{\"name\":\"Unconfirmed $1\",\"email\":\"u@example.org\"},\"consents\":{\"share_with_provider\":true}}" \
    "$GW2/v1/referrals"
}
GW2_PID=${STACK_PIDS[-1]}
connected() { # true when GW2_PID holds an established TCP connection to every port in LEADER_PORTS
  /usr/bin/python3 -c '
import os, sys
pid, want = sys.argv[1], {int(p) for p in sys.argv[2:]}
socks = set()
for fd in os.listdir("/proc/%s/fd" % pid):
    try:
        link = os.readlink("/proc/%s/fd/%s" % (pid, fd))
    except OSError:
        continue
    if link.startswith("socket:["):
        socks.add(link[8:-1])
seen = set()
for line in open("/proc/net/tcp").readlines()[1:]:
    f = line.split()
    if f[3] == "01" and f[9] in socks:  # 01: ESTABLISHED
        seen.add(int(f[2].split(":")[1], 16))
sys.exit(not want <= seen)' "$GW2_PID" $LEADER_PORTS
}
# 16 referrals first, and more until its producer holds a connection to
# every leader (librdkafka connects to a leader when it first has a record
# for it; a record for a node it never reached is not sent, and is
# "unavailable")
WARMED=0
warm() {
  for _ in $(seq 80); do
    [ "$(post2 "warm-$RANDOM$RANDOM")" = 202 ] && WARMED=$((WARMED + 1))
    [ "$WARMED" -ge 16 ] && connected && return 0
  done
  return 1
}
check "a second gateway (produce timeout 3 s) accepts 16 referrals or more, and is connected to every leader" warm
echo "# the second gateway was connected to every leader after $WARMED referrals"
for _ in $(seq 60); do [ "$(stored)" -ge $((NSTORED + WARMED)) ] && break; sleep 1; done # the warm ones
token() { grep -o 'name="csrf" value="[^"]*"' "$1" | head -1 | sed 's/.*value="//; s/"$//'; }
form2() { # TOKEN OUT: posts the self-referral form; its status (the page in OUT)
  curl -s -o "$2" -w '%{http_code}' --max-time 30 --data-urlencode "csrf=$1" \
    --data-urlencode kind=self --data-urlencode "person_name=Form Unconfirmed" \
    --data-urlencode person_email=f@example.org --data-urlencode consent_share=yes \
    "$GW2/services/$SVC/refer"
}
curl -s -o "$KD/form0.html" --max-time 30 "$GW2/services/$SVC/refer?kind=self"
TOK=$(token "$KD/form0.html")
check "the web form has its token" test -n "$TOK"
BEFORE=$(stored)
NODES=$(cat "$KD"/node*/kafka.pid)
kill -STOP $NODES
form2 "$TOK" "$KD/form1.html" >"$KD/form1.code" &
FPID=$!
st=$(post2 unconfirmed-1)
code=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["error"]["code"])' "$KD/u.json" 2>/dev/null)
wait "$FPID"
kill -CONT $NODES
check "with every node stopped mid-request it answers 503 unconfirmed, not unavailable (got $st $code)" \
  test "$st $code" = "503 unconfirmed"
retry() { for _ in $(seq 45); do st=$(post2 unconfirmed-1); [ "$st" = 202 ] && return 0; sleep 1; done; return 1; }
check "the retry with the same Idempotency-Key is accepted once the nodes run again" retry
UID1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$KD/u.json" 2>/dev/null)
check "the web form at the same moment answers 503, asking to send it again (got $(cat "$KD/form1.code"))" \
  bash -c "[ \"\$(cat '$KD/form1.code')\" = 503 ] && grep -q 'will not be sent twice' '$KD/form1.html'"
check "with the token it was sent with" test "$(token "$KD/form1.html")" = "$TOK"
resend() {
  for _ in $(seq 45); do
    [ "$(form2 "$(token "$KD/form1.html")" "$KD/form2.html")" = 200 ] &&
      grep -q 'id="reference"' "$KD/form2.html" && return 0
    sleep 1
  done
  return 1
}
check "sending the form again gets its confirmation" resend
one() { for _ in $(seq 60); do [ "$(sql "SELECT count(*) FROM intake.referrals WHERE id = '$UID1'")" = 1 ] && return 0; sleep 1; done; return 1; }
check "intake stores that referral" one
settle() { # until the count of stored referrals stops growing
  local a b
  for _ in $(seq 30); do a=$(stored); sleep 2; b=$(stored); [ "$a" = "$b" ] && return 0; done
}
settle
check "exactly once: one referral for the API request and its retry, one for the form and its resend ($(( $(stored) - BEFORE )) new)" \
  test "$(( $(stored) - BEFORE ))" = 2
copies=$("$B/topic-dump" "$K" referral.submissions 2>/dev/null | grep -c "$UID1")
echo "# that referral is on referral.submissions $copies times (2: the broker committed the attempt answered unconfirmed as well as the retry)"

# ---- a clean stop, no broker left ----
check "the daemons stop cleanly" stack_stop
PIDS=$(cat "$KD"/node*/kafka.pid 2>/dev/null)
check "the cluster stops" scripts/kafka.sh cluster-stop "$KD"
left=0; for p in $PIDS; do kill -0 "$p" 2>/dev/null && left=$((left + 1)); done
check "no broker process is left ($left)" test "$left" = 0
echo "# figures: sent $SENT, 202 $N202, first answered 503 $N503, stored $NSTORED, routed $NROUTED, load ${SECS:-?} s, whole test $(elapsed) s"
