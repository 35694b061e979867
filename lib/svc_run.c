/*
 * svc_run: the daemon skeleton (see svc_run.h). Owns the settings every
 * daemon shares, the start and stop order and the wait loop; the
 * daemon's state, settings and threads belong to its hooks.
 */
#include "svc_run.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "log.h"
#include "outbox.h"
#include "secret.h"
#include "svc.h"

#define TABLE_MAX 96

/* The shared entries. Names and texts that depend on the daemon's name
 * are filled in by table_build (listen, migrations). */
static const struct cfg_entry shared[] = {
    {"SIGNPOST_DB", CFG_STR, NULL, true,
     "PostgreSQL conninfo of the daemon's own role"},
    {"SIGNPOST_DB_MIGRATE", CFG_STR, NULL, false,
     "conninfo of the schema's owner role: applies the migrations and "
     "grants SIGNPOST_DB's role its rights (unset: they must already be "
     "applied, e.g. by -m)"},
    {"SIGNPOST_KAFKA", CFG_STR, NULL, true, "Kafka bootstrap servers"},
    {"SIGNPOST_KAFKA_TLS_DIR", CFG_PATH, NULL, false,
     "the broker user's certificate: user.crt, user.key, ca.crt (unset: "
     "plaintext)"},
    {"SIGNPOST_KAFKA_FETCH_WAIT_MS", CFG_INT, NULL, false,
     "how long an empty fetch waits at the broker (unset: librdkafka's "
     "500)"},
    {KAFKA_ENV_PREFIX, CFG_PREFIX, NULL, false,
     "librdkafka properties: SIGNPOST_RDKAFKA_SSL_CA_LOCATION sets "
     "ssl.ca.location (lower-cased, _ -> .)"},
    {"", CFG_STR, NULL, false, "HTTP listen address"}, /* _LISTEN */
    {"SIGNPOST_PRINCIPAL_KEY_FILE", CFG_PATH, NULL, true,
     "32-byte MAC key for X-Signpost-Principal"},
    {"SIGNPOST_SECRETS_DIR", CFG_PATH, ".run/secrets", false,
     "directory of the platform's key files"},
    {"SIGNPOST_MIGRATIONS_DIR", CFG_PATH, NULL, false, NULL},
    {"SIGNPOST_LOG_LEVEL", CFG_STR, "info", false, "log level"},
};
#define NSHARED (sizeof(shared) / sizeof(shared[0]))

/* The table svc_run reads: one per process, so static (cfg borrows it). */
static struct cfg_entry table[TABLE_MAX];
static char listen_name[64], migrations_dir[128], migrations_help[64];

/* table_build: shared then d's own entries; an own entry named like a
 * shared one takes its place. -1 when they do not fit (a bug). */
static int
table_build(const struct svc_desc *d)
{
        size_t n = NSHARED, i, j;

        memcpy(table, shared, sizeof(shared));
        snprintf(listen_name, sizeof(listen_name), "SIGNPOST_%s_LISTEN",
                 d->name);
        for (char *c = listen_name; *c; c++)
                *c = (char)toupper((unsigned char)*c);
        snprintf(migrations_dir, sizeof(migrations_dir),
                 "services/%s/migrations", d->name);
        snprintf(migrations_help, sizeof(migrations_help), "%s migrations",
                 d->name);
        for (j = 0; j < NSHARED; j++) {
                if (table[j].name[0] == '\0') {
                        table[j].name = listen_name;
                        table[j].def = d->listen;
                } else if (strcmp(table[j].name, "SIGNPOST_MIGRATIONS_DIR") ==
                           0) {
                        table[j].def = migrations_dir;
                        table[j].help = migrations_help;
                }
        }
        for (i = 0; d->cfg != NULL && d->cfg[i].name != NULL; i++) {
                for (j = 0; j < NSHARED; j++)
                        if (strcmp(table[j].name, d->cfg[i].name) == 0)
                                break;
                if (j == NSHARED && n + 1 >= TABLE_MAX)
                        return -1;
                table[j < NSHARED ? j : n++] = d->cfg[i];
        }
        table[n] = (struct cfg_entry){NULL, 0, NULL, false, NULL};
        return 0;
}

static struct kafka_env kenv;

static void
kenv_fill(const struct cfg *cfg)
{
        kenv = (struct kafka_env){
            .tls_dir = cfg_str(cfg, "SIGNPOST_KAFKA_TLS_DIR"),
            .fetch_wait_ms = cfg_str(cfg, "SIGNPOST_KAFKA_FETCH_WAIT_MS"),
            .props = cfg_list(cfg, KAFKA_ENV_PREFIX)};
}

