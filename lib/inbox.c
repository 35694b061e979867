/*
 * inbox: applies a batch of Kafka records in one transaction, skipping
 * records whose ce_id this consumer already handled. Owns the inbox table's
 * rows; does not own the records' effects (the caller's apply function) nor
 * offset storage (kafka.c, after this returns).
 */
#include "inbox.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* claim: records the batch's ce_ids; returns new PGresult listing the ids
 * that were not there before (one row each), or NULL. */
static PGresult *
claim(struct inbox *in, struct kafka_record *recs, size_t n, struct err *e)
{
        size_t cap = n * 40 + 3, o = 0, i;
        char *arr = malloc(cap);
        const char *p[2] = {in->consumer, arr};
        PGresult *r;

        if (arr == NULL) {
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                return NULL;
        }
        arr[o++] = '{';
        for (i = 0; i < n; i++)
                o += (size_t)snprintf(arr + o, cap - o, "%s%s", i ? "," : "",
                                      recs[i].ev.id);
        arr[o++] = '}';
        arr[o] = '\0';
        r = db_query(in->db,
                     "INSERT INTO inbox (consumer, ce_id)"
                     " SELECT $1, unnest($2::uuid[]) ON CONFLICT DO NOTHING"
                     " RETURNING ce_id::text",
                     2, p, e);
        free(arr);
        return r;
}

/* remember_invalid: records why rec was dead-lettered, so a redelivery
 * (after a dead letter that was never acknowledged) is dead-lettered again
 * instead of passing as a harmless duplicate. */
static int
remember_invalid(struct inbox *in, const struct kafka_record *rec,
                 struct err *e)
{
        const char *p[3] = {in->consumer, rec->ev.id, rec->reason};

        return db_exec(in->db,
                       "UPDATE inbox SET reason = $3"
                       " WHERE consumer = $1 AND ce_id = $2::uuid",
                       3, p, NULL, e);
}

/* recall_invalid: for a duplicate, fills rec's result from the inbox if
 * it was dead-lettered before. */
static int
recall_invalid(struct inbox *in, struct kafka_record *rec, struct err *e)
{
        const char *p[2] = {in->consumer, rec->ev.id};
        PGresult *r = db_query(in->db,
                               "SELECT reason FROM inbox WHERE consumer = $1"
                               " AND ce_id = $2::uuid AND reason IS NOT NULL",
                               2, p, e);

        if (r == NULL)
                return -1;
        if (PQntuples(r) == 1) {
                rec->result = ERR_INVALID;
                snprintf(rec->reason, sizeof(rec->reason), "%s",
                         PQgetvalue(r, 0, 0));
        }
        PQclear(r);
        return 0;
}

/* take_new: true (once) if rec's id is among the newly claimed ids. */
static bool
take_new(PGresult *fresh, bool *used, const struct kafka_record *rec)
{
        int i, n = PQntuples(fresh);

        for (i = 0; i < n; i++) {
                if (!used[i] &&
                    strcasecmp(PQgetvalue(fresh, i, 0), rec->ev.id) == 0) {
                        used[i] = true;
                        return true;
                }
        }
        return false;
}

/* unclaim: forgets rec's ce_id so a redelivery applies (or judges) it
 * again. */
static int
unclaim(struct inbox *in, const struct kafka_record *rec, struct err *e)
{
        const char *p[2] = {in->consumer, rec->ev.id};

        return db_exec(in->db,
                       "DELETE FROM inbox WHERE consumer = $1 AND ce_id = $2",
                       2, p, NULL, e);
}

static bool
same_partition(const struct kafka_record *a, const struct kafka_record *b)
{
        return a->partition == b->partition &&
               (a->topic == b->topic || (a->topic != NULL && b->topic != NULL &&
                                         strcmp(a->topic, b->topic) == 0));
}

/* blocked: true if an earlier record of rec's partition is waiting. */
static bool
blocked(const struct kafka_record *recs, size_t i)
{
        for (size_t j = 0; j < i; j++)
                if (recs[j].result == ERR_TRANSIENT &&
                    same_partition(&recs[j], &recs[i]))
                        return true;
        return false;
}

/* settle: after an isolated record failed with ae (undone by the caller),
 * marks it. A TRANSIENT one waits (its claim is dropped; the consumer
 * stops at it and redelivers it and everything after it); an INVALID one
 * after a waiting record is dropped too, so its redelivery is dead-lettered
 * then, not skipped as a duplicate. */
static int
settle(struct inbox *in, struct kafka_record *recs, size_t i, bool waiting,
       const struct err *ae, struct err *e)
{
        struct kafka_record *r = &recs[i];

        r->result = ae->kind == ERR_TRANSIENT ? ERR_TRANSIENT : ERR_INVALID;
        snprintf(r->reason, sizeof(r->reason), "%s%s%s",
                 ae->field[0] ? ae->field : "", ae->field[0] ? ": " : "",
                 ae->msg);
        if (r->result == ERR_INVALID)
                in->invalid++;
        if (r->result == ERR_TRANSIENT || waiting)
                return unclaim(in, r, e);
        return remember_invalid(in, r, e);
}

/* flush: the optional flush hook; 0 when there is none. */
static int
flush(struct inbox *in, bool keep, struct err *e)
{
        if (in->flush == NULL)
                return 0;
        return in->flush(in->arg, in->db, keep, e);
}

/* one_by_one: after a hook failed with he in a pass over the whole
 * batch: 1 when the batch should be retried record by record (he INVALID,
 * or TRANSIENT with the connection standing), else -1 with e = he. */
