/*
 * http: the libmicrohttpd server: start and graceful stop, the
 * three-phase access handler (allocate request state, consume the body
 * within the limit, answer once), principal checks, the built-in
 * /healthz, /readyz and /metrics, per-route metrics. Owns the MHD daemon,
 * the principal key (in guarded memory) and each request's state, which
 * is freed only in the completion callback. Routing lives in
 * http_route.c, response helpers in http_resp.c, the principal format in
 * http_principal.c.
 */
#include "http_int.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "svc.h"

#define DEFAULT_THREADS 4
#define DEFAULT_MAX_BODY (1024 * 1024)
#define DEFAULT_CONN_TIMEOUT_S 30
#define DEFAULT_STOP_TIMEOUT_MS 10000

static void
healthz(struct http_req *req, struct http_resp *resp)
{
        (void)req;
        http_resp_json(resp, 200, json_pack("{s:s}", "status", "ok"));
}

static void
readyz(struct http_req *req, struct http_resp *resp)
{
        struct http_server *srv = req->ctx->srv;
        char why[256] = "";

        if (!svc_ready(why, sizeof(why)) ||
            (srv->opts.ready_fn != NULL &&
             !srv->opts.ready_fn(srv->arg, why, sizeof(why)))) {
                http_resp_json(resp, 503,
                               json_pack("{s:s, s:s}", "status", "not ready",
                                         "reason", why[0] ? why : "unknown"));
                return;
        }
        http_resp_json(resp, 200, json_pack("{s:s}", "status", "ready"));
}

static void
metrics(struct http_req *req, struct http_resp *resp)
{
        char *text = metrics_render();

        (void)req;
        if (text == NULL) {
                http_resp_error(resp, 500, "internal", NULL, "out of memory");
                return;
        }
        http_resp_take(resp, 200, METRICS_CONTENT_TYPE, text, strlen(text));
}

static const struct http_route builtin_routes[] = {
    {"GET", "/healthz", healthz, HTTP_PUBLIC},
    {"GET", "/readyz", readyz, HTTP_PUBLIC},
    {"GET", "/metrics", metrics, HTTP_PUBLIC},
};
#define NBUILTIN (sizeof(builtin_routes) / sizeof(builtin_routes[0]))

static void
ent_metrics(struct http_route_ent *ent, const char *method, const char *pattern)
{
        static const char *const classes[HTTP_NCLASSES] = {"1xx", "2xx", "3xx",
                                                           "4xx", "5xx"};

        for (int i = 0; i < HTTP_NCLASSES; i++)
                ent->by_class[i] = metrics_counter_register(
                    "signpost_http_requests_total",
                    "HTTP requests answered, by route and status class.",
                    "method", method, "route", pattern, "code", classes[i],
                    METRICS_END);
        ent->latency = metrics_histogram_register(
            "signpost_http_request_duration_seconds",
            "Time from request to response sent, by route.", "method", method,
            "route", pattern, METRICS_END);
}

static int
build_routes(struct http_server *srv, const struct http_route *routes,
             struct err *e)
{
        size_t n = 0;

