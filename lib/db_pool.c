/*
 * db_pool: lending a fixed set of connections to threads. Owns the
 * connections; does not run queries itself.
 */
#include "db_pool.h"

#include <stdlib.h>

int
db_pool_init(struct db_pool *p, const char *conninfo, int n, struct err *e)
{
        p->n = 0;
        p->next_ticket = 0;
        p->serving = 0;
        p->dbs = calloc((size_t)n, sizeof(*p->dbs));
        p->busy = calloc((size_t)n, sizeof(*p->busy));
        if (p->dbs == NULL || p->busy == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        pthread_mutex_init(&p->mu, NULL);
        pthread_cond_init(&p->cv, NULL);
        for (p->n = 0; p->n < n; p->n++) {
                p->dbs[p->n] = db_open(conninfo);
                if (p->dbs[p->n] == NULL)
                        return err_set(e, ERR_FATAL, NULL, "out of memory");
        }
        return 0;
}

void
db_pool_fini(struct db_pool *p)
{
        for (int i = 0; p->dbs != NULL && i < p->n; i++)
                db_free(p->dbs[i]);
        if (p->dbs != NULL) {
                pthread_mutex_destroy(&p->mu);
                pthread_cond_destroy(&p->cv);
        }
        free(p->dbs);
        free(p->busy);
        p->dbs = NULL;
        p->busy = NULL;
        p->n = 0;
}

struct db *
db_pool_get(struct db_pool *p)
{
        struct db *db = NULL;
        unsigned long ticket;

        pthread_mutex_lock(&p->mu);
        ticket = p->next_ticket++;
        for (;;) {
                /* a connection goes to the oldest ticket: one given back
                 * is not taken by a newcomer while others wait */
                for (int i = 0; ticket == p->serving && i < p->n; i++) {
                        if (!p->busy[i]) {
                                p->busy[i] = true;
                                db = p->dbs[i];
                                break;
                        }
                }
                if (db != NULL)
                        break;
                pthread_cond_wait(&p->cv, &p->mu);
        }
        p->serving++;
        /* the next ticket may find a connection free as well */
        if (p->serving != p->next_ticket)
                pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
        return db;
}

void
db_pool_put(struct db_pool *p, struct db *db)
{
        pthread_mutex_lock(&p->mu);
        for (int i = 0; i < p->n; i++)
                if (p->dbs[i] == db)
                        p->busy[i] = false;
        /* every waiter wakes; the one holding the oldest ticket takes it */
        if (p->serving != p->next_ticket)
                pthread_cond_broadcast(&p->cv);
        pthread_mutex_unlock(&p->mu);
}
