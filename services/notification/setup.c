/*
 * setup: notification's own part of the start-up (svc_run's hooks): its
 * settings, its keys, the delivery channel, the consumer thread's batch
 * buffer and the sender loop's thread. The shared settings, the
 * principal key and the order of the start belong to lib/svc_run.c.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "notification.h"
#include "svc.h"
#include "svc_run.h"

static int
load(const struct cfg *cfg, const char *name, size_t len, struct secret_key **k,
     struct err *e)
{
        char path[1024];

        snprintf(path, sizeof(path), "%s/%s",
                 cfg_str(cfg, "SIGNPOST_SECRETS_DIR"), name);
        return secret_key_load(path, len, NULL, k, e);
}

/* load_pk: the public key file (world-readable by design). */
static int
load_pk(const struct cfg *cfg, unsigned char pk[SECRET_BOX_PK_BYTES],
        struct err *e)
{
        char path[1024];

        snprintf(path, sizeof(path), "%s/notification.pk",
                 cfg_str(cfg, "SIGNPOST_SECRETS_DIR"));
        return secret_pk_load(path, pk, e);
}

static int
load_keys(const struct cfg *cfg, struct notify_ctx *ctx, struct err *e)
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
channel_new(const struct cfg *cfg, struct err *e)
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
settings(const struct cfg *cfg, struct notify_ctx *ctx)
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

int
notify_setup_init(void *arg, struct svc_run *r, struct err *e)
{
        struct notify_ctx *ctx = arg;
        const struct cfg *cfg = r->cfg;

        settings(cfg, ctx);
        if (load_keys(cfg, ctx, e) < 0 ||
            (ctx->channel = channel_new(cfg, e)) == NULL)
                return -1;
        log_info("delivery channel", "channel=%s instance=%s",
                 ctx->channel->name, ctx->instance);
        return 0;
}

void
notify_setup_fini(void *arg)
{
        struct notify_ctx *ctx = arg;

        if (ctx->channel != NULL)
                ctx->channel->free(ctx->channel);
        ctx->channel = NULL;
        secret_key_free(ctx->box_sk);
        secret_key_free(ctx->index_key);
        secret_key_free(ctx->code_key);
        ctx->box_sk = ctx->index_key = ctx->code_key = NULL;
}

/* the consumer thread's end: its batch buffers go (svc_consumer.h) */
void
notify_setup_batch_end(void *arg)
{
        notify_batch_fini(arg);
}

/* The sender loop: one thread on its own connection, until the stop. */
struct sender {
        struct notify_ctx *ctx;
        const char *conninfo; /* borrowed from the cfg */
        pthread_t thread;
};

static void *
send_loop(void *arg)
{
        struct sender *s = arg;
        struct db *db = db_open(s->conninfo);
        struct err e = {0};

        if (db == NULL) {
                svc_request_stop();
                return NULL;
        }
        db_set_schema(db, NOTIFY_SCHEMA);
        notify_sender_run(s->ctx, db, svc_stop_flag(), &e);
        db_free(db);
        return NULL;
}

void *
notify_setup_sender_start(void *arg, const struct cfg *cfg, struct err *e)
{
        struct sender *s = calloc(1, sizeof(*s));

        if (s == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                return NULL;
        }
        s->ctx = arg;
        s->conninfo = cfg_str(cfg, "SIGNPOST_DB");
        if (pthread_create(&s->thread, NULL, send_loop, s) != 0) {
                free(s);
                err_set(e, ERR_FATAL, NULL, "cannot start the sender thread");
                return NULL;
        }
        return s;
}

void
notify_setup_sender_stop(void *arg)
{
        struct sender *s = arg;

        pthread_join(s->thread, NULL);
        free(s);
}
