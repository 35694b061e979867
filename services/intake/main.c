/*
 * signpost-intake: the referral daemon. main() reads the config, loads the
 * keys and the bank holidays, migrates schema `intake`, starts the outbox
 * relay, the consumer (submissions, updates, catalogue), the stale-referral
 * timer and the HTTP server, waits for SIGTERM and stops them in reverse
 * order. Everything else lives in the files named in intake.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cfg.h"
#include "http.h"
#include "inbox.h"
#include "intake.h"
#include "log.h"
#include "outbox.h"
#include "svc.h"
#include "svc_consumer.h"

static const struct cfg_entry intake_cfg[] = {
    {"SIGNPOST_DB", CFG_STR, NULL, true,
     "PostgreSQL conninfo of the daemon's own role"},
    SVC_CFG_DB_MIGRATE,
    {"SIGNPOST_KAFKA", CFG_STR, NULL, true, "Kafka bootstrap servers"},
    {"SIGNPOST_INTAKE_LISTEN", CFG_STR, "127.0.0.1:8091", false,
     "HTTP listen address"},
    {"SIGNPOST_PRINCIPAL_KEY_FILE", CFG_PATH, NULL, true,
     "32-byte MAC key for X-Signpost-Principal"},
    {"SIGNPOST_SECRETS_DIR", CFG_PATH, NULL, true,
     "intake.pk/.sk, notification.pk, kek-k1.key, blind-index.key"},
    {"SIGNPOST_MIGRATIONS_DIR", CFG_PATH, "services/intake/migrations", false,
     "intake migrations"},
    {"SIGNPOST_INTAKE_HOLIDAYS", CFG_PATH,
     "services/intake/data/bank-holidays-england-and-wales.csv", false,
     "bank holidays (YYYY-MM-DD,name per line)"},
    {"SIGNPOST_INTAKE_REMIND_DAYS", CFG_INT, "6", false,
     "working days without contact before the provider reminder"},
    {"SIGNPOST_INTAKE_ESCALATE_DAYS", CFG_INT, "9", false,
     "working days without contact before the admin escalation"},
    {"SIGNPOST_INTAKE_STALE_INTERVAL", CFG_DURATION_MS, "60s", false,
     "how often stale referrals are swept"},
    {"SIGNPOST_INTAKE_ADMIN_EMAIL", CFG_STR, "", false,
     "where escalations go (notification resolves admins when empty)"},
    {"SIGNPOST_INTAKE_DB_POOL", CFG_INT, "4", false,
     "database connections for HTTP"},
    {"SIGNPOST_INTAKE_BATCH", CFG_INT, "500", false,
     "records per consumer transaction"},
    {"SIGNPOST_INTAKE_CONSUMERS", CFG_INT, "2", false,
     "consumer threads (each its own connection and share of partitions)"},
    {"SIGNPOST_LOG_LEVEL", CFG_STR, "info", false, "log level"},
    {NULL, 0, NULL, false, NULL},
};

/* The consumer threads' write queues (emit.c) and prepared batches
 * (submit_batch.c), one per thread. */
static void
outq_start(void *arg, struct db *db)
{
        (void)arg;
        (void)db;
        intake_outq_start(); /* events go out once per batch */
}

static void
outq_end(void *arg)
{
        (void)arg;
        intake_submit_end();
        intake_outq_stop();
}

/* setup: keys, holidays, settings. */
static int
setup(struct intake *in, struct cfg *cfg, struct err *e)
{
        if (intake_keys_load(&in->keys, cfg_str(cfg, "SIGNPOST_SECRETS_DIR"),
                             e) < 0 ||
            intake_holidays_load(
                &in->holidays, cfg_str(cfg, "SIGNPOST_INTAKE_HOLIDAYS"), e) < 0)
                return -1;
        in->remind_days = (int)cfg_int(cfg, "SIGNPOST_INTAKE_REMIND_DAYS");
        in->escalate_days = (int)cfg_int(cfg, "SIGNPOST_INTAKE_ESCALATE_DAYS");
        in->admin_email = cfg_str(cfg, "SIGNPOST_INTAKE_ADMIN_EMAIL");
        if (in->remind_days < 1 || in->escalate_days < in->remind_days)
                return err_set(e, ERR_FATAL, "SIGNPOST_INTAKE_ESCALATE_DAYS",
                               "need 1 <= remind days <= escalate days");
        return 0;
}

