/*
 * benchhttp: see benchhttp.h.
 */
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "benchhttp.h"

int
benchhttp_target_init(struct benchhttp_target *t, const char *method,
                      const char *url, const char *const *headers, int nheaders,
                      const char *body, size_t bodylen)
{
        const char *h = url, *path;
        size_t hl, cap, o;

        memset(t, 0, sizeof(*t));
        if (strncmp(h, "http://", 7) != 0)
                return -1;
        h += 7;
        path = h + strcspn(h, "/");
        hl = strcspn(h, ":/");
        if (hl == 0 || hl >= sizeof(t->host) || (size_t)(path - h) > 255)
                return -1;
        snprintf(t->host, sizeof(t->host), "%.*s", (int)hl, h);
        snprintf(t->port, sizeof(t->port), "%.*s",
                 h[hl] == ':' ? (int)(path - h - (long)hl - 1) : 2,
                 h[hl] == ':' ? h + hl + 1 : "80");
        cap = strlen(url) + strlen(method) + bodylen + 128;
        for (int k = 0; k < nheaders; k++)
                cap += strlen(headers[k]) + 2;
        if ((t->req = malloc(cap)) == NULL)
                return -1;
        o = (size_t)snprintf(t->req, cap, "%s %s HTTP/1.1\r\nHost: %.*s\r\n",
                             method, *path ? path : "/", (int)(path - h), h);
        for (int k = 0; k < nheaders; k++)
                o +=
                    (size_t)snprintf(t->req + o, cap - o, "%s\r\n", headers[k]);
        if (body != NULL)
                o += (size_t)snprintf(t->req + o, cap - o,
                                      "Content-Length: %zu\r\n", bodylen);
        o += (size_t)snprintf(t->req + o, cap - o, "\r\n");
        if (body != NULL) {
                memcpy(t->req + o, body, bodylen);
                o += bodylen;
        }
        t->reqlen = o;
        return 0;
}

void
benchhttp_target_fini(struct benchhttp_target *t)
{
        free(t->req);
        t->req = NULL;
}

int
benchhttp_connect(const struct benchhttp_target *t, bool nonblocking)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        struct timeval tmo = {30, 0};
        int one = 1, fd;

        if (getaddrinfo(t->host, t->port, &hints, &ai) != 0)
                return -1;
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                close(fd);
                fd = -1;
        }
        freeaddrinfo(ai);
        if (fd < 0)
                return -1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (nonblocking)
                fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        else
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
        return fd;
}

/* header: the value of header name in the block [h, end), or NULL. */
static const char *
header(const char *h, const char *end, const char *name)
{
        size_t n = strlen(name);

        for (h = memmem(h, (size_t)(end - h), "\r\n", 2); h != NULL;
             h = memmem(h + 2, (size_t)(end - h - 2), "\r\n", 2))
                if (end - h > (long)n + 3 && strncasecmp(h + 2, name, n) == 0 &&
                    h[2 + n] == ':')
                        return h + 3 + n + strspn(h + 3 + n, " ");
        return NULL;
}

/* chunked: the length of a whole chunked body at b, 0 if incomplete. */
static long
chunked(const char *b, size_t len)
{
        size_t pos = 0;

        for (;;) {
                const char *eol = memmem(b + pos, len - pos, "\r\n", 2);
                size_t size;

                if (eol == NULL)
                        return 0;
                size = strtoul(b + pos, NULL, 16);
                pos = (size_t)(eol - b) + 2;
                if (size > 0) {
                        if (pos + size + 2 > len)
                                return 0;
                        pos += size + 2;
                        continue;
                }
                /* trailer lines, then an empty one */
                while ((eol = memmem(b + pos, len - pos, "\r\n", 2)) != NULL) {
                        if (eol == b + pos)
                                return (long)pos + 2;
                        pos = (size_t)(eol - b) + 2;
                }
                return 0;
        }
}

