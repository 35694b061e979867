/*
 * consent_state: what the person's consent, as the consent daemon states
 * it on consent.state, changes for their referrals here.
 *
 *   - withdrawing share_with_provider: a referral not yet routed is held
 *     (flag consent_withdrawn) and is not routed while it stands; the
 *     provider's reads omit the person's details (routes.c);
 *   - opting out of all contact: the provider's reads omit the person's
 *     contact details;
 *   - either change, or lifting it, is told to the organisation a
 *     referral was routed to, on partner.<org>.referrals
 *     (signpost.referral.consent_changed.v1, no personal data), so a
 *     partner system can stop using what it holds;
 *   - sharing granted again routes what was held for it.
 *
 * The replica is kept in subject_consent (store.c); a state older than the
 * one known (lower seq) changes nothing. Does not own SQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "intake.h"
#include "json.h"
#include "log.h"

#define FLAG_WITHDRAWN "consent_withdrawn"

bool
intake_consent_blocks(const struct intake_referral *r)
{
        /* the flags as text, a JSON or a PostgreSQL array */
        return r->flags != NULL && strstr(r->flags, FLAG_WITHDRAWN) != NULL;
}

static int
tell_partner(struct db *db, const char *id, const char *org, bool withdrawn,
             bool opted_out, struct err *e)
{
        char topic[KAFKA_PARTNER_TOPIC_LEN], at[40];

        event_now(at);
        kafka_partner_topic(org, topic, sizeof(topic));
        return intake_emit(
            db, topic, id, "signpost.referral.consent_changed.v1",
            json_pack("{ss ss ss ss ss}", "referral_id", id, "organisation_id",
                      org, "share_with_provider",
                      withdrawn ? "withdrawn" : "granted", "contact",
                      opted_out ? "opted_out" : "allowed", "at", at),
            e);
}

/* follow: applies a newer state to each of the subject's referrals, and
 * tells their organisations when it changed. */
static int
follow(struct intake *in, struct db *db, const char *subject, bool withdrawn,
       bool opted_out, bool changed, struct err *e)
{
        struct intake_subject_referral *rows;
        size_t i, n;
        int rc = 0;

        if (intake_store_subject_referrals(db, subject, &rows, &n, e) < 0)
                return -1;
        for (i = 0; i < n && rc == 0; i++) {
                const char *id = rows[i].id;

                if (rows[i].routed)
                        rc = !changed || rows[i].organisation_id[0] == '\0'
                                 ? 0
                                 : tell_partner(db, id, rows[i].organisation_id,
                                                withdrawn, opted_out, e);
                else if ((rc = intake_store_flag_set(db, id, FLAG_WITHDRAWN,
                                                     withdrawn, e)) == 0 &&
                         !withdrawn)
                        rc = intake_route_one(in, db, id, e);
        }
        free(rows);
        return rc;
}

int
intake_consent_apply(struct intake *in, struct db *db,
                     const struct kafka_record *rec, struct err *e)
{
        const char *subject, *share, *at;
        json_t *d, *seq, *opt;
        char seqs[32], key[UUID_STR_LEN];
        bool applied = false, changed = false, withdrawn, opted_out;
        int rc = -1;

        if (rec->value == NULL || rec->value_len == 0) {
                /* a tombstone: the subject was erased */
                snprintf(key, sizeof(key), "%.*s", (int)rec->key_len,
                         rec->key ? (const char *)rec->key : "");
                return uuid_valid(key)
                           ? intake_store_consent_drop(db, key, e)
                           : err_set(e, ERR_INVALID, "key", "not a subject id");
        }
        if ((d = jsonx_parse_object(rec->value, rec->value_len, e)) == NULL)
                return -1;
        subject = json_string_value(json_object_get(d, "subject_id"));
        share = json_string_value(json_object_get(
            json_object_get(d, "purposes"), "share_with_provider"));
        at = json_string_value(json_object_get(d, "updated_at"));
        seq = json_object_get(d, "seq");
        opt = json_object_get(d, "opted_out");
        if (subject == NULL || !uuid_valid(subject) || at == NULL ||
            !json_is_integer(seq) || !json_is_boolean(opt)) {
                err_set(e, ERR_INVALID, NULL,
                        "consent state lacks subject_id, updated_at, seq or "
                        "opted_out");
                goto out;
        }
        withdrawn = share != NULL && strcmp(share, "withdrawn") == 0;
        opted_out = json_is_true(opt);
        snprintf(seqs, sizeof(seqs), "%lld",
                 (long long)json_integer_value(seq));
        if (intake_store_consent_put(db, subject, withdrawn, opted_out, seqs,
                                     at, &applied, &changed, e) < 0)
                goto out;
        rc = applied ? follow(in, db, subject, withdrawn, opted_out, changed, e)
                     : 0;
        if (rc == 0 && changed)
                log_info("consent change followed",
                         "subject_id=%s share_with_provider=%s opted_out=%s",
                         subject, withdrawn ? "withdrawn" : "granted",
                         opted_out ? "true" : "false");
out:
        json_decref(d);
        return rc;
}
