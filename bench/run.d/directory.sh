# Sourced by bench/run.sh once its throwaway stack is up (issue 3 item 7):
# the directory at DIR_BENCH_N (default 100,000) services. Loads the demo
# directory through directory.commands, starts the daemon, then for four
# ORUK reads measures requests/s and p50/p99 at 8 clients (build/bench/load)
# beside the very SQL the daemon ran for that request, replayed with
# pgbench -c 8, in rounds, and prints the medians and their ratio. Figures
# are printed, never asserted.
# Targets: p99 < 20 ms; daemon throughput >= 0.5x the raw SQL.
# Run once per broker (bench/run.sh): each run starts from an empty
# directory (dirb_reset), so both load the same 100,000 services.

dirb_n=${DIR_BENCH_N:-100000}
dirb_secs=${DIR_BENCH_SECONDS:-10}
dirb_clients=8
dirb_tmp=$SIGNPOST_TEST_TMP/dirbench
mkdir -p "$dirb_tmp"
dirb_pgdata=$(readlink -f "$SIGNPOST_TEST_PGDIR/data")

. tests/lib/stack.sh

dirb_psql() { psql "$SIGNPOST_TEST_PG dbname=signpost" -X -q -tA -c "$1"; }
dirb_admin() { # as the superuser, for server settings
  PGPASSWORD=$(cat "$SIGNPOST_TEST_PGDIR/admin.password") \
    psql -h 127.0.0.1 -p "$SIGNPOST_TEST_PGPORT" -U postgres -d signpost -X -q -tA -c "$1"
}

# dirb_reset: an empty directory (every table of its schema emptied as the
# superuser; its migrations stay applied), so that the second broker's run
# loads the same services into the same empty tables as the first.
dirb_reset() {
  dirb_admin "DO \$\$ DECLARE t text; BEGIN
    SELECT string_agg(format('directory.%I', tablename), ', ') INTO t
      FROM pg_tables WHERE schemaname = 'directory' AND tablename <> 'schema_migrations';
    IF t IS NOT NULL THEN EXECUTE 'TRUNCATE ' || t || ' CASCADE'; END IF; END \$\$" >/dev/null
}

# dirb_load FILE: produces FILE onto directory.commands, then waits for the
# directory's inbox to catch up. On kafka-mock in chunks, waiting for each:
# librdkafka's mock cluster keeps only ~5 MB per partition, and a bulk
# import job is one key, so one partition; unpaced, the broker would drop
# records before the consumer reads them. Apache Kafka keeps them all: one
# chunk.
dirb_load() {
  local f=$1 chunk=16 sent lines c
  [ "$SIGNPOST_BROKER" = kafka ] && chunk=$(wc -l < "$f")
  sent=$(dirb_psql "SELECT count(*) FROM directory.inbox")
  rm -f "$dirb_tmp"/chunk.*
  split -l "$chunk" -d -a 5 "$f" "$dirb_tmp/chunk."
  for c in "$dirb_tmp"/chunk.*; do
    lines=$(wc -l < "$c")
    "$BUILD/bin/directory-load" "$SIGNPOST_TEST_KAFKA" "$c" 2>/dev/null ||
      { echo "directory: directory-load failed on $c"; return 1; }
    sent=$((sent + lines))
    dirb_wait_inbox $((sent - chunk)) || return 1
  done
  dirb_wait_inbox "$sent"
}

# dirb_wait_inbox N: until the directory has handled N commands (10 min).
dirb_wait_inbox() {
  local want=$1 have i
  for i in $(seq 6000); do
    have=$(dirb_psql "SELECT count(*) FROM directory.inbox" 2>/dev/null)
    [ "${have:-0}" -ge "$want" ] && return 0
    sleep 0.1
  done
  echo "directory: inbox stuck at ${have:-0} of $want commands"; return 1
}

dirb_wait_outbox() { # until the relay has published everything (10 min)
  local i
  for i in $(seq 1200); do
    [ "$(dirb_psql "SELECT count(*) FROM directory.outbox")" = 0 ] && return 0
    sleep 0.5
  done
  return 1
}

