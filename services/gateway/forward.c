/*
 * forward: reads forwarded to the owning daemon's internal port with the
 * caller's signed principal (X-Signpost-Principal) and the request id.
 * libcurl with one easy handle per HTTP thread, kept between requests so
 * the connection to each daemon stays alive. Answers carry the daemon's
 * status and body unchanged, except that a daemon refusing the gateway's
 * signature (401/403 on the principal) becomes a 502: that is our fault,
 * not the caller's. Reads of personal data (routes flagged GW_F_AUDIT)
 * are audited before the answer leaves, one event per record the daemon
 * says it returned (X-Signpost-Audit-Records, audit.c); if it does not
 * say, or an event cannot be written, nothing is shown. Only the status,
 * content type and body are passed on, so that header never leaves. The
 * query is passed on re-encoded (gw_query_string). Does not authenticate
 * callers (auth.c) or pick routes.
 */
#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "log.h"

static pthread_key_t handle_key;
static pthread_once_t handle_once = PTHREAD_ONCE_INIT;

static void
handle_free(void *h)
{
        curl_easy_cleanup(h);
}

static void
handle_key_make(void)
{
        pthread_key_create(&handle_key, handle_free);
}

/* handle: this thread's easy handle, made on first use. */
static CURL *
handle(void)
{
        CURL *h;

        pthread_once(&handle_once, handle_key_make);
        h = pthread_getspecific(handle_key);
        if (h == NULL) {
                h = curl_easy_init();
                if (h != NULL)
                        pthread_setspecific(handle_key, h);
        } else {
                curl_easy_reset(h); /* keeps the connection cache */
        }
        return h;
}

void
gw_reply_fini(struct gw_reply *r)
{
        free(r->body);
        free(r->audit_records);
        memset(r, 0, sizeof(*r));
}

static struct curl_slist *
headers(struct gw *g, const struct http_principal *who, const char *rid)
{
        struct curl_slist *l = NULL, *t;
        char *signed_p = NULL, line[2048];

        if (http_principal_sign(g->principal_key->bytes, who, &signed_p) < 0)
                return NULL;
        snprintf(line, sizeof(line), "%s: %s", HTTP_PRINCIPAL_HEADER, signed_p);
        free(signed_p);
        l = curl_slist_append(l, line);
        snprintf(line, sizeof(line), "X-Request-Id: %s", rid);
        if (l != NULL && (t = curl_slist_append(l, line)) != NULL)
                l = t;
        if (l != NULL && (t = curl_slist_append(l, "Accept: application/json")))
                l = t;
        return l;
}

/* request_of: the URL and headers of a forwarded GET. Returns 0, or -1
 * (out of memory; nothing to free). */
static int
request_of(struct gw *g, const struct http_principal *who, const char *base,
           const char *path, const char *query, const char *request_id,
           char **url, struct curl_slist **hdrs)
{
        *url = NULL;
        if ((*hdrs = headers(g, who, request_id)) == NULL)
                return -1;
        if (asprintf(url, "%s%s%s%s", base, path, query && *query ? "?" : "",
                     query ? query : "") < 0) {
                *url = NULL;
                curl_slist_free_all(*hdrs);
                *hdrs = NULL;
                return -1;
        }
        return 0;
}

int
gw_forward_get(struct gw *g, const struct http_principal *who, const char *base,
               const char *path, const char *query, const char *request_id,
               struct gw_reply *r, struct err *e)
{
        CURL *h = handle();
        struct curl_slist *hdrs = NULL;
        char *url = NULL;
        CURLcode cc;
        int rc = -1;

        memset(r, 0, sizeof(*r));
        if (h == NULL || request_of(g, who, base, path, query, request_id, &url,
                                    &hdrs) < 0) {
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                goto out;
        }
        gw_upstream_setopt(h, url, hdrs, r);
        cc = curl_easy_perform(h);
        if (cc != CURLE_OK) {
                err_set(e, ERR_TRANSIENT, NULL, "upstream: %s",
                        curl_easy_strerror(cc));
                gw_reply_fini(r);
                goto out;
        }
        gw_upstream_answered(h, r);
        rc = 0;
out:
        curl_slist_free_all(hdrs);
        free(url);
        return rc;
}

