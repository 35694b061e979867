#!/usr/bin/env bash
# A private PostgreSQL 15 cluster for the embedded default and for tests.
#
#   scripts/pg.sh start DIR PORT   create (once) and start a cluster in DIR
#   scripts/pg.sh stop DIR         stop it
#   scripts/pg.sh bootstrap DIR PORT SECRETS
#        database "signpost", extensions, and per daemon one schema, owned
#        by signpost_<daemon>_owner (which runs the migrations), and the
#        login role signpost_<daemon> the daemon runs as, with USAGE on
#        its own schema only (its table rights come with the migrations:
#        lib/db.h db_migrate_grant); passwords written to
#        SECRETS/db-<daemon>.password and db-<daemon>-owner.password (0600)
#
# initdb refuses root, so the server runs as the postgres user. Listens on
# 127.0.0.1:PORT only (no Unix socket: paths under a deep clone can exceed
# the socket path limit). The superuser password is DIR/admin.password.
set -euo pipefail
PGBIN=/usr/lib/postgresql/15/bin
DAEMONS="gateway intake directory consent notification retention reporting"

# glibc's malloc gives the top of a backend's heap back to the kernel once
# more than 128 kB of it is free, which is after nearly every query that
# sorts, hashes or builds a page of documents; the next query then faults
# the same pages back in (zeroed by the kernel): two brk calls and a few
# hundred page faults per query, half the CPU of a one-word search at
# 100,000 services. Backends keep up to 32 MB of free heap instead, and
# blocks under 16 MB come from the heap rather than from their own mmap.
# docker-compose.yml gives its PostgreSQL the same; see docs/operations.md.
PG_MALLOC=glibc.malloc.trim_threshold=33554432:glibc.malloc.mmap_threshold=16777216

as_pg() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# datadir DIR: where the cluster lives. DIR/data if the postgres user can
# reach it; otherwise a directory under /var/tmp linked from DIR/data.
datadir() {
  local dir=$1
  if [ -L "$dir/data" ] || [ -d "$dir/data" ]; then echo "$dir/data"; return; fi
  mkdir -p "$dir"
  if [ "$(id -u)" -ne 0 ] || runuser -u postgres -- test -x "$dir" 2>/dev/null; then
    mkdir -p "$dir/data"
  else
    local alt; alt=/var/tmp/signpost-pg-$(echo "$(cd "$dir" && pwd)" | md5sum | cut -c1-12)
    mkdir -p "$alt"; ln -s "$alt" "$dir/data"
  fi
  echo "$dir/data"
}

cmd_start() {
  local dir=$1 port=$2 data
  data=$(datadir "$dir")
  [ "$(id -u)" -eq 0 ] && chown postgres: "$(readlink -f "$data")"
  chmod 700 "$(readlink -f "$data")"
  if [ ! -f "$data/PG_VERSION" ]; then
    [ -f "$dir/admin.password" ] || (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$dir/admin.password")
    local pw; pw=$(mktemp); cp "$dir/admin.password" "$pw"
    [ "$(id -u)" -eq 0 ] && chown postgres "$pw"
    as_pg $PGBIN/initdb -D "$data" -U postgres --auth-local=peer \
      --auth-host=scram-sha-256 --pwfile="$pw" -E UTF8 --locale=C.UTF-8 >/dev/null
    rm -f "$pw"
    cat >> "$data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = ''
max_connections = 200
shared_buffers = 256MB
wal_level = replica
# each daemon's outbox is a queue table vacuumed after 1,000 dead rows
# (lib/db_migrate.c); look for that every 10 s, not every minute
autovacuum_naptime = 10s
log_min_messages = warning
log_statement = 'none'
log_min_error_statement = panic
CONF
  fi
  if as_pg $PGBIN/pg_ctl -D "$data" status >/dev/null 2>&1; then return 0; fi
  as_pg env GLIBC_TUNABLES="$PG_MALLOC" \
    $PGBIN/pg_ctl -D "$data" -o "-p $port" -l "$data/server.log" -w -t 60 start >/dev/null
}

cmd_stop() {
  local data=$1/data
  [ -e "$data/PG_VERSION" ] || return 0
  as_pg $PGBIN/pg_ctl -D "$data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
}

psql_admin() {
  local dir=$1 port=$2; shift 2
  PGOPTIONS="-c client_min_messages=warning" PGPASSWORD=$(cat "$dir/admin.password") psql -X -q -v ON_ERROR_STOP=1 \
    -h 127.0.0.1 -p "$port" -U postgres "$@"
}

cmd_bootstrap() {
  local dir=$1 port=$2 secrets=$3 d pw
  mkdir -p "$secrets"
  psql_admin "$dir" "$port" -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='signpost'" | grep -q 1 ||
    psql_admin "$dir" "$port" -d postgres -c "CREATE DATABASE signpost"
  psql_admin "$dir" "$port" -d signpost <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE EXTENSION IF NOT EXISTS cube SCHEMA public;
CREATE EXTENSION IF NOT EXISTS earthdistance SCHEMA public;
REVOKE ALL ON DATABASE signpost FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
  for d in $DAEMONS; do
    for f in "db-$d" "db-$d-owner"; do
      [ -f "$secrets/$f.password" ] ||
        (umask 077; head -c 24 /dev/urandom | base64 | tr -d '/+=' > "$secrets/$f.password")
    done
    psql_admin "$dir" "$port" -d signpost -v role="signpost_$d" -v owner="signpost_${d}_owner" \
      -v schema="$d" -v pw="$(cat "$secrets/db-$d.password")" \
      -v opw="$(cat "$secrets/db-$d-owner.password")" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'owner')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
ALTER ROLE :"role" PASSWORD :'pw' NOSUPERUSER NOCREATEDB NOCREATEROLE;
ALTER ROLE :"owner" PASSWORD :'opw' NOSUPERUSER NOCREATEDB NOCREATEROLE;
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"owner";
-- a cluster made before the owner roles: its tables pass to the owner
ALTER SCHEMA :"schema" OWNER TO :"owner";
REASSIGN OWNED BY :"role" TO :"owner";
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
REVOKE CREATE ON SCHEMA :"schema" FROM :"role";
GRANT USAGE ON SCHEMA :"schema" TO :"role";
GRANT CONNECT ON DATABASE signpost TO :"role", :"owner";
ALTER ROLE :"role" SET search_path = :"schema", public;
ALTER ROLE :"owner" SET search_path = :"schema", public;
SQL
  done
}

# conninfo DIR PORT SECRETS DAEMON [owner]: the daemon's libpq conninfo,
# or (owner) that of its schema's owner, which runs the migrations.
cmd_conninfo() {
  local secrets=$3 d=$4 sfx=
  [ "${5:-}" = owner ] && sfx=_owner
  echo "host=127.0.0.1 port=$2 dbname=signpost user=signpost_$d$sfx password=$(cat "$secrets/db-$d${sfx:+-owner}.password")"
}

case "${1:-}" in
  start) cmd_start "$2" "$3" ;;
  stop) cmd_stop "$2" ;;
  bootstrap) cmd_bootstrap "$2" "$3" "$4" ;;
  conninfo) cmd_conninfo "$2" "$3" "$4" "$5" "${6:-}" ;;
  psql) dir=$2 port=$3; shift 3; psql_admin "$dir" "$port" "$@" ;;
  *) echo "usage: $0 start|stop|bootstrap|conninfo|psql ..." >&2; exit 2 ;;
esac
