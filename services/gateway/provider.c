/*
 * provider: the status route. The referral-owner replica (consume.c,
 * from signpost.referral.received.v1) tells which organisation a
 * referral belongs to. POST /v1/referrals/{id}/status (a provider bound
 * to the referral's organisation, or an admin) checks the body and the
 * ownership, then produces signpost.referral.status_update.v1 to
 * referral.updates keyed by the referral id, sealed to intake with the
 * caller signed inside; 202 after the broker's ack.
 * Whether the transition is legal is intake's judgement: it
 * dead-letters illegal ones with the reason. Another organisation's or
 * an unknown referral is 404: its existence is not revealed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway.h"
#include "kafka.h"
#include "log.h"

#define GW_TOPIC_UPDATES "referral.updates"
#define GW_TYPE_UPDATE "signpost.referral.status_update.v1"
/* how long intake accepts the caller signed into an update: as long as
 * referral.updates.dlq keeps it (30 days, deploy/gen.py), so an update
 * waiting out an intake outage, or replayed from the dead letters, still
 * applies */
#define GW_UPDATE_TOKEN_S (30 * 24 * 3600)

/* status_check: the body's status and reason against the contract; 0, or
 * -1 with the answer filled. */
static int
status_check(struct gw_call *call, const json_t *b, const char **status,
             const char **reason)
{
        static const char *const states[] = {
            "delivered",   "accepted",          "contacted",
            "in_progress", "completed",         "declined",
            "withdrawn",   "unable_to_contact", NULL};
        struct err e = {0};
        bool known = false;

        *status = *reason = NULL;
        if (jsonx_get_string(b, "status", false, status, &e) < 0 ||
            jsonx_get_string(b, "reason", false, reason, &e) < 0) {
                http_resp_error(call->resp, 400, "invalid_request", e.field,
                                "must be a string");
                return -1;
        }
        for (int i = 0; *status != NULL && states[i] != NULL; i++)
                known = known || strcmp(states[i], *status) == 0;
        if (!known) {
                http_resp_error(call->resp, 422, "invalid_value", "status",
                                "status is required: one of delivered, "
                                "accepted, contacted, in_progress, completed, "
                                "declined, withdrawn, unable_to_contact");
                return -1;
        }
        if (*reason != NULL && strlen(*reason) > 500) {
                http_resp_error(call->resp, 422, "invalid_value", "reason",
                                "is too long (500 characters at most)");
                return -1;
        }
        if (strcmp(*status, "declined") == 0 &&
            (*reason == NULL || (*reason)[strspn(*reason, " \t")] == '\0')) {
                http_resp_error(call->resp, 422, "invalid_value", "reason",
                                "a reason is required to decline");
                return -1;
        }
        return 0;
}

/* owned: true when the caller may change referral id; otherwise false
 * with the answer filled (404, or 503 when the replica cannot be read). */
static bool
owned(struct gw_call *call, const char *id)
{
        struct gw_owner o;
        struct err e = {0};
        struct db *db = db_pool_get(&call->g->pool);
        int rc = gw_store_owner_get(db, id, &o, &e);

        db_pool_put(&call->g->pool, db);
        if (rc < 0 && e.kind != ERR_NOT_FOUND) {
                gw_command_unavailable(call, &e);
                return false;
        }
        if (rc == 0 &&
            (call->who.role == HTTP_ROLE_ADMIN ||
             (call->who.org[0] != '\0' && strcmp(call->who.org, o.org) == 0)))
                return true;
        http_resp_error(call->resp, 404, "not_found", NULL, "no such referral");
        return false;
}

/* update_of: returns new referral.updates value (see
 * services/intake/updates.c): the status, the reason and the caller, as
 * a principal token signed with the principal key, sealed to intake. The
 * reason never travels in the clear, and no other writer of the topic can
 * forge the caller. */
static json_t *
update_of(const struct gw_call *call, const char *id, const char *status,
          const char *reason, struct err *e)
{
        struct http_principal p = call->who;
        char *token = NULL, *sealed = NULL;
        json_t *inner = NULL, *out = NULL;

        /* valid for as long as the topic keeps the update */
        p.exp = (int64_t)time(NULL) + GW_UPDATE_TOKEN_S;
        if (http_principal_sign(call->g->principal_key->bytes, &p, &token) <
            0) {
                err_set(e, ERR_TRANSIENT, NULL, "cannot sign the caller");
                return NULL;
        }
        inner = json_pack("{s:s, s:s, s:s*, s:s}", "referral_id", id, "status",
                          status, "reason", reason, "principal", token);
        sealed = gw_seal_json(call->g->to_intake, inner, e);
        if (sealed != NULL)
                out = json_pack("{s:s, s:s}", "referral_id", id, "sealed",
                                sealed);
        json_decref(inner);
        free(sealed);
        free(token);
        return out;
}

void
gw_referral_status_post(struct gw_call *call)
{
        static const char *const fields[] = {"status", "reason", NULL};
        const char *id = http_req_param(call->req, "id");
        const char *status, *reason;
        struct err e = {0};
        json_t *body = NULL, *msg = NULL;
        char loc[64];

        if (id == NULL || !uuid_valid(id)) {
                http_resp_error(call->resp, 404, "not_found", NULL,
                                "no such referral");
                return;
        }
        if ((body = gw_command_body(call, fields)) == NULL ||
            status_check(call, body, &status, &reason) < 0 || !owned(call, id))
                goto out;
        msg = update_of(call, id, status, reason, &e);
        if (msg == NULL || gw_command_send(call->g, GW_TOPIC_UPDATES, id,
                                           GW_TYPE_UPDATE, msg, &e) < 0) {
                if (e.kind == ERR_NONE)
                        err_set(&e, ERR_TRANSIENT, NULL, "out of memory");
                gw_command_unavailable(call, &e);
                goto out;
        }
        snprintf(loc, sizeof(loc), "/v1/referrals/%s", id);
        http_resp_json(call->resp, 202,
                       json_pack("{s:s, s:s, s:s}", "id", id, "status", status,
                                 "state", "accepted_for_processing"));
        http_resp_header(call->resp, "Location", loc);
out:
        json_decref(msg);
        json_decref(body);
}
