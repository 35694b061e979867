/*
 * test_event: the CloudEvents envelope, built by event_init and read back
 * by event_from_message from real records of an in-process mock cluster.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "event.h"
#include "kafka.h"
#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h (event.h) */
#include "log.h"
#include "testenv.h"

static rd_kafka_t *mock_rk;
static rd_kafka_mock_cluster_t *mock;
static const char *boot;

static int
setup(void **state)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        char errstr[256];

        (void)state;
        log_init("test_event", LOG_ERROR);
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

/* read_all: reads n records of one-partition topic into msgs. Returns how
 * many arrived within 10 s. The records hold *rkp open: destroy them, then
 * call read_done(*rkp). */
static size_t
read_all(const char *topic, rd_kafka_message_t **msgs, size_t n,
         rd_kafka_t **rkp)
{
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_topic_partition_list_t *l;
        rd_kafka_t *rk;
        char errstr[256];
        size_t got = 0;

        rd_kafka_conf_set(conf, "bootstrap.servers", boot, errstr,
                          sizeof(errstr));
        rd_kafka_conf_set(conf, "group.id", topic, errstr, sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        assert_non_null(rk);
        l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, topic, 0)->offset =
            RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_assign(rk, l);
        rd_kafka_topic_partition_list_destroy(l);
        for (int i = 0; i < 100 && got < n; i++) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

                if (m != NULL && m->err == 0)
                        msgs[got++] = m;
                else if (m != NULL)
                        rd_kafka_message_destroy(m);
        }
        *rkp = rk;
        return got;
}

static void
read_done(rd_kafka_t *rk)
{
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
}

static void
new_topic(char *topic, size_t sz)
{
        testenv_unique("event", topic, sz);
        assert_int_equal(rd_kafka_mock_topic_create(mock, topic, 1, 1), 0);
}

static void
test_init_fills_envelope(void **state)
{
        struct event ev;

        (void)state;
        event_init(&ev, "intake", "signpost.referral.submitted.v1", NULL);
        assert_true(uuid_valid(ev.id));
        assert_string_equal(ev.source, "/signpost/intake");
        assert_string_equal(ev.type, "signpost.referral.submitted.v1");
        assert_string_equal(ev.subject, "");
        /* 2026-11-24T10:00:00.123Z */
        assert_int_equal(strlen(ev.time), 24);
        assert_int_equal(ev.time[23], 'Z');
        event_init(&ev, NULL, "signpost.referral.submitted.v1", "r-1");
        assert_string_equal(ev.source, "/signpost/unknown");
        assert_string_equal(ev.subject, "r-1");
}

static void
test_init_ids_differ(void **state)
{
        struct event a, b;

        (void)state;
        event_init(&a, "x", "signpost.a.b.v1", NULL);
        event_init(&b, "x", "signpost.a.b.v1", NULL);
        assert_string_not_equal(a.id, b.id);
        assert_true(strcmp(a.id, b.id) < 0);
}

static void
test_type_valid(void **state)
{
        static const struct {
                const char *type;
                int ok;
        } cases[] = {
            {"signpost.referral.submitted.v1", 1},
            {"signpost.consent_state.changed.v12", 1},
            {"signpost.referral.submitted", 0},
            {"signpost.referral.submitted.v0", 0},
            {"signpost.referral.submitted.v1x", 0},
            {"signpost.Referral.submitted.v1", 0},
            {"signpost..submitted.v1", 0},
            {"other.referral.submitted.v1", 0},
            {"signpost.a.b.c.v1", 0},
            {"", 0},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                if (event_type_valid(cases[i].type) != cases[i].ok)
                        fail_msg("event_type_valid(\"%s\") != %d",
                                 cases[i].type, cases[i].ok);
        }
        assert_false(event_type_valid(NULL));
}

static void
test_headers_round_trip(void **state)
{
        struct kafka_producer *p;
        struct kafka_out out = {0};
        rd_kafka_message_t *m = NULL;
        struct event ev, back;
        struct err e = {0};
        rd_kafka_t *rk = NULL;
        char topic[64];

        (void)state;
        new_topic(topic, sizeof(topic));
        event_init(&ev, "intake", "signpost.referral.submitted.v1", "r-42");
        p = kafka_producer_new(boot, NULL, &e);
        assert_non_null(p);
        out.topic = topic;
        out.key = "r-42";
        out.key_len = 4;
        out.value = "{}";
        out.value_len = 2;
        out.ev = &ev;
        assert_int_equal(kafka_produce_wait(p, &out, 5000, &e), 0);
        kafka_producer_free(p);
        assert_int_equal(read_all(topic, &m, 1, &rk), 1);
        assert_int_equal(event_from_message(m, &back, &e), 0);
        assert_string_equal(back.id, ev.id);
        assert_string_equal(back.source, ev.source);
        assert_string_equal(back.type, ev.type);
        assert_string_equal(back.time, ev.time);
        assert_string_equal(back.subject, "r-42");
        rd_kafka_message_destroy(m);
        read_done(rk);
}

