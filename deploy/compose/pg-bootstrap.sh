#!/usr/bin/env bash
# pg-bootstrap.sh SECRETS: what scripts/pg.sh bootstrap does, for a server
# that is already running (docker-compose.yml's db-init service; a managed
# PostgreSQL in Kubernetes). Idempotent; run it on every start.
#
# Connects as the superuser named by PGHOST/PGPORT/PGUSER with the password
# in SECRETS/pg-admin.password. Makes database "signpost", the extensions
# pg_trgm, cube, earthdistance (in public), and per daemon a login role
# signpost_<daemon> owning schema <daemon> with search_path "<daemon>,
# public" and no other rights; PUBLIC loses CONNECT on the database and
# CREATE on public. Each role's password is the fifth field of
# SECRETS/db-<daemon>.pgpass (a libpq password file the daemon names with
# passfile= in SIGNPOST_DB); a daemon without that file is skipped.
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
n=0
for d in $DAEMONS; do
  f=$secrets/db-$d.pgpass
  [ -r "$f" ] || continue
  pw=$(head -n 1 "$f" | cut -d: -f5-)
  case "$pw" in
    '' | *:* | *\\*) echo "pg-bootstrap: $f: want *:*:signpost:signpost_$d:PASSWORD (no ':' or '\\' in it)" >&2; exit 1 ;;
  esac
  psql_su -d signpost -v role="signpost_$d" -v schema="$d" -v pw="$pw" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role') \gexec
ALTER ROLE :"role" PASSWORD :'pw' LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION :"role";
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
GRANT CONNECT ON DATABASE signpost TO :"role";
ALTER ROLE :"role" SET search_path = :"schema", public;
SQL
  n=$((n + 1))
done
echo "pg-bootstrap: database signpost, $n daemon roles"
