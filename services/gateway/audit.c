/*
 * audit: an audit.access event (signpost.audit.accessed.v1, keyed by the
 * principal id) for every referral or consent state a forwarded read
 * returned, as the daemon that answered names them in
 * X-Signpost-Audit-Records (lib/audit.h; outcome "read": the answer is
 * shown only after the broker acknowledged the events, and not at all
 * when the daemon did not name them), and for every refused attempt on
 * those routes (outcome "refused" with the status: 401, 403, 404, so a
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

/* next_id: the id at *p of a records list (ids separated by commas, a
 * space after each allowed) into id, *p moved past it and its separator;
 * 1 with an id, 0 at the end, -1 (e) when what is there is not an id. */
static int
next_id(const char **p, char id[UUID_STR_LEN], struct err *e)
{
        size_t len = strcspn(*p, ",");

        if (**p == '\0')
                return 0;
        snprintf(id, UUID_STR_LEN, "%.*s",
                 (int)(len < UUID_STR_LEN ? len : UUID_STR_LEN - 1), *p);
        if (len != UUID_STR_LEN - 1 || !uuid_valid(id))
                return err_set(e, ERR_INVALID, AUDIT_RECORDS_HEADER,
                               "names something that is not an id");
        *p += len;
        if (**p == ',') {
                *p += 1 + strspn(*p + 1, " ");
                if (**p == '\0') /* a trailing comma names an empty id */
                        return err_set(e, ERR_INVALID, AUDIT_RECORDS_HEADER,
                                       "names something that is not an id");
        }
        return 1;
}

/* records_of: the list of ids records names ("" for AUDIT_RECORDS_NONE),
 * borrowed from records, once every id in it was checked; NULL (e) when
 * there is none or one is not an id. */
static const char *
records_of(const char *records, struct err *e)
{
        char id[UUID_STR_LEN];
        const char *p = records;
        int rc;

        if (records == NULL) {
                err_set(e, ERR_INVALID, AUDIT_RECORDS_HEADER,
                        "the answer does not say which records it returned");
                return NULL;
        }
        if (strcmp(records, AUDIT_RECORDS_NONE) == 0)
                return "";
        while ((rc = next_id(&p, id, e)) > 0)
                ;
        return rc < 0 ? NULL : records;
}

int
gw_audit_read(struct gw_call *call, const char *records, struct err *e)
{
        const char *p = records_of(records, e);
        char id[UUID_STR_LEN];

        /* every id is checked before any event is written */
        if (p == NULL)
                return -1;
        while (next_id(&p, id, e) > 0)
                if (emit(call, id, 0, e) < 0)
                        return -1;
        return 0;
}
