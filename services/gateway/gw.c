/*
 * gw: the daemon's shared state: keys (principal MAC key, token-hash key,
 * intake's public key), the database pool, the producer, the catalogue
 * (loaded from the replica), the rate limiters and the OpenAPI document.
 * main.c and the tests make one with gw_init(). Does not serve requests.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "log.h"

/* read_text: returns new contents of path (NUL-terminated), or NULL. */
static char *
read_text(const char *path, size_t max, size_t *len)
{
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        size_t n = 0;

        if (f == NULL)
                return NULL;
        buf = malloc(max + 1);
        if (buf != NULL) {
                n = fread(buf, 1, max + 1, f);
                if (n > max || ferror(f)) {
                        free(buf);
                        buf = NULL;
                } else {
                        buf[n] = '\0';
                }
        }
        fclose(f);
        if (len != NULL)
                *len = n;
        return buf;
}

static int
load_catalogue(struct gw *g, struct err *e)
{
        struct db *db = db_pool_get(&g->pool);
        int rc = db_ensure(db, 30000, e) < 0
                     ? -1
                     : gw_store_services_load(db, g->cat, e);

        db_pool_put(&g->pool, db);
        if (rc == 0)
                log_info("catalogue loaded", "services=%zu",
                         gw_catalogue_count(g->cat));
        return rc;
}

int
gw_init(struct gw *g, const struct gw_settings *set, struct err *e)
{
        memset(g, 0, sizeof(*g));
        g->set = *set;
        if (secret_key_load(set->principal_key_file, HTTP_PRINCIPAL_KEY_BYTES,
                            NULL, &g->principal_key, e) < 0 ||
            secret_key_load(set->token_key_file, SECRET_KEY_BYTES, NULL,
                            &g->token_key, e) < 0 ||
            secret_pk_load(set->intake_pk_file, g->intake_pk, e) < 0 ||
            secret_pk_load(set->reporting_pk_file, g->reporting_pk, e) < 0 ||
            secret_sender_new(g->intake_pk, 0, &g->to_intake, e) < 0)
                return -1;
        g->openapi = read_text(set->openapi_file, 1024 * 1024, &g->openapi_len);
        if (g->openapi == NULL)
                return err_set(e, ERR_FATAL, "SIGNPOST_GATEWAY_OPENAPI",
                               "cannot read the OpenAPI document");
        g->cat = gw_catalogue_new();
        g->lim_ip = gw_limiter_new(set->ip_rate, set->ip_burst);
        g->lim_token = gw_limiter_new(set->token_rate, set->token_burst);
        g->lim_form = gw_limiter_new(set->form_rate, set->form_burst);
        if (g->cat == NULL || g->lim_ip == NULL || g->lim_token == NULL ||
            g->lim_form == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        if (db_pool_init(&g->pool, set->db, set->db_pool, e) < 0)
                return -1;
        for (int i = 0; i < g->pool.n; i++)
                db_set_schema(g->pool.dbs[i], GW_SCHEMA);
        if (load_catalogue(g, e) < 0)
                return -1;
        g->prod = gw_producer_new(set->kafka, set->produce_timeout_ms, e);
        if (g->prod == NULL)
                return -1;
        g->upstream = gw_upstream_new();
        if (g->upstream == NULL)
                return err_set(e, ERR_FATAL, NULL,
                               "cannot start the upstream loop");
        return 0;
}

void
gw_fini(struct gw *g)
{
        gw_upstream_free(g->upstream); /* before what its jobs use */
        gw_producer_free(g->prod);
        db_pool_fini(&g->pool);
        gw_catalogue_free(g->cat);
        gw_limiter_free(g->lim_ip);
        gw_limiter_free(g->lim_token);
        gw_limiter_free(g->lim_form);
        secret_key_free(g->principal_key);
        secret_key_free(g->token_key);
        secret_sender_free(g->to_intake);
        free(g->openapi);
        memset(g, 0, sizeof(*g));
}
