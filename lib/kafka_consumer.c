/*
 * kafka_consumer: the group consumer loop every daemon runs. Owns batching,
 * offset storing (only after the handler committed), rewinding and back-off
 * on TRANSIENT failures, dead-lettering to "<topic>.dlq" and the lag and
 * dead-letter counters. Does not own what a record means (the handler) or
 * the producer (kafka_producer.c).
 *
 * Ordering rule: a record's offset is stored only when every earlier record
 * of its partition in flight is done, so a crash can repeat work but never
 * skip it. A malformed record that arrives behind a batch in flight is held
 * back and dead-lettered after that batch.
 */
#include "kafka.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "metrics.h"
#include "svc.h"

#define POLL_MS 200
#define SEEK_MS 2000
#define DLQ_ACK_MS 10000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

struct kafka_consumer {
        rd_kafka_t *rk;
        char *brokers;                  /* for the DLQ producer made lazily */
        struct kafka_producer *dlq;     /* borrowed or own_dlq */
        struct kafka_producer *own_dlq; /* made when none was set */
        rd_kafka_message_t *pending;    /* malformed, held back (see top) */
        unsigned generation;            /* bumped on every rebalance */
        _Atomic int assigned;           /* partitions held now */
        int backoff_ms;
        _Atomic int64_t lag;
        _Atomic uint64_t dlq_count;
        struct metrics_gauge *lag_gauge; /* signpost_consumer_lag{group} */
};

/* One run's buffers. */
struct batch {
        rd_kafka_message_t **msgs;
        struct kafka_record *recs;
        size_t n, max;
};

/* ---- callbacks ---- */

static int64_t
jint(json_t *o, const char *name)
{
        json_t *v = json_object_get(o, name);

        return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* partition_lag: high watermark minus the next record this group will
 * handle: the furthest of handed-out, stored and committed offsets, or the
 * log start when there is none (auto.offset.reset=earliest). librdkafka's
 * own consumer_lag is unknown after a rewind, hence this. -1: unknown. */
static int64_t
partition_lag(json_t *p)
{
        int64_t hi = jint(p, "hi_offset"), pos = jint(p, "app_offset");

        if (jint(p, "stored_offset") > pos)
                pos = jint(p, "stored_offset");
        if (jint(p, "committed_offset") > pos)
                pos = jint(p, "committed_offset");
        if (pos < 0)
                pos = jint(p, "lo_offset");
        if (hi < 0 || pos < 0)
                return -1;
        return hi > pos ? hi - pos : 0;
}

/* partitions_lag: sums partition_lag over the assigned partitions of one
 * topic's stats; *seen counts them. */
static int64_t
partitions_lag(json_t *parts, int *seen)
{
        const char *key;
        json_t *p;
        int64_t sum = 0, lag;

        json_object_foreach(parts, key, p)
        {
                if (strcmp(key, "-1") == 0 ||
                    !json_is_true(json_object_get(p, "desired")))
                        continue;
                lag = partition_lag(p);
                if (lag >= 0) {
                        sum += lag;
                        (*seen)++;
                }
        }
        return sum;
}

static int
stats_cb(rd_kafka_t *rk, char *js, size_t len, void *opaque)
{
        struct kafka_consumer *c = opaque;
        json_t *root = json_loadb(js, len, 0, NULL);
        const char *name;
        json_t *t;
        int64_t sum = 0;
        int seen = 0;

        (void)rk;
        if (root == NULL)
                return 0;
        json_object_foreach(json_object_get(root, "topics"), name, t)
        {
                sum += partitions_lag(json_object_get(t, "partitions"), &seen);
        }
        atomic_store(&c->lag, seen > 0 ? sum : -1);
        if (seen > 0)
                metrics_gauge_set(c->lag_gauge, (double)sum);
        json_decref(root);
        return 0; /* librdkafka frees js */
}

static void
rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
             rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        struct kafka_consumer *c = opaque;
        const char *proto = rd_kafka_rebalance_protocol(rk);
        int coop = proto != NULL && strcmp(proto, "COOPERATIVE") == 0;
        rd_kafka_error_t *error = NULL;

        c->generation++;
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
                log_info("kafka partitions assigned", "count=%d", parts->cnt);
                if (coop) {
                        atomic_fetch_add(&c->assigned, parts->cnt);
                        error = rd_kafka_incremental_assign(rk, parts);
                } else {
                        atomic_store(&c->assigned, parts->cnt);
                        rd_kafka_assign(rk, parts);
                }
        } else {
                log_info("kafka partitions revoked", "count=%d lost=%d",
                         parts->cnt, rd_kafka_assignment_lost(rk));
                if (coop) {
                        atomic_fetch_sub(&c->assigned, parts->cnt);
                        error = rd_kafka_incremental_unassign(rk, parts);
                } else {
                        atomic_store(&c->assigned, 0);
                        rd_kafka_assign(rk, NULL);
                }
        }
        if (error != NULL) {
                log_why(LOG_WARN, "kafka rebalance failed",
                        rd_kafka_error_name(error), NULL);
                rd_kafka_error_destroy(error);
        }
}

