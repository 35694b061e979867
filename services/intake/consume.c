/*
 * consume: the one Kafka consumer group intake runs ("intake"), over
 * referral.submissions, referral.updates, consent.state and the
 * directory's catalogue topics. Each record is applied inside the inbox
 * transaction (so a redelivered ce_id has no second effect); this file only
 * dispatches by topic and checks the event type.
 */
#include <string.h>

#include "intake.h"

int
intake_consume_apply(void *arg, struct db *db, const struct kafka_record *rec,
                     struct err *e)
{
        struct intake *in = arg;

        if (strcmp(rec->topic, INTAKE_TOPIC_SUBMISSIONS) == 0) {
                if (strcmp(rec->ev.type, "signpost.referral.submitted.v1") != 0)
                        return err_set(
                            e, ERR_INVALID, "ce_type",
                            "expected signpost.referral.submitted.v1");
                return intake_submit_apply(in, db, rec, e);
        }
        /* what is queued (new referrals, events) goes in before anything
         * that may read it */
        if (intake_outq_flush(NULL, db, true, e) < 0)
                return -1;
        if (strcmp(rec->topic, INTAKE_TOPIC_UPDATES) == 0) {
                if (strcmp(rec->ev.type,
                           "signpost.referral.status_update.v1") != 0)
                        return err_set(
                            e, ERR_INVALID, "ce_type",
                            "expected signpost.referral.status_update.v1");
                return intake_updates_apply(in, db, rec->value, rec->value_len,
                                            e);
        }
        if (strcmp(rec->topic, INTAKE_TOPIC_CONSENT_STATE) == 0) {
                if (rec->value != NULL &&
                    strcmp(rec->ev.type, "signpost.consent.state.v1") != 0)
                        return err_set(e, ERR_INVALID, "ce_type",
                                       "expected signpost.consent.state.v1");
                return intake_consent_apply(in, db, rec, e);
        }
        if (strcmp(rec->topic, INTAKE_TOPIC_SERVICES) == 0 ||
            strcmp(rec->topic, INTAKE_TOPIC_ORGS) == 0)
                return intake_catalogue_apply(in, db, rec, e);
        return err_set(e, ERR_INVALID, "topic", "not a topic intake reads");
}
