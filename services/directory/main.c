/*
 * signpost-directory: the community directory daemon. main() reads the
 * config, migrates schema `directory`, starts the outbox relay, the
 * directory.commands consumer and the HTTP server, waits for SIGTERM and
 * stops them in reverse order. Everything else lives in the files named
 * in directory.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cfg.h"
#include "directory.h"
#include "http.h"
#include "inbox.h"
#include "log.h"
#include "outbox.h"
#include "secret.h"
#include "svc.h"

static const struct cfg_entry directory_cfg[] = {
    {"SIGNPOST_DB", CFG_STR, NULL, true, "PostgreSQL conninfo"},
    {"SIGNPOST_KAFKA", CFG_STR, NULL, true, "Kafka bootstrap servers"},
    {"SIGNPOST_DIRECTORY_LISTEN", CFG_STR, "127.0.0.1:8092", false,
     "HTTP listen address"},
    {"SIGNPOST_PRINCIPAL_KEY_FILE", CFG_PATH, NULL, true,
     "32-byte MAC key for X-Signpost-Principal"},
    {"SIGNPOST_MIGRATIONS_DIR", CFG_PATH, "services/directory/migrations",
     false, "directory migrations"},
    {"SIGNPOST_LOG_LEVEL", CFG_STR, "info", false, "log level"},
    {"SIGNPOST_DIRECTORY_DB_POOL", CFG_INT, "8", false,
     "database connections for HTTP"},
    {"SIGNPOST_DIRECTORY_MISSING_REF_WAIT_S", CFG_INT, "600", false,
     "seconds a command waits for the entity it refers to"},
    {NULL, 0, NULL, false, NULL},
};

struct consumer {
        struct cfg *cfg;
        pthread_t thread;
        int rc;
};

/* backfill: stores the rendered documents of services that have none
 * (after the migration that added them, or a restore); reads serve such
 * services from the tables meanwhile, so a failure only costs speed. */
static void
backfill(struct db *db)
{
        struct err e = {0};
        long n = 0;

        if (dir_docs_backfill(db, svc_stop_flag(), &n, &e) < 0)
                log_warnx("service documents backfill failed", "why=\"%s\"",
                          e.msg);
        else if (n > 0)
                log_info("service documents stored", "services=%ld", n);
}

static void *
consume(void *arg)
{
        struct consumer *c = arg;
        const char *topics[] = {DIR_TOPIC_COMMANDS, NULL};
        struct db *db = db_open(cfg_str(c->cfg, "SIGNPOST_DB"));
        struct dir_commands dc = {
            .missing_ref_wait_s =
                (int)cfg_int(c->cfg, "SIGNPOST_DIRECTORY_MISSING_REF_WAIT_S")};
        struct inbox in = {.db = db,
                           .consumer = "directory",
                           .apply = dir_commands_apply,
                           .arg = &dc};
        struct kafka_consumer *kc = NULL;
        struct err e = {0};

        c->rc = -1;
        kc = kafka_consumer_new(cfg_str(c->cfg, "SIGNPOST_KAFKA"), "directory",
                                topics, NULL, &e);
        if (db == NULL || kc == NULL) {
                log_error("consumer start failed", "why=\"%s\"", e.msg);
                goto out;
        }
        svc_ready_set("consumer", true);
        backfill(db);
        c->rc = kafka_consumer_run(kc, inbox_handle_batch, &in, 100,
                                   svc_stop_flag(), &e);
        if (c->rc < 0)
                log_error("consumer stopped", "why=\"%s\"", e.msg);
out:
        kafka_consumer_free(kc);
        db_free(db);
        if (c->rc < 0)
                svc_request_stop();
        return NULL;
}

static int
migrate(struct cfg *cfg, struct err *e)
{
        struct db *db = db_open(cfg_str(cfg, "SIGNPOST_DB"));
        int rc = -1;

        if (db != NULL && db_ensure(db, 30000, e) == 0 &&
            db_migrate(db, DIR_SCHEMA, cfg_str(cfg, "SIGNPOST_MIGRATIONS_DIR"),
                       e) == 0)
                rc = 0;
        db_free(db);
        return rc;
}

int
main(int argc, char **argv)
{
        struct cfg *cfg = NULL;
        struct secret_key *key = NULL;
        struct outbox_relay *relay = NULL;
        struct http_server *srv = NULL;
        struct db_pool pool = {0};
        struct consumer cons = {0};
        struct err e = {0};
        enum log_level lvl = LOG_INFO;
        bool consuming = false;
        int rc = cfg_main_check(argc, argv, directory_cfg, &cfg);

        if (rc != CFG_MAIN_RUN)
                return rc;
        log_level_parse(cfg_str(cfg, "SIGNPOST_LOG_LEVEL"), &lvl);
        log_init("directory", lvl);
        rc = 1;
        if (svc_signals_install() < 0 ||
            secret_key_load(cfg_str(cfg, "SIGNPOST_PRINCIPAL_KEY_FILE"),
                            HTTP_PRINCIPAL_KEY_BYTES, NULL, &key, &e) < 0 ||
            migrate(cfg, &e) < 0)
                goto out;
        relay = outbox_relay_start(cfg_str(cfg, "SIGNPOST_DB"), DIR_SCHEMA,
                                   cfg_str(cfg, "SIGNPOST_KAFKA"), &e);
        if (relay == NULL ||
            db_pool_init(&pool, cfg_str(cfg, "SIGNPOST_DB"),
                         (int)cfg_int(cfg, "SIGNPOST_DIRECTORY_DB_POOL"),
                         &e) < 0)
                goto out;
        cons.cfg = cfg;
        svc_ready_set("consumer", false);
        if (pthread_create(&cons.thread, NULL, consume, &cons) != 0)
                goto out;
        consuming = true;
        struct http_opts opts = {.principal_key = key->bytes,
                                 .threads = (unsigned)pool.n};
        srv = http_server_start(cfg_str(cfg, "SIGNPOST_DIRECTORY_LISTEN"),
                                dir_routes(), &pool, &opts, &e);
        if (srv == NULL)
                goto out;
        log_info("started", "listen=%s",
                 cfg_str(cfg, "SIGNPOST_DIRECTORY_LISTEN"));
        while (!svc_stopping())
                usleep(100 * 1000);
        rc = 0;
out:
        if (rc != 0)
                log_error("stopping", "kind=%s why=\"%s\"",
                          err_kind_name(e.kind), e.msg);
        svc_request_stop();
        http_server_stop(srv);
        if (consuming)
                pthread_join(cons.thread, NULL);
        outbox_relay_stop(relay);
        db_pool_fini(&pool);
        secret_key_free(key);
        cfg_free(cfg);
        log_info("stopped", "rc=%d", rc);
        return rc;
}
