/*
 * outbox: writing events in the caller's transaction, and the relay thread
 * that publishes them to Kafka. Owns the outbox table's rows; does not own
 * the table's definition (db_migrate.c) nor the producer's internals.
 */
#include "outbox.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"

#define RELAY_BATCH 2000 /* rows a select takes (its LIMIT) */
#define STR_(x) #x
#define STR(x) STR_(x)
#define RELAY_FLUSH_MS 30000
#define RELAY_DEPTH 4 /* batches awaiting their reports at once */

/* The relay's producer gives up on a message well before the relay stops
 * waiting for its report, so no report can arrive for a batch that is
 * gone; the row stays and is published again. */
static const char *const relay_conf[] = {"message.timeout.ms", "20000", NULL};

int
outbox_add(struct db *db, const char *topic, const char *key,
           const struct event *ev, const void *value, size_t value_len,
           struct err *e)
{
        const char *p[8] = {ev->id,
                            topic,
                            key,
                            ev->type,
                            ev->source,
                            ev->time,
                            ev->subject[0] ? ev->subject : NULL,
                            value};
        int len[8] = {0, 0, 0, 0, 0, 0, 0, (int)value_len};
        int fmt[8] = {0, 0, 0, 0, 0, 0, 0, 1};
        PGresult *r;

        r = db_query_bin(db,
                         "INSERT INTO outbox (ce_id, topic, key, ce_type,"
                         " ce_source, ce_time, ce_subject, value)"
                         " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                         8, p, len, fmt, e);
        if (r == NULL)
                return -1;
        PQclear(r);
        return 0;
}

#define OID_BYTEA 17
#define OID_TEXT 25
#define OUTBOX_COLS 8

/* item_col: column c of an item (order of the INSERT below); NULL for SQL
 * NULL. */
static const char *
item_col(const struct outbox_item *it, int c, size_t *len)
{
        const char *v = NULL;

        switch (c) {
        case 0:
                v = it->ev->id;
                break;
        case 1:
                v = it->topic;
                break;
        case 2:
                v = it->key;
                break;
        case 3:
                v = it->ev->type;
                break;
        case 4:
                v = it->ev->source;
                break;
        case 5:
                v = it->ev->time;
                break;
        case 6:
                v = it->ev->subject[0] ? it->ev->subject : NULL;
                break;
        default:
                *len = it->value_len;
                return it->value;
        }
        *len = v != NULL ? strlen(v) : 0;
        return v;
}

static void
put_be32(unsigned char *p, uint32_t v)
{
        p[0] = (unsigned char)(v >> 24);
        p[1] = (unsigned char)(v >> 16);
        p[2] = (unsigned char)(v >> 8);
        p[3] = (unsigned char)v;
}

/* bin_array: returns new one-dimensional array of column c in PostgreSQL's
 * binary format (elements of type oid), its size in *size; NULL when out
 * of memory or too large. */
static unsigned char *
bin_array(const struct outbox_item *items, size_t n, int c, uint32_t oid,
          int *size)
{
        size_t total = 20, len, i, o = 20;
        unsigned char *buf;
        const char *v;

        for (i = 0; i < n; i++) {
                item_col(&items[i], c, &len);
                total += 4 + len;
        }
        if (total > 0x3fffffff || (buf = malloc(total)) == NULL)
                return NULL;
        put_be32(buf, 1);       /* dimensions */
        put_be32(buf + 4, 1);   /* has nulls (allowed) */
        put_be32(buf + 8, oid); /* element type */
        put_be32(buf + 12, (uint32_t)n);
        put_be32(buf + 16, 1); /* lower bound */
        for (i = 0; i < n; i++) {
                v = item_col(&items[i], c, &len);
                put_be32(buf + o, v == NULL ? 0xffffffffu : (uint32_t)len);
                o += 4;
                if (v != NULL && len > 0)
                        memcpy(buf + o, v, len);
                o += v != NULL ? len : 0;
        }
        *size = (int)o;
        return buf;
}

int
outbox_add_many(struct db *db, const struct outbox_item *items, size_t n,
                struct err *e)
{
        unsigned char *arr[OUTBOX_COLS] = {0};
        const char *p[OUTBOX_COLS];
        int len[OUTBOX_COLS], fmt[OUTBOX_COLS], c, rc = -1;
        PGresult *r;

