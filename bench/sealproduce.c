/*
 * sealproduce: the least a referral endpoint must do, to set the gateway
 * against in the same run. A bare libmicrohttpd server (threading as in
 * bench/hello.c and lib/http) that reads each request's body, seals it to
 * intake's public key with the gateway's own sealing (lib/secret.h
 * secret_sender_seal: a sealed box whose shared key is precomputed per
 * ephemeral key pair, which intake opens with secret_unseal) and produces
 * it onto TOPIC through lib/kafka's producer (idempotent, acks=all, the
 * gateway's linger.ms=1), keyed by a new UUIDv7, with ce_* headers of type
 * signpost.bench.sealed.v1 (which the gateway's replica skips). It answers
 * 202 only after the broker's delivery report (503 when it failed), with
 * the connection suspended meanwhile so no server thread waits. No
 * validation, routing, limits or database.
 *
 *   sealproduce PORT THREADS BROKERS INTAKE_PK [TOPIC]
 *       (TOPIC default referral.submissions; as the broker user of
 *       SIGNPOST_KAFKA_TLS_DIR when set; runs until SIGTERM or SIGINT)
 */
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event.h"
#include "kafka.h"
#include "log.h"
#include "secret.h"
#include "uuid.h"

static volatile sig_atomic_t stop;
static atomic_bool poll_stop;
static struct kafka_producer *prod;
static struct secret_sender *to_intake;
static const char *topic = "referral.submissions";

enum state { READING, PRODUCED, SUSPENDING, SUSPENDED, DONE };

/* One per request; the report holds a reference while it is out. */
struct req {
        pthread_mutex_t mu;
        int refs;
        enum state st;
        struct MHD_Connection *conn;
        char *body;
        size_t len, cap;
        int ok;
        char id[UUID_STR_LEN];
};

static void
on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

static void
req_release(struct req *r)
{
        int left;

        pthread_mutex_lock(&r->mu);
        left = --r->refs;
        pthread_mutex_unlock(&r->mu);
        if (left == 0) {
                pthread_mutex_destroy(&r->mu);
                free(r->body);
                free(r);
        }
}

/* on_report: the broker's answer, on the poller thread; wakes the
 * connection if it already sleeps (else the handler sees DONE). */
static void
on_report(void *opaque, enum kafka_delivery d, const char *reason)
{
        struct req *r = opaque;
        bool wake;

        (void)reason;
        pthread_mutex_lock(&r->mu);
        r->ok = d == KAFKA_DELIVERED;
        wake = r->st == SUSPENDED;
        r->st = DONE;
        pthread_mutex_unlock(&r->mu);
        if (wake)
                MHD_resume_connection(r->conn);
        req_release(r);
}

static void *
poll_main(void *arg)
{
        (void)arg;
        while (!atomic_load(&poll_stop))
                kafka_producer_poll(prod, 100);
        return NULL;
}

/* seal_send: seals and produces the body; 0 when the report will come. */
static int
seal_send(struct req *r)
{
        struct err e = {0};
        struct event ev;
        unsigned char *box = NULL;
        size_t boxlen = 0;
        struct kafka_out m = {0};
        int rc;

        if (secret_sender_seal(to_intake, (unsigned char *)r->body, r->len,
                               &box, &boxlen, &e) < 0)
                return -1;
        uuid_v7(r->id);
        event_init(&ev, "/signpost/bench", "signpost.bench.sealed.v1", r->id);
        m.topic = topic;
        m.key = r->id;
        m.key_len = strlen(r->id);
        m.value = box;
        m.value_len = boxlen;
        m.ev = &ev;
        m.on_delivery = on_report;
        m.opaque = r;
        pthread_mutex_lock(&r->mu);
        r->refs++; /* the report's */
        pthread_mutex_unlock(&r->mu);
        if ((rc = kafka_produce(prod, &m, &e)) < 0)
                req_release(r); /* no report will come */
        free(box);
        return rc;
}