/* ---- lifecycle ---- */

static int
subscribe(struct kafka_consumer *c, const char *const *topics, struct err *e)
{
        rd_kafka_topic_partition_list_t *l = NULL;
        rd_kafka_resp_err_t rc;

        l = rd_kafka_topic_partition_list_new(4);
        for (size_t i = 0; topics != NULL && topics[i] != NULL; i++)
                rd_kafka_topic_partition_list_add(l, topics[i],
                                                  RD_KAFKA_PARTITION_UA);
        rc = l->cnt > 0 ? rd_kafka_subscribe(c->rk, l)
                        : RD_KAFKA_RESP_ERR__INVALID_ARG;
        rd_kafka_topic_partition_list_destroy(l);
        if (rc != RD_KAFKA_RESP_ERR_NO_ERROR)
                return err_set(e, ERR_FATAL, "topics", "kafka subscribe: %s",
                               rd_kafka_err2str(rc));
        return 0;
}

struct kafka_consumer *
kafka_consumer_new(const char *brokers, const char *group,
                   const char *const *topics, const char *const *extra_conf,
                   struct err *e)
{
        const char *fetch_wait = kafka_env_fetch_wait();
        const char *defaults[] = {
            "group.id",
            group,
            "enable.auto.commit",
            "true",
            "enable.auto.offset.store",
            "false",
            "auto.offset.reset",
            "earliest",
            "statistics.interval.ms",
            "5000",
            /* A restarted member gets its partitions back sooner (the
             * kafka-mock waits out the departed member's session). */
            "session.timeout.ms",
            "10000",
            /* SIGNPOST_KAFKA_FETCH_WAIT_MS: how long an empty fetch
             * waits at the broker. Apache Kafka answers as soon as data
             * arrives, so librdkafka's 500 ms costs nothing there; the
             * development broker (kafka-mock) always waits it out, so
             * the embedded stack sets it low (scripts/env.sh). */
            fetch_wait != NULL ? "fetch.wait.max.ms" : NULL,
            fetch_wait,
            NULL,
        };
        struct kafka_consumer *c = NULL;
        rd_kafka_conf_t *conf = NULL;
        char errstr[256];

        c = calloc(1, sizeof(*c));
        if (c == NULL ||
            (c->brokers = strdup(brokers ? brokers : "")) == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                goto fail;
        }
        atomic_init(&c->lag, -1);
        c->lag_gauge = metrics_gauge_register(
            "signpost_consumer_lag",
            "Records not yet handled on the assigned partitions", "group",
            group, METRICS_END);
        conf = kafka_conf_new(brokers, defaults, extra_conf, e);
        if (conf == NULL)
                goto fail;
        rd_kafka_conf_set_opaque(conf, c);
        rd_kafka_conf_set_stats_cb(conf, stats_cb);
        rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
        c->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
        if (c->rk == NULL) {
                rd_kafka_conf_destroy(conf);
                err_set(e, ERR_FATAL, NULL, "kafka consumer: %s", errstr);
                goto fail;
        }
        rd_kafka_poll_set_consumer(c->rk);
        if (subscribe(c, topics, e) < 0)
                goto fail;
        return c;
fail:
        kafka_consumer_free(c);
        return NULL;
}

void
kafka_consumer_free(struct kafka_consumer *c)
{
        if (c == NULL)
                return;
        if (c->pending != NULL)
                rd_kafka_message_destroy(c->pending);
        if (c->rk != NULL) {
                rd_kafka_consumer_close(c->rk);
                rd_kafka_destroy(c->rk);
        }
        kafka_producer_free(c->own_dlq);
        free(c->brokers);
        free(c);
}

void
kafka_consumer_set_dlq_producer(struct kafka_consumer *c,
                                struct kafka_producer *p)
{
        c->dlq = p;
}

int
kafka_consumer_assigned(struct kafka_consumer *c)
{
        return atomic_load(&c->assigned);
}

int64_t
kafka_consumer_lag(struct kafka_consumer *c)
{
        return atomic_load(&c->lag);
}

