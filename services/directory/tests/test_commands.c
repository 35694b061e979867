/*
 * test_commands: commands that arrive before the entity they refer to.
 * Keyed apart, a service_create can be consumed before the
 * organization_create it names; the directory must wait for it (a
 * TRANSIENT record the consumer retries), apply it once the organisation
 * is there, and dead-letter it with a clear reason only after the wait.
 * Batches go through inbox_handle_batch exactly as the daemon's consumer
 * hands them over.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "fixture.h"
#include "inbox.h"

#define WAIT_S 600

static struct dir_commands dc = {.missing_ref_wait_s = WAIT_S};
static struct inbox in;

/* A record as the consumer hands it over; the value is owned here. */
struct rec {
        struct kafka_record r;
        char *value;
};

static void
rec_init(struct rec *x, const char *verb, int partition, long age_s,
         json_t *data)
{
        time_t t = time(NULL) - age_s;
        struct tm tm;

        memset(x, 0, sizeof(*x));
        snprintf(x->r.ev.type, sizeof(x->r.ev.type), "signpost.directory.%s.v1",
                 verb);
        uuid_v7(x->r.ev.id);
        gmtime_r(&t, &tm);
        strftime(x->r.ev.time, sizeof(x->r.ev.time), "%Y-%m-%dT%H:%M:%S.000Z",
                 &tm);
        x->value = json_dumps(data, JSON_COMPACT);
        json_decref(data);
        x->r.topic = DIR_TOPIC_COMMANDS;
        x->r.partition = partition;
        x->r.value = x->value;
        x->r.value_len = strlen(x->value);
}

static json_t *
org(const char *id)
{
        return json_pack("{ss ss}", "id", id, "name", "Riverside Trust");
}

static json_t *
service(const char *id, const char *org_id, const char *name)
{
        return json_pack("{ss ss ss ss}", "id", id, "organization_id", org_id,
                         "name", name, "status", "active");
}

/* batch: hands n records to the inbox as one consumer batch. */
static void
batch(struct rec *x, size_t n)
{
        struct kafka_record recs[8];
        struct err e = {0};
        size_t i;

        for (i = 0; i < n; i++)
                recs[i] = x[i].r;
        assert_int_equal(inbox_handle_batch(&in, recs, n, &e), 0);
        for (i = 0; i < n; i++)
                x[i].r = recs[i];
}

static void
recs_fini(struct rec *x, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(x[i].value);
}

/* name_of: the stored name of service id, "" when there is none. */
static void
name_of(const char *id, char out[64])
{
        struct err e = {0};
        const char *p[1] = {id};
        PGresult *r =
            db_query(db, "SELECT name FROM services WHERE id = $1", 1, p, &e);

        assert_non_null(r);
        snprintf(out, 64, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "");
        PQclear(r);
}

/* apply1: one command applied alone, as the consumer would; returns the
 * err kind and leaves the reason in e. */
static enum err_kind
apply1(struct rec *x, struct err *e)
{
        int rc;

        assert_int_equal(db_begin(db, e), 0);
        rc = dir_commands_apply(&dc, db, &x->r, e);
        db_rollback(db);
        return rc == 0 ? ERR_NONE : e->kind;
}

/* ---- set-up ---- */

static int
setup(void **state)
{
        char conninfo[1024];

        (void)state;
        db = fixture_db("dir_test_commands", conninfo, sizeof(conninfo));
        if (db == NULL)
                return -1;
        in = (struct inbox){.db = db,
                            .consumer = "directory",
                            .apply = dir_commands_apply,
                            .arg = &dc};
        return 0;
}

/* ---- tests ---- */

static void
test_service_before_its_organisation_waits(void **state)
{
        struct rec x;
        struct err e = {0};

        (void)state;
        rec_init(&x, "service_create", 0, 5,
                 service("11111111-1111-4111-8111-111111111111",
                         "22222222-2222-4222-8222-222222222222", "Lunch club"));
        assert_int_equal(apply1(&x, &e), ERR_TRANSIENT);
        assert_non_null(strstr(e.msg, "not there yet"));
        assert_non_null(strstr(e.msg, "organization_id"));
        recs_fini(&x, 1);
}