# dirb_capture NAME URL: the statements the daemon runs for one GET of URL
# (from the server log, with log_min_duration_statement = 0 for a moment),
# parameters inlined, as a pgbench script $dirb_tmp/NAME.sql.
dirb_capture() {
  local name=$1 url=$2 log=$dirb_pgdata/server.log mark
  dirb_admin "ALTER SYSTEM SET log_min_duration_statement = 0" >/dev/null
  dirb_admin "SELECT pg_reload_conf()" >/dev/null
  sleep 0.5
  mark=$(wc -l < "$log")
  "$BUILD/bench/load" -c 1 -n 1 -w 0 -l capture -k "$SIGNPOST_TEST_SECRETS/principal.key" "$url" >/dev/null
  sleep 0.5
  dirb_admin "ALTER SYSTEM RESET log_min_duration_statement" >/dev/null
  dirb_admin "SELECT pg_reload_conf()" >/dev/null
  tail -n +"$((mark + 1))" "$log" | /usr/bin/python3 bench/pglog_script.py > "$dirb_tmp/$name.sql"
  [ -s "$dirb_tmp/$name.sql" ]
}

# dirb_pgbench NAME: "tps p50_ms p99_ms" of the captured script at 8 clients.
dirb_pgbench() {
  local name=$1
  rm -f "$dirb_tmp"/pgbench_log.*
  (cd "$dirb_tmp" && PGPASSWORD=$(cat "$SIGNPOST_TEST_PGDIR/admin.password") \
    PGOPTIONS="-c search_path=directory,public" \
    /usr/lib/postgresql/15/bin/pgbench -n -M simple -h 127.0.0.1 \
    -p "$SIGNPOST_TEST_PGPORT" -U postgres -c "$dirb_clients" -j 2 \
    -T "$dirb_secs" -l --log-prefix=pgbench_log -f "$name.sql" signpost \
    > "$name.pgbench.out" 2>&1)
  local tps
  tps=$(awk '/^tps/ {print int($3)}' "$dirb_tmp/$name.pgbench.out")
  cat "$dirb_tmp"/pgbench_log.* 2>/dev/null | awk '{print $3 / 1000}' | sort -n |
    awk -v tps="${tps:-0}" '{v[NR] = $1} END {
      if (NR == 0) { print tps, 0, 0; exit }
      printf "%d %.2f %.2f\n", tps, v[int((NR - 1) * 0.5) + 1], v[int((NR - 1) * 0.99) + 1] }'
}

# dirb_field KEY LINE: the value of KEY=value in LINE.
dirb_field() { echo "$2" | tr ' ' '\n' | awk -F= -v k="$1" '$1 == k {print $2}'; }

# dirb_case NAME URL_PATH: BENCH_ROUNDS (3) rounds, each the daemon under
# 8 clients then the captured SQL under pgbench; each round is printed,
# then the medians and the ratio of the median throughputs. Rounds
# alternate the two so that a slow spell of the shared machine lands on
# one round of each rather than on all of one.
dirb_case() {
  local name=$1 url d p r tps pp50 pp99 rps="" p50s="" p99s="" tpss="" pp50s="" pp99s=""
  url="$(stack_url directory)$2"
  if ! dirb_capture "$name" "$url"; then
    echo "directory_$name: could not capture the daemon's SQL"; return
  fi
  for r in $(seq "${BENCH_ROUNDS:-3}"); do
    d=$("$BUILD/bench/load" -c "$dirb_clients" -d "$dirb_secs" -w 1 -l "directory_$name" \
        -k "$SIGNPOST_TEST_SECRETS/principal.key" "$url")
    p=$(dirb_pgbench "$name")
    echo "$d [$r]"
    echo "$p" | awk -v n="$name" -v s="$(grep -c . "$dirb_tmp/$name.sql")" -v r="$r" \
      '{printf "pgbench_%s statements=%d tps=%d p50_ms=%s p99_ms=%s [%s]\n", n, s, $1, $2, $3, r}'
    rps="$rps $(dirb_field req_per_s "$d")"
    p50s="$p50s $(dirb_field p50_ms "$d")"
    p99s="$p99s $(dirb_field p99_ms "$d")"
    read -r tps pp50 pp99 <<< "$p"
    tpss="$tpss $tps" pp50s="$pp50s $pp50" pp99s="$pp99s $pp99"
  done
  rps=$(bench_median "$rps") tps=$(bench_median "$tpss")
  bench_figure "directory_${name}_req_per_s" "$rps" "pgbench_${name}_tps" "$tps" ">= 0.5"
  bench_figure "directory_${name}_p99_ms" "$(bench_median "$p99s")" - - "< 20"
  echo "directory_$name median: req_per_s=$rps p50_ms=$(bench_median "$p50s") p99_ms=$(bench_median "$p99s") (target p99 < 20; rounds:$p99s)"
  echo "pgbench_$name median: tps=$tps p50_ms=$(bench_median "$pp50s") p99_ms=$(bench_median "$pp99s")"
  awk -v n="$name" -v r="${rps:-0}" -v t="${tps:-0}" 'BEGIN {
    if (t > 0) printf "directory_%s_vs_pgbench_ratio=%.2f (target >= 0.5)\n", n, r / t }'
}