/* upstream_path: the daemon's path for this request; false when the path
 * holds characters the gateway does not forward. */
static bool
upstream_path(const struct gw_route *rt, const char *path, char *out,
              size_t outsz)
{
        size_t n = rt->upstream_path ? strlen(rt->upstream_path) : 0;

        for (const char *p = path; *p; p++)
                if (strchr("abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/",
                           *p) == NULL)
                        return false;
        if (n > 0 && strncmp(path, rt->upstream_path, n) == 0)
                path += n;
        snprintf(out, outsz, "%s", *path ? path : "/");
        return true;
}

static const char *
base_of(struct gw *g, const char *upstream)
{
        if (strcmp(upstream, "consent") == 0)
                return g->set.consent_url;
        return strcmp(upstream, "intake") == 0 ? g->set.intake_url
                                               : g->set.directory_url;
}

static void
answer(struct gw_call *call, const struct gw_route *rt, struct gw_reply *r)
{
        struct err e = {0};

        if (r->status == 401 || r->status == 403) {
                log_warnx("upstream refused the gateway",
                          "request_id=%s "
                          "upstream=%s status=%ld",
                          call->req->request_id, rt->upstream, r->status);
                http_resp_error(call->resp, 502, "bad_gateway", NULL,
                                "the %s service refused the request",
                                rt->upstream);
                return;
        }
        /* another organisation's referral, or none: the attempt is
         * recorded before the 404 is answered */
        if ((rt->flags & GW_F_AUDIT) && r->status == 404)
                gw_audit_refused(call, 404);
        /* fail closed: an answer that does not say which records it
         * returned, or whose audit events the broker did not take, is
         * not shown */
        if ((rt->flags & GW_F_AUDIT) && r->status == 200 &&
            gw_audit_read(call, r->audit_records, &e) < 0) {
                if (e.kind == ERR_INVALID)
                        log_err(LOG_WARN, "upstream answer not auditable", &e,
                                "request_id=%s upstream=%s",
                                call->req->request_id, rt->upstream);
                http_resp_error(call->resp, 503, "unavailable", NULL,
                                "cannot record this access now; try again");
                http_resp_header(call->resp, "Retry-After", "5");
                return;
        }
        http_resp_take(call->resp, (int)r->status,
                       r->content_type[0] ? r->content_type
                                          : "application/json",
                       r->body, r->len);
        r->body = NULL;
}

/* qs_param: appends name[=value], both percent-encoded again. */
static bool
qs_param(void *arg, const char *name, const char *value)
{
        struct sbuf *q = arg;
        char *k = curl_easy_escape(NULL, name, 0);
        char *v = value ? curl_easy_escape(NULL, value, 0) : NULL;

        if (k == NULL || (value != NULL && v == NULL))
                q->oom = true;
        if (q->len > 0)
                sbuf_puts(q, "&");
        if (k != NULL)
                sbuf_puts(q, k);
        if (v != NULL) {
                sbuf_puts(q, "=");
                sbuf_puts(q, v);
        }
        curl_free(k);
        curl_free(v);
        return !q->oom;
}

char *
gw_query_string(const struct http_req *req)
{
        struct sbuf q = {0};

        sbuf_put(&q, "", 0);
        http_req_query_each(req, qs_param, &q);
        if (q.oom) {
                free(q.p);
                return NULL;
        }
        return q.p;
}

/* call_keep: what of call outlives its handler while the answer waits
 * (no request or response: those come back with the resumed answer). */
static struct gw_call
call_keep(const struct gw_call *call)
{
        struct gw_call k = *call;

        k.req = NULL;
        k.resp = NULL;
        return k;
}

