/*
 * db: statements, transactions, error kinds, migrations and reconnect,
 * against a real throwaway PostgreSQL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "testenv.h"

static char conninfo[512];

static int
setup(void **state)
{
        struct db *db;
        struct err e = {0};

        if (testenv_db("t_db", conninfo, sizeof(conninfo)) != 0)
                return -1;
        db = db_open(conninfo);
        if (db_exec(db, "CREATE SCHEMA s1", 0, NULL, NULL, &e) != 0)
                return -1;
        *state = db;
        return 0;
}

static int
teardown(void **state)
{
        db_free(*state);
        return 0;
}

/* first_value: the first cell of sql's answer (a buffer reused by the
 * next call). */
static const char *
first_value(struct db *db, const char *sql)
{
        static char v[512];
        struct err e = {0};
        PGresult *r = db_query(db, sql, 0, NULL, &e);

        assert_non_null(r);
        snprintf(v, sizeof(v), "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        return v;
}

static void
test_params_are_never_sql(void **state)
{
        struct db *db = *state;
        struct err e = {0};
        const char *p[1] = {"'); DROP TABLE x; --"};
        PGresult *r = db_query(db, "SELECT $1::text", 1, p, &e);

        assert_non_null(r);
        assert_string_equal(PQgetvalue(r, 0, 0), p[0]);
        PQclear(r);
}

/* db_query_raw: bytea comes back as its bytes (a zero byte included),
 * text as itself. */
static void
test_raw_results_are_bytes(void **state)
{
        struct db *db = *state;
        struct err e = {0};
        const char *p[1] = {"7"};
        PGresult *r = db_query_raw(
            db, "SELECT '\\x00ff41'::bytea, $1::int8::text, NULL::bytea", 1, p,
            &e);

        assert_non_null(r);
        assert_int_equal(PQgetlength(r, 0, 0), 3);
        assert_memory_equal(PQgetvalue(r, 0, 0),
                            "\x00\xff"
                            "A",
                            3);
        assert_string_equal(PQgetvalue(r, 0, 1), "7");
        assert_true(PQgetisnull(r, 0, 2));
        PQclear(r);
}

static void
test_error_kinds(void **state)
{
        struct db *db = *state;
        struct err e = {0};

        assert_int_equal(db_exec(db, "SELECT 1/0", 0, NULL, NULL, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_non_null(strstr(e.msg, "22012"));
        assert_int_equal(db_exec(db, "SELEC nonsense", 0, NULL, NULL, &e), -1);
        assert_int_equal(e.kind, ERR_FATAL);
        /* the connection survives statement errors */
        assert_int_equal(db_exec(db, "SELECT 1", 0, NULL, NULL, &e), 0);
}

static void
test_rollback_discards(void **state)
{
        struct db *db = *state;
        struct err e = {0};
        long n = -1;

        assert_int_equal(
            db_exec(db, "CREATE TABLE s1.t (a int)", 0, NULL, NULL, &e), 0);
        assert_int_equal(db_begin(db, &e), 0);
        assert_int_equal(
            db_exec(db, "INSERT INTO s1.t VALUES (1), (2)", 0, NULL, &n, &e),
            0);
        assert_int_equal(n, 2);
        db_rollback(db);
        assert_string_equal(first_value(db, "SELECT count(*) FROM s1.t"), "0");
}

static void
test_commit_of_failed_transaction_is_an_error(void **state)
{
        struct db *db = *state;
        struct err e = {0};

        assert_int_equal(db_begin(db, &e), 0);
        assert_int_equal(db_exec(db, "SELECT 1/0", 0, NULL, NULL, &e), -1);
        assert_int_equal(db_commit(db, &e), -1);
        db_rollback(db);
}

static void
test_savepoint_isolates(void **state)
{
        struct db *db = *state;
        struct err e = {0};

        assert_int_equal(
            db_exec(db, "CREATE TABLE s1.sp (a int)", 0, NULL, NULL, &e), 0);
        assert_int_equal(db_begin(db, &e), 0);
        assert_int_equal(
            db_exec(db, "INSERT INTO s1.sp VALUES (1)", 0, NULL, NULL, &e), 0);
        assert_int_equal(db_savepoint(db, &e), 0);
        assert_int_equal(db_exec(db, "SELECT 1/0", 0, NULL, NULL, &e), -1);
        assert_int_equal(db_rollback_to(db, &e), 0);
        assert_int_equal(db_commit(db, &e), 0);
        assert_string_equal(first_value(db, "SELECT count(*) FROM s1.sp"), "1");
}

static void
write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");

        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void
test_migrations_apply_once_in_order(void **state)
{
        struct db *db = *state;
        struct err e = {0};
        char dir[512], path[600];

        snprintf(dir, sizeof(dir), "%s/mig-%d", testenv_tmp(), (int)getpid());
        mkdir(dir, 0755);
        snprintf(path, sizeof(path), "%s/002_more.sql", dir);
        write_file(path, "INSERT INTO things VALUES (2);");
        snprintf(path, sizeof(path), "%s/001_things.sql", dir);
        write_file(path, "CREATE TABLE things (a int);\n"
                         "INSERT INTO things VALUES (1);");
        snprintf(path, sizeof(path), "%s/README", dir);
        write_file(path, "not a migration");
        assert_int_equal(db_migrate(db, "s1", dir, &e), 0);
        assert_int_equal(db_migrate(db, "s1", dir, &e), 0);
        assert_true(db_migrations_applied(db, "s1", dir));
        assert_string_equal(
            first_value(db, "SELECT string_agg(a::text, ',' ORDER BY a)"
                            " FROM s1.things"),
            "1,2");
        /* platform tables came first */
        assert_string_equal(
            first_value(db, "SELECT count(*) FROM s1.schema_migrations"
                            " WHERE name LIKE '000_platform%'"),
            "4");
        /* the outbox, a queue table, is vacuumed by a dead-row count */
        assert_non_null(
            strstr(first_value(db, "SELECT reloptions::text FROM pg_class"
                                   " WHERE oid = 's1.outbox'::regclass"),
                   "autovacuum_vacuum_threshold=1000"));
        snprintf(path, sizeof(path), "%s/003_new.sql", dir);
        write_file(path, "SELECT 1;");
        assert_false(db_migrations_applied(db, "s1", dir));
}

static void
test_broken_migration_stops_and_leaves_nothing(void **state)
{
        struct db *db = *state;
        struct err e = {0};
        char dir[512], path[600];

        assert_int_equal(db_exec(db, "CREATE SCHEMA s2", 0, NULL, NULL, &e), 0);
        snprintf(dir, sizeof(dir), "%s/migbad-%d", testenv_tmp(),
                 (int)getpid());
        mkdir(dir, 0755);
        snprintf(path, sizeof(path), "%s/001_half.sql", dir);
        write_file(path, "CREATE TABLE half (a int); SELEC broken;");
        assert_int_equal(db_migrate(db, "s2", dir, &e), -1);
        assert_int_equal(e.kind, ERR_FATAL);
        assert_string_equal(e.field, "001_half.sql");
        assert_string_equal(
            first_value(db, "SELECT to_regclass('s2.half') IS NULL"), "t");
}

static void
test_unreachable_is_transient(void **state)
{
        struct db *bad = db_open("host=127.0.0.1 port=1 connect_timeout=1");
        struct err e = {0};

        (void)state;
        assert_int_equal(db_ensure(bad, 300, &e), -1);
        assert_int_equal(e.kind, ERR_TRANSIENT);
        assert_false(db_connected(bad));
        db_free(bad);
}

static void
test_reconnects_after_backend_killed(void **state)
{
        struct db *db = *state;
        struct db *victim = db_open(conninfo);
        struct err e = {0};
        char pid[16];
        const char *p[1] = {pid};
        PGresult *r;

        r = db_query(victim, "SELECT pg_backend_pid()", 0, NULL, &e);
        snprintf(pid, sizeof(pid), "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        assert_int_equal(
            db_exec(db, "SELECT pg_terminate_backend($1::int)", 1, p, NULL, &e),
            0);
        assert_int_equal(db_exec(victim, "SELECT 1", 0, NULL, NULL, &e), -1);
        assert_int_equal(e.kind, ERR_TRANSIENT);
        assert_int_equal(db_ensure(victim, 5000, &e), 0);
        assert_int_equal(db_exec(victim, "SELECT 1", 0, NULL, NULL, &e), 0);
        db_free(victim);
}

static void
test_schema_search_path(void **state)
{
        struct db *db = db_open(conninfo);
        struct err e = {0};
        PGresult *r;

        (void)state;
        db_set_schema(db, "s1");
        r = db_query(db, "SELECT current_schema()", 0, NULL, &e);
        assert_non_null(r);
        assert_string_equal(PQgetvalue(r, 0, 0), "s1");
        PQclear(r);
        db_free(db);
}

static void
test_notify_wakes_listener(void **state)
{
        struct db *db = *state;
        struct db *l = db_open(conninfo);
        struct err e = {0};

        assert_int_equal(db_listen(l, "wake_me", &e), 0);
        assert_int_equal(db_listen(l, "bad; name", &e), -1);
        assert_int_equal(db_wait_notify(l, 50, &e), 0);
        assert_int_equal(db_exec(db, "NOTIFY wake_me", 0, NULL, NULL, &e), 0);
        assert_int_equal(db_wait_notify(l, 2000, &e), 1);
        db_free(l);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_params_are_never_sql),
            cmocka_unit_test(test_raw_results_are_bytes),
            cmocka_unit_test(test_error_kinds),
            cmocka_unit_test(test_rollback_discards),
            cmocka_unit_test(test_commit_of_failed_transaction_is_an_error),
            cmocka_unit_test(test_savepoint_isolates),
            cmocka_unit_test(test_migrations_apply_once_in_order),
            cmocka_unit_test(test_broken_migration_stops_and_leaves_nothing),
            cmocka_unit_test(test_unreachable_is_transient),
            cmocka_unit_test(test_reconnects_after_backend_killed),
            cmocka_unit_test(test_schema_search_path),
            cmocka_unit_test(test_notify_wakes_listener),
        };

        log_init("test_db", LOG_ERROR);
        return cmocka_run_group_tests(tests, setup, teardown);
}
