/*
 * batch: the consumer's batch handler. Owns the per-batch preparation of
 * notification.requests records (parse, check, unseal, blind index: the
 * CPU work, done before the transaction opens) and the recording of runs
 * of prepared requests with one multi-row INSERT inside the inbox
 * transaction, instead of one round trip per request.
 *
 * The effect is exactly that of applying each record in order with
 * notify_requests_apply (requests.c), which still handles every record
 * that was not prepared: a run stops at the next request that was not
 * prepared, so rows for one message_id are written in batch order; the
 * INSERT only takes rows whose ce_id the inbox claimed in this transaction,
 * so a redelivered request is not recorded again. The inbox applies a
 * pass over the batch in increasing record order and starts a new pass
 * (after a rollback) from the top, which is how a rolled-back run is
 * noticed and written again.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "notification.h"

static void
prepared_clear(struct notify_batch *b)
{
        size_t i;

        for (i = 0; i < b->n; i++)
                json_decref(b->prep[i].req);
        b->recs = NULL;
        b->n = 0;
        b->last = 0;
        b->started = false;
}

void
notify_batch_fini(struct notify_batch *b)
{
        prepared_clear(b);
        free(b->prep);
        b->prep = NULL;
        b->cap = 0;
}

/* seen_before: an earlier record of the batch has rec i's ce_id (the inbox
 * treats the later one as a duplicate). */
static bool
seen_before(const struct kafka_record *recs, size_t i)
{
        size_t j;

        for (j = 0; j < i; j++)
                if (strcmp(recs[j].ev.id, recs[i].ev.id) == 0)
                        return true;
        return false;
}

static int
prepare(struct notify_batch *b, struct kafka_record *recs, size_t n,
        struct err *e)
{
        size_t i;

        if (n > b->cap) {
                struct notify_prepared *p =
                    realloc(b->prep, n * sizeof(*b->prep));
                if (p == NULL)
                        return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                b->prep = p;
                b->cap = n;
        }
        memset(b->prep, 0, n * sizeof(*b->prep));
        b->recs = recs;
        b->n = n;
        for (i = 0; i < n; i++)
                if (!seen_before(recs, i))
                        b->prep[i].req = notify_request_prepare(
                            b->ctx, &recs[i], &b->prep[i].channel,
                            b->prep[i].index);
        return 0;
}

int
notify_batch_handle(void *arg, struct kafka_record *recs, size_t n,
                    struct err *e)
{
        struct notify_batch *b = arg;
        int rc;

        prepared_clear(b);
        if (prepare(b, recs, n, e) < 0)
                return -1;
        rc = inbox_handle_batch(b->in, recs, n, e);
        prepared_clear(b);
        return rc;
}

static bool
is_request(const struct kafka_record *rec)
{
        return rec->topic != NULL &&
               strcmp(rec->topic, NOTIFY_TOPIC_REQUESTS) == 0;
}

static json_t *
row(const struct notify_prepared *p, const struct kafka_record *rec, size_t k)
{
        static const char *const cols[] = {
            "message_id", "template",    "audience",   "subject_id",
            "purpose",    "referral_id", "service_id", "sealed",
            NULL};
        json_t *r = json_pack("{s:s, s:s?, s:s?, s:I}", "ce_id", rec->ev.id,
                              "channel", p->channel, "recipient_index",
                              p->index[0] ? p->index : NULL, "ord",
                              (json_int_t)k);
        const char *const *c;

        for (c = cols; r != NULL && *c != NULL; c++) {
                json_t *v = json_object_get(p->req, *c);
                json_object_set(r, *c, json_is_string(v) ? v : json_null());
        }
        return r;
}

/* record_run: writes the prepared requests from record i up to the next
 * request that was not prepared, in one statement. */
static int
record_run(struct notify_batch *b, struct db *db, size_t i, struct err *e)
{
        json_t *rows = json_array();
        char *text = NULL;
        size_t k, end;
        int rc = -1;

        for (k = i; k < b->n; k++) {
                if (!is_request(&b->recs[k]))
                        continue;
                if (b->prep[k].req == NULL)
                        break;
                if (!b->prep[k].recorded)
                        json_array_append_new(
                            rows, row(&b->prep[k], &b->recs[k], k));
        }
        end = k;
        text = jsonx_dump(rows);
        if (text == NULL) {
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                goto out;
        }
        if (notify_store_messages_add(db, b->in->consumer, text, NULL, e) < 0)
                goto out;
        for (k = i; k < end; k++)
                if (is_request(&b->recs[k]))
                        b->prep[k].recorded = true;
        rc = 0;
out:
        free(text);
        json_decref(rows);
        return rc;
}

int
notify_batch_apply(void *arg, struct db *db, const struct kafka_record *rec,
                   struct err *e)
{
        struct notify_batch *b = arg;
        size_t i, k;

        if (b->recs == NULL || rec < b->recs || rec >= b->recs + b->n)
                return notify_requests_apply(b->ctx, db, rec, e);
        i = (size_t)(rec - b->recs);
        if (b->started && i <= b->last) /* a new pass: the last rolled back */
                for (k = 0; k < b->n; k++)
                        b->prep[k].recorded = false;
        b->started = true;
        b->last = i;
        if (b->prep[i].req == NULL)
                return notify_requests_apply(b->ctx, db, rec, e);
        if (b->prep[i].recorded)
                return 0;
        return record_run(b, db, i, e);
}
