/*
 * consume: the status and owner replicas the gateway keeps from intake's
 * events on referral.events, through the inbox as the daemon runs it. A
 * batch's received rows are written together at its end, yet a status
 * change later in the same batch still finds its row; a redelivered batch
 * adds nothing; a received event again keeps the status; a malformed one
 * is dead-lettered alone; of two owner rows for one referral the later
 * wins; a submission is no source. Against a real throwaway PostgreSQL,
 * no broker needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gateway.h"
#include "inbox.h"
#include "testdb.h"
#include "testenv.h"

#define SVC "6f0c1a52-3d1e-4e43-9b0a-0c6a0d4b5e01"

static struct db *db;

static int
setup(void **state)
{
        char conninfo[512];

        (void)state;
        db = testdb_migrated("gw_consume", GW_SCHEMA,
                             "services/gateway/migrations", conninfo,
                             sizeof(conninfo));
        return db == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
        (void)state;
        db_free(db);
        return 0;
}

static int
reset(void **state)
{
        (void)state;
        return db_exec(db, "TRUNCATE referral_status, referral_owner, inbox", 0,
                       NULL, NULL, NULL);
}

/* One record and the text it points at. */
struct rec {
        struct kafka_record r;
        char id[UUID_STR_LEN];
        char value[512];
};

/* addressed: x as a record of type from source on topic, keyed by x->id
 * (the referral), its value x->value as written. */
static void
addressed(struct rec *x, const char *source, const char *type,
          const char *topic)
{
        event_init(&x->r.ev, source, type, x->id);
        x->r.topic = topic;
        x->r.key = x->id;
        x->r.key_len = strlen(x->id);
        x->r.value = x->value;
        x->r.value_len = strlen(x->value);
}

/* The inbox as the gateway's consumer runs it. */
static struct inbox
consumer(void)
{
        return (struct inbox){.db = db,
                              .consumer = "gateway",
                              .apply = gw_consume_apply,
                              .flush = gw_consume_flush};
}

static void
status_changed(struct rec *x, const char *referral_id, const char *to,
               const char *word)
{
        memset(x, 0, sizeof(*x));
        snprintf(x->id, sizeof(x->id), "%s", referral_id);
        snprintf(x->value, sizeof(x->value),
                 "{\"referral_id\":\"%s\",\"from\":\"received\",\"to\":\"%s\""
                 "%s%s%s}",
                 referral_id, to, word ? ",\"public_status\":\"" : "",
                 word ? word : "", word ? "\"" : "");
        addressed(x, "intake", "signpost.referral.status_changed.v1",
                  "referral.events");
}

#define ORG "0b7a1c52-3d1e-4e43-9b0a-0c6a0d4b5e02"
#define SUBJ1 "1b7a1c52-3d1e-4e43-9b0a-0c6a0d4b5e03"
#define SUBJ2 "2b7a1c52-3d1e-4e43-9b0a-0c6a0d4b5e04"

/* received: intake's received event for referral_id with reference ref
 * (NULL: a new id and reference); org NULL leaves it out. */
static void
received(struct rec *x, const char *referral_id, const char *ref,
         const char *org, const char *subject)
{
        char id[UUID_STR_LEN];

        if (referral_id == NULL)
                uuid_v7(id);
        else
                snprintf(id, sizeof(id), "%s", referral_id);
        memset(x, 0, sizeof(*x));
        snprintf(x->id, sizeof(x->id), "%s", id);
        snprintf(x->value, sizeof(x->value),
                 "{\"referral_id\":\"%s\",\"reference\":\"%s\","
                 "\"service_id\":\"" SVC "\",%s%s%s\"subject_id\":\"%s\","
                 "\"privacy_notice_version\":\"2026-01\","
                 "\"received_at\":\"2026-12-07T10:00:00Z\"}",
                 id, ref ? ref : "SP-AAAA-AAAA",
                 org ? "\"organisation_id\":\"" : "", org ? org : "",
                 org ? "\"," : "", subject);
        addressed(x, "intake", "signpost.referral.received.v1",
                  "referral.events");
}

/* batch: runs recs[0..n) through the inbox as the daemon does. */
static int
batch(struct rec *recs, size_t n, struct inbox *in)
{
        struct kafka_record r[8];
        struct err e = {0};
        int rc;

        assert_true(n <= 8);
        for (size_t i = 0; i < n; i++)
                r[i] = recs[i].r;
        rc = inbox_handle_batch(in, r, n, &e);
        for (size_t i = 0; i < n; i++)
                recs[i].r.result = r[i].result;
        return rc;
}

/* cell_of: the one value sql ($1 = id) answers ("" when no row). */
static void
cell_of(const char *sql, const char *id, char *out, size_t outsz)
{
        const char *p[1] = {id};
        PGresult *r = db_query(db, sql, 1, p, NULL);

        snprintf(out, outsz, "%s",
                 r != NULL && PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : "");
        PQclear(r);
}

