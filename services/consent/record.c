/*
 * record: the one way a consent event enters the ledger, shared by the
 * consumer and the HTTP routes: append, recompute the subject's state from
 * the whole history, store it and queue it on consent.state, inside the
 * caller's transaction. Also the receipt a person or admin gets back, and
 * the parsing of a consent from JSON. Does not open transactions.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consent.h"
#include "event.h"
#include "json.h"
#include "outbox.h"

/* publish: stores and queues state (new reference kept by the caller)
 * with seq; fills subject_id and updated_at into it. */
static int
publish(struct db *db, const char *subject_id, json_t *state, int seq,
        struct err *e)
{
        char updated_at[40];
        struct event ev;
        char *text = NULL;
        int rc = -1;

        if (consent_store_state_put(db, subject_id, state, seq, updated_at, e) <
            0)
                return -1;
        json_object_set_new(state, "subject_id", json_string(subject_id));
        json_object_set_new(state, "updated_at", json_string(updated_at));
        json_object_set_new(state, "seq", json_integer(seq));
        text = jsonx_dump(state);
        if (text == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        event_init(&ev, CONSENT_SOURCE, CONSENT_TYPE_STATE, subject_id);
        rc = outbox_add(db, CONSENT_TOPIC_STATE, subject_id, &ev, text,
                        strlen(text), e);
        free(text);
        return rc;
}

int
consent_record(struct db *db, const struct secret_key *key,
               struct consent_entry *entry, json_t **state_out, struct err *e)
{
        struct consent_entry *rows = NULL;
        json_t *state = NULL;
        int n = 0, rc = -1;

        if (consent_store_append(db, key, entry, e) < 0 ||
            consent_store_history(db, entry->subject_id, &rows, &n, e) < 0)
                goto out;
        state = consent_state_compute(rows, n);
        if (state == NULL || publish(db, entry->subject_id, state, n, e) < 0)
                goto out;
        if (state_out != NULL)
                *state_out = json_incref(state);
        rc = 0;
out:
        json_decref(state);
        free(rows);
        return rc;
}

int
consent_touch(struct db *db, const char *subject_id, struct err *e)
{
        json_t *known = consent_store_state_get(db, subject_id, e);
        json_t *state = NULL;
        int rc;

        if (known != NULL) {
                json_decref(known);
                return 0;
        }
        if (e != NULL && e->kind != ERR_NOT_FOUND)
                return -1;
        err_clear(e);
        state = consent_state_compute(NULL, 0);
        rc = publish(db, subject_id, state, 0, e);
        json_decref(state);
        return rc;
}

int
consent_erase(struct db *db, const char *subject_id, struct err *e)
{
        struct event ev;
        long rows = 0;

        if (consent_store_erase(db, subject_id, &rows, e) < 0)
                return -1;
        event_init(&ev, CONSENT_SOURCE, CONSENT_TYPE_STATE, subject_id);
        return outbox_add(db, CONSENT_TOPIC_STATE, subject_id, &ev, NULL, 0, e);
}

json_t *
consent_receipt(const struct consent_entry *r, const json_t *state)
{
        const char *how =
            strcmp(r->action, "granted") == 0
                ? "You can withdraw this consent at any time from the link in "
                  "your referral confirmation, by asking for a one-time code "
                  "sent to your email or phone, or by contacting the "
                  "administrator. Withdrawing stops further contact for this "
                  "purpose at once."
                : "You can give this consent again at any time in the same "
                  "ways.";

        return json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:O, s:s, s:s}",
            "receipt_id", r->id, "subject_id", r->subject_id, "purpose",
            r->purpose, "action", r->action, "recorded_at", r->at,
            "privacy_notice_version",
            r->notice_version[0] ? json_string(r->notice_version) : json_null(),
            "expressed_via", r->expressed_via, "recorded_by", r->recorded_by,
            "state", state, "how_to_withdraw", how, "ledger_hash", r->hash);
}

/* copy_field: optional (or required) string field into dst. Rejects
 * control characters (the canonical text separates fields with one). */
static int
copy_field(const json_t *obj, const char *name, bool required, char *dst,
           size_t dstsz, struct err *e)
{
        const char *v = NULL;
        const char *c;

        if (jsonx_get_string(obj, name, required, &v, e) < 0)
                return -1;
        if (v == NULL)
                return 0;
        if (strlen(v) >= dstsz)
                return err_set(e, ERR_INVALID, name, "too long");
        for (c = v; *c != '\0'; c++)
                if ((unsigned char)*c < 0x20)
                        return err_set(e, ERR_INVALID, name,
                                       "control character");
        snprintf(dst, dstsz, "%s", v);
        return 0;
}

int
consent_entry_from_json(const json_t *obj, const char *action,
                        struct consent_entry *r, struct err *e)
{
        memset(r, 0, sizeof(*r));
        if (copy_field(obj, "subject_id", true, r->subject_id,
                       sizeof(r->subject_id), e) < 0 ||
            copy_field(obj, "purpose", true, r->purpose, sizeof(r->purpose),
                       e) < 0 ||
            copy_field(obj, "action", action == NULL, r->action,
                       sizeof(r->action), e) < 0 ||
            copy_field(obj, "expressed_via", true, r->expressed_via,
                       sizeof(r->expressed_via), e) < 0 ||
            copy_field(obj, "privacy_notice_version", false, r->notice_version,
                       sizeof(r->notice_version), e) < 0 ||
            copy_field(obj, "recorded_by", false, r->recorded_by,
                       sizeof(r->recorded_by), e) < 0 ||
            copy_field(obj, "at", false, r->at, sizeof(r->at), e) < 0 ||
            copy_field(obj, "blind_index", false, r->blind_index,
                       sizeof(r->blind_index), e) < 0)
                return -1;
        if (action != NULL)
                snprintf(r->action, sizeof(r->action), "%s", action);
        if (!uuid_valid(r->subject_id))
                return err_set(e, ERR_INVALID, "subject_id", "not a UUID");
        if (!consent_purpose_valid(r->purpose))
                return err_set(e, ERR_INVALID, "purpose", "unknown purpose");
        if (strcmp(r->action, "granted") != 0 &&
            strcmp(r->action, "withdrawn") != 0)
                return err_set(e, ERR_INVALID, "action",
                               "must be granted or withdrawn");
        if (!consent_via_valid(r->expressed_via))
                return err_set(e, ERR_INVALID, "expressed_via",
                               "must be web_form, api, partner or admin");
        return 0;
}