/* call_resumed: kept, around the resumed request and response. */
static struct gw_call
call_resumed(const struct gw_call *kept, struct http_req *req,
             struct http_resp *resp)
{
        struct gw_call c = *kept;

        c.req = req;
        c.resp = resp;
        return c;
}

/* A forwarded read waiting for its upstream on the upstream loop. */
struct fwd {
        struct gw_call call; /* kept */
        char request_id[64];
        struct http_defer *defer;
        struct gw_reply r;
        int rc;
};

static void
fwd_free(struct fwd *f)
{
        gw_reply_fini(&f->r);
        memset(&f->call.who, 0, sizeof(f->call.who));
        free(f);
}

static void
unavailable(struct gw_call *call, const char *request_id)
{
        log_warnx("forward failed", "request_id=%s upstream=%s", request_id,
                  call->route->upstream);
        http_resp_error(call->resp, 503, "unavailable", NULL,
                        "the %s service is not answering; try again",
                        call->route->upstream);
        http_resp_header(call->resp, "Retry-After", "5");
}

/* fwd_answer: on an HTTP thread once the upstream answered (or, with req
 * NULL, when the server stopped first: then only frees). */
static void
fwd_answer(struct http_req *req, struct http_resp *resp, void *arg)
{
        struct fwd *f = arg;
        struct gw_call call = call_resumed(&f->call, req, resp);

        if (req != NULL) {
                if (f->rc < 0)
                        unavailable(&call, f->request_id);
                else
                        answer(&call, call.route, &f->r);
                gw_route_headers(resp, call.route->flags, req->path);
        }
        memset(&call.who, 0, sizeof(call.who));
        fwd_free(f);
}

/* fwd_done: on the upstream loop: keep the answer, wake the request. */
static void
fwd_done(void *arg, int rc, struct gw_reply *r)
{
        struct fwd *f = arg;

        f->rc = rc;
        f->r = *r; /* the body moves here */
        memset(r, 0, sizeof(*r));
        http_defer_resume(f->defer, fwd_answer, f);
}

/* fwd_start: queues call's read on the upstream loop and defers its
 * answer; false when it could not (then forward on this thread). */
static bool
fwd_start(struct gw_call *call, const char *path, const char *query)
{
        struct fwd *f = calloc(1, sizeof(*f));
        struct curl_slist *hdrs = NULL;
        char *url = NULL;

        if (f == NULL || call->g->upstream == NULL ||
            request_of(call->g, &call->who,
                       base_of(call->g, call->route->upstream), path, query,
                       call->req->request_id, &url, &hdrs) < 0) {
                free(f);
                return false;
        }
        f->call = call_keep(call);
        snprintf(f->request_id, sizeof(f->request_id), "%s",
                 call->req->request_id);
        f->defer = http_req_defer(call->req);
        if (f->defer == NULL) {
                free(url);
                curl_slist_free_all(hdrs);
                fwd_free(f);
                return false;
        }
        if (gw_upstream_get(call->g->upstream, url, hdrs, fwd_done, f) < 0) {
                f->rc = -1; /* stopping: answer now */
                http_defer_resume(f->defer, fwd_answer, f);
        }
        return true;
}

/* Reads for a page, waiting on the upstream loop (gw_forward_fetch). */
struct fetch;
struct fetch_slot {
        struct fetch *f;
        size_t i;
};
struct fetch {
        struct gw_call call; /* kept */
        struct http_defer *defer;
        gw_fetch_fn then;
        size_t n;
        atomic_size_t pending;
        struct fetch_slot slot[GW_FETCH_MAX];
        struct gw_reply r[GW_FETCH_MAX];
        int rc[GW_FETCH_MAX];
};

static void
fetch_free(struct fetch *f)
{
        for (size_t i = 0; i < f->n; i++)
                gw_reply_fini(&f->r[i]);
        memset(&f->call.who, 0, sizeof(f->call.who));
        free(f);
}

