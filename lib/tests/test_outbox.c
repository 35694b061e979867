/*
 * outbox: what commits is published, in order per key, with its ce_id and
 * headers; what rolls back never is; tombstones stay tombstones; two
 * relays on one schema do not both publish. Against the runner's
 * PostgreSQL and kafka-mock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "log.h"
#include "outbox.h"
#include "testenv.h"

static char conninfo[512];
static struct db *db;

#define MAXREC 64

struct seen {
        int n;
        char key[MAXREC][16];
        char value[MAXREC][32];
        char id[MAXREC][UUID_STR_LEN];
        bool tomb[MAXREC];
        atomic_bool stop;
        int want;
};

static int
collect(void *arg, struct kafka_record *recs, size_t n, struct err *e)
{
        struct seen *s = arg;

        (void)e;
        for (size_t i = 0; i < n && s->n < MAXREC; i++, s->n++) {
                snprintf(s->key[s->n], 16, "%.*s", (int)recs[i].key_len,
                         (const char *)recs[i].key);
                snprintf(s->value[s->n], 32, "%.*s", (int)recs[i].value_len,
                         recs[i].value ? (const char *)recs[i].value : "");
                snprintf(s->id[s->n], UUID_STR_LEN, "%s", recs[i].ev.id);
                s->tomb[s->n] = recs[i].value == NULL;
        }
        if (s->n >= s->want)
                atomic_store(&s->stop, true);
        return 0;
}

/* deadline: sets the consumer's stop flag (arg) after 30 s whatever
 * arrived. */
static void *
deadline(void *arg)
{
        atomic_bool *stop = arg;

        for (int i = 0; i < 300 && !atomic_load(stop); i++)
                usleep(100000);
        atomic_store(stop, true);
        return NULL;
}

/* consume: reads topic until want records arrived (or 30 s). */
static void
consume(const char *topic, struct seen *s)
{
        const char *topics[] = {topic, NULL};
        char group[64];
        struct err e = {0};
        struct kafka_consumer *c;
        pthread_t t;

        testenv_unique("t-outbox-g", group, sizeof(group));
        c = kafka_consumer_new(testenv_kafka(), group, topics, NULL, &e);
        assert_non_null(c);
        pthread_create(&t, NULL, deadline, &s->stop);
        kafka_consumer_run(c, collect, s, 100, &s->stop, &e);
        pthread_join(t, NULL);
        kafka_consumer_free(c);
}

static int
setup(void **state)
{
        struct err e = {0};

        (void)state;
        if (testenv_kafka() == NULL ||
            testenv_db("t_outbox", conninfo, sizeof(conninfo)) != 0)
                return -1;
        db = db_open(conninfo);
        db_set_schema(db, "ob");
        return db_exec(db, "CREATE SCHEMA ob", 0, NULL, NULL, &e) ||
               db_migrate(db, "ob", "/nonexistent", &e);
}

static int
teardown(void **state)
{
        (void)state;
        db_free(db);
        return 0;
}

static void
add(const char *topic, const char *key, const char *value, char *id_out)
{
        struct err e = {0};
        struct event ev;

        event_init(&ev, "test", "signpost.test.happened.v1", key);
        if (id_out != NULL)
                strcpy(id_out, ev.id);
        assert_int_equal(outbox_add(db, topic, key, &ev, value,
                                    value ? strlen(value) : 0, &e),
                         0);
}

static void
test_committed_published_rolled_back_not(void **state)
{
        char topic[64], ids[4][UUID_STR_LEN];
        struct seen s = {.want = 4};
        struct err e = {0};
        struct outbox_relay *r;

        (void)state;
        testenv_unique("t-outbox", topic, sizeof(topic));
        assert_int_equal(db_begin(db, &e), 0);
        add(topic, "a", "{\"n\":1,\"v\":1}", ids[0]);
        add(topic, "b", "{\"n\":2,\"v\":1}", ids[1]);
        add(topic, "a", "{\"n\":3,\"v\":1}", ids[2]);
        assert_int_equal(db_commit(db, &e), 0);
        assert_int_equal(db_begin(db, &e), 0);
        add(topic, "a", "{\"n\":99,\"v\":1}", NULL);
        db_rollback(db);
        assert_int_equal(db_begin(db, &e), 0);
        add(topic, "a", NULL, ids[3]); /* tombstone */
        assert_int_equal(db_commit(db, &e), 0);

        r = outbox_relay_start(conninfo, "ob", testenv_kafka(), &e);
        assert_non_null(r);
        consume(topic, &s);
        for (int i = 0; i < 50 && outbox_relay_backlog(r) != 0; i++)
                usleep(100000);
        assert_int_equal(outbox_relay_backlog(r), 0);
        assert_int_equal(outbox_relay_published(r), 4);
        outbox_relay_stop(r);

        assert_int_equal(s.n, 4);
        /* key a: n=1, n=3, tombstone in that order; n=99 never */
        int seen_a = 0;
        for (int i = 0; i < s.n; i++) {
                assert_null(strstr(s.value[i], "99"));
                if (strcmp(s.key[i], "a") != 0)
                        continue;
                assert_string_equal(s.id[i], ids[seen_a == 0   ? 0
                                                 : seen_a == 1 ? 2
                                                               : 3]);
                assert_true(s.tomb[i] == (seen_a == 2));
                seen_a++;
        }
        assert_int_equal(seen_a, 3);
}

