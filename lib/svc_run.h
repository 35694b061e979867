/*
 * svc_run: the one skeleton of every daemon. A daemon's main() describes
 * itself (its own settings, its hooks, its consumer, its extra threads
 * and its routes) and hands the description to svc_run(), which owns the
 * rest: the settings every daemon shares, the command line (-n, -m, -h),
 * the order things start in and stop in, and the wait for SIGTERM.
 *
 *   static const struct cfg_entry own[] = {..., {NULL, 0, NULL, false,
 *                                                NULL}};
 *   int main(int argc, char **argv) {
 *           static struct consent_ctx ctx;
 *           const struct svc_desc d = {.name = "consent", .cfg = own, ...};
 *           return svc_run(&d, argc, argv);
 *   }
 *
 * Start order: config, log, signals, the principal key, init(), the
 * migrations, the outbox relay, the pool, start(), the consumers, the
 * workers, the HTTP server; then "started" and the wait. Stop order is
 * the reverse, from whichever step was reached, then fini(). A failure
 * is logged once ("stopping" with its kind and message).
 *
 * Exit status: 0 after a clean stop; 1 on a config error (printed to
 * stderr), a failure to start, or a consumer that failed; 2 on an
 * unknown argument; -n and -h exit 0 after printing; -m exits 0 once
 * the migrations are applied.
 */
#ifndef SIGNPOST_SVC_RUN_H
#define SIGNPOST_SVC_RUN_H

#include <stdbool.h>

#include "cfg.h"
#include "db_pool.h"
#include "err.h"
#include "http.h"
#include "svc_consumer.h"

/* What svc_run made so far, handed to the hooks. A hook may change
 * consumer (batch, threads from the daemon's settings) and http
 * (threads, limits, headers; principal_key NULL for a daemon that
 * takes no principal) before they start. */
struct svc_run {
        const struct cfg *cfg;
        /* SIGNPOST_PRINCIPAL_KEY_FILE: HTTP_PRINCIPAL_KEY_BYTES bytes,
         * borrowed, valid until fini() has returned */
        const unsigned char *principal_key;
        struct svc_consumer_spec consumer; /* desc's, with db and brokers */
        struct http_opts http; /* principal_key set; threads = pool's */
};

/* A thread of the daemon's besides the consumers and the HTTP server
 * (a timer, a sender loop). start returns new handle (NULL with e set:
 * the daemon does not start); stop is called once the process is
 * stopping and must join the thread and free the handle. */
struct svc_worker {
        void *(*start)(void *ctx, const struct cfg *cfg, struct err *e);
        void (*stop)(void *handle);
};

#define SVC_WORKERS_MAX 4

struct svc_desc {
        const char *name;   /* log's svc; SIGNPOST_<NAME>_LISTEN */
        const char *schema; /* migrations (services/<name>/migrations) */
        const char *listen; /* SIGNPOST_<NAME>_LISTEN's default */
        /* the daemon's own settings, after the shared ones ({NULL}-ended);
         * an entry named like a shared one replaces it (its default,
         * required, help) */
        const struct cfg_entry *cfg;
        bool outbox; /* runs the relay of schema's outbox */
        /* optional: the pool svc_run opens on SIGNPOST_DB, sized by the
         * CFG_INT setting pool_size names (the HTTP threads' default) */
        struct db_pool *pool;
        const char *pool_size;
        void *ctx; /* handed to every hook and to the routes */
        /* optional hooks, each 0 or -1 with e set: init before the
         * migrations (settings, keys: no database yet), start once the
         * schema, relay and pool are there (state that reads it) */
        int (*init)(void *ctx, struct svc_run *r, struct err *e);
        int (*start)(void *ctx, struct svc_run *r, struct err *e);
        /* optional: frees what init and start made (also when they failed
         * half way: it must cope with what is still zero) */
        void (*fini)(void *ctx);
        /* the consumer group (conninfo and brokers are filled in);
         * group NULL: none */
        struct svc_consumer_spec consumer;
        struct svc_worker workers[SVC_WORKERS_MAX]; /* start NULL ends */
        const struct http_route *routes;
};

/* svc_run: runs the daemon d describes until it is asked to stop (d and
 * what it points to must outlive the call; call once per process).
 * Returns the exit status (above). */
int svc_run(const struct svc_desc *d, int argc, char **argv);

#endif
