/*
 * outbox: events written in the same transaction as the state change they
 * describe, and a relay thread that publishes them.
 *
 * Table <schema>.outbox (created by db_migrate's platform migration):
 * seq bigserial, ce_id uuid, topic, key, ce_type, ce_source, ce_time,
 * ce_subject, value bytea (NULL = tombstone). An insert trigger NOTIFYs
 * channel "outbox_<schema>" so the relay wakes at commit.
 *
 * The relay holds pg_try_advisory_lock on the schema so exactly one replica
 * publishes at a time (order per key is preserved: rows are published in
 * seq order through an idempotent producer). A row is deleted only after
 * its delivery report says the broker has it; a crash before that
 * republishes it with the same ce_id (at-least-once; consumers dedupe
 * through the inbox).
 */
#ifndef SIGNPOST_OUTBOX_H
#define SIGNPOST_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "db.h"
#include "err.h"
#include "event.h"

/* outbox_add: queues one event inside the caller's open transaction.
 * value may be NULL (tombstone). */
int outbox_add(struct db *db, const char *topic, const char *key,
               const struct event *ev, const void *value, size_t value_len,
               struct err *e);

/* One event for outbox_add_many(); every pointer is borrowed. */
struct outbox_item {
        const char *topic;
        const char *key;
        const struct event *ev;
        const void *value; /* NULL = tombstone */
        size_t value_len;
};

/* outbox_add_many: queues n events inside the caller's open transaction
 * with one statement; they are published in the order given (their seq
 * follows the array). n == 0 does nothing. */
int outbox_add_many(struct db *db, const struct outbox_item *items, size_t n,
                    struct err *e);

struct outbox_relay;

/* outbox_relay_start: returns new relay running in its own thread with its
 * own database connection and producer; stop and free with
 * outbox_relay_stop(). conninfo, schema, brokers are copied. */
struct outbox_relay *outbox_relay_start(const char *conninfo,
                                        const char *schema, const char *brokers,
                                        struct err *e);
/* outbox_relay_stop: asks the thread to finish its batch, joins, frees.
 * Accepts NULL. */
void outbox_relay_stop(struct outbox_relay *r);
/* outbox_relay_backlog: rows waiting at the last look; -1 unknown. */
int64_t outbox_relay_backlog(const struct outbox_relay *r);
/* outbox_relay_published: rows published and deleted since start. */
uint64_t outbox_relay_published(const struct outbox_relay *r);

#endif
