/*
 * signpost-intake: the referral daemon. main() describes it to svc_run
 * (lib/svc_run.h), which reads the config, migrates schema `intake`,
 * starts the outbox relay, the consumer of submissions, updates, consent
 * state and the catalogue (consume.c), the stale-referral timer (stale.c)
 * and the HTTP server (routes.c), waits for SIGTERM and stops them in
 * reverse order. Its own settings are below; its keys, holidays and the
 * consumer threads' buffers are setup.c's; everything else lives in the
 * files named in intake.h.
 */
#include "intake.h"
#include "svc_run.h"

static const struct cfg_entry intake_cfg[] = {
    {"SIGNPOST_SECRETS_DIR", CFG_PATH, NULL, true,
     "intake.pk/.sk, notification.pk, kek-k1.key, blind-index.key"},
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
    {NULL, 0, NULL, false, NULL},
};

static const char *const topics[] = {
    INTAKE_TOPIC_SERVICES, INTAKE_TOPIC_ORGS,          INTAKE_TOPIC_SUBMISSIONS,
    INTAKE_TOPIC_UPDATES,  INTAKE_TOPIC_CONSENT_STATE, NULL};

int
main(int argc, char **argv)
{
        static struct intake in;
        const struct svc_desc d = {
            .name = "intake",
            .schema = INTAKE_SCHEMA,
            .listen = "127.0.0.1:8091",
            .cfg = intake_cfg,
            .outbox = true,
            .pool = &in.pool,
            .pool_size = "SIGNPOST_INTAKE_DB_POOL",
            .ctx = &in,
            .init = intake_setup_init,
            .fini = intake_setup_fini,
            /* batch and threads: SIGNPOST_INTAKE_BATCH, _CONSUMERS */
            .consumer = {.group = "intake",
                         .topics = topics,
                         .apply = intake_consume_apply,
                         .flush = intake_submit_flush,
                         .begin = intake_submit_begin,
                         .arg = &in,
                         .prepare = true,
                         .thread_start = intake_setup_thread_start,
                         .thread_end = intake_setup_thread_end},
            .workers = {{intake_setup_stale_start, intake_setup_stale_stop}},
            .routes = intake_routes(),
        };

        return svc_run(&d, argc, argv);
}
