/*
 * test_batch: the consumer as it runs in the daemon, against a real
 * PostgreSQL: batches of Kafka records through inbox_handle_batch with
 * notify_batch_apply / notify_batch_flush. Requests are recorded once
 * each (also when redelivered, or when the batch is retried record by
 * record), an invalid one is dead-lettered alone, the first request for a
 * message id wins, and tombstones (null values) on the replica topics
 * delete the replica rows while nothing else does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../notification.h"
#include "log.h"
#include "testdb.h"
#include "testenv.h"

#define SERVICE "0193b000-0000-7000-8000-0000000000c2"
#define SUBJECT "0193b000-0000-7000-8000-0000000000e2"
#define MAX_RECS 8

static struct db *db;
static struct notify_ctx ctx;
static struct notify_batch batch;
static struct inbox in;

/* A batch under construction: records and the text they point into. */
static struct kafka_record recs[MAX_RECS];
static char *texts[MAX_RECS];
static size_t nrecs;

static char *
seal(const char *email)
{
        json_t *j = json_pack("{s:s, s:{s:s}}", "email", email, "values",
                              "reference", "SP-7KQ2-M4XD");
        char *text = json_dumps(j, JSON_COMPACT), *b64;
        unsigned char *box = NULL;
        size_t len = 0;

        assert_int_equal(secret_seal(ctx.box_pk, (unsigned char *)text,
                                     strlen(text), &box, &len, NULL),
                         0);
        b64 = secret_b64_encode(box, len);
        free(text);
        free(box);
        json_decref(j);
        return b64;
}

/* add: appends a record; data (taken) NULL makes a tombstone. */
static struct kafka_record *
add(const char *topic, const char *type, const char *key, json_t *data)
{
        struct kafka_record *r = &recs[nrecs];

        assert_true(nrecs < MAX_RECS);
        memset(r, 0, sizeof(*r));
        texts[nrecs] = data ? json_dumps(data, JSON_COMPACT) : NULL;
        json_decref(data);
        r->topic = topic;
        r->partition = 0;
        r->offset = (int64_t)nrecs;
        snprintf(r->ev.type, sizeof(r->ev.type), "%s", type);
        uuid_v7(r->ev.id);
        r->key = key;
        r->key_len = strlen(key);
        r->value = texts[nrecs];
        r->value_len = texts[nrecs] ? strlen(texts[nrecs]) : 0;
        nrecs++;
        return r;
}

/* add_request: a request for message id to a provider; sealed NULL gives
 * one whose recipient cannot be opened. */
static struct kafka_record *
add_request(const char *id, const char *sealed)
{
        return add(NOTIFY_TOPIC_REQUESTS, NOTIFY_TYPE_REQUESTED, id,
                   json_pack("{s:s, s:s, s:s, s:s, s:s}", "message_id", id,
                             "template", "new_referral_provider", "audience",
                             "provider", "service_id", SERVICE, "sealed",
                             sealed ? sealed : "bm90IGEgYm94"));
}

static void
handle(void)
{
        struct err e = {0};

        assert_int_equal(inbox_handle_batch(&in, recs, nrecs, &e), 0);
}

static void
batch_clear(void)
{
        for (size_t i = 0; i < nrecs; i++)
                free(texts[i]);
        nrecs = 0;
}

static long
count(const char *sql, const char *arg)
{
        return testdb_count(db, sql, arg);
}

static char *
status(const char *id)
{
        const char *p[1] = {id};
        PGresult *r = db_query(db,
                               "SELECT status FROM message WHERE message_id"
                               " = $1",
                               1, p, NULL);
        char *s;

        assert_non_null(r);
        assert_int_equal(PQntuples(r), 1);
        s = strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        return s;
}

static void
assert_status(const char *id, const char *want)
{
        char *s = status(id);

        assert_string_equal(s, want);
        free(s);
}

/* ---- tests ---- */

static void
test_batch_of_requests_recorded_pending(void **state)
{
        char ids[4][UUID_STR_LEN];
        char *sealed = seal("provider@example.org");
        int i;

        (void)state;
        for (i = 0; i < 4; i++) {
                uuid_v7(ids[i]);
                add_request(ids[i], sealed);
        }
        handle();
        for (i = 0; i < 4; i++) {
                assert_int_equal(recs[i].result, ERR_NONE);
                assert_status(ids[i], "pending");
        }
        assert_int_equal(count("SELECT count(*) FROM message WHERE"
                               " message_id = $1 AND recipient_index IS NOT"
                               " NULL AND channel = 'email'",
                               ids[2]),
                         1);
        batch_clear();
        free(sealed);
}

