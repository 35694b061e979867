/*
 * testdb: helpers for tests against a real PostgreSQL (see testdb.h).
 * Kept apart from testenv.c so tools that share the test support library
 * without cmocka (intake-load, the benchmarks) need not link it.
 */
#include "testdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "db.h"

long
testdb_count(struct db *db, const char *sql, const char *arg)
{
        const char *p[1] = {arg};
        PGresult *r = db_query(db, sql, arg ? 1 : 0, arg ? p : NULL, NULL);
        long n;

        assert_non_null(r);
        n = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
        return n;
}
