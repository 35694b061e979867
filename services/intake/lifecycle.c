/*
 * lifecycle: the referral state machine.
 *
 *   received -> delivered -> accepted -> contacted -> in_progress
 *   -> completed | declined (reason) | withdrawn (by the person) |
 *   unable_to_contact
 *
 * One path changes a status: referral.updates, from the gateway (its
 * POST /v1/referrals/{id}/status) or a partner. One function applies it:
 * it checks the transition and who asks, keeps a history row, records
 * first contact, emits referral.status_changed with the word a person
 * sees (intake_public_status, the one owner of that mapping) and, on
 * completion or decline, asks for a message to the person. Does not own
 * SQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "intake.h"
#include "json.h"
#include "log.h"

static const struct {
        const char *from;
        const char *to[6];
} transitions[] = {
    {"received", {"delivered", "accepted", "declined", "withdrawn", NULL}},
    {"delivered", {"accepted", "declined", "withdrawn", NULL}},
    {"accepted",
     {"contacted", "declined", "withdrawn", "unable_to_contact", NULL}},
    {"contacted", {"in_progress", "completed", "declined", "withdrawn", NULL}},
    {"in_progress", {"completed", "declined", "withdrawn", NULL}},
};

bool
intake_transition_allowed(const char *from, const char *to)
{
        size_t i, j;

        for (i = 0; i < sizeof(transitions) / sizeof(transitions[0]); i++) {
                if (strcmp(transitions[i].from, from) != 0)
                        continue;
                for (j = 0; transitions[i].to[j] != NULL; j++)
                        if (strcmp(transitions[i].to[j], to) == 0)
                                return true;
        }
        return false;
}

/* the word a person sees for each status (the gateway shows it as it
 * comes on status_changed) */
static const char *const public_words[][2] = {
    {"received", "received"},        {"delivered", "with_provider"},
    {"accepted", "with_provider"},   {"contacted", "contacted"},
    {"in_progress", "contacted"},    {"completed", "closed"},
    {"declined", "closed"},          {"withdrawn", "closed"},
    {"unable_to_contact", "closed"},
};

const char *
intake_public_status(const char *status)
{
        for (size_t i = 0; status != NULL &&
                           i < sizeof(public_words) / sizeof(public_words[0]);
             i++)
                if (strcmp(public_words[i][0], status) == 0)
                        return public_words[i][1];
        return NULL;
}

/* may: whether by may ask for `to` on r (ERR_NOT_FOUND hides another
 * organisation's referral). */
static int
may(const struct intake_referral *r, const char *to,
    const struct intake_actor *by, struct err *e)
{
        bool org_role = strcmp(by->role, "provider") == 0 ||
                        strcmp(by->role, "partner") == 0;

        if (org_role && strcmp(by->org, r->organisation_id) != 0)
                return err_set(e, ERR_NOT_FOUND, NULL, "no such referral");
        if (strcmp(to, "withdrawn") == 0)
                return strcmp(by->role, "person") == 0 ||
                               strcmp(by->role, "admin") == 0
                           ? 0
                           : err_set(e, ERR_INVALID, "status",
                                     "only the person or an admin withdraws");
        if (!org_role && strcmp(by->role, "admin") != 0)
                return err_set(e, ERR_INVALID, "by.role",
                               "role may not change status");
        return 0;
}

static int
notify_person(struct intake *in, struct db *db, const struct intake_referral *r,
              const char *to, const char *reason, struct err *e)
{
        json_t *payload, *c, *values;
        int rc = 0;

        if (intake_audit(in, db, r->id, "notify_person", e) < 0 ||
            (payload = intake_referral_open(in, r, e)) == NULL)
                return -1;
        c = intake_contact_of(json_object_get(payload, "person"));
        if (c != NULL) {
                values = json_pack("{ss}", "reference", r->reference);
                if (reason != NULL)
                        json_object_set_new(values, "reason",
                                            json_string(reason));
                json_object_set_new(c, "values", values);
                rc = intake_emit_notify(
                    in, db,
                    strcmp(to, "completed") == 0 ? "referral_completed_person"
                                                 : "referral_declined_person",
                    "person", r->subject_id, "contact_about_service", r->id,
                    r->service_id, c, e);
        }
        json_decref(payload);
        return rc;
}

static json_t *
actor_json(const struct intake_actor *by)
{
        return json_pack("{ss ss so}", "sub", by->sub, "role", by->role, "org",
                         by->org[0] ? json_string(by->org) : json_null());
}

