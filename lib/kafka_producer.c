/*
 * kafka_producer: the idempotent producer (acks=all). Owns the per-message
 * delivery-report plumbing: each message with a callback carries a small
 * heap box (callback + opaque) that the dr_msg_cb calls and frees.
 * kafka_produce_wait() waits on a reference-counted heap state, never on the
 * caller's stack, so a report arriving after the wait gave up is harmless.
 * Does not own message contents (values are copied) or the envelope
 * (event.c).
 */
#include "kafka.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "log.h"

struct kafka_producer {
        rd_kafka_t *rk;
};

/* One per message that wants a report; freed by dr_msg_cb. */
struct dr_box {
        kafka_dr_fn fn;
        void *opaque;
};

/* Shared by kafka_produce_wait (the waiter) and the report (the box). */
struct dr_wait {
        atomic_int refs;
        atomic_int done;
        enum kafka_delivery d;
        char reason[128];
};

static const char *const producer_defaults[] = {
    "enable.idempotence", "true", "acks", "all", "linger.ms", "5", NULL,
};

static void
dr_msg_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *conf_opaque)
{
        struct dr_box *b = m->_private;

        (void)rk;
        (void)conf_opaque;
        if (b == NULL)
                return;
        b->fn(b->opaque,
              m->err == RD_KAFKA_RESP_ERR_NO_ERROR ? KAFKA_DELIVERED
              : rd_kafka_message_status(m) == RD_KAFKA_MSG_STATUS_NOT_PERSISTED
                  ? KAFKA_FAILED
                  : KAFKA_MAYBE,
              m->err ? rd_kafka_err2str(m->err) : "");
        free(b);
}

struct kafka_producer *
kafka_producer_new(const char *brokers, const char *const *extra_conf,
                   struct err *e)
{
        rd_kafka_conf_t *conf = NULL;
        struct kafka_producer *p = NULL;
        char errstr[256];

        conf = kafka_conf_new(brokers, producer_defaults, extra_conf, e);
        if (conf == NULL)
                goto out;
        rd_kafka_conf_set_dr_msg_cb(conf, dr_msg_cb);
        p = calloc(1, sizeof(*p));
        if (p == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                goto out;
        }
        p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (p->rk == NULL) {
                err_set(e, ERR_FATAL, NULL, "kafka producer: %s", errstr);
                free(p);
                p = NULL;
                goto out;
        }
        conf = NULL; /* rd_kafka_new took it */
out:
        if (conf != NULL)
                rd_kafka_conf_destroy(conf);
        return p;
}

