/*
 * test_kafka: producer and consumer flows against an in-process mock
 * cluster: acknowledgements, delivery reports, per-key order, dead letters,
 * retries after TRANSIENT failures and where a group resumes.
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
#include <time.h>

#include "kafka.h"
#include "log.h"
#include "testenv.h"
#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h (kafka.h) */

#define MAXREC 128

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mock;
static const char *boot;

/* ---- fixtures ---- */

static int
setup(void **state)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char errstr[256];

        (void)state;
        log_init("test_kafka", getenv("TEST_LOG") ? LOG_DEBUG : LOG_ERROR);
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
        mock_rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (mock_rk == NULL)
                return -1;
        mock = rd_kafka_mock_cluster_new(mock_rk, 1);
        if (mock == NULL)
                return -1;
        boot = rd_kafka_mock_cluster_bootstraps(mock);
        return 0;
}

static int
teardown(void **state)
{
        (void)state;
        rd_kafka_mock_cluster_destroy(mock);
        rd_kafka_destroy(mock_rk);
        return 0;
}

/* new_topic: a fresh topic with parts partitions and a one-partition
 * "<topic>.dlq". */
static void
new_topic(char *topic, size_t sz, int parts)
{
        char dlq[128];

        testenv_unique("kt", topic, sz);
        snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
        assert_int_equal(rd_kafka_mock_topic_create(mock, topic, parts, 1), 0);
        assert_int_equal(rd_kafka_mock_topic_create(mock, dlq, 1, 1), 0);
}

static struct kafka_producer *
producer(void)
{
        struct err e = {0};
        struct kafka_producer *p = kafka_producer_new(boot, NULL, &e);

        if (p == NULL)
                fail_msg("producer: %s", e.msg);
        return p;
}

/* produce: one record; ev NULL sends no envelope. */
static void
produce(struct kafka_producer *p, const char *topic, const char *key,
        const char *value, const struct event *ev)
{
        struct kafka_out out = {0};
        struct err e = {0};

        out.topic = topic;
        out.key = key;
        out.key_len = strlen(key);
        out.value = value;
        out.value_len = strlen(value);
        out.ev = ev;
        if (kafka_produce_wait(p, &out, 5000, &e) < 0)
                fail_msg("produce: %s", e.msg);
}

/* produce_n: values v0 .. v<n-1> with envelopes, all under key. */
static void
produce_n(const char *topic, const char *key, int n)
{
        struct kafka_producer *p = producer();
        struct event ev;
        char v[16];

        for (int i = 0; i < n; i++) {
                event_init(&ev, "test", "signpost.thing.done.v1", key);
                snprintf(v, sizeof(v), "v%d", i);
                produce(p, topic, key, v, &ev);
        }
        kafka_producer_free(p);
}

/* ---- reading a topic directly ---- */

struct reader {
        rd_kafka_t *rk;
        rd_kafka_message_t *msgs[MAXREC];
        size_t n;
};

/* reader_read: reads up to want records of partition 0 of topic, waiting
 * at most wait_ms. */
static void
reader_read(struct reader *r, const char *topic, size_t want, int wait_ms)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_topic_partition_list_t *l;
        char errstr[256], group[64];

        testenv_unique("reader", group, sizeof(group));
        rd_kafka_conf_set(conf, "bootstrap.servers", boot, errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(conf, "group.id", group, errstr, sizeof(errstr));
        r->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        assert_non_null(r->rk);
        r->n = 0;
        l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, topic, 0)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(r->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        for (int t = 0; t < wait_ms && r->n < want; t += 100) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(r->rk, 100);

                if (m != NULL && m->err == 0)
                        r->msgs[r->n++] = m;
                else if (m != NULL)
                        rd_kafka_message_destroy(m);
        }
}

static void
reader_done(struct reader *r)
{
        for (size_t i = 0; i < r->n; i++)
                rd_kafka_message_destroy(r->msgs[i]);
        rd_kafka_consumer_close(r->rk);
        rd_kafka_destroy(r->rk);
}

