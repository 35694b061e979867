#!/usr/bin/env bash
# scripts/demo.sh RUN_DIR [N]: loads the demo directory (N synthetic
# services, default 1000, plus the shared Open Referral UK examples) into a
# running stack through directory.commands, once per PostgreSQL cluster.
set -euo pipefail
run=$1 n=${2:-1000}
BIN=${SIGNPOST_BIN:-build/bin}
[ -x "$BIN/directory-load" ] || exit 0
[ -f "$run/pg/demo-loaded" ] && exit 0
{ tools/directory-demo/examples.py; tools/directory-demo/gen.py -n "$n"; } > "$run/demo.ndjson"
"$BIN/directory-load" "$(cat "$run/kafka.bootstrap")" "$run/demo.ndjson" >/dev/null
touch "$run/pg/demo-loaded"
echo "demo data: $n services and the Open Referral UK examples sent to directory.commands"