void
kafka_producer_free(struct kafka_producer *p)
{
        if (p == NULL)
                return;
        if (rd_kafka_flush(p->rk, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                log_warnx("kafka producer closing with undelivered messages",
                          "count=%d", rd_kafka_outq_len(p->rk));
                /* Fail what is left so every report box is freed. */
                rd_kafka_purge(p->rk, RD_KAFKA_PURGE_F_QUEUE |
                                          RD_KAFKA_PURGE_F_INFLIGHT);
                rd_kafka_flush(p->rk, 1000);
        }
        rd_kafka_destroy(p->rk);
        free(p);
}

/* produce_err: maps a producev error to an err kind. */
static int
produce_err(rd_kafka_resp_err_t rc, const char *topic, struct err *e)
{
        enum err_kind k = ERR_TRANSIENT;

        if (rc == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE ||
            rc == RD_KAFKA_RESP_ERR__INVALID_ARG)
                k = ERR_INVALID;
        else if (rc == RD_KAFKA_RESP_ERR__FATAL)
                k = ERR_FATAL;
        return err_set(e, k, "topic", "produce to %s: %s", topic,
                       rd_kafka_err2str(rc));
}

/* produce_send: enqueues m with hdrs (taken, also on failure) and box (taken,
 * also on failure; may be NULL). */
static int
produce_send(struct kafka_producer *p, const struct kafka_out *m,
             rd_kafka_headers_t *hdrs, struct dr_box *box, struct err *e)
{
        rd_kafka_resp_err_t rc;

        rc = rd_kafka_producev(p->rk, RD_KAFKA_V_TOPIC(m->topic),
                               RD_KAFKA_V_KEY(m->key, m->key_len),
                               RD_KAFKA_V_VALUE((void *)m->value, m->value_len),
                               RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(box),
                               RD_KAFKA_V_END);
        if (rc == RD_KAFKA_RESP_ERR_NO_ERROR)
                return 0;
        if (hdrs != NULL)
                rd_kafka_headers_destroy(hdrs);
        free(box);
        return produce_err(rc, m->topic, e);
}

/* out_headers: returns new headers for m (NULL when it has none). */
static rd_kafka_headers_t *
out_headers(const struct kafka_out *m)
{
        rd_kafka_headers_t *h = NULL;

        if (m->ev != NULL)
                h = event_headers_new(m->ev);
        if (m->extra_header_name != NULL && m->extra_header_value != NULL) {
                if (h == NULL)
                        h = rd_kafka_headers_new(1);
                rd_kafka_header_add(h, m->extra_header_name, -1,
                                    m->extra_header_value, -1);
        }
        return h;
}

static struct dr_box *
box_new(kafka_dr_fn fn, void *opaque)
{
        struct dr_box *b = malloc(sizeof(*b));

        if (b != NULL) {
                b->fn = fn;
                b->opaque = opaque;
        }
        return b;
}

int
kafka_produce(struct kafka_producer *p, const struct kafka_out *m,
              struct err *e)
{
        struct dr_box *box = NULL;

        if (m->on_delivery != NULL) {
                box = box_new(m->on_delivery, m->opaque);
                if (box == NULL)
                        return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        }
        return produce_send(p, m, out_headers(m), box, e);
}

static void
wait_release(struct dr_wait *w)
{
        if (atomic_fetch_sub(&w->refs, 1) == 1)
                free(w);
}

static void
wait_report(void *opaque, enum kafka_delivery d, const char *reason)
{
        struct dr_wait *w = opaque;

        w->d = d;
        snprintf(w->reason, sizeof(w->reason), "%s", reason);
        atomic_store(&w->done, 1);
        wait_release(w);
}

/* wait_for: polls until w is reported or timeout_ms pass. */
static int
wait_for(struct kafka_producer *p, const struct kafka_out *m, struct dr_wait *w,
         int timeout_ms, struct err *e)
{
        int64_t deadline = clock_ms() + timeout_ms;
        int64_t left;

        while (!atomic_load(&w->done) && (left = deadline - clock_ms()) > 0)
                rd_kafka_poll(p->rk, left < 100 ? (int)left : 100);
        if (!atomic_load(&w->done))
                return err_set(e, ERR_TRANSIENT, "topic",
                               "produce to %s: no acknowledgement within %d "
                               "ms",
                               m->topic, timeout_ms);
        if (w->d != KAFKA_DELIVERED)
                return err_set(e, ERR_TRANSIENT, "topic", "produce to %s: %s",
                               m->topic, w->reason);
        return 0;
}

int
kafka_produce_hdrs_wait(struct kafka_producer *p, const struct kafka_out *m,
                        rd_kafka_headers_t *hdrs, int timeout_ms, struct err *e)
{
        struct dr_wait *w = NULL;
        struct dr_box *box = NULL;
        int rc = -1;

        w = calloc(1, sizeof(*w));
        box = box_new(wait_report, w);
        if (w == NULL || box == NULL) {
                if (hdrs != NULL)
                        rd_kafka_headers_destroy(hdrs);
                free(box);
                free(w);
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        }
        atomic_init(&w->refs, 2); /* the waiter and the report */
        atomic_init(&w->done, 0);
        if (produce_send(p, m, hdrs, box, e) < 0) {
                free(w); /* box went with the failed send */
                return -1;
        }
        rc = wait_for(p, m, w, timeout_ms, e);
        wait_release(w);
        return rc;
}

int
kafka_produce_wait(struct kafka_producer *p, const struct kafka_out *m,
                   int timeout_ms, struct err *e)
{
        return kafka_produce_hdrs_wait(p, m, out_headers(m), timeout_ms, e);
}

int
kafka_producer_poll(struct kafka_producer *p, int timeout_ms)
{
        return rd_kafka_poll(p->rk, timeout_ms);
}

int
kafka_producer_flush(struct kafka_producer *p, int timeout_ms)
{
        rd_kafka_resp_err_t rc = rd_kafka_flush(p->rk, timeout_ms);

        return rc == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

rd_kafka_t *
kafka_producer_handle(struct kafka_producer *p)
{
        return p->rk;
}
