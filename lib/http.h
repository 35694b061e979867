/*
 * http: the internal HTTP server every daemon runs (libmicrohttpd), with a
 * route table, JSON errors, request ids, metrics, and the signed caller
 * identity the gateway forwards (X-Signpost-Principal).
 *
 *   static const struct http_route routes[] = {
 *           {"GET", "/services/{id}", routes_service_get, 0},
 *           {"POST", "/referrals", routes_referral_post, 0},
 *           {"GET", "/public/areas", routes_areas, HTTP_PUBLIC},
 *           {NULL},
 *   };
 *   struct http_opts o = {.principal_key = key};
 *   srv = http_server_start("127.0.0.1:8081", routes, daemon, &o, &e);
 *   ...
 *   http_server_stop(srv);
 *
 * Every server also answers GET /healthz, GET /readyz and GET /metrics
 * (public, ahead of the daemon's routes). Unknown path -> 404, known path
 * with another method -> 405 with Allow, body over opts.max_body -> 413,
 * route without HTTP_PUBLIC and no valid principal -> 401; the handler is
 * not called for any of these. Every response carries X-Request-Id,
 * X-Content-Type-Options: nosniff and the server's opts.headers (unless
 * the handler set a header of that name). Errors are JSON:
 *   {"error": {"code": "...", "message": "...", "field": "..."}}
 * (field omitted when none).
 *
 * A handler that must wait for something (a broker's acknowledgement)
 * defers its answer instead of blocking a server thread:
 *
 *   d = http_req_defer(req);          in the handler, which then returns
 *   ...
 *   http_defer_finish(d, &resp);      later, from any thread; or
 *   http_defer_resume(d, fn, arg);    fn answers on a server thread
 */
#ifndef SIGNPOST_HTTP_H
#define SIGNPOST_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

#define HTTP_PUBLIC 0x1u /* route flag: no principal needed */

#define HTTP_PRINCIPAL_HEADER "X-Signpost-Principal"
#define HTTP_PRINCIPAL_KEY_BYTES 32 /* crypto_auth_KEYBYTES */
#define HTTP_REQUEST_ID_MAX 64
#define HTTP_MAX_PARAMS 8
#define HTTP_MAX_HEADERS 8

enum http_role {
        HTTP_ROLE_PUBLIC,
        HTTP_ROLE_PROVIDER,
        HTTP_ROLE_ADMIN,
        HTTP_ROLE_SUPPORT,
};

/* The authenticated caller, as signed by the gateway. */
struct http_principal {
        char sub[128]; /* principal id */
        enum http_role role;
        char org[128];    /* organisation id, "" when none */
        char reason[256]; /* support access reason, "" when none */
        int64_t exp;      /* unix seconds; expired at or after this */
};

struct http_req_ctx; /* internal to the server */

/* What a handler sees. Every pointer is borrowed, valid until the handler
 * returns. */
struct http_req {
        const char *method;     /* "GET", "POST", ... */
        const char *path;       /* decoded path, without the query */
        const char *route;      /* the matched pattern, "/services/{id}" */
        const char *body;       /* NUL-terminated; "" when none */
        size_t body_len;        /* bytes in body, not counting the NUL */
        const char *request_id; /* as sent back in X-Request-Id */
        /* verified caller; NULL only on HTTP_PUBLIC routes without a
         * (valid) principal header */
        const struct http_principal *principal;
        void *arg; /* given to http_server_start */
        struct http_req_ctx *ctx;
};

/* http_req_param: value of path parameter {name}; NULL if the pattern has
 * none. http_req_query: decoded query parameter; http_req_header: request
 * header (case-insensitive). Each returns borrowed text valid until the
 * handler returns, or NULL when absent. */
const char *http_req_param(const struct http_req *req, const char *name);
const char *http_req_query(const struct http_req *req, const char *name);
const char *http_req_header(const struct http_req *req, const char *name);
/* http_req_peer: the client's address as text ("127.0.0.1", "::1") into
 * out; "unknown" when it cannot be told. Returns out. */
const char *http_req_peer(const struct http_req *req, char *out, size_t outsz);

/* http_query_fn: one decoded query parameter, in the order sent; value is
 * NULL for "?flag" without "=". Return false to stop. Both borrowed,
 * valid during the call. */
typedef bool (*http_query_fn)(void *arg, const char *name, const char *value);
/* http_req_query_each: calls fn for every query parameter; returns how
 * many it was called for. */
size_t http_req_query_each(const struct http_req *req, http_query_fn fn,
                           void *arg);

struct http_header {
        char *name;
        char *value;
};

/* What a handler fills; start from {0} (the server does). A handler that
 * leaves status 0 is answered 500. */
struct http_resp {
        int status;
        char content_type[96];
        char *body; /* owned: free()d by the server after sending */
        size_t body_len;
        struct http_header headers[HTTP_MAX_HEADERS]; /* owned */
        size_t nheaders;
};

/* The response helpers replace any body set before. They return 0, or -1
 * when out of memory (resp then holds a 500 if it could be set). */

/* http_resp_json: takes ownership of j (even on failure); body is its
 * compact text, Content-Type application/json. */