static int
one_by_one(struct inbox *in, const struct err *he, struct err *e)
{
        if (he->kind == ERR_INVALID ||
            (he->kind == ERR_TRANSIENT && db_connected(in->db)))
                return 1;
        *e = *he;
        return -1;
}

/* flush_batch: writes what a whole pass buffered. Returns 0, 1 when the
 * batch should be retried record by record, -1 with e filled. */
static int
flush_batch(struct inbox *in, struct err *e)
{
        struct err fe = {0};

        if (flush(in, true, &fe) == 0)
                return 0;
        return one_by_one(in, &fe, e);
}

/* begin: the optional begin hook over the batch's new records. Returns
 * 0, 1 when the batch should run record by record, -1 with e filled. */
static int
begin(struct inbox *in, const struct kafka_record *recs, size_t n,
      const bool *isnew, struct err *e)
{
        const struct kafka_record **fresh = calloc(n + 1, sizeof(*fresh));
        struct err be = {0};
        size_t k = 0;
        int rc;

        if (fresh == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        for (size_t i = 0; i < n; i++)
                if (isnew[i])
                        fresh[k++] = &recs[i];
        rc = k > 0 ? in->begin(in->arg, in->db, fresh, k, &be) : 0;
        free(fresh);
        return rc == 0 ? 0 : one_by_one(in, &be, e);
}

/* apply_all: one pass over the batch inside an open transaction. With
 * isolate, each record runs under a savepoint so an INVALID or TRANSIENT
 * one is undone alone; records of a partition after a TRANSIENT one are
 * not applied (order within a partition holds), records of other
 * partitions still are, so what a waiting record depends on can arrive.
 * The flush hook runs after each applied record with isolate, once at
 * the end without. Without isolate, the first INVALID or TRANSIENT (of
 * a record or of the flush) aborts the pass (returns 1). */
static int
apply_all(struct inbox *in, struct kafka_record *recs, size_t n, bool isolate,
          struct err *e)
{
        PGresult *fresh = claim(in, recs, n, e);
        bool *used = NULL, *isnew = NULL, waiting = false;
        size_t i;
        int rc = -1;

        if (fresh == NULL)
                return -1;
        used = calloc((size_t)PQntuples(fresh) + 1, sizeof(*used));
        isnew = calloc(n + 1, sizeof(*isnew));
        if (used == NULL || isnew == NULL) {
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                goto out;
        }
        for (i = 0; i < n; i++)
                isnew[i] = take_new(fresh, used, &recs[i]);
        if (!isolate && in->begin != NULL) {
                rc = begin(in, recs, n, isnew, e);
                if (rc != 0)
                        goto out;
                rc = -1;
        }
        for (i = 0; i < n; i++) {
                struct err ae = {0};

                recs[i].result = ERR_NONE;
                recs[i].reason[0] = '\0';
                if (!isnew[i]) {
                        in->duplicates++;
                        if (recall_invalid(in, &recs[i], e) != 0)
                                goto out;
                        continue;
                }
                if (isolate && blocked(recs, i)) {
                        recs[i].result = ERR_TRANSIENT;
                        if (unclaim(in, &recs[i], e) != 0)
                                goto out;
                        continue;
                }
                if (isolate && db_savepoint(in->db, e) != 0)
                        goto out;
                if (in->apply(in->arg, in->db, &recs[i], &ae) == 0 &&
                    (!isolate || flush(in, true, &ae) == 0)) {
                        if (isolate && db_release(in->db, e) != 0)
                                goto out;
                        in->applied++;
                        continue;
                }
                /* A TRANSIENT record is isolated like an INVALID one while
                 * the connection stands; a lost connection ends the pass. */
                if (ae.kind != ERR_INVALID &&
                    (ae.kind != ERR_TRANSIENT || !db_connected(in->db))) {
                        *e = ae;
                        goto out;
                }
                if (!isolate) {
                        rc = 1;
                        goto out;
                }
                flush(in, false, NULL);
                if (db_rollback_to(in->db, e) != 0 ||
                    settle(in, recs, i, waiting, &ae, e) != 0)
                        goto out;
                waiting = waiting || recs[i].result == ERR_TRANSIENT;
        }
        rc = isolate ? 0 : flush_batch(in, e);
out:
        free(isnew);
        free(used);
        PQclear(fresh);
        return rc;
}

/* attempt: one transaction over the batch; 0 committed, 1 retry
 * isolated, -1 error. */
static int
attempt(struct inbox *in, struct kafka_record *recs, size_t n, bool isolate,
        struct err *e)
{
        unsigned long a = in->applied, d = in->duplicates, v = in->invalid;
        int rc;

        flush(in, false, NULL);
        if (db_ensure(in->db, 0, e) != 0 || db_begin(in->db, e) != 0)
                return -1;
        rc = apply_all(in, recs, n, isolate, e);
        if (rc == 0 && db_commit(in->db, e) == 0)
                return 0;
        db_rollback(in->db);
        in->applied = a; /* nothing of this pass stands */
        in->duplicates = d;
        in->invalid = v;
        return rc == 1 ? 1 : -1;
}

int
inbox_handle_batch(void *arg, struct kafka_record *recs, size_t n,
                   struct err *e)
{
        struct inbox *in = arg;
        int rc;

        if (n == 0)
                return 0;
        rc = attempt(in, recs, n, false, e);
        if (rc == 1)
                rc = attempt(in, recs, n, true, e);
        return rc;
}
