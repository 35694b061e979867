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

struct inbox {
        struct db *db;        /* borrowed */
        const char *consumer; /* borrowed; usually the consumer group */
        inbox_apply_fn apply;
        void *arg;
        unsigned long applied; /* counters since start */
        unsigned long duplicates;
        unsigned long invalid;
};

/* inbox_handle_batch: a kafka_batch_fn; arg is a struct inbox *. */
int inbox_handle_batch(void *arg, struct kafka_record *recs, size_t n,
                       struct err *e);

#endif
