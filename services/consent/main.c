/*
 * signpost-consent: the consent ledger daemon. main() describes it to
 * svc_run (lib/svc_run.h), which reads the config, migrates schema
 * `consent`, starts the outbox relay, the consumer of referral.events and
 * consent.commands (consume.c) and the HTTP server (routes.c), waits for
 * SIGTERM and stops them in reverse order. Its own settings are below;
 * the keys it loads are setup.c's; everything else lives in the files
 * named in consent.h.
 */
#include "consent.h"
#include "svc_run.h"

static const struct cfg_entry consent_cfg[] = {
    {"SIGNPOST_CONSENT_LEDGER_KEY_FILE", CFG_PATH, NULL, false,
     "32-byte key of the ledger hash chain (default: "
     "$SIGNPOST_SECRETS_DIR/blind-index.key, domain-separated)"},
    {"SIGNPOST_CONSENT_DB_POOL", CFG_INT, "4", false,
     "database connections for HTTP"},
    {NULL, 0, NULL, false, NULL},
};

static const char *const topics[] = {CONSENT_TOPIC_REFERRALS,
                                     CONSENT_TOPIC_COMMANDS, NULL};

int
main(int argc, char **argv)
{
        static struct db_pool pool;
        static struct consent_ctx ctx = {.pool = &pool};
        const struct svc_desc d = {
            .name = "consent",
            .schema = CONSENT_SCHEMA,
            .listen = "127.0.0.1:8093",
            .cfg = consent_cfg,
            .outbox = true,
            .pool = &pool,
            .pool_size = "SIGNPOST_CONSENT_DB_POOL",
            .ctx = &ctx,
            .init = consent_setup_init,
            .fini = consent_setup_fini,
            .consumer = {.schema = CONSENT_SCHEMA,
                         .group = "consent",
                         .topics = topics,
                         .apply = consent_commands_apply,
                         .arg = &ctx,
                         .batch = 100,
                         .threads = 1,
                         .prepare = true},
            .routes = consent_routes(),
        };

        return svc_run(&d, argc, argv);
}
