/*
 * emit: intake's events into the outbox, in the caller's transaction. A
 * notification request carries its recipient and values sealed to the
 * notification daemon's key; everything else emitted here holds no
 * personal data. On the consumer thread events, and the new referrals'
 * rows, are queued and written once per batch (intake_outq_*). Does not
 * decide which events a change produces.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "intake.h"
#include "json.h"
#include "outbox.h"

/* The consumer thread's queue: while on, intake_emit and
 * intake_outq_referral append here and intake_outq_flush writes
 * everything with two statements (the referrals, then the events). */
struct qitem {
        char *topic;
        char *key;
        char *value;
        size_t len;
        struct event ev;
};

static _Thread_local struct {
        bool on;
        size_t n, cap;
        struct qitem *items;
        json_t *rows; /* new referrals' rows */
        /* their ids, lower-case, open addressing ("" = free) */
        char (*ids)[UUID_STR_LEN];
        size_t ids_n, ids_cap;
} outq;

static size_t
id_slot(const char *id, size_t cap)
{
        size_t h = 1469598103934665603ULL;

        for (; *id != '\0'; id++)
                h = (h ^ (unsigned char)tolower((unsigned char)*id)) *
                    1099511628211ULL;
        return h & (cap - 1);
}

/* ids_find: the slot holding id, or the free slot where it would go. */
static size_t
ids_find(const char *id)
{
        size_t i = id_slot(id, outq.ids_cap);

        while (outq.ids[i][0] != '\0' && strcasecmp(outq.ids[i], id) != 0)
                i = (i + 1) & (outq.ids_cap - 1);
        return i;
}

/* ids_add: remembers a queued referral's id (kept at most half full). */
static int
ids_add(const char *id)
{
        if (strlen(id) >= UUID_STR_LEN)
                return -1;
        if (2 * (outq.ids_n + 1) > outq.ids_cap) {
                size_t cap = outq.ids_cap ? outq.ids_cap * 2 : 1024;
                char(*old)[UUID_STR_LEN] = outq.ids;
                size_t old_cap = outq.ids_cap;

                outq.ids = calloc(cap, sizeof(*outq.ids));
                if (outq.ids == NULL) {
                        outq.ids = old;
                        return -1;
                }
                outq.ids_cap = cap;
                for (size_t k = 0; k < old_cap; k++)
                        if (old[k][0] != '\0')
                                memcpy(outq.ids[ids_find(old[k])], old[k],
                                       UUID_STR_LEN);
                free(old);
        }
        size_t i = ids_find(id);
        if (outq.ids[i][0] == '\0') {
                snprintf(outq.ids[i], UUID_STR_LEN, "%s", id);
                outq.ids_n++;
        }
        return 0;
}

void
intake_outq_start(void)
{
        outq.on = true;
}

/* outq_drop: frees every queued item. */
static void
outq_drop(void)
{
        for (size_t i = 0; i < outq.n; i++) {
                free(outq.items[i].topic);
                free(outq.items[i].key);
                free(outq.items[i].value);
        }
        outq.n = 0;
        json_decref(outq.rows);
        outq.rows = NULL;
        if (outq.ids_n > 0)
                memset(outq.ids, 0, outq.ids_cap * sizeof(*outq.ids));
        outq.ids_n = 0;
}

void
intake_outq_stop(void)
{
        outq_drop();
        free(outq.items);
        free(outq.ids);
        memset(&outq, 0, sizeof(outq));
}