uint64_t
kafka_consumer_dlq_count(struct kafka_consumer *c)
{
        return atomic_load(&c->dlq_count);
}

/* ---- offsets ---- */

/* list_first: adds m's partition at m's offset unless already listed. */
static void
list_first(rd_kafka_topic_partition_list_t *l, const rd_kafka_message_t *m)
{
        const char *topic = rd_kafka_topic_name(m->rkt);

        if (rd_kafka_topic_partition_list_find(l, topic, m->partition) == NULL)
                rd_kafka_topic_partition_list_add(l, topic, m->partition)
                    ->offset = m->offset;
}

/* rewind: seeks every partition of msgs[from, to) and of the held-back
 * record back to its first record there, so they are fetched again; drops
 * the held-back record. Partitions no longer assigned fail; ignored. */
static void
rewind_msgs(struct kafka_consumer *c, struct batch *b, size_t from, size_t to)
{
        rd_kafka_topic_partition_list_t *l = NULL;
        rd_kafka_error_t *error = NULL;

        l = rd_kafka_topic_partition_list_new((int)(to - from) + 1);
        for (size_t i = from; i < to; i++)
                list_first(l, b->msgs[i]);
        if (c->pending != NULL) {
                list_first(l, c->pending);
                rd_kafka_message_destroy(c->pending);
                c->pending = NULL;
        }
        if (l->cnt > 0)
                error = rd_kafka_seek_partitions(c->rk, l, SEEK_MS);
        if (error != NULL) {
                log_why(LOG_WARN, "kafka seek failed",
                        rd_kafka_error_name(error), NULL);
                rd_kafka_error_destroy(error);
        }
        rd_kafka_topic_partition_list_destroy(l);
}

/* store: stores offsets past msgs[from, to) (the last per partition wins;
 * records arrive in offset order within a partition). */
static void
store_msgs(struct kafka_consumer *c, rd_kafka_message_t *const *msgs,
           size_t from, size_t to)
{
        rd_kafka_topic_partition_list_t *l = NULL;
        rd_kafka_topic_partition_t *tp;

        if (from >= to)
                return;
        l = rd_kafka_topic_partition_list_new((int)(to - from));
        for (size_t i = from; i < to; i++) {
                const rd_kafka_message_t *m = msgs[i];
                const char *topic = rd_kafka_topic_name(m->rkt);

                tp = rd_kafka_topic_partition_list_find(l, topic, m->partition);
                if (tp == NULL)
                        tp = rd_kafka_topic_partition_list_add(l, topic,
                                                               m->partition);
                tp->offset = m->offset + 1;
        }
        /* Partitions revoked meanwhile fail with __STATE: nothing to do, the
         * new owner repeats those records and the inbox drops them. */
        rd_kafka_offsets_store(c->rk, l);
        rd_kafka_topic_partition_list_destroy(l);
}

/* ---- dead letters ---- */

static struct kafka_producer *
dlq_producer(struct kafka_consumer *c, struct err *e)
{
        if (c->dlq == NULL) {
                c->own_dlq = kafka_producer_new(c->brokers, NULL, e);
                c->dlq = c->own_dlq;
        }
        return c->dlq;
}

/* dlq_headers: returns new headers: m's ce_* and content-type headers plus
 * dlq_reason, dlq_topic, dlq_partition, dlq_offset. */
static rd_kafka_headers_t *
dlq_headers(const rd_kafka_message_t *m, const char *reason)
{
        rd_kafka_headers_t *src = NULL, *h = rd_kafka_headers_new(12);
        const char *name;
        const void *val;
        size_t len;
        char num[32];

        if (rd_kafka_message_headers(m, &src) == RD_KAFKA_RESP_ERR_NO_ERROR) {
                for (size_t i = 0;
                     rd_kafka_header_get_all(src, i, &name, &val, &len) == 0;
                     i++)
                        if (strncmp(name, "ce_", 3) == 0 ||
                            strcmp(name, "content-type") == 0)
                                rd_kafka_header_add(h, name, -1, val,
                                                    (ssize_t)len);
        }
        rd_kafka_header_add(h, "dlq_reason", -1, reason, -1);
        rd_kafka_header_add(h, "dlq_topic", -1, rd_kafka_topic_name(m->rkt),
                            -1);
        snprintf(num, sizeof(num), "%d", (int)m->partition);
        rd_kafka_header_add(h, "dlq_partition", -1, num, -1);
        snprintf(num, sizeof(num), "%lld", (long long)m->offset);
        rd_kafka_header_add(h, "dlq_offset", -1, num, -1);
        return h;
}

