/*
 * test_submit: a submission stored encrypted with the events it causes,
 * what the partner opens, a duplicate submission, and bad payloads.
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
test_submission_stored_encrypted_with_events(void **state)
{
        char id[UUID_STR_LEN];
        char sql[] = "SELECT count(*) FROM referrals WHERE id = $1 AND "
                     "position('Zephyrine' in personal_blob) = 0 AND "
                     "flags = '{}' AND routed_at IS NOT NULL";

        (void)state;
        assert_int_equal(submit(personal("Zephyrine"), svc_id, id), ERR_NONE);
        assert_int_equal(count(sql, id), 1);
        assert_int_equal(outbox("referral.events", id), 1);
        assert_int_equal(outbox("partner.%.referrals", id), 1);
        /* the consents given travel on the received event, where consent
         * reads them knowing who made the referral; intake sends no
         * consent command of its own, which would grant them again
         * whoever that was */
        assert_int_equal(
            count("SELECT count(*) FROM outbox WHERE topic ="
                  " 'consent.commands' AND key = (SELECT subject_id::text"
                  " FROM referrals WHERE id = $1)",
                  id),
            0);
        /* person confirmation and provider notice */
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE topic ="
                               " 'notification.requests' AND position($1 in"
                               " convert_from(value, 'UTF8')) > 0",
                               id),
                         2);
        json_t *ev = outbox_json("referral.events", id);
        assert_string_equal(
            json_string_value(json_object_get(ev, "postcode_district")), "KT1");
        char *text = json_dumps(ev, 0);
        assert_null(strstr(text, "Zephyrine"));
        free(text);
        /* reporting's fact of it: the same referral, no subject, no
         * reference, the day only */
        json_t *fact = outbox_json("referral.facts", id);
        assert_non_null(fact);
        assert_null(json_object_get(fact, "subject_id"));
        assert_null(json_object_get(fact, "reference"));
        assert_null(json_object_get(fact, "received_at"));
        assert_int_equal(
            strlen(json_string_value(json_object_get(fact, "received_on"))),
            10);
        assert_string_equal(
            json_string_value(json_object_get(fact, "service_id")), svc_id);
        text = json_dumps(fact, 0);
        assert_null(
            strstr(text, json_string_value(json_object_get(ev, "subject_id"))));
        free(text);
        json_decref(fact);
        json_decref(ev);
}

static void
test_partner_opens_what_was_submitted(void **state)
{
        char id[UUID_STR_LEN];
        json_t *sent = personal("Quillon"), *msg, *got;

        (void)state;
        json_incref(sent);
        assert_int_equal(submit(sent, svc_id, id), ERR_NONE);
        msg = outbox_json("partner.%.referrals", id);
        assert_non_null(msg);
        got = open_sealed(msg, partner_pk, partner_sk);
        assert_true(json_equal(json_object_get(got, "person"),
                               json_object_get(sent, "person")));
        assert_string_equal(json_string_value(json_object_get(got, "notes")),
                            "prefers mornings");
        /* only the shared special-category field travels */
        assert_non_null(json_object_get(
            json_object_get(got, "special_category"), "health"));
        assert_null(json_object_get(json_object_get(got, "special_category"),
                                    "housing"));
        json_decref(got);
        json_decref(msg);
        json_decref(sent);
}

static void
test_duplicate_submission_has_no_second_effect(void **state)
{
        char id[UUID_STR_LEN];
        json_t *p = personal("Dup");
        char *sealed = NULL, *text;
        long before;

        (void)state;
        assert_int_equal(submit(json_incref(p), svc_id, id), ERR_NONE);
        before = count("SELECT count(*) FROM outbox WHERE key = $1", id);
        assert_int_equal(
            intake_seal_json(in.keys.intake_pk, NULL, p, &sealed, NULL), 0);
        json_t *env = json_pack(
            "{ss ss ss ss s{sb} ss ss ss ss}", "referral_id", id, "reference",
            "SP-DUPL-ICAT", "service_id", svc_id, "kind", "self", "consents",
            "share_with_provider", 1, "privacy_notice_version", "2026-11-01",
            "status_secret_hash",
            "1111111111111111111111111111111111111111111111111111111111111111",
            "submitted_at", "2026-11-24T10:00:00Z", "sealed", sealed);
        text = json_dumps(env, JSON_COMPACT);
        assert_int_equal(apply("referral.submissions",
                               "signpost.referral.submitted.v1", id, text),
                         ERR_NONE);
        assert_int_equal(
            count("SELECT count(*) FROM referrals WHERE id = $1", id), 1);
        assert_int_equal(
            count("SELECT count(*) FROM outbox WHERE key = $1", id), before);
        free(text);
        free(sealed);
        json_decref(env);
        json_decref(p);
}

static void
test_bad_payloads_are_invalid(void **state)
{
        char id[UUID_STR_LEN];
        json_t *p = personal("Bad");
        unsigned char other_pk[SECRET_BOX_PK_BYTES];
        struct secret_key *other_sk = NULL;

        (void)state;
        json_object_del(json_object_get(p, "person"), "name");
        assert_int_equal(submit(p, svc_id, id), ERR_INVALID);
        assert_int_equal(secret_box_keypair(other_pk, &other_sk, NULL), 0);
        assert_int_equal(
            submit_as(personal("Bad2"), "self", svc_id, id, other_pk),
            ERR_INVALID);
        /* a referrer is required for on_behalf */
        assert_int_equal(submit_as(personal("Bad3"), "on_behalf", svc_id, id,
                                   in.keys.intake_pk),
                         ERR_INVALID);
        assert_int_equal(apply("referral.submissions",
                               "signpost.referral.submitted.v1", id, "{}"),
                         ERR_INVALID);
        assert_int_equal(
            count("SELECT count(*) FROM referrals WHERE id = $1", id), 0);
        secret_key_free(other_sk);
}

static int
setup(void **state)
{
        (void)state;
        return fixture_setup("intake_test_submit");
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_submission_stored_encrypted_with_events),
            cmocka_unit_test(test_partner_opens_what_was_submitted),
            cmocka_unit_test(test_duplicate_submission_has_no_second_effect),
            cmocka_unit_test(test_bad_payloads_are_invalid),
        };

        testenv_only(argc, argv);
        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
