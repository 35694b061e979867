/*
 * routes: intake's internal HTTP API, reached through the gateway with the
 * caller in X-Signpost-Principal.
 *
 *   GET  /v1/referrals                list (provider: own organisation)
 *   GET  /v1/referrals/{id}           decrypted
 *
 * Every answer that carries referrals says which ones in
 * X-Signpost-Audit-Records (their ids, comma-separated, or "none"): the
 * gateway writes the audit.access event of each before it shows the
 * answer, and refuses to show an answer that does not say (so a read is
 * never audited by guessing at the body). A status changes only through
 * referral.updates (lifecycle.c), and the word a person sees for it
 * travels on status_changed (intake_public_status). A provider never
 * learns that another organisation's referral exists (404); support
 * needs a stated reason. Does not own SQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "event.h"
#include "http.h"
#include "intake.h"
#include "json.h"
#include "log.h"
#include "sbuf.h"

/* allowed: answers 403 and returns false unless p may read referrals. */
static bool
allowed(const struct http_principal *p, struct http_resp *resp)
{
        if (p->role == HTTP_ROLE_PROVIDER && p->org[0] != '\0')
                return true;
        if (p->role == HTTP_ROLE_ADMIN)
                return true;
        if (p->role == HTTP_ROLE_SUPPORT && p->reason[0] != '\0')
                return true;
        http_resp_error(resp, 403, "forbidden", NULL,
                        p->role == HTTP_ROLE_SUPPORT
                            ? "support access needs a stated reason"
                            : "role may not read referrals");
        return false;
}

static json_t *
row_json(const PGresult *r, int row)
{
        json_t *o = json_object();
        int c;

        for (c = 0; c < PQnfields(r); c++) {
                const char *name = PQfname(r, c);
                if (strcmp(name, "total") == 0)
                        continue;
                if (PQgetisnull(r, row, c))
                        json_object_set_new(o, name, json_null());
                else if (strcmp(name, "flags") == 0)
                        json_object_set_new(
                            o, name,
                            json_loads(PQgetvalue(r, row, c), 0, NULL));
                else
                        json_object_set_new(o, name,
                                            json_string(PQgetvalue(r, row, c)));
        }
        return o;
}

static int
page_param(const struct http_req *req, const char *name, long def, long max,
           long *out)
{
        const char *s = http_req_query(req, name);
        char *end = NULL;

        *out = def;
        if (s == NULL)
                return 0;
        *out = strtol(s, &end, 10);
        return (end == s || *end != '\0' || *out < 1 || *out > max) ? -1 : 0;
}

static void
list(struct http_req *req, struct http_resp *resp)
{
        struct intake *in = req->arg;
        const struct http_principal *p = req->principal;
        const char *status = http_req_query(req, "status");
        const char *svc = http_req_query(req, "service");
        long page, per;
        char lim[16], off[32];
        struct err e = {0};
        struct db *db;
        PGresult *r;
        struct sbuf ids = {0};
        json_t *items;
        int i;

        if (!allowed(p, resp))
                return;
        if (page_param(req, "page", 1, 1000000, &page) < 0 ||
            page_param(req, "per_page", 50, INTAKE_PER_PAGE_MAX, &per) < 0 ||
            (status && !intake_status_valid(status)) ||
            (svc && !uuid_valid(svc))) {
                http_resp_error(resp, 400, "invalid", NULL,
                                "bad page, per_page, status or service");
                return;
        }
        snprintf(lim, sizeof(lim), "%ld", per);
        snprintf(off, sizeof(off), "%ld", (page - 1) * per);
        const char *f[7] = {p->role == HTTP_ROLE_PROVIDER
                                ? p->org
                                : http_req_query(req, "organisation"),
                            status,
                            svc,
                            http_req_query(req, "from"),
                            http_req_query(req, "to"),
                            lim,
                            off};
        db = db_pool_get(&in->pool);
        r = intake_store_list(db, f, &e);
        db_pool_put(&in->pool, db);
        if (r == NULL) {
                http_resp_err(resp, &e);
                return;
        }
        items = json_array();
        for (i = 0; i < PQntuples(r); i++) {
                json_array_append_new(items, row_json(r, i));
                if (i > 0)
                        sbuf_puts(&ids, ",");
                sbuf_puts(&ids, PQgetvalue(r, i, PQfnumber(r, "id")));
        }
        http_resp_json(
            resp, 200,
            json_pack(
                "{sI sI sI so}", "total",
                (json_int_t)(PQntuples(r)
                                 ? atol(PQgetvalue(r, 0, PQfnumber(r, "total")))
                                 : 0),
                "page", (json_int_t)page, "per_page", (json_int_t)per, "items",
                items));
        /* no header (out of memory): the gateway shows nothing */
        if (!ids.oom)
                http_resp_header(resp, AUDIT_RECORDS_HEADER,
                                 ids.len > 0 ? ids.p : AUDIT_RECORDS_NONE);
        free(ids.p);
        PQclear(r);
}

