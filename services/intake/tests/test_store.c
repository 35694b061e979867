/*
 * test_store: intake against a real PostgreSQL. Records are applied as
 * the consumer applies them (intake_consume_apply inside a transaction);
 * what a user would notice is read back from the tables and the outbox
 * rows the relay would publish, opened with the recipients' keys.
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

#include "../intake.h"
#include "http.h"
#include "testenv.h"

static struct db *db;
static struct intake in;
static unsigned char partner_pk[SECRET_BOX_PK_BYTES];
static struct secret_key *partner_sk;
static unsigned char notify_pk[SECRET_BOX_PK_BYTES];
static struct secret_key *notify_sk;
static struct secret_key *reporting_sk;
static char org_id[UUID_STR_LEN], svc_id[UUID_STR_LEN];
static char partner_b64[96];
static unsigned char principal_key[HTTP_PRINCIPAL_KEY_BYTES];

/* ---- helpers ---- */

static enum err_kind
apply(const char *topic, const char *type, const char *key, const char *value)
{
        struct kafka_record rec = {0};
        struct err e = {0};
        int rc;

        rec.topic = topic;
        rec.key = key;
        rec.key_len = key ? strlen(key) : 0;
        rec.value = value;
        rec.value_len = value ? strlen(value) : 0;
        snprintf(rec.ev.type, sizeof(rec.ev.type), "%s", type);
        uuid_v7(rec.ev.id);
        /* as the consumer thread does: events queued, written at the end
         * (HTTP and the stale sweep, called directly below, write theirs
         * at once) */
        intake_outq_start();
        assert_int_equal(db_begin(db, &e), 0);
        rc = intake_consume_apply(&in, db, &rec, &e);
        if (rc == 0)
                rc = intake_outq_flush(NULL, db, true, &e);
        if (rc == 0)
                assert_int_equal(db_commit(db, &e), 0);
        else {
                intake_outq_flush(NULL, db, false, NULL);
                db_rollback(db);
        }
        intake_outq_stop();
        return rc == 0 ? ERR_NONE : e.kind;
}

/* service: a directory.services snapshot for a service of org. */
static void
service(const char *sid, const char *oid, const char *key, const char *status,
        bool accepts)
{
        json_t *j = json_pack(
            "{ss ss ss ss sb ss s[{ss ss}]}", "id", sid, "organization_id", oid,
            "name", "Warm Homes", "status", status, "accepts_referrals",
            accepts, "referral_notice_email", "intake@warm.example",
            "taxonomy_terms", "id", "3f7b145d-84af-42d7-8fae-eaca714b02b2",
            "name", "Housing");
        char *text;

        if (key != NULL)
                json_object_set_new(j, "partner_public_key", json_string(key));
        text = json_dumps(j, JSON_COMPACT);
        assert_int_equal(apply("directory.services",
                               "signpost.service.updated.v1", sid, text),
                         ERR_NONE);
        free(text);
        json_decref(j);
}

static json_t *
personal(const char *tag)
{
        char name[64], email[96];

        snprintf(name, sizeof(name), "Alex %s Example", tag);
        snprintf(email, sizeof(email), "alex.%s@example.org", tag);
        return json_pack("{s{ss ss ss ss ss} s{ss ss} s[s] ss}", "person",
                         "name", name, "email", email, "phone", "07700 900123",
                         "address", "1 High Street", "postcode", "KT1 1AA",
                         "special_category", "health", "asthma", "housing",
                         "private rented", "share_special_category", "health",
                         "notes", "prefers mornings");
}

/* submit: seals p (takes ownership) to intake and applies a submission;
 * writes the referral id into id. */
