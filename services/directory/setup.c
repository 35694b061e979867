/*
 * setup: the directory's own part of the start-up (svc_run's hooks): the
 * search pool beside the pool of reads svc_run opens, their statement
 * modes, the consumer's wait for missing references and the backfill of
 * service documents. The shared settings and the order of the start
 * belong to lib/svc_run.c.
 */
#include <unistd.h>

#include "directory.h"
#include "log.h"
#include "svc.h"
#include "svc_run.h"

/* readers: each statement text parsed once per connection of p, still
 * planned with its values. */
static void
readers(struct db_pool *p)
{
        for (int i = 0; i < p->n; i++) {
                db_set_prepare(p->dbs[i], true);
                db_set_custom_plans(p->dbs[i], true);
        }
}

/* search_pool: SIGNPOST_DIRECTORY_SEARCH_POOL, or the cores online. */
static int
search_pool(const struct cfg *cfg)
{
        long n = (long)cfg_int(cfg, "SIGNPOST_DIRECTORY_SEARCH_POOL");

        if (n <= 0)
                n = sysconf(_SC_NPROCESSORS_ONLN);
        return n > 0 && n < 64 ? (int)n : 2;
}

int
dir_setup_init(void *arg, struct svc_run *r, struct err *e)
{
        struct dir_commands *dc = r->consumer.arg;

        (void)arg;
        (void)e;
        dc->missing_ref_wait_s =
            (int)cfg_int(r->cfg, "SIGNPOST_DIRECTORY_MISSING_REF_WAIT_S");
        return 0;
}

int
dir_setup_start(void *arg, struct svc_run *r, struct err *e)
{
        struct dir_pools *pools = arg;

        if (db_pool_init(&pools->searches, cfg_str(r->cfg, "SIGNPOST_DB"),
                         search_pool(r->cfg), e) < 0)
                return -1;
        readers(&pools->reads);
        readers(&pools->searches);
        /* a thread per connection that can be lent at once */
        r->http.threads = (unsigned)(pools->reads.n + pools->searches.n);
        return 0;
}

void
dir_setup_fini(void *arg)
{
        struct dir_pools *pools = arg;

        db_pool_fini(&pools->searches);
}

/* dir_setup_backfill: stores the rendered documents of services that have
 * none (after the migration that added them, or a restore); reads serve
 * such services from the tables meanwhile, so a failure only costs
 * speed. */
void
dir_setup_backfill(void *arg, struct db *db)
{
        struct err e = {0};
        long n = 0;

        (void)arg;
        if (dir_docs_backfill(db, svc_stop_flag(), &n, &e) < 0)
                log_err(LOG_WARN, "service documents backfill failed", &e,
                        NULL);
        else if (n > 0)
                log_info("service documents stored", "services=%ld", n);
}