        while (routes != NULL && routes[n].method != NULL)
                n++;
        srv->ents = calloc(NBUILTIN + n, sizeof(*srv->ents));
        if (srv->ents == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        for (size_t i = 0; i < NBUILTIN + n; i++) {
                const struct http_route *r =
                    i < NBUILTIN ? &builtin_routes[i] : &routes[i - NBUILTIN];
                if (http_route_check(r, e) < 0)
                        return -1;
                srv->ents[i].r = *r;
                ent_metrics(&srv->ents[i], r->method, r->pattern);
        }
        srv->nents = NBUILTIN + n;
        ent_metrics(&srv->unmatched, "", "unmatched");
        return 0;
}

static bool
has_header(const struct http_resp *resp, const char *name)
{
        if (strcasecmp(name, "Content-Type") == 0)
                return resp->content_type[0] != '\0';
        if (strcasecmp(name, "X-Request-Id") == 0 ||
            strcasecmp(name, "X-Content-Type-Options") == 0)
                return true; /* always set by the server */
        for (size_t i = 0; i < resp->nheaders; i++)
                if (strcasecmp(resp->headers[i].name, name) == 0)
                        return true;
        return false;
}

static void
add_server_headers(struct MHD_Response *r, const struct http_server *srv,
                   const struct http_resp *resp)
{
        for (char **h = srv->headers; h != NULL && h[0] != NULL; h += 2)
                if (!has_header(resp, h[0]))
                        MHD_add_response_header(r, h[0], h[1]);
}

enum MHD_Result
http_queue(struct http_req_ctx *ctx, struct http_resp *resp)
{
        struct MHD_Response *r;
        enum MHD_Result ret;

        if (resp->status == 0)
                http_resp_error(resp, 500, "internal", NULL,
                                "handler gave no response");
        r = MHD_create_response_from_buffer(
            resp->body_len, resp->body,
            resp->body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
        if (r == NULL) {
                http_resp_fini(resp);
                return MHD_NO;
        }
        resp->body = NULL; /* MHD owns it now */
        if (resp->content_type[0] != '\0')
                MHD_add_response_header(r, "Content-Type", resp->content_type);
        MHD_add_response_header(r, "X-Request-Id", ctx->request_id);
        MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
        for (size_t i = 0; i < resp->nheaders; i++)
                MHD_add_response_header(r, resp->headers[i].name,
                                        resp->headers[i].value);
        add_server_headers(r, ctx->srv, resp);
        ret = MHD_queue_response(ctx->conn, (unsigned)resp->status, r);
        MHD_destroy_response(r);
        ctx->status = resp->status;
        ctx->answered = true;
        /* counted now, not at completion: a client that got its answer
         * then reads /metrics sees it counted */
        if (ret == MHD_YES && ctx->status >= 100 && ctx->status < 600)
                metrics_counter_inc(ctx->ent->by_class[ctx->status / 100 - 1]);
        http_resp_fini(resp);
        return ret;
}

static enum MHD_Result
queue_error(struct http_req_ctx *ctx, int status, const char *code,
            const char *why)
{
        struct http_resp resp = {0};

        http_resp_error(&resp, status, code, NULL, "%s", why);
        return http_queue(ctx, &resp);
}

/* check_principal: verifies the header if sent; 0 when the route may
 * run, -1 when it must answer 401 (why filled). */
static int
check_principal(struct http_req_ctx *ctx, char *why, size_t whysz)
{
        const char *h = MHD_lookup_connection_value(ctx->conn, MHD_HEADER_KIND,
                                                    HTTP_PRINCIPAL_HEADER);
        bool public = (ctx->ent->r.flags & HTTP_PUBLIC) != 0;
        struct err e = {0};

        if (h == NULL || ctx->srv->key == NULL) {
                snprintf(why, whysz, "%s",
                         h == NULL ? "principal missing"
                                   : "server has no principal key");
                return public ? 0 : -1;
        }
        if (http_principal_verify(ctx->srv->key, h, &ctx->principal, &e) < 0) {
                snprintf(why, whysz, "%s", e.msg);
                return public ? 0 : -1;
        }
        ctx->has_principal = true;
        return 0;
}

static bool
body_too_large(struct MHD_Connection *conn, size_t max)
{
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     "Content-Length");
        char *end;
        unsigned long long n;

        if (cl == NULL)
                return false;
        n = strtoull(cl, &end, 10);
        return *end == '\0' && n > max;
}

/* begin: phase one: request state, routing, principal, declared size.
 * Answers at once when the handler must not run. */
static enum MHD_Result
begin(struct http_server *srv, struct MHD_Connection *conn, const char *url,
      const char *method, void **con_cls)
{
        struct http_req_ctx *ctx = calloc(1, sizeof(*ctx));
        char allow[128], why[256];
        int found;

        if (ctx == NULL)
                return MHD_NO;
        ctx->srv = srv;
        ctx->conn = conn;
        clock_gettime(CLOCK_MONOTONIC, &ctx->start);
        http_request_id(conn, ctx->request_id);
        atomic_fetch_add(&srv->in_flight, 1);
        *con_cls = ctx;
        found = http_route_find(ctx, method, url, allow, sizeof(allow));
        if (found == 404)
                return queue_error(ctx, 404, "not_found", "no such path");
        if (found == 405) {
                struct http_resp resp = {0};

                http_resp_error(&resp, 405, "method_not_allowed", NULL,
                                "method %s not allowed here", method);
                http_resp_header(&resp, "Allow", allow);
                return http_queue(ctx, &resp);
        }
        if (found != 0)
                return queue_error(ctx, 500, "internal", "out of memory");
        if (check_principal(ctx, why, sizeof(why)) < 0)
                return queue_error(ctx, 401, "unauthorized", why);
        if (body_too_large(conn, srv->opts.max_body))
                return queue_error(ctx, 413, "payload_too_large",
                                   "request body too large");
        return MHD_YES;
}

/* take_body: phase two: one chunk of the body. Past the limit the rest
 * is read and dropped (answered 413 at the end); far past it the
 * connection is closed. */
static enum MHD_Result
take_body(struct http_req_ctx *ctx, const char *data, size_t size)
{
        size_t max = ctx->srv->opts.max_body;

        if (ctx->too_large || ctx->body_len + size > max) {
                ctx->too_large = true;
                ctx->discarded += size;
                return ctx->discarded > 4 * max ? MHD_NO : MHD_YES;
        }
        if (ctx->body_len + size + 1 > ctx->body_cap) {
                size_t cap = (ctx->body_len + size + 1) * 2;
                char *b;

                if (cap > max + 1)
                        cap = max + 1;
                if ((b = realloc(ctx->body, cap)) == NULL)
                        return MHD_NO;
                ctx->body = b;
                ctx->body_cap = cap;
        }
        memcpy(ctx->body + ctx->body_len, data, size);
        ctx->body_len += size;
        ctx->body[ctx->body_len] = '\0';
        return MHD_YES;
}

/* finish: phase three: run the handler and answer. */
static enum MHD_Result
finish(struct http_req_ctx *ctx, const char *url, const char *method)
{
        struct http_resp resp = {0};
        struct http_req req = {
            .method = method,
            .path = url,
            .route = ctx->ent->r.pattern,
            .body = ctx->body ? ctx->body : "",
            .body_len = ctx->body_len,
            .request_id = ctx->request_id,
            .principal = ctx->has_principal ? &ctx->principal : NULL,
            .arg = ctx->srv->arg,
            .ctx = ctx,
        };

        if (ctx->too_large)
                return queue_error(ctx, 413, "payload_too_large",
                                   "request body too large");
        if (ctx->defer != NULL) /* woken, or called again while waiting */
                return http_defer_step(ctx, &req, &resp);
        ctx->ent->r.fn(&req, &resp);
        if (ctx->defer != NULL) {
                http_resp_fini(&resp); /* the answer comes later */
                return http_defer_step(ctx, &req, &resp);
        }
        return http_queue(ctx, &resp);
}

static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
           const char *method, const char *version, const char *upload_data,
           size_t *upload_data_size, void **con_cls)
{
        struct http_req_ctx *ctx = *con_cls;

        (void)version;
        if (ctx == NULL)
                return begin(cls, conn, url, method, con_cls);
        if (ctx->answered) {
                *upload_data_size = 0;
                return MHD_YES;
        }
        if (*upload_data_size != 0) {
                size_t n = *upload_data_size;

                *upload_data_size = 0;
                return take_body(ctx, upload_data, n);
        }
        return finish(ctx, url, method);
}