static enum err_kind
submit_as(json_t *p, const char *kind, const char *sid, char id[UUID_STR_LEN],
          const unsigned char *seal_to)
{
        char *sealed = NULL, *text, ref[32];
        enum err_kind k;
        json_t *env;

        uuid_v7(id);
        snprintf(ref, sizeof(ref), "SP-%.8s", id + 28);
        assert_int_equal(intake_seal_json(seal_to, NULL, p, &sealed, NULL), 0);
        env = json_pack(
            "{ss ss ss ss s{sb sb sb} ss ss ss ss}", "referral_id", id,
            "reference", ref, "service_id", sid, "kind", kind, "consents",
            "share_with_provider", 1, "contact_about_service", 1,
            "feedback_requests", 0, "privacy_notice_version", "2026-11-01",
            "status_secret_hash",
            "0000000000000000000000000000000000000000000000000000000000000000",
            "submitted_at", "2026-11-24T10:00:00Z", "sealed", sealed);
        text = json_dumps(env, JSON_COMPACT);
        k = apply("referral.submissions", "signpost.referral.submitted.v1", id,
                  text);
        free(text);
        free(sealed);
        json_decref(env);
        json_decref(p);
        return k;
}

static enum err_kind
submit(json_t *p, const char *sid, char id[UUID_STR_LEN])
{
        return submit_as(p, "self", sid, id, in.keys.intake_pk);
}

static long
count(const char *sql, const char *arg)
{
        const char *p[1] = {arg};
        PGresult *r = db_query(db, sql, 1, p, NULL);
        long n;

        assert_non_null(r);
        n = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
        return n;
}

static long
outbox(const char *topic, const char *key)
{
        char sql[256];

        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM outbox WHERE topic LIKE '%s'"
                 " AND key = $1",
                 topic);
        return count(sql, key);
}

/* outbox_json: returns new JSON value of the newest row for topic whose
 * value mentions needle. */
static json_t *
outbox_json(const char *topic, const char *needle)
{
        const char *p[2] = {topic, needle};
        PGresult *r = db_query(db,
                               "SELECT convert_from(value, 'UTF8') FROM outbox"
                               " WHERE topic LIKE $1 AND position($2 in"
                               " convert_from(value, 'UTF8')) > 0"
                               " ORDER BY seq DESC LIMIT 1",
                               2, p, NULL);
        json_t *j = NULL;

        assert_non_null(r);
        if (PQntuples(r) == 1)
                j = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        PQclear(r);
        return j;
}

static json_t *
open_sealed(const json_t *msg, const unsigned char *pk,
            const struct secret_key *sk)
{
        unsigned char *box = NULL, *plain = NULL;
        size_t boxlen = 0, len = 0;
        json_t *j;

        assert_int_equal(
            secret_b64_decode(json_string_value(json_object_get(msg, "sealed")),
                              &box, &boxlen, NULL),
            0);
        assert_int_equal(secret_unseal(pk, sk, box, boxlen, &plain, &len, NULL),
                         0);
        j = json_loadb((char *)plain, len, 0, NULL);
        free(box);
        free(plain);
        return j;
}

static enum err_kind
change(const char *id, const char *to, const char *reason, const char *role,
       const char *org)
{
        struct intake_actor by = {0};
        struct err e = {0};
        int rc;

        snprintf(by.sub, sizeof(by.sub), "tester");
        snprintf(by.role, sizeof(by.role), "%s", role);
        snprintf(by.org, sizeof(by.org), "%s", org ? org : "");
        assert_int_equal(db_begin(db, &e), 0);
        rc = intake_status_change(&in, db, id, to, reason, &by, &e);
        if (rc == 0)
                assert_int_equal(db_commit(db, &e), 0);
        else
                db_rollback(db);
        return rc == 0 ? ERR_NONE : e.kind;
}

/* ---- tests ---- */

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

/* ---- referral.updates: who sent it is proven, never believed ---- */

/* partner_update: an update boxed with (pk, sk)'s secret key to intake,
 * naming organisation org, as signpost-partner sends it. Returns new
 * text. */
static char *
partner_update(const char *id, const char *org, const struct secret_key *sk,
               const char *inner_extra)
{
        char inner[1024], *b64, *out;
        unsigned char *box = NULL;
        size_t boxlen = 0;
        json_t *o;

        snprintf(inner, sizeof(inner), "{\"referral_id\":\"%s\",%s}", id,
                 inner_extra);
        assert_int_equal(secret_box_to(in.keys.intake_pk, sk,
                                       (const unsigned char *)inner,
                                       strlen(inner), &box, &boxlen, NULL),
                         0);
        b64 = secret_b64_encode(box, boxlen);
        o = json_pack("{ss ss ss}", "referral_id", id, "organisation_id", org,
                      "boxed", b64);
        out = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        free(b64);
        free(box);
        return out;
}

