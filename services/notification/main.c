/*
 * signpost-notification: the notification daemon. main() reads the
 * config, loads the keys, picks the delivery channel, migrates schema
 * `notification`, starts the outbox relay, the consumer (requests and
 * replicas), the sender loop and the HTTP server, waits for SIGTERM and
 * stops them in reverse order. Everything else lives in the files named in
 * notification.h.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg.h"
#include "http.h"
#include "log.h"
#include "notification.h"
#include "outbox.h"
#include "svc.h"
#include "svc_consumer.h"

static const struct cfg_entry notify_cfg[] = {
    {"SIGNPOST_DB", CFG_STR, NULL, true,
     "PostgreSQL conninfo of the daemon's own role"},
    SVC_CFG_DB_MIGRATE,
    {"SIGNPOST_KAFKA", CFG_STR, NULL, true, "Kafka bootstrap servers"},
    {"SIGNPOST_NOTIFICATION_LISTEN", CFG_STR, "127.0.0.1:8094", false,
     "HTTP listen address"},
    {"SIGNPOST_PRINCIPAL_KEY_FILE", CFG_PATH, NULL, true,
     "32-byte MAC key for X-Signpost-Principal"},
    {"SIGNPOST_SECRETS_DIR", CFG_PATH, ".run/secrets", false,
     "key files: notification.pk/.sk, blind-index.key, token-hash.key"},
    {"SIGNPOST_MIGRATIONS_DIR", CFG_PATH, "services/notification/migrations",
     false, "notification migrations"},
    {"SIGNPOST_LOG_LEVEL", CFG_STR, "info", false, "log level"},
    {"SIGNPOST_NOTIFICATION_DB_POOL", CFG_INT, "4", false,
     "database connections for HTTP"},
    {"SIGNPOST_NOTIFY_CHANNEL", CFG_STR, "auto", false,
     "smtp, api, spool (development only: plaintext files), or auto (smtp "
     "if SIGNPOST_SMTP_URL is set, else api if SIGNPOST_NOTIFY_API_URL is "
     "set; never the spool)"},
    {"SIGNPOST_NOTIFY_SPOOL_DIR", CFG_PATH, ".run/notification-spool", false,
     "where the spool channel writes <message_id>.eml / .json"},
    {"SIGNPOST_NOTIFY_SPOOL_MAX_AGE", CFG_INT, "604800", false,
     "seconds a spooled file is kept before it is deleted"},
    {"SIGNPOST_NOTIFY_SPOOL_FSYNC", CFG_BOOL, "false", false,
     "fsync each spooled file (survive power loss, not just a crash)"},
    {"SIGNPOST_SMTP_URL", CFG_STR, NULL, false, "smtp://host:port"},
    {"SIGNPOST_NOTIFY_API_URL", CFG_STR, NULL, false,
     "GOV.UK Notify-compatible API base URL"},
    {"SIGNPOST_NOTIFY_API_KEY_FILE", CFG_PATH, NULL, false,
     "file holding the Notify API key"},
    {"SIGNPOST_NOTIFY_API_TEMPLATE_ID", CFG_STR, NULL, false,
     "Notify template with ((subject)) and ((body))"},
    {"SIGNPOST_NOTIFY_FROM", CFG_STR, "signpost <no-reply@signpost.invalid>",
     false, "sender address"},
    {"SIGNPOST_NOTIFY_INSTANCE", CFG_STR, NULL, false,
     "this replica's stable name for its leases (default: host name)"},
    {"SIGNPOST_NOTIFY_MAX_ATTEMPTS", CFG_INT, "8", false,
     "delivery attempts before a message fails"},
    {"SIGNPOST_NOTIFY_BACKOFF_BASE", CFG_DURATION_MS, "1s", false,
     "first retry delay (doubles, with jitter)"},
    {"SIGNPOST_NOTIFY_BACKOFF_CAP", CFG_DURATION_MS, "5m", false,
     "longest retry delay"},
    {"SIGNPOST_NOTIFY_CONSENT_WAIT", CFG_DURATION_MS, "24h", false,
     "how long a message waits for an unknown subject's consent state"},
    {"SIGNPOST_NOTIFY_CONSENT_RECHECK", CFG_DURATION_MS, "500ms", false,
     "how often a waiting message looks again"},
    {"SIGNPOST_NOTIFY_BATCH", CFG_INT, "100", false,
     "messages per sender round"},
    {NULL, 0, NULL, false, NULL},
};

/* records per consumer transaction (requests are written in one INSERT) */
#define CONSUME_BATCH 1000

struct worker {
        struct cfg *cfg;
        struct notify_ctx *ctx;
        pthread_t sender;
};

/* the consumer thread's end: its batch buffers go (svc_consumer.h) */
static void
batch_end(void *arg)
{
        notify_batch_fini(arg);
}

