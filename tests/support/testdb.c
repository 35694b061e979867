/*
 * testdb: helpers for tests against a real PostgreSQL (see testdb.h).
 * Kept apart from testenv.c so tools that share the test support library
 * without cmocka (intake-load, the benchmarks) need not link it.
 */
#include "testdb.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "db.h"
#include "testenv.h"

struct db *
testdb_migrated(const char *name, const char *schema, const char *migrations,
                char *conninfo, size_t sz)
{
        char sql[160];
        struct err e = {0};
        struct db *db;

        if (testenv_db(name, conninfo, sz) != 0 ||
            (db = db_open(conninfo)) == NULL)
                return NULL;
        snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
        db_set_schema(db, schema);
        if (db_exec(db, sql, 0, NULL, NULL, &e) != 0 ||
            db_migrate(db, schema, migrations, &e) != 0) {
                fprintf(stderr, "testdb: %s: %s\n", name, e.msg);
                db_free(db);
                return NULL;
        }
        return db;
}

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