int http_resp_json(struct http_resp *resp, int status, json_t *j);
/* http_resp_error: the JSON error shape above; field may be NULL. */
int http_resp_error(struct http_resp *resp, int status, const char *code,
                    const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* http_status_of: the one HTTP status of an error kind: 400 invalid, 404
 * not found, 409 conflict, 503 transient, 500 otherwise. */
int http_status_of(enum err_kind kind);
/* http_code_of: the error code of that status: "invalid", "not_found",
 * "conflict", "unavailable" or "internal" (borrowed). */
const char *http_code_of(enum err_kind kind);
/* http_resp_err: answers e in that shape with its kind's status and code:
 * on a 4xx e's field and message; on a 5xx only "try again later" (with
 * Retry-After: 5 on a 503), e itself going to the log. */
int http_resp_err(struct http_resp *resp, const struct err *e);
/* http_resp_text: copies text. */
int http_resp_text(struct http_resp *resp, int status, const char *content_type,
                   const char *text);
/* http_resp_take: takes ownership of body (malloc'd, len bytes). */
int http_resp_take(struct http_resp *resp, int status, const char *content_type,
                   char *body, size_t len);
/* http_resp_header: adds a header (copied); at most HTTP_MAX_HEADERS. */
int http_resp_header(struct http_resp *resp, const char *name,
                     const char *value);
/* http_resp_fini: frees body and headers (the server calls it). */
void http_resp_fini(struct http_resp *resp);

typedef void (*http_handler_fn)(struct http_req *req, struct http_resp *resp);

/* ---- deferred answers ---- */

struct http_defer;

/* http_req_defer: called by a handler that will answer later. The
 * handler then returns leaving resp alone; the connection waits without
 * holding a server thread until http_defer_finish() or
 * http_defer_resume() (exactly one of them, exactly once, from any
 * thread). Copy what you need from req: it is valid only until the
 * handler returns. Returns a new handle, or NULL when out of memory (then
 * answer at once). At most one per request.
 * If the server stops before the answer comes, it waits up to
 * opts.stop_timeout_ms, then answers 503 itself; the late call is then
 * harmless. */
struct http_defer *http_req_defer(struct http_req *req);
/* http_defer_finish: answers with resp, taking ownership of what it holds
 * (resp is left as {0}); frees d. */
void http_defer_finish(struct http_defer *d, struct http_resp *resp);
/* http_resume_fn: answers a resumed request as a handler does (it may
 * block, but may not defer again). Called exactly once: on a server
 * thread with req and resp, or, when the request is no longer waiting
 * (server stopped), on the calling thread with req and resp NULL, only to
 * free arg. */
typedef void (*http_resume_fn)(struct http_req *req, struct http_resp *resp,
                               void *arg);
/* http_defer_resume: wakes the request; fn(req, resp, arg) answers it on
 * a server thread (req->path, method, route, headers, params and body as
 * in the handler). Frees d. */
void http_defer_resume(struct http_defer *d, http_resume_fn fn, void *arg);
struct http_server;
/* http_server_waiting: how many deferred requests of srv wait now for
 * their answer with their connection suspended (holding no thread). */
size_t http_server_waiting(struct http_server *srv);

/* A route table is an array ending in {NULL}. Patterns are absolute
 * paths; a segment "{name}" matches any non-empty segment. HEAD requests
 * are served by the GET route (without the body). */
struct http_route {
        const char *method;
        const char *pattern;
        http_handler_fn fn;
        unsigned flags; /* HTTP_PUBLIC */
};

/* http_ready_fn: the daemon's own readiness check for GET /readyz, run
 * after svc_ready(); false with a reason in why means 503. */
typedef bool (*http_ready_fn)(void *arg, char *why, size_t whysz);

struct http_opts {
        unsigned threads;         /* worker threads; 0 -> 4 */
        size_t max_body;          /* request body limit; 0 -> 1 MiB */
        unsigned conn_timeout_s;  /* idle connection timeout; 0 -> 30 */
        unsigned stop_timeout_ms; /* wait for in-flight; 0 -> 10000 */
        /* HTTP_PRINCIPAL_KEY_BYTES bytes, copied into guarded memory;
         * NULL -> every route without HTTP_PUBLIC answers 401 */
        const unsigned char *principal_key;
        http_ready_fn ready_fn; /* NULL -> none; called with arg */
        /* headers added to every response, the server's own errors
         * included, unless the handler set one of the same name: NULL
         * or a NULL-terminated list of name, value pairs (copied) */
        const char *const *headers;
};

struct http_server;

/* http_server_start: listens on "host:port" ("127.0.0.1:8081",
 * "[::1]:8081", ":8081" for every interface; port 0 picks a free one).
 * routes and arg must outlive the server; opts may be NULL (defaults).
 * Returns new server, stop and free with http_server_stop(); NULL on a
 * bad route table or listen address, or when binding fails. */
struct http_server *http_server_start(const char *listen,
                                      const struct http_route *routes,
                                      void *arg, const struct http_opts *opts,
                                      struct err *e);
/* http_server_port: the bound port. */
uint16_t http_server_port(const struct http_server *srv);
/* http_server_stop: stops accepting, waits (up to stop_timeout_ms) for
 * requests in flight to be answered, closes everything and frees srv.
 * Accepts NULL. */
void http_server_stop(struct http_server *srv);

/* http_principal_sign: writes the header value
 * base64url(json).base64url(HMAC-SHA-512-256 over the first part) for p
 * into *out (new string, free with free()). key is
 * HTTP_PRINCIPAL_KEY_BYTES bytes. Returns 0, or -1 when p is not valid
 * (empty sub, reason on a non-support role, fields too long) or out of
 * memory. */
int http_principal_sign(const unsigned char *key,
                        const struct http_principal *p, char **out);
/* http_principal_verify: checks header and fills out. Returns 0, or -1
 * with ERR_INVALID (field HTTP_PRINCIPAL_HEADER) when it is malformed,
 * its MAC is wrong, or it has expired. */
int http_principal_verify(const unsigned char *key, const char *header,
                          struct http_principal *out, struct err *e);

/* http_role_name: returns borrowed static "public", "provider", ...;
 * http_role_parse: the reverse, -1 for an unknown name. */
const char *http_role_name(enum http_role role);
int http_role_parse(const char *s, enum http_role *out);

#endif
