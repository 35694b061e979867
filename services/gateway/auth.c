/*
 * auth: who is calling. A request without Authorization is the public; one
 * with "Bearer sp_..." is looked up by the token's keyed hash (the token
 * itself is never stored or logged). Revoked, expired, unknown or
 * malformed tokens answer 401 alike. A support token also needs a stated
 * reason (X-Signpost-Reason) on every request. The result is the
 * principal the gateway signs for the daemons. Does not decide what a
 * role may do (routes.c does).
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway.h"
#include "log.h"

#define PRINCIPAL_TTL 300 /* seconds a signed principal stays valid */
#define REASON_MIN 5

static int
unauthorized(struct gw_call *call, const char *why)
{
        http_resp_error(call->resp, 401, "unauthorized", "Authorization", "%s",
                        why);
        http_resp_header(call->resp, "WWW-Authenticate",
                         "Bearer realm=\"signpost\"");
        return 401;
}

static void
public_principal(struct http_principal *p)
{
        memset(p, 0, sizeof(*p));
        snprintf(p->sub, sizeof(p->sub), "public");
        p->role = HTTP_ROLE_PUBLIC;
        p->exp = (int64_t)time(NULL) + PRINCIPAL_TTL;
}

/* reason_ok: printable, no control characters, sensible length. */
static bool
reason_ok(const char *r)
{
        size_t n = r ? strlen(r) : 0;

        if (n < REASON_MIN || n >= sizeof(((struct http_principal *)0)->reason))
                return false;
        for (; *r; r++)
                if ((unsigned char)*r < 0x20 || *r == 0x7f)
                        return false;
        return true;
}

static int
lookup(struct gw_call *call, const char *hash, struct gw_token *t)
{
        struct db *db = db_pool_get(&call->g->pool);
        struct err e = {0};
        int rc = gw_store_token_find(db, hash, t, &e);

        db_pool_put(&call->g->pool, db);
        if (rc == 0)
                return 0;
        if (e.kind == ERR_NOT_FOUND)
                return unauthorized(call, "unknown or revoked token");
        log_warnx("token lookup failed", "request_id=%s kind=%s",
                  call->req->request_id, err_kind_name(e.kind));
        http_resp_error(call->resp, 503, "unavailable", NULL,
                        "cannot check the token now; try again");
        http_resp_header(call->resp, "Retry-After", "5");
        return 503;
}

static int
fill(struct gw_call *call, const struct gw_token *t)
{
        const char *reason = http_req_header(call->req, "X-Signpost-Reason");
        struct http_principal *p = &call->who;
        int64_t now = (int64_t)time(NULL);

        if (t->revoked)
                return unauthorized(call, "unknown or revoked token");
        if (t->expires_at != 0 && t->expires_at <= now)
                return unauthorized(call, "token expired");
        if ((t->reason_required || t->role == HTTP_ROLE_SUPPORT) &&
            !reason_ok(reason)) {
                http_resp_error(call->resp, 400, "reason_required",
                                "X-Signpost-Reason",
                                "this token needs a stated reason for each "
                                "request in the X-Signpost-Reason header");
                return 400;
        }
        memset(p, 0, sizeof(*p));
        snprintf(p->sub, sizeof(p->sub), "%s", t->id);
        p->role = t->role;
        snprintf(p->org, sizeof(p->org), "%s", t->org);
        if (t->role == HTTP_ROLE_SUPPORT)
                snprintf(p->reason, sizeof(p->reason), "%s", reason);
        p->exp = now + PRINCIPAL_TTL;
        if (t->expires_at != 0 && t->expires_at < p->exp)
                p->exp = t->expires_at;
        call->has_token = true;
        return 0;
}

int
gw_auth(struct gw_call *call)
{
        const char *h = http_req_header(call->req, "Authorization");
        char hash[SECRET_HEX_LEN];
        struct gw_token t;
        int rc;

        public_principal(&call->who);
        if (h == NULL)
                return 0;
        if (strncasecmp(h, "Bearer ", 7) != 0)
                return unauthorized(call, "expected a Bearer token");
        h += 7;
        while (*h == ' ')
                h++;
        if (secret_token_hash(call->g->token_key, h, hash, NULL) < 0)
                return unauthorized(call, "malformed token");
        if ((rc = lookup(call, hash, &t)) != 0)
                return rc;
        return fill(call, &t);
}
