/*
 * inbox: a batch applies exactly once; duplicates are skipped; an invalid
 * record is undone alone and remembered; a transient failure undoes the
 * whole batch. Against a real throwaway PostgreSQL, no broker needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "inbox.h"
#include "log.h"
#include "testenv.h"

static struct db *db;
static int transient_at = 1000000; /* apply fails TRANSIENT on this */

static int
apply(void *arg, struct db *d, const struct kafka_record *rec, struct err *e)
{
        char v[32];
        const char *p[1] = {v};

        (void)arg;
        snprintf(v, sizeof(v), "%.*s", (int)rec->value_len,
                 (const char *)rec->value);
        if (atoi(v) == transient_at)
                return err_set(e, ERR_TRANSIENT, NULL, "database went away");
        if (atoi(v) < 0)
                return err_set(e, ERR_INVALID, "v", "must not be negative");
        return db_exec(d, "INSERT INTO effects (v) VALUES ($1::int)", 1, p,
                       NULL, e);
}

/* apply_then_die: the second record's apply loses the connection. */
static int
apply_then_die(void *arg, struct db *d, const struct kafka_record *rec,
               struct err *e)
{
        if (rec->value_len == 1 && ((const char *)rec->value)[0] == '2') {
                struct db *other = db_open(getenv("T_INBOX_CONNINFO"));

                db_exec(other, arg, 0, NULL, NULL, NULL);
                db_free(other);
                return db_exec(d, "SELECT 1", 0, NULL, NULL, e);
        }
        return apply(NULL, d, rec, e);
}

static int
setup(void **state)
{
        char conninfo[512];
        struct err e = {0};

        (void)state;
        if (testenv_db("t_inbox", conninfo, sizeof(conninfo)) != 0)
                return -1;
        setenv("T_INBOX_CONNINFO", conninfo, 1);
        db = db_open(conninfo);
        db_set_schema(db, "ib");
        if (db_exec(db, "CREATE SCHEMA ib", 0, NULL, NULL, &e) != 0 ||
            db_migrate(db, "ib", "/nonexistent", &e) != 0 ||
            db_exec(db, "CREATE TABLE effects (v int)", 0, NULL, NULL, &e) != 0)
                return -1;
        return 0;
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
        transient_at = 1000000;
        return db_exec(db, "TRUNCATE effects, inbox", 0, NULL, NULL, NULL);
}

/* rec: a record with a fresh ce_id and value text. */
static void
rec(struct kafka_record *r, const char *value)
{
        memset(r, 0, sizeof(*r));
        event_init(&r->ev, "test", "signpost.test.happened.v1", NULL);
        r->topic = "t";
        r->value = value;
        r->value_len = strlen(value);
}

static long
effects(const char *where)
{
        char sql[128];
        PGresult *r;
        long n;

        snprintf(sql, sizeof(sql), "SELECT count(*) FROM effects %s", where);
        r = db_query(db, sql, 0, NULL, NULL);
        n = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
        return n;
}

static void
test_batch_applies_once(void **state)
{
        struct inbox in = {.db = db, .consumer = "g", .apply = apply};
        struct kafka_record r[3];
        struct err e = {0};

        (void)state;
        rec(&r[0], "1");
        rec(&r[1], "2");
        rec(&r[2], "3");
        assert_int_equal(inbox_handle_batch(&in, r, 3, &e), 0);
        assert_int_equal(effects(""), 3);
        /* the same records again (redelivery): no second effect */
        assert_int_equal(inbox_handle_batch(&in, r, 3, &e), 0);
        assert_int_equal(effects(""), 3);
        assert_int_equal(in.applied, 3);
        assert_int_equal(in.duplicates, 3);
}

static void
test_same_id_twice_in_one_batch(void **state)
{
        struct inbox in = {.db = db, .consumer = "g", .apply = apply};
        struct kafka_record r[2];
        struct err e = {0};

        (void)state;
        rec(&r[0], "5");
        r[1] = r[0]; /* the outbox republished it after a crash */
        assert_int_equal(inbox_handle_batch(&in, r, 2, &e), 0);
        assert_int_equal(effects(""), 1);
}

