/*
 * signpost-consent: the consent ledger daemon. main() reads the config,
 * loads the ledger key, migrates schema `consent`, starts the outbox relay,
 * the consumer of referral.events and consent.commands and the HTTP
 * server, waits for SIGTERM and stops them in reverse order. Everything
 * else lives in the files named in consent.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cfg.h"
#include "consent.h"
#include "http.h"
#include "log.h"
#include "outbox.h"
#include "svc.h"
#include "svc_consumer.h"

static const struct cfg_entry consent_cfg[] = {
    {"SIGNPOST_DB", CFG_STR, NULL, true,
     "PostgreSQL conninfo of the daemon's own role"},
    SVC_CFG_DB_MIGRATE,
    {"SIGNPOST_KAFKA", CFG_STR, NULL, true, "Kafka bootstrap servers"},
    {"SIGNPOST_CONSENT_LISTEN", CFG_STR, "127.0.0.1:8093", false,
     "HTTP listen address"},
    {"SIGNPOST_PRINCIPAL_KEY_FILE", CFG_PATH, NULL, true,
     "32-byte MAC key for X-Signpost-Principal"},
    {"SIGNPOST_SECRETS_DIR", CFG_PATH, ".run/secrets", false,
     "directory of the platform's key files"},
    {"SIGNPOST_CONSENT_LEDGER_KEY_FILE", CFG_PATH, NULL, false,
     "32-byte key of the ledger hash chain (default: "
     "$SIGNPOST_SECRETS_DIR/blind-index.key, domain-separated)"},
    {"SIGNPOST_MIGRATIONS_DIR", CFG_PATH, "services/consent/migrations", false,
     "consent migrations"},
    {"SIGNPOST_LOG_LEVEL", CFG_STR, "info", false, "log level"},
    {"SIGNPOST_CONSENT_DB_POOL", CFG_INT, "4", false,
     "database connections for HTTP"},
    {NULL, 0, NULL, false, NULL},
};

static int
load_keys(struct cfg *cfg, struct secret_key **principal,
          struct secret_key **chain, struct err *e)
{
        char path[1024];
        const char *p = cfg_str(cfg, "SIGNPOST_CONSENT_LEDGER_KEY_FILE");

        if (p == NULL) {
                snprintf(path, sizeof(path), "%s/blind-index.key",
                         cfg_str(cfg, "SIGNPOST_SECRETS_DIR"));
                p = path;
        }
        if (secret_key_load(cfg_str(cfg, "SIGNPOST_PRINCIPAL_KEY_FILE"),
                            HTTP_PRINCIPAL_KEY_BYTES, NULL, principal, e) < 0)
                return -1;
        return secret_key_load(p, SECRET_KEY_BYTES, NULL, chain, e);
}

int
main(int argc, char **argv)
{
        struct cfg *cfg = NULL;
        struct secret_key *key = NULL, *chain = NULL;
        struct outbox_relay *relay = NULL;
        struct http_server *srv = NULL;
        struct db_pool pool = {0};
        struct consent_ctx ctx = {.pool = &pool};
        struct svc_consumers *cons = NULL;
        const char *topics[] = {CONSENT_TOPIC_REFERRALS, CONSENT_TOPIC_COMMANDS,
                                NULL};
        struct err e = {0};
        enum log_level lvl = LOG_INFO;
        int rc = cfg_main_check(argc, argv, consent_cfg, &cfg);

        if (rc == CFG_MAIN_MIGRATE)

                return svc_migrate_main(cfg, CONSENT_SCHEMA);

        if (rc != CFG_MAIN_RUN)
                return rc;
        log_level_parse(cfg_str(cfg, "SIGNPOST_LOG_LEVEL"), &lvl);
        log_init("consent", lvl);
        rc = 1;
        if (svc_signals_install() < 0 || load_keys(cfg, &key, &chain, &e) < 0 ||
            svc_migrate_cfg(cfg, CONSENT_SCHEMA, &e) < 0)
                goto out;
        ctx.chain_key = chain;
        relay = outbox_relay_start(cfg_str(cfg, "SIGNPOST_DB"), CONSENT_SCHEMA,
                                   cfg_str(cfg, "SIGNPOST_KAFKA"), &e);
        if (relay == NULL ||
            db_pool_init(&pool, cfg_str(cfg, "SIGNPOST_DB"),
                         (int)cfg_int(cfg, "SIGNPOST_CONSENT_DB_POOL"), &e) < 0)
                goto out;
        struct svc_consumer_spec spec = {
            .conninfo = cfg_str(cfg, "SIGNPOST_DB"),
            .schema = CONSENT_SCHEMA,
            .brokers = cfg_str(cfg, "SIGNPOST_KAFKA"),
            .group = "consent",
            .topics = topics,
            .apply = consent_commands_apply,
            .arg = &ctx,
            .batch = 100,
            .threads = 1,
            .prepare = true};
        cons = svc_consumers_start(&spec, &e);
        if (cons == NULL)
                goto out;
        struct http_opts opts = {.principal_key = key->bytes,
                                 .threads = (unsigned)pool.n};
        srv = http_server_start(cfg_str(cfg, "SIGNPOST_CONSENT_LISTEN"),
                                consent_routes(), &ctx, &opts, &e);
        if (srv == NULL)
                goto out;
        log_info("started", "listen=%s",
                 cfg_str(cfg, "SIGNPOST_CONSENT_LISTEN"));
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
        db_pool_fini(&pool);
        secret_key_free(chain);
        secret_key_free(key);
        cfg_free(cfg);
        log_info("stopped", "rc=%d", rc);
        return rc;
}
