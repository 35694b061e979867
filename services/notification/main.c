/*
 * signpost-notification: the notification daemon. main() describes it to
 * svc_run (lib/svc_run.h), which reads the config, migrates schema
 * `notification`, starts the outbox relay, the consumer of requests and
 * replicas (consume.c), the sender loop (sender.c) and the HTTP server
 * (routes.c), waits for SIGTERM and stops them in reverse order. Its own
 * settings are below; its keys, delivery channel and sender thread are
 * setup.c's; everything else lives in the files named in notification.h.
 */
#include "notification.h"
#include "svc_run.h"

static const struct cfg_entry notify_cfg[] = {
    {"SIGNPOST_SECRETS_DIR", CFG_PATH, ".run/secrets", false,
     "key files: notification.pk/.sk, blind-index.key, token-hash.key"},
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

static const char *const topics[] = {
    NOTIFY_TOPIC_REQUESTS, NOTIFY_TOPIC_CONSENT, NOTIFY_TOPIC_SERVICES,
    NOTIFY_TOPIC_ORGS, NULL};

int
main(int argc, char **argv)
{
        static struct db_pool pool;
        static struct notify_ctx ctx = {.pool = &pool};
        static struct notify_batch batch = {.ctx = &ctx};
        const struct svc_desc d = {
            .name = "notification",
            .schema = NOTIFY_SCHEMA,
            .listen = "127.0.0.1:8094",
            .cfg = notify_cfg,
            .outbox = true,
            .pool = &pool,
            .pool_size = "SIGNPOST_NOTIFICATION_DB_POOL",
            .ctx = &ctx,
            .init = notify_setup_init,
            .fini = notify_setup_fini,
            /* one consumer thread: batch is its buffer of requests, each
             * transaction up to 1000 records (one INSERT of requests) */
            .consumer = {.schema = NOTIFY_SCHEMA,
                         .group = "notification",
                         .topics = topics,
                         .apply = notify_batch_apply,
                         .flush = notify_batch_flush,
                         .arg = &batch,
                         .batch = 1000,
                         .threads = 1,
                         .prepare = true,
                         .thread_end = notify_setup_batch_end},
            .workers = {{notify_setup_sender_start, notify_setup_sender_stop}},
            .routes = notify_routes(),
        };

        return svc_run(&d, argc, argv);
}