/* header: header name of m as a string in buf ("" when missing). */
static const char *
header(rd_kafka_message_t *m, const char *name, char *buf, size_t sz)
{
        rd_kafka_headers_t *h = NULL;
        const void *v = NULL;
        size_t len = 0;

        buf[0] = '\0';
        if (rd_kafka_message_headers(m, &h) == 0 &&
            rd_kafka_header_get_last(h, name, &v, &len) == 0 && v != NULL &&
            len < sz) {
                memcpy(buf, v, len);
                buf[len] = '\0';
        }
        return buf;
}

/* ---- running a consumer ---- */

/* What a handler saw and what it was told to do. */
struct seen {
        atomic_bool stop;
        size_t want; /* stop once this many are accepted */
        int calls;
        int fail_calls;      /* return TRANSIENT for the first N calls */
        const char *invalid; /* mark the record with this value INVALID */
        const char *fatal;   /* return FATAL at the record with this value */
        const char *transient_once; /* mark this record TRANSIENT, once */
        int transient_call;         /* index of the call that did */
        char first[16][32];         /* first value of each call */
        char acc[MAXREC][32];       /* accepted values, in order */
        char key[MAXREC][16];
        int32_t part[MAXREC];
        int64_t off[MAXREC];
        size_t nacc;
};

static void
copy_value(char *out, size_t sz, const void *v, size_t len)
{
        if (len >= sz)
                len = sz - 1;
        memcpy(out, v, len);
        out[len] = '\0';
}

/* seen_accept: marks recs[i] done and records it. */
static void
seen_accept(struct seen *s, struct kafka_record *r)
{
        size_t k = s->nacc++;

        r->result = ERR_NONE;
        copy_value(s->acc[k], sizeof(s->acc[k]), r->value, r->value_len);
        copy_value(s->key[k], sizeof(s->key[k]), r->key, r->key_len);
        s->part[k] = r->partition;
        s->off[k] = r->offset;
}

static int
handler(void *arg, struct kafka_record *recs, size_t n, struct err *e)
{
        struct seen *s = arg;
        char v[32];

        if (s->calls < 16)
                copy_value(s->first[s->calls], 32, recs[0].value,
                           recs[0].value_len);
        if (s->calls++ < s->fail_calls)
                return err_set(e, ERR_TRANSIENT, NULL, "db down");
        for (size_t i = 0; i < n && s->nacc < MAXREC; i++) {
                copy_value(v, sizeof(v), recs[i].value, recs[i].value_len);
                if (s->fatal != NULL && strcmp(v, s->fatal) == 0)
                        return err_set(e, ERR_FATAL, NULL, "disk full");
                if (s->transient_once != NULL &&
                    strcmp(v, s->transient_once) == 0) {
                        s->transient_once = NULL;
                        s->transient_call = s->calls - 1;
                        recs[i].result = ERR_TRANSIENT;
                        break;
                }
                if (s->invalid != NULL && strcmp(v, s->invalid) == 0) {
                        recs[i].result = ERR_INVALID;
                        snprintf(recs[i].reason, sizeof(recs[i].reason),
                                 "bad shape");
                        continue;
                }
                seen_accept(s, &recs[i]);
        }
        if (s->nacc >= s->want)
                atomic_store(&s->stop, true);
        return 0;
}

struct run {
        struct kafka_consumer *c;
        struct seen *s;
        size_t max_batch;
        int rc;
        struct err e;
};

static void *
run_thread(void *arg)
{
        struct run *r = arg;

        r->rc = kafka_consumer_run(r->c, handler, r->s, r->max_batch,
                                   &r->s->stop, &r->e);
        atomic_store(&r->s->stop, true);
        return NULL;
}