static void
test_other_consumer_applies_too(void **state)
{
        struct inbox a = {.db = db, .consumer = "a", .apply = apply};
        struct inbox b = {.db = db, .consumer = "b", .apply = apply};
        struct kafka_record r[1];
        struct err e = {0};

        (void)state;
        rec(&r[0], "7");
        assert_int_equal(inbox_handle_batch(&a, r, 1, &e), 0);
        assert_int_equal(inbox_handle_batch(&b, r, 1, &e), 0);
        assert_int_equal(effects("WHERE v = 7"), 2);
}

static void
test_invalid_record_is_undone_alone_and_remembered(void **state)
{
        struct inbox in = {.db = db, .consumer = "g", .apply = apply};
        struct kafka_record r[3];
        struct err e = {0};

        (void)state;
        rec(&r[0], "1");
        rec(&r[1], "-1");
        rec(&r[2], "3");
        assert_int_equal(inbox_handle_batch(&in, r, 3, &e), 0);
        assert_int_equal(effects(""), 2);
        assert_int_equal(r[0].result, ERR_NONE);
        assert_int_equal(r[1].result, ERR_INVALID);
        assert_non_null(strstr(r[1].reason, "v: must not be negative"));
        assert_int_equal(r[2].result, ERR_NONE);
        /* redelivered (its dead letter was not acknowledged): still
         * dead-lettered, still no effect */
        r[1].result = ERR_NONE;
        r[1].reason[0] = '\0';
        assert_int_equal(inbox_handle_batch(&in, &r[1], 1, &e), 0);
        assert_int_equal(r[1].result, ERR_INVALID);
        assert_non_null(strstr(r[1].reason, "must not be negative"));
        assert_int_equal(effects(""), 2);
}

static void
test_transient_record_waits_and_its_partition_stops(void **state)
{
        struct inbox in = {.db = db, .consumer = "g", .apply = apply};
        struct kafka_record r[3];
        struct err e = {0};

        (void)state;
        rec(&r[0], "1");
        rec(&r[1], "99");
        rec(&r[2], "3"); /* same partition, after the waiting one */
        transient_at = 99;
        assert_int_equal(inbox_handle_batch(&in, r, 3, &e), 0);
        assert_int_equal(r[0].result, ERR_NONE);
        assert_int_equal(r[1].result, ERR_TRANSIENT);
        assert_int_equal(r[2].result, ERR_TRANSIENT);
        assert_int_equal(effects(""), 1);
        /* the consumer redelivers from the waiting record; once its cause
         * is gone both apply, and the first is not applied twice */
        transient_at = 1000000;
        assert_int_equal(inbox_handle_batch(&in, r, 3, &e), 0);
        assert_int_equal(effects(""), 3);
}

static void
test_lost_connection_undoes_the_batch(void **state)
{
        struct inbox in = {.db = db, .consumer = "g", .apply = apply};
        struct kafka_record r[2];
        struct err e = {0};
        PGresult *pid;
        char killer[64];

        (void)state;
        rec(&r[0], "1");
        rec(&r[1], "2");
        pid = db_query(db, "SELECT pg_backend_pid()", 0, NULL, &e);
        snprintf(killer, sizeof(killer), "SELECT pg_terminate_backend(%s)",
                 PQgetvalue(pid, 0, 0));
        PQclear(pid);
        in.arg = killer;
        in.apply = apply_then_die;
        assert_int_equal(inbox_handle_batch(&in, r, 2, &e), -1);
        assert_int_equal(e.kind, ERR_TRANSIENT);
        assert_int_equal(effects(""), 0);
}

/* A buffering apply: values are kept and written by flush in one
 * statement; a value equal to flush_bad makes the flush fail INVALID. */
struct buffered {
        char vals[512];
        int keeps;      /* flushes with keep */
        int statements; /* flushes that wrote */
        int flush_bad;
};

static int
buffer_apply(void *arg, struct db *d, const struct kafka_record *rec,
             struct err *e)
{
        struct buffered *b = arg;
        size_t o = strlen(b->vals);

