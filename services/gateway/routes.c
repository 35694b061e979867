/*
 * routes: the gateway's one route table and the dispatcher every request
 * passes through: per-IP limit, authentication, per-token limit, the role
 * check (a route lists the roles that may call it), the per-IP limit on
 * form posts, then the handler, then the per-route headers (page CSP,
 * CORS, Cache-Control; the headers every response carries are given to
 * lib/http, gw_server_headers). lib/http sees every route as public: the
 * gateway authenticates callers itself. Tests
 * read gw_routes() for the authorisation matrix and the OpenAPI check.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway.h"

/* each ORUK path: the forwarded GET and its CORS preflight */
#define ORUK(p)                                                                \
        {"GET",       "/oruk" p, gw_forward_handler, GW_R_ANY, GW_F_CORS,      \
         "directory", "/oruk"},                                                \
        {                                                                      \
                "OPTIONS", "/oruk" p, gw_cors_preflight, GW_R_ANY, GW_F_CORS,  \
                    NULL, NULL                                                 \
        }

static const struct gw_route routes[] = {
    /* JSON API */
    {"POST", "/v1/referrals", gw_submit_handler, GW_R_ANY, 0, NULL, NULL},
    /* intake serves the same /v1/referrals paths: forwarded unchanged */
    {"GET", "/v1/referrals", gw_forward_handler, GW_R_TOKEN, GW_F_AUDIT,
     "intake", ""},
    {"GET", "/v1/referrals/{id}", gw_forward_handler, GW_R_TOKEN, GW_F_AUDIT,
     "intake", ""},
    {"GET", "/v1/referrals/{id}/status", gw_status_handler, GW_R_ANY, 0, NULL,
     NULL},
    {"POST", "/v1/referrals/{id}/status", gw_referral_status_post,
     GW_R_PROVIDER | GW_R_ADMIN, 0, NULL, NULL},
    {"POST", "/v1/referrals/{id}/consents", gw_referral_consent_post, GW_R_ANY,
     0, NULL, NULL},
    {"POST", "/v1/consents", gw_consent_post, GW_R_ADMIN, 0, NULL, NULL},
    {"GET", "/v1/consents/{subject}", gw_forward_handler, GW_R_ADMIN,
     GW_F_AUDIT, "consent", ""},
    {"GET", "/v1/admin/update_requests", gw_forward_handler, GW_R_ADMIN, 0,
     "directory", "/v1/admin"},
    {"GET", "/v1/admin/update_requests/{id}", gw_forward_handler, GW_R_ADMIN, 0,
     "directory", "/v1/admin"},
    {"GET", "/openapi.json", gw_openapi_handler, GW_R_ANY, GW_F_CORS, NULL,
     NULL},
    /* Open Referral UK, public, unchanged paths under /oruk */
    ORUK(""),
    ORUK("/services"),
    ORUK("/services/{id}"),
    ORUK("/service_at_locations"),
    ORUK("/service_at_locations/{id}"),
    ORUK("/organizations"),
    ORUK("/organizations/{id}"),
    ORUK("/taxonomies"),
    ORUK("/taxonomies/{id}"),
    ORUK("/taxonomy_terms"),
    ORUK("/taxonomy_terms/{id}"),
    ORUK("/nearest"),
    /* web pages */
    {"GET", "/", gw_web_search, GW_R_ANY, GW_F_HTML, NULL, NULL},
    {"GET", "/services/{id}", gw_web_service, GW_R_ANY, GW_F_HTML, NULL, NULL},
    {"GET", "/services/{id}/refer", gw_web_refer_get, GW_R_ANY, GW_F_HTML, NULL,
     NULL},
    {"POST", "/services/{id}/refer", gw_web_refer_post, GW_R_ANY,
     GW_F_HTML | GW_F_FORM, NULL, NULL},
    {"GET", "/status/{id}", gw_web_status, GW_R_ANY, GW_F_HTML, NULL, NULL},
    {"POST", "/status/{id}/consent", gw_web_consent_post, GW_R_ANY,
     GW_F_HTML | GW_F_FORM, NULL, NULL},
    {"GET", "/privacy", gw_web_privacy, GW_R_ANY, GW_F_HTML, NULL, NULL},
    {"GET", "/assets/{file}", gw_web_asset, GW_R_ANY, 0, NULL, NULL},
    {"GET", "/assets/{dir}/{file}", gw_web_asset, GW_R_ANY, 0, NULL, NULL},
    {NULL, NULL, NULL, 0, 0, NULL, NULL},
};

static void dispatch(struct http_req *req, struct http_resp *resp);

#define NROUTES (sizeof(routes) / sizeof(routes[0]))
static struct http_route http_routes[NROUTES];
static pthread_once_t http_once = PTHREAD_ONCE_INIT;

static void
http_routes_make(void)
{
        for (size_t i = 0; i < NROUTES; i++)
                http_routes[i] = (struct http_route){
                    routes[i].method, routes[i].pattern,
                    routes[i].method ? dispatch : NULL, HTTP_PUBLIC};
}