static void *
send_loop(void *arg)
{
        struct worker *w = arg;
        struct db *db = db_open(cfg_str(w->cfg, "SIGNPOST_DB"));
        struct err e = {0};

        if (db == NULL) {
                svc_request_stop();
                return NULL;
        }
        db_set_schema(db, NOTIFY_SCHEMA);
        notify_sender_run(w->ctx, db, svc_stop_flag(), &e);
        db_free(db);
        return NULL;
}

static int
load(struct cfg *cfg, const char *name, size_t len, struct secret_key **k,
     struct err *e)
{
        char path[1024];

        snprintf(path, sizeof(path), "%s/%s",
                 cfg_str(cfg, "SIGNPOST_SECRETS_DIR"), name);
        return secret_key_load(path, len, NULL, k, e);
}

/* load_pk: the public key file (world-readable by design). */
static int
load_pk(struct cfg *cfg, unsigned char pk[SECRET_BOX_PK_BYTES], struct err *e)
{
        char path[1024];

        snprintf(path, sizeof(path), "%s/notification.pk",
                 cfg_str(cfg, "SIGNPOST_SECRETS_DIR"));
        return secret_pk_load(path, pk, e);
}

static int
load_keys(struct cfg *cfg, struct notify_ctx *ctx, struct err *e)
{
        if (load(cfg, "notification.sk", SECRET_BOX_SK_BYTES, &ctx->box_sk, e) <
                0 ||
            load_pk(cfg, ctx->box_pk, e) < 0 ||
            load(cfg, "blind-index.key", SECRET_KEY_BYTES, &ctx->index_key, e) <
                0 ||
            load(cfg, "token-hash.key", SECRET_KEY_BYTES, &ctx->code_key, e) <
                0)
                return -1;
        return 0;
}

static struct notify_channel *
channel_new(struct cfg *cfg, struct err *e)
{
        const char *kind = cfg_str(cfg, "SIGNPOST_NOTIFY_CHANNEL");
        const char *smtp = cfg_str(cfg, "SIGNPOST_SMTP_URL");
        const char *api = cfg_str(cfg, "SIGNPOST_NOTIFY_API_URL");

        const char *chosen = notify_channel_kind(kind, smtp, api);

        if (chosen == NULL) {
                err_set(e, ERR_FATAL, "SIGNPOST_NOTIFY_CHANNEL",
                        "no delivery channel: set SIGNPOST_SMTP_URL or "
                        "SIGNPOST_NOTIFY_API_URL (or, for development only, "
                        "SIGNPOST_NOTIFY_CHANNEL=spool)");
                return NULL;
        }
        kind = chosen;
        if (strcmp(kind, "spool") == 0) {
                log_warnx(
                    "spool channel: messages are kept as plaintext "
                    "files (development only)",
                    "dir=\"%s\" max_age_s=%lld",
                    cfg_str(cfg, "SIGNPOST_NOTIFY_SPOOL_DIR"),
                    (long long)cfg_int(cfg, "SIGNPOST_NOTIFY_SPOOL_MAX_AGE"));
                return notify_channel_spool(
                    cfg_str(cfg, "SIGNPOST_NOTIFY_SPOOL_DIR"),
                    cfg_bool(cfg, "SIGNPOST_NOTIFY_SPOOL_FSYNC"),
                    (long)cfg_int(cfg, "SIGNPOST_NOTIFY_SPOOL_MAX_AGE"), e);
        }
        if (strcmp(kind, "smtp") == 0 && smtp != NULL)
                return notify_channel_smtp(smtp, e);
        if (strcmp(kind, "api") == 0 && api != NULL &&
            cfg_str(cfg, "SIGNPOST_NOTIFY_API_KEY_FILE") != NULL)
                return notify_channel_api(
                    api, cfg_str(cfg, "SIGNPOST_NOTIFY_API_KEY_FILE"),
                    cfg_str(cfg, "SIGNPOST_NOTIFY_API_TEMPLATE_ID"), e);
        err_set(e, ERR_FATAL, "SIGNPOST_NOTIFY_CHANNEL",
                "unknown channel or its settings missing");
        return NULL;
}

static void
settings(struct cfg *cfg, struct notify_ctx *ctx)
{
        const char *inst = cfg_str(cfg, "SIGNPOST_NOTIFY_INSTANCE");

        if (inst != NULL)
                snprintf(ctx->instance, sizeof(ctx->instance), "%s", inst);
        else if (gethostname(ctx->instance, sizeof(ctx->instance) - 1) != 0)
                snprintf(ctx->instance, sizeof(ctx->instance), "default");
        snprintf(ctx->from, sizeof(ctx->from), "%s",
                 cfg_str(cfg, "SIGNPOST_NOTIFY_FROM"));
        ctx->max_attempts = (int)cfg_int(cfg, "SIGNPOST_NOTIFY_MAX_ATTEMPTS");
        ctx->backoff_base_ms = cfg_int(cfg, "SIGNPOST_NOTIFY_BACKOFF_BASE");
        ctx->backoff_cap_ms = cfg_int(cfg, "SIGNPOST_NOTIFY_BACKOFF_CAP");
        ctx->consent_wait_ms = cfg_int(cfg, "SIGNPOST_NOTIFY_CONSENT_WAIT");
        ctx->consent_recheck_ms =
            cfg_int(cfg, "SIGNPOST_NOTIFY_CONSENT_RECHECK");
        ctx->batch = (int)cfg_int(cfg, "SIGNPOST_NOTIFY_BATCH");
}

