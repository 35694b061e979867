/*
 * test_catalogue: intake's replica of the directory's catalogue and what
 * it decides about a submission: a service that accepts referrals, an
 * unknown service, a closed one, and an organisation whose partner key
 * arrives after the referral. Each test puts its own service in the
 * replica.
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
test_catalogue_replica(void **state)
{
        char sid[UUID_STR_LEN], oid[UUID_STR_LEN];
        const char *sql = "SELECT count(*) FROM services s JOIN"
                          " organisations o ON o.id = s.organisation_id"
                          " WHERE s.id = $1 AND s.accepts_referrals AND"
                          " o.partner_public_key IS NOT NULL AND"
                          " s.taxonomy_terms ? "
                          "'3f7b145d-84af-42d7-8fae-eaca714b02b2'";

        (void)state;
        uuid_v4(sid);
        uuid_v4(oid);
        assert_int_equal(count(sql, sid), 0);
        service(sid, oid, partner_b64, "active", true);
        assert_int_equal(count(sql, sid), 1);
}

static void
test_unknown_service_is_invalid(void **state)
{
        char id[UUID_STR_LEN], sid[UUID_STR_LEN];

        (void)state;
        uuid_v4(sid);
        assert_int_equal(submit(personal("Nowhere"), sid, id), ERR_INVALID);
}

static void
test_closed_service_stored_and_flagged(void **state)
{
        char id[UUID_STR_LEN], sid[UUID_STR_LEN];

        (void)state;
        uuid_v4(sid);
        service(sid, org_id, partner_b64, "inactive", true);
        assert_int_equal(submit(personal("Closed"), sid, id), ERR_NONE);
        assert_int_equal(
            count("SELECT count(*) FROM referrals WHERE id = $1 AND"
                  " flags = '{service_closed}' AND routed_at IS NULL",
                  id),
            1);
        assert_int_equal(outbox("partner.%.referrals", id), 0);
        assert_int_equal(outbox("referral.events", id), 1);
}

static void
test_missing_key_held_then_routed_when_key_arrives(void **state)
{
        char id[UUID_STR_LEN], sid[UUID_STR_LEN], oid[UUID_STR_LEN];
        char *snap;

        (void)state;
        uuid_v4(sid);
        uuid_v4(oid);
        service(sid, oid, NULL, "active", true);
        assert_int_equal(submit(personal("Held"), sid, id), ERR_NONE);
        assert_int_equal(
            count("SELECT count(*) FROM referrals WHERE id = $1 AND"
                  " flags = '{partner_key_missing}' AND routed_at IS NULL",
                  id),
            1);
        assert_int_equal(outbox("partner.%.referrals", id), 0);
        snap = NULL;
        json_t *o = json_pack("{ss ss ss}", "id", oid, "name", "Warm Homes",
                              "partner_public_key", partner_b64);
        snap = json_dumps(o, JSON_COMPACT);
        assert_int_equal(apply("directory.organisations",
                               "signpost.organisation.updated.v1", oid, snap),
                         ERR_NONE);
        assert_int_equal(
            count("SELECT count(*) FROM referrals WHERE id = $1 AND"
                  " flags = '{}' AND routed_at IS NOT NULL",
                  id),
            1);
        assert_int_equal(outbox("partner.%.referrals", id), 1);
        /* received_at as every message gives it: RFC 3339, UTC, ms */
        json_t *msg = outbox_json("partner.%.referrals", id);
        const char *at = json_string_value(json_object_get(msg, "received_at"));
        assert_non_null(at);
        assert_int_equal(strlen(at), 24);
        assert_true(at[10] == 'T' && at[19] == '.' && at[23] == 'Z');
        json_decref(msg);
        /* a second snapshot with the same key routes nothing again */
        assert_int_equal(apply("directory.organisations",
                               "signpost.organisation.updated.v1", oid, snap),
                         ERR_NONE);
        assert_int_equal(outbox("partner.%.referrals", id), 1);
        free(snap);
        json_decref(o);
}

static int
setup(void **state)
{
        (void)state;
        return fixture_setup("intake_test_catalogue");
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_catalogue_replica),
            cmocka_unit_test(test_unknown_service_is_invalid),
            cmocka_unit_test(test_closed_service_stored_and_flagged),
            cmocka_unit_test(
                test_missing_key_held_then_routed_when_key_arrives),
        };

        testenv_only(argc, argv);
        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
