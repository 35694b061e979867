/*
 * test_store: intake storing what it receives: the catalogue replica,
 * submissions stored encrypted with their events, duplicates, bad input,
 * held and flagged referrals, one subject per person, and the runtime
 * role's rights.
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
        (void)state;
        service(svc_id, org_id, partner_b64, "active", true);
        assert_int_equal(count("SELECT count(*) FROM services s JOIN"
                               " organisations o ON o.id = s.organisation_id"
                               " WHERE s.id = $1 AND s.accepts_referrals AND"
                               " o.partner_public_key IS NOT NULL AND"
                               " s.taxonomy_terms ? "
                               "'3f7b145d-84af-42d7-8fae-eaca714b02b2'",
                               svc_id),
                         1);
}

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
        /* a second snapshot with the same key routes nothing again */
        assert_int_equal(apply("directory.organisations",
                               "signpost.organisation.updated.v1", oid, snap),
                         ERR_NONE);
        assert_int_equal(outbox("partner.%.referrals", id), 1);
        free(snap);
        json_decref(o);
}

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
        assert_int_equal(db_exec(db, "DROP ROLE IF EXISTS intake_test_store_rt",
                                 0, NULL, NULL, &e),
                         0);
        assert_int_equal(db_exec(db,
                                 "CREATE ROLE intake_test_store_rt LOGIN"
                                 " PASSWORD 'intake_test_store_rt'",
                                 0, NULL, NULL, &e),
                         0);
        assert_int_equal(db_migrate_grant(db, INTAKE_SCHEMA,
                                          "intake_test_store_rt",
                                          "services/intake/migrations", &e),
                         0);
        snprintf(ci, sizeof(ci),
                 "%s user=intake_test_store_rt password=intake_test_store_rt"
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
        return fixture_setup("intake_test_store");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_catalogue_replica),
            cmocka_unit_test(test_submission_stored_encrypted_with_events),
            cmocka_unit_test(test_partner_opens_what_was_submitted),
            cmocka_unit_test(test_duplicate_submission_has_no_second_effect),
            cmocka_unit_test(test_bad_payloads_are_invalid),
            cmocka_unit_test(test_unknown_service_is_invalid),
            cmocka_unit_test(test_closed_service_stored_and_flagged),
            cmocka_unit_test(
                test_missing_key_held_then_routed_when_key_arrives),
            cmocka_unit_test(test_same_email_same_subject),
            cmocka_unit_test(test_shared_phone_two_subjects),
            cmocka_unit_test(test_runtime_role_appends_history_only),
        };

        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
