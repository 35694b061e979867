/*
 * routes: the consent daemon's HTTP face, reached through the gateway
 * (every route needs its signed principal).
 *
 *   GET  /v1/consents/{subject}   admin: state, history, chain check;
 *                                 names the subject it returned in
 *                                 X-Signpost-Audit-Records (lib/audit.h)
 *   POST /v1/consents             record a grant or withdrawal; answers
 *                                 201 with a consent receipt. An admin may
 *                                 act for any subject; a caller whose
 *                                 principal sub is "subject:<id>" (the
 *                                 gateway vouches for it after the status
 *                                 link or a one-time code) only for <id>.
 *   GET  /v1/privacy-notices      the notice versions
 *   POST /v1/privacy-notices      admin: publish a version
 *
 * Does not own SQL (store.c) or the recording rules (record.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "consent.h"
#include "http.h"
#include "json.h"
#include "log.h"

static bool
is_admin(const struct http_req *req)
{
        return req->principal != NULL &&
               req->principal->role == HTTP_ROLE_ADMIN;
}

static json_t *
history_json(struct db *db, const struct secret_key *key, const char *subject,
             struct err *e)
{
        struct consent_entry *rows = NULL;
        json_t *arr, *out;
        int n = 0, i, bad = -1;
        bool ok;

        if (consent_store_history(db, subject, &rows, &n, e) < 0)
                return NULL;
        arr = json_array();
        for (i = 0; i < n; i++)
                json_array_append_new(arr, consent_entry_json(&rows[i]));
        ok = consent_ledger_verify(key, rows, n, &bad);
        out = json_pack("{s:o, s:b}", "history", arr, "chain_valid", ok);
        if (!ok)
                json_object_set_new(out, "chain_broken_at",
                                    json_integer(rows[bad].n));
        free(rows);
        return out;
}

static void
consent_get(struct http_req *req, struct http_resp *resp)
{
        struct consent_ctx *ctx = req->arg;
        const char *subject = http_req_param(req, "subject");
        struct err e = {0};
        json_t *state = NULL, *hist = NULL;
        struct db *db;

        if (!is_admin(req)) {
                http_resp_error(resp, 403, "forbidden", NULL,
                                "consent history is for administrators");
                return;
        }
        if (!uuid_valid(subject)) {
                http_resp_error(resp, 400, "invalid", "subject", "not a UUID");
                return;
        }
        db = db_pool_get(ctx->pool);
        state = consent_store_state_get(db, subject, &e);
        if (state != NULL)
                hist = history_json(db, ctx->chain_key, subject, &e);
        db_pool_put(ctx->pool, db);
        if (state == NULL || hist == NULL) {
                json_decref(state);
                http_resp_err(resp, &e);
                return;
        }
        json_object_set_new(hist, "state", state);
        http_resp_json(resp, 200, hist);
        /* the record returned: the gateway audits the read by it */
        http_resp_header(resp, AUDIT_RECORDS_HEADER, subject);
}

/* authorise: fills defaults from the caller; -1 with resp set when the
 * caller may not record for this subject. */
static int
authorise(const struct http_req *req, json_t *body, struct http_resp *resp)
{
        const struct http_principal *p = req->principal;
        const char *subject =
            json_string_value(json_object_get(body, "subject_id"));
        char by[160];

        if (p->role == HTTP_ROLE_ADMIN) {
                snprintf(by, sizeof(by), "admin:%s", p->sub);
                if (json_object_get(body, "expressed_via") == NULL)
                        json_object_set_new(body, "expressed_via",
                                            json_string("admin"));
        } else if (p->role == HTTP_ROLE_PUBLIC && subject != NULL &&
                   strncmp(p->sub, "subject:", 8) == 0 &&
                   strcmp(p->sub + 8, subject) == 0) {
                snprintf(by, sizeof(by), "%s", p->sub);
                if (json_object_get(body, "expressed_via") == NULL)
                        json_object_set_new(body, "expressed_via",
                                            json_string("web_form"));
        } else {
                http_resp_error(resp, 403, "forbidden", NULL,
                                "not allowed to record consent for this "
                                "subject");
                return -1;
        }
        json_object_set_new(body, "recorded_by", json_string(by));
        return 0;
}

static const char *const post_fields[] = {"subject_id",
                                          "purpose",
                                          "action",
                                          "expressed_via",
                                          "privacy_notice_version",
                                          "at",
                                          "blind_index",
                                          NULL};

