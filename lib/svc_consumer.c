/*
 * svc_consumer: migrations at start-up and the consumer threads of a
 * daemon (see svc_consumer.h). Owns the threads, their database
 * connections and Kafka consumers; the records' effects belong to the
 * daemon's apply function.
 */
#include "svc_consumer.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "kafka.h"
#include "log.h"
#include "svc.h"

struct worker {
        const struct svc_consumer_spec *spec;
        struct svc_consumers *all;
        pthread_t thread;
        bool started;
        int rc;
};

struct svc_consumers {
        atomic_int joined; /* threads subscribed so far */
        int n;
        struct worker w[];
};

int
svc_migrate(const char *conninfo, const char *schema, const char *dir,
            struct err *e)
{
        struct db *db = db_open(conninfo);
        int rc = -1;

        if (db == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        if (db_ensure(db, 30000, e) == 0 && db_migrate(db, schema, dir, e) == 0)
                rc = 0;
        db_free(db);
        return rc;
}

static void *
consume(void *arg)
{
        struct worker *w = arg;
        const struct svc_consumer_spec *s = w->spec;
        struct db *db = db_open(s->conninfo);
        struct inbox in = {.db = db,
                           .consumer = s->group,
                           .apply = s->apply,
                           .arg = s->arg,
                           .flush = s->flush,
                           .begin = s->begin};
        struct kafka_consumer *kc = NULL;
        struct err e = {0};

        w->rc = -1;
        if (db != NULL && s->schema != NULL)
                db_set_schema(db, s->schema);
        if (db != NULL)
                db_set_prepare(db, s->prepare);
        kc = kafka_consumer_new(s->brokers, s->group, s->topics, NULL, &e);
        if (db == NULL || kc == NULL) {
                log_error("consumer start failed", "group=%s why=\"%s\"",
                          s->group, e.msg);
                goto out;
        }
        if (atomic_fetch_add(&w->all->joined, 1) + 1 == w->all->n)
                svc_ready_set("consumer", true);
        if (s->thread_start != NULL)
                s->thread_start(s->arg, db);
        w->rc = kafka_consumer_run(kc, inbox_handle_batch, &in, s->batch,
                                   svc_stop_flag(), &e);
        if (w->rc < 0)
                log_error("consumer stopped", "group=%s why=\"%s\"", s->group,
                          e.msg);
        if (s->thread_end != NULL)
                s->thread_end(s->arg);
out:
        kafka_consumer_free(kc);
        db_free(db);
        if (w->rc < 0)
                svc_request_stop();
        return NULL;
}

struct svc_consumers *
svc_consumers_start(const struct svc_consumer_spec *spec, struct err *e)
{
        int n = spec->threads > 0 ? spec->threads : 1;
        struct svc_consumers *c =
            calloc(1, sizeof(*c) + (size_t)n * sizeof(struct worker));

        if (c == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                return NULL;
        }
        c->n = n;
        svc_ready_set("consumer", false);
        for (int i = 0; i < n; i++) {
                c->w[i].spec = spec;
                c->w[i].all = c;
                if (pthread_create(&c->w[i].thread, NULL, consume, &c->w[i]) !=
                    0) {
                        err_set(e, ERR_FATAL, NULL,
                                "cannot start consumer thread");
                        svc_request_stop();
                        svc_consumers_join(c);
                        return NULL;
                }
                c->w[i].started = true;
        }
        return c;
}

int
svc_consumers_join(struct svc_consumers *c)
{
        int rc = 0;

        if (c == NULL)
                return 0;
        for (int i = 0; i < c->n; i++) {
                if (!c->w[i].started)
                        continue;
                pthread_join(c->w[i].thread, NULL);
                if (c->w[i].rc < 0)
                        rc = -1;
        }
        free(c);
        return rc;
}