long
benchhttp_answer(const char *buf, size_t len, long *status, bool *close)
{
        const char *end = memmem(buf, len, "\r\n\r\n", 4), *v;
        size_t hl;
        long body;

        if (end == NULL)
                return 0;
        hl = (size_t)(end - buf) + 4;
        if (sscanf(buf, "HTTP/1.%*d %ld", status) != 1)
                return -1;
        v = header(buf, end + 2, "Connection");
        *close = v != NULL && strncasecmp(v, "close", 5) == 0;
        if ((v = header(buf, end + 2, "Transfer-Encoding")) != NULL &&
            strncasecmp(v, "chunked", 7) == 0) {
                body = chunked(buf + hl, len - hl);
                return body > 0 ? (long)hl + body : 0;
        }
        if ((v = header(buf, end + 2, "Content-Length")) == NULL)
                return -1;
        body = strtol(v, NULL, 10);
        return len >= hl + (size_t)body ? (long)(hl + (size_t)body) : 0;
}

void
benchhttp_conn_close(struct benchhttp_conn *c)
{
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        c->len = c->used = 0;
}

void
benchhttp_conn_fini(struct benchhttp_conn *c)
{
        benchhttp_conn_close(c);
        free(c->buf);
        c->buf = NULL;
        c->cap = 0;
}

ssize_t
benchhttp_read(struct benchhttp_conn *c)
{
        ssize_t r;

        if (c->len == c->cap) {
                size_t cap = c->cap > 0 ? c->cap * 2 : 16384;
                char *b = realloc(c->buf, cap);
                if (b == NULL)
                        return -1;
                c->buf = b;
                c->cap = cap;
        }
        r = read(c->fd, c->buf + c->len, c->cap - c->len);
        if (r > 0)
                c->len += (size_t)r;
        return r;
}

void
benchhttp_consume(struct benchhttp_conn *c, size_t n)
{
        if (n == 0)
                return;
        memmove(c->buf, c->buf + n, c->len - n);
        c->len -= n;
}

/* once: one write and its answer on c's connection; -1 with *fresh_eof
 * true when the server had closed it before a byte of answer. */
static long
once(struct benchhttp_conn *c, const struct benchhttp_target *t, long *status,
     bool *fresh_eof)
{
        size_t off = 0;
        long n;
        bool close_after = false;

        *fresh_eof = false;
        while (off < t->reqlen) {
                ssize_t w = write(c->fd, t->req + off, t->reqlen - off);
                if (w <= 0) {
                        *fresh_eof = true;
                        return -1;
                }
                off += (size_t)w;
        }
        while ((n = benchhttp_answer(c->buf, c->len, status, &close_after)) ==
               0) {
                ssize_t r = benchhttp_read(c);

                if (r <= 0) {
                        *fresh_eof = r == 0 && c->len == 0;
                        return -1;
                }
        }
        if (n > 0 && close_after) {
                close(c->fd); /* the answer stays readable in buf */
                c->fd = -1;
        }
        return n;
}

long
benchhttp_exchange(struct benchhttp_conn *c, const struct benchhttp_target *t,
                   long *status, const char **body)
{
        long n = -1;
        bool fresh_eof = true;

        benchhttp_consume(c, c->used); /* the previous answer is done with */
        c->used = 0;
        for (int a = 0; a < 2 && n < 0 && fresh_eof; a++) {
                if (c->fd < 0) {
                        c->len = 0;
                        if ((c->fd = benchhttp_connect(t, false)) < 0)
                                return -1;
                }
                if ((n = once(c, t, status, &fresh_eof)) < 0)
                        benchhttp_conn_close(c);
        }
        if (n < 0)
                return -1;
        c->used = (size_t)n;
        if (body != NULL)
                *body =
                    (const char *)memmem(c->buf, (size_t)n, "\r\n\r\n", 4) + 4;
        return n;
}
