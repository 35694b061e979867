#!/usr/bin/env bash
# pg-bootstrap.sh SECRETS: what scripts/pg.sh bootstrap does, for a server
# that is already running (docker-compose.yml's db-init service; a managed
# PostgreSQL in Kubernetes). Idempotent; run it on every start.
#
# Connects as the superuser named by PGHOST/PGPORT/PGUSER with the password
# in SECRETS/pg-admin.password. Makes database "signpost", the extensions
# pg_trgm, cube, earthdistance (in public), and per daemon schema <daemon>
# owned by signpost_<daemon>_owner (the migration step's role) and the
# login role signpost_<daemon> the daemon runs as, with USAGE on its schema
# and no other rights until its migrations grant them (lib/db.h
# db_migrate_grant); both with search_path "<daemon>, public". PUBLIC loses
# CONNECT on the database and CREATE on public. Each password is the fifth
# field of SECRETS/db-<daemon>.pgpass or db-<daemon>-owner.pgpass (libpq
# password files named with passfile=); a daemon without both is skipped.
set -euo pipefail
secrets=$1
DAEMONS="gateway intake directory consent notification retention reporting"
PGPASSWORD=$(cat "$secrets/pg-admin.password")
export PGPASSWORD
export PGOPTIONS="-c client_min_messages=warning"
psql_su() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

for _ in $(seq 60); do
  psql_su -d postgres -tAc "SELECT 1" >/dev/null 2>&1 && break
  sleep 1
done
psql_su -d postgres -tAc "SELECT 1 FROM pg_database WHERE datname='signpost'" | grep -q 1 ||
  psql_su -d postgres -c "CREATE DATABASE signpost"
psql_su -d signpost <<'SQL'
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public;
CREATE EXTENSION IF NOT EXISTS cube SCHEMA public;
CREATE EXTENSION IF NOT EXISTS earthdistance SCHEMA public;
REVOKE ALL ON DATABASE signpost FROM PUBLIC;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;
SQL
# pgpass_pw FILE ROLE: the password in a one-line libpq password file.
pgpass_pw() {
  local pw
  pw=$(head -n 1 "$1" | cut -d: -f5-)
  case "$pw" in
    '' | *:* | *\\*) echo "pg-bootstrap: $1: want *:*:signpost:$2:PASSWORD (no ':' or '\\' in it)" >&2; return 1 ;;
  esac
  echo "$pw"
}
n=0
for d in $DAEMONS; do
  f=$secrets/db-$d.pgpass o=$secrets/db-$d-owner.pgpass
  [ -r "$f" ] && [ -r "$o" ] || continue
  pw=$(pgpass_pw "$f" "signpost_$d") || exit 1
  opw=$(pgpass_pw "$o" "signpost_${d}_owner") || exit 1
  psql_su -d signpost -v role="signpost_$d" -v owner="signpost_${d}_owner" -v schema="$d" \
    -v pw="$pw" -v opw="$opw" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
SELECT format('CREATE ROLE %I LOGIN', :'owner')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'owner') \gexec
ALTER ROLE :"role" PASSWORD :'pw' LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
ALTER ROLE :"owner" PASSWORD :'opw' LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"owner";
-- a database made before the owner roles: its tables pass to the owner
ALTER SCHEMA :"schema" OWNER TO :"owner";
REASSIGN OWNED BY :"role" TO :"owner";
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
REVOKE CREATE ON SCHEMA :"schema" FROM :"role";
GRANT USAGE ON SCHEMA :"schema" TO :"role";
GRANT CONNECT ON DATABASE signpost TO :"role", :"owner";
ALTER ROLE :"role" SET search_path = :"schema", public;
ALTER ROLE :"owner" SET search_path = :"schema", public;
SQL
  n=$((n + 1))
done
echo "pg-bootstrap: database signpost, $n daemons (owner and runtime roles)"