/* outq_push: queues one event; takes ownership of text. */
static int
outq_push(const char *topic, const char *key, const struct event *ev,
          char *text, struct err *e)
{
        struct qitem *q;

        if (outq.n == outq.cap) {
                size_t cap = outq.cap ? outq.cap * 2 : 256;
                q = realloc(outq.items, cap * sizeof(*q));
                if (q == NULL) {
                        free(text);
                        return err_set(e, ERR_FATAL, NULL, "out of memory");
                }
                outq.items = q;
                outq.cap = cap;
        }
        q = &outq.items[outq.n];
        q->topic = strdup(topic);
        q->key = strdup(key);
        q->value = text;
        q->len = strlen(text);
        q->ev = *ev;
        outq.n++;
        if (q->topic == NULL || q->key == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        return 0;
}

int
intake_outq_flush(void *arg, struct db *db, bool keep, struct err *e)
{
        struct outbox_item *items = NULL;
        int rc = 0;

        (void)arg;
        if (keep && json_array_size(outq.rows) > 0)
                rc = intake_store_referrals_add(db, outq.rows, e);
        if (rc == 0 && keep && outq.n > 0) {
                items = calloc(outq.n, sizeof(*items));
                if (items == NULL)
                        rc = err_set(e, ERR_FATAL, NULL, "out of memory");
                for (size_t i = 0; items != NULL && i < outq.n; i++)
                        items[i] = (struct outbox_item){
                            .topic = outq.items[i].topic,
                            .key = outq.items[i].key,
                            .ev = &outq.items[i].ev,
                            .value = outq.items[i].value,
                            .value_len = outq.items[i].len};
                if (items != NULL)
                        rc = outbox_add_many(db, items, outq.n, e);
        }
        free(items);
        outq_drop();
        return rc;
}

int
intake_outq_referral(struct db *db, json_t *row, struct err *e)
{
        json_t *one;
        int rc;

        if (row == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        if (outq.on) {
                const char *id = json_string_value(json_object_get(row, "id"));
                if (outq.rows == NULL)
                        outq.rows = json_array();
                if (id == NULL || ids_add(id) < 0) {
                        json_decref(row);
                        return err_set(e, ERR_FATAL, NULL, "out of memory");
                }
                if (json_array_append_new(outq.rows, row) < 0)
                        return err_set(e, ERR_FATAL, NULL, "out of memory");
                return 0;
        }
        one = json_array();
        json_array_append_new(one, row);
        rc = intake_store_referrals_add(db, one, e);
        json_decref(one);
        return rc;
}

bool
intake_outq_has_referral(const char *id)
{
        return outq.ids_n > 0 && outq.ids[ids_find(id)][0] != '\0';
}

int
intake_emit(struct db *db, const char *topic, const char *key, const char *type,
            json_t *data, struct err *e)
{
        struct event ev;
        char *text = NULL;
        int rc;

        if (data == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        text = jsonx_dump(data);
        json_decref(data);
        if (text == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        event_init(&ev, INTAKE_SOURCE, type, key);
        if (outq.on)
                return outq_push(topic, key, &ev, text, e);
        rc = outbox_add(db, topic, key, &ev, text, strlen(text), e);
        free(text);
        return rc;
}

/* opt_string: a JSON string, or null for NULL / "". */
static json_t *
opt_string(const char *s)
{
        return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

int
intake_emit_notify(struct intake *in, struct db *db, const char *tmpl,
                   const char *audience, const char *subject_id,
                   const char *purpose, const char *referral_id,
                   const char *service_id, json_t *content, struct err *e)
{
        char id[UUID_STR_LEN];
        char *sealed = NULL;
        json_t *data;
        int rc;

        if (content == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        rc = intake_seal_json(in->keys.notification_pk,
                              in->keys.to_notification, content, &sealed, e);
        json_decref(content);
        if (rc < 0)
                return -1;
        uuid_v7(id);
        data = json_pack("{ss ss ss so so ss ss ss}", "message_id", id,
                         "template", tmpl, "audience", audience, "subject_id",
                         opt_string(subject_id), "purpose", opt_string(purpose),
                         "referral_id", referral_id, "service_id", service_id,
                         "sealed", sealed);
        free(sealed);
        return intake_emit(db, INTAKE_TOPIC_NOTIFY, id,
                           "signpost.notification.requested.v1", data, e);
}

json_t *
intake_contact_of(const json_t *obj)
{
        const char *email = json_string_value(json_object_get(obj, "email"));
        const char *phone = json_string_value(json_object_get(obj, "phone"));

        if (email != NULL && email[0] != '\0')
                return json_pack("{ss}", "email", email);
        if (phone != NULL && phone[0] != '\0')
                return json_pack("{ss}", "phone", phone);
        return NULL;
}

void
intake_initials(const char *name, char *out, size_t outsz)
{
        size_t o = 0;
        bool start = true;

        if (outsz == 0)
                return;
        for (; name != NULL && *name != '\0' && o + 4 < outsz; name++) {
                unsigned char c = (unsigned char)*name;
                if (isspace(c) || c == '-') {
                        start = true;
                        continue;
                }
                if (start && isalpha(c)) {
                        if (o > 0)
                                out[o++] = ' ';
                        out[o++] = (char)toupper(c);
                        out[o++] = '.';
                }
                start = false;
        }
        out[o] = '\0';
}
