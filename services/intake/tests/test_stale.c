/*
 * test_stale: working days, and the reminder and escalation of a referral
 * left uncontacted; a contacted one is never reminded. Each sweep is run
 * at a time the test gives (intake_stale_run's now), never the clock's.
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

/* Mon 2 Nov 2026, 09:00 UTC: when the referrals below were received */
static time_t
monday(void)
{
        struct tm mon = {
            .tm_year = 126, .tm_mon = 10, .tm_mday = 2, .tm_hour = 9};

        return timegm(&mon);
}

/* received_at: backdates referral id's receipt to t. */
static void
received_at(const char *id, time_t t)
{
        char at[32];

        snprintf(at, sizeof(at), "%lld", (long long)t);
        const char *p[2] = {id, at};
        assert_int_equal(db_exec(db,
                                 "UPDATE referrals SET received_at ="
                                 " to_timestamp($2::bigint) WHERE id = $1",
                                 2, p, NULL, NULL),
                         0);
}

/* sweep: one stale sweep as if it were days after monday() */
static void
sweep(int days)
{
        int sent = 0;

        assert_int_equal(
            intake_stale_run(&in, db, monday() + days * 86400, &sent, NULL), 0);
}

/* nudges: the reminders (provider) and escalations (admin) queued for
 * referral id. */
static long
nudges(const char *id, const char *which)
{
        char sql[256];

        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM outbox WHERE position($1 in"
                 " convert_from(value, 'UTF8')) > 0 AND position('%s' in"
                 " convert_from(value, 'UTF8')) > 0",
                 which);
        return count(sql, id);
}

#define REMINDER "referral_reminder_provider"
#define ESCALATION "referral_escalation_admin"

static void
test_stale_reminder_then_escalation_once_each(void **state)
{
        char id[UUID_STR_LEN];

        (void)state;
        assert_int_equal(submit(personal("Stale"), svc_id, id), ERR_NONE);
        received_at(id, monday());
        /* Mon 9 Nov: 5 working days */
        sweep(7);
        assert_int_equal(count("SELECT count(*) FROM referrals WHERE id = $1"
                               " AND reminded_at IS NULL",
                               id),
                         1);
        assert_int_equal(nudges(id, REMINDER), 0);
        /* Tue 10 Nov: 6 working days -> reminder, once */
        sweep(8);
        sweep(8);
        assert_int_equal(nudges(id, REMINDER), 1);
        assert_int_equal(nudges(id, ESCALATION), 0);
        /* Fri 13 Nov: 9 working days -> escalation, once */
        sweep(11);
        sweep(12);
        assert_int_equal(nudges(id, REMINDER), 1);
        assert_int_equal(nudges(id, ESCALATION), 1);
}

/* Two referrals received at the same time; one is contacted. The sweeps
 * that remind and escalate the other leave it alone. */
static void
test_contacted_referral_never_reminded(void **state)
{
        char id[UUID_STR_LEN], left[UUID_STR_LEN];

        (void)state;
        assert_int_equal(submit(personal("Contacted"), svc_id, id), ERR_NONE);
        assert_int_equal(submit(personal("Left"), svc_id, left), ERR_NONE);
        received_at(id, monday());
        received_at(left, monday());
        assert_int_equal(change(id, "accepted", NULL, "admin", NULL), ERR_NONE);
        assert_int_equal(change(id, "contacted", NULL, "admin", NULL),
                         ERR_NONE);
        sweep(8);  /* the reminder's day */
        sweep(11); /* the escalation's */
        sweep(20);
        /* the sweeps ran on those days: the other one was nudged */
        assert_int_equal(nudges(left, REMINDER), 1);
        assert_int_equal(nudges(left, ESCALATION), 1);
        assert_int_equal(nudges(id, REMINDER), 0);
        assert_int_equal(nudges(id, ESCALATION), 0);
        assert_int_equal(count("SELECT count(*) FROM referrals WHERE id = $1"
                               " AND contacted_at IS NOT NULL AND"
                               " reminded_at IS NULL AND escalated_at IS NULL",
                               id),
                         1);
}

static int
setup(void **state)
{
        (void)state;
        return fixture_setup("intake_test_stale");
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_working_days_skip_weekends_and_bank_holidays),
            cmocka_unit_test(test_stale_reminder_then_escalation_once_each),
            cmocka_unit_test(test_contacted_referral_never_reminded),
        };

        testenv_only(argc, argv);
        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
