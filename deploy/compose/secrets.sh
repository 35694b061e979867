#!/usr/bin/env bash
# deploy/compose/secrets.sh DIR [BIN]: makes (once) every secret file
# docker-compose.yml names: the platform keys (scripts/secrets.sh, with
# BIN/signpost-keygen, default build/bin), the PostgreSQL superuser
# password, and two libpq password files per daemon: its own role's
# ("*:*:signpost:signpost_<daemon>:PASSWORD") and its schema owner's
# (db-<daemon>-owner.pgpass, signpost_<daemon>_owner), which only the
# migration step reads. Then every file is made mode
# 0400 and, when run as root, owned by uid/gid 10001 (the image's user):
# Compose bind-mounts secrets as they are on the host, and the daemons
# refuse key files that others can read. Not run as root, chown is left to
# you: sudo chown 10001:10001 DIR/*
set -euo pipefail
dir=$1 bin=${2:-build/bin}
uid=${SIGNPOST_UID:-10001}
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
chmod 0400 "$dir"/*
if [ "$(id -u)" -eq 0 ]; then
  chown "$uid:$uid" "$dir"/*
fi
echo "secrets in $dir ($(ls "$dir" | wc -l) files)"