static int
record_in_tx(struct consent_ctx *ctx, struct consent_entry *r, json_t **state,
             struct err *e)
{
        struct db *db = db_pool_get(ctx->pool);
        int rc = -1;

        if (db_ensure(db, 0, e) == 0 && db_begin(db, e) == 0) {
                rc = consent_record(db, ctx->chain_key, r, state, e);
                if (rc == 0)
                        rc = db_commit(db, e);
                else
                        db_rollback(db);
        }
        db_pool_put(ctx->pool, db);
        return rc;
}

static void
consent_post(struct http_req *req, struct http_resp *resp)
{
        struct consent_ctx *ctx = req->arg;
        struct consent_entry r;
        struct err e = {0};
        json_t *body = jsonx_parse_object(req->body, req->body_len, &e);
        json_t *state = NULL;

        if (body == NULL || jsonx_reject_unknown(body, post_fields, &e) < 0 ||
            (json_object_get(body, "subject_id") != NULL &&
             !json_is_string(json_object_get(body, "subject_id")))) {
                if (e.kind == ERR_NONE)
                        err_set(&e, ERR_INVALID, "subject_id", "not a string");
                http_resp_err(resp, &e);
                goto out;
        }
        if (authorise(req, body, resp) < 0)
                goto out;
        if (consent_entry_from_json(body, NULL, &r, &e) < 0) {
                http_resp_err(resp, &e);
                goto out;
        }
        uuid_v7(r.id);
        if (record_in_tx(ctx, &r, &state, &e) < 0) {
                http_resp_err(resp, &e);
                goto out;
        }
        log_info("consent recorded", "request_id=%s receipt_id=%s",
                 req->request_id, r.id);
        http_resp_json(resp, 201, consent_receipt(&r, state));
out:
        json_decref(state);
        json_decref(body);
}

static void
notices_get(struct http_req *req, struct http_resp *resp)
{
        struct consent_ctx *ctx = req->arg;
        struct err e = {0};
        struct db *db = db_pool_get(ctx->pool);
        json_t *j = consent_store_notices(db, &e);

        db_pool_put(ctx->pool, db);
        if (j == NULL) {
                http_resp_err(resp, &e);
                return;
        }
        http_resp_json(resp, 200, json_pack("{s:o}", "notices", j));
}

static void
notices_post(struct http_req *req, struct http_resp *resp)
{
        struct consent_ctx *ctx = req->arg;
        static const char *const fields[] = {"version", "published_at", "url",
                                             "summary", NULL};
        const char *v = NULL, *at = NULL, *url = NULL, *sum = NULL;
        struct err e = {0};
        json_t *body = NULL;
        struct db *db;

        if (!is_admin(req)) {
                http_resp_error(resp, 403, "forbidden", NULL,
                                "publishing a notice is for administrators");
                return;
        }
        body = jsonx_parse_object(req->body, req->body_len, &e);
        if (body == NULL || jsonx_reject_unknown(body, fields, &e) < 0 ||
            jsonx_get_string(body, "version", true, &v, &e) < 0 ||
            jsonx_get_string(body, "published_at", false, &at, &e) < 0 ||
            jsonx_get_string(body, "url", false, &url, &e) < 0 ||
            jsonx_get_string(body, "summary", false, &sum, &e) < 0) {
                http_resp_err(resp, &e);
                json_decref(body);
                return;
        }
        db = db_pool_get(ctx->pool);
        if (v[0] == '\0' || strlen(v) > 64)
                err_set(&e, ERR_INVALID, "version", "1-64 characters");
        else
                consent_store_notice_put(db, v, at, url, sum, &e);
        db_pool_put(ctx->pool, db);
        if (e.kind != ERR_NONE)
                http_resp_err(resp, &e);
        else
                http_resp_json(resp, 201, json_pack("{s:s}", "version", v));
        json_decref(body);
}

static const struct http_route routes[] = {
    {"GET", "/v1/consents/{subject}", consent_get, 0},
    {"POST", "/v1/consents", consent_post, 0},
    {"GET", "/v1/privacy-notices", notices_get, 0},
    {"POST", "/v1/privacy-notices", notices_post, 0},
    {NULL, NULL, NULL, 0},
};

const struct http_route *
consent_routes(void)
{
        return routes;
}