static void
test_one_relay_leads(void **state)
{
        char topic[64];
        struct seen s = {.want = MAXREC};
        struct err e = {0};
        struct outbox_relay *r1, *r2;

        (void)state;
        testenv_unique("t-outbox", topic, sizeof(topic));
        r1 = outbox_relay_start(conninfo, "ob", testenv_kafka(), &e);
        r2 = outbox_relay_start(conninfo, "ob", testenv_kafka(), &e);
        assert_non_null(r1);
        assert_non_null(r2);
        for (int i = 0; i < 20; i++) {
                assert_int_equal(db_begin(db, &e), 0);
                add(topic, "k", "{\"n\":1,\"v\":1}", NULL);
                assert_int_equal(db_commit(db, &e), 0);
        }
        for (int i = 0;
             i < 100 &&
             outbox_relay_published(r1) + outbox_relay_published(r2) < 20;
             i++)
                usleep(100000);
        /* exactly one of them published all twenty */
        assert_int_equal(
            outbox_relay_published(r1) + outbox_relay_published(r2), 20);
        assert_true(outbox_relay_published(r1) == 0 ||
                    outbox_relay_published(r2) == 0);
        outbox_relay_stop(r1);
        outbox_relay_stop(r2);
        s.want = 20;
        consume(topic, &s);
        assert_int_equal(s.n, 20);
}

/* add_three: one outbox_add_many of key a: binary value with a NUL and a
 * non-UTF-8 byte, a tombstone, a JSON value with a subject. */
static void
add_three(const char *topic, char ids[3][UUID_STR_LEN])
{
        static const char bin[] = {'x', '\0', (char)0xff, 'y'};
        struct event ev[3];
        struct outbox_item it[3];
        struct err e = {0};

        for (int i = 0; i < 3; i++) {
                event_init(&ev[i], "test", "signpost.test.raw.v1",
                           i == 2 ? "subj" : NULL);
                strcpy(ids[i], ev[i].id);
                it[i] = (struct outbox_item){
                    .topic = topic, .key = "a", .ev = &ev[i]};
        }
        it[0].value = bin;
        it[0].value_len = sizeof(bin);
        it[2].value = "{\"n\":3}";
        it[2].value_len = 7;
        assert_int_equal(outbox_add_many(db, it, 3, &e), 0);
}

static void
test_add_many_rows_in_array_order(void **state)
{
        char topic[64], ids[3][UUID_STR_LEN], sql[256];
        const char *p[1] = {topic};
        struct err e = {0};
        PGresult *r;

        (void)state;
        testenv_unique("t-outbox-many", topic, sizeof(topic));
        assert_int_equal(db_begin(db, &e), 0);
        add_three(topic, ids);
        assert_int_equal(outbox_add_many(db, NULL, 0, &e), 0);
        assert_int_equal(db_commit(db, &e), 0);
        snprintf(sql, sizeof(sql), "%s",
                 "SELECT ce_id, coalesce(encode(value, 'hex'), 'NULL'),"
                 " coalesce(ce_subject, 'NULL') FROM outbox"
                 " WHERE topic = $1 ORDER BY seq");
        r = db_query(db, sql, 1, p, &e);
        assert_non_null(r);
        assert_int_equal(PQntuples(r), 3);
        for (int i = 0; i < 3; i++)
                assert_string_equal(PQgetvalue(r, i, 0), ids[i]);
        assert_string_equal(PQgetvalue(r, 0, 1), "7800ff79");
        assert_string_equal(PQgetvalue(r, 1, 1), "NULL");
        assert_string_equal(PQgetvalue(r, 2, 1), "7b226e223a337d");
        assert_string_equal(PQgetvalue(r, 0, 2), "NULL");
        assert_string_equal(PQgetvalue(r, 2, 2), "subj");
        PQclear(r);
}