static void
test_redelivered_batch_recorded_once(void **state)
{
        char id[UUID_STR_LEN];
        char *sealed = seal("provider@example.org");

        (void)state;
        uuid_v7(id);
        add_request(id, sealed);
        handle();
        /* the sender got to it; then the same record comes again */
        assert_int_equal(db_exec(db,
                                 "UPDATE message SET status = 'sent', sealed"
                                 " = NULL WHERE message_id = $1",
                                 1, (const char *[]){id}, NULL, NULL),
                         0);
        handle();
        assert_status(id, "sent");
        assert_int_equal(
            count("SELECT count(*) FROM message WHERE message_id = $1", id), 1);
        batch_clear();
        free(sealed);
}

static void
test_invalid_request_dead_lettered_alone(void **state)
{
        char a[UUID_STR_LEN], b[UUID_STR_LEN];
        char *sealed = seal("provider@example.org");

        (void)state;
        uuid_v7(a);
        uuid_v7(b);
        add_request(a, sealed);
        add(NOTIFY_TOPIC_REQUESTS, NOTIFY_TYPE_REQUESTED, "x",
            json_pack("{s:s, s:s, s:s}", "message_id", "nope", "template", "x",
                      "audience", "provider"));
        add_request(b, sealed);
        handle();
        assert_int_equal(recs[0].result, ERR_NONE);
        assert_int_equal(recs[1].result, ERR_INVALID);
        assert_int_equal(recs[2].result, ERR_NONE);
        assert_status(a, "pending");
        assert_status(b, "pending");
        batch_clear();
        free(sealed);
}

/* Within one batch, a message id's first request decides its row, also
 * when the second takes the other path (a recorded failure). */
static void
test_first_request_for_an_id_wins(void **state)
{
        char a[UUID_STR_LEN], b[UUID_STR_LEN];
        char *sealed = seal("provider@example.org");

        (void)state;
        uuid_v7(a);
        uuid_v7(b);
        add_request(a, sealed);
        add_request(a, NULL);
        add_request(b, NULL);
        add_request(b, sealed);
        handle();
        assert_status(a, "pending");
        assert_status(b, "failed");
        /* only b's recorded failure has an event */
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE key = $1", a),
                         0);
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE key = $1", b),
                         1);
        batch_clear();
        free(sealed);
}

static void
test_consent_tombstone_forgets_subject(void **state)
{
        char id[UUID_STR_LEN];
        char *sealed = seal("person@example.org");
        struct err e = {0};

        (void)state;
        add(NOTIFY_TOPIC_CONSENT, "signpost.consent.state.v1", SUBJECT,
            json_pack("{s:s, s:{s:s}, s:b, s:i}", "subject_id", SUBJECT,
                      "purposes", "feedback_requests", "granted", "opted_out",
                      0, "seq", 1));
        handle();
        batch_clear();
        assert_int_equal(count("SELECT count(*) FROM consent_state WHERE"
                               " subject_id = $1",
                               SUBJECT),
                         1);
        /* the subject is erased: a tombstone, then a request about them */
        add(NOTIFY_TOPIC_CONSENT, "signpost.consent.state.v1", SUBJECT, NULL);
        uuid_v7(id);
        add(NOTIFY_TOPIC_REQUESTS, NOTIFY_TYPE_REQUESTED, id,
            json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "message_id", id,
                      "template", "feedback_request_person", "audience",
                      "person", "subject_id", SUBJECT, "purpose",
                      "feedback_requests", "sealed", sealed));
        handle();
        assert_int_equal(recs[0].result, ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM consent_state WHERE"
                               " subject_id = $1",
                               SUBJECT),
                         0);
        /* consent unknown again: the message waits, it is not sent */
        assert_true(notify_sender_once(&ctx, db, &e) >= 0);
        assert_status(id, "pending");
        batch_clear();
        free(sealed);
}

static void
test_catalogue_tombstones_delete_rows(void **state)
{
        const char *org = "0193b000-0000-7000-8000-0000000000d2";

        (void)state;
        add(NOTIFY_TOPIC_ORGS, "signpost.organisation.updated.v1", org,
            json_pack("{s:s, s:s}", "id", org, "name", "Age Well"));
        add(NOTIFY_TOPIC_SERVICES, "signpost.service.updated.v1", SERVICE,
            json_pack("{s:s, s:s, s:s, s:s, s:b, s:[]}", "id", SERVICE, "name",
                      "Befriending Kingston", "organization_id", org, "status",
                      "active", "accepts_referrals", 1, "taxonomy_terms"));
        handle();
        batch_clear();
        assert_int_equal(
            count("SELECT count(*) FROM catalogue_service WHERE id = $1",
                  SERVICE),
            1);
        add(NOTIFY_TOPIC_SERVICES, "signpost.service.deleted.v1", SERVICE,
            NULL);
        add(NOTIFY_TOPIC_ORGS, "signpost.organisation.deleted.v1", org, NULL);
        handle();
        assert_int_equal(recs[0].result, ERR_NONE);
        assert_int_equal(recs[1].result, ERR_NONE);
        assert_int_equal(
            count("SELECT count(*) FROM catalogue_service WHERE id = $1",
                  SERVICE),
            0);
        assert_int_equal(
            count("SELECT count(*) FROM catalogue_org WHERE id = $1", org), 0);
        batch_clear();
}

