/*
 * fixture: the shared set-up and helpers of intake's database tests
 * (test_catalogue.c, test_submit.c, test_subjects.c, test_privileges.c,
 * test_lifecycle.c, test_stale.c, test_updates.c, test_consent.c). Records
 * are applied as the consumer applies them (intake_consume_apply inside a
 * transaction); what a user would notice is read back from the tables and
 * the outbox rows the relay would publish, opened with the recipients'
 * keys.
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
#include "http.h"
#include "testdb.h"
#include "testenv.h"

struct db *db;
struct intake in;
unsigned char partner_pk[SECRET_BOX_PK_BYTES];
struct secret_key *partner_sk;
unsigned char notify_pk[SECRET_BOX_PK_BYTES];
struct secret_key *notify_sk;
static struct secret_key *reporting_sk;
char org_id[UUID_STR_LEN], svc_id[UUID_STR_LEN];
char partner_b64[96];
unsigned char principal_key[HTTP_PRINCIPAL_KEY_BYTES];
char admin_ci[512];

enum err_kind
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
void
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

json_t *
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

/* submit_as: seals p (takes ownership) to seal_to and applies a submission
 * of kind; writes the referral id into id. */
enum err_kind
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

enum err_kind
submit(json_t *p, const char *sid, char id[UUID_STR_LEN])
{
        return submit_as(p, "self", sid, id, in.keys.intake_pk);
}

long
count(const char *sql, const char *arg)
{
        return testdb_count(db, sql, arg);
}

long
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
json_t *
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

json_t *
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

enum err_kind
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

int
fixture_setup(const char *dbname)
{
        char *admin = admin_ci, conninfo[700];
        struct err e = {0};
        struct db *su;

        if (testenv_db(dbname, admin, sizeof(admin_ci)) < 0)
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
        /* the service every test refers to, in intake's replica */
        service(svc_id, org_id, partner_b64, "active", true);
        return 0;
}

int
fixture_teardown(void **state)
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