/* check: what -n checks beyond the table's types. */
static int
check(const struct cfg *cfg, struct err *e)
{
        kenv_fill(cfg);
        return kafka_env_check(&kenv, e);
}

/* The steps reached, so stop undoes exactly those. */
struct run {
        const struct svc_desc *d;
        struct svc_run r;
        struct secret_key *principal;
        struct outbox_relay *relay;
        struct svc_consumers *cons;
        void *workers[SVC_WORKERS_MAX];
        struct http_server *srv;
};

static int
start(struct run *s, struct err *e)
{
        const struct svc_desc *d = s->d;
        const struct cfg *cfg = s->r.cfg;
        const char *db = cfg_str(cfg, "SIGNPOST_DB");

        if (svc_signals_install() < 0)
                return err_set(e, ERR_FATAL, NULL, "cannot install signals");
        if (secret_key_load(cfg_str(cfg, "SIGNPOST_PRINCIPAL_KEY_FILE"),
                            HTTP_PRINCIPAL_KEY_BYTES, NULL, &s->principal,
                            e) < 0)
                return -1;
        s->r.principal_key = s->r.http.principal_key = s->principal->bytes;
        if ((d->init != NULL && d->init(d->ctx, &s->r, e) < 0) ||
            svc_migrate_cfg(cfg, d->schema, e) < 0)
                return -1;
        if (d->outbox &&
            (s->relay = outbox_relay_start(
                 db, d->schema, cfg_str(cfg, "SIGNPOST_KAFKA"), e)) == NULL)
                return -1;
        if (d->pool != NULL) {
                if (db_pool_init(d->pool, db, (int)cfg_int(cfg, d->pool_size),
                                 e) < 0)
                        return -1;
                s->r.http.threads = (unsigned)d->pool->n;
        }
        if (d->start != NULL && d->start(d->ctx, &s->r, e) < 0)
                return -1;
        if (d->consumer.group != NULL &&
            (s->cons = svc_consumers_start(&s->r.consumer, e)) == NULL)
                return -1;
        for (int i = 0; i < SVC_WORKERS_MAX && d->workers[i].start; i++)
                if ((s->workers[i] = d->workers[i].start(d->ctx, cfg, e)) ==
                    NULL)
                        return -1;
        s->srv = http_server_start(cfg_str(cfg, listen_name), d->routes, d->ctx,
                                   &s->r.http, e);
        return s->srv != NULL ? 0 : -1;
}

/* stop: the reverse of start, from wherever it got to; rc is what the
 * run came to, made 1 by a consumer that failed. */
static int
stop(struct run *s, int rc)
{
        const struct svc_desc *d = s->d;

        svc_request_stop();
        http_server_stop(s->srv);
        for (int i = SVC_WORKERS_MAX - 1; i >= 0; i--)
                if (s->workers[i] != NULL)
                        d->workers[i].stop(s->workers[i]);
        if (svc_consumers_join(s->cons) < 0)
                rc = 1;
        outbox_relay_stop(s->relay);
        if (d->pool != NULL)
                db_pool_fini(d->pool); /* a zeroed pool is fine */
        if (d->fini != NULL)
                d->fini(d->ctx);
        secret_key_free(s->principal);
        return rc;
}

int
svc_run(const struct svc_desc *d, int argc, char **argv)
{
        struct run s = {.d = d, .r.consumer = d->consumer};
        struct cfg *cfg = NULL;
        enum log_level lvl = LOG_INFO;
        struct err e = {0};
        int rc;

        if (table_build(d) < 0) {
                fprintf(stderr, "%s: too many settings (programming error)\n",
                        d->name);
                return 1;
        }
        rc = cfg_main_check(argc, argv, table, check, &cfg);
        if (rc == CFG_MAIN_MIGRATE)
                return svc_migrate_main(cfg, d->schema);
        if (rc != CFG_MAIN_RUN)
                return rc;
        log_level_parse(cfg_str(cfg, "SIGNPOST_LOG_LEVEL"), &lvl);
        log_init(d->name, lvl);
        kafka_env_set(&kenv); /* check() filled it from cfg */
        s.r.cfg = cfg;
        s.r.consumer.conninfo = cfg_str(cfg, "SIGNPOST_DB");
        s.r.consumer.brokers = cfg_str(cfg, "SIGNPOST_KAFKA");
        rc = 1;
        if (start(&s, &e) == 0) {
                log_info("started", "listen=%s", cfg_str(cfg, listen_name));
                while (!svc_stopping())
                        usleep(100 * 1000);
                rc = 0;
        } else {
                log_err(LOG_ERROR, "stopping", &e, NULL);
        }
        rc = stop(&s, rc);
        kafka_env_set(NULL);
        cfg_free(cfg);
        log_info("stopped", "rc=%d", rc);
        return rc;
}
