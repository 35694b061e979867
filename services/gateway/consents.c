/*
 * consents: consent changes entering as commands on consent.commands
 * (key subject_id): a person's from the referral status link (the link's
 * secret proves it is theirs; the subject comes from the referral-owner
 * replica, never from the request) and an admin's on a person's behalf.
 * signpost.consent.withdrawn.v1 or .granted.v1, answered 202 with a
 * receipt-like body after the broker acknowledged it. The consent daemon
 * records it in its ledger and publishes consent.state.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "gateway.h"
#include "log.h"

#define GW_TOPIC_CONSENT "consent.commands"

static const char *const purposes[] = {"share_with_provider",
                                       "contact_about_service",
                                       "feedback_requests",
                                       "terms_change_notices",
                                       "share_with_other_organisations",
                                       "all_contact",
                                       NULL};

bool
gw_consent_purpose_valid(const char *p)
{
        for (int i = 0; p != NULL && purposes[i] != NULL; i++)
                if (strcmp(purposes[i], p) == 0)
                        return true;
        return false;
}

static bool
action_valid(const char *a)
{
        return a != NULL &&
               (strcmp(a, "withdrawn") == 0 || strcmp(a, "granted") == 0);
}

/* command: builds, sends and returns the receipt (new json) of one
 * consent command; NULL with e. */
static json_t *
command(struct gw *g, const struct gw_consent *c, struct err *e)
{
        char now[40], type[64];
        json_t *m;
        int rc;

        event_now(now);
        snprintf(type, sizeof(type), "signpost.consent.%s.v1", c->action);
        m = json_pack("{s:s, s:s, s:s, s:s*, s:s, s:s}", "subject_id",
                      c->subject, "purpose", c->purpose, "expressed_via",
                      c->via, "privacy_notice_version",
                      c->notice[0] ? c->notice : NULL, "recorded_by",
                      c->recorded_by, "at", now);
        if (m == NULL) {
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                return NULL;
        }
        rc = gw_command_send(g, GW_TOPIC_CONSENT, c->subject, type, m, e);
        json_decref(m);
        if (rc < 0)
                return NULL;
        return json_pack(
            "{s:s, s:s, s:s, s:s*, s:s, s:s}", "purpose", c->purpose, "action",
            c->action, "expressed_via", c->via, "privacy_notice_version",
            c->notice[0] ? c->notice : NULL, "recorded_at", now,
            "how_to_change",
            "use your referral status link again, or contact the service "
            "administrator; a withdrawal stops further contact for that "
            "purpose, all_contact stops all contact");
}

int
gw_consent_person(struct gw *g, const char *referral_id, const char *key,
                  struct gw_consent *c, json_t **receipt, struct err *e)
{
        struct gw_status st;
        struct gw_owner o;
        struct db *db;
        int rc;

        *receipt = NULL;
        if (gw_status_read(g, referral_id, key, &st, e) < 0)
                return e->kind == ERR_NOT_FOUND ? 404 : 503;
        if (!st.replicated) {
                /* the link is good, but who the referral's subject is comes
                 * with intake's received event */
                err_set(e, ERR_TRANSIENT, NULL,
                        "this referral is still being received; try again "
                        "in a few seconds");
                return 503;
        }
        db = db_pool_get(&g->pool);
        rc = gw_store_owner_get(db, referral_id, &o, e);
        db_pool_put(&g->pool, db);
        if (rc < 0)
                return e->kind == ERR_NOT_FOUND ? 404 : 503;
        if (!gw_consent_purpose_valid(c->purpose) || !action_valid(c->action)) {
                err_set(e, ERR_CONFLICT, "purpose",
                        "unknown purpose or action");
                return 422;
        }
        snprintf(c->subject, sizeof(c->subject), "%s", o.subject);
        snprintf(c->notice, sizeof(c->notice), "%s", o.notice);
        snprintf(c->recorded_by, sizeof(c->recorded_by), "person");
        if ((*receipt = command(g, c, e)) == NULL)
                return 503;
        json_object_set_new(*receipt, "referral_id", json_string(referral_id));
        json_object_set_new(*receipt, "reference", json_string(st.reference));
        return 0;
}

/* body_of: purpose and action of a JSON body into c; 0, or -1 with the
 * answer filled. */
