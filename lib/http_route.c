/*
 * http_route: matching a request to the server's route table, path
 * parameters, the request accessors handlers use (parameters, query,
 * headers, peer address), and request ids. Owns
 * nothing beyond the per-request parameter buffer it fills; does not
 * answer requests (http.c does).
 */
#include "http_int.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uuid.h"

/* segment: length of the path segment at s (up to '/' or end). */
static size_t
segment(const char *s)
{
        return strcspn(s, "/");
}

static bool
is_param(const char *seg, size_t len)
{
        return len >= 3 && seg[0] == '{' && seg[len - 1] == '}';
}

int
http_route_check(const struct http_route *r, struct err *e)
{
        const char *p = r->pattern;

        if (r->method == NULL || r->fn == NULL || p == NULL || p[0] != '/')
                return err_set(e, ERR_INVALID, "routes",
                               "route %s needs a method, a handler and a "
                               "pattern starting with /",
                               p ? p : "(null)");
        for (int n = 0; *p != '\0'; p += segment(p)) {
                size_t len;

                p++; /* the '/' */
                len = segment(p);
                if (memchr(p, '{', len) == NULL && memchr(p, '}', len) == NULL)
                        continue;
                if (!is_param(p, len) || memchr(p + 1, '{', len - 2) ||
                    memchr(p + 1, '}', len - 2))
                        return err_set(e, ERR_INVALID, "routes",
                                       "route %s: a parameter must be a "
                                       "whole segment {name}",
                                       r->pattern);
                if (++n > HTTP_MAX_PARAMS)
                        return err_set(e, ERR_INVALID, "routes",
                                       "route %s: too many parameters",
                                       r->pattern);
        }
        return 0;
}

bool
http_route_match(struct http_req_ctx *ctx, const char *pattern,
                 const char *path)
{
        const char *p = pattern, *u = path;
        size_t n = 0;

        while (*p == '/' && *u == '/') {
                size_t plen = segment(++p), ulen = segment(++u);

                if (is_param(p, plen)) {
                        if (ulen == 0)
                                return false;
                        ctx->params[n].name = p + 1;
                        ctx->params[n].name_len = plen - 2;
                        ctx->params[n].value = (char *)u; /* fixed below */
                        n++;
                } else if (plen != ulen || memcmp(p, u, plen) != 0) {
                        return false;
                }
                p += plen;
                u += ulen;
        }
        if (*p != '\0' || *u != '\0')
                return false;
        ctx->nparams = n;
        return true;
}

/* copy_params: turn the matched parameter pointers (into the path) into
 * NUL-terminated copies in one buffer. */
static int
copy_params(struct http_req_ctx *ctx, const char *path)
{
        char *b;

        if (ctx->nparams == 0)
                return 0;
        b = ctx->parambuf = malloc(strlen(path) + HTTP_MAX_PARAMS + 1);
        if (b == NULL)
                return -1;
        for (size_t i = 0; i < ctx->nparams; i++) {
                size_t len = segment(ctx->params[i].value);

                memcpy(b, ctx->params[i].value, len);
                b[len] = '\0';
                ctx->params[i].value = b;
                b += len + 1;
        }
        return 0;
}

static bool
method_fits(const char *route_method, const char *method)
{
        return strcmp(route_method, method) == 0 ||
               (strcmp(method, "HEAD") == 0 &&
                strcmp(route_method, "GET") == 0);
}

int
http_route_find(struct http_req_ctx *ctx, const char *method, const char *path,
                char *allow, size_t allowsz)
{
        struct http_server *srv = ctx->srv;
        size_t used = 0;

        allow[0] = '\0';
        for (size_t i = 0; i < srv->nents; i++) {
                struct http_route_ent *ent = &srv->ents[i];

                if (!http_route_match(ctx, ent->r.pattern, path))
                        continue;
                if (method_fits(ent->r.method, method)) {
                        ctx->ent = ent;
                        return copy_params(ctx, path) < 0 ? 500 : 0;
                }
                if (strstr(allow, ent->r.method) == NULL && used < allowsz)
                        used += (size_t)snprintf(allow + used, allowsz - used,
                                                 "%s%s", used ? ", " : "",
                                                 ent->r.method);
        }
        ctx->nparams = 0;
        ctx->ent = &srv->unmatched;
        return allow[0] ? 405 : 404;
}

const char *
http_req_param(const struct http_req *req, const char *name)
{
        const struct http_req_ctx *ctx = req->ctx;
        size_t len = strlen(name);

        for (size_t i = 0; i < ctx->nparams; i++)
                if (ctx->params[i].name_len == len &&
                    memcmp(ctx->params[i].name, name, len) == 0)
                        return ctx->params[i].value;
        return NULL;
}

const char *
http_req_query(const struct http_req *req, const char *name)
{
        return MHD_lookup_connection_value(req->ctx->conn,
                                           MHD_GET_ARGUMENT_KIND, name);
}

const char *
http_req_header(const struct http_req *req, const char *name)
{
        return MHD_lookup_connection_value(req->ctx->conn, MHD_HEADER_KIND,
                                           name);
}

const char *
http_req_peer(const struct http_req *req, char *out, size_t outsz)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
            req->ctx->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;
        const void *addr = NULL;

        if (sa != NULL && sa->sa_family == AF_INET)
                addr =
                    &((const struct sockaddr_in *)(const void *)sa)->sin_addr;
        else if (sa != NULL && sa->sa_family == AF_INET6)
                addr =
                    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (addr == NULL ||
            inet_ntop(sa->sa_family, addr, out, (socklen_t)outsz) == NULL)
                snprintf(out, outsz, "unknown");
        return out;
}

struct query_walk {
        http_query_fn fn;
        void *arg;
        size_t n;
};

static enum MHD_Result
query_one(void *cls, enum MHD_ValueKind kind, const char *key,
          const char *value)
{
        struct query_walk *w = cls;

        (void)kind;
        w->n++;
        return w->fn(w->arg, key, value) ? MHD_YES : MHD_NO;
}

size_t
http_req_query_each(const struct http_req *req, http_query_fn fn, void *arg)
{
        struct query_walk w = {fn, arg, 0};

        MHD_get_connection_values(req->ctx->conn, MHD_GET_ARGUMENT_KIND,
                                  query_one, &w);
        return w.n;
}

static bool
safe_token(const char *s)
{
        size_t n = 0;

        for (; s[n] != '\0'; n++) {
                char c = s[n];
                if (n >= HTTP_REQUEST_ID_MAX ||
                    !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
                      c == '.'))
                        return false;
        }
        return n > 0;
}

void
http_request_id(struct MHD_Connection *conn, char out[HTTP_REQUEST_ID_MAX + 1])
{
        const char *id =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Request-Id");

        if (id != NULL && safe_token(id)) {
                snprintf(out, HTTP_REQUEST_ID_MAX + 1, "%s", id);
                return;
        }
        uuid_v7(out);
}
