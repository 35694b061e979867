/*
 * mhd: the two things the gateway needs from libmicrohttpd that lib/http
 * does not expose: the client's address (per-IP limits) and the whole
 * query string (forwarded unchanged). The only gateway file that looks
 * inside lib/http's request state; lib/http could grow
 * http_req_peer() / http_req_query_each() to replace it.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"
#include "http_int.h"

void
gw_peer_ip(const struct http_req *req, char *out, size_t outsz)
{
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
            req->ctx->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;

        snprintf(out, outsz, "unknown");
        if (sa == NULL)
                return;
        if (sa->sa_family == AF_INET)
                inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
                          out, (socklen_t)outsz);
        else if (sa->sa_family == AF_INET6)
                inet_ntop(AF_INET6,
                          &((const struct sockaddr_in6 *)sa)->sin6_addr, out,
                          (socklen_t)outsz);
}

struct qs {
        char *buf;
        size_t len, cap;
        bool oom;
};

static void
qs_add(struct qs *q, const char *s)
{
        size_t n = strlen(s);

        if (q->oom)
                return;
        if (q->len + n + 1 > q->cap) {
                size_t cap = (q->len + n + 1) * 2;
                char *b = realloc(q->buf, cap);
                if (b == NULL) {
                        q->oom = true;
                        return;
                }
                q->buf = b;
                q->cap = cap;
        }
        memcpy(q->buf + q->len, s, n + 1);
        q->len += n;
}

static enum MHD_Result
each(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
        struct qs *q = cls;
        char *k = curl_easy_escape(NULL, key, 0);
        char *v = value ? curl_easy_escape(NULL, value, 0) : NULL;

        (void)kind;
        if (k == NULL || (value != NULL && v == NULL))
                q->oom = true;
        if (q->len > 0)
                qs_add(q, "&");
        if (k != NULL)
                qs_add(q, k);
        if (v != NULL) {
                qs_add(q, "=");
                qs_add(q, v);
        }
        curl_free(k);
        curl_free(v);
        return MHD_YES;
}

char *
gw_query_string(const struct http_req *req)
{
        struct qs q = {0};

        qs_add(&q, "");
        MHD_get_connection_values(req->ctx->conn, MHD_GET_ARGUMENT_KIND, each,
                                  &q);
        if (q.oom) {
                free(q.buf);
                return NULL;
        }
        return q.buf;
}