static struct kafka_consumer *
consumer(const char *group, const char *topic)
{
        const char *topics[] = {topic, NULL};
        const char *conf[] = {"statistics.interval.ms",
                              "100",
                              "session.timeout.ms",
                              "6000",
                              "max.poll.interval.ms",
                              "6000",
                              getenv("TEST_DEBUG") ? "debug" : NULL,
                              getenv("TEST_DEBUG"),
                              NULL};
        struct err e = {0};
        struct kafka_consumer *c;

        c = kafka_consumer_new(boot, group, topics, conf, &e);
        if (c == NULL)
                fail_msg("consumer: %s", e.msg);
        return c;
}

/* run_for: runs c with s until s->stop or timeout_ms; returns run's rc. */
static int
run_for(struct kafka_consumer *c, struct seen *s, size_t max_batch,
        int timeout_ms)
{
        struct timespec nap = {0, 20 * 1000000L};
        struct run r = {c, s, max_batch, 0, {0}};
        pthread_t t;

        assert_int_equal(pthread_create(&t, NULL, run_thread, &r), 0);
        for (int ms = 0; ms < timeout_ms && !atomic_load(&s->stop); ms += 20)
                nanosleep(&nap, NULL);
        atomic_store(&s->stop, true);
        pthread_join(t, NULL);
        return r.rc;
}

static struct seen *
seen_new(size_t want)
{
        struct seen *s = calloc(1, sizeof(*s));

        assert_non_null(s);
        atomic_init(&s->stop, false);
        s->want = want;
        return s;
}

/* ---- producer tests ---- */

static void
test_produce_wait_acknowledged(void **state)
{
        struct kafka_producer *p = producer();
        struct reader r;
        struct event ev;
        char topic[64], buf[128];

        (void)state;
        new_topic(topic, sizeof(topic), 1);
        event_init(&ev, "test", "signpost.thing.done.v1", NULL);
        produce(p, topic, "k1", "{\"a\":1}", &ev);
        kafka_producer_free(p);
        reader_read(&r, topic, 1, 5000);
        assert_int_equal(r.n, 1);
        assert_int_equal(r.msgs[0]->len, 7);
        assert_memory_equal(r.msgs[0]->payload, "{\"a\":1}", 7);
        assert_memory_equal(r.msgs[0]->key, "k1", 2);
        assert_string_equal(header(r.msgs[0], "ce_id", buf, sizeof(buf)),
                            ev.id);
        reader_done(&r);
}

struct report {
        int calls;
        int ok;
        enum kafka_delivery d;
};

static void
on_report(void *opaque, enum kafka_delivery d, const char *reason)
{
        struct report *rep = opaque;

        (void)reason;
        rep->calls++;
        rep->ok = d == KAFKA_DELIVERED;
        rep->d = d;
}

static void
test_delivery_report_called(void **state)
{
        struct kafka_producer *p = producer();
        struct report rep = {0};
        struct kafka_out out = {0};
        struct err e = {0};
        char topic[64];

        (void)state;
        new_topic(topic, sizeof(topic), 1);
        out.topic = topic;
        out.value = "x";
        out.value_len = 1;
        out.on_delivery = on_report;
        out.opaque = &rep;
        assert_int_equal(kafka_produce(p, &out, &e), 0);
        assert_int_equal(rep.calls, 0);
        for (int i = 0; i < 50 && rep.calls == 0; i++)
                kafka_producer_poll(p, 100);
        assert_int_equal(rep.calls, 1);
        assert_int_equal(rep.ok, 1);
        kafka_producer_free(p);
        assert_int_equal(rep.calls, 1);
}

/* report_of: a message to topic on p (500 ms message timeout), with rtt
 * ms added to the broker's answers once it was sent; its report. */
static struct report
report_of(struct kafka_producer *p, const char *topic, int rtt)
{
        struct report rep = {0};
        struct kafka_out out = {0};
        struct err e = {0};

        out.topic = topic;
        out.value = "x";
        out.value_len = 1;
        out.on_delivery = on_report;
        out.opaque = &rep;
        assert_int_equal(rd_kafka_mock_broker_set_rtt(mock, 1, rtt), 0);
        assert_int_equal(kafka_produce(p, &out, &e), 0);
        for (int i = 0; i < 100 && rep.calls == 0; i++)
                kafka_producer_poll(p, 100);
        assert_int_equal(rd_kafka_mock_broker_set_rtt(mock, 1, 0), 0);
        assert_int_equal(rep.calls, 1);
        return rep;
}

