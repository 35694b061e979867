# Shared settings for scripts/run.sh and the benchmarks: where the embedded
# stack keeps its state, and the fixed internal port of each daemon.
RUN_DIR=${SIGNPOST_RUN_DIR:-$PWD/.run}
PG_PORT=${SIGNPOST_PG_PORT:-55432}
DAEMONS="directory intake consent notification retention reporting gateway"
daemon_port() {
  case $1 in
    gateway) echo "${SIGNPOST_GATEWAY_PORT:-8080}" ;;
    intake) echo 8091 ;; directory) echo 8092 ;; consent) echo 8093 ;;
    notification) echo 8094 ;; retention) echo 8095 ;; reporting) echo 8096 ;;
  esac
}
# daemon_env NAME SECRETS BOOTSTRAP: the environment a daemon starts with.
daemon_env() {
  local d=$1 secrets=$2 boot=$3 up
  up=$(echo "$d" | tr a-z A-Z)
  echo "SIGNPOST_DB=$(scripts/pg.sh conninfo x "$PG_PORT" "$secrets" "$d")"
  echo "SIGNPOST_KAFKA=$boot"
  echo "SIGNPOST_${up}_LISTEN=127.0.0.1:$(daemon_port "$d")"
  echo "SIGNPOST_PRINCIPAL_KEY_FILE=$secrets/principal.key"
  echo "SIGNPOST_SECRETS_DIR=$secrets"
  echo "SIGNPOST_MIGRATIONS_DIR=services/$d/migrations"
}
