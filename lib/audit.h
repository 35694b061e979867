/*
 * audit: the one place the body of an access record is made
 * (signpost.audit.accessed.v1 on audit.access, keyed by the principal id):
 * the gateway's for every call on a personal-data route (the daemon that
 * answers names the records it returned, AUDIT_RECORDS_HEADER), intake's
 * for its own decryptions. audit.access is consumed by reporting, which
 * holds no personal data, so the record carries ids and codes only: who
 * (sub, role, organisation), what (referral or consent_state) and which
 * referral id, why as a code, the outcome, when, the request id. What is
 * about a person (a support engineer's stated reason, free text; the
 * subject whose consent state was read) is sealed to reporting's public
 * key, for an auditor to open, never in the clear.
 */
#ifndef SIGNPOST_AUDIT_H
#define SIGNPOST_AUDIT_H

#include <jansson.h>

#include "err.h"
#include "http.h"
#include "secret.h"

#define AUDIT_TOPIC "audit.access"
#define AUDIT_TYPE "signpost.audit.accessed.v1"

/* AUDIT_RECORDS_HEADER: how a daemon behind the gateway says which
 * records an answer carrying personal data returned: their ids,
 * comma-separated, or AUDIT_RECORDS_NONE for an answer with none. The
 * gateway writes one audit.access event per id before it shows the
 * answer, never passes the header on, and refuses (503) to show an
 * answer on an audited route that lacks it or names anything but ids. */
#define AUDIT_RECORDS_HEADER "X-Signpost-Audit-Records"
#define AUDIT_RECORDS_NONE "none"

struct audit_rec {
        /* the caller; NULL when the daemon reads for its own purpose
         * (role system, sub system_sub, why the purpose code) */
        const struct http_principal *who;
        const char *system_sub;
        const char *what;       /* "referral" | "consent_state" */
        const char *id;         /* the referral's id, or NULL */
        const char *subject_id; /* the subject of a consent_state read */
        const char *why;        /* NULL: audit_why_of(who->role) */
        int status;             /* 0: read; else the refusal's 401/403/404 */
        const char *request_id;
};

/* audit_why_of: the code for what a role reads for: provider_work,
 * administration, support_diagnosis (its reason is sealed), and for an
 * unauthenticated attempt, unauthenticated. */
const char *audit_why_of(enum http_role role);

/* audit_json: the record's body (new reference). With a support reason
 * or a subject id, "sealed" is base64url of secret_seal({"reason",
 * "subject_id"}) to reporting_pk. NULL with e set only when out of
 * memory or sealing failed. */
json_t *audit_json(const struct audit_rec *a,
                   const unsigned char reporting_pk[SECRET_BOX_PK_BYTES],
                   struct err *e);

#endif