/* A message that timed out while its request was at the broker may still
 * be committed (a leader failing over): KAFKA_MAYBE, never KAFKA_FAILED,
 * so the gateway does not promise it was not received. One that never
 * left (the broker down) is KAFKA_FAILED. */
static void
test_delivery_report_says_maybe(void **state)
{
        const char *conf[] = {"message.timeout.ms", "500", NULL};
        struct err e = {0};
        struct kafka_producer *p = kafka_producer_new(boot, conf, &e);
        struct report rep;
        char topic[64];

        (void)state;
        if (p == NULL)
                fail_msg("producer: %s", e.msg);
        new_topic(topic, sizeof(topic), 1);
        /* connected, the topic's leader known (a loaded machine may need
         * more than one 500 ms try) */
        for (int i = 0; i < 20; i++)
                if ((rep = report_of(p, topic, 0)).d == KAFKA_DELIVERED)
                        break;
        assert_int_equal(rep.d, KAFKA_DELIVERED);
        assert_int_equal(rep.ok, 1);

        rep = report_of(p, topic, 3000); /* the answer comes too late */
        assert_int_equal(rep.ok, 0);
        assert_int_equal(rep.d, KAFKA_MAYBE);
        kafka_producer_free(p);

        p = kafka_producer_new(boot, conf, &e);
        assert_non_null(p);
        assert_int_equal(rd_kafka_mock_broker_set_down(mock, 1), 0);
        rep = report_of(p, topic, 0);
        assert_int_equal(rd_kafka_mock_broker_set_up(mock, 1), 0);
        assert_int_equal(rep.ok, 0);
        assert_int_equal(rep.d, KAFKA_FAILED);
        kafka_producer_free(p);
}

/* A wait that gives up must not be written to by the late report (ASan
 * watches this), and the message still arrives. */
static void
test_produce_wait_times_out_then_delivers(void **state)
{
        struct kafka_producer *p = producer();
        struct kafka_out out = {0};
        struct err e = {0};
        struct reader r;
        char topic[64];

        (void)state;
        new_topic(topic, sizeof(topic), 1);
        out.topic = topic;
        out.value = "late";
        out.value_len = 4;
        assert_int_equal(rd_kafka_mock_broker_set_down(mock, 1), 0);
        assert_int_equal(kafka_produce_wait(p, &out, 300, &e), -1);
        assert_int_equal(e.kind, ERR_TRANSIENT);
        assert_int_equal(rd_kafka_mock_broker_set_up(mock, 1), 0);
        assert_int_equal(kafka_producer_flush(p, 10000), 0);
        kafka_producer_free(p);
        reader_read(&r, topic, 1, 5000);
        assert_int_equal(r.n, 1);
        assert_memory_equal(r.msgs[0]->payload, "late", 4);
        reader_done(&r);
}

static void
test_reachable_follows_broker(void **state)
{
        struct kafka_producer *p = producer();
        rd_kafka_t *rk = kafka_producer_handle(p);

        (void)state;
        assert_true(kafka_reachable(rk, 5000));
        assert_int_equal(rd_kafka_mock_broker_set_down(mock, 1), 0);
        assert_false(kafka_reachable(rk, 300));
        assert_int_equal(rd_kafka_mock_broker_set_up(mock, 1), 0);
        assert_true(kafka_reachable(rk, 5000));
        kafka_producer_free(p);
}

/* ---- consumer tests ---- */

static void
test_lag_counts_unhandled_records(void **state)
{
        struct seen *s = seen_new(MAXREC);
        struct kafka_consumer *c;
        char topic[64], group[64];

        (void)state;
        new_topic(topic, sizeof(topic), 1);
        testenv_unique("g", group, sizeof(group));
        produce_n(topic, "k", 5);
        s->fail_calls = 1000; /* never gets anywhere */
        c = consumer(group, topic);
        assert_int_equal(kafka_consumer_lag(c), -1);
        assert_int_equal(run_for(c, s, 10, 4500), 0);
        assert_true(s->calls > 0);
        assert_int_equal(kafka_consumer_lag(c), 5);
        kafka_consumer_free(c);
        free(s);
}