static void
ctx_fini(struct notify_ctx *ctx)
{
        if (ctx->channel != NULL)
                ctx->channel->free(ctx->channel);
        secret_key_free(ctx->box_sk);
        secret_key_free(ctx->index_key);
        secret_key_free(ctx->code_key);
}

int
main(int argc, char **argv)
{
        struct cfg *cfg = NULL;
        struct secret_key *key = NULL;
        struct outbox_relay *relay = NULL;
        struct http_server *srv = NULL;
        struct db_pool pool = {0};
        struct notify_ctx ctx = {.pool = &pool};
        struct worker w = {.ctx = &ctx};
        struct notify_batch batch = {.ctx = &ctx};
        struct svc_consumers *cons = NULL;
        const char *topics[] = {NOTIFY_TOPIC_REQUESTS, NOTIFY_TOPIC_CONSENT,
                                NOTIFY_TOPIC_SERVICES, NOTIFY_TOPIC_ORGS, NULL};
        struct err e = {0};
        enum log_level lvl = LOG_INFO;
        int threads = 0;
        int rc = cfg_main_check(argc, argv, notify_cfg, &cfg);

        if (rc == CFG_MAIN_MIGRATE)

                return svc_migrate_main(cfg, NOTIFY_SCHEMA);

        if (rc != CFG_MAIN_RUN)
                return rc;
        log_level_parse(cfg_str(cfg, "SIGNPOST_LOG_LEVEL"), &lvl);
        log_init("notification", lvl);
        rc = 1;
        settings(cfg, &ctx);
        if (svc_signals_install() < 0 ||
            secret_key_load(cfg_str(cfg, "SIGNPOST_PRINCIPAL_KEY_FILE"),
                            HTTP_PRINCIPAL_KEY_BYTES, NULL, &key, &e) < 0 ||
            load_keys(cfg, &ctx, &e) < 0 ||
            (ctx.channel = channel_new(cfg, &e)) == NULL ||
            svc_migrate_cfg(cfg, NOTIFY_SCHEMA, &e) < 0)
                goto out;
        relay = outbox_relay_start(cfg_str(cfg, "SIGNPOST_DB"), NOTIFY_SCHEMA,
                                   cfg_str(cfg, "SIGNPOST_KAFKA"), &e);
        if (relay == NULL ||
            db_pool_init(&pool, cfg_str(cfg, "SIGNPOST_DB"),
                         (int)cfg_int(cfg, "SIGNPOST_NOTIFICATION_DB_POOL"),
                         &e) < 0)
                goto out;
        w.cfg = cfg;
        /* one consumer thread: batch is its buffer of requests */
        struct svc_consumer_spec spec = {
            .conninfo = cfg_str(cfg, "SIGNPOST_DB"),
            .schema = NOTIFY_SCHEMA,
            .brokers = cfg_str(cfg, "SIGNPOST_KAFKA"),
            .group = "notification",
            .topics = topics,
            .apply = notify_batch_apply,
            .flush = notify_batch_flush,
            .arg = &batch,
            .batch = CONSUME_BATCH,
            .threads = 1,
            .prepare = true,
            .thread_end = batch_end};
        cons = svc_consumers_start(&spec, &e);
        if (cons == NULL)
                goto out;
        if (pthread_create(&w.sender, NULL, send_loop, &w) != 0)
                goto out;
        threads++;
        struct http_opts opts = {.principal_key = key->bytes,
                                 .threads = (unsigned)pool.n};
        srv = http_server_start(cfg_str(cfg, "SIGNPOST_NOTIFICATION_LISTEN"),
                                notify_routes(), &ctx, &opts, &e);
        if (srv == NULL)
                goto out;
        log_info("started", "listen=%s channel=%s instance=%s",
                 cfg_str(cfg, "SIGNPOST_NOTIFICATION_LISTEN"),
                 ctx.channel->name, ctx.instance);
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
        if (threads > 0)
                pthread_join(w.sender, NULL);
        outbox_relay_stop(relay);
        db_pool_fini(&pool);
        ctx_fini(&ctx);
        secret_key_free(key);
        cfg_free(cfg);
        log_info("stopped", "rc=%d", rc);
        return rc;
}
