/*
 * pool: a fixed set of database connections shared by the HTTP threads.
 * A struct db is used by one thread at a time, so a handler borrows one
 * for the length of a request. Does not run queries itself.
 */
#include <stdlib.h>

#include "intake.h"

int
intake_pool_init(struct intake_pool *p, const char *conninfo, int n,
                 struct err *e)
{
        int i;

        p->n = n;
        p->dbs = calloc((size_t)n, sizeof(*p->dbs));
        p->busy = calloc((size_t)n, sizeof(*p->busy));
        if (p->dbs == NULL || p->busy == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        for (i = 0; i < n; i++) {
                p->dbs[i] = db_open(conninfo);
                if (p->dbs[i] == NULL)
                        return err_set(e, ERR_FATAL, NULL, "out of memory");
        }
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->cv, NULL);
        return 0;
}

void
intake_pool_fini(struct intake_pool *p)
{
        int i;

        for (i = 0; p->dbs != NULL && i < p->n; i++)
                db_free(p->dbs[i]);
        free(p->dbs);
        free(p->busy);
        if (p->n > 0) {
                pthread_mutex_destroy(&p->mu);
                pthread_cond_destroy(&p->cv);
        }
        p->dbs = NULL;
        p->busy = NULL;
        p->n = 0;
}

struct db *
intake_pool_get(struct intake_pool *p)
{
        struct db *db = NULL;
        int i;

        pthread_mutex_lock(&p->mu);
        while (db == NULL) {
                for (i = 0; i < p->n && db == NULL; i++) {
                        if (!p->busy[i]) {
                                p->busy[i] = true;
                                db = p->dbs[i];
                        }
                }
                if (db == NULL)
                        pthread_cond_wait(&p->cv, &p->mu);
        }
        pthread_mutex_unlock(&p->mu);
        return db;
}

void
intake_pool_put(struct intake_pool *p, struct db *db)
{
        int i;

        pthread_mutex_lock(&p->mu);
        for (i = 0; i < p->n; i++)
                if (p->dbs[i] == db)
                        p->busy[i] = false;
        pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
}
