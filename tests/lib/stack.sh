# Sourced by end-to-end test scripts (tests/scripts/*.sh). Starts daemons
# against the runner's throwaway PostgreSQL and kafka-mock, exactly as
# `make run` does, on ports offset by SIGNPOST_PORT_OFFSET (set per run by
# scripts/throwaway.sh); stops them on exit.
#
#   stack_start NAME [VAR=value ...]   start build/bin/signpost-NAME, wait
#                                      for /readyz (60 s)
#   stack_url NAME                     http://127.0.0.1:<port>
#   stack_stop                         SIGTERM all, check exit status 0
. scripts/env.sh
PG_PORT=$SIGNPOST_TEST_PGPORT
export SIGNPOST_PORT_OFFSET=${SIGNPOST_PORT_OFFSET:-1000}
STACK_PIDS=()
STACK_NAMES=()

stack_url() { echo "http://127.0.0.1:$(daemon_port "$1")"; }

stack_start() {
  local d=$1; shift
  (
    while IFS= read -r kv; do export "${kv?}"; done \
      < <(daemon_env "$d" "$SIGNPOST_TEST_SECRETS" "$SIGNPOST_TEST_KAFKA")
    for kv in "$@"; do export "${kv?}"; done
    exec "$SIGNPOST_TEST_BUILD/bin/signpost-$d"
  ) </dev/null >>"$SIGNPOST_TEST_TMP/$d.log" 2>&1 &
  STACK_PIDS+=($!); STACK_NAMES+=("$d")
  for _ in $(seq 300); do
    curl -fsS -o /dev/null "$(stack_url "$d")/readyz" 2>/dev/null && return 0
    kill -0 "${STACK_PIDS[-1]}" 2>/dev/null || { echo "# $d exited:"; tail -5 "$SIGNPOST_TEST_TMP/$d.log" | sed 's/^/# /'; return 1; }
    sleep 0.2
  done
  echo "# $d not ready in 60 s"; return 1
}

# stack_stop: SIGTERM each daemon; returns non-zero if any did not exit 0
# within 15 s (a clean stop is part of every daemon's contract).
stack_stop() {
  local i rc=0 st
  for i in "${!STACK_PIDS[@]}"; do
    kill -TERM "${STACK_PIDS[$i]}" 2>/dev/null || continue
    timeout 15 tail --pid="${STACK_PIDS[$i]}" -f /dev/null || { kill -KILL "${STACK_PIDS[$i]}"; rc=1; }
    wait "${STACK_PIDS[$i]}"; st=$?
    [ "$st" -eq 0 ] || { echo "# ${STACK_NAMES[$i]} exited $st"; rc=1; }
  done
  STACK_PIDS=(); STACK_NAMES=()
  return $rc
}
trap 'stack_stop >/dev/null 2>&1' EXIT
