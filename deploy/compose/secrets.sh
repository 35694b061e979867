#!/usr/bin/env bash
# deploy/compose/secrets.sh DIR [BIN]: makes (once) every secret file
# docker-compose.yml names: the platform keys (scripts/secrets.sh, with
# BIN/signpost-keygen, default build/bin), the PostgreSQL superuser
# password, and two libpq password files per daemon: its own role's
# ("*:*:signpost:signpost_<daemon>:PASSWORD") and its schema owner's
# (db-<daemon>-owner.pgpass, signpost_<daemon>_owner), which only the
# migration step reads.
#
# And the broker's: a Kafka CA (DIR/kafka/ca.crt, ca.key; the key is never
# mounted) and, as scripts/kafka.sh user makes them for the embedded
# broker, one TLS certificate per broker user in DIR/kafka/<user>/:
# user.crt (CN=<user>, the user name the broker's ACLs name), user.key
# (PKCS#8 PEM) and ca.crt. The users: broker (the broker's own, also named
# kafka in its subjectAltName, the host the daemons reach it by), admin
# (kafka-init), each principal of proto/broker.json (one per daemon), and
# partner-<org> for each id in $SIGNPOST_PARTNER_ORGS (give that directory
# to the partner). Compose mounts DIR/kafka/<user> at /run/secrets/kafka,
# which SIGNPOST_KAFKA_TLS_DIR names.
#
# Then every file is made mode 0400 and, when run as root, owned by
# uid/gid 10001 (the signpost image's user; DIR/kafka/broker: 1000, the
# apache/kafka image's appuser, SIGNPOST_KAFKA_UID): Compose bind-mounts
# secrets as they are on the host, and the daemons refuse key files that
# others can read. Not run as root, chown is left to you:
# sudo chown -R 10001:10001 DIR; sudo chown -R 1000:1000 DIR/kafka/broker
set -euo pipefail
dir=$1 bin=${2:-build/bin}
uid=${SIGNPOST_UID:-10001}
kafka_uid=${SIGNPOST_KAFKA_UID:-1000}
cd "$(dirname "$0")/../.."
mkdir -p "$dir"
scripts/secrets.sh "$dir" "$bin"
pw() { head -c 24 /dev/urandom | base64 | tr -d '/+='; }
umask 077
[ -s "$dir/pg-admin.password" ] || pw > "$dir/pg-admin.password"
for d in gateway intake directory consent notification retention reporting; do
  f=$dir/db-$d.pgpass
  [ -s "$f" ] || echo "*:*:signpost:signpost_$d:$(pw)" > "$f"
  f=$dir/db-$d-owner.pgpass
  [ -s "$f" ] || echo "*:*:signpost:signpost_${d}_owner:$(pw)" > "$f"
done

# The Kafka CA and kafka_user NAME [SAN] as scripts/kafka.sh's tls_ca and
# cmd_user make them (same files, same layout), with the subjectAltName
# given (the broker's must name the host clients connect to).
ca=$dir/kafka
kafka_ca() {
  mkdir -p "$ca"; chmod 700 "$ca"
  [ -s "$ca/ca.crt" ] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$ca/ca.key" -out "$ca/ca.crt" -days 3650 -subj "/CN=signpost-kafka-ca" 2>/dev/null
}
kafka_user() {
  local name=$1 san=${2:-IP:127.0.0.1,DNS:localhost} d=$ca/$1
  case "$name" in
    '' | *[!a-zA-Z0-9._-]*) echo "secrets.sh: broker user $name: letters, digits, . _ - only" >&2; return 1 ;;
  esac
  [ -s "$d/user.crt" ] && return 0
  mkdir -p "$d"; chmod 700 "$d"
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout "$d/key.pem" -out "$d/user.csr" -subj "/CN=$name" 2>/dev/null
  printf 'subjectAltName=%s\n' "$san" > "$d/ext"
  openssl x509 -req -in "$d/user.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" \
    -CAcreateserial -out "$d/user.crt" -days 3650 -extfile "$d/ext" 2>/dev/null
  openssl pkcs8 -topk8 -nocrypt -in "$d/key.pem" -out "$d/user.key"
  cp "$ca/ca.crt" "$d/ca.crt"
  rm -f "$d/key.pem" "$d/user.csr" "$d/ext"
}
kafka_ca
kafka_user broker "DNS:kafka,DNS:localhost,IP:127.0.0.1"
users="admin $(python3 -c 'import json;print(" ".join(json.load(open("proto/broker.json"))["principals"]))')"
for org in ${SIGNPOST_PARTNER_ORGS:-}; do users="$users partner-$org"; done
for u in $users; do kafka_user "$u"; done

find "$dir" -maxdepth 1 -type f -exec chmod 0400 {} +
chmod 0400 "$ca/ca.key" "$ca/ca.crt"
for u in broker $users; do chmod 0400 "$ca/$u"/*; done
if [ "$(id -u)" -eq 0 ]; then
  find "$dir" -maxdepth 1 -type f -exec chown "$uid:$uid" {} +
  for u in $users; do chown -R "$uid:$uid" "$ca/$u"; done
  chown -R "$kafka_uid:$kafka_uid" "$ca/broker"
fi
echo "secrets in $dir ($(find "$dir" -type f | wc -l) files; broker users: broker $users)"
