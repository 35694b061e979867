/*
 * audit: an audit.access event (signpost.audit.accessed.v1, keyed by the
 * principal id) for every referral or consent state a forwarded read
 * returned (outcome "read": the answer is shown only after the broker
 * acknowledged the events), and for every refused attempt on those
 * routes (outcome "refused" with the status: 401, 403, 404, so a
 * provider probing another organisation's ids leaves a trace). The body
 * is lib/audit.h's: ids and codes only; a support reason and the subject
 * of a consent read are sealed to reporting.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
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

/* emit: one event; status is the answer's (0: the read succeeded). A
 * consent_state read names its subject only inside the sealed part. */
static int
emit(struct gw_call *call, const char *id, int status, struct err *e)
{
        const struct http_principal *p = &call->who;
        const char *what = what_of(call);
        bool subject = strcmp(what, "consent_state") == 0;
        struct audit_rec a = {.who = p,
                              .what = what,
                              .id = subject ? NULL : id,
                              .subject_id = subject ? id : NULL,
                              .status = status,
                              .request_id = call->req->request_id};
        struct event ev;
        char *text;
        json_t *j = audit_json(&a, call->g->reporting_pk, e);
        int rc;

        text = j ? jsonx_dump(j) : NULL;
        json_decref(j);
        if (text == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        event_init(&ev, GW_SOURCE, AUDIT_TYPE,
                   a.id        ? a.id
                   : p->sub[0] ? p->sub
                               : "public");
        rc = gw_produce(call->g->prod, AUDIT_TOPIC,
                        p->sub[0] ? p->sub : "public", &ev, text,
                        GW_SYNC_WAIT_MS, e);
        free(text);
        if (rc < 0)
                log_err(LOG_WARN, "audit event not written", e, "request_id=%s",
                        call->req->request_id);
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