/* history_json: returns new array of ref's history, reasons opened. */
static json_t *
history_json(struct intake *in, struct db *db,
             const struct intake_referral *ref, struct err *e)
{
        PGresult *r = intake_store_history(db, ref->id, e);
        int c, i;
        json_t *a, *o, *reason;

        if (r == NULL)
                return NULL;
        a = json_array();
        c = PQfnumber(r, "reason_blob");
        for (i = 0; a != NULL && i < PQntuples(r); i++) {
                o = row_json(r, i);
                json_object_del(o, "reason_blob");
                reason =
                    PQgetisnull(r, i, c)
                        ? json_null()
                        : intake_reason_open(in, ref, PQgetvalue(r, i, c), e);
                if (reason == NULL) {
                        json_decref(o);
                        json_decref(a);
                        a = NULL;
                        break;
                }
                json_object_set_new(o, "reason", reason);
                json_array_append_new(a, o);
        }
        PQclear(r);
        return a;
}

/* consent_view: sets o's "consent" and "person" as the person's consent
 * lets the reader see them: a provider sees nothing of the person once
 * sharing is withdrawn (*withheld), and no contact details
 * once they opted out of all contact. Admins and support see what is
 * held, with the same "consent". */
static int
consent_view(struct db *db, const struct intake_referral *r, bool provider,
             json_t *o, const json_t *payload, bool *withheld, struct err *e)
{
        bool withdrawn, opted_out;
        json_t *person;

        *withheld = false;
        if (intake_store_consent_get(db, r->subject_id, &withdrawn, &opted_out,
                                     e) < 0)
                return -1;
        json_object_set_new(o, "consent",
                            json_pack("{ss ss}", "share_with_provider",
                                      withdrawn ? "withdrawn" : "granted",
                                      "contact",
                                      opted_out ? "opted_out" : "allowed"));
        if (provider && withdrawn) {
                *withheld = true; /* nothing of the person */
                return 0;
        }
        person = json_deep_copy(json_object_get(payload, "person"));
        if (provider && opted_out && person != NULL) {
                json_object_del(person, "email");
                json_object_del(person, "phone");
                json_object_del(person, "address");
        }
        json_object_set_new(o, "person", person ? person : json_null());
        return 0;
}

/* detail: returns new object: the referral as its reader may see it. */
static json_t *
detail(struct intake *in, struct db *db, const struct intake_referral *r,
       bool provider, struct err *e)
{
        bool withheld = false;
        json_t *payload = intake_referral_open(in, r, e), *o, *sc, *v;
        json_t *hist = payload ? history_json(in, db, r, e) : NULL;
        size_t i;

        if (hist == NULL) {
                json_decref(payload);
                return NULL;
        }
        o = json_pack(
            "{ss ss ss ss ss ss ss so so sb ss so so}", "id", r->id,
            "reference", r->reference, "service_id", r->service_id,
            "organisation_id", r->organisation_id, "kind", r->kind, "status",
            r->status, "received_at", r->received_at, "contacted_at",
            r->contacted_at[0] ? json_string(r->contacted_at) : json_null(),
            "flags", json_loads(r->flags, 0, NULL), "routed", r->routed,
            "subject_id", r->subject_id, "consents",
            json_loads(r->consents, 0, NULL), "history", hist);
        if (consent_view(db, r, provider, o, payload, &withheld, e) < 0) {
                json_decref(o);
                json_decref(payload);
                return NULL;
        }
        if (withheld) {
                json_decref(payload);
                return o;
        }
        if (json_object_get(payload, "referrer"))
                json_object_set(o, "referrer",
                                json_object_get(payload, "referrer"));
        if (json_object_get(payload, "notes"))
                json_object_set(o, "notes", json_object_get(payload, "notes"));
        sc = json_object();
        json_array_foreach(json_object_get(payload, "share_special_category"),
                           i, v)
        {
                const char *k = json_string_value(v);
                json_t *val = json_object_get(
                    json_object_get(payload, "special_category"), k ? k : "");
                if (val != NULL)
                        json_object_set(sc, k, val);
        }
        json_object_set_new(o, "special_category", sc);
        json_decref(payload);
        return o;
}

static void
get_one(struct http_req *req, struct http_resp *resp)
{
        struct intake *in = req->arg;
        const struct http_principal *p = req->principal;
        const char *id = http_req_param(req, "id");
        struct intake_referral r = {0};
        struct err e = {0};
        bool found = false;
        struct db *db;
        json_t *o = NULL;

        if (!allowed(p, resp))
                return;
        if (!uuid_valid(id)) {
                http_resp_error(resp, 404, "not_found", NULL,
                                "no such referral");
                return;
        }
        db = db_pool_get(&in->pool);
        if (intake_store_referral_get(db, id, false, &r, &found, &e) < 0)
                goto out;
        if (!found || (p->role == HTTP_ROLE_PROVIDER &&
                       strcmp(p->org, r.organisation_id) != 0)) {
                err_set(&e, ERR_NOT_FOUND, NULL, "no such referral");
                goto out;
        }
        o = detail(in, db, &r, p->role == HTTP_ROLE_PROVIDER, &e);
        if (o != NULL)
                log_info("referral read",
                         "referral_id=%s role=%s request_id=%s", r.id,
                         http_role_name(p->role), req->request_id);
out:
        db_pool_put(&in->pool, db);
        if (found)
                intake_referral_fini(&r);
        if (o != NULL) {
                http_resp_json(resp, 200, o);
                http_resp_header(resp, AUDIT_RECORDS_HEADER, id);
        } else {
                http_resp_err(resp, &e);
        }
}

static const struct http_route routes[] = {
    {"GET", "/v1/referrals", list, 0},
    {"GET", "/v1/referrals/{id}", get_one, 0},
    {NULL, NULL, NULL, 0},
};

const struct http_route *
intake_routes(void)
{
        return routes;
}