/* gateway_update: an update sealed to intake with the caller as a
 * principal token signed with key, as the gateway sends it. Returns new
 * text. */
static char *
gateway_update(const char *id, const unsigned char *key, const char *role,
               const char *org, const char *status, const char *reason)
{
        struct http_principal p = {.exp = (int64_t)time(NULL) + 600};
        unsigned char *box = NULL;
        size_t boxlen = 0;
        char *token = NULL, *text, *b64, *out;
        json_t *j;

        snprintf(p.sub, sizeof(p.sub), "tester");
        assert_int_equal(http_role_parse(role, &p.role), 0);
        snprintf(p.org, sizeof(p.org), "%s", org ? org : "");
        assert_int_equal(http_principal_sign(key, &p, &token), 0);
        j = json_pack("{ss ss s:s* ss}", "referral_id", id, "status", status,
                      "reason", reason, "principal", token);
        text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        assert_int_equal(secret_seal(in.keys.intake_pk,
                                     (const unsigned char *)text, strlen(text),
                                     &box, &boxlen, NULL),
                         0);
        b64 = secret_b64_encode(box, boxlen);
        j = json_pack("{ss ss}", "referral_id", id, "sealed", b64);
        out = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        free(b64);
        free(box);
        free(text);
        free(token);
        return out;
}

static enum err_kind
update(const char *id, char *text)
{
        enum err_kind k = apply("referral.updates",
                                "signpost.referral.status_update.v1", id, text);

        free(text);
        return k;
}

static long
status_is(const char *id, const char *status)
{
        char sql[128];

        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM referrals WHERE id = $1 AND status ="
                 " '%s'",
                 status);
        return count(sql, id);
}

static void
test_update_record_illegal_is_dead_lettered(void **state)
{
        char id[UUID_STR_LEN];

        (void)state;
        assert_int_equal(submit(personal("Upd"), svc_id, id), ERR_NONE);
        assert_int_equal(update(id, partner_update(id, org_id, partner_sk,
                                                   "\"status\":\"completed\"")),
                         ERR_INVALID);
        assert_int_equal(update(id, partner_update(id, org_id, partner_sk,
                                                   "\"status\":\"accepted\"")),
                         ERR_NONE);
        assert_int_equal(status_is(id, "accepted"), 1);
}

/* The hole this closes: a partner wrote {"by": {"role": "admin"}} and
 * intake believed it. */