const struct gw_route *
gw_routes(void)
{
        return routes;
}

const struct http_route *
gw_http_routes(void)
{
        pthread_once(&http_once, http_routes_make);
        return http_routes;
}

double
gw_now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const struct gw_route *
find(const struct http_req *req)
{
        const char *m = strcmp(req->method, "HEAD") == 0 ? "GET" : req->method;

        for (const struct gw_route *r = routes; r->method != NULL; r++)
                if (strcmp(r->method, m) == 0 &&
                    strcmp(r->pattern, req->route) == 0)
                        return r;
        return NULL;
}

static bool
limited(struct gw_call *call, struct gw_limiter *l, const char *key,
        const char *what)
{
        int after = 1;
        char v[16];

        if (gw_limiter_take(l, key, gw_now(), &after))
                return false;
        snprintf(v, sizeof(v), "%d", after);
        http_resp_error(call->resp, 429, "too_many_requests", NULL,
                        "too many %s; try again in %d s", what, after);
        http_resp_header(call->resp, "Retry-After", v);
        return true;
}

/* allowed: the role check; false with the answer filled. */
static bool
allowed(struct gw_call *call)
{
        if (call->route->roles & (1u << call->who.role))
                return true;
        if (!call->has_token) {
                http_resp_error(call->resp, 401, "unauthorized",
                                "Authorization", "an API token is needed");
                http_resp_header(call->resp, "WWW-Authenticate",
                                 "Bearer realm=\"signpost\"");
        } else {
                http_resp_error(call->resp, 403, "forbidden", NULL,
                                "this token's role may not do that");
        }
        return false;
}

static void
dispatch(struct http_req *req, struct http_resp *resp)
{
        struct gw_call call = {.g = req->arg, .req = req, .resp = resp};
        int st;

        call.route = find(req);
        if (call.route == NULL) {
                http_resp_error(resp, 404, "not_found", NULL, "no such path");
                return;
        }
        http_req_peer(req, call.ip, sizeof(call.ip));
        if (limited(&call, call.g->lim_ip, call.ip, "requests"))
                goto out;
        st = gw_auth(&call);
        if (st == 0 && !allowed(&call))
                st = call.has_token ? 403 : 401;
        if (st != 0) {
                /* a refused attempt on personal data leaves a trace */
                if ((call.route->flags & GW_F_AUDIT) &&
                    (st == 401 || st == 403))
                        gw_audit_refused(&call, st);
                goto out;
        }
        if ((call.has_token &&
             limited(&call, call.g->lim_token, call.who.sub, "requests")) ||
            ((call.route->flags & GW_F_FORM) &&
             limited(&call, call.g->lim_form, call.ip, "form submissions")))
                goto out;
        call.route->fn(&call);
out:
        /* a deferred answer (referrals, forwarded reads) adds these
         * itself when it is made */
        gw_route_headers(resp, call.route->flags, req->path);
        memset(&call.who, 0, sizeof(call.who));
}

const char *const *
gw_server_headers(bool tls)
{
        static const char *const plain[] = {
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
            "Referrer-Policy",
            "no-referrer",
            "X-Frame-Options",
            "DENY",
            NULL,
        };
        static const char *const behind_tls[] = {
            "Content-Security-Policy",
            "default-src 'none'; frame-ancestors 'none'",
            "Referrer-Policy",
            "no-referrer",
            "X-Frame-Options",
            "DENY",
            "Strict-Transport-Security",
            "max-age=31536000; includeSubDomains",
            NULL,
        };

        return tls ? behind_tls : plain;
}

void
gw_route_headers(struct http_resp *r, unsigned flags, const char *path)
{
        bool html = strncmp(r->content_type, "text/html", 9) == 0;

        if (html) /* pages load their own styles, scripts and images */
                http_resp_header(
                    r, "Content-Security-Policy",
                    "default-src 'self'; img-src 'self' data:; "
                    "object-src 'none'; base-uri 'none'; form-action 'self'; "
                    "frame-ancestors 'none'");
        if (flags & GW_F_CORS)
                http_resp_header(r, "Access-Control-Allow-Origin", "*");
        else if (html || strncmp(path, "/v1/", 4) == 0)
                http_resp_header(r, "Cache-Control", "no-store");
}

/* gw_cors_preflight: OPTIONS on an ORUK path: any origin may GET it
 * (public data, no credentials). */
void
gw_cors_preflight(struct gw_call *call)
{
        struct http_resp *r = call->resp;

        http_resp_take(r, 204, NULL, NULL, 0);
        http_resp_header(r, "Access-Control-Allow-Methods",
                         "GET, HEAD, OPTIONS");
        http_resp_header(r, "Access-Control-Allow-Headers",
                         "Accept, Accept-Language, Content-Type, X-Request-Id");
        http_resp_header(r, "Access-Control-Max-Age", "86400");
}

void
gw_openapi_handler(struct gw_call *call)
{
        http_resp_text(call->resp, 200, "application/json",
                       call->g->openapi ? call->g->openapi : "{}");
}
