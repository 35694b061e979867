/*
 * svc_consumer: the start-up every daemon shares. svc_migrate brings a
 * schema up to date; svc_consumers_start runs a daemon's Kafka consumer
 * group through the inbox on one or more threads, each with its own
 * database connection and consumer (the group spreads the partitions
 * over them), and marks readiness component "consumer" once all have
 * joined. A thread whose consumer fails fatally asks the process to stop.
 *
 *   struct svc_consumer_spec s = {.conninfo = db, .brokers = k,
 *       .group = "intake", .topics = topics, .apply = fn, .arg = ctx,
 *       .batch = 500, .threads = 2};
 *   struct svc_consumers *c = svc_consumers_start(&s, &e);
 *   ... svc_request_stop(); svc_consumers_join(c);
 */
#ifndef SIGNPOST_SVC_CONSUMER_H
#define SIGNPOST_SVC_CONSUMER_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "err.h"
#include "inbox.h"

struct cfg;

/* svc_migrate: brings schema up to date before the daemon starts. With
 * owner (the schema owner's conninfo) it connects as the owner (waiting
 * up to 30 s for the database), applies dir's migrations and grants the
 * role named in runtime (SIGNPOST_DB) its rights (db_migrate_grant);
 * a runtime conninfo naming the owner itself is refused. Without owner it
 * only checks, as the runtime role, that every migration is applied:
 * the daemon never holds DDL rights it does not need. */
int svc_migrate(const char *runtime, const char *owner, const char *schema,
                const char *dir, struct err *e);
/* svc_migrate_cfg: svc_migrate with SIGNPOST_DB, SIGNPOST_DB_MIGRATE and
 * SIGNPOST_MIGRATIONS_DIR from cfg. */
int svc_migrate_cfg(const struct cfg *cfg, const char *schema, struct err *e);
/* svc_migrate_main: a daemon's -m (cfg_main_check's CFG_MAIN_MIGRATE):
 * svc_migrate_cfg with SIGNPOST_DB_MIGRATE required, then exit; frees
 * cfg; returns the exit status. */
int svc_migrate_main(struct cfg *cfg, const char *schema);

struct svc_consumer_spec {
        const char *conninfo;      /* the daemon's database */
        const char *schema;        /* search_path to set; NULL = role's */
        const char *brokers;       /* Kafka bootstrap */
        const char *group;         /* consumer group and inbox consumer */
        const char *const *topics; /* NULL-terminated */
        inbox_apply_fn apply;
        inbox_flush_fn flush; /* may be NULL */
        inbox_begin_fn begin; /* may be NULL */
        void *arg;            /* for apply, flush and the hooks */
        size_t batch;         /* records per transaction (>= 1) */
        int threads;          /* consumer threads (>= 1) */
        bool prepare;         /* db_set_prepare on their connections */
        /* optional: on each thread, once subscribed and before the
         * first record (thread_start; readiness is already reported, so
         * slow catch-up work may go here), and when it ends (thread_end) */
        void (*thread_start)(void *arg, struct db *db);
        void (*thread_end)(void *arg);
};

struct svc_consumers;

/* svc_consumers_start: spec (and what it points to) must outlive the
 * consumers. Returns new consumers, release with svc_consumers_join(). */
struct svc_consumers *svc_consumers_start(const struct svc_consumer_spec *spec,
                                          struct err *e);
/* svc_consumers_join: waits for every thread (call after a stop was
 * requested) and frees c. Returns 0, or -1 if any thread failed. NULL is
 * fine. */
int svc_consumers_join(struct svc_consumers *c);

#endif