        (void)d;
        /* buffered before the verdict, so a failure must drop it */
        snprintf(b->vals + o, sizeof(b->vals) - o, "%s%.*s", o ? "," : "",
                 (int)rec->value_len, (const char *)rec->value);
        if (atoi(rec->value) < 0)
                return err_set(e, ERR_INVALID, "v", "must not be negative");
        return 0;
}

static int
buffer_flush(void *arg, struct db *d, bool keep, struct err *e)
{
        struct buffered *b = arg;
        char arr[520], bad[16];
        const char *p[1] = {arr};
        int rc = 0;

        snprintf(bad, sizeof(bad), "%d", b->flush_bad);
        if (keep) {
                b->keeps++;
                if (strstr(b->vals, bad) != NULL)
                        rc = err_set(e, ERR_INVALID, "v", "refused");
                else if (b->vals[0] != '\0') {
                        snprintf(arr, sizeof(arr), "{%s}", b->vals);
                        b->statements++;
                        rc = db_exec(d,
                                     "INSERT INTO effects (v)"
                                     " SELECT unnest($1::int[])",
                                     1, p, NULL, e);
                }
        }
        b->vals[0] = '\0';
        return rc;
}

static void
test_flush_writes_a_batch_once(void **state)
{
        struct buffered b = {.flush_bad = 1000000};
        struct inbox in = {.db = db,
                           .consumer = "g",
                           .apply = buffer_apply,
                           .arg = &b,
                           .flush = buffer_flush};
        struct kafka_record r[3];
        struct err e = {0};

        (void)state;
        rec(&r[0], "1");
        rec(&r[1], "2");
        rec(&r[2], "3");
        assert_int_equal(inbox_handle_batch(&in, r, 3, &e), 0);
        assert_int_equal(effects(""), 3);
        assert_int_equal(b.statements, 1);
        /* redelivered: nothing applied, nothing written */
        assert_int_equal(inbox_handle_batch(&in, r, 3, &e), 0);
        assert_int_equal(effects(""), 3);
}

static void
test_flush_drops_what_an_invalid_record_buffered(void **state)
{
        struct buffered b = {.flush_bad = 1000000};
        struct inbox in = {.db = db,
                           .consumer = "g",
                           .apply = buffer_apply,
                           .arg = &b,
                           .flush = buffer_flush};
        struct kafka_record r[3];
        struct err e = {0};

        (void)state;
        rec(&r[0], "1");
        rec(&r[1], "-5");
        rec(&r[2], "3");
        assert_int_equal(inbox_handle_batch(&in, r, 3, &e), 0);
        assert_int_equal(r[1].result, ERR_INVALID);
        assert_int_equal(effects(""), 2);
        assert_int_equal(effects("WHERE v = -5"), 0);
        /* the first pass's buffer did not leak into the second */
        assert_int_equal(effects("WHERE v = 1"), 1);
}

static void
test_failed_flush_dead_letters_only_its_record(void **state)
{
        struct buffered b = {.flush_bad = 42};
        struct inbox in = {.db = db,
                           .consumer = "g",
                           .apply = buffer_apply,
                           .arg = &b,
                           .flush = buffer_flush};
        struct kafka_record r[3];
        struct err e = {0};

        (void)state;
        rec(&r[0], "1");
        rec(&r[1], "42");
        rec(&r[2], "3");
        assert_int_equal(inbox_handle_batch(&in, r, 3, &e), 0);
        assert_int_equal(r[0].result, ERR_NONE);
        assert_int_equal(r[1].result, ERR_INVALID);
        assert_non_null(strstr(r[1].reason, "refused"));
        assert_int_equal(r[2].result, ERR_NONE);
        assert_int_equal(effects(""), 2);
        assert_int_equal(effects("WHERE v = 42"), 0);
}

/* A begin hook that records which records it was shown, and may fail. */
struct begun {
        int calls;
        char values[64];
        enum err_kind fail;
};

static int
begin_note(void *arg, struct db *d, const struct kafka_record *const *fresh,
           size_t n, struct err *e)
{
        struct begun *b = arg;

        (void)d;
        b->calls++;
        b->values[0] = '\0';
        for (size_t i = 0; i < n; i++) {
                size_t o = strlen(b->values);
                snprintf(b->values + o, sizeof(b->values) - o, "%s%.*s",
                         o ? "," : "", (int)fresh[i]->value_len,
                         (const char *)fresh[i]->value);
        }
        if (b->fail != ERR_NONE)
                return err_set(e, b->fail, NULL, "begin refused");
        return 0;
}