static double
seconds_since(const struct timespec *t0)
{
        struct timespec t1;

        clock_gettime(CLOCK_MONOTONIC, &t1);
        return (double)(t1.tv_sec - t0->tv_sec) +
               (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
             enum MHD_RequestTerminationCode toe)
{
        struct http_req_ctx *ctx = *con_cls;
        struct http_server *srv = cls;
        double secs;

        (void)conn;
        if (ctx == NULL)
                return;
        secs = seconds_since(&ctx->start);
        if (ctx->answered && ctx->status >= 100 && ctx->status < 600)
                metrics_histogram_observe(ctx->ent->latency, secs);
        log_debug(
            "http request", "request_id=%s route=%s status=%d ms=%.3f%s",
            ctx->request_id, ctx->ent->r.pattern, ctx->status, secs * 1000,
            toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " aborted=1");
        http_defer_detach(ctx);
        free(ctx->body);
        free(ctx->parambuf);
        sodium_memzero(&ctx->principal, sizeof(ctx->principal));
        free(ctx);
        *con_cls = NULL;
        atomic_fetch_sub(&srv->in_flight, 1);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
on_mhd_log(void *cls, const char *fmt, va_list ap)
{
        char why[256];
        size_t n;

        (void)cls;
        vsnprintf(why, sizeof(why), fmt, ap);
        n = strlen(why);
        while (n > 0 && (why[n - 1] == '\n' || why[n - 1] == '\r'))
                why[--n] = '\0';
        log_why(LOG_WARN, "http server", why, NULL);
}

/* parse_listen: "host:port", "[v6]:port" or ":port" into ss. */
static int
parse_listen(const char *listen, struct sockaddr_storage *ss, socklen_t *sslen,
             struct err *e)
{
        char host[256];
        const char *colon = listen ? strrchr(listen, ':') : NULL;
        struct addrinfo hints = {0}, *ai = NULL;
        size_t hlen;

        char *end = NULL;
        unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;

        if (colon == NULL || end == colon + 1 || *end != '\0' || port > 65535 ||
            (hlen = (size_t)(colon - listen)) >= sizeof(host))
                return err_set(e, ERR_INVALID, "listen",
                               "listen address must be host:port");
        memcpy(host, listen, hlen);
        host[hlen] = '\0';
        if (hlen >= 2 && host[0] == '[' && host[hlen - 1] == ']') {
                memmove(host, host + 1, hlen - 2);
                host[hlen - 2] = '\0';
        }
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
        if (getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai) != 0 ||
            ai == NULL) {
                if (ai != NULL)
                        freeaddrinfo(ai);
                return err_set(e, ERR_INVALID, "listen",
                               "cannot resolve listen address %s", listen);
        }
        memcpy(ss, ai->ai_addr, ai->ai_addrlen);
        *sslen = ai->ai_addrlen;
        freeaddrinfo(ai);
        return 0;
}

static void
apply_defaults(struct http_opts *o, const struct http_opts *given)
{
        if (given != NULL)
                *o = *given;
        if (o->threads == 0)
                o->threads = DEFAULT_THREADS;
        if (o->max_body == 0)
                o->max_body = DEFAULT_MAX_BODY;
        if (o->conn_timeout_s == 0)
                o->conn_timeout_s = DEFAULT_CONN_TIMEOUT_S;
        if (o->stop_timeout_ms == 0)
                o->stop_timeout_ms = DEFAULT_STOP_TIMEOUT_MS;
        o->principal_key = NULL; /* copied into srv->key */
        o->headers = NULL;       /* copied into srv->headers */
}

static void
free_headers(char **h)
{
        for (size_t i = 0; h != NULL && h[i] != NULL; i++)
                free(h[i]);
        free(h);
}

/* copy_headers: opts->headers into srv->headers. */
static int
copy_headers(struct http_server *srv, const char *const *h, struct err *e)
{
        size_t n = 0;

        while (h != NULL && h[n] != NULL)
                n++;
        if (n % 2 != 0)
                return err_set(e, ERR_INVALID, "headers",
                               "extra headers must come in name, value pairs");
        if ((srv->headers = calloc(n + 1, sizeof(char *))) == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        for (size_t i = 0; i < n; i++)
                if ((srv->headers[i] = strdup(h[i])) == NULL)
                        return err_set(e, ERR_FATAL, NULL, "out of memory");
        return 0;
}

static int
start_mhd(struct http_server *srv, struct sockaddr_storage *ss, struct err *e)
{
        unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC |
                         MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
        const union MHD_DaemonInfo *info;

        if (ss->ss_family == AF_INET6)
                flags |= MHD_USE_IPv6;
        srv->mhd = MHD_start_daemon(
            flags, 0, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER,
            on_mhd_log, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)ss,
            MHD_OPTION_THREAD_POOL_SIZE, srv->opts.threads,
            MHD_OPTION_CONNECTION_TIMEOUT, srv->opts.conn_timeout_s,
            MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_END);
        if (srv->mhd == NULL)
                return err_set(e, ERR_FATAL, "listen",
                               "cannot start HTTP server (address in use?)");
        info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT);
        srv->port = info ? info->port : 0;
        return 0;
}