        if (n == 0)
                return 0;
        if (n > INT32_MAX)
                return err_set(e, ERR_FATAL, NULL, "too many outbox items");
        for (c = 0; c < OUTBOX_COLS; c++) {
                arr[c] = bin_array(items, n, c,
                                   c == OUTBOX_COLS - 1 ? OID_BYTEA : OID_TEXT,
                                   &len[c]);
                if (arr[c] == NULL) {
                        err_set(e, ERR_FATAL, NULL, "outbox batch too large");
                        goto out;
                }
                p[c] = (const char *)arr[c];
                fmt[c] = 1;
        }
        r = db_query_bin(
            db,
            "INSERT INTO outbox (ce_id, topic, key, ce_type, ce_source,"
            " ce_time, ce_subject, value) SELECT i::uuid, t, k, y, s, w, j, v"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[],"
            " $5::text[], $6::text[], $7::text[], $8::bytea[])"
            " WITH ORDINALITY AS u(i, t, k, y, s, w, j, v, o) ORDER BY o",
            OUTBOX_COLS, p, len, fmt, e);
        if (r == NULL)
                goto out;
        PQclear(r);
        rc = 0;
out:
        for (c = 0; c < OUTBOX_COLS; c++)
                free(arr[c]);
        return rc;
}

struct outbox_relay {
        char *conninfo;
        char *schema;
        char *brokers;
        pthread_t thread;
        atomic_bool stop;
        atomic_llong backlog;
        atomic_ullong published;
};

/* One published row's delivery outcome. */
struct slot {
        const char *seq;
        int state; /* 0 pending, 1 delivered, -1 failed */
};

static void
on_delivery(void *opaque, enum kafka_delivery d, const char *reason)
{
        struct slot *s = opaque;

        /* not delivered (maybe or not): the row stays and is sent again,
         * with its key and id, which consumers dedupe */
        s->state = d == KAFKA_DELIVERED ? 1 : -1;
        if (d != KAFKA_DELIVERED)
                log_why(LOG_WARN, "outbox delivery failed", reason, "seq=%s",
                        s->seq);
}

/* produce_rows: sends every row of r; fills slots. Returns rows handed to
 * the producer (a queue-full stops early). */
static int
produce_rows(struct kafka_producer *p, PGresult *r, struct slot *slots)
{
        int n = PQntuples(r), i;

        for (i = 0; i < n; i++) {
                struct event ev = {0};
                struct kafka_out m = {0};
                int rc;

                snprintf(ev.id, sizeof(ev.id), "%s", PQgetvalue(r, i, 1));
                snprintf(ev.type, sizeof(ev.type), "%s", PQgetvalue(r, i, 4));
                snprintf(ev.source, sizeof(ev.source), "%s",
                         PQgetvalue(r, i, 5));
                snprintf(ev.time, sizeof(ev.time), "%s", PQgetvalue(r, i, 6));
                snprintf(ev.subject, sizeof(ev.subject), "%s",
                         PQgetvalue(r, i, 7));
                slots[i].seq = PQgetvalue(r, i, 0);
                slots[i].state = 0;
                m.topic = PQgetvalue(r, i, 2);
                m.key = PQgetvalue(r, i, 3);
                m.key_len = strlen(m.key);
                /* the result is binary: value is the bytes themselves */
                m.value = PQgetisnull(r, i, 8) ? NULL : PQgetvalue(r, i, 8);
                m.value_len = (size_t)PQgetlength(r, i, 8);
                m.ev = &ev;
                m.on_delivery = on_delivery;
                m.opaque = &slots[i];
                rc = kafka_produce(p, &m, NULL);
                if (rc != 0) {
                        kafka_producer_poll(p, 100);
                        return i;
                }
        }
        return n;
}

/* A batch: rows selected together, handed to the producer, and deleted
 * once their delivery reports are in. */
struct batch {
        PGresult *r; /* the rows; the slots borrow their seq */
        struct slot *slots;
        int n, sent;
        int reported;    /* slots before this one have their reports */
        int64_t started; /* clock_ms() when handed to the producer */
};

/* seq_array: "{seq,...}" of the rows of bs[0..nb), every row or only the
 * delivered ones; NULL when out of memory. */
static char *
seq_array(const struct batch *bs, int nb, bool delivered_only)
{
        size_t cap = 3, o = 0;
        char *arr;

        for (int k = 0; k < nb; k++)
                cap += (size_t)bs[k].n * 21;
        if ((arr = malloc(cap)) == NULL)
                return NULL;
        arr[o++] = '{';
        for (int k = 0; k < nb; k++) {
                const struct batch *b = &bs[k];

                for (int i = 0; i < b->n; i++) {
                        if (delivered_only &&
                            (i >= b->sent || b->slots[i].state != 1))
                                continue;
                        o += (size_t)snprintf(arr + o, cap - o, "%s%s",
                                              o > 1 ? "," : "",
                                              PQgetvalue(b->r, i, 0));
                }
        }
        arr[o++] = '}';
        arr[o] = '\0';
        return arr;
}

/* batch_start: selects up to RELAY_BATCH rows, leaving out those of the
 * nf batches in flying (published, not yet deleted), and hands them to
 * the producer. Returns the rows selected (0: none, b left empty) or -1
 * (e filled). */
static int
batch_start(struct db *db, struct kafka_producer *p, const struct batch *flying,
            int nf, struct batch *b, struct err *e)
{
        /* ORDER BY outbox.seq: a bare "seq" would name the text column
         * of the select list and sort 1000000 before 999999. */
        static const char sel[] =
            "SELECT seq::text, ce_id::text, topic, key, ce_type, ce_source,"
            " ce_time, coalesce(ce_subject, ''), value FROM outbox"
            " WHERE seq <> ALL ($1::bigint[]) ORDER BY outbox.seq"
            " LIMIT " STR(RELAY_BATCH);
        char *skip = nf > 0 ? seq_array(flying, nf, false) : NULL;
        const char *prm[1] = {skip != NULL ? skip : "{}"};

        memset(b, 0, sizeof(*b));
        if (nf > 0 && skip == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        b->r = db_query_raw(db, sel, 1, prm, e);
        free(skip);
        if (b->r == NULL)
                return -1;
        if ((b->n = PQntuples(b->r)) == 0 ||
            (b->slots = calloc((size_t)b->n, sizeof(*b->slots))) == NULL) {
                PQclear(b->r);
                b->r = NULL;
                return b->n == 0 ? 0
                                 : err_set(e, ERR_FATAL, NULL, "out of memory");
        }
        b->started = clock_ms();
        b->sent = produce_rows(p, b->r, b->slots);
        kafka_producer_flush(p, 0);
        return b->n;
}

/* batch_reported: every delivery report of b is in, or it has waited
 * RELAY_FLUSH_MS (its producer gave up on any message before that). */
static bool
batch_reported(struct batch *b, int64_t now)
{
        /* reports come mostly in order: look on from the first missing */
        while (b->reported < b->sent && b->slots[b->reported].state != 0)
                b->reported++;
        return b->reported == b->sent || now - b->started >= RELAY_FLUSH_MS;
}

/* batch_finish: deletes the rows of b delivered and frees it (always: a
 * row not deleted is published again later). Returns the rows deleted, or
 * -1 when some were not delivered or the delete failed (e filled). */
static int
batch_finish(struct outbox_relay *rl, struct db *db, struct batch *b,
             struct err *e)
{
        int done = -1, delivered = 0;
        char *arr;

        for (int i = 0; i < b->sent; i++)
                delivered += b->slots[i].state == 1;
        if ((arr = seq_array(b, 1, true)) == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
        } else {
                const char *prm[1] = {arr};
                long n = 0;

                if (delivered == 0 ||
                    db_exec(db,
                            "DELETE FROM outbox WHERE seq = ANY($1::bigint[])",
                            1, prm, &n, e) == 0)
                        done = (int)n;
                free(arr);
        }
        if (done > 0) {
                atomic_fetch_add(&rl->published, (unsigned long long)done);
                metrics_counter_add(
                    metrics_counter_register(
                        "signpost_outbox_published_total",
                        "Outbox rows published and acknowledged", "schema",
                        rl->schema, METRICS_END),
                    (uint64_t)done);
        }
        if (done >= 0 && delivered < b->n) {
                err_set(e, ERR_TRANSIENT, NULL,
                        "%d of %d outbox rows not delivered", b->n - delivered,
                        b->n);
                done = -1;
        }
        free(b->slots);
        PQclear(b->r);
        memset(b, 0, sizeof(*b));
        return done;
}

/* finish_reported: finishes every batch of fl[0..*nf) whose reports are
 * in, keeping the rest in order. Returns 0, or -1 when a finish failed (e
 * filled; the batch is gone all the same). */
static int
finish_reported(struct outbox_relay *rl, struct db *db, struct batch *fl,
                int *nf, struct err *e)
{
        int64_t now = clock_ms();
        int rc = 0, k = 0;

        for (int i = 0; i < *nf; i++) {
                if (!batch_reported(&fl[i], now)) {
                        fl[k++] = fl[i];
                        continue;
                }
                if (batch_finish(rl, db, &fl[i], e) < 0)
                        rc = -1;
        }
        for (int i = k; i < *nf; i++)
                memset(&fl[i], 0, sizeof(fl[i]));
        *nf = k;
        return rc;
}

/* become_leader: one relay per schema publishes; others wait. */
static bool
become_leader(struct db *db, const char *schema)
{
        const char *p[1] = {schema};
        PGresult *r = db_query(db,
                               "SELECT pg_try_advisory_lock("
                               "hashtext('outbox:' || $1))",
                               1, p, NULL);
        bool yes = r != NULL && PQgetvalue(r, 0, 0)[0] == 't';

        PQclear(r);
        return yes;
}

static void
update_backlog(struct outbox_relay *rl, struct db *db)
{
        PGresult *r =
            db_query(db, "SELECT count(*) FROM outbox", 0, NULL, NULL);

        if (r != NULL) {
                atomic_store(&rl->backlog, atoll(PQgetvalue(r, 0, 0)));
                metrics_gauge_set(metrics_gauge_register(
                                      "signpost_outbox_backlog",
                                      "Outbox rows waiting to be published",
                                      "schema", rl->schema, METRICS_END),
                                  (double)atomic_load(&rl->backlog));
        }
        PQclear(r);
}

/* relay_wait: until there may be rows to select, or reports to act on.
 * With nothing in flight it waits up to a second for a notification; with
 * batches in flight, up to a millisecond for their reports, then looks for
 * a notification without waiting. Returns 1 when rows may wait, 0 when
 * not yet, -1 when the connection is lost (e filled). */
static int
relay_wait(struct db *db, struct kafka_producer *p, int nf, struct err *e)
{
        int w;

        if (nf == 0)
                return db_wait_notify(db, 1000, e) < 0 ? -1 : 1;
        kafka_producer_poll(p, 1);
        w = db_wait_notify(db, 0, e);
        return w < 0 ? -1 : w > 0;
}

/* relay_session: one connection's life: connect, lead, publish until the
 * connection fails or stop. */
static void
relay_session(struct outbox_relay *rl, struct db *db, struct kafka_producer *p)
{
        char chan[96];
        struct err e = {0};
        struct batch fl[RELAY_DEPTH] = {0};
        int n, nf = 0, more = 1;
        int64_t counted = 0;

        snprintf(chan, sizeof(chan), "outbox_%s", rl->schema);
        if (db_ensure(db, 0, &e) != 0 || db_listen(db, chan, &e) != 0)
                return;
        while (!atomic_load(&rl->stop) && !become_leader(db, rl->schema)) {
                if (!db_connected(db))
                        return;
                clock_sleep_ms(1000);
        }
        log_info("outbox relay leading", "schema=%s", rl->schema);
        /* Pipelined: up to RELAY_DEPTH batches await their reports while
         * the relay selects and produces what commits meanwhile, so a row
         * does not wait out another batch's round trip to the broker. */
        while (!atomic_load(&rl->stop)) {
                n = 0;
                if (more && nf < RELAY_DEPTH) {
                        n = batch_start(db, p, fl, nf, &fl[nf], &e);
                        if (n > 0)
                                nf++;
                        more = n == RELAY_BATCH;
                }
                kafka_producer_poll(p, 0);
                if (n < 0 || finish_reported(rl, db, fl, &nf, &e) < 0) {
                        log_err(LOG_WARN, "outbox relay retrying", &e,
                                "schema=%s", rl->schema);
                        if (!db_connected(db))
                                break;
                        clock_sleep_ms(500);
                        more = 1;
                        continue;
                }
                /* the backlog gauge is counted at most once a second: a
                 * count over the queue costs more than a batch */
                if (clock_ms() - counted >= 1000) {
                        update_backlog(rl, db);
                        counted = clock_ms();
                }
                /* nothing to select, or no room: wait */
                if (!more || nf == RELAY_DEPTH) {
                        int w = relay_wait(db, p, nf, &e);

                        if (w < 0)
                                break;
                        more = more || w;
                }
        }
        /* what flies is finished once its reports are in (batch_reported
         * gives up after RELAY_FLUSH_MS) */
        for (;;) {
                finish_reported(rl, db, fl, &nf, &e);
                if (nf == 0)
                        break;
                kafka_producer_poll(p, 10);
        }
}

static void *
relay_main(void *arg)
{
        struct outbox_relay *rl = arg;
        struct err e = {0};
        struct db *db = db_open(rl->conninfo);
        struct kafka_producer *p = NULL;
        int backoff = 100;

        db_set_schema(db, rl->schema);
        /* the relay runs the same few statements all day: each is parsed
         * and planned once per session, not once per batch */
        db_set_prepare(db, true);
        while (!atomic_load(&rl->stop)) {
                if (p == NULL)
                        p = kafka_producer_new(rl->brokers, relay_conf, &e);
                if (p != NULL)
                        relay_session(rl, db, p);
                if (atomic_load(&rl->stop))
                        break;
                log_warnx("outbox relay reconnecting", "schema=%s", rl->schema);
                clock_sleep_ms(backoff);
                backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
        }
        kafka_producer_free(p);
        db_free(db);
        return NULL;
}

struct outbox_relay *
outbox_relay_start(const char *conninfo, const char *schema,
                   const char *brokers, struct err *e)
{
        struct outbox_relay *rl = calloc(1, sizeof(*rl));

        if (rl == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                return NULL;
        }
        rl->conninfo = strdup(conninfo);
        rl->schema = strdup(schema);
        rl->brokers = strdup(brokers);
        atomic_store(&rl->backlog, -1);
        if (pthread_create(&rl->thread, NULL, relay_main, rl) != 0) {
                err_set(e, ERR_FATAL, NULL, "cannot start relay thread");
                free(rl->conninfo);
                free(rl->schema);
                free(rl->brokers);
                free(rl);
                return NULL;
        }
        return rl;
}

void
outbox_relay_stop(struct outbox_relay *rl)
{
        if (rl == NULL)
                return;
        atomic_store(&rl->stop, true);
        pthread_join(rl->thread, NULL);
        free(rl->conninfo);
        free(rl->schema);
        free(rl->brokers);
        free(rl);
}

int64_t
outbox_relay_backlog(const struct outbox_relay *rl)
{
        return atomic_load(&((struct outbox_relay *)rl)->backlog);
}

uint64_t
outbox_relay_published(const struct outbox_relay *rl)
{
        return atomic_load(&((struct outbox_relay *)rl)->published);
}
