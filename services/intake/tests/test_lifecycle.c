/*
 * test_lifecycle: a referral's states, with their history and events, and
 * the transitions allowed between them.
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
test_lifecycle_every_state_with_history(void **state)
{
        char id[UUID_STR_LEN];
        const char *path[] = {"delivered", "accepted", "contacted",
                              "in_progress", "completed"};
        size_t i;

        (void)state;
        assert_int_equal(submit(personal("Life"), svc_id, id), ERR_NONE);
        for (i = 0; i < 5; i++)
                assert_int_equal(change(id, path[i], NULL, "partner", org_id),
                                 ERR_NONE);
        assert_int_equal(
            count("SELECT count(*) FROM status_history WHERE referral_id = $1",
                  id),
            6);
        assert_int_equal(
            count("SELECT count(*) FROM referrals WHERE id = $1 AND status ="
                  " 'completed' AND contacted_at IS NOT NULL",
                  id),
            1);
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE ce_type ="
                               " 'signpost.referral.status_changed.v1' AND"
                               " key = $1",
                               id),
                         5);
        /* each with the word a person sees, which intake owns */
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE ce_type ="
                               " 'signpost.referral.status_changed.v1' AND"
                               " key = $1 AND convert_from(value, 'UTF8')::"
                               "json->>'public_status' = 'with_provider'",
                               id),
                         2);
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE ce_type ="
                               " 'signpost.referral.status_changed.v1' AND"
                               " key = $1 AND convert_from(value, 'UTF8')::"
                               "json->>'public_status' = 'contacted'",
                               id),
                         2);
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE ce_type ="
                               " 'signpost.referral.status_changed.v1' AND"
                               " key = $1 AND convert_from(value, 'UTF8')::"
                               "json->>'public_status' = 'closed'",
                               id),
                         1);
        /* and reporting's five facts of them, with the role only */
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE ce_type ="
                               " 'signpost.referral_fact.status_changed.v1'"
                               " AND topic = 'referral.facts' AND key = $1"
                               " AND position('subject_id' in"
                               " convert_from(value, 'UTF8')) = 0",
                               id),
                         5);
        json_t *n =
            outbox_json("notification.requests", "referral_completed_person");
        assert_non_null(n);
        json_t *c = open_sealed(n, notify_pk, notify_sk);
        assert_string_equal(json_string_value(json_object_get(c, "email")),
                            "alex.Life@example.org");
        json_decref(c);
        json_decref(n);
}

static void
test_illegal_transitions_refused(void **state)
{
        char id[UUID_STR_LEN], other[UUID_STR_LEN];

        (void)state;
        uuid_v4(other);
        assert_int_equal(submit(personal("Illegal"), svc_id, id), ERR_NONE);
        assert_int_equal(change(id, "completed", NULL, "provider", org_id),
                         ERR_CONFLICT);
        assert_int_equal(change(id, "declined", NULL, "provider", org_id),
                         ERR_INVALID);
        assert_int_equal(change(id, "accepted", NULL, "provider", other),
                         ERR_NOT_FOUND);
        assert_int_equal(change(id, "withdrawn", NULL, "provider", org_id),
                         ERR_INVALID);
        assert_int_equal(
            change(id, "declined", "no capacity", "provider", org_id),
            ERR_NONE);
        assert_int_equal(change(id, "accepted", NULL, "admin", NULL),
                         ERR_CONFLICT);
        assert_int_equal(
            count("SELECT count(*) FROM status_history WHERE referral_id = $1",
                  id),
            2);
}

/* Every status a referral can be in has the word a person sees. */
static void
test_every_status_has_a_public_word(void **state)
{
        static const char *const all[] = {
            "received",  "delivered",   "accepted",
            "contacted", "in_progress", "completed",
            "declined",  "withdrawn",   "unable_to_contact"};
        static const char *const words[] = {
            "received",  "with_provider", "with_provider",
            "contacted", "contacted",     "closed",
            "closed",    "closed",        "closed"};

        (void)state;
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
                assert_true(intake_status_valid(all[i]));
                assert_string_equal(intake_public_status(all[i]), words[i]);
        }
        assert_null(intake_public_status("lost"));
        assert_null(intake_public_status(NULL));
}

static void
test_transition_table(void **state)
{
        (void)state;
        assert_true(intake_transition_allowed("received", "delivered"));
        assert_true(intake_transition_allowed("accepted", "unable_to_contact"));
        assert_true(intake_transition_allowed("in_progress", "completed"));
        assert_false(intake_transition_allowed("completed", "in_progress"));
        assert_false(intake_transition_allowed("received", "contacted"));
        assert_false(intake_transition_allowed("declined", "accepted"));
}

static int
setup(void **state)
{
        (void)state;
        return fixture_setup("intake_test_lifecycle");
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lifecycle_every_state_with_history),
            cmocka_unit_test(test_illegal_transitions_refused),
            cmocka_unit_test(test_transition_table),
            cmocka_unit_test(test_every_status_has_a_public_word),
        };

        testenv_only(argc, argv);
        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
