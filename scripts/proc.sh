# Sourced by scripts/run.sh and scripts/kafka.sh: stopping a process they
# started in the background and whose pid they wrote to a file.
#
# stop_pid FILE SECONDS: SIGTERM the process in FILE, wait for it to exit,
# SIGKILL it after SECONDS (and say so on stderr); FILE is removed.
stop_pid() {
  local f=$1 secs=$2 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq $((secs * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "$(basename "$f" .pid) did not stop in $secs s; killing" >&2; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$f"
}
