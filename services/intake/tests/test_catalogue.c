/*
 * test_catalogue: intake's replica of the directory's catalogue and what
 * it decides about a submission: a service that accepts referrals, an
 * unknown service, a closed one, and an organisation whose partner key
 * arrives after the referral. Records are applied as the consumer applies
 * them: a service snapshot keeps what routing needs (and the
 * organisation's name and key it carries); an organisation snapshot its
 * name and key; a tombstone (a null value) marks either deleted, after
 * which a referral to the service is held as closed; a later snapshot
 * brings it back; a record that is neither a snapshot nor a tombstone (a
 * deleted type with a body, an empty value, a bad key, the snapshot of
 * another entity) is refused and changes nothing. Each test puts its own
 * service in the replica.
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

#define TERM "3f7b145d-84af-42d7-8fae-eaca714b02b2"

/* fresh: a new service sid of a new organisation oid, open, with the
 * partner key. */
static void
fresh(char sid[UUID_STR_LEN], char oid[UUID_STR_LEN])
{
        uuid_v4(sid);
        uuid_v4(oid);
        service(sid, oid, partner_b64, "active", true);
}

static void
test_service_snapshot_kept(void **state)
{
        char sid[UUID_STR_LEN], oid[UUID_STR_LEN];

        (void)state;
        fresh(sid, oid);
        assert_int_equal(count("SELECT count(*) FROM services WHERE id = $1"
                               " AND name = 'Warm Homes' AND status ="
                               " 'active' AND accepts_referrals AND"
                               " notice_email = 'intake@warm.example' AND"
                               " taxonomy_terms = '[\"" TERM "\"]' AND"
                               " NOT deleted",
                               sid),
                         1);
        /* the organisation's key came with the service */
        assert_int_equal(count("SELECT count(*) FROM organisations WHERE"
                               " id = $1 AND partner_public_key IS NOT NULL"
                               " AND NOT deleted",
                               oid),
                         1);
}

static void
test_organisation_snapshot_kept(void **state)
{
        char oid[UUID_STR_LEN], snap[256];

        (void)state;
        uuid_v4(oid);
        snprintf(snap, sizeof(snap),
                 "{\"id\":\"%s\",\"name\":\"Kingston Warmth\","
                 "\"partner_public_key\":\"%s\","
                 "\"last_modified\":\"2026-11-24T10:00:00Z\"}",
                 oid, partner_b64);
        assert_int_equal(
            apply(INTAKE_TOPIC_ORGS, CATALOGUE_TYPE_ORG, oid, snap), ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM organisations WHERE"
                               " id = $1 AND name = 'Kingston Warmth' AND"
                               " partner_public_key IS NOT NULL",
                               oid),
                         1);
}

static void
test_tombstones_delete(void **state)
{
        char sid[UUID_STR_LEN], oid[UUID_STR_LEN], id[UUID_STR_LEN];
        char sid2[UUID_STR_LEN], oid2[UUID_STR_LEN];

        (void)state;
        fresh(sid, oid);
        assert_int_equal(apply(INTAKE_TOPIC_SERVICES,
                               CATALOGUE_TYPE_SERVICE_DELETED, sid, NULL),
                         ERR_NONE);
        assert_int_equal(
            count("SELECT count(*) FROM services WHERE id = $1 AND deleted",
                  sid),
            1);
        /* a referral to it is stored, held as closed, not routed */
        assert_int_equal(submit(personal("Deleted"), sid, id), ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM referrals WHERE id = $1"
                               " AND flags = '{service_closed}' AND"
                               " routed_at IS NULL",
                               id),
                         1);
        /* its next snapshot brings it back */
        service(sid, oid, partner_b64, "active", true);
        assert_int_equal(
            count("SELECT count(*) FROM services WHERE id = $1 AND deleted",
                  sid),
            0);
        /* an organisation's tombstone closes its services */
        fresh(sid2, oid2);
        assert_int_equal(
            apply(INTAKE_TOPIC_ORGS, CATALOGUE_TYPE_ORG_DELETED, oid2, NULL),
            ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM organisations WHERE"
                               " id = $1 AND deleted",
                               oid2),
                         1);
        assert_int_equal(submit(personal("OrgGone"), sid2, id), ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM referrals WHERE id = $1"
                               " AND flags = '{service_closed}'",
                               id),
                         1);
}

static void
test_neither_snapshot_nor_tombstone_refused(void **state)
{
        char sid[UUID_STR_LEN], oid[UUID_STR_LEN], other[UUID_STR_LEN];
        char snap[512], bad_key[UUID_STR_LEN];

        (void)state;
        fresh(sid, oid);
        uuid_v4(other);
        snprintf(snap, sizeof(snap),
                 "{\"id\":\"%s\",\"name\":\"Warm Homes\",\"status\":"
                 "\"inactive\",\"accepts_referrals\":false,"
                 "\"taxonomy_terms\":[]}",
                 sid);
        /* a deleted type with a body: not a tombstone, not a snapshot */
        assert_int_equal(apply(INTAKE_TOPIC_SERVICES,
                               CATALOGUE_TYPE_SERVICE_DELETED, sid, snap),
                         ERR_INVALID);
        /* an empty value is not a null one */
        assert_int_equal(
            apply(INTAKE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, sid, ""),
            ERR_INVALID);
        assert_int_equal(
            apply(INTAKE_TOPIC_ORGS, CATALOGUE_TYPE_ORG_DELETED, oid, ""),
            ERR_INVALID);
        /* a key that is not the id */
        snprintf(bad_key, sizeof(bad_key), "%.35s", sid);
        assert_int_equal(apply(INTAKE_TOPIC_SERVICES,
                               CATALOGUE_TYPE_SERVICE_DELETED, bad_key, NULL),
                         ERR_INVALID);
        assert_int_equal(
            apply(INTAKE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, other, snap),
            ERR_INVALID);
        /* the service is as it was */
        assert_int_equal(count("SELECT count(*) FROM services WHERE id = $1"
                               " AND status = 'active' AND NOT deleted",
                               sid),
                         1);
        assert_int_equal(
            count("SELECT count(*) FROM services WHERE id = $1", other), 0);
        assert_int_equal(count("SELECT count(*) FROM organisations WHERE"
                               " id = $1 AND NOT deleted",
                               oid),
                         1);
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
            cmocka_unit_test(test_service_snapshot_kept),
            cmocka_unit_test(test_organisation_snapshot_kept),
            cmocka_unit_test(test_tombstones_delete),
            cmocka_unit_test(test_neither_snapshot_nor_tombstone_refused),
            cmocka_unit_test(test_unknown_service_is_invalid),
            cmocka_unit_test(test_closed_service_stored_and_flagged),
            cmocka_unit_test(
                test_missing_key_held_then_routed_when_key_arrives),
        };

        testenv_only(argc, argv);
        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
