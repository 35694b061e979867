/*
 * submit: POST /v1/referrals and the referral status read. A submission
 * is checked (content type, strict JSON, the contract, the catalogue
 * replica), given an id, a reference and a status-link secret, sealed and
 * produced to referral.submissions; the answer is 202 only after Kafka
 * acknowledged it, 503 with Retry-After if it did not. An Idempotency-Key
 * maps to the first attempt's id and reference, so a retry gets the same
 * answer and (once acknowledged) produces nothing new. The web form uses
 * the same core (gw_submit). Nothing here logs a field value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "gateway.h"
#include "log.h"
#include "metrics.h"

static struct metrics_counter *
counter(const char *outcome)
{
        return metrics_counter_register("signpost_gateway_referrals_total",
                                        "Referral submissions by outcome.",
                                        "outcome", outcome, METRICS_END);
}

/* status_of: the HTTP status for an err kind from gw_submit's checks. */
static int
status_of(const struct err *e)
{
        switch (e->kind) {
        case ERR_INVALID:
                return 400;
        case ERR_CONFLICT:
        case ERR_NOT_FOUND:
                return 422;
        default:
                return 503;
        }
}

static int
check_service(struct gw *g, const json_t *body, struct err *e)
{
        const char *sid =
            json_string_value(json_object_get(body, "service_id"));
        struct gw_service s;

        if (!gw_catalogue_get(g->cat, sid, &s))
                return err_set(e, ERR_NOT_FOUND, "service_id",
                               "no such service in the directory");
        if (!gw_service_open(&s))
                return err_set(e, ERR_CONFLICT, "service_id",
                               "this service is not taking referrals");
        return 0;
}

/* claim: the idempotency record; *send false when Kafka already has it. */
static int
claim(struct gw *g, const char *scope, const char *key, const char *text,
      size_t len, char id[UUID_STR_LEN], char ref[GW_REFERENCE_LEN], bool *send,
      struct err *e)
{
        char hash[SECRET_HEX_LEN];
        bool fresh = false, same = false, acked = false;
        struct db *db;
        int rc;

        if (secret_hash_hex(g->token_key, "signpost:idempotency-body:", text,
                            len, hash, e) < 0)
                return -1;
        db = gw_pool_get(&g->pool);
        rc = gw_store_idem_claim(db, scope, key, hash, id, ref, &fresh, &same,
                                 &acked, e);
        gw_pool_put(&g->pool, db);
        if (rc < 0)
                return err_set(e, ERR_TRANSIENT, NULL,
                               "cannot record the Idempotency-Key now");
        if (!same)
                return err_set(e, ERR_CONFLICT, "Idempotency-Key",
                               "this Idempotency-Key was used with another "
                               "request body");
        *send = fresh || !acked;
        return 0;
}

static void
mark_acked(struct gw *g, const char *scope, const char *key)
{
        struct db *db = gw_pool_get(&g->pool);
        struct err e = {0};

        if (gw_store_idem_acked(db, scope, key, &e) < 0)
                log_warnx("idempotency key not marked", "kind=%s",
                          err_kind_name(e.kind));
        gw_pool_put(&g->pool, db);
}

static int
send_referral(struct gw *g, const json_t *body, const char *id, const char *ref,
              const char *secret, struct err *e)
{
        char hash[SECRET_HEX_LEN], *msg;
        struct event ev;
        int rc;

        gw_status_secret_hash(secret, hash);
        msg =
            gw_referral_message(body, id, ref, hash,
                                g->set.privacy_notice_version, g->intake_pk, e);
        if (msg == NULL)
                return -1;
        event_init(&ev, GW_SOURCE, GW_TYPE_SUBMITTED, id);
        rc = gw_produce(g->prod, GW_TOPIC_SUBMISSIONS, id, &ev, msg,
                        g->set.produce_timeout_ms, e);
        free(msg);
        return rc;
}

int
gw_submit(struct gw *g, const json_t *body, const char *scope,
          const char *idem_key, const char *body_text, size_t body_len,
          char id[UUID_STR_LEN], char reference[GW_REFERENCE_LEN],
          char secret[GW_STATUS_SECRET_LEN], struct err *e)
{
        bool send = true;

        if (gw_referral_check(body, e) < 0 || check_service(g, body, e) < 0)
                goto fail;
        uuid_v7(id);
        gw_reference_new(reference);
        if (idem_key != NULL && claim(g, scope, idem_key, body_text, body_len,
                                      id, reference, &send, e) < 0)
                goto fail;
        if (gw_status_secret(g->token_key, id, secret, e) < 0 ||
            (send && send_referral(g, body, id, reference, secret, e) < 0)) {
                e->kind = ERR_TRANSIENT;
                goto fail;
        }
        if (idem_key != NULL && send)
                mark_acked(g, scope, idem_key);
        metrics_counter_inc(counter(send ? "accepted" : "replayed"));
        return 0;
fail:
        metrics_counter_inc(
            counter(e->kind == ERR_TRANSIENT ? "unavailable" : "rejected"));
        return status_of(e);
}