static void
test_add_many_rolled_back_not_published(void **state)
{
        char topic[64], ids[3][UUID_STR_LEN];
        const char *p[1] = {topic};
        struct err e = {0};
        PGresult *r;

        (void)state;
        testenv_unique("t-outbox-many", topic, sizeof(topic));
        assert_int_equal(db_begin(db, &e), 0);
        add_three(topic, ids);
        db_rollback(db);
        r = db_query(db, "SELECT count(*) FROM outbox WHERE topic = $1", 1, p,
                     &e);
        assert_non_null(r);
        assert_string_equal(PQgetvalue(r, 0, 0), "0");
        PQclear(r);
}

static void
test_add_many_published_in_order(void **state)
{
        char topic[64], ids[3][UUID_STR_LEN];
        struct seen s = {.want = 3};
        struct err e = {0};
        struct outbox_relay *r;

        (void)state;
        testenv_unique("t-outbox-many", topic, sizeof(topic));
        assert_int_equal(db_begin(db, &e), 0);
        add_three(topic, ids);
        assert_int_equal(db_commit(db, &e), 0);
        r = outbox_relay_start(conninfo, "ob", testenv_kafka(), &e);
        assert_non_null(r);
        consume(topic, &s);
        outbox_relay_stop(r);
        assert_int_equal(s.n, 3);
        for (int i = 0; i < 3; i++) {
                assert_string_equal(s.id[i], ids[i]);
                assert_true(s.tomb[i] == (i == 1));
        }
        assert_string_equal(s.value[2], "{\"n\":3}");
}

/* A transaction that took its seq first but commits after a later one
 * was published: the relay must still publish its row (it may not skip
 * past seqs it has already seen). */
static void
test_late_commit_lower_seq_published(void **state)
{
        char topic[64];
        struct seen s = {.want = 2};
        struct err e = {0};
        struct db *other = db_open(conninfo);
        struct outbox_relay *r;
        struct event ev;
        int i;

        (void)state;
        testenv_unique("t-outbox-late", topic, sizeof(topic));
        db_set_schema(other, "ob");
        assert_int_equal(db_begin(other, &e), 0);
        event_init(&ev, "test", "signpost.test.happened.v1", "k");
        assert_int_equal(
            outbox_add(other, topic, "k", &ev, "{\"n\":1,\"v\":1}", 13, &e), 0);
        add(topic, "k", "{\"n\":2,\"v\":1}",
            NULL); /* commits at once, higher seq */
        r = outbox_relay_start(conninfo, "ob", testenv_kafka(), &e);
        assert_non_null(r);
        for (i = 0; i < 100 && outbox_relay_published(r) < 1; i++)
                usleep(100000);
        assert_int_equal(outbox_relay_published(r), 1);
        assert_int_equal(db_commit(other, &e), 0);
        for (i = 0; i < 100 && outbox_relay_published(r) < 2; i++)
                usleep(100000);
        assert_int_equal(outbox_relay_published(r), 2);
        outbox_relay_stop(r);
        db_free(other);
        consume(topic, &s);
        assert_int_equal(s.n, 2);
        assert_string_equal(s.value[0],
                            "{\"n\":2,\"v\":1}"); /* the early commit */
        assert_string_equal(s.value[1], "{\"n\":1,\"v\":1}"); /* the late one */
}

/* Rows go out in seq order also where the seq gains a digit: the relay
 * reads seqs as text, and the order must be the numbers' (a sort on the
 * text would put 1000000 before 999999). */