/* dead_letter: produces m to "<topic>.dlq" and waits for the broker's
 * acknowledgement. reason is logged and must hold no personal data. */
static int
dead_letter(struct kafka_consumer *c, const rd_kafka_message_t *m,
            const char *reason, struct err *e)
{
        const char *topic = rd_kafka_topic_name(m->rkt);
        struct kafka_producer *p = dlq_producer(c, e);
        struct kafka_out out = {0};
        char dlq[256];

        if (p == NULL)
                return -1;
        snprintf(dlq, sizeof(dlq), "%s.dlq", topic);
        out.topic = dlq;
        out.key = m->key;
        out.key_len = m->key_len;
        out.value = m->payload;
        out.value_len = m->len;
        if (kafka_produce_hdrs_wait(p, &out, dlq_headers(m, reason), DLQ_ACK_MS,
                                    e) < 0) {
                log_kafka(LOG_ERROR, "dead letter not acknowledged", topic,
                          m->partition, m->offset, e ? e->msg : NULL);
                return -1;
        }
        atomic_fetch_add(&c->dlq_count, 1);
        metrics_counter_inc(metrics_counter_register(
            "signpost_dead_letters_total", "Records sent to <topic>.dlq",
            "topic", topic, METRICS_END));
        log_kafka(LOG_WARN, "record dead-lettered", topic, m->partition,
                  m->offset, reason);
        return 0;
}

/* ---- the loop ---- */

static void
back_off(struct kafka_consumer *c, atomic_bool *stop)
{
        struct timespec ts = {0, 50 * 1000000L};

        c->backoff_ms = c->backoff_ms == 0 ? BACKOFF_MIN_MS : c->backoff_ms * 2;
        if (c->backoff_ms > BACKOFF_MAX_MS)
                c->backoff_ms = BACKOFF_MAX_MS;
        for (int slept = 0; slept < c->backoff_ms && !atomic_load(stop);
             slept += 50)
                nanosleep(&ts, NULL);
}

static void
batch_drop(struct batch *b)
{
        for (size_t i = 0; i < b->n; i++)
                rd_kafka_message_destroy(b->msgs[i]);
        b->n = 0;
}

/* take_bad: a malformed record m (why says how). With nothing in flight it
 * is dead-lettered and stored now; otherwise held back. Returns 1 to stop
 * gathering, 0 to go on, -1 when the dead letter failed. */
static int
take_bad(struct kafka_consumer *c, struct batch *b, rd_kafka_message_t *m,
         const char *why, struct err *e)
{
        if (b->n > 0) {
                c->pending = m;
                return 1;
        }
        if (dead_letter(c, m, why, e) < 0) {
                c->pending = m;
                rewind_msgs(c, b, 0, 0);
                return -1;
        }
        store_msgs(c, &m, 0, 1);
        rd_kafka_message_destroy(m);
        return 0;
}

/* take: classifies one polled message into b. Returns 1 to stop gathering,
 * 0 to go on, -1 when a dead letter failed. */
static int
take(struct kafka_consumer *c, struct batch *b, rd_kafka_message_t *m,
     struct err *e)
{
        struct kafka_record *r = &b->recs[b->n];
        struct err bad = {0};

        if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        log_kafka(LOG_WARN, "kafka consume error",
                                  m->rkt ? rd_kafka_topic_name(m->rkt) : "",
                                  m->partition, m->offset,
                                  rd_kafka_message_errstr(m));
                rd_kafka_message_destroy(m);
                return 1;
        }
        /* A NULL value with a valid envelope is a tombstone (the entity was
         * deleted) and goes to the handler like any record. */
        memset(r, 0, sizeof(*r));
        if (event_from_message(m, &r->ev, &bad) < 0)
                return take_bad(c, b, m, bad.msg, e);
        r->topic = rd_kafka_topic_name(m->rkt);
        r->partition = m->partition;
        r->offset = m->offset;
        r->key = m->key;
        r->key_len = m->key_len;
        r->value = m->payload;
        r->value_len = m->len;
        b->msgs[b->n++] = m;
        return 0;
}

/* gather: fills b with up to b->max well-formed records: waits up to
 * POLL_MS for the first, then takes what is already there. */