struct http_server *
http_server_start(const char *listen, const struct http_route *routes,
                  void *arg, const struct http_opts *opts, struct err *e)
{
        struct http_server *srv = NULL;
        struct sockaddr_storage ss = {0};
        socklen_t sslen = 0;

        if (sodium_init() < 0) {
                err_set(e, ERR_FATAL, NULL, "libsodium failed to start");
                return NULL;
        }
        if (parse_listen(listen, &ss, &sslen, e) < 0)
                return NULL;
        if ((srv = calloc(1, sizeof(*srv))) == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                return NULL;
        }
        srv->arg = arg;
        pthread_mutex_init(&srv->defer_mu, NULL);
        apply_defaults(&srv->opts, opts);
        if (copy_headers(srv, opts ? opts->headers : NULL, e) < 0)
                goto fail;
        if (opts != NULL && opts->principal_key != NULL) {
                srv->key = sodium_malloc(HTTP_PRINCIPAL_KEY_BYTES);
                if (srv->key == NULL) {
                        err_set(e, ERR_FATAL, NULL, "out of memory");
                        goto fail;
                }
                memcpy(srv->key, opts->principal_key, HTTP_PRINCIPAL_KEY_BYTES);
                sodium_mprotect_readonly(srv->key);
        }
        if (build_routes(srv, routes, e) < 0 || start_mhd(srv, &ss, e) < 0)
                goto fail;
        log_info("http listening", "port=%u threads=%u", (unsigned)srv->port,
                 srv->opts.threads);
        return srv;
fail:
        http_server_stop(srv);
        return NULL;
}

uint16_t
http_server_port(const struct http_server *srv)
{
        return srv->port;
}

static void
wait_in_flight(struct http_server *srv, unsigned ms)
{
        for (unsigned waited = 0;
             atomic_load(&srv->in_flight) > 0 && waited < ms; waited += 10)
                usleep(10 * 1000);
}

void
http_server_stop(struct http_server *srv)
{
        MHD_socket lfd;

        if (srv == NULL)
                return;
        if (srv->mhd != NULL) {
                lfd = MHD_quiesce_daemon(srv->mhd);
                wait_in_flight(srv, srv->opts.stop_timeout_ms);
                if (http_defer_abandon(srv) > 0)
                        wait_in_flight(srv, 1000);
                MHD_stop_daemon(srv->mhd);
                if (lfd != MHD_INVALID_SOCKET)
                        close(lfd);
                log_info("http stopped", "port=%u", (unsigned)srv->port);
        }
        sodium_free(srv->key);
        free_headers(srv->headers);
        pthread_mutex_destroy(&srv->defer_mu);
        free(srv->ents);
        free(srv);
}
