/*
 * test_lifecycle: a referral's states, the transitions allowed between
 * them, working days, and the reminder and escalation of a referral left
 * uncontacted.
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

static void
test_working_days_skip_weekends_and_bank_holidays(void **state)
{
        struct tm a = {.tm_year = 126, .tm_mon = 11, .tm_mday = 23};
        struct tm b = {.tm_year = 127, .tm_mon = 0, .tm_mday = 4};

        (void)state;
        /* Wed 23 Dec 2026 -> Mon 4 Jan 2027: 24th, 29th, 30th, 31st, 4th
         * (25th, 28th and 1st are bank holidays; weekends skipped) */
        assert_int_equal(intake_workdays(&in.holidays,
                                         intake_day_of(timegm(&a)),
                                         intake_day_of(timegm(&b))),
                         5);
}

static void
test_stale_reminder_then_escalation_once_each(void **state)
{
        char id[UUID_STR_LEN];
        struct tm mon = {.tm_year = 126,
                         .tm_mon = 10,
                         .tm_mday = 2,
                         .tm_hour = 9}; /* Mon 2 Nov 2026 */
        time_t t0 = timegm(&mon);
        char at[32];
        int sent = 0;

        (void)state;
        assert_int_equal(submit(personal("Stale"), svc_id, id), ERR_NONE);
        snprintf(at, sizeof(at), "%lld", (long long)t0);
        const char *p[2] = {id, at};
        assert_int_equal(db_exec(db,
                                 "UPDATE referrals SET received_at ="
                                 " to_timestamp($2::bigint) WHERE id = $1",
                                 2, p, NULL, NULL),
                         0);
        /* Mon 9 Nov: 5 working days */
        assert_int_equal(intake_stale_run(&in, db, t0 + 7 * 86400, &sent, NULL),
                         0);
        assert_int_equal(count("SELECT count(*) FROM referrals WHERE id = $1"
                               " AND reminded_at IS NULL",
                               id),
                         1);
        /* Tue 10 Nov: 6 working days -> reminder, once */
        assert_int_equal(intake_stale_run(&in, db, t0 + 8 * 86400, &sent, NULL),
                         0);
        assert_int_equal(intake_stale_run(&in, db, t0 + 8 * 86400, &sent, NULL),
                         0);
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE position($1"
                               " in convert_from(value, 'UTF8')) > 0 AND"
                               " position('referral_reminder_provider' in"
                               " convert_from(value, 'UTF8')) > 0",
                               id),
                         1);
        /* Fri 13 Nov: 9 working days -> escalation, once */
        assert_int_equal(
            intake_stale_run(&in, db, t0 + 11 * 86400, &sent, NULL), 0);
        assert_int_equal(
            intake_stale_run(&in, db, t0 + 12 * 86400, &sent, NULL), 0);
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE position($1"
                               " in convert_from(value, 'UTF8')) > 0 AND"
                               " (position('referral_reminder_provider' in"
                               " convert_from(value, 'UTF8')) > 0 OR"
                               " position('referral_escalation_admin' in"
                               " convert_from(value, 'UTF8')) > 0)",
                               id),
                         2);
        /* contacted referrals are never reminded */
        assert_int_equal(change(id, "accepted", NULL, "admin", NULL), ERR_NONE);
        assert_int_equal(change(id, "contacted", NULL, "admin", NULL),
                         ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM referrals WHERE id = $1"
                               " AND contacted_at IS NOT NULL",
                               id),
                         1);
}
static int
setup(void **state)
{
        (void)state;
        return fixture_setup("intake_test_lifecycle");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lifecycle_every_state_with_history),
            cmocka_unit_test(test_illegal_transitions_refused),
            cmocka_unit_test(test_transition_table),
            cmocka_unit_test(test_every_status_has_a_public_word),
            cmocka_unit_test(test_working_days_skip_weekends_and_bank_holidays),
            cmocka_unit_test(test_stale_reminder_then_escalation_once_each),
        };

        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
