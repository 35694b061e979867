/*
 * http_int: what http.c and http_route.c share; not for daemons.
 */
#ifndef SIGNPOST_HTTP_INT_H
#define SIGNPOST_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "http.h"
#include "metrics.h"

#define HTTP_NCLASSES 5 /* 1xx .. 5xx */

/* One route of a running server (built-ins first) with its metrics. */
struct http_route_ent {
        struct http_route r;
        struct metrics_counter *by_class[HTTP_NCLASSES];
        struct metrics_histogram *latency;
};

struct http_server {
        struct MHD_Daemon *mhd;
        struct http_route_ent *ents;
        size_t nents;
        struct http_route_ent unmatched; /* 404, 405 */
        void *arg;
        struct http_opts opts;
        unsigned char *key; /* sodium_malloc, NULL when none */
        atomic_int in_flight;
        uint16_t port;
        char **headers; /* opts.headers copied: name, value, ..., NULL */
        pthread_mutex_t defer_mu;    /* guards deferred */
        struct http_defer *deferred; /* requests waiting for an answer */
};

/* Where a deferred request is. RUNNING: the handler has not returned;
 * SUSPENDING: the connection is being suspended; SUSPENDED: waiting;
 * READY: the answer (fn or resp) is there, the connection will run it;
 * GONE: answered, or the connection closed. */
enum http_defer_state {
        HTTP_DEFER_RUNNING,
        HTTP_DEFER_SUSPENDING,
        HTTP_DEFER_SUSPENDED,
        HTTP_DEFER_READY,
        HTTP_DEFER_GONE,
};

struct http_defer {
        pthread_mutex_t mu;
        int refs; /* the request's and the completer's */
        enum http_defer_state state;
        struct MHD_Connection *conn;
        bool abandoned; /* the server gave up waiting (stopping) */
        bool detached;  /* the connection is gone */
        http_resume_fn fn;
        void *arg;
        struct http_resp resp;          /* when fn is NULL */
        struct http_defer *prev, *next; /* srv->deferred */
};

struct http_param {
        const char *name; /* into the pattern, not NUL-terminated */
        size_t name_len;
        char *value; /* into http_req_ctx.parambuf */
};

/* Per-request state: made on the first call of the access handler, freed
 * in the completion callback. */
struct http_req_ctx {
        struct http_server *srv;
        struct MHD_Connection *conn;
        struct http_route_ent *ent; /* matched route, or &srv->unmatched */
        struct http_param params[HTTP_MAX_PARAMS];
        size_t nparams;
        char *parambuf;
        char *body;
        size_t body_len, body_cap, discarded;
        bool too_large, answered;
        int status;
        struct timespec start;
        char request_id[HTTP_REQUEST_ID_MAX + 1];
        struct http_principal principal;
        bool has_principal;
        struct http_defer *defer; /* set by http_req_defer() */
};

/* http.c */
/* http_queue: sends resp (once) with the headers every response carries,
 * and frees what resp owns. */
enum MHD_Result http_queue(struct http_req_ctx *ctx, struct http_resp *resp);

/* http_defer.c */
/* http_defer_step: the connection's side of a deferred request, after
 * the handler returned and on every later call: suspends, or answers
 * from what the completer left. */
enum MHD_Result http_defer_step(struct http_req_ctx *ctx, struct http_req *req,
                                struct http_resp *resp);
/* http_defer_detach: the request is complete (or its connection closed):
 * unlinks ctx->defer and drops the request's reference. */
void http_defer_detach(struct http_req_ctx *ctx);
/* http_defer_abandon: answers 503 to every suspended request (the server
 * is stopping and stopped waiting); returns how many. */
size_t http_defer_abandon(struct http_server *srv);

/* http_route.c */
int http_route_check(const struct http_route *r, struct err *e);
/* http_route_match: true when path fits pattern; fills ctx params. */
bool http_route_match(struct http_req_ctx *ctx, const char *pattern,
                      const char *path);
/* http_route_find: sets ctx->ent to the route for method and path;
 * returns 0, 404 (no such path) or 405 (allow gets the methods). */
int http_route_find(struct http_req_ctx *ctx, const char *method,
                    const char *path, char *allow, size_t allowsz);
/* http_request_id: the client's X-Request-Id if it is a safe token, else
 * a new UUIDv7. */
void http_request_id(struct MHD_Connection *conn,
                     char out[HTTP_REQUEST_ID_MAX + 1]);

#endif