static int
gather(struct kafka_consumer *c, struct batch *b, struct err *e)
{
        unsigned gen = c->generation;
        rd_kafka_message_t *m;
        int rc = 0;

        while (rc == 0 && b->n < b->max) {
                if (c->pending != NULL) {
                        m = c->pending;
                        c->pending = NULL;
                } else {
                        m = rd_kafka_consumer_poll(c->rk,
                                                   b->n == 0 ? POLL_MS : 0);
                }
                if (m == NULL)
                        break;
                if (c->generation != gen) {
                        /* Rebalanced while gathering: start over. */
                        rewind_msgs(c, b, 0, b->n);
                        batch_drop(b);
                        gen = c->generation;
                }
                rc = take(c, b, m, e);
        }
        return rc < 0 ? -1 : 0;
}

/* finish: acts on each record's result after the handler returned 0.
 * Returns 0, or -1 (e filled) after storing what is done and rewinding the
 * rest. */
static int
finish(struct kafka_consumer *c, struct batch *b, struct err *e)
{
        size_t i;

        for (i = 0; i < b->n; i++) {
                struct kafka_record *r = &b->recs[i];

                if (r->result == ERR_NONE)
                        continue;
                if (r->result == ERR_TRANSIENT || r->result == ERR_FATAL) {
                        err_set(e, r->result, NULL,
                                "handler stopped at a record");
                        break;
                }
                if (dead_letter(c, b->msgs[i],
                                r->reason[0] ? r->reason
                                             : err_kind_name(r->result),
                                e) < 0)
                        break;
        }
        store_msgs(c, b->msgs, 0, i);
        if (i == b->n)
                return 0;
        rewind_msgs(c, b, i, b->n);
        return -1;
}

/* run_once: one batch through fn. Returns -1 only for FATAL. */
static int
run_once(struct kafka_consumer *c, struct batch *b, kafka_batch_fn fn,
         void *arg, atomic_bool *stop, struct err *e)
{
        struct err he = {0};
        int rc;

        if (gather(c, b, &he) < 0) {
                if (he.kind == ERR_FATAL) /* no DLQ producer possible */
                        return err_set(e, ERR_FATAL, he.field, "%s", he.msg);
                goto retry;
        }
        if (b->n == 0)
                return 0;
        rc = fn(arg, b->recs, b->n, &he);
        if (rc < 0)
                rewind_msgs(c, b, 0, b->n);
        else
                rc = finish(c, b, &he);
        batch_drop(b);
        if (rc == 0) {
                c->backoff_ms = 0;
                return 0;
        }
        if (he.kind == ERR_FATAL)
                return err_set(e, ERR_FATAL, he.field, "%s", he.msg);
retry:
        log_warnx("kafka batch will be retried", "kind=%s backoff_ms=%d",
                  err_kind_name(he.kind),
                  c->backoff_ms == 0 ? BACKOFF_MIN_MS
                                     : (c->backoff_ms * 2 > BACKOFF_MAX_MS
                                            ? BACKOFF_MAX_MS
                                            : c->backoff_ms * 2));
        back_off(c, stop);
        return 0;
}

/* broker_check: every 5 s, whether the broker answers this consumer (as
 * its user: a certificate it refuses, or an ACL on everything, is not
 * answering) becomes the daemon's "kafka" readiness (GET /readyz), and a
 * change is logged once, naming the user. */
static void
broker_check(struct kafka_consumer *c)
{
        static _Atomic int last = -1; /* shared by a daemon's consumers */
        static _Atomic int64_t next_ms;
        struct timespec ts;
        const char *user;
        int64_t now;
        int up, was;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        if (now < atomic_load(&next_ms))
                return;
        atomic_store(&next_ms, now + 5000);
        up = kafka_reachable(c->rk, 2000) ? 1 : 0;
        svc_ready_set("kafka", up);
        was = atomic_exchange(&last, up);
        if (was == up)
                return;
        user = kafka_env_tls_dir();
        log_line(up ? LOG_INFO : LOG_WARN,
                 up ? "kafka broker answers"
                    : "kafka broker does not answer this user: not ready",
                 "user_tls_dir=%s", user ? user : "(none)");
}

int
kafka_consumer_run(struct kafka_consumer *c, kafka_batch_fn fn, void *arg,
                   size_t max_batch, atomic_bool *stop, struct err *e)
{
        struct batch b = {0};
        int rc = 0;

        b.max = max_batch > 0 ? max_batch : 1;
        b.msgs = calloc(b.max, sizeof(*b.msgs));
        b.recs = calloc(b.max, sizeof(*b.recs));
        if (b.msgs == NULL || b.recs == NULL) {
                rc = err_set(e, ERR_FATAL, NULL, "out of memory");
                goto out;
        }
        while (!atomic_load(stop) && rc == 0) {
                broker_check(c);
                rc = run_once(c, &b, fn, arg, stop, e);
        }
out:
        free(b.msgs);
        free(b.recs);
        return rc;
}