/* fetch_answer: on an HTTP thread once every read is in (with req NULL,
 * when the server stopped first: then only frees). */
static void
fetch_answer(struct http_req *req, struct http_resp *resp, void *arg)
{
        struct fetch *f = arg;
        struct gw_call call = call_resumed(&f->call, req, resp);

        if (req != NULL) {
                f->then(&call, f->r, f->rc);
                gw_route_headers(resp, call.route->flags, req->path);
        }
        memset(&call.who, 0, sizeof(call.who));
        fetch_free(f);
}

/* fetch_done: one read is in (on the upstream loop, or on the HTTP thread
 * when the loop would not take it); the last one wakes the request. */
static void
fetch_done(void *arg, int rc, struct gw_reply *r)
{
        struct fetch_slot *sl = arg;
        struct fetch *f = sl->f;

        f->rc[sl->i] = rc;
        if (r != NULL) {
                f->r[sl->i] = *r; /* the body moves here */
                memset(r, 0, sizeof(*r));
        }
        if (atomic_fetch_sub(&f->pending, 1) == 1)
                http_defer_resume(f->defer, fetch_answer, f);
}

/* fetch_here: the reads on this thread, then the page (when the loop
 * cannot take them). */
static void
fetch_here(struct gw_call *call, const char *base, size_t n,
           const char *const *paths, const char *const *queries,
           gw_fetch_fn then)
{
        struct gw_reply r[GW_FETCH_MAX] = {0};
        int rc[GW_FETCH_MAX] = {0};
        struct err e = {0};

        for (size_t i = 0; i < n; i++)
                rc[i] = gw_forward_get(call->g, &call->who, base, paths[i],
                                       queries[i], call->req->request_id, &r[i],
                                       &e);
        then(call, r, rc);
        for (size_t i = 0; i < n; i++)
                gw_reply_fini(&r[i]);
}

void
gw_forward_fetch(struct gw_call *call, const char *base, size_t n,
                 const char *const *paths, const char *const *queries,
                 gw_fetch_fn then)
{
        struct fetch *f = NULL;

        if (n > GW_FETCH_MAX)
                n = GW_FETCH_MAX;
        if (call->g->upstream == NULL || (f = calloc(1, sizeof(*f))) == NULL ||
            (f->defer = http_req_defer(call->req)) == NULL) {
                free(f);
                fetch_here(call, base, n, paths, queries, then);
                return;
        }
        f->call = call_keep(call);
        f->then = then;
        f->n = n;
        atomic_init(&f->pending, n);
        for (size_t i = 0; i < n; i++) {
                struct curl_slist *hdrs = NULL;
                char *url = NULL;

                f->slot[i] = (struct fetch_slot){.f = f, .i = i};
                if (request_of(call->g, &call->who, base, paths[i], queries[i],
                               call->req->request_id, &url, &hdrs) < 0 ||
                    gw_upstream_get(call->g->upstream, url, hdrs, fetch_done,
                                    &f->slot[i]) < 0)
                        fetch_done(&f->slot[i], -1, NULL);
        }
}

void
gw_forward_handler(struct gw_call *call)
{
        const struct gw_route *rt = call->route;
        struct gw_reply r = {0};
        struct err e = {0};
        char path[512], *query = NULL;

        if (!upstream_path(rt, call->req->path, path, sizeof(path))) {
                http_resp_error(call->resp, 404, "not_found", NULL,
                                "no such path");
                return;
        }
        query = gw_query_string(call->req);
        /* wait for the upstream off this HTTP thread */
        if (query != NULL && fwd_start(call, path, query)) {
                free(query);
                return;
        }
        if (query == NULL ||
            gw_forward_get(call->g, &call->who, base_of(call->g, rt->upstream),
                           path, query, call->req->request_id, &r, &e) < 0) {
                unavailable(call, call->req->request_id);
                goto out;
        }
        answer(call, rt, &r);
out:
        gw_reply_fini(&r);
        free(query);
}