/* status_of: the stored status of id ("" when there is no row). */
static void
status_of(const char *id, char out[32])
{
        cell_of("SELECT status FROM referral_status WHERE referral_id = $1", id,
                out, 32);
}

static long
rows(void)
{
        PGresult *r =
            db_query(db, "SELECT count(*) FROM referral_status", 0, NULL, NULL);
        long n = r != NULL ? atol(PQgetvalue(r, 0, 0)) : -1;

        PQclear(r);
        return n;
}

static void
test_a_batch_of_received_is_stored_once(void **state)
{
        struct inbox in = consumer();
        struct rec x[4];
        char st[32];
        const char *p[1];
        PGresult *r;

        (void)state;
        received(&x[0], NULL, "SP-AAAA-AAAA", ORG, SUBJ1);
        received(&x[1], NULL, "SP-BBBB-BBBB", ORG, SUBJ1);
        received(&x[2], NULL, "SP-CCCC-CCCC", NULL, SUBJ2);
        received(&x[3], NULL, "SP-DDDD-DDDD", ORG, SUBJ2);
        assert_int_equal(batch(x, 4, &in), 0);
        assert_int_equal(rows(), 4);
        status_of(x[2].id, st);
        assert_string_equal(st, "received");
        p[0] = x[1].id;
        r = db_query(db,
                     "SELECT reference, service_id, updated_at ="
                     " '2026-12-07T10:00:00Z'"
                     " FROM referral_status WHERE referral_id = $1",
                     1, p, NULL);
        assert_non_null(r);
        assert_int_equal(PQntuples(r), 1);
        assert_string_equal(PQgetvalue(r, 0, 0), "SP-BBBB-BBBB");
        assert_string_equal(PQgetvalue(r, 0, 1), SVC);
        assert_string_equal(PQgetvalue(r, 0, 2), "t"); /* intake's time */
        PQclear(r);
        /* redelivered: nothing more */
        assert_int_equal(batch(x, 4, &in), 0);
        assert_int_equal(rows(), 4);
        assert_int_equal(in.applied, 4);
        assert_int_equal(in.duplicates, 4);
}

static void
test_a_change_later_in_the_batch_finds_its_row(void **state)
{
        struct inbox in = consumer();
        struct rec x[4];
        char st[32];

        (void)state;
        received(&x[0], NULL, "SP-AAAA-AAAA", ORG, SUBJ1);
        received(&x[1], NULL, "SP-BBBB-BBBB", ORG, SUBJ1);
        status_changed(&x[2], x[0].id, "delivered", "with_provider");
        received(&x[3], NULL, "SP-CCCC-CCCC", ORG, SUBJ1);
        assert_int_equal(batch(x, 4, &in), 0);
        assert_int_equal(rows(), 3);
        status_of(x[0].id, st);
        assert_string_equal(st, "with_provider");
        status_of(x[1].id, st);
        assert_string_equal(st, "received");
        status_of(x[3].id, st);
        assert_string_equal(st, "received");
}

/* A received event again (a replay of intake's outbox under a new event
 * id) keeps the status intake has since set. */
static void
test_a_received_again_keeps_the_status(void **state)
{
        struct inbox in = consumer();
        struct rec x[2];
        char st[32], id[UUID_STR_LEN];

        (void)state;
        received(&x[0], NULL, "SP-AAAA-AAAA", ORG, SUBJ1);
        snprintf(id, sizeof(id), "%s", x[0].id);
        status_changed(&x[1], id, "contacted", "contacted");
        assert_int_equal(batch(x, 2, &in), 0);
        received(&x[0], id, "SP-AAAA-AAAA", ORG, SUBJ1);
        assert_int_equal(batch(x, 1, &in), 0);
        status_of(id, st);
        assert_string_equal(st, "contacted");
}

static void
test_a_malformed_received_is_dead_lettered_alone(void **state)
{
        struct inbox in = consumer();
        struct rec x[4];
        char st[32];

        (void)state;
        received(&x[0], NULL, "SP-AAAA-AAAA", ORG, SUBJ1);
        received(&x[1], NULL, "SP-BBBB-BBBB", ORG, SUBJ1);
        snprintf(x[1].value, sizeof(x[1].value),
                 "{\"referral_id\":\"%s\",\"reference\":\"SP-BBBB-BBBB\","
                 "\"subject_id\":\"" SUBJ1 "\"}",
                 x[1].id); /* no service_id */
        x[1].r.value_len = strlen(x[1].value);
        received(&x[2], NULL, "not a reference", ORG, SUBJ1);
        received(&x[3], NULL, "SP-CCCC-CCCC", ORG, SUBJ1);
        assert_int_equal(batch(x, 4, &in), 0);
        assert_int_equal(x[0].r.result, ERR_NONE);
        assert_int_equal(x[1].r.result, ERR_INVALID);
        assert_int_equal(x[2].r.result, ERR_INVALID);
        assert_int_equal(x[3].r.result, ERR_NONE);
        assert_int_equal(rows(), 2);
        status_of(x[1].id, st);
        assert_string_equal(st, "");
        status_of(x[3].id, st);
        assert_string_equal(st, "received");
}