static bool
is_json_type(const char *ct)
{
        size_t n = strlen("application/json");

        if (ct == NULL || strncasecmp(ct, "application/json", n) != 0)
                return false;
        ct += n;
        while (*ct == ' ')
                ct++;
        return *ct == '\0' ||
               (*ct == ';' && strcasestr(ct, "charset") == NULL) ||
               strcasestr(ct, "charset=utf-8") != NULL;
}

static bool
idem_key_ok(const char *k)
{
        size_t n = strlen(k);

        if (n < 1 || n > 128)
                return false;
        for (; *k; k++)
                if (strchr(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789-_.:",
                        *k) == NULL)
                        return false;
        return true;
}

static void
accepted(struct gw_call *call, const char *id, const char *ref,
         const char *secret)
{
        char loc[256], page[256];

        snprintf(loc, sizeof(loc), "/v1/referrals/%s/status?key=%s", id,
                 secret);
        snprintf(page, sizeof(page), "/status/%s?key=%s", id, secret);
        http_resp_json(call->resp, 202,
                       json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", id,
                                 "reference", ref, "status", "received",
                                 "status_url", loc, "status_page", page));
        http_resp_header(call->resp, "Location", loc);
}

static void
refuse(struct gw_call *call, int status, const struct err *e)
{
        const char *code = status == 400   ? "invalid_request"
                           : status == 422 ? "unprocessable"
                                           : "unavailable";
        bool named = e->field[0] != '\0' && status != 503;

        if (strcmp(e->field, "consents.share_with_provider") == 0)
                code = "consent_required";
        http_resp_error(call->resp, status, code, named ? e->field : NULL,
                        "%s%s%s", named ? e->field : "", named ? " " : "",
                        e->msg);
        if (status == 503)
                http_resp_header(call->resp, "Retry-After", "5");
}

void
gw_submit_handler(struct gw_call *call)
{
        struct http_req *req = call->req;
        const char *key = http_req_header(req, "Idempotency-Key");
        char id[UUID_STR_LEN], ref[GW_REFERENCE_LEN],
            secret[GW_STATUS_SECRET_LEN];
        struct err e = {0};
        json_t *body = NULL;
        int status;

        if (!is_json_type(http_req_header(req, "Content-Type"))) {
                http_resp_error(call->resp, 415, "unsupported_media_type",
                                "Content-Type",
                                "send application/json (UTF-8)");
                return;
        }
        if (key != NULL && !idem_key_ok(key)) {
                http_resp_error(call->resp, 400, "invalid_request",
                                "Idempotency-Key",
                                "Idempotency-Key must be 1-128 characters of "
                                "A-Z a-z 0-9 - _ . :");
                return;
        }
        body = jsonx_parse_object(req->body, req->body_len, &e);
        if (body == NULL) {
                http_resp_error(call->resp, 400, "invalid_json", NULL,
                                "malformed JSON: %s", e.msg);
                return;
        }
        status =
            gw_submit(call->g, body, call->has_token ? call->who.sub : "public",
                      key, req->body, req->body_len, id, ref, secret, &e);
        json_decref(body);
        if (status == 0)
                accepted(call, id, ref, secret);
        else
                refuse(call, status, &e);
        if (status == 503)
                log_warnx("referral not accepted", "request_id=%s why=\"%s\"",
                          req->request_id, e.msg);
}

/* gw_status_handler: GET /v1/referrals/{id}/status?key=SECRET */
void
gw_status_handler(struct gw_call *call)
{
        const char *id = http_req_param(call->req, "id");
        const char *key = http_req_query(call->req, "key");
        char hash[SECRET_HEX_LEN], status[32], ref[GW_REFERENCE_LEN];
        char updated[40];
        struct err e = {0};
        struct db *db;
        int rc;

        if (id == NULL || !uuid_valid(id) || key == NULL ||
            strlen(key) != GW_STATUS_SECRET_LEN - 1) {
                http_resp_error(call->resp, 404, "not_found", NULL,
                                "no such referral");
                return;
        }
        gw_status_secret_hash(key, hash);
        db = gw_pool_get(&call->g->pool);
        rc = gw_store_status_get(db, id, hash, status, ref, updated, &e);
        gw_pool_put(&call->g->pool, db);
        if (rc < 0 && e.kind == ERR_NOT_FOUND) {
                http_resp_error(call->resp, 404, "not_found", NULL,
                                "no such referral (a new one shows here "
                                "within a few seconds)");
                return;
        }
        if (rc < 0) {
                http_resp_error(call->resp, 503, "unavailable", NULL,
                                "cannot read the status now");
                http_resp_header(call->resp, "Retry-After", "5");
                return;
        }
        http_resp_json(call->resp, 200,
                       json_pack("{s:s, s:s, s:s, s:s}", "id", id, "reference",
                                 ref, "status", status, "updated_at", updated));
}
