/*
 * test_subjects: one subject per person: the same email is one subject,
 * a shared landline is not.
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

static void
test_same_email_same_subject(void **state)
{
        char a[UUID_STR_LEN], b[UUID_STR_LEN];

        (void)state;
        assert_int_equal(submit(personal("Twice"), svc_id, a), ERR_NONE);
        assert_int_equal(submit(personal("Twice"), svc_id, b), ERR_NONE);
        const char *p[2] = {a, b};
        PGresult *r = db_query(db,
                               "SELECT count(DISTINCT subject_id) FROM"
                               " referrals WHERE id IN ($1, $2)",
                               2, p, NULL);
        assert_string_equal(PQgetvalue(r, 0, 0), "1");
        PQclear(r);
}

/* Two people of one household, one landline: never one subject (they
 * would share a key, a consent state and each other's rights requests). */
static void
test_shared_phone_two_subjects(void **state)
{
        char a[UUID_STR_LEN], b[UUID_STR_LEN], c[UUID_STR_LEN];
        json_t *pb = personal("Landline2"), *pc = personal("Landline3");

        (void)state;
        assert_int_equal(submit(personal("Landline1"), svc_id, a), ERR_NONE);
        assert_int_equal(submit(pb, svc_id, b), ERR_NONE); /* same phone */
        json_object_del(json_object_get(pc, "person"), "email");
        assert_int_equal(submit(pc, svc_id, c), ERR_NONE); /* phone only */
        const char *p[3] = {a, b, c};
        PGresult *r = db_query(db,
                               "SELECT count(DISTINCT subject_id) FROM"
                               " referrals WHERE id IN ($1, $2, $3)",
                               3, p, NULL);
        assert_non_null(r);
        assert_string_equal(PQgetvalue(r, 0, 0), "3");
        PQclear(r);
}

static int
setup(void **state)
{
        (void)state;
        return fixture_setup("intake_test_subjects");
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_same_email_same_subject),
            cmocka_unit_test(test_shared_phone_two_subjects),
        };

        testenv_only(argc, argv);
        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