static void
test_published_in_numeric_order_across_digits(void **state)
{
        char topic[64];
        struct seen s = {.want = 3};
        struct err e = {0};
        struct outbox_relay *r;
        const char *v[3] = {"{\"n\":1,\"v\":1}", "{\"n\":2,\"v\":1}",
                            "{\"n\":3,\"v\":1}"};

        (void)state;
        testenv_unique("t-outbox-digits", topic, sizeof(topic));
        /* the next seqs are 10^k - 1, 10^k, 10^k + 1 */
        assert_int_equal(
            db_exec(db,
                    "SELECT setval('outbox_seq_seq',"
                    " (10 ^ length((last_value + 2)::text))::bigint - 2)"
                    " FROM outbox_seq_seq",
                    0, NULL, NULL, &e),
            0);
        for (int i = 0; i < 3; i++)
                add(topic, "k", v[i], NULL);
        r = outbox_relay_start(conninfo, "ob", testenv_kafka(), &e);
        assert_non_null(r);
        consume(topic, &s);
        outbox_relay_stop(r);
        assert_int_equal(s.n, 3);
        for (int i = 0; i < 3; i++)
                assert_string_equal(s.value[i], v[i]);
}

/* A backlog of several relay batches, and rows committed once the relay
 * has begun on them: each row is published once, in seq order. */
#define MANY 6000

struct tally {
        int n, next, bad;
        atomic_bool stop;
};

static int
tally(void *arg, struct kafka_record *recs, size_t n, struct err *e)
{
        struct tally *t = arg;

        (void)e;
        for (size_t i = 0; i < n; i++, t->n++) {
                int v = -1;

                if (recs[i].value == NULL ||
                    sscanf((const char *)recs[i].value, "{\"n\":%d", &v) != 1 ||
                    v != t->next)
                        t->bad++;
                t->next = v + 1;
        }
        if (t->n >= MANY)
                atomic_store(&t->stop, true);
        return 0;
}

static void
add_run(const char *topic, int from, int count)
{
        struct event *ev = calloc((size_t)count, sizeof(*ev));
        struct outbox_item *it = calloc((size_t)count, sizeof(*it));
        char(*val)[32] = calloc((size_t)count, sizeof(*val));
        struct err e = {0};

        assert_non_null(ev);
        assert_non_null(it);
        assert_non_null(val);
        for (int i = 0; i < count; i++) {
                event_init(&ev[i], "test", "signpost.test.happened.v1", "k");
                snprintf(val[i], sizeof(val[i]), "{\"n\":%d,\"v\":1}",
                         from + i);
                it[i] = (struct outbox_item){.topic = topic,
                                             .key = "k",
                                             .ev = &ev[i],
                                             .value = val[i],
                                             .value_len = strlen(val[i])};
        }
        assert_int_equal(outbox_add_many(db, it, (size_t)count, &e), 0);
        free(ev);
        free(it);
        free(val);
}

static void
test_many_batches_published_once_in_order(void **state)
{
        const char *topics[2] = {NULL, NULL};
        char topic[64], group[64];
        struct tally t = {0};
        struct err e = {0};
        struct outbox_relay *r;
        struct kafka_consumer *c;
        pthread_t d;
        int i;

        (void)state;
        testenv_unique("t-outbox-backlog", topic, sizeof(topic));
        add_run(topic, 0, MANY - 1000); /* several batches at once */
        r = outbox_relay_start(conninfo, "ob", testenv_kafka(), &e);
        assert_non_null(r);
        for (i = 0; i < 300 && outbox_relay_published(r) == 0; i++)
                usleep(10000);
        add_run(topic, MANY - 1000, 1000); /* after publishing began */
        for (i = 0; i < 300 && outbox_relay_published(r) < MANY; i++)
                usleep(100000);
        assert_int_equal(outbox_relay_published(r), MANY);
        outbox_relay_stop(r);

        topics[0] = topic;
        testenv_unique("t-outbox-g", group, sizeof(group));
        c = kafka_consumer_new(testenv_kafka(), group, topics, NULL, &e);
        assert_non_null(c);
        pthread_create(&d, NULL, deadline, &t.stop);
        kafka_consumer_run(c, tally, &t, 500, &t.stop, &e);
        pthread_join(d, NULL);
        kafka_consumer_free(c);
        assert_int_equal(t.n, MANY);
        assert_int_equal(t.bad, 0);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_committed_published_rolled_back_not),
            cmocka_unit_test(test_one_relay_leads),
            cmocka_unit_test(test_add_many_rows_in_array_order),
            cmocka_unit_test(test_add_many_rolled_back_not_published),
            cmocka_unit_test(test_add_many_published_in_order),
            cmocka_unit_test(test_late_commit_lower_seq_published),
            cmocka_unit_test(test_published_in_numeric_order_across_digits),
            cmocka_unit_test(test_many_batches_published_once_in_order),
        };

        log_init("test_outbox", LOG_ERROR);
        return cmocka_run_group_tests(tests, setup, teardown);
}
