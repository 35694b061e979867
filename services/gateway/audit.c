/*
 * audit: an audit.access event (signpost.audit.accessed.v1, keyed by the
 * principal id) for every referral a forwarded read returned: who (sub,
 * role, organisation), what, why (the support reason), when, and the
 * request id. The answer is shown only after the broker acknowledged the
 * events. Carries ids only, never the personal data read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "gateway.h"
#include "log.h"

static int
emit(struct gw_call *call, const char *id, struct err *e)
{
        const struct http_principal *p = &call->who;
        struct event ev;
        char now[40], *text;
        json_t *j;
        int rc;

        event_now(now);
        j = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s?, s:s, s:s}", "sub",
                      p->sub, "role", http_role_name(p->role), "org",
                      p->org[0] ? p->org : NULL, "what", "referral", "id", id,
                      "why", p->reason[0] ? p->reason : NULL, "at", now,
                      "request_id", call->req->request_id);
        text = j ? jsonx_dump(j) : NULL;
        json_decref(j);
        if (text == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        event_init(&ev, GW_SOURCE, GW_TYPE_AUDIT, id);
        rc = gw_produce(call->g->prod, GW_TOPIC_AUDIT, p->sub, &ev, text,
                        call->g->set.produce_timeout_ms, e);
        free(text);
        if (rc < 0)
                log_warnx("audit event not written", "request_id=%s why=\"%s\"",
                          call->req->request_id, e ? e->msg : "");
        return rc;
}

/* list_of: the array of items in a list answer, borrowed from j. */
static const json_t *
list_of(const json_t *j)
{
        static const char *const keys[] = {"items", "contents", "referrals",
                                           "data", NULL};

        if (json_is_array(j))
                return j;
        for (int i = 0; keys[i] != NULL; i++)
                if (json_is_array(json_object_get(j, keys[i])))
                        return json_object_get(j, keys[i]);
        return NULL;
}

static const char *
id_of(const json_t *o)
{
        const char *id = json_string_value(json_object_get(o, "referral_id"));

        if (id == NULL)
                id = json_string_value(json_object_get(o, "id"));
        return id != NULL && uuid_valid(id) ? id : NULL;
}

int
gw_audit_read(struct gw_call *call, const char *body, size_t len, struct err *e)
{
        const char *pid = http_req_param(call->req, "id");
        json_t *j = NULL;
        const json_t *list, *v;
        size_t i;
        int rc = 0;

        if (pid != NULL)
                return emit(call, pid, e);
        j = json_loadb(body ? body : "", len, 0, NULL);
        list = list_of(j);
        if (list == NULL && id_of(j) != NULL)
                rc = emit(call, id_of(j), e);
        json_array_foreach(list, i, v)
        {
                const char *id = id_of(v);
                if (id != NULL && (rc = emit(call, id, e)) < 0)
                        break;
        }
        json_decref(j);
        return rc;
}
