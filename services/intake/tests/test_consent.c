/*
 * test_consent: intake following consent.state: a withdrawal told to the
 * partner, an older state ignored, and a withdrawal before routing holding
 * the referral.
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
consent_state(const char *subject, const char *share, bool opted_out, int seq)
{
        char text[512];

        snprintf(text, sizeof(text),
                 "{\"subject_id\":\"%s\",\"purposes\":{"
                 "\"share_with_provider\":\"%s\"},\"opted_out\":%s,"
                 "\"updated_at\":\"2026-12-01T10:00:00Z\",\"seq\":%d}",
                 subject, share, opted_out ? "true" : "false", seq);
        assert_int_equal(
            apply("consent.state", "signpost.consent.state.v1", subject, text),
            ERR_NONE);
}

static void
subject_of(const char *id, char out[UUID_STR_LEN])
{
        const char *p[1] = {id};
        PGresult *r = db_query(
            db, "SELECT subject_id FROM referrals WHERE id = $1", 1, p, NULL);

        assert_non_null(r);
        assert_int_equal(PQntuples(r), 1);
        snprintf(out, UUID_STR_LEN, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
}

static void
test_withdrawal_told_to_partner_older_state_ignored(void **state)
{
        char id[UUID_STR_LEN], subj[UUID_STR_LEN];

        (void)state;
        assert_int_equal(submit(personal("Withdraw"), svc_id, id), ERR_NONE);
        subject_of(id, subj);
        consent_state(subj, "withdrawn", false, 5);
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE ce_type ="
                               " 'signpost.referral.consent_changed.v1' AND"
                               " key = $1 AND position('\"withdrawn\"' in"
                               " convert_from(value, 'UTF8')) > 0",
                               id),
                         1);
        /* an older state, and the same state again, tell nobody */
        consent_state(subj, "granted", false, 4);
        consent_state(subj, "withdrawn", false, 5);
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE ce_type ="
                               " 'signpost.referral.consent_changed.v1' AND"
                               " key = $1",
                               id),
                         1);
        assert_int_equal(count("SELECT count(*) FROM subject_consent WHERE"
                               " subject_id = $1 AND seq = 5 AND"
                               " share_with_provider = 'withdrawn'",
                               subj),
                         1);
}

/* Withdrawn before routing: the referral is not routed when the key
 * arrives, and is once sharing is given again. */
static void
test_withdrawal_before_routing_stops_it(void **state)
{
        char id[UUID_STR_LEN], subj[UUID_STR_LEN], org2[UUID_STR_LEN];
        char svc2[UUID_STR_LEN];
        const char *routed = "SELECT count(*) FROM referrals WHERE id = $1"
                             " AND routed_at IS NOT NULL";

        (void)state;
        uuid_v4(org2);
        uuid_v4(svc2);
        service(svc2, org2, NULL, "active", true);
        assert_int_equal(submit(personal("HeldBack"), svc2, id), ERR_NONE);
        subject_of(id, subj);
        assert_int_equal(count(routed, id), 0);
        consent_state(subj, "withdrawn", false, 100);
        assert_int_equal(count("SELECT count(*) FROM referrals WHERE id = $1"
                               " AND 'consent_withdrawn' = ANY (flags)",
                               id),
                         1);
        service(svc2, org2, partner_b64, "active", true); /* the key */
        assert_int_equal(count(routed, id), 0);
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE ce_type ="
                               " 'signpost.referral.routed.v1' AND key = $1",
                               id),
                         0);
        consent_state(subj, "granted", false, 101);
        assert_int_equal(count(routed, id), 1);
        /* intake's own decryption to route it is audited, with why */
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE topic ="
                               " 'audit.access' AND position($1 in"
                               " convert_from(value, 'UTF8')) > 0 AND"
                               " position('route_to_provider' in"
                               " convert_from(value, 'UTF8')) > 0",
                               id),
                         1);
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE ce_type ="
                               " 'signpost.referral.routed.v1' AND key = $1",
                               id),
                         1);
        assert_int_equal(count("SELECT count(*) FROM referrals WHERE id = $1"
                               " AND flags = '{}'",
                               id),
                         1);
}
static int
setup(void **state)
{
        (void)state;
        return fixture_setup("intake_test_consent");
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(
                test_withdrawal_told_to_partner_older_state_ignored),
            cmocka_unit_test(test_withdrawal_before_routing_stops_it),
        };

        testenv_only(argc, argv);
        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
