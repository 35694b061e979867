/*
 * db_pool: a fixed set of database connections shared by a daemon's HTTP
 * threads. A struct db is used by one thread at a time, so a handler
 * borrows one for the length of a request and gives it back.
 */
#ifndef SIGNPOST_DB_POOL_H
#define SIGNPOST_DB_POOL_H

#include <pthread.h>
#include <stdbool.h>

#include "db.h"
#include "err.h"

struct db_pool {
        pthread_mutex_t mu;
        pthread_cond_t cv;
        int n;
        struct db **dbs;
        bool *busy;
        /* first come, first served: borrowers take a ticket and are lent
         * a connection in ticket order */
        unsigned long next_ticket, serving;
};

/* db_pool_init: n connections, opened lazily (db_open) with conninfo
 * (each daemon's role carries its own search_path). Release with
 * db_pool_fini(). */
int db_pool_init(struct db_pool *p, const char *conninfo, int n, struct err *e);
/* db_pool_fini: closes every connection; safe on a zeroed pool. */
void db_pool_fini(struct db_pool *p);
/* db_pool_get: returns borrowed db, blocking until one is free (waiting
 * borrowers are served in the order they came); give it back with
 * db_pool_put(). */
struct db *db_pool_get(struct db_pool *p);
void db_pool_put(struct db_pool *p, struct db *db);

#endif