static void
test_consumer_keeps_key_order(void **state)
{
        struct kafka_producer *p = producer();
        struct seen *s = seen_new(45);
        struct kafka_consumer *c;
        char topic[64], group[64], key[16], v[16];
        struct event ev;
        int last[3] = {-1, -1, -1};

        (void)state;
        new_topic(topic, sizeof(topic), 4);
        testenv_unique("g", group, sizeof(group));
        for (int i = 0; i < 15; i++) {
                for (int k = 0; k < 3; k++) {
                        snprintf(key, sizeof(key), "k%d", k);
                        snprintf(v, sizeof(v), "%d", i);
                        event_init(&ev, "test", "signpost.thing.done.v1", key);
                        produce(p, topic, key, v, &ev);
                }
        }
        kafka_producer_free(p);
        c = consumer(group, topic);
        assert_int_equal(run_for(c, s, 7, 15000), 0);
        kafka_consumer_free(c);
        assert_int_equal(s->nacc, 45);
        for (size_t i = 0; i < s->nacc; i++) {
                int k = s->key[i][1] - '0', seq = atoi(s->acc[i]);

                if (seq != last[k] + 1)
                        fail_msg("key k%d: %d after %d", k, seq, last[k]);
                last[k] = seq;
        }
        free(s);
}

static void
test_invalid_record_dead_lettered(void **state)
{
        struct seen *s = seen_new(2);
        struct kafka_consumer *c;
        char topic[64], dlq[80], group[64], buf[128];
        struct reader r;

        (void)state;
        new_topic(topic, sizeof(topic), 1);
        testenv_unique("g", group, sizeof(group));
        produce_n(topic, "key-1", 3);
        s->invalid = "v1";
        c = consumer(group, topic);
        assert_int_equal(run_for(c, s, 10, 15000), 0);
        assert_int_equal(kafka_consumer_dlq_count(c), 1);
        kafka_consumer_free(c);
        assert_int_equal(s->nacc, 2);
        assert_string_equal(s->acc[0], "v0");
        assert_string_equal(s->acc[1], "v2");
        snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
        reader_read(&r, dlq, 2, 1000);
        assert_int_equal(r.n, 1);
        assert_memory_equal(r.msgs[0]->payload, "v1", 2);
        assert_memory_equal(r.msgs[0]->key, "key-1", 5);
        assert_string_equal(header(r.msgs[0], "dlq_reason", buf, 128),
                            "bad shape");
        assert_string_equal(header(r.msgs[0], "dlq_topic", buf, 128), topic);
        assert_string_equal(header(r.msgs[0], "dlq_partition", buf, 128), "0");
        assert_string_equal(header(r.msgs[0], "dlq_offset", buf, 128), "1");
        assert_string_equal(header(r.msgs[0], "ce_type", buf, 128),
                            "signpost.thing.done.v1");
        reader_done(&r);
        free(s);
}

static void
test_record_without_envelope_dead_lettered(void **state)
{
        struct kafka_producer *p = producer();
        struct seen *s = seen_new(1);
        struct kafka_consumer *c;
        char topic[64], dlq[80], group[64], buf[128];
        struct reader r;
        struct event ev;

        (void)state;
        new_topic(topic, sizeof(topic), 1);
        testenv_unique("g", group, sizeof(group));
        produce(p, topic, "k", "raw", NULL);
        event_init(&ev, "test", "signpost.thing.done.v1", NULL);
        produce(p, topic, "k", "good", &ev);
        kafka_producer_free(p);
        c = consumer(group, topic);
        assert_int_equal(run_for(c, s, 10, 15000), 0);
        kafka_consumer_free(c);
        assert_int_equal(s->nacc, 1);
        assert_string_equal(s->acc[0], "good");
        assert_string_equal(s->first[0], "good"); /* never saw "raw" */
        snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
        reader_read(&r, dlq, 1, 5000);
        assert_int_equal(r.n, 1);
        assert_memory_equal(r.msgs[0]->payload, "raw", 3);
        assert_non_null(strstr(header(r.msgs[0], "dlq_reason", buf, 128),
                               "ce_specversion"));
        assert_string_equal(header(r.msgs[0], "dlq_offset", buf, 128), "0");
        reader_done(&r);
        free(s);
}