int
main(int argc, char **argv)
{
        struct cfg *cfg = NULL;
        struct secret_key *key = NULL;
        struct outbox_relay *relay = NULL;
        struct intake_stale *stale = NULL;
        struct http_server *srv = NULL;
        static struct intake in;
        struct svc_consumers *cons = NULL;
        const char *topics[] = {
            INTAKE_TOPIC_SERVICES,      INTAKE_TOPIC_ORGS,
            INTAKE_TOPIC_SUBMISSIONS,   INTAKE_TOPIC_UPDATES,
            INTAKE_TOPIC_CONSENT_STATE, NULL};
        struct err e = {0};
        enum log_level lvl = LOG_INFO;
        int rc = cfg_main_check(argc, argv, intake_cfg, &cfg);

        if (rc == CFG_MAIN_MIGRATE)

                return svc_migrate_main(cfg, INTAKE_SCHEMA);

        if (rc != CFG_MAIN_RUN)
                return rc;
        log_level_parse(cfg_str(cfg, "SIGNPOST_LOG_LEVEL"), &lvl);
        log_init("intake", lvl);
        rc = 1;
        if (svc_signals_install() < 0 || setup(&in, cfg, &e) < 0 ||
            secret_key_load(cfg_str(cfg, "SIGNPOST_PRINCIPAL_KEY_FILE"),
                            HTTP_PRINCIPAL_KEY_BYTES, NULL, &key, &e) < 0 ||
            svc_migrate_cfg(cfg, INTAKE_SCHEMA, &e) < 0)
                goto out;
        in.principal_key = key->bytes;
        relay = outbox_relay_start(cfg_str(cfg, "SIGNPOST_DB"), INTAKE_SCHEMA,
                                   cfg_str(cfg, "SIGNPOST_KAFKA"), &e);
        if (relay == NULL ||
            db_pool_init(&in.pool, cfg_str(cfg, "SIGNPOST_DB"),
                         (int)cfg_int(cfg, "SIGNPOST_INTAKE_DB_POOL"), &e) < 0)
                goto out;
        struct svc_consumer_spec spec = {
            .conninfo = cfg_str(cfg, "SIGNPOST_DB"),
            .brokers = cfg_str(cfg, "SIGNPOST_KAFKA"),
            .group = "intake",
            .topics = topics,
            .apply = intake_consume_apply,
            .flush = intake_submit_flush,
            .begin = intake_submit_begin,
            .arg = &in,
            .batch = (size_t)cfg_int(cfg, "SIGNPOST_INTAKE_BATCH"),
            .threads = (int)cfg_int(cfg, "SIGNPOST_INTAKE_CONSUMERS"),
            .prepare = true,
            .thread_start = outq_start,
            .thread_end = outq_end};
        cons = svc_consumers_start(&spec, &e);
        if (cons == NULL)
                goto out;
        stale = intake_stale_start(
            &in, cfg_str(cfg, "SIGNPOST_DB"),
            cfg_int(cfg, "SIGNPOST_INTAKE_STALE_INTERVAL"), &e);
        if (stale == NULL)
                goto out;
        struct http_opts opts = {.principal_key = key->bytes,
                                 .threads = (unsigned)in.pool.n};
        srv = http_server_start(cfg_str(cfg, "SIGNPOST_INTAKE_LISTEN"),
                                intake_routes(), &in, &opts, &e);
        if (srv == NULL)
                goto out;
        log_info("started", "listen=%s",
                 cfg_str(cfg, "SIGNPOST_INTAKE_LISTEN"));
        while (!svc_stopping())
                usleep(100 * 1000);
        rc = 0;
out:
        if (rc != 0)
                log_err(LOG_ERROR, "stopping", &e, NULL);
        svc_request_stop();
        http_server_stop(srv);
        intake_stale_stop(stale);
        if (svc_consumers_join(cons) < 0)
                rc = 1;
        outbox_relay_stop(relay);
        db_pool_fini(&in.pool);
        intake_holidays_fini(&in.holidays);
        intake_keys_fini(&in.keys);
        secret_key_free(key);
        cfg_free(cfg);
        log_info("stopped", "rc=%d", rc);
        return rc;
}
