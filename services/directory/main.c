/*
 * signpost-directory: the community directory daemon. main() reads the
 * config, migrates schema `directory`, starts the outbox relay, the
 * directory.commands consumer and the HTTP server, waits for SIGTERM and
 * stops them in reverse order. Everything else lives in the files named
 * in directory.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cfg.h"
#include "directory.h"
#include "http.h"
#include "log.h"
#include "outbox.h"
#include "secret.h"
#include "svc.h"
#include "svc_consumer.h"

static const struct cfg_entry directory_cfg[] = {
    {"SIGNPOST_DB", CFG_STR, NULL, true,
     "PostgreSQL conninfo of the daemon's own role"},
    SVC_CFG_DB_MIGRATE,
    {"SIGNPOST_KAFKA", CFG_STR, NULL, true, "Kafka bootstrap servers"},
    {"SIGNPOST_DIRECTORY_LISTEN", CFG_STR, "127.0.0.1:8092", false,
     "HTTP listen address"},
    {"SIGNPOST_PRINCIPAL_KEY_FILE", CFG_PATH, NULL, true,
     "32-byte MAC key for X-Signpost-Principal"},
    {"SIGNPOST_MIGRATIONS_DIR", CFG_PATH, "services/directory/migrations",
     false, "directory migrations"},
    {"SIGNPOST_LOG_LEVEL", CFG_STR, "info", false, "log level"},
    {"SIGNPOST_DIRECTORY_DB_POOL", CFG_INT, "8", false,
     "database connections for HTTP lookups by id and small lists"},
    {"SIGNPOST_DIRECTORY_SEARCH_POOL", CFG_INT, "0", false,
     "searches run at once, the rest queue in order (0: one per core)"},
    {"SIGNPOST_DIRECTORY_MISSING_REF_WAIT_S", CFG_INT, "600", false,
     "seconds a command waits for the entity it refers to"},
    {NULL, 0, NULL, false, NULL},
};

/* backfill: stores the rendered documents of services that have none
 * (after the migration that added them, or a restore); reads serve such
 * services from the tables meanwhile, so a failure only costs speed. */
static void
backfill(void *arg, struct db *db)
{
        struct err e = {0};
        long n = 0;

        (void)arg;
        if (dir_docs_backfill(db, svc_stop_flag(), &n, &e) < 0)
                log_err(LOG_WARN, "service documents backfill failed", &e,
                        NULL);
        else if (n > 0)
                log_info("service documents stored", "services=%ld", n);
}

/* readers: each statement text parsed once per connection of p, still
 * planned with its values. */
static void
readers(struct db_pool *p)
{
        for (int i = 0; i < p->n; i++) {
                db_set_prepare(p->dbs[i], true);
                db_set_custom_plans(p->dbs[i], true);
        }
}

/* search_pool: SIGNPOST_DIRECTORY_SEARCH_POOL, or the cores online. */
static int
search_pool(const struct cfg *cfg)
{
        long n = (long)cfg_int(cfg, "SIGNPOST_DIRECTORY_SEARCH_POOL");

        if (n <= 0)
                n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 && n < 64 ? (int)n : 2;
}

int
main(int argc, char **argv)
{
        struct cfg *cfg = NULL;
        struct secret_key *key = NULL;
        struct outbox_relay *relay = NULL;
        struct http_server *srv = NULL;
        struct dir_pools pools = {0};
        struct svc_consumers *cons = NULL;
        const char *topics[] = {DIR_TOPIC_COMMANDS, NULL};
        struct dir_commands dc = {0};
        struct err e = {0};
        enum log_level lvl = LOG_INFO;
        int rc = cfg_main_check(argc, argv, directory_cfg, &cfg);

        if (rc == CFG_MAIN_MIGRATE)

                return svc_migrate_main(cfg, DIR_SCHEMA);

        if (rc != CFG_MAIN_RUN)
                return rc;
        log_level_parse(cfg_str(cfg, "SIGNPOST_LOG_LEVEL"), &lvl);
        log_init("directory", lvl);
        rc = 1;
        if (svc_signals_install() < 0 ||
            secret_key_load(cfg_str(cfg, "SIGNPOST_PRINCIPAL_KEY_FILE"),
                            HTTP_PRINCIPAL_KEY_BYTES, NULL, &key, &e) < 0 ||
            svc_migrate_cfg(cfg, DIR_SCHEMA, &e) < 0)
                goto out;
        relay = outbox_relay_start(cfg_str(cfg, "SIGNPOST_DB"), DIR_SCHEMA,
                                   cfg_str(cfg, "SIGNPOST_KAFKA"), &e);
        if (relay == NULL ||
            db_pool_init(&pools.reads, cfg_str(cfg, "SIGNPOST_DB"),
                         (int)cfg_int(cfg, "SIGNPOST_DIRECTORY_DB_POOL"),
                         &e) < 0 ||
            db_pool_init(&pools.searches, cfg_str(cfg, "SIGNPOST_DB"),
                         search_pool(cfg), &e) < 0)
                goto out;
        readers(&pools.reads);
        readers(&pools.searches);
        dc.missing_ref_wait_s =
            (int)cfg_int(cfg, "SIGNPOST_DIRECTORY_MISSING_REF_WAIT_S");
        struct svc_consumer_spec spec = {
            .conninfo = cfg_str(cfg, "SIGNPOST_DB"),
            .brokers = cfg_str(cfg, "SIGNPOST_KAFKA"),
            .group = "directory",
            .topics = topics,
            .apply = dir_commands_apply,
            .arg = &dc,
            .batch = 100,
            .threads = 1,
            .thread_start = backfill};
        cons = svc_consumers_start(&spec, &e);
        if (cons == NULL)
                goto out;
        /* a thread per connection that can be lent at once */
        struct http_opts opts = {
            .principal_key = key->bytes,
            .threads = (unsigned)(pools.reads.n + pools.searches.n)};
        srv = http_server_start(cfg_str(cfg, "SIGNPOST_DIRECTORY_LISTEN"),
                                dir_routes(), &pools, &opts, &e);
        if (srv == NULL)
                goto out;
        log_info("started", "listen=%s",
                 cfg_str(cfg, "SIGNPOST_DIRECTORY_LISTEN"));
        while (!svc_stopping())
                usleep(100 * 1000);
        rc = 0;
out:
        if (rc != 0)
                log_err(LOG_ERROR, "stopping", &e, NULL);
        svc_request_stop();
        http_server_stop(srv);
        if (svc_consumers_join(cons) < 0)
                rc = 1;
        outbox_relay_stop(relay);
        db_pool_fini(&pools.searches);
        db_pool_fini(&pools.reads);
        secret_key_free(key);
        cfg_free(cfg);
        log_info("stopped", "rc=%d", rc);
        return rc;
}