static void
test_forged_actor_refused_referral_unchanged(void **state)
{
        unsigned char other_pk[SECRET_BOX_PK_BYTES], wrong[32];
        struct secret_key *other_sk = NULL;
        char id[UUID_STR_LEN], other_org[UUID_STR_LEN], text[512], *b;
        char other_b64[96];

        (void)state;
        assert_int_equal(submit(personal("Forge"), svc_id, id), ERR_NONE);
        /* the old body: an actor claimed in the clear */
        snprintf(text, sizeof(text),
                 "{\"referral_id\":\"%s\",\"status\":\"declined\","
                 "\"reason\":\"x\",\"by\":{\"sub\":\"p\",\"role\":"
                 "\"admin\"}}",
                 id);
        assert_int_equal(apply("referral.updates",
                               "signpost.referral.status_update.v1", id, text),
                         ERR_INVALID);
        /* another organisation, with its own registered key */
        assert_int_equal(secret_box_keypair(other_pk, &other_sk, NULL), 0);
        b = secret_b64_encode(other_pk, sizeof(other_pk));
        snprintf(other_b64, sizeof(other_b64), "%s", b);
        free(b);
        uuid_v4(other_org);
        {
                char osvc[UUID_STR_LEN];
                uuid_v4(osvc);
                service(osvc, other_org, other_b64, "active", true);
        }
        assert_int_equal(update(id, partner_update(id, other_org, other_sk,
                                                   "\"status\":\"declined\","
                                                   "\"reason\":\"mine now\"")),
                         ERR_INVALID);
        /* the other organisation's key, claiming to be this one */
        assert_int_equal(update(id, partner_update(id, org_id, other_sk,
                                                   "\"status\":\"accepted\"")),
                         ERR_INVALID);
        /* a box for another referral, replayed under this one's id */
        {
                char other_id[UUID_STR_LEN];
                assert_int_equal(submit(personal("Forge2"), svc_id, other_id),
                                 ERR_NONE);
                char *t = partner_update(other_id, org_id, partner_sk,
                                         "\"status\":\"accepted\"");
                json_t *j = json_loads(t, 0, NULL);
                json_object_set_new(j, "referral_id", json_string(id));
                free(t);
                t = json_dumps(j, JSON_COMPACT);
                json_decref(j);
                assert_int_equal(update(id, t), ERR_INVALID);
        }
        /* "admin" signed with a key that is not the principal key */
        randombytes_buf(wrong, sizeof(wrong));
        assert_int_equal(update(id, gateway_update(id, wrong, "admin", NULL,
                                                   "withdrawn", NULL)),
                         ERR_INVALID);
        assert_int_equal(status_is(id, "received"), 1);
        assert_int_equal(
            count("SELECT count(*) FROM status_history WHERE referral_id = $1",
                  id),
            1);
        /* what the gateway really signed is applied */
        assert_int_equal(
            update(id, gateway_update(id, in.principal_key, "provider", org_id,
                                      "accepted", NULL)),
            ERR_NONE);
        assert_int_equal(status_is(id, "accepted"), 1);
        secret_key_free(other_sk);
}

/* plaintext_hits: rows of any table in schema intake whose text, or the
 * hex of a bytea column, holds needle. */
static long
plaintext_hits(const char *needle)
{
        return count(
            "SELECT coalesce(sum((xpath('/row/c/text()', query_to_xml("
            " format('SELECT count(*) AS c FROM intake.%I t WHERE"
            " strpos(t::text, %L) > 0 OR strpos(t::text, %L) > 0',"
            " table_name, $1::text, encode(convert_to($1, 'UTF8'), 'hex')),"
            " false, true, '')))[1]::text::int), 0)"
            " FROM information_schema.tables WHERE table_schema = 'intake'"
            " AND table_type = 'BASE TABLE'",
            needle);
}

/* A decline reason is free text about a person: sealed on the way in,
 * kept under the person's key, off referral.events; the provider still
 * reads it. */
static void
test_reason_canary_nowhere_in_plaintext(void **state)
{
        static const char canary[] = "CANARY-reason-7f3a9c";
        char id[UUID_STR_LEN], extra[256];
        struct intake_referral r;
        bool found = false;
        struct err e = {0};
        json_t *reason;

        (void)state;
        assert_int_equal(submit(personal("Reason"), svc_id, id), ERR_NONE);
        snprintf(extra, sizeof(extra),
                 "\"status\":\"declined\",\"reason\":\"%s\"", canary);
        assert_int_equal(
            update(id, partner_update(id, org_id, partner_sk, extra)),
            ERR_NONE);
        assert_int_equal(status_is(id, "declined"), 1);
        /* opening the referral to tell the person is audited */
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE topic ="
                               " 'audit.access' AND position($1 in"
                               " convert_from(value, 'UTF8')) > 0 AND"
                               " position('notify_person' in"
                               " convert_from(value, 'UTF8')) > 0",
                               id),
                         1);
        assert_true(plaintext_hits(id) > 0); /* the scan sees rows */
        assert_int_equal(plaintext_hits(canary), 0);
        assert_int_equal(plaintext_hits("Reason"), 0); /* the name, too */
        json_t *ev = outbox_json("referral.events", "\"to\":\"declined\"");
        assert_non_null(ev);
        assert_null(json_object_get(ev, "reason"));
        assert_true(json_is_true(json_object_get(ev, "reason_given")));
        json_decref(ev);
        /* the history row opens to the reason */
        assert_int_equal(
            intake_store_referral_get(db, id, false, &r, &found, &e), 0);
        assert_true(found);
        PGresult *h = intake_store_history(db, id, &e);
        assert_non_null(h);
        int c = PQfnumber(h, "reason_blob");
        assert_true(c >= 0);
        reason =
            intake_reason_open(&in, &r, PQgetvalue(h, PQntuples(h) - 1, c), &e);
        assert_non_null(reason);
        assert_string_equal(json_string_value(reason), canary);
        json_decref(reason);
        PQclear(h);
        intake_referral_fini(&r);
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

