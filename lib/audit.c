/*
 * audit: the access record's body (see audit.h). Owns its fields and the
 * why codes; the caller produces it (the gateway straight to the broker,
 * intake through its outbox).
 */
#include "audit.h"

#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "json.h"

const char *
audit_why_of(enum http_role role)
{
        switch (role) {
        case HTTP_ROLE_PROVIDER:
                return "provider_work";
        case HTTP_ROLE_ADMIN:
                return "administration";
        case HTTP_ROLE_SUPPORT:
                return "support_diagnosis";
        case HTTP_ROLE_PUBLIC:
        default:
                return "unauthenticated";
        }
}

/* seal: base64url of the private part sealed to pk (new string), or NULL
 * with e set. */
static char *
seal(const json_t *part, const unsigned char *pk, struct err *e)
{
        char *text = jsonx_dump(part), *b64 = NULL;
        unsigned char *box = NULL;
        size_t len = 0;

        if (text == NULL) {
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                return NULL;
        }
        if (secret_seal(pk, (const unsigned char *)text, strlen(text), &box,
                        &len, e) == 0) {
                b64 = secret_b64_encode(box, len);
                if (b64 == NULL)
                        err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        }
        secret_wipe(text, strlen(text));
        free(text);
        free(box);
        return b64;
}

json_t *
audit_json(const struct audit_rec *a,
           const unsigned char reporting_pk[SECRET_BOX_PK_BYTES], struct err *e)
{
        const struct http_principal *p = a->who;
        const char *reason = p != NULL && p->reason[0] ? p->reason : NULL;
        char at[40];
        json_t *j, *part;

        event_now(at);
        j = json_pack("{s:s, s:s, s:s?, s:s, s:s, s:s, s:s, s:s}", "sub",
                      p == NULL   ? a->system_sub
                      : p->sub[0] ? p->sub
                                  : "public",
                      "role", p == NULL ? "system" : http_role_name(p->role),
                      "org", p != NULL && p->org[0] ? p->org : NULL, "what",
                      a->what, "why",
                      a->why != NULL ? a->why
                      : p != NULL    ? audit_why_of(p->role)
                                     : "unknown",
                      "at", at, "request_id", a->request_id, "outcome",
                      a->status ? "refused" : "read");
        if (j == NULL) {
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                return NULL;
        }
        if (a->id != NULL) /* absent, not null, when there is none */
                json_object_set_new(j, "id", json_string(a->id));
        if (a->status)
                json_object_set_new(j, "status", json_integer(a->status));
        if (reason == NULL && a->subject_id == NULL)
                return j;
        part = json_pack("{s:s?, s:s?}", "reason", reason, "subject_id",
                         a->subject_id);
        char *b64 = part != NULL ? seal(part, reporting_pk, e) : NULL;
        json_decref(part);
        if (b64 == NULL) {
                json_decref(j);
                return NULL;
        }
        json_object_set_new(j, "sealed", json_string(b64));
        free(b64);
        return j;
}
