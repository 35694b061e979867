/*
 * test_privileges: the daemon's runtime role, with the rights
 * db_migrate_grant gives it, and what it may not do.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>
#include <time.h>

#include "fixture.h"
#include "testenv.h"

/* The daemon's runtime role, with the rights db_migrate_grant gives it
 * (privileges.sql included), does a referral's whole life, and cannot
 * rewrite or remove the status history it appends to. */
static void
test_runtime_role_appends_history_only(void **state)
{
        char ci[800], sql[256], st[6], id[UUID_STR_LEN];
        struct db *saved = db, *rdb;
        struct err e = {0};

        (void)state;
        assert_int_equal(
            db_exec(db, "DROP ROLE IF EXISTS intake_test_privileges_rt", 0,
                    NULL, NULL, &e),
            0);
        assert_int_equal(db_exec(db,
                                 "CREATE ROLE intake_test_privileges_rt LOGIN"
                                 " PASSWORD 'intake_test_privileges_rt'",
                                 0, NULL, NULL, &e),
                         0);
        assert_int_equal(db_migrate_grant(db, INTAKE_SCHEMA,
                                          "intake_test_privileges_rt",
                                          "services/intake/migrations", &e),
                         0);
        snprintf(ci, sizeof(ci),
                 "%s user=intake_test_privileges_rt "
                 "password=intake_test_privileges_rt"
                 " options='-c search_path=intake'",
                 admin_ci);
        rdb = db_open(ci);
        assert_int_equal(db_ensure(rdb, 5000, &e), 0);
        db = rdb;
        assert_int_equal(submit(personal("Runtime"), svc_id, id), ERR_NONE);
        assert_int_equal(change(id, "delivered", NULL, "partner", org_id),
                         ERR_NONE);
        assert_int_equal(
            change(id, "declined", "no capacity", "partner", org_id), ERR_NONE);
        assert_int_equal(
            count("SELECT count(*) FROM status_history WHERE referral_id = $1",
                  id),
            3);
        snprintf(sql, sizeof(sql),
                 "UPDATE status_history SET to_status = 'accepted'"
                 " WHERE referral_id = '%s'",
                 id);
        assert_string_equal(testenv_sqlstate(db_conn(rdb), sql, st), "42501");
        snprintf(sql, sizeof(sql),
                 "DELETE FROM status_history WHERE referral_id = '%s'", id);
        assert_string_equal(testenv_sqlstate(db_conn(rdb), sql, st), "42501");
        assert_string_equal(
            testenv_sqlstate(db_conn(rdb), "TRUNCATE referrals CASCADE", st),
            "42501");
        assert_string_equal(testenv_sqlstate(db_conn(rdb),
                                             "ALTER TABLE status_history"
                                             " DROP COLUMN reason_blob",
                                             st),
                            "42501");
        assert_string_equal(
            testenv_sqlstate(db_conn(rdb), "CREATE TABLE intake.x (a int)", st),
            "42501");
        assert_int_equal(
            count("SELECT count(*) FROM status_history WHERE referral_id = $1",
                  id),
            3);
        db = saved;
        db_free(rdb);
}

static int
setup(void **state)
{
        (void)state;
        return fixture_setup("intake_test_privileges");
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_runtime_role_appends_history_only),
        };

        testenv_only(argc, argv);
        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
