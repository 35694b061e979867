/*
 * consume: the consumer's effect with its requests written in bulk. Owns
 * the buffer of pending-message rows between an inbox pass's apply calls
 * and its flush: a notification.requests record that would be recorded as
 * pending is parsed, checked and opened (blind index, channel) as it is
 * applied, and its row buffered; the inbox's flush hook writes the buffer
 * with one multi-row INSERT inside the inbox transaction, instead of one
 * round trip per request.
 *
 * The effect is that of applying each record in order with
 * notify_requests_apply (requests.c), which still handles every other
 * record: a request that takes that path first flushes the buffer, so the
 * rows of one message_id are written in batch order; when the inbox runs
 * records one by one (after a failure) it flushes after each, so a bad row
 * fails only its own record.
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "notification.h"

void
notify_batch_fini(struct notify_batch *b)
{
        json_decref(b->rows);
        b->rows = NULL;
}

static json_t *
row(json_t *req, const char *channel, const char *index)
{
        static const char *const cols[] = {
            "message_id",  "template",   "audience", "subject_id", "purpose",
            "referral_id", "service_id", "sealed",   NULL};
        json_t *r = json_pack("{s:s, s:s}", "channel", channel,
                              "recipient_index", index);
        const char *const *c;

        for (c = cols; r != NULL && *c != NULL; c++) {
                json_t *v = json_object_get(req, *c);
                json_object_set(r, *c, json_is_string(v) ? v : json_null());
        }
        return r;
}

int
notify_batch_flush(void *arg, struct db *db, bool keep, struct err *e)
{
        struct notify_batch *b = arg;
        char *text = NULL;
        int rc = 0;

        if (keep && b->rows != NULL && json_array_size(b->rows) > 0) {
                text = jsonx_dump(b->rows);
                rc = text == NULL
                         ? err_set(e, ERR_TRANSIENT, NULL, "out of memory")
                         : notify_store_messages_add(db, text, NULL, e);
                free(text);
        }
        if (b->rows != NULL)
                json_array_clear(b->rows);
        return rc;
}

int
notify_batch_apply(void *arg, struct db *db, const struct kafka_record *rec,
                   struct err *e)
{
        struct notify_batch *b = arg;
        char index[SECRET_HEX_LEN] = "";
        const char *channel = NULL;
        json_t *req = notify_request_prepare(b->ctx, rec, &channel, index);
        json_t *r;

        if (req == NULL) {
                if (rec->topic != NULL &&
                    strcmp(rec->topic, NOTIFY_TOPIC_REQUESTS) == 0 &&
                    notify_batch_flush(b, db, true, e) < 0)
                        return -1;
                return notify_requests_apply(b->ctx, db, rec, e);
        }
        if (b->rows == NULL)
                b->rows = json_array();
        r = row(req, channel, index);
        json_decref(req);
        if (b->rows == NULL || r == NULL ||
            json_array_append_new(b->rows, r) != 0)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        return 0;
}
