/*
 * consume: the consumer's effect, applied inside the inbox transaction.
 *
 *   referral.events  signpost.referral.received.v1: each consent ticked
 *                    on the form is granted; one not ticked is withdrawn
 *                    only if it stood granted; the subject gets a state
 *                    even with no consents, so notification need not wait.
 *                    Other referral events are not ours and are skipped.
 *   consent.commands signpost.consent.granted.v1 / .withdrawn.v1, and
 *                    signpost.privacy_notice.published.v1.
 *
 * Anything malformed is ERR_INVALID (dead-lettered with the reason). Does
 * not own SQL or hashing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consent.h"
#include "json.h"

/* standing: the current action of purpose for subject ("" when none). */
static int
standing(struct db *db, const char *subject_id, const char *purpose,
         char out[16], struct err *e)
{
        struct consent_entry *rows = NULL;
        int n = 0, i;

        out[0] = '\0';
        if (consent_store_history(db, subject_id, &rows, &n, e) < 0)
                return -1;
        for (i = 0; i < n; i++)
                if (strcmp(rows[i].purpose, purpose) == 0)
                        snprintf(out, 16, "%s", rows[i].action);
        free(rows);
        return 0;
}

static int
referral_consent(struct consent_ctx *ctx, struct db *db, const json_t *d,
                 const char *purpose, bool given, struct err *e)
{
        struct consent_entry r = {0};
        const char *v = NULL;
        char now[16];

        if (!consent_purpose_valid(purpose))
                return err_set(e, ERR_INVALID, "consents", "unknown purpose");
        /* an opt-out of all contact stands until the person lifts it
         * themself: no referral changes it */
        if (strcmp(purpose, "all_contact") == 0)
                return 0;
        json_unpack((json_t *)d, "{s:s}", "subject_id", &v);
        snprintf(r.subject_id, sizeof(r.subject_id), "%s", v);
        if (standing(db, r.subject_id, purpose, now, e) < 0)
                return -1;
        if (given == (strcmp(now, "granted") == 0))
                return 0; /* nothing changes */
        /* what the person withdrew, only the person grants again, in a
         * referral of their own: not someone referring them */
        v = NULL;
        json_unpack((json_t *)d, "{s?s}", "kind", &v);
        if (given && strcmp(now, "withdrawn") == 0 &&
            (v == NULL || strcmp(v, "self") != 0))
                return 0;
        uuid_v7(r.id);
        snprintf(r.purpose, sizeof(r.purpose), "%s", purpose);
        snprintf(r.action, sizeof(r.action), "%s",
                 given ? "granted" : "withdrawn");
        snprintf(r.expressed_via, sizeof(r.expressed_via), "web_form");
        v = NULL;
        json_unpack((json_t *)d, "{s?s}", "privacy_notice_version", &v);
        snprintf(r.notice_version, sizeof(r.notice_version), "%s", v ? v : "");
        v = NULL;
        json_unpack((json_t *)d, "{s?s}", "received_at", &v);
        snprintf(r.at, sizeof(r.at), "%s", v ? v : "");
        v = NULL;
        json_unpack((json_t *)d, "{s?s}", "referral_id", &v);
        snprintf(r.recorded_by, sizeof(r.recorded_by), "referral:%s",
                 v ? v : "unknown");
        return consent_record(db, ctx->chain_key, &r, NULL, e);
}

static int
referral_received(struct consent_ctx *ctx, struct db *db, const json_t *d,
                  struct err *e)
{
        const char *subject = NULL, *purpose;
        json_t *consents = NULL, *val;

        if (jsonx_get_string(d, "subject_id", true, &subject, e) < 0)
                return -1;
        if (!uuid_valid(subject))
                return err_set(e, ERR_INVALID, "subject_id", "not a UUID");
        consents = json_object_get(d, "consents");
        if (consents != NULL && !json_is_object(consents))
                return err_set(e, ERR_INVALID, "consents", "not an object");
        json_object_foreach(consents, purpose, val)
        {
                if (!json_is_boolean(val))
                        return err_set(e, ERR_INVALID, "consents",
                                       "values must be true or false");
                if (referral_consent(ctx, db, d, purpose, json_is_true(val),
                                     e) < 0)
                        return -1;
        }
        return consent_touch(db, subject, e);
}

static int
consent_command(struct consent_ctx *ctx, struct db *db,
                const struct kafka_record *rec, const json_t *d, bool grant,
                struct err *e)
{
        struct consent_entry r;

        if (consent_entry_from_json(d, grant ? "granted" : "withdrawn", &r, e) <
            0)
                return -1;
        snprintf(r.id, sizeof(r.id), "%s", rec->ev.id);
        if (r.recorded_by[0] == '\0')
                snprintf(r.recorded_by, sizeof(r.recorded_by), "%s",
                         rec->ev.source);
        if (consent_record(db, ctx->chain_key, &r, NULL, e) == 0)
                return 0;
        if (e != NULL && e->kind == ERR_CONFLICT) { /* same id via HTTP */
                err_clear(e);
                return 0;
        }
        return -1;
}

static int
notice_published(struct db *db, const json_t *d, struct err *e)
{
        const char *version = NULL, *at = NULL, *url = NULL, *summary = NULL;

        if (jsonx_get_string(d, "version", true, &version, e) < 0 ||
            jsonx_get_string(d, "published_at", false, &at, e) < 0 ||
            jsonx_get_string(d, "url", false, &url, e) < 0 ||
            jsonx_get_string(d, "summary", false, &summary, e) < 0)
                return -1;
        if (version[0] == '\0' || strlen(version) > 64)
                return err_set(e, ERR_INVALID, "version", "1-64 characters");
        return consent_store_notice_put(db, version, at, url, summary, e);
}

int
consent_commands_apply(void *arg, struct db *db, const struct kafka_record *rec,
                       struct err *e)
{
        struct consent_ctx *ctx = arg;
        const char *type = rec->ev.type;
        json_t *d = NULL;
        int rc = -1;

        if (strcmp(type, CONSENT_TYPE_RECEIVED) != 0 &&
            strcmp(type, CONSENT_TYPE_GRANTED) != 0 &&
            strcmp(type, CONSENT_TYPE_WITHDRAWN) != 0 &&
            strcmp(type, CONSENT_TYPE_NOTICE) != 0) {
                if (strcmp(rec->topic ? rec->topic : "",
                           CONSENT_TOPIC_REFERRALS) == 0)
                        return 0; /* another referral event: not ours */
                return err_set(e, ERR_INVALID, NULL, "unknown command type");
        }
        d = jsonx_parse_object(rec->value, rec->value_len, e);
        if (d == NULL)
                return -1;
        if (strcmp(type, CONSENT_TYPE_RECEIVED) == 0)
                rc = referral_received(ctx, db, d, e);
        else if (strcmp(type, CONSENT_TYPE_NOTICE) == 0)
                rc = notice_published(db, d, e);
        else
                rc =
                    consent_command(ctx, db, rec, d,
                                    strcmp(type, CONSENT_TYPE_GRANTED) == 0, e);
        json_decref(d);
        return rc;
}
