/*
 * audit: an audit.access event (signpost.audit.accessed.v1, keyed by the
 * principal id) for every referral or consent state a forwarded read
 * returned (outcome "read": the answer is shown only after the broker
 * acknowledged the events), and for every refused attempt on those
 * routes (outcome "refused" with the status: 401, 403, 404, so a
 * provider probing another organisation's ids leaves a trace): who (sub,
 * role, organisation), what, why (the support reason), when, and the
 * request id. Carries ids only, never the personal data read.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "gateway.h"
#include "log.h"

/* what_of: what a route's reads are of. */
static const char *
what_of(const struct gw_call *call)
{
        return call->route != NULL && call->route->upstream != NULL &&
                       strcmp(call->route->upstream, "consent") == 0
                   ? "consent_state"
                   : "referral";
}

/* path_id: the route's {id} or {subject} when it is a uuid, else NULL. */
static const char *
path_id(const struct gw_call *call)
{
        const char *id = http_req_param(call->req, "id");

        if (id == NULL)
                id = http_req_param(call->req, "subject");
        return id != NULL && uuid_valid(id) ? id : NULL;
}

/* emit: one event; status is the answer's (0: the read succeeded). */
static int
emit(struct gw_call *call, const char *id, int status, struct err *e)
{
        const struct http_principal *p = &call->who;
        struct event ev;
        char now[40], *text;
        json_t *j;
        int rc;

        event_now(now);
        j = json_pack("{s:s, s:s, s:s?, s:s, s:s?, s:s?, s:s, s:s, s:s}",
                      "sub", p->sub[0] ? p->sub : "public", "role",
                      http_role_name(p->role), "org",
                      p->org[0] ? p->org : NULL, "what", what_of(call), "id",
                      id, "why", p->reason[0] ? p->reason : NULL, "at", now,
                      "request_id", call->req->request_id, "outcome",
                      status ? "refused" : "read");
        if (j != NULL && status)
                json_object_set_new(j, "status", json_integer(status));
        text = j ? jsonx_dump(j) : NULL;
        json_decref(j);
        if (text == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        event_init(&ev, GW_SOURCE, GW_TYPE_AUDIT, id ? id : p->sub);
        rc = gw_produce(call->g->prod, GW_TOPIC_AUDIT,
                        p->sub[0] ? p->sub : "public", &ev, text,
                        call->g->set.produce_timeout_ms, e);
        free(text);
        if (rc < 0)
                log_warnx("audit event not written", "request_id=%s why=\"%s\"",
                          call->req->request_id, e ? e->msg : "");
        return rc;
}

void
gw_audit_refused(struct gw_call *call, int status)
{
        struct err e = {0};

        /* best effort: the refusal is answered whether or not its record
         * reached the broker (emit logs a failure) */
        emit(call, path_id(call), status, &e);
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
        const char *pid = path_id(call);
        json_t *j = NULL;
        const json_t *list, *v;
        size_t i;
        int rc = 0;

        if (pid != NULL)
                return emit(call, pid, 0, e);
        j = json_loadb(body ? body : "", len, 0, NULL);
        list = list_of(j);
        if (list == NULL && id_of(j) != NULL)
                rc = emit(call, id_of(j), 0, e);
        json_array_foreach(list, i, v)
        {
                const char *id = id_of(v);
                if (id != NULL && (rc = emit(call, id, 0, e)) < 0)
                        break;
        }
        json_decref(j);
        return rc;
}