/* begun_inbox: an inbox applying with apply, its begin hook noting in b. */
static struct inbox
begun_inbox(struct begun *b)
{
        return (struct inbox){.db = db,
                              .consumer = "g",
                              .apply = apply,
                              .arg = b,
                              .begin = begin_note};
}

static void
test_begin_sees_only_new_records_once_per_pass(void **state)
{
        struct begun b = {0};
        struct inbox in = begun_inbox(&b);
        struct kafka_record r[3];
        struct err e = {0};

        (void)state;
        rec(&r[0], "1");
        rec(&r[1], "2");
        assert_int_equal(inbox_handle_batch(&in, r, 2, &e), 0);
        assert_int_equal(b.calls, 1);
        assert_string_equal(b.values, "1,2");
        /* r[1] again beside a new one: only the new one is shown */
        r[2] = r[1];
        rec(&r[0], "3");
        assert_int_equal(inbox_handle_batch(&in, r, 3, &e), 0);
        assert_int_equal(b.calls, 2);
        assert_string_equal(b.values, "3");
        /* a batch of duplicates only: not called */
        assert_int_equal(inbox_handle_batch(&in, r, 3, &e), 0);
        assert_int_equal(b.calls, 2);
        assert_int_equal(effects(""), 3);
}

static void
test_begin_not_called_when_records_run_one_by_one(void **state)
{
        struct begun b = {0};
        struct inbox in = begun_inbox(&b);
        struct kafka_record r[3];
        struct err e = {0};

        (void)state;
        rec(&r[0], "1");
        rec(&r[1], "-1"); /* invalid: the batch runs again, one by one */
        rec(&r[2], "3");
        assert_int_equal(inbox_handle_batch(&in, r, 3, &e), 0);
        assert_int_equal(b.calls, 1);
        assert_int_equal(r[1].result, ERR_INVALID);
        assert_int_equal(effects(""), 2);
}

static void
test_failed_begin_runs_the_batch_one_by_one(void **state)
{
        struct begun b = {.fail = ERR_TRANSIENT};
        struct inbox in = begun_inbox(&b);
        struct kafka_record r[2];
        struct err e = {0};

        (void)state;
        rec(&r[0], "1");
        rec(&r[1], "2");
        assert_int_equal(inbox_handle_batch(&in, r, 2, &e), 0);
        assert_int_equal(b.calls, 1);
        assert_int_equal(effects(""), 2);
        /* a fatal failure undoes the batch and is returned */
        b.fail = ERR_FATAL;
        rec(&r[0], "5");
        assert_int_equal(inbox_handle_batch(&in, r, 1, &e), -1);
        assert_int_equal(e.kind, ERR_FATAL);
        assert_int_equal(effects("WHERE v = 5"), 0);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup(test_batch_applies_once, reset),
            cmocka_unit_test_setup(test_same_id_twice_in_one_batch, reset),
            cmocka_unit_test_setup(test_other_consumer_applies_too, reset),
            cmocka_unit_test_setup(
                test_invalid_record_is_undone_alone_and_remembered, reset),
            cmocka_unit_test_setup(
                test_transient_record_waits_and_its_partition_stops, reset),
            cmocka_unit_test_setup(test_lost_connection_undoes_the_batch,
                                   reset),
            cmocka_unit_test_setup(test_flush_writes_a_batch_once, reset),
            cmocka_unit_test_setup(
                test_begin_sees_only_new_records_once_per_pass, reset),
            cmocka_unit_test_setup(
                test_begin_not_called_when_records_run_one_by_one, reset),
            cmocka_unit_test_setup(test_failed_begin_runs_the_batch_one_by_one,
                                   reset),
            cmocka_unit_test_setup(
                test_flush_drops_what_an_invalid_record_buffered, reset),
            cmocka_unit_test_setup(
                test_failed_flush_dead_letters_only_its_record, reset),
        };

        log_init("test_inbox", LOG_ERROR);
        return cmocka_run_group_tests(tests, setup, teardown);
}
