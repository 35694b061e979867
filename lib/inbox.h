/*
 * inbox: exactly-once effect over at-least-once delivery.
 *
 * Table <schema>.inbox (consumer text, ce_id uuid, primary key both,
 * handled_at). inbox_handle_batch() opens one transaction for a batch of
 * records; a record whose (consumer, ce_id) is already present is a
 * duplicate and is skipped; each new one is applied by the caller's
 * function; all inbox rows and effects commit together. Only after that
 * commit does the Kafka consumer store the offsets.
 */
#ifndef SIGNPOST_INBOX_H
#define SIGNPOST_INBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "db.h"
#include "err.h"
#include "kafka.h"

/* inbox_apply_fn: apply rec's effect on db inside the open transaction.
 * Return 0, or -1 with e: ERR_INVALID -> this record's effect is undone
 * and it is dead-lettered (its ce_id stays recorded, so a redelivery is
 * not dead-lettered twice); ERR_TRANSIENT while the connection holds ->
 * this record waits: its effect is undone, its ce_id not recorded, and it
 * and the later records of its partition are marked ERR_TRANSIENT, so the
 * consumer retries from it after a back-off (records of other partitions
 * in the batch are still applied); ERR_FATAL or a lost connection -> the
 * whole batch is rolled back and the error returned. */
typedef int (*inbox_apply_fn)(void *arg, struct db *db,
                              const struct kafka_record *rec, struct err *e);

/* inbox_flush_fn: optional; for an apply function that buffers writes
 * (several records' outbox events in one statement, say). With keep, it
 * writes what was buffered, in the open transaction, and empties the
 * buffer; without keep it only drops the buffer (no SQL). Called with keep
 * once after the last record of a batch, before COMMIT (when records run
 * one by one after a failure: after each applied record, inside its
 * savepoint); without keep at the start of every pass and when a record
 * fails (then e may be NULL). A failure with keep counts as the failure
 * of those records. */
typedef int (*inbox_flush_fn)(void *arg, struct db *db, bool keep,
                              struct err *e);

/* inbox_begin_fn: optional; for an apply function that does better with
 * the whole batch in view (looking up every record's rows with one
 * statement, say). Called in the open transaction when a pass applies the
 * batch in one go, before its first record, with the records that are new
 * (fresh[i] points into the batch); never when records run one by one.
 * Whatever it prepares must leave each record's apply correct on its own;
 * a record it cannot judge is simply left to apply. Its state lives until
 * the flush hook runs without keep (the next pass or batch). A failure
 * counts as the failure of the pass (TRANSIENT or INVALID while the
 * connection stands: the batch runs again record by record). */
typedef int (*inbox_begin_fn)(void *arg, struct db *db,
                              const struct kafka_record *const *fresh, size_t n,
                              struct err *e);

struct inbox {
        struct db *db;        /* borrowed */
        const char *consumer; /* borrowed; usually the consumer group */
        inbox_apply_fn apply;
        void *arg;
        inbox_flush_fn flush;  /* may be NULL; gets arg */
        inbox_begin_fn begin;  /* may be NULL; gets arg */
        unsigned long applied; /* counters since start */
        unsigned long duplicates;
        unsigned long invalid;
};

/* inbox_handle_batch: a kafka_batch_fn; arg is a struct inbox *. */
int inbox_handle_batch(void *arg, struct kafka_record *recs, size_t n,
                       struct err *e);

#endif
