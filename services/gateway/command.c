/*
 * command: what the gateway's command routes other than the referral
 * submission share: reading a strict JSON body (content type, one object,
 * no unknown field) and producing one command to its topic, answering
 * only after the broker acknowledged it (503 with Retry-After when it
 * did not within the producer's bounded wait, so nothing is half-taken).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "event.h"
#include "gateway.h"
#include "log.h"

bool
gw_json_content_type(const char *ct)
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

json_t *
gw_command_body(struct gw_call *call, const char *const allowed[])
{
        struct http_req *req = call->req;
        struct err e = {0};
        json_t *body;

        if (!gw_json_content_type(http_req_header(req, "Content-Type"))) {
                http_resp_error(call->resp, 415, "unsupported_media_type",
                                "Content-Type",
                                "send application/json (UTF-8)");
                return NULL;
        }
        body = jsonx_parse_object(req->body, req->body_len, &e);
        if (body == NULL) {
                http_resp_error(call->resp, 400, "invalid_json", NULL,
                                "malformed JSON: %s", e.msg);
                return NULL;
        }
        if (jsonx_reject_unknown(body, allowed, &e) < 0) {
                http_resp_error(call->resp, 400, "invalid_request", e.field,
                                "unknown field");
                json_decref(body);
                return NULL;
        }
        return body;
}

int
gw_command_send(struct gw *g, const char *topic, const char *key,
                const char *type, const json_t *data, struct err *e)
{
        struct event ev;
        char *text = jsonx_dump(data);
        int rc;

        if (text == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        event_init(&ev, GW_SOURCE, type, key);
        rc = gw_produce(g->prod, topic, key, &ev, text, GW_SYNC_WAIT_MS, e);
        free(text);
        return rc;
}

void
gw_command_unavailable(struct gw_call *call, const struct err *e)
{
        log_err(LOG_WARN, "command not accepted", e, "request_id=%s",
                call->req->request_id);
        http_resp_error(call->resp, 503, "unavailable", NULL,
                        "cannot accept this now; nothing was recorded; try "
                        "again");
        http_resp_header(call->resp, "Retry-After", "5");
}
