#!/usr/bin/python3
"""PostgreSQL server log (stdin) -> pgbench script (stdout).

Used by bench/run.d/directory.sh: with log_min_duration_statement = 0, the
server logs each statement a daemon ran ("execute <unnamed>: SQL" and a
"DETAIL:  parameters: $1 = '...'" line). This writes each one as a single
pgbench line with the parameters inlined as literals, so pgbench replays
exactly the SQL the daemon ran for one request. Background statements
(outbox relay, inbox, advisory locks, the bench's own settings) are left
out, and so is a connection's switch of plan mode (db_query_generic), which
happens once per run of one kind of request, not per request.
"""
import re
import sys

SKIP = re.compile(r"outbox|inbox|pg_advisory|pg_try_advisory|LISTEN|NOTIFY|"
                  r"ALTER SYSTEM|pg_reload_conf|pg_stat_activity|"
                  r"SET plan_cache_mode",
                  re.IGNORECASE)
STMT = re.compile(r"\] LOG:  duration: [0-9.]+ ms  "
                  r"(?:execute [^:]*|statement): (.*)$")
PARAMS = re.compile(r"\] DETAIL:  parameters: (.*)$")
ONE = re.compile(r"\$(\d+) = (NULL|'(?:[^']|'')*')")


def inline(sql, params):
    return re.sub(r"\$(\d+)\b",
                  lambda m: params.get(m.group(1), m.group(0)), sql)


def main():
    out, cur = [], None
    for line in sys.stdin:
        line = line.rstrip("\n")
        m = STMT.search(line)
        if m:
            if cur is not None:
                out.append(cur)
            cur = m.group(1)
            continue
        m = PARAMS.search(line)
        if m and cur is not None:
            cur = inline(cur, dict(ONE.findall(m.group(1))))
            out.append(cur)
            cur = None
    if cur is not None:
        out.append(cur)
    for sql in out:
        if not SKIP.search(sql) and sql.strip().upper() not in ("BEGIN",
                                                                "COMMIT"):
            print(sql.rstrip().rstrip(";") + ";")


if __name__ == "__main__":
    main()