static void
test_missing_reference_dead_letters_after_the_wait(void **state)
{
        struct rec x;
        struct err e = {0};

        (void)state;
        rec_init(&x, "service_create", 0, WAIT_S + 60,
                 service("11111111-1111-4111-8111-111111111111",
                         "22222222-2222-4222-8222-222222222222", "Lunch club"));
        assert_int_equal(apply1(&x, &e), ERR_INVALID);
        assert_non_null(strstr(e.msg, "still missing 600 s after ce_time"));
        recs_fini(&x, 1);
}

static void
test_other_errors_are_not_retried(void **state)
{
        struct rec x;
        struct err e = {0};

        (void)state;
        rec_init(&x, "service_create", 0, 5,
                 json_pack("{ss ss ss}", "id",
                           "11111111-1111-4111-8111-111111111111", "name", "x",
                           "status", "open"));
        assert_int_equal(apply1(&x, &e), ERR_INVALID);
        recs_fini(&x, 1);
}

/* The organisation's create sits later in the batch, on another partition:
 * it is applied while the service and the service's later update (same
 * partition) wait; redelivered, they apply in order. */
static void
test_waiting_service_applies_once_its_organisation_arrives(void **state)
{
        const char *sid = "33333333-3333-4333-8333-333333333333";
        const char *oid = "44444444-4444-4444-8444-444444444444";
        struct rec x[3];
        char name[64];

        (void)state;
        rec_init(&x[0], "service_create", 0, 5, service(sid, oid, "Choir"));
        rec_init(&x[1], "service_update", 0, 4,
                 json_pack("{ss ss}", "id", sid, "name", "Community choir"));
        rec_init(&x[2], "organization_create", 1, 6, org(oid));
        batch(x, 3);
        assert_int_equal(x[0].r.result, ERR_TRANSIENT);
        assert_int_equal(x[1].r.result, ERR_TRANSIENT);
        assert_int_equal(x[2].r.result, ERR_NONE);
        name_of(sid, name);
        assert_string_equal(name, "");

        /* the consumer redelivers from the waiting record on */
        batch(x, 3);
        assert_int_equal(x[0].r.result, ERR_NONE);
        assert_int_equal(x[1].r.result, ERR_NONE);
        assert_int_equal(x[2].r.result, ERR_NONE);
        name_of(sid, name);
        assert_string_equal(name, "Community choir");
        recs_fini(x, 3);
}

/* A bad command behind a waiting one is judged again when redelivered, so
 * it still reaches the dead-letter topic (not skipped as a duplicate). */
static void
test_invalid_behind_a_waiting_record_is_judged_again(void **state)
{
        struct rec x[2];

        (void)state;
        rec_init(&x[0], "service_create", 0, 5,
                 service("55555555-5555-4555-8555-555555555555",
                         "66666666-6666-4666-8666-666666666666",
                         "Repair cafe"));
        rec_init(&x[1], "nonsense", 1, 5, json_object());
        batch(x, 2);
        assert_int_equal(x[0].r.result, ERR_TRANSIENT);
        assert_int_equal(x[1].r.result, ERR_INVALID);
        batch(x, 2);
        assert_int_equal(x[0].r.result, ERR_TRANSIENT);
        assert_int_equal(x[1].r.result, ERR_INVALID);
        assert_non_null(strstr(x[1].r.reason, "unknown command type"));
        recs_fini(x, 2);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_service_before_its_organisation_waits),
            cmocka_unit_test(
                test_missing_reference_dead_letters_after_the_wait),
            cmocka_unit_test(test_other_errors_are_not_retried),
            cmocka_unit_test(
                test_waiting_service_applies_once_its_organisation_arrives),
            cmocka_unit_test(
                test_invalid_behind_a_waiting_record_is_judged_again),
        };

        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
