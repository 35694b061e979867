/*
 * produce: the gateway's producer. A command is answered 202 only after
 * the broker acknowledged it. A poller thread serves every delivery
 * report as it arrives: gw_produce_async hands it to the caller's
 * callback (the referral API answers from there without holding an HTTP
 * thread); gw_produce waits for it (rather than each waiter polling,
 * where one thread can sit in poll while another served its report).
 * The wait state is reference-counted: a report arriving after the wait
 * gave up is harmless. Does not build messages.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "log.h"

struct gw_producer {
        struct kafka_producer *kp;
        pthread_t poller;
        atomic_bool stop;
        bool started;
};

struct waiter {
        pthread_mutex_t mu;
        pthread_cond_t cv;
        atomic_int refs;
        bool done;
        enum kafka_delivery d;
        char reason[128];
};

static void *
poll_loop(void *arg)
{
        struct gw_producer *p = arg;

        while (!atomic_load(&p->stop))
                kafka_producer_poll(p->kp, 100);
        return NULL;
}

struct gw_producer *
gw_producer_new(const char *brokers, int timeout_ms, struct err *e)
{
        struct gw_producer *p = calloc(1, sizeof(*p));
        char tmo[24];
        /* librdkafka itself fails a message it could not deliver in
         * timeout_ms, so every message gets its report by then. The report
         * is final only when it says the message never reached a broker
         * (KAFKA_FAILED): one timed out while its request was at a leader
         * that then failed over can still be committed (KAFKA_MAYBE).
         * timeout_ms is set above the broker's failover (see main.c) so a
         * lost node delays an answer rather than failing it. */
        const char *conf[] = {"linger.ms", "1", "message.timeout.ms", tmo,
                              NULL};

        snprintf(tmo, sizeof(tmo), "%d", timeout_ms);

        if (p == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                return NULL;
        }
        p->kp = kafka_producer_new(brokers, conf, e);
        if (p->kp == NULL ||
            pthread_create(&p->poller, NULL, poll_loop, p) != 0) {
                if (p->kp != NULL)
                        err_set(e, ERR_FATAL, NULL, "cannot start poller");
                gw_producer_free(p);
                return NULL;
        }
        p->started = true;
        return p;
}

void
gw_producer_free(struct gw_producer *p)
{
        if (p == NULL)
                return;
        atomic_store(&p->stop, true);
        if (p->started)
                pthread_join(p->poller, NULL);
        kafka_producer_free(p->kp);
        free(p);
}

static void
release(struct waiter *w)
{
        if (atomic_fetch_sub(&w->refs, 1) == 1) {
                pthread_mutex_destroy(&w->mu);
                pthread_cond_destroy(&w->cv);
                free(w);
        }
}

static void
on_report(void *opaque, enum kafka_delivery d, const char *reason)
{
        struct waiter *w = opaque;

        pthread_mutex_lock(&w->mu);
        w->d = d;
        snprintf(w->reason, sizeof(w->reason), "%s", reason);
        w->done = true;
        pthread_cond_signal(&w->cv);
        pthread_mutex_unlock(&w->mu);
        release(w);
}

static struct waiter *
waiter_new(void)
{
        struct waiter *w = calloc(1, sizeof(*w));
        pthread_condattr_t ca;

        if (w == NULL)
                return NULL;
        pthread_mutex_init(&w->mu, NULL);
        pthread_condattr_init(&ca);
        pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
        pthread_cond_init(&w->cv, &ca);
        pthread_condattr_destroy(&ca);
        atomic_init(&w->refs, 2); /* the waiter and the report */
        return w;
}

/* await: 0 when acknowledged within timeout_ms. */
static int
await(struct waiter *w, const char *topic, int timeout_ms, struct err *e)
{
        struct timespec dl;
        int rc = 0;

        clock_gettime(CLOCK_MONOTONIC, &dl);
        dl.tv_sec += timeout_ms / 1000;
        dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
        if (dl.tv_nsec >= 1000000000L) {
                dl.tv_sec++;
                dl.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&w->mu);
        while (!w->done && rc != ETIMEDOUT)
                rc = pthread_cond_timedwait(&w->cv, &w->mu, &dl);
        if (!w->done)
                rc = err_set(e, ERR_TRANSIENT, "topic",
                             "%s: no acknowledgement within %d ms (the "
                             "broker may still have it)",
                             topic, timeout_ms);
        else if (w->d == KAFKA_MAYBE)
                rc = err_set(e, ERR_TRANSIENT, "topic",
                             "%s: %s (the broker may still have it)", topic,
                             w->reason);
        else if (w->d != KAFKA_DELIVERED)
                rc = err_set(e, ERR_TRANSIENT, "topic", "%s: %s", topic,
                             w->reason);
        else
                rc = 0;
        pthread_mutex_unlock(&w->mu);
        return rc;
}

int
gw_produce(struct gw_producer *p, const char *topic, const char *key,
           const struct event *ev, const char *value, int wait_ms,
           struct err *e)
{
        struct waiter *w = waiter_new();
        struct kafka_out m = {
            .topic = topic,
            .key = key,
            .key_len = strlen(key),
            .value = value,
            .value_len = strlen(value),
            .ev = ev,
            .on_delivery = on_report,
            .opaque = w,
        };
        int rc;

        if (w == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        if (kafka_produce(p->kp, &m, e) < 0) {
                release(w); /* no report will come */
                release(w);
                return -1;
        }
        rc = await(w, topic, wait_ms, e);
        release(w);
        return rc;
}

int
gw_produce_async(struct gw_producer *p, const char *topic, const char *key,
                 const struct event *ev, const char *value, gw_acked_fn done,
                 void *arg, struct err *e)
{
        struct kafka_out m = {
            .topic = topic,
            .key = key,
            .key_len = strlen(key),
            .value = value,
            .value_len = strlen(value),
            .ev = ev,
            .on_delivery = done,
            .opaque = arg,
        };

        return kafka_produce(p->kp, &m, e);
}

bool
gw_producer_ready(struct gw_producer *p)
{
        return p != NULL && kafka_reachable(kafka_producer_handle(p->kp), 1000);
}
