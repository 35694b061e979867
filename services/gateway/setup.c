/*
 * setup: the gateway's own part of the start-up (svc_run's hooks): its
 * settings as a struct gw_settings, libcurl's global state, the HTTP
 * server's threads and headers, and the shared state (gw_init) once the
 * schema is there. The shared settings and the order of the start belong
 * to lib/svc_run.c.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "gateway.h"
#include "svc_run.h"

/* What gw borrows: lives as long as the process. */
static struct gw_settings gw_set;
static char default_paths[3][1024];

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
gw_setup_init(void *arg, struct svc_run *r, struct err *e)
{
        (void)arg;
        (void)e;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        settings(r->cfg, &gw_set, default_paths);
        r->http = (struct http_opts){.threads = http_threads(cfg_int(
                                         r->cfg, "SIGNPOST_GATEWAY_THREADS")),
                                     .max_body = GW_MAX_BODY,
                                     .headers = gw_server_headers(gw_set.tls)};
        return 0;
}

int
gw_setup_start(void *arg, struct svc_run *r, struct err *e)
{
        (void)r;
        return gw_init(arg, &gw_set, e);
}

void
gw_setup_fini(void *arg)
{
        gw_fini(arg);
        curl_global_cleanup();
}