static void
assert_v0_to_v4(const struct seen *s)
{
        char v[16];

        assert_int_equal(s->nacc, 5);
        for (int i = 0; i < 5; i++) {
                snprintf(v, sizeof(v), "v%d", i);
                assert_string_equal(s->acc[i], v);
        }
}

static void
test_transient_failure_redelivers(void **state)
{
        struct seen *s = seen_new(5);
        struct kafka_consumer *c;
        char topic[64], group[64];

        (void)state;
        new_topic(topic, sizeof(topic), 1);
        testenv_unique("g", group, sizeof(group));
        produce_n(topic, "k", 5);
        s->fail_calls = 2;
        c = consumer(group, topic);
        assert_int_equal(run_for(c, s, 10, 15000), 0);
        kafka_consumer_free(c);
        assert_true(s->calls >= 3);
        assert_string_equal(s->first[0], "v0");
        assert_string_equal(s->first[1], "v0");
        assert_string_equal(s->first[2], "v0");
        assert_v0_to_v4(s);
        free(s);
}

static void
test_record_transient_resumes_at_that_record(void **state)
{
        struct seen *s = seen_new(5);
        struct kafka_consumer *c;
        char topic[64], group[64];

        (void)state;
        new_topic(topic, sizeof(topic), 1);
        testenv_unique("g", group, sizeof(group));
        produce_n(topic, "k", 5);
        s->transient_once = "v2";
        c = consumer(group, topic);
        assert_int_equal(run_for(c, s, 10, 15000), 0);
        kafka_consumer_free(c);
        assert_true(s->calls >= s->transient_call + 2);
        assert_string_equal(s->first[s->transient_call + 1], "v2");
        assert_v0_to_v4(s);
        free(s);
}

static void
test_group_resumes_after_last_success(void **state)
{
        struct seen *a = seen_new(100), *b = seen_new(3);
        struct kafka_consumer *c;
        char topic[64], group[64];

        (void)state;
        new_topic(topic, sizeof(topic), 1);
        testenv_unique("g", group, sizeof(group));
        produce_n(topic, "k", 6);
        a->fatal = "v3";
        c = consumer(group, topic);
        assert_int_equal(run_for(c, a, 1, 15000), -1);
        kafka_consumer_free(c);
        assert_int_equal(a->nacc, 3);
        c = consumer(group, topic);
        assert_int_equal(run_for(c, b, 1, 15000), 0);
        kafka_consumer_free(c);
        assert_string_equal(b->first[0], "v3");
        assert_int_equal(b->nacc, 3);
        assert_string_equal(b->acc[0], "v3");
        assert_string_equal(b->acc[2], "v5");
        free(a);
        free(b);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_produce_wait_acknowledged),
            cmocka_unit_test(test_delivery_report_called),
            cmocka_unit_test(test_delivery_report_says_maybe),
            cmocka_unit_test(test_produce_wait_times_out_then_delivers),
            cmocka_unit_test(test_reachable_follows_broker),
            cmocka_unit_test(test_consumer_keeps_key_order),
            cmocka_unit_test(test_lag_counts_unhandled_records),
            cmocka_unit_test(test_invalid_record_dead_lettered),
            cmocka_unit_test(test_record_without_envelope_dead_lettered),
            cmocka_unit_test(test_transient_failure_redelivers),
            cmocka_unit_test(test_record_transient_resumes_at_that_record),
            cmocka_unit_test(test_group_resumes_after_last_success),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