/* ---- consent.state: the person's withdrawal reaches intake ---- */

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

/* ---- set-up ---- */

static int
keys_make(void)
{
        struct secret_key *kek = NULL;
        char *b = NULL;

        if (secret_box_keypair(in.keys.intake_pk, &in.keys.intake_sk, NULL) <
                0 ||
            secret_box_keypair(notify_pk, &notify_sk, NULL) < 0 ||
            secret_box_keypair(in.keys.reporting_pk, &reporting_sk, NULL) < 0 ||
            secret_box_keypair(partner_pk, &partner_sk, NULL) < 0 ||
            secret_key_random(32, NULL, &in.keys.index_key, NULL) < 0 ||
            secret_key_random(32, "k1", &kek, NULL) < 0)
                return -1;
        memcpy(in.keys.notification_pk, notify_pk, sizeof(notify_pk));
        in.keys.keyring = secret_keyring_new();
        if (secret_keyring_add(in.keys.keyring, kek, true, NULL) < 0)
                return -1;
        randombytes_buf(principal_key, sizeof(principal_key));
        in.principal_key = principal_key;
        b = secret_b64_encode(partner_pk, sizeof(partner_pk));
        snprintf(partner_b64, sizeof(partner_b64), "%s", b);
        free(b);
        return 0;
}

static char admin_ci[512];

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
        char *admin = admin_ci, conninfo[700];
        struct err e = {0};
        struct db *su;

        (void)state;
        if (testenv_db("intake_test_store", admin, sizeof(admin_ci)) < 0)
                return -1;
        su = db_open(admin);
        if (db_exec(su, "CREATE SCHEMA intake", 0, NULL, NULL, &e) < 0) {
                fprintf(stderr, "setup: %s\n", e.msg);
                return -1;
        }
        db_free(su);
        snprintf(conninfo, sizeof(conninfo),
                 "%s options='-c search_path=intake'", admin);
        db = db_open(conninfo);
        if (db_migrate(db, INTAKE_SCHEMA, "services/intake/migrations", &e) <
                0 ||
            intake_holidays_load(
                &in.holidays,
                "services/intake/data/bank-holidays-england-and-wales.csv",
                &e) < 0 ||
            keys_make() < 0) {
                fprintf(stderr, "setup: %s\n", e.msg);
                return -1;
        }
        db_exec(db, "SET search_path = intake", 0, NULL, NULL, &e);
        in.remind_days = 6;
        in.escalate_days = 9;
        in.admin_email = "admins@council.example";
        uuid_v4(org_id);
        uuid_v4(svc_id);
        return 0;
}

static int
teardown(void **state)
{
        (void)state;
        db_free(db);
        intake_keys_fini(&in.keys);
        intake_holidays_fini(&in.holidays);
        secret_key_free(partner_sk);
        secret_key_free(notify_sk);
        secret_key_free(reporting_sk);
        return 0;
}

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
            cmocka_unit_test(test_lifecycle_every_state_with_history),
            cmocka_unit_test(test_runtime_role_appends_history_only),
            cmocka_unit_test(test_illegal_transitions_refused),
            cmocka_unit_test(test_update_record_illegal_is_dead_lettered),
            cmocka_unit_test(test_forged_actor_refused_referral_unchanged),
            cmocka_unit_test(test_reason_canary_nowhere_in_plaintext),
            cmocka_unit_test(
                test_withdrawal_told_to_partner_older_state_ignored),
            cmocka_unit_test(test_withdrawal_before_routing_stops_it),
            cmocka_unit_test(test_transition_table),
            cmocka_unit_test(test_working_days_skip_weekends_and_bank_holidays),
            cmocka_unit_test(test_stale_reminder_then_escalation_once_each),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
