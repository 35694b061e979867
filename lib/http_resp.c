/*
 * http_resp: filling a handler's response: JSON bodies, the JSON error
 * shape, plain text and extra headers. Owns what it puts in struct
 * http_resp until the server sends and frees it; does not talk to the
 * network.
 */
#include "http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"

static const char oom_body[] =
    "{\"error\":{\"code\":\"internal\",\"message\":\"out of memory\"}}";

/* set_oom: a 500 whose body needs no allocation beyond one strdup. */
static int
set_oom(struct http_resp *resp)
{
        free(resp->body);
        resp->status = 500;
        snprintf(resp->content_type, sizeof(resp->content_type), "%s",
                 "application/json");
        resp->body = strdup(oom_body);
        resp->body_len = resp->body ? strlen(oom_body) : 0;
        return -1;
}

int
http_resp_take(struct http_resp *resp, int status, const char *content_type,
               char *body, size_t len)
{
        free(resp->body);
        resp->status = status;
        snprintf(resp->content_type, sizeof(resp->content_type), "%s",
                 content_type ? content_type : "");
        resp->body = body;
        resp->body_len = body ? len : 0;
        return 0;
}

int
http_resp_text(struct http_resp *resp, int status, const char *content_type,
               const char *text)
{
        size_t len = strlen(text);
        char *copy = malloc(len + 1);

        if (copy == NULL)
                return set_oom(resp);
        memcpy(copy, text, len + 1);
        return http_resp_take(resp, status, content_type, copy, len);
}

int
http_resp_json(struct http_resp *resp, int status, json_t *j)
{
        char *text = NULL;

        if (j != NULL)
                text = jsonx_dump(j);
        json_decref(j);
        if (text == NULL)
                return set_oom(resp);
        return http_resp_take(resp, status, "application/json", text,
                              strlen(text));
}

int
http_resp_error(struct http_resp *resp, int status, const char *code,
                const char *field, const char *fmt, ...)
{
        char msg[512];
        json_t *inner, *outer;
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        inner = json_pack("{s:s, s:s}", "code", code, "message", msg);
        if (inner != NULL && field != NULL && field[0] != '\0' &&
            json_object_set_new(inner, "field", json_string(field)) < 0) {
                json_decref(inner);
                inner = NULL;
        }
        if (inner == NULL)
                return set_oom(resp);
        outer = json_pack("{s:o}", "error", inner);
        if (outer == NULL)
                return set_oom(resp);
        return http_resp_json(resp, status, outer);
}

int
http_status_of(enum err_kind kind)
{
        switch (kind) {
        case ERR_INVALID:
                return 400;
        case ERR_NOT_FOUND:
                return 404;
        case ERR_CONFLICT:
                return 409;
        case ERR_TRANSIENT:
                return 503;
        default:
                return 500;
        }
}

const char *
http_code_of(enum err_kind kind)
{
        switch (http_status_of(kind)) {
        case 400:
                return "invalid";
        case 404:
                return "not_found";
        case 409:
                return "conflict";
        case 503:
                return "unavailable";
        default:
                return "internal";
        }
}

int
http_resp_err(struct http_resp *resp, const struct err *e)
{
        int status = http_status_of(e->kind), rc;
        const char *code = http_code_of(e->kind);

        if (status < 500)
                return http_resp_error(resp, status, code, e->field, "%s",
                                       e->msg[0] ? e->msg : code);
        log_err(LOG_WARN, "request failed", e, NULL);
        rc = http_resp_error(resp, status, code, NULL, "try again later");
        if (rc == 0 && status == 503)
                rc = http_resp_header(resp, "Retry-After", "5");
        return rc;
}

int
http_resp_header(struct http_resp *resp, const char *name, const char *value)
{
        struct http_header *h;

        if (resp->nheaders == HTTP_MAX_HEADERS)
                return -1;
        h = &resp->headers[resp->nheaders];
        h->name = strdup(name);
        h->value = strdup(value);
        if (h->name == NULL || h->value == NULL) {
                free(h->name);
                free(h->value);
                h->name = h->value = NULL;
                return set_oom(resp);
        }
        resp->nheaders++;
        return 0;
}

void
http_resp_fini(struct http_resp *resp)
{
        free(resp->body);
        resp->body = NULL;
        resp->body_len = 0;
        for (size_t i = 0; i < resp->nheaders; i++) {
                free(resp->headers[i].name);
                free(resp->headers[i].value);
        }
        resp->nheaders = 0;
}
