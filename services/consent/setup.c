/*
 * setup: consent's own part of the start-up (svc_run's init and fini
 * hooks): the key of the ledger's hash chain. The shared settings, the
 * principal key and the order of the start belong to lib/svc_run.c.
 */
#include <stdio.h>

#include "consent.h"
#include "secret.h"
#include "svc_run.h"

static struct secret_key *chain; /* what ctx->chain_key borrows */

int
consent_setup_init(void *arg, struct svc_run *r, struct err *e)
{
        struct consent_ctx *ctx = arg;
        const char *p = cfg_str(r->cfg, "SIGNPOST_CONSENT_LEDGER_KEY_FILE");
        char path[1024];

        if (p == NULL) {
                snprintf(path, sizeof(path), "%s/blind-index.key",
                         cfg_str(r->cfg, "SIGNPOST_SECRETS_DIR"));
                p = path;
        }
        if (secret_key_load(p, SECRET_KEY_BYTES, NULL, &chain, e) < 0)
                return -1;
        ctx->chain_key = chain;
        return 0;
}

void
consent_setup_fini(void *arg)
{
        struct consent_ctx *ctx = arg;

        ctx->chain_key = NULL;
        secret_key_free(chain);
        chain = NULL;
}