echo "== 3. directory at $dirb_n services: ORUK reads vs the same SQL in pgbench (broker=$bench_broker)"
trap 'stack_stop >/dev/null 2>&1' EXIT
if ! stack_start directory SIGNPOST_LOG_LEVEL=warn; then
  echo "directory: the daemon did not start"
else
  stack_stop >/dev/null 2>&1 # stopped while its tables are emptied
  dirb_reset
  stack_start directory SIGNPOST_LOG_LEVEL=warn >/dev/null || echo "directory: the daemon did not restart"
  t0=$(date +%s.%N)
  tools/directory-demo/gen.py -n "$dirb_n" > "$dirb_tmp/directory.ndjson"
  t1=$(date +%s.%N)
  if dirb_load "$dirb_tmp/directory.ndjson"; then
    t2=$(date +%s.%N)
    dirb_wait_outbox
    t3=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" -v c="$t2" -v d="$t3" -v n="$dirb_n" 'BEGIN {
      printf "directory_generate_s=%.1f directory_load_s=%.1f (%.0f services/s) outbox_drain_s=%.1f\n",
        b - a, c - b, n / (c - b), d - c }'
    bench_figure directory_load_services_per_s "$(awk -v b="$t1" -v c="$t2" -v n="$dirb_n" 'BEGIN { printf "%.0f", n / (c - b) }')"
    echo "directory_services_loaded=$(dirb_psql "SELECT count(*) FROM directory.services")"
    # what the load wrote is vacuumed and on disk (bench_quiet: CHECKPOINT,
    # autovacuum idle) before anything is timed:
    # a checkpoint spreading 100,000 services' pages over the cases would
    # halve the figures of the ones it lands in
    dirb_admin "VACUUM ANALYZE" >/dev/null
    bench_quiet
    term=$(dirb_psql "SELECT a.taxonomy_term_id FROM directory.attributes a
      JOIN directory.taxonomy_terms t ON t.id = a.taxonomy_term_id
      WHERE t.parent_id IS NOT NULL GROUP BY 1 ORDER BY count(*) DESC LIMIT 1")
    word=$(dirb_psql "SELECT lower(split_part(name, ' ', 1)) FROM directory.taxonomy_terms WHERE id = '$term'")
    pc=$(dirb_psql "SELECT replace(postcode, ' ', '') FROM directory.postcodes WHERE postcode LIKE 'ME14%' ORDER BY postcode LIMIT 1")
    sid=$(dirb_psql "SELECT id FROM directory.services ORDER BY id OFFSET $((dirb_n / 2)) LIMIT 1")
    echo "directory_queries: words=$word term=$term postcode=$pc id=$sid"
    dirb_case words "/services?search=$word"
    dirb_case words_term "/services?search=$word&taxonomy_term_id=$term"
    dirb_case postcode_5km "/services?postcode=$pc&proximity=5000&sort=distance"
    dirb_case by_id "/services/$sid"
  else
    echo "directory: loading failed; the daemon's last words:"
    grep -v 'msg="kafka seek failed"' "$SIGNPOST_TEST_TMP/directory.log" | tail -5 | sed 's/^/# /'
  fi
  stack_stop || echo "directory: did not stop cleanly"
fi
