/*
 * facts: what reporting learns of referrals (referral.facts), kept apart
 * from referral.events, which carries the pseudonymous subject_id to the
 * daemons that hold personal data (consent, the gateway, retention).
 * Reporting holds none: its facts carry no subject_id and no reference (a
 * reference is what a person quotes, so it identifies them to anyone who
 * hears it), times only to the day, and the referral id that lets it join
 * a referral's facts. A service's category and a postcode district are
 * revealing in combination (docs/contracts.md): reporting (not built
 * yet) must publish counts of them only above a threshold.
 */
#include <stdio.h>
#include <string.h>

#include "intake.h"

#define FACT_RECEIVED "signpost.referral_fact.received.v1"
#define FACT_STATUS "signpost.referral_fact.status_changed.v1"

/* day_of: the YYYY-MM-DD of an RFC 3339 time. */
static json_t *
day_of(const char *at)
{
        char d[11];

        snprintf(d, sizeof(d), "%.10s", at ? at : "");
        return json_string(d);
}

int
intake_fact_received(struct db *db, const json_t *received, struct err *e)
{
        static const char *const copied[] = {
            "referral_id",     "service_id",
            "organisation_id", "kind",
            "taxonomy_terms",  "postcode_district",
            "consents",        "privacy_notice_version",
            "flags",           NULL};
        json_t *f = json_object();
        const char *id =
            json_string_value(json_object_get(received, "referral_id"));

        if (f == NULL || id == NULL) {
                json_decref(f);
                return err_set(e, ERR_FATAL, NULL, "no referral to tell of");
        }
        for (int i = 0; copied[i] != NULL; i++) {
                json_t *v = json_object_get(received, copied[i]);
                if (v != NULL)
                        json_object_set(f, copied[i], v);
        }
        json_object_set_new(f, "received_on",
                            day_of(json_string_value(
                                json_object_get(received, "received_at"))));
        return intake_emit(db, INTAKE_TOPIC_FACTS, id, FACT_RECEIVED, f, e);
}

int
intake_fact_status(struct db *db, const char *id, const char *from,
                   const char *to, const char *by_role, bool reason_given,
                   const char *at, struct err *e)
{
        return intake_emit(db, INTAKE_TOPIC_FACTS, id, FACT_STATUS,
                           json_pack("{ss ss ss ss sb so}", "referral_id", id,
                                     "from", from, "to", to, "by_role", by_role,
                                     "reason_given", reason_given, "on",
                                     day_of(at)),
                           e);
}