static int
apply_change(struct intake *in, struct db *db, const struct intake_referral *r,
             const char *to, const char *reason, const struct intake_actor *by,
             struct err *e)
{
        bool contacted = strcmp(to, "contacted") == 0;
        bool closed = strcmp(to, "completed") == 0 ||
                      strcmp(to, "declined") == 0 ||
                      strcmp(to, "withdrawn") == 0 ||
                      strcmp(to, "unable_to_contact") == 0;
        char at[40], *blob = NULL;
        int rc;

        event_now(at);
        if (reason != NULL && intake_reason_seal(in, r, reason, &blob, e) < 0)
                return -1;
        rc = intake_store_status_set(db, r->id, to, contacted, closed, e) < 0 ||
                     intake_store_history_add(db, r->id, r->status, to, blob,
                                              by, e) < 0
                 ? -1
                 : 0;
        free(blob);
        if (rc < 0)
                return -1;
        /* the reason stays in the referral's encrypted history: the
         * event says only that one was given */
        if (intake_emit(db, INTAKE_TOPIC_EVENTS, r->id,
                        "signpost.referral.status_changed.v1",
                        json_pack("{ss ss ss ss ss sb so ss}", "referral_id",
                                  r->id, "subject_id", r->subject_id, "from",
                                  r->status, "to", to, "public_status",
                                  intake_public_status(to), "reason_given",
                                  reason != NULL && reason[0] != '\0', "by",
                                  actor_json(by), "at", at),
                        e) < 0 ||
            intake_fact_status(db, r->id, r->status, to, by->role,
                               reason != NULL && reason[0] != '\0', at, e) < 0)
                return -1;
        if (strcmp(to, "completed") == 0 || strcmp(to, "declined") == 0)
                return notify_person(in, db, r, to, reason, e);
        return 0;
}

int
intake_status_change(struct intake *in, struct db *db, const char *id,
                     const char *to, const char *reason,
                     const struct intake_actor *by, struct err *e)
{
        struct intake_referral r;
        bool found = false;
        int rc = -1;

        if (!intake_status_valid(to) || strcmp(to, "received") == 0)
                return err_set(e, ERR_INVALID, "status", "unknown status");
        if (strcmp(to, "declined") == 0 && (reason == NULL || !reason[0]))
                return err_set(e, ERR_INVALID, "reason",
                               "a reason is required to decline");
        if (reason != NULL && strlen(reason) > 500)
                return err_set(e, ERR_INVALID, "reason", "too long");
        if (!uuid_valid(id))
                return err_set(e, ERR_NOT_FOUND, NULL, "no such referral");
        if (intake_store_referral_get(db, id, true, &r, &found, e) < 0)
                return -1;
        if (!found)
                return err_set(e, ERR_NOT_FOUND, NULL, "no such referral");
        if (may(&r, to, by, e) < 0)
                goto out;
        if (!intake_transition_allowed(r.status, to)) {
                err_set(e, ERR_CONFLICT, "status", "%s -> %s is not allowed",
                        r.status, to);
                goto out;
        }
        rc = apply_change(in, db, &r, to, reason, by, e);
        if (rc == 0)
                log_info("referral status changed",
                         "referral_id=%s from=%s to=%s role=%s", r.id, r.status,
                         to, by->role);
out:
        intake_referral_fini(&r);
        return rc;
}

int
intake_updates_apply(struct intake *in, struct db *db, const char *value,
                     size_t len, struct err *e)
{
        static const char *const allowed[] = {"referral_id", "status", "reason",
                                              "principal",   "sub",    NULL};
        const char *id = NULL, *status = NULL, *reason = NULL;
        struct intake_actor by;
        json_t *d = intake_update_open(in, db, value, len, &by, e);
        int rc = -1;

        if (d == NULL)
                return -1;
        if (jsonx_reject_unknown(d, allowed, e) < 0 ||
            jsonx_get_string(d, "referral_id", true, &id, e) < 0 ||
            jsonx_get_string(d, "status", true, &status, e) < 0 ||
            jsonx_get_string(d, "reason", false, &reason, e) < 0)
                goto out;
        rc = intake_status_change(in, db, id, status, reason, &by, e);
        if (rc < 0 && e != NULL &&
            (e->kind == ERR_NOT_FOUND || e->kind == ERR_CONFLICT)) {
                log_err(LOG_WARN, "status update refused", e,
                        "referral_id=%s to=%s role=%s", id,
                        intake_status_valid(status) ? status : "-", by.role);
                e->kind = ERR_INVALID; /* dead-letter with the reason */
        }
out:
        json_decref(d);
        return rc;
}