/* One record with a broken envelope, and the header it must name. */
struct bad_case {
        const char *drop;     /* header left out */
        const char *set_name; /* header given a bad value */
        const char *set_value;
        const char *field; /* expected e.field */
};

static const struct bad_case bad_cases[] = {
    {"ce_specversion", NULL, NULL, "ce_specversion"},
    {NULL, "ce_specversion", "0.3", "ce_specversion"},
    {"ce_id", NULL, NULL, "ce_id"},
    {NULL, "ce_id", "not-a-uuid", "ce_id"},
    {"ce_source", NULL, NULL, "ce_source"},
    {NULL, "ce_source", "", "ce_source"},
    {"ce_type", NULL, NULL, "ce_type"},
    {NULL, "ce_type", "referral.submitted", "ce_type"},
    {"ce_time", NULL, NULL, "ce_time"},
};
#define NBAD (sizeof(bad_cases) / sizeof(bad_cases[0]))

/* bad_headers: returns new headers of a good envelope, altered per bc. */
static rd_kafka_headers_t *
bad_headers(const struct bad_case *bc)
{
        static const char *const names[] = {"ce_specversion", "ce_id",
                                            "ce_source", "ce_type", "ce_time"};
        struct event ev;
        const char *vals[5];
        rd_kafka_headers_t *h = rd_kafka_headers_new(6);

        event_init(&ev, "test", "signpost.thing.done.v1", NULL);
        vals[0] = "1.0";
        vals[1] = ev.id;
        vals[2] = ev.source;
        vals[3] = ev.type;
        vals[4] = ev.time;
        for (int i = 0; i < 5; i++) {
                const char *v = vals[i];

                if (bc->drop != NULL && strcmp(bc->drop, names[i]) == 0)
                        continue;
                if (bc->set_name != NULL && strcmp(bc->set_name, names[i]) == 0)
                        v = bc->set_value;
                rd_kafka_header_add(h, names[i], -1, v, -1);
        }
        return h;
}

static void
test_invalid_headers_named(void **state)
{
        rd_kafka_message_t *msgs[NBAD];
        struct kafka_producer *p;
        struct kafka_out out = {0};
        struct err e = {0};
        struct event ev;
        rd_kafka_t *rk = NULL;
        char topic[64];

        (void)state;
        new_topic(topic, sizeof(topic));
        p = kafka_producer_new(boot, NULL, &e);
        assert_non_null(p);
        out.topic = topic;
        out.value = "{}";
        out.value_len = 2;
        for (size_t i = 0; i < NBAD; i++)
                assert_int_equal(
                    kafka_produce_hdrs_wait(p, &out, bad_headers(&bad_cases[i]),
                                            5000, &e),
                    0);
        kafka_producer_free(p);
        assert_int_equal(read_all(topic, msgs, NBAD, &rk), NBAD);
        for (size_t i = 0; i < NBAD; i++) {
                err_clear(&e);
                assert_int_equal(event_from_message(msgs[i], &ev, &e), -1);
                assert_int_equal(e.kind, ERR_INVALID);
                if (strcmp(e.field, bad_cases[i].field) != 0)
                        fail_msg("case %zu: field %s, want %s", i, e.field,
                                 bad_cases[i].field);
                rd_kafka_message_destroy(msgs[i]);
        }
        read_done(rk);
}

static void
test_no_headers_names_specversion(void **state)
{
        struct kafka_producer *p;
        struct kafka_out out = {0};
        rd_kafka_message_t *m = NULL;
        struct err e = {0};
        struct event ev;
        rd_kafka_t *rk = NULL;
        char topic[64];

        (void)state;
        new_topic(topic, sizeof(topic));
        p = kafka_producer_new(boot, NULL, &e);
        assert_non_null(p);
        out.topic = topic;
        out.value = "{}";
        out.value_len = 2;
        assert_int_equal(kafka_produce_wait(p, &out, 5000, &e), 0);
        kafka_producer_free(p);
        assert_int_equal(read_all(topic, &m, 1, &rk), 1);
        assert_int_equal(event_from_message(m, &ev, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_string_equal(e.field, "ce_specversion");
        rd_kafka_message_destroy(m);
        read_done(rk);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_init_fills_envelope),
            cmocka_unit_test(test_init_ids_differ),
            cmocka_unit_test(test_type_valid),
            cmocka_unit_test(test_headers_round_trip),
            cmocka_unit_test(test_invalid_headers_named),
            cmocka_unit_test(test_no_headers_names_specversion),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
