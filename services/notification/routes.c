/*
 * routes: the notification daemon's HTTP face, reached through the gateway
 * (every route needs its signed principal).
 *
 *   GET  /v1/templates/{kind}/{channel}   admin: one template
 *   PUT  /v1/templates/{kind}/{channel}   admin: {subject, body_text,
 *                                         body_html}; placeholders checked
 *   GET  /v1/messages/{id}                admin: one delivery-log entry
 *   GET  /v1/consent/{subject}            admin: the consent replica
 *   POST /v1/codes                        {subject_id, sealed} -> 201
 *                                         {code_id, expires_at}
 *   POST /v1/codes/verify                 {code_id, code} -> 200
 *                                         {verified, subject_id}
 *
 * Does not own SQL (store*.c) or the code rules (codes.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "json.h"
#include "log.h"
#include "notification.h"

static void
fail(struct http_resp *resp, const struct err *e)
{
        static const int status[] = {
            [ERR_NONE] = 500,  [ERR_TRANSIENT] = 503, [ERR_INVALID] = 400,
            [ERR_FATAL] = 500, [ERR_NOT_FOUND] = 404, [ERR_CONFLICT] = 409};
        static const char *const codes[] = {
            [ERR_NONE] = "internal",       [ERR_TRANSIENT] = "unavailable",
            [ERR_INVALID] = "invalid",     [ERR_FATAL] = "internal",
            [ERR_NOT_FOUND] = "not_found", [ERR_CONFLICT] = "conflict"};

        http_resp_error(resp, status[e->kind], codes[e->kind],
                        e->field[0] ? e->field : NULL, "%s", e->msg);
}

static bool
admin(const struct http_req *req, struct http_resp *resp)
{
        if (req->principal != NULL && req->principal->role == HTTP_ROLE_ADMIN)
                return true;
        http_resp_error(resp, 403, "forbidden", NULL, "for administrators");
        return false;
}

typedef json_t *(*getter_fn)(struct db *db, const char *a, const char *b,
                             struct err *e);

static json_t *
get_template(struct db *db, const char *a, const char *b, struct err *e)
{
        return notify_store_template_get(db, a, b, e);
}

static json_t *
get_message(struct db *db, const char *a, const char *b, struct err *e)
{
        (void)b;
        return notify_store_message_get(db, a, e);
}

static json_t *
get_consent(struct db *db, const char *a, const char *b, struct err *e)
{
        (void)b;
        return notify_store_consent_get(db, a, e);
}

static void
answer_get(struct http_req *req, struct http_resp *resp, getter_fn fn,
           const char *a, const char *b)
{
        struct notify_ctx *ctx = req->arg;
        struct err e = {0};
        struct db *db;
        json_t *j;

        if (!admin(req, resp))
                return;
        if (b == NULL && !uuid_valid(a)) {
                http_resp_error(resp, 400, "invalid", NULL, "not a UUID");
                return;
        }
        db = db_pool_get(ctx->pool);
        j = fn(db, a, b, &e);
        db_pool_put(ctx->pool, db);
        if (j == NULL)
                fail(resp, &e);
        else
                http_resp_json(resp, 200, j);
}

static void
template_get(struct http_req *req, struct http_resp *resp)
{
        answer_get(req, resp, get_template, http_req_param(req, "kind"),
                   http_req_param(req, "channel"));
}

static void
message_get(struct http_req *req, struct http_resp *resp)
{
        answer_get(req, resp, get_message, http_req_param(req, "id"), NULL);
}

static void
consent_get(struct http_req *req, struct http_resp *resp)
{
        answer_get(req, resp, get_consent, http_req_param(req, "subject"),
                   NULL);
}

static int
template_body(json_t *body, const char *channel, const char **subject,
              const char **text, const char **html, struct err *e)
{
        static const char *const fields[] = {"subject", "body_text",
                                             "body_html", NULL};

        if (jsonx_reject_unknown(body, fields, e) < 0 ||
            jsonx_get_string(body, "subject", strcmp(channel, "email") == 0,
                             subject, e) < 0 ||
            jsonx_get_string(body, "body_text", true, text, e) < 0 ||
            jsonx_get_string(body, "body_html", false, html, e) < 0)
                return -1;
        if (notify_template_check(*subject, e) < 0 ||
            notify_template_check(*text, e) < 0 ||
            notify_template_check(*html, e) < 0)
                return -1;
        if (strcmp(channel, "sms") == 0 && (*subject != NULL || *html != NULL))
                return err_set(e, ERR_INVALID, "subject",
                               "sms templates have only body_text");
        return 0;
}

static void
template_put(struct http_req *req, struct http_resp *resp)
{
        struct notify_ctx *ctx = req->arg;
        const char *kind = http_req_param(req, "kind");
        const char *channel = http_req_param(req, "channel");
        const char *subject = NULL, *text = NULL, *html = NULL;
        struct err e = {0};
        json_t *body = NULL;
        struct db *db;

        if (!admin(req, resp))
                return;
        if (strcmp(channel, "email") != 0 && strcmp(channel, "sms") != 0) {
                http_resp_error(resp, 400, "invalid", "channel",
                                "email or sms");
                return;
        }
        body = jsonx_parse_object(req->body, req->body_len, &e);
        if (body == NULL ||
            template_body(body, channel, &subject, &text, &html, &e) < 0) {
                fail(resp, &e);
                json_decref(body);
                return;
        }
        db = db_pool_get(ctx->pool);
        notify_store_template_put(db, kind, channel, subject, text, html,
                                  req->principal->sub, &e);
        json_decref(body);
        body = e.kind == ERR_NONE
                   ? notify_store_template_get(db, kind, channel, &e)
                   : NULL;
        db_pool_put(ctx->pool, db);
        if (body == NULL)
                fail(resp, &e);
        else
                http_resp_json(resp, 200, body);
}

static void
code_post(struct http_req *req, struct http_resp *resp)
{
        static const char *const fields[] = {"subject_id", "sealed", NULL};
        struct notify_ctx *ctx = req->arg;
        const char *subject = NULL, *sealed = NULL;
        char id[UUID_STR_LEN], expires[40];
        struct err e = {0};
        json_t *body = jsonx_parse_object(req->body, req->body_len, &e);
        struct db *db;

        if (body == NULL || jsonx_reject_unknown(body, fields, &e) < 0 ||
            jsonx_get_string(body, "subject_id", true, &subject, &e) < 0 ||
            jsonx_get_string(body, "sealed", true, &sealed, &e) < 0 ||
            (!uuid_valid(subject) &&
             err_set(&e, ERR_INVALID, "subject_id", "not a UUID") < 0)) {
                fail(resp, &e);
                json_decref(body);
                return;
        }
        db = db_pool_get(ctx->pool);
        notify_code_issue(ctx, db, subject, sealed, id, expires, &e);
        db_pool_put(ctx->pool, db);
        json_decref(body);
        if (e.kind != ERR_NONE) {
                fail(resp, &e);
                return;
        }
        log_info("code issued", "request_id=%s code_id=%s", req->request_id,
                 id);
        http_resp_json(
            resp, 201,
            json_pack("{s:s, s:s}", "code_id", id, "expires_at", expires));
}

static void
code_verify(struct http_req *req, struct http_resp *resp)
{
        static const char *const fields[] = {"code_id", "code", NULL};
        struct notify_ctx *ctx = req->arg;
        const char *id = NULL, *code = NULL;
        char subject[UUID_STR_LEN] = "";
        struct err e = {0};
        json_t *body = jsonx_parse_object(req->body, req->body_len, &e);
        struct db *db;

        if (body == NULL || jsonx_reject_unknown(body, fields, &e) < 0 ||
            jsonx_get_string(body, "code_id", true, &id, &e) < 0 ||
            jsonx_get_string(body, "code", true, &code, &e) < 0) {
                fail(resp, &e);
                json_decref(body);
                return;
        }
        db = db_pool_get(ctx->pool);
        notify_code_verify(ctx, db, id, code, subject, &e);
        db_pool_put(ctx->pool, db);
        json_decref(body);
        if (e.kind != ERR_NONE) {
                fail(resp, &e);
                return;
        }
        http_resp_json(
            resp, 200,
            json_pack("{s:b, s:s}", "verified", 1, "subject_id", subject));
}

static const struct http_route routes[] = {
    {"GET", "/v1/templates/{kind}/{channel}", template_get, 0},
    {"PUT", "/v1/templates/{kind}/{channel}", template_put, 0},
    {"GET", "/v1/messages/{id}", message_get, 0},
    {"GET", "/v1/consent/{subject}", consent_get, 0},
    {"POST", "/v1/codes", code_post, 0},
    {"POST", "/v1/codes/verify", code_verify, 0},
    {NULL, NULL, NULL, 0},
};

const struct http_route *
notify_routes(void)
{
        return routes;
}
