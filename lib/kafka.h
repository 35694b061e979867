/*
 * kafka: the producer and the group consumer every daemon uses.
 *
 * Producer: idempotent (enable.idempotence, acks=all), so a message the
 * broker acknowledged is never lost or duplicated by the producer. Delivery
 * reports are served on the caller's thread by kafka_producer_poll() and
 * handed to the callback given with each message.
 *
 * Consumer: a balanced consumer group with enable.auto.offset.store=false
 * (auto commit of stored offsets, auto.offset.reset=earliest,
 * session.timeout.ms=10000, statistics every 5 s; extra_conf overrides).
 * kafka_consumer_run() polls (<= 200 ms), hands a batch of well-formed
 * records to the handler, and stores each record's offset only after the
 * handler says its effect is committed. Malformed records (missing ce_*
 * headers) and records the handler marks INVALID go to
 * "<topic>.dlq" with the reason in header "dlq_reason" and are skipped.
 * A TRANSIENT failure rewinds to the first unhandled record and backs off.
 */
#ifndef SIGNPOST_KAFKA_H
#define SIGNPOST_KAFKA_H

#include <librdkafka/rdkafka.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "event.h"

/* ---- producer ---- */

struct kafka_producer;

/* A delivery report's outcome. KAFKA_MAYBE: not acknowledged, but sent,
 * so the broker may still commit it (librdkafka's "possibly persisted",
 * e.g. a timeout while a leader failed over): a resend is only safe when
 * its consumers dedupe it (the same key and id). Compare with
 * KAFKA_DELIVERED; never test it as a boolean. */
enum kafka_delivery {
        KAFKA_FAILED = 0, /* not on the broker */
        KAFKA_DELIVERED = 1,
        KAFKA_MAYBE = 2,
};

/* kafka_dr_fn: called from kafka_producer_poll() on the caller's thread;
 * reason is borrowed ("" when delivered). */
typedef void (*kafka_dr_fn)(void *opaque, enum kafka_delivery d,
                            const char *reason);

struct kafka_out {
        const char *topic;
        const void *key;
        size_t key_len;
        const void *value; /* copied */
        size_t value_len;
        const struct event *ev;        /* NULL: no ce_* headers (DLQ, raw) */
        const char *extra_header_name; /* optional single extra header */
        const char *extra_header_value;
        kafka_dr_fn on_delivery; /* NULL: ignore the report */
        void *opaque;
};

/* kafka_producer_new: returns new producer, free with
 * kafka_producer_free() (which flushes for up to 5 s). extra_conf is a
 * NULL-terminated list of name, value pairs (may be NULL). */
struct kafka_producer *kafka_producer_new(const char *brokers,
                                          const char *const *extra_conf,
                                          struct err *e);
void kafka_producer_free(struct kafka_producer *p);
/* kafka_produce: enqueues; -1 with ERR_TRANSIENT when the local queue is
 * full or the broker is unknown. */
int kafka_produce(struct kafka_producer *p, const struct kafka_out *m,
                  struct err *e);
/* kafka_produce_wait: produces and waits up to timeout_ms for the delivery
 * report; 0 only when acknowledged by the broker, else -1 with
 * ERR_TRANSIENT (a timed-out message may still be delivered later).
 * m->on_delivery and m->opaque are not used. */
int kafka_produce_wait(struct kafka_producer *p, const struct kafka_out *m,
                       int timeout_ms, struct err *e);
/* kafka_produce_hdrs_wait: like kafka_produce_wait, with ready-made
 * headers instead of m->ev and the extra header (takes ownership of hdrs,
 * also on failure; hdrs may be NULL). Used for dead letters. */
int kafka_produce_hdrs_wait(struct kafka_producer *p, const struct kafka_out *m,
                            rd_kafka_headers_t *hdrs, int timeout_ms,
                            struct err *e);
/* kafka_producer_poll: serves delivery reports; returns how many.
 * kafka_produce_wait() and kafka_producer_flush() serve them too (for every
 * message, on the calling thread). */
int kafka_producer_poll(struct kafka_producer *p, int timeout_ms);
int kafka_producer_flush(struct kafka_producer *p, int timeout_ms);
/* kafka_producer_handle: returns borrowed rd_kafka_t, valid until free. */
rd_kafka_t *kafka_producer_handle(struct kafka_producer *p);

/* ---- consumer ---- */

struct kafka_record {
        const char *topic; /* borrowed, valid during the handler call */
        int32_t partition;
        int64_t offset;
        const void *key;
        size_t key_len;
        const void *value; /* NULL: a tombstone (the keyed entity is gone) */
        size_t value_len;
        struct event ev;
        /* set by the handler: */
        enum err_kind result; /* ERR_NONE: applied (or duplicate) */
        char reason[384];     /* why, when result is ERR_INVALID */
};

/* kafka_batch_fn: handle n records in order. Return 0 when every record's
 * result is decided and the effects of those with ERR_NONE are committed;
 * records marked ERR_INVALID are dead-lettered. Return -1 with e kind
 * TRANSIENT to retry the whole batch later, FATAL to stop the consumer.
 * Finer grain, when returning 0: a record marked ERR_TRANSIENT (or
 * ERR_FATAL) ends the batch there: the records before it are done, it and
 * the rest are retried after a back-off (or the consumer stops). Records
 * marked ERR_NOT_FOUND or ERR_CONFLICT are dead-lettered like ERR_INVALID. */