static int
body_of(struct gw_call *call, const json_t *b, struct gw_consent *c)
{
        const char *purpose = NULL, *action = NULL;
        struct err e = {0};

        if (jsonx_get_string(b, "purpose", false, &purpose, &e) < 0 ||
            jsonx_get_string(b, "action", false, &action, &e) < 0) {
                http_resp_error(call->resp, 400, "invalid_request", e.field,
                                "must be a string");
                return -1;
        }
        if (!gw_consent_purpose_valid(purpose)) {
                http_resp_error(call->resp, 422, "invalid_value", "purpose",
                                "purpose is required: one of "
                                "share_with_provider, contact_about_service, "
                                "feedback_requests, terms_change_notices, "
                                "share_with_other_organisations, all_contact");
                return -1;
        }
        if (!action_valid(action)) {
                http_resp_error(call->resp, 422, "invalid_value", "action",
                                "action is required: withdrawn or granted");
                return -1;
        }
        snprintf(c->purpose, sizeof(c->purpose), "%s", purpose);
        snprintf(c->action, sizeof(c->action), "%s", action);
        return 0;
}

static void
answer(struct gw_call *call, int status, json_t *receipt, struct err *e)
{
        if (status == 0) {
                http_resp_json(call->resp, 202, receipt);
                return;
        }
        json_decref(receipt);
        if (status == 404)
                http_resp_error(call->resp, 404, "not_found", NULL,
                                "no such referral (a new one can be changed "
                                "here within a few seconds)");
        else if (status == 422)
                http_resp_error(call->resp, 422, "invalid_value", e->field,
                                "%s", e->msg);
        else
                gw_command_unavailable(call, e);
}

/* POST /v1/referrals/{id}/consents?key=SECRET {"purpose", "action"} */
void
gw_referral_consent_post(struct gw_call *call)
{
        static const char *const fields[] = {"purpose", "action", NULL};
        const char *id = http_req_param(call->req, "id");
        const char *key = http_req_query(call->req, "key");
        struct gw_consent c = {.via = "api"};
        struct err e = {0};
        json_t *body, *receipt = NULL;
        int st;

        if (!uuid_valid(id) || key == NULL ||
            strlen(key) != GW_STATUS_SECRET_LEN - 1) {
                http_resp_error(call->resp, 404, "not_found", NULL,
                                "no such referral");
                return;
        }
        if ((body = gw_command_body(call, fields)) == NULL)
                return;
        if (body_of(call, body, &c) == 0) {
                st = gw_consent_person(call->g, id, key, &c, &receipt, &e);
                answer(call, st, receipt, &e);
        }
        json_decref(body);
}

/* POST /v1/consents {"subject_id", "purpose", "action"}: admin, on a
 * person's behalf. */
void
gw_consent_post(struct gw_call *call)
{
        static const char *const fields[] = {"subject_id", "purpose", "action",
                                             NULL};
        const char *subject = NULL;
        struct gw_consent c = {.via = "admin"};
        struct err e = {0};
        json_t *body, *receipt;

        if ((body = gw_command_body(call, fields)) == NULL)
                return;
        if (jsonx_get_string(body, "subject_id", false, &subject, &e) < 0) {
                http_resp_error(call->resp, 400, "invalid_request",
                                "subject_id", "must be a string");
                goto out;
        }
        if (subject == NULL || !uuid_valid(subject)) {
                http_resp_error(call->resp, 422, "invalid_value", "subject_id",
                                "subject_id is required: the person's "
                                "subject id (UUID)");
                goto out;
        }
        if (body_of(call, body, &c) < 0)
                goto out;
        snprintf(c.subject, sizeof(c.subject), "%s", subject);
        snprintf(c.notice, sizeof(c.notice), "%s",
                 call->g->set.privacy_notice_version
                     ? call->g->set.privacy_notice_version
                     : "");
        snprintf(c.recorded_by, sizeof(c.recorded_by), "%s", call->who.sub);
        receipt = command(call->g, &c, &e);
        if (receipt != NULL)
                json_object_set_new(receipt, "subject_id",
                                    json_string(subject));
        answer(call, receipt ? 0 : 503, receipt, &e);
out:
        json_decref(body);
}
