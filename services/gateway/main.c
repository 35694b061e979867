/*
 * signpost-gateway: the public edge. main() describes it to svc_run
 * (lib/svc_run.h), which reads the config, migrates schema `gateway`,
 * starts the replica consumer (consume.c) and the HTTP server (routes.c,
 * web.c), waits for SIGTERM and stops them in reverse order. Its own
 * settings are below; the shared state they make (gw.c) is setup.c's;
 * everything else lives in the files named in gateway.h.
 */
#include "gateway.h"
#include "svc_run.h"

static const struct cfg_entry gateway_cfg[] = {
    {"SIGNPOST_SECRETS_DIR", CFG_PATH, ".run/secrets", false,
     "where token-hash.key, intake.pk and reporting.pk are, unless set "
     "below"},
    {"SIGNPOST_TOKEN_KEY_FILE", CFG_PATH, NULL, false,
     "API token hash key (default SECRETS_DIR/token-hash.key)"},
    {"SIGNPOST_INTAKE_PUBLIC_KEY_FILE", CFG_PATH, NULL, false,
     "intake's sealed-box public key (default SECRETS_DIR/intake.pk)"},
    {"SIGNPOST_REPORTING_PUBLIC_KEY_FILE", CFG_PATH, NULL, false,
     "reporting's public key, which access records seal a support reason "
     "to (default SECRETS_DIR/reporting.pk)"},
    {"SIGNPOST_INTAKE_URL", CFG_STR, "http://127.0.0.1:8091", false,
     "intake's internal HTTP port"},
    {"SIGNPOST_DIRECTORY_URL", CFG_STR, "http://127.0.0.1:8092", false,
     "directory's internal HTTP port"},
    {"SIGNPOST_CONSENT_URL", CFG_STR, "http://127.0.0.1:8093", false,
     "consent's internal HTTP port"},
    {"SIGNPOST_GATEWAY_OPENAPI", CFG_PATH, "docs/api/gateway.openapi.json",
     false, "the OpenAPI document served at /openapi.json"},
    {"SIGNPOST_GATEWAY_ASSETS", CFG_PATH,
     "node_modules/govuk-frontend/dist/govuk", false,
     "govuk-frontend's dist/govuk (npm ci)"},
    {"SIGNPOST_GATEWAY_TLS", CFG_BOOL, "false", false,
     "behind TLS termination: send HSTS"},
    {"SIGNPOST_GATEWAY_THREADS", CFG_INT, "0", false,
     "HTTP threads, 0 = one per core, at least 2 (forwarded reads, pages"
     " and referrals wait off them)"},
    {"SIGNPOST_GATEWAY_DB_POOL", CFG_INT, "8", false, "database connections"},
    /* above a broker's failover (a lost leader is fenced after
     * broker.session.timeout.ms, 9 s, then its partitions elect anew), so
     * losing a node delays answers instead of failing them */
    {"SIGNPOST_GATEWAY_PRODUCE_TIMEOUT", CFG_DURATION_MS, "30s", false,
     "longest Kafka may take to acknowledge a referral (the web form, "
     "audit events and commands wait 10 s at most)"},
    {"SIGNPOST_GATEWAY_RATE_IP", CFG_STR, "20", false,
     "requests per second per client address (0: no limit)"},
    {"SIGNPOST_GATEWAY_BURST_IP", CFG_STR, "60", false, "per-address burst"},
    {"SIGNPOST_GATEWAY_RATE_TOKEN", CFG_STR, "20", false,
     "requests per second per API token"},
    {"SIGNPOST_GATEWAY_BURST_TOKEN", CFG_STR, "60", false, "per-token burst"},
    {"SIGNPOST_GATEWAY_RATE_FORM", CFG_STR, "0.05", false,
     "web form posts per second per client address"},
    {"SIGNPOST_GATEWAY_BURST_FORM", CFG_STR, "10", false,
     "web form posts burst per client address"},
    {"SIGNPOST_PRIVACY_NOTICE_VERSION", CFG_STR, "2026-11-01", false,
     "privacy notice version recorded with each consent"},
    {"SIGNPOST_GATEWAY_PRIVACY_CONTACT", CFG_STR,
     "the council's data protection officer at dpo@council.example", false,
     "who the privacy page tells people to contact for access, correction "
     "and erasure"},
    {NULL, 0, NULL, false, NULL},
};

/* not referral.submissions: the gateway only writes it (consume.c) */
static const char *const topics[] = {GW_TOPIC_SERVICES, GW_TOPIC_ORGS,
                                     GW_TOPIC_EVENTS, NULL};

int
main(int argc, char **argv)
{
        static struct gw g;
        const struct svc_desc d = {
            .name = "gateway",
            .schema = GW_SCHEMA,
            .listen = "127.0.0.1:8080",
            .cfg = gateway_cfg,
            .ctx = &g,
            .init = gw_setup_init,
            .start = gw_setup_start,
            .fini = gw_setup_fini,
            /* the catalogue and status replicas; the same few statements
             * over and over, so prepared once per connection */
            .consumer = {.schema = GW_SCHEMA,
                         .group = "gateway",
                         .topics = topics,
                         .apply = gw_consume_apply,
                         .flush = gw_consume_flush,
                         .arg = &g,
                         .batch = 200,
                         .threads = 1,
                         .prepare = true},
            .routes = gw_http_routes(),
        };

        return svc_run(&d, argc, argv);
}