typedef int (*kafka_batch_fn)(void *arg, struct kafka_record *recs, size_t n,
                              struct err *e);

struct kafka_consumer;

/* kafka_consumer_new: returns new consumer subscribed to topics (NULL
 * terminated) in group; free with kafka_consumer_free(), which closes
 * (committing stored offsets) before destroying. */
struct kafka_consumer *kafka_consumer_new(const char *brokers,
                                          const char *group,
                                          const char *const *topics,
                                          const char *const *extra_conf,
                                          struct err *e);
void kafka_consumer_free(struct kafka_consumer *c);
/* kafka_consumer_set_dlq_producer: dead letters go through p (borrowed;
 * must outlive c). Without one, the consumer makes its own. */
void kafka_consumer_set_dlq_producer(struct kafka_consumer *c,
                                     struct kafka_producer *p);
/* kafka_consumer_run: loops until *stop is true or the handler returns
 * FATAL (then -1). max_batch bounds records per handler call. */
int kafka_consumer_run(struct kafka_consumer *c, kafka_batch_fn fn, void *arg,
                       size_t max_batch, atomic_bool *stop, struct err *e);
/* kafka_consumer_lag: sum over assigned partitions of (high watermark -
 * next record to handle), from the last statistics (statistics.interval.ms,
 * default 5 s); -1 when unknown. Safe from any thread. */
int64_t kafka_consumer_lag(struct kafka_consumer *c);
/* kafka_consumer_assigned: how many partitions the group gave c now (0
 * before it has joined). Safe from any thread. */
int kafka_consumer_assigned(struct kafka_consumer *c);
/* kafka_consumer_dlq_count: records dead-lettered by this consumer. */
uint64_t kafka_consumer_dlq_count(struct kafka_consumer *c);

/* kafka_topics_each: each topic of a topics file (proto/topics: one
 * "name [partitions]" a line, '#' comments, dflt partitions when none
 * given), in order, through fn(name, partitions, arg), which returns 0 to
 * go on. -1 with e set when the file cannot be opened (ERR_NOT_FOUND), a
 * line is malformed (ERR_INVALID naming it) or fn failed. */
typedef int (*kafka_topic_fn)(const char *name, int partitions, void *arg);
int kafka_topics_each(const char *path, int dflt, kafka_topic_fn fn, void *arg,
                      struct err *e);

/* The deployment's Kafka settings, from a daemon's config table
 * (svc_run): SIGNPOST_KAFKA_TLS_DIR, SIGNPOST_KAFKA_FETCH_WAIT_MS (how
 * long an empty fetch waits at the broker) and the SIGNPOST_RDKAFKA_*
 * pass-through (SIGNPOST_RDKAFKA_SSL_CA_LOCATION sets ssl.ca.location:
 * lower-cased, '_' -> '.'). */
#define KAFKA_ENV_PREFIX "SIGNPOST_RDKAFKA_"
struct kafka_env {
        const char *tls_dir;       /* NULL: none */
        const char *fetch_wait_ms; /* NULL: librdkafka's default */
        /* NULL-terminated variable name, value pairs; NULL: none */
        const char *const *props;
};
/* kafka_env_set: every client made after it takes these settings
 * (borrowed: env must outlive them; NULL goes back to the default). Call
 * before any thread makes a client. Without it (tools, which have no
 * config table) the same variables are read from the environment. */
void kafka_env_set(const struct kafka_env *env);
/* kafka_env_check: whether librdkafka accepts env's settings (as
 * kafka_conf_new would apply them); 0, or -1 with e->msg naming the
 * variable. */
int kafka_env_check(const struct kafka_env *env, struct err *e);
/* kafka_env_tls_dir, kafka_env_fetch_wait: the settings in effect;
 * returns borrowed text, NULL when unset. */
const char *kafka_env_tls_dir(void);
const char *kafka_env_fetch_wait(void);

/* kafka_conf_new: returns new librdkafka configuration with
 * bootstrap.servers, signpost's log and error callbacks, then defaults,
 * the broker user's TLS client certificate (SIGNPOST_KAFKA_TLS_DIR:
 * user.crt, user.key, ca.crt), SIGNPOST_RDKAFKA_* (both as kafka_env
 * says), and extra_conf (both lists NULL-terminated name,
 * value pairs, may be NULL) applied in that order. Hand it to rd_kafka_new()
 * (which takes ownership on success) or free with rd_kafka_conf_destroy(). */
rd_kafka_conf_t *kafka_conf_new(const char *brokers,
                                const char *const *defaults,
                                const char *const *extra_conf, struct err *e);

/* kafka_partner_topic: the topic a registered organisation reads its
 * referrals from, "partner.<org>.referrals", into out (n bytes; at least
 * KAFKA_PARTNER_TOPIC_LEN for a UUID org). */
#define KAFKA_PARTNER_TOPIC_LEN 64
void kafka_partner_topic(const char *org, char *out, size_t n);

/* kafka_reachable: true if metadata can be fetched within timeout_ms. */
bool kafka_reachable(rd_kafka_t *rk, int timeout_ms);

#endif
