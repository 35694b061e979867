/*
 * signpost-gateway: the public edge. main() reads the config, migrates
 * schema `gateway`, makes the shared state (gw.c), starts the replica
 * consumer and the HTTP server, waits for SIGTERM and stops them in
 * reverse order. Everything else lives in the files named in gateway.h.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cfg.h"
#include "gateway.h"
#include "log.h"
#include "svc.h"
#include "svc_consumer.h"

static const struct cfg_entry gateway_cfg[] = {
    {"SIGNPOST_DB", CFG_STR, NULL, true,
     "PostgreSQL conninfo of the daemon's own role"},
    SVC_CFG_DB_MIGRATE,
    {"SIGNPOST_KAFKA", CFG_STR, NULL, true, "Kafka bootstrap servers"},
    {"SIGNPOST_GATEWAY_LISTEN", CFG_STR, "127.0.0.1:8080", false,
     "HTTP listen address"},
    {"SIGNPOST_PRINCIPAL_KEY_FILE", CFG_PATH, NULL, true,
     "32-byte MAC key for X-Signpost-Principal"},
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
    {"SIGNPOST_MIGRATIONS_DIR", CFG_PATH, "services/gateway/migrations", false,
     "gateway migrations"},
    {"SIGNPOST_LOG_LEVEL", CFG_STR, "info", false, "log level"},
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

static double
num(const struct cfg *cfg, const char *name)
{
        return strtod(cfg_str(cfg, name), NULL);
}

/* settings: the config as gw_settings; paths is scratch for defaults. */
static void
settings(const struct cfg *cfg, struct gw_settings *s, char paths[3][1024])
{
        const char *dir = cfg_str(cfg, "SIGNPOST_SECRETS_DIR");

        snprintf(paths[0], 1024, "%s/token-hash.key", dir);
        snprintf(paths[1], 1024, "%s/intake.pk", dir);
        snprintf(paths[2], 1024, "%s/reporting.pk", dir);
        *s = (struct gw_settings){
            .db = cfg_str(cfg, "SIGNPOST_DB"),
            .kafka = cfg_str(cfg, "SIGNPOST_KAFKA"),
            .intake_url = cfg_str(cfg, "SIGNPOST_INTAKE_URL"),
            .directory_url = cfg_str(cfg, "SIGNPOST_DIRECTORY_URL"),
            .consent_url = cfg_str(cfg, "SIGNPOST_CONSENT_URL"),
            .principal_key_file = cfg_str(cfg, "SIGNPOST_PRINCIPAL_KEY_FILE"),
            .token_key_file = cfg_isset(cfg, "SIGNPOST_TOKEN_KEY_FILE")
                                  ? cfg_str(cfg, "SIGNPOST_TOKEN_KEY_FILE")
                                  : paths[0],
            .intake_pk_file =
                cfg_isset(cfg, "SIGNPOST_INTAKE_PUBLIC_KEY_FILE")
                    ? cfg_str(cfg, "SIGNPOST_INTAKE_PUBLIC_KEY_FILE")
                    : paths[1],
            .reporting_pk_file =
                cfg_isset(cfg, "SIGNPOST_REPORTING_PUBLIC_KEY_FILE")
                    ? cfg_str(cfg, "SIGNPOST_REPORTING_PUBLIC_KEY_FILE")
                    : paths[2],
            .openapi_file = cfg_str(cfg, "SIGNPOST_GATEWAY_OPENAPI"),
            .assets_dir = cfg_str(cfg, "SIGNPOST_GATEWAY_ASSETS"),
            .privacy_notice_version =
                cfg_str(cfg, "SIGNPOST_PRIVACY_NOTICE_VERSION"),
            .privacy_contact = cfg_str(cfg, "SIGNPOST_GATEWAY_PRIVACY_CONTACT"),
            .produce_timeout_ms =
                (int)cfg_int(cfg, "SIGNPOST_GATEWAY_PRODUCE_TIMEOUT"),
            .db_pool = (int)cfg_int(cfg, "SIGNPOST_GATEWAY_DB_POOL"),
            .ip_rate = num(cfg, "SIGNPOST_GATEWAY_RATE_IP"),
            .ip_burst = num(cfg, "SIGNPOST_GATEWAY_BURST_IP"),
            .token_rate = num(cfg, "SIGNPOST_GATEWAY_RATE_TOKEN"),
            .token_burst = num(cfg, "SIGNPOST_GATEWAY_BURST_TOKEN"),
            .form_rate = num(cfg, "SIGNPOST_GATEWAY_RATE_FORM"),
            .form_burst = num(cfg, "SIGNPOST_GATEWAY_BURST_FORM"),
            .tls = cfg_bool(cfg, "SIGNPOST_GATEWAY_TLS"),
        };
}

/* http_threads: the HTTP threads to run. Nothing waits on them (Kafka,
 * forwarded reads and the pages' directory reads are answered later), so
 * more threads than cores only add switching. */
static unsigned
http_threads(long long set)
{
        long cores = sysconf(_SC_NPROCESSORS_ONLN);

        if (set > 0)
                return (unsigned)set;
        return cores > 2 ? (unsigned)cores : 2;
}

int
main(int argc, char **argv)
{
        struct cfg *cfg = NULL;
        struct http_server *srv = NULL;
        struct gw_settings set;
        struct gw g = {0};
        struct svc_consumers *cons = NULL;
        const char *topics[] = {GW_TOPIC_SERVICES, GW_TOPIC_ORGS,
                                GW_TOPIC_SUBMISSIONS, GW_TOPIC_EVENTS, NULL};
        struct err e = {0};
        enum log_level lvl = LOG_INFO;
        char paths[3][1024];
        int rc = cfg_main_check(argc, argv, gateway_cfg, &cfg);

        if (rc == CFG_MAIN_MIGRATE)

                return svc_migrate_main(cfg, GW_SCHEMA);

        if (rc != CFG_MAIN_RUN)
                return rc;
        log_level_parse(cfg_str(cfg, "SIGNPOST_LOG_LEVEL"), &lvl);
        log_init("gateway", lvl);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        settings(cfg, &set, paths);
        rc = 1;
        if (svc_signals_install() < 0 ||
            svc_migrate_cfg(cfg, GW_SCHEMA, &e) < 0 ||
            gw_init(&g, &set, &e) < 0)
                goto out;
        /* the catalogue and status replicas; the same few statements
         * over and over, so prepared once per connection */
        struct svc_consumer_spec spec = {.conninfo = set.db,
                                         .schema = GW_SCHEMA,
                                         .brokers = set.kafka,
                                         .group = "gateway",
                                         .topics = topics,
                                         .apply = gw_consume_apply,
                                         .flush = gw_consume_flush,
                                         .arg = &g,
                                         .batch = 200,
                                         .threads = 1,
                                         .prepare = true};
        cons = svc_consumers_start(&spec, &e);
        if (cons == NULL)
                goto out;
        struct http_opts opts = {
            .threads = http_threads(cfg_int(cfg, "SIGNPOST_GATEWAY_THREADS")),
            .max_body = GW_MAX_BODY,
            .headers = gw_server_headers(set.tls)};
        srv = http_server_start(cfg_str(cfg, "SIGNPOST_GATEWAY_LISTEN"),
                                gw_http_routes(), &g, &opts, &e);
        if (srv == NULL)
                goto out;
        log_info("started", "listen=%s",
                 cfg_str(cfg, "SIGNPOST_GATEWAY_LISTEN"));
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
        gw_fini(&g);
        cfg_free(cfg);
        curl_global_cleanup();
        log_info("stopped", "rc=%d", rc);
        return rc;
}
