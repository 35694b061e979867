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
#include <string.h>

#include <libpq-fe.h>

#include "cfg.h"
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

/* user_of: the user a conninfo names (new string), or NULL. */
static char *
user_of(const char *conninfo)
{
        PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
        char *user = NULL;

        for (PQconninfoOption *o = opts; o != NULL && o->keyword != NULL; o++)
                if (strcmp(o->keyword, "user") == 0 && o->val != NULL &&
                    o->val[0] != '\0')
                        user = strdup(o->val);
        PQconninfoFree(opts);
        return user;
}

int
svc_migrate(const char *runtime, const char *owner, const char *schema,
            const char *dir, struct err *e)
{
        struct db *db = db_open(owner != NULL ? owner : runtime);
        char *role = owner != NULL ? user_of(runtime) : NULL;
        int rc = -1;

        if (db == NULL) {
                free(role);
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        }
        if (db_ensure(db, 30000, e) != 0)
                goto out;
        if (owner == NULL) {
                if (db_migrations_applied(db, schema, dir))
                        rc = 0;
                else
                        err_set(e, ERR_FATAL, "SIGNPOST_DB_MIGRATE",
                                "schema %s has migrations not applied: give "
                                "the schema owner's conninfo in "
                                "SIGNPOST_DB_MIGRATE (or run once with -m)",
                                schema);
                goto out;
        }
        if (role == NULL) {
                err_set(e, ERR_FATAL, "SIGNPOST_DB",
                        "names no user: the daemon's role is granted its "
                        "rights by name");
        } else if (strcmp(role, PQuser(db_conn(db))) == 0) {
                err_set(e, ERR_FATAL, "SIGNPOST_DB",
                        "is the schema owner %s: the daemon runs as a role "
                        "with only the rights it needs",
                        role);
        } else if (db_migrate(db, schema, dir, e) == 0 &&
                   db_migrate_grant(db, schema, role, dir, e) == 0) {
                rc = 0;
        }
out:
        free(role);
        db_free(db);
        return rc;
}

int
svc_migrate_cfg(const struct cfg *cfg, const char *schema, struct err *e)
{
        return svc_migrate(cfg_str(cfg, "SIGNPOST_DB"),
                           cfg_str(cfg, "SIGNPOST_DB_MIGRATE"), schema,
                           cfg_str(cfg, "SIGNPOST_MIGRATIONS_DIR"), e);
}

int
svc_migrate_main(struct cfg *cfg, const char *schema)
{
        struct err e = {0};
        int rc = 1;

        if (cfg_str(cfg, "SIGNPOST_DB_MIGRATE") == NULL)
                err_set(&e, ERR_INVALID, "SIGNPOST_DB_MIGRATE",
                        "-m needs the schema owner's conninfo");
        else if (svc_migrate_cfg(cfg, schema, &e) == 0)
                rc = 0;
        if (rc == 0)
                log_info("migrated", "schema=%s", schema);
        else
                log_err(LOG_ERROR, "migration failed", &e, "schema=%s", schema);
        cfg_free(cfg);
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
                log_err(LOG_ERROR, "consumer start failed", &e, "group=%s",
                        s->group);
                goto out;
        }
        if (atomic_fetch_add(&w->all->joined, 1) + 1 == w->all->n)
                svc_ready_set("consumer", true);
        if (s->thread_start != NULL)
                s->thread_start(s->arg, db);
        w->rc = kafka_consumer_run(kc, inbox_handle_batch, &in, s->batch,
                                   svc_stop_flag(), &e);
        if (w->rc < 0)
                log_err(LOG_ERROR, "consumer stopped", &e, "group=%s",
                        s->group);
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