/* The gateway does not subscribe to referral.submissions; were one of its
 * own submissions handed to it, it would store nothing from it. */
static void
test_a_submission_is_not_a_replica_source(void **state)
{
        struct inbox in = consumer();
        struct rec x[1];

        (void)state;
        memset(x, 0, sizeof(x));
        uuid_v7(x[0].id);
        snprintf(x[0].value, sizeof(x[0].value),
                 "{\"referral_id\":\"%s\",\"reference\":\"SP-AAAA-AAAA\","
                 "\"service_id\":\"" SVC "\",\"sealed\":\"opaque\"}",
                 x[0].id);
        addressed(&x[0], "gateway", GW_TYPE_SUBMITTED, "referral.submissions");
        assert_int_equal(batch(x, 1, &in), 0);
        assert_int_equal(x[0].r.result, ERR_NONE);
        assert_int_equal(rows(), 0);
}

/* Intake owns the word a person sees: the gateway stores public_status as
 * it comes (a word it has never heard of too: it maps nothing), and
 * dead-letters a status change without one instead of dropping it. */
static void
test_status_shows_intakes_word_and_none_is_dead_lettered(void **state)
{
        struct inbox in = consumer();
        struct rec x[4];
        char st[32], a[UUID_STR_LEN], b[UUID_STR_LEN];

        (void)state;
        received(&x[0], NULL, "SP-AAAA-AAAA", ORG, SUBJ1);
        received(&x[1], NULL, "SP-BBBB-BBBB", ORG, SUBJ1);
        assert_int_equal(batch(x, 2, &in), 0);
        snprintf(a, sizeof(a), "%s", x[0].id);
        snprintf(b, sizeof(b), "%s", x[1].id);
        status_changed(&x[0], a, "contacted", "with_the_council");
        status_changed(&x[1], b, "delivered", NULL);
        status_changed(&x[2], b, "accepted", "");
        status_changed(&x[3], b, "contacted", "closed");
        assert_int_equal(batch(x, 4, &in), 0);
        assert_int_equal(x[0].r.result, ERR_NONE);
        assert_int_equal(x[1].r.result, ERR_INVALID);
        assert_int_equal(x[2].r.result, ERR_INVALID);
        assert_int_equal(x[3].r.result, ERR_NONE);
        status_of(a, st);
        assert_string_equal(st, "with_the_council");
        status_of(b, st);
        assert_string_equal(st, "closed");
}

/* owner_of: "org subject" of id's owner row ("" when none). */
static void
owner_of(const char *id, char out[96])
{
        cell_of("SELECT coalesce(organisation_id::text, '-') || ' ' ||"
                " subject_id FROM referral_owner WHERE referral_id = $1",
                id, out, 96);
}

static void
test_owner_rows_of_a_batch_later_wins(void **state)
{
        struct inbox in = consumer();
        struct rec x[5];
        char a[UUID_STR_LEN], b[UUID_STR_LEN], got[96];

        (void)state;
        uuid_v7(a);
        uuid_v7(b);
        received(&x[0], a, NULL, ORG, SUBJ1);
        received(&x[1], b, NULL, NULL, SUBJ1);
        received(&x[2], a, NULL, ORG, SUBJ2); /* a later word on a */
        received(&x[3], a, NULL, ORG, SUBJ1);
        snprintf(x[3].value, sizeof(x[3].value), "{\"referral_id\":\"%s\"}",
                 a); /* no subject: dead-lettered, not applied */
        x[3].r.value_len = strlen(x[3].value);
        received(&x[4], NULL, NULL, ORG, SUBJ1);
        assert_int_equal(batch(x, 5, &in), 0);
        assert_int_equal(x[3].r.result, ERR_INVALID);
        owner_of(a, got);
        assert_string_equal(got, ORG " " SUBJ2);
        owner_of(b, got);
        assert_string_equal(got, "- " SUBJ1);
        assert_int_equal(rows(), 3);
        /* a later batch updates the row */
        received(&x[0], b, NULL, ORG, SUBJ2);
        assert_int_equal(batch(x, 1, &in), 0);
        owner_of(b, got);
        assert_string_equal(got, ORG " " SUBJ2);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup(test_a_batch_of_received_is_stored_once,
                                   reset),
            cmocka_unit_test_setup(
                test_a_change_later_in_the_batch_finds_its_row, reset),
            cmocka_unit_test_setup(test_a_received_again_keeps_the_status,
                                   reset),
            cmocka_unit_test_setup(
                test_a_malformed_received_is_dead_lettered_alone, reset),
            cmocka_unit_test_setup(test_a_submission_is_not_a_replica_source,
                                   reset),
            cmocka_unit_test_setup(
                test_status_shows_intakes_word_and_none_is_dead_lettered,
                reset),
            cmocka_unit_test_setup(test_owner_rows_of_a_batch_later_wins,
                                   reset),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