static void
test_catalogue_non_tombstones_dead_lettered(void **state)
{
        const char *org = "0193b000-0000-7000-8000-0000000000d3";
        struct kafka_record *r;

        (void)state;
        add(NOTIFY_TOPIC_ORGS, CATALOGUE_TYPE_ORG, org,
            json_pack("{s:s, s:s}", "id", org, "name", "Age Well"));
        handle();
        batch_clear();
        /* a deleted type with a body, an empty value, a key that is not
         * an id: none deletes, each is dead-lettered alone */
        add(NOTIFY_TOPIC_ORGS, CATALOGUE_TYPE_ORG_DELETED, org,
            json_pack("{s:s, s:s}", "id", org, "name", "Age Well"));
        r = add(NOTIFY_TOPIC_ORGS, CATALOGUE_TYPE_ORG_DELETED, org, NULL);
        texts[nrecs - 1] = strdup("");
        r->value = texts[nrecs - 1];
        add(NOTIFY_TOPIC_ORGS, CATALOGUE_TYPE_ORG_DELETED, "not-an-id", NULL);
        add(NOTIFY_TOPIC_ORGS, CATALOGUE_TYPE_ORG, org,
            json_pack("{s:s, s:s}", "id", org, "name", "Age Well Kingston"));
        handle();
        assert_int_equal(recs[0].result, ERR_INVALID);
        assert_int_equal(recs[1].result, ERR_INVALID);
        assert_int_equal(recs[2].result, ERR_INVALID);
        assert_int_equal(recs[3].result, ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM catalogue_org WHERE"
                               " id = $1 AND name = 'Age Well Kingston'",
                               org),
                         1);
        batch_clear();
}

static void
test_request_tombstone_dead_lettered(void **state)
{
        char id[UUID_STR_LEN];

        (void)state;
        uuid_v7(id);
        add(NOTIFY_TOPIC_REQUESTS, NOTIFY_TYPE_REQUESTED, id, NULL);
        handle();
        assert_int_equal(recs[0].result, ERR_INVALID);
        assert_int_equal(
            count("SELECT count(*) FROM message WHERE message_id = $1", id), 0);
        batch_clear();
}

/* ---- set-up ---- */

static int
setup(void **state)
{
        char conninfo[1024], spool[512];
        struct secret_key *sk = NULL;
        struct err e = {0};

        (void)state;
        if ((db = testdb_migrated("notification_test_batch", NOTIFY_SCHEMA,
                                  "services/notification/migrations", conninfo,
                                  sizeof(conninfo))) == NULL ||
            secret_box_keypair(ctx.box_pk, &sk, NULL) != 0 ||
            secret_key_random(SECRET_KEY_BYTES, NULL, &ctx.index_key, NULL) !=
                0)
                return -1;
        ctx.box_sk = sk;
        snprintf(spool, sizeof(spool), "%s/notification-batch-spool-%d",
                 testenv_tmp(), (int)getpid());
        ctx.channel = notify_channel_spool(spool, false, 0, &e);
        snprintf(ctx.instance, sizeof(ctx.instance), "test");
        ctx.max_attempts = 5;
        ctx.consent_wait_ms = 3600000;
        ctx.consent_recheck_ms = 60000;
        ctx.batch = 50;
        batch.ctx = &ctx;
        in = (struct inbox){.db = db,
                            .consumer = "notification",
                            .apply = notify_batch_apply,
                            .flush = notify_batch_flush,
                            .arg = &batch};
        return ctx.channel == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
        (void)state;
        batch_clear();
        notify_batch_fini(&batch);
        ctx.channel->free(ctx.channel);
        secret_key_free(ctx.box_sk);
        secret_key_free(ctx.index_key);
        db_free(db);
        return 0;
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_batch_of_requests_recorded_pending),
            cmocka_unit_test(test_redelivered_batch_recorded_once),
            cmocka_unit_test(test_invalid_request_dead_lettered_alone),
            cmocka_unit_test(test_first_request_for_an_id_wins),
            cmocka_unit_test(test_consent_tombstone_forgets_subject),
            cmocka_unit_test(test_catalogue_tombstones_delete_rows),
            cmocka_unit_test(test_catalogue_non_tombstones_dead_lettered),
            cmocka_unit_test(test_request_tombstone_dead_lettered),
        };

        log_init("test_batch", LOG_ERROR);
        return cmocka_run_group_tests(tests, setup, teardown);
}