static enum MHD_Result
reply(struct MHD_Connection *c, struct req *r)
{
        char body[64];
        int n = r->ok ? snprintf(body, sizeof(body), "{\"id\":\"%s\"}", r->id)
                      : snprintf(body, sizeof(body), "{\"error\":\"kafka\"}");
        struct MHD_Response *resp = MHD_create_response_from_buffer(
            (size_t)n, body, MHD_RESPMEM_MUST_COPY);
        enum MHD_Result rc;

        MHD_add_response_header(resp, "Content-Type", "application/json");
        rc = MHD_queue_response(c, r->ok ? 202 : 503, resp);
        MHD_destroy_response(resp);
        return rc;
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
       const char *version, const char *data, size_t *data_size, void **state)
{
        struct req *r = *state;
        bool ready;

        (void)cls, (void)url, (void)method, (void)version;
        if (r == NULL) { /* first call: headers only */
                if ((r = calloc(1, sizeof(*r))) == NULL)
                        return MHD_NO;
                pthread_mutex_init(&r->mu, NULL);
                r->refs = 1; /* the connection's */
                r->conn = c;
                *state = r;
                return MHD_YES;
        }
        if (*data_size != 0) { /* a piece of the body */
                if (r->len + *data_size > r->cap) {
                        size_t cap = (r->len + *data_size) * 2;
                        char *b = realloc(r->body, cap);

                        if (b == NULL)
                                return MHD_NO;
                        r->body = b;
                        r->cap = cap;
                }
                memcpy(r->body + r->len, data, *data_size);
                r->len += *data_size;
                *data_size = 0;
                return MHD_YES;
        }
        pthread_mutex_lock(&r->mu);
        if (r->st == READING) { /* the whole body is here */
                r->st = PRODUCED;
                pthread_mutex_unlock(&r->mu);
                if (seal_send(r) < 0) {
                        r->ok = 0;
                        return reply(c, r);
                }
                pthread_mutex_lock(&r->mu);
        }
        if (r->st == DONE) {
                pthread_mutex_unlock(&r->mu);
                return reply(c, r);
        }
        if (r->st != PRODUCED) { /* woken early: wait on */
                pthread_mutex_unlock(&r->mu);
                return MHD_YES;
        }
        /* the report may come while the connection is being suspended: it
         * then leaves DONE without waking, and the wake is made here */
        r->st = SUSPENDING;
        pthread_mutex_unlock(&r->mu);
        MHD_suspend_connection(c);
        pthread_mutex_lock(&r->mu);
        ready = r->st == DONE;
        if (!ready)
                r->st = SUSPENDED;
        pthread_mutex_unlock(&r->mu);
        if (ready)
                MHD_resume_connection(c);
        return MHD_YES;
}

static void
completed(void *cls, struct MHD_Connection *c, void **state,
          enum MHD_RequestTerminationCode toe)
{
        (void)cls, (void)c, (void)toe;
        if (*state != NULL)
                req_release(*state);
        *state = NULL;
}

int
main(int argc, char **argv)
{
        unsigned char pk[SECRET_BOX_PK_BYTES];
        const char *const conf[] = {"linger.ms", "1", NULL};
        struct MHD_Daemon *d;
        struct err e = {0};
        pthread_t poller;

        if (argc < 5) {
                fprintf(stderr, "usage: sealproduce PORT THREADS BROKERS "
                                "INTAKE_PK [TOPIC]\n");
                return 2;
        }
        if (argc > 5)
                topic = argv[5];
        log_init("sealproduce", LOG_WARN);
        if (secret_pk_load(argv[4], pk, &e) < 0 ||
            secret_sender_new(pk, 0, &to_intake, &e) < 0 ||
            (prod = kafka_producer_new(argv[3], conf, &e)) == NULL) {
                fprintf(stderr, "sealproduce: %s\n", e.msg);
                return 1;
        }
        pthread_create(&poller, NULL, poll_main, NULL);
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        d = MHD_start_daemon(
            MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC |
                MHD_ALLOW_SUSPEND_RESUME,
            (uint16_t)atoi(argv[1]), NULL, NULL, answer, NULL,
            MHD_OPTION_THREAD_POOL_SIZE, (unsigned)atoi(argv[2]),
            MHD_OPTION_NOTIFY_COMPLETED, completed, NULL, MHD_OPTION_END);
        if (d == NULL) {
                fprintf(stderr, "sealproduce: cannot listen\n");
                return 1;
        }
        while (!stop)
                usleep(100 * 1000);
        /* the reports still out wake their connections before MHD stops */
        kafka_producer_flush(prod, 5000);
        MHD_stop_daemon(d);
        atomic_store(&poll_stop, true);
        pthread_join(poller, NULL);
        kafka_producer_free(prod);
        secret_sender_free(to_intake);
        return 0;
}
