/*
 * db_set_prepare / db_set_custom_plans: each statement text is prepared
 * once per connection and reused, errors and values behave as before,
 * a new connection prepares again, custom plans are asked for, and
 * db_query_generic's statements keep one plan among them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "testenv.h"

static char conninfo[512];

static int
setup(void **state)
{
        (void)state;
        return testenv_db("t_db_prepare", conninfo, sizeof(conninfo));
}

/* prepared: how many statements this connection holds prepared. */
static long
prepared(struct db *db)
{
        PGresult *r =
            PQexec(db_conn(db), "SELECT count(*) FROM pg_prepared_statements");
        long n = atol(PQgetvalue(r, 0, 0));

        PQclear(r);
        return n;
}

static void
test_statements_prepared_once_and_reused(void **state)
{
        struct db *db = db_open(conninfo);
        struct err e = {0};
        const char *sql = "SELECT $1::int + 1";
        char text[16], same[sizeof("SELECT $1::int + 1")];

        (void)state;
        db_set_prepare(db, true);
        for (int i = 0; i < 5; i++) {
                const char *p[1] = {text};
                PGresult *r;

                snprintf(text, sizeof(text), "%d", i);
                /* the same text at another address is the same statement */
                memcpy(same, sql, sizeof(same));
                r = db_query(db, i % 2 ? same : sql, 1, p, &e);
                assert_non_null(r);
                assert_int_equal(atoi(PQgetvalue(r, 0, 0)), i + 1);
                PQclear(r);
        }
        assert_int_equal(prepared(db), 1);
        /* errors are still classified from the statement's own failure */
        assert_int_equal(db_exec(db, "SELECT 1/0", 0, NULL, NULL, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_int_equal(db_exec(db, "SELEC nonsense", 0, NULL, NULL, &e), -1);
        assert_int_equal(e.kind, ERR_FATAL);
        assert_int_equal(db_exec(db, "SELECT 1", 0, NULL, NULL, &e), 0);
        db_free(db);
}

static void
test_statement_error_in_transaction_is_its_own(void **state)
{
        struct db *db = db_open(conninfo);
        struct err e = {0};

        (void)state;
        db_set_prepare(db, true);
        assert_int_equal(db_begin(db, &e), 0);
        /* fails while being prepared: the error is the statement's (a data
         * error), not "transaction aborted" from running it again */
        assert_int_equal(db_exec(db, "SELECT 'x'::int", 0, NULL, NULL, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_non_null(strstr(e.msg, "22P02"));
        db_rollback(db);
        assert_int_equal(db_exec(db, "SELECT 1", 0, NULL, NULL, &e), 0);
        db_free(db);
}

static void
test_new_connection_prepares_again(void **state)
{
        struct db *db = db_open(conninfo), *admin = db_open(conninfo);
        struct err e = {0};
        PGresult *r;

        (void)state;
        db_set_prepare(db, true);
        assert_int_equal(db_exec(db, "SELECT 2", 0, NULL, NULL, &e), 0);
        r = db_query(db, "SELECT pg_backend_pid()::text", 0, NULL, &e);
        const char *p[1] = {PQgetvalue(r, 0, 0)};
        /* the server ends this session: the next statement reconnects */
        assert_int_equal(db_exec(admin, "SELECT pg_terminate_backend($1::int)",
                                 1, p, NULL, &e),
                         0);
        PQclear(r);
        assert_int_equal(db_exec(db, "SELECT 2", 0, NULL, NULL, &e), -1);
        assert_int_equal(e.kind, ERR_TRANSIENT);
        assert_int_equal(db_exec(db, "SELECT 2", 0, NULL, NULL, &e), 0);
        assert_int_equal(prepared(db), 1);
        db_free(admin);
        db_free(db);
}

static void
test_custom_plans_asked_for_on_each_connection(void **state)
{
        struct db *db = db_open(conninfo);
        struct err e = {0};
        PGresult *r;

        (void)state;
        db_set_custom_plans(db, true);
        r = db_query(db, "SELECT current_setting('plan_cache_mode')", 0, NULL,
                     &e);
        assert_non_null(r);
        assert_string_equal(PQgetvalue(r, 0, 0), "force_custom_plan");
        PQclear(r);
        db_free(db);
        db = db_open(conninfo);
        r = db_query(db, "SELECT current_setting('plan_cache_mode')", 0, NULL,
                     &e);
        assert_string_equal(PQgetvalue(r, 0, 0), "auto");
        PQclear(r);
        db_free(db);
}

/* plans: "custom generic" plan counts of the prepared statement sql. */
static void
plans(struct db *db, const char *sql, char *out, size_t n)
{
        const char *p[1] = {sql};
        PGresult *r =
            PQexecParams(db_conn(db),
                         "SELECT custom_plans || ' ' || generic_plans"
                         " FROM pg_prepared_statements WHERE statement = $1",
                         1, NULL, p, NULL, NULL, 0);

        snprintf(out, n, "%s", PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
        PQclear(r);
}

static void
test_generic_statements_planned_once_others_with_values(void **state)
{
        struct db *db = db_open(conninfo);
        struct err e = {0};
        const char *g = "SELECT $1::int + 2", *c = "SELECT $1::int + 3";
        const char *p[1] = {"1"};
        char got[32];
        PGresult *r;

        (void)state;
        db_set_prepare(db, true);
        db_set_custom_plans(db, true);
        for (int i = 0; i < 3; i++) {
                r = db_query_generic(db, g, 1, p, &e);
                assert_non_null(r);
                assert_string_equal(PQgetvalue(r, 0, 0), "3");
                PQclear(r);
                r = db_query(db, c, 1, p, &e);
                assert_non_null(r);
                assert_string_equal(PQgetvalue(r, 0, 0), "4");
                PQclear(r);
        }
        plans(db, g, got, sizeof(got));
        assert_string_equal(got, "0 3");
        plans(db, c, got, sizeof(got));
        assert_string_equal(got, "3 0");
        /* a transaction begun after a generic statement runs with custom
         * plans, as the connection was set up */
        r = db_query_generic(db, g, 1, p, &e);
        PQclear(r);
        assert_int_equal(db_begin(db, &e), 0);
        r = db_query(db, "SELECT current_setting('plan_cache_mode')", 0, NULL,
                     &e);
        assert_string_equal(PQgetvalue(r, 0, 0), "force_custom_plan");
        PQclear(r);
        db_rollback(db);
        db_free(db);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_statements_prepared_once_and_reused),
            cmocka_unit_test(test_statement_error_in_transaction_is_its_own),
            cmocka_unit_test(test_new_connection_prepares_again),
            cmocka_unit_test(test_custom_plans_asked_for_on_each_connection),
            cmocka_unit_test(
                test_generic_statements_planned_once_others_with_values),
        };

        return cmocka_run_group_tests(tests, setup, NULL);
}
