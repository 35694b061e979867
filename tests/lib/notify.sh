# Sourced by the consent and notification end-to-end scripts: signed
# principals for the daemons' HTTP ports, producing the messages intake
# and the gateway would produce, and SQL as the test superuser. Needs
# stack.sh sourced first.
B=$SIGNPOST_TEST_BUILD/bin
T=$SIGNPOST_TEST_TMP
K=$SIGNPOST_TEST_KAFKA
S=$SIGNPOST_TEST_SECRETS

sql() { psql "$SIGNPOST_TEST_PG dbname=signpost" -X -qAt -c "$1"; }
uuid() { cat /proc/sys/kernel/random/uuid; }

# principal ROLE SUB: an X-Signpost-Principal value, valid 10 minutes.
principal() {
  /usr/bin/python3 - "$S/principal.key" "$1" "$2" <<'PY'
import base64, hashlib, hmac, json, sys, time
raw = open(sys.argv[1], "rb").read().strip()
key = base64.urlsafe_b64decode(raw.replace(b"+", b"-").replace(b"/", b"_") + b"=" * (-len(raw) % 4))
p = json.dumps({"sub": sys.argv[3], "role": sys.argv[2], "exp": int(time.time()) + 600},
               separators=(",", ":")).encode()
t = base64.urlsafe_b64encode(p).rstrip(b"=")
mac = hmac.new(key, t, hashlib.sha512).digest()[:32]
print((t + b"." + base64.urlsafe_b64encode(mac).rstrip(b"=")).decode())
PY
}

# http ROLE SUB METHOD URL [BODY]: prints "STATUS BODY".
http() {
  local out code
  out=$(mktemp)
  code=$(curl -sS -o "$out" -w '%{http_code}' -X "$3" \
    -H "X-Signpost-Principal: $(principal "$1" "$2")" \
    -H 'Content-Type: application/json' ${5:+--data "$5"} "$4")
  echo "$code $(cat "$out")"; rm -f "$out"
}

# produce TOPIC TYPE [seal]: KEY<TAB>JSON lines on stdin.
produce() {
  "$B/topic-produce" "$K" "$1" "$2" ${3:+"$S/notification.pk"} >/dev/null
}

# wait_for SECONDS QUERY EXPECTED: polls until sql QUERY prints EXPECTED.
wait_for() {
  local i
  for i in $(seq $(($1 * 5))); do
    [ "$(sql "$2")" = "$3" ] && return 0
    sleep 0.2
  done
  echo "# waited for: $2 = $3 (saw $(sql "$2"))"; return 1
}

# status ID: the delivery-log status of a message.
status() { sql "SELECT status FROM notification.message WHERE message_id = '$1'"; }
