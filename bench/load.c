/*
 * bench/load: an HTTP load generator for the daemons' read paths.
 *
 * C client threads, each with one kept-alive HTTP/1.1 connection, send GET
 * requests round-robin over the URLs given (http://host:port/path) for a
 * fixed duration (-d) or request count (-n), and record each request's
 * latency. Prints one line:
 *
 *   LABEL requests=N errors=E req_per_s=R p50_ms=X p99_ms=Y
 *
 * A request is an error unless it answers 200. Headers: -H "Name: value"
 * (repeatable); -k KEYFILE adds an X-Signpost-Principal for a public
 * principal signed with that key (lib/http.h http_principal_sign), as the
 * gateway does.
 *
 * The client is a blocking socket that writes a prepared request and
 * reads the answer (Content-Length or chunked): two or three system
 * calls a request, as lean as pgbench's, which it is set beside on the
 * same two cores. libcurl's easy interface spent about as much CPU per
 * request as the directory did, and took it from the server measured.
 *
 *   load [-c 8] [-d 10] [-n 0] [-w 1] [-l LABEL] [-H hdr]... [-k KEYFILE]
 *        URL [URL...]
 */
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "secret.h"

#define MAX_HEADERS 8

struct opts {
        int clients;
        double seconds;
        long requests; /* 0: run for `seconds` */
        double warmup;
        const char *label;
        const char *headers[MAX_HEADERS + 1];
        int nheaders;
        char **urls;
        int nurls;
        struct target *targets; /* one per URL */
};

/* target: a URL as a prepared request. */
struct target {
        char host[256], port[16];
        char *req;
        size_t reqlen;
};

/* conn: one kept-alive connection and what it has read but not used. */
struct conn {
        int fd;
        size_t len;
        char buf[65536];
};

struct client {
        const struct opts *o;
        int idx;
        double *lat; /* ms */
        size_t n, cap;
        long errors;
};

static atomic_long issued;
static atomic_bool measuring;
static double t_end;

static double
now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
record(struct client *c, double ms)
{
        if (c->n == c->cap) {
                size_t cap = c->cap ? c->cap * 2 : 4096;
                double *lat = realloc(c->lat, cap * sizeof(*lat));
                if (lat == NULL)
                        return -1;
                c->lat = lat;
                c->cap = cap;
        }
        c->lat[c->n++] = ms;
        return 0;
}

/* more: true while this client should send another request. */
static bool
more(const struct opts *o)
{
        if (!atomic_load(&measuring))
                return true; /* warming up */
        if (o->requests > 0)
                return atomic_fetch_add(&issued, 1) < o->requests;
        return now() < t_end;
}

/* target_init: parses http://host[:port]/path and prepares its GET. */
static int
target_init(struct target *t, const char *url, const struct opts *o)
{
        const char *h = url, *path;
        size_t hl, cap;
        int k;

        if (strncmp(h, "http://", 7) != 0)
                return -1;
        h += 7;
        path = h + strcspn(h, "/");
        hl = strcspn(h, ":/");
        if (hl == 0 || hl >= sizeof(t->host))
                return -1;
        snprintf(t->host, sizeof(t->host), "%.*s", (int)hl, h);
        if (h[hl] == ':')
                snprintf(t->port, sizeof(t->port), "%.*s",
                         (int)(path - h - (long)hl - 1), h + hl + 1);
        else
                snprintf(t->port, sizeof(t->port), "80");
        cap = strlen(url) + 64;
        for (k = 0; k < o->nheaders; k++)
                cap += strlen(o->headers[k]) + 2;
        if ((t->req = malloc(cap)) == NULL)
                return -1;
        t->reqlen =
            (size_t)snprintf(t->req, cap, "GET %s HTTP/1.1\r\nHost: %.*s\r\n",
                             *path ? path : "/", (int)(path - h), h);
        for (k = 0; k < o->nheaders; k++)
                t->reqlen +=
                    (size_t)snprintf(t->req + t->reqlen, cap - t->reqlen,
                                     "%s\r\n", o->headers[k]);
        t->reqlen +=
            (size_t)snprintf(t->req + t->reqlen, cap - t->reqlen, "\r\n");
        return 0;
}

static void
conn_close(struct conn *c)
{
        if (c->fd >= 0)
                close(c->fd);
        c->fd = -1;
        c->len = 0;
}

static int
conn_open(struct conn *c, const struct target *t)
{
        struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *ai = NULL;
        struct timeval tmo = {30, 0};
        int one = 1;

        conn_close(c);
        if (getaddrinfo(t->host, t->port, &hints, &ai) != 0)
                return -1;
        c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (c->fd < 0 || connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0) {
                freeaddrinfo(ai);
                conn_close(c);
                return -1;
        }
        freeaddrinfo(ai);
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof(tmo));
        return 0;
}

/* fill: reads what has arrived after the buffered bytes. */
static int
fill(struct conn *c)
{
        ssize_t n;

        if (c->len == sizeof(c->buf))
                return -1;
        n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
        if (n <= 0)
                return -1;
        c->len += (size_t)n;
        return 0;
}

static void
drop(struct conn *c, size_t n)
{
        memmove(c->buf, c->buf + n, c->len - n);
        c->len -= n;
}

/* skip: reads past n bytes of body. */
static int
skip(struct conn *c, size_t n)
{
        while (n > 0) {
                size_t take;

                if (c->len == 0 && fill(c) < 0)
                        return -1;
                take = n < c->len ? n : c->len;
                drop(c, take);
                n -= take;
        }
        return 0;
}

/* line: the length of the buffered line (with its CRLF), reading more as
 * needed. */
static long
line(struct conn *c)
{
        char *e;

        while ((e = memmem(c->buf, c->len, "\r\n", 2)) == NULL)
                if (fill(c) < 0)
                        return -1;
        return e - c->buf + 2;
}

/* header: the value of header name in the header block h, or NULL. */
static const char *
header(const char *h, const char *name)
{
        size_t n = strlen(name);

        for (h = strstr(h, "\r\n"); h != NULL; h = strstr(h + 2, "\r\n"))
                if (strncasecmp(h + 2, name, n) == 0 && h[2 + n] == ':')
                        return h + 3 + n + strspn(h + 3 + n, " ");
        return NULL;
}

/* get: one request and its whole answer; *status is its code. Returns -1
 * when the connection failed (it is closed). */
static int
get(struct conn *c, const struct target *t, long *status)
{
        char *end, hdr[8192];
        const char *v;
        size_t hl, off = 0;

        while (off < t->reqlen) {
                ssize_t n = write(c->fd, t->req + off, t->reqlen - off);
                if (n <= 0)
                        return -1;
                off += (size_t)n;
        }
        while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
                if (fill(c) < 0)
                        return -1;
        hl = (size_t)(end - c->buf) + 4;
        if (hl >= sizeof(hdr) || sscanf(c->buf, "HTTP/1.%*d %ld", status) != 1)
                return -1;
        memcpy(hdr, c->buf, hl);
        hdr[hl] = '\0';
        drop(c, hl);
        if ((v = header(hdr, "Transfer-Encoding")) != NULL &&
            strncasecmp(v, "chunked", 7) == 0) {
                for (;;) {
                        long l = line(c);
                        size_t size;

                        if (l < 0)
                                return -1;
                        size = strtoul(c->buf, NULL, 16);
                        drop(c, (size_t)l);
                        if (size == 0)
                                break;
                        if (skip(c, size + 2) < 0)
                                return -1;
                }
                for (long l; (l = line(c)) != 2; drop(c, (size_t)l))
                        if (l < 0)
                                return -1;
                drop(c, 2);
        } else if ((v = header(hdr, "Content-Length")) != NULL) {
                if (skip(c, strtoul(v, NULL, 10)) < 0)
                        return -1;
        } else
                return -1; /* read to the end: not a kept-alive answer */
        if ((v = header(hdr, "Connection")) != NULL &&
            strncasecmp(v, "close", 5) == 0)
                conn_close(c);
        return 0;
}

static void *
run(void *arg)
{
        struct client *c = arg;
        const struct opts *o = c->o;
        struct conn *k = malloc(sizeof(*k));
        long status = 0, i = c->idx;

        if (k == NULL)
                return NULL;
        k->fd = -1;
        k->len = 0;
        while (more(o)) {
                bool m = atomic_load(&measuring);
                const struct target *t = &o->targets[i++ % o->nurls];
                double t0 = now();
                int rc = -1;

                /* a kept-alive connection the server has closed gets one
                 * more try on a new one */
                for (int a = 0; a < 2 && rc < 0; a++) {
                        if (k->fd < 0 && conn_open(k, t) < 0)
                                break;
                        if ((rc = get(k, t, &status)) < 0)
                                conn_close(k);
                }
                double ms = (now() - t0) * 1000.0;

                if (!m)
                        continue;
                if (rc < 0 || status != 200)
                        c->errors++;
                if (record(c, ms) < 0)
                        break;
        }
        conn_close(k);
        free(k);
        return NULL;
}

static int
cmp_double(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* principal_header: returns new "X-Signpost-Principal: ..." or NULL. */
static char *
principal_header(const char *keyfile)
{
        struct http_principal p = {.role = HTTP_ROLE_PUBLIC};
        struct secret_key *key = NULL;
        struct err e = {0};
        char *v = NULL, *out = NULL;

        snprintf(p.sub, sizeof(p.sub), "bench-load");
        p.exp = (int64_t)time(NULL) + 3600;
        if (secret_key_load(keyfile, HTTP_PRINCIPAL_KEY_BYTES, NULL, &key, &e) <
            0) {
                fprintf(stderr, "load: %s: %s\n", keyfile, e.msg);
                return NULL;
        }
        if (http_principal_sign(key->bytes, &p, &v) == 0 &&
            asprintf(&out, "%s: %s", HTTP_PRINCIPAL_HEADER, v) < 0)
                out = NULL;
        free(v);
        secret_key_free(key);
        return out;
}

static int
opts_parse(int argc, char **argv, struct opts *o, char **principal)
{
        int ch;

        *o = (struct opts){
            .clients = 8, .seconds = 10, .warmup = 1, .label = "load"};
        while ((ch = getopt(argc, argv, "c:d:n:w:l:H:k:")) != -1) {
                switch (ch) {
                case 'c':
                        o->clients = atoi(optarg);
                        break;
                case 'd':
                        o->seconds = atof(optarg);
                        break;
                case 'n':
                        o->requests = atol(optarg);
                        break;
                case 'w':
                        o->warmup = atof(optarg);
                        break;
                case 'l':
                        o->label = optarg;
                        break;
                case 'H':
                        if (o->nheaders == MAX_HEADERS)
                                return -1;
                        o->headers[o->nheaders++] = optarg;
                        break;
                case 'k':
                        *principal = principal_header(optarg);
                        if (*principal == NULL || o->nheaders == MAX_HEADERS)
                                return -1;
                        o->headers[o->nheaders++] = *principal;
                        break;
                default:
                        return -1;
                }
        }
        o->urls = argv + optind;
        o->nurls = argc - optind;
        return o->nurls > 0 && o->clients > 0 && o->clients <= 256 ? 0 : -1;
}

static void
report(const struct opts *o, struct client *cs, double secs)
{
        size_t total = 0, k = 0;
        long errors = 0;
        double *all;

        for (int i = 0; i < o->clients; i++) {
                total += cs[i].n;
                errors += cs[i].errors;
        }
        all = malloc((total + 1) * sizeof(*all));
        if (all == NULL)
                return;
        for (int i = 0; i < o->clients; i++)
                for (size_t j = 0; j < cs[i].n; j++)
                        all[k++] = cs[i].lat[j];
        qsort(all, total, sizeof(*all), cmp_double);
        printf("%s requests=%zu errors=%ld req_per_s=%.0f p50_ms=%.2f "
               "p99_ms=%.2f\n",
               o->label, total, errors, secs > 0 ? (double)total / secs : 0,
               total ? all[(total - 1) / 2] : 0,
               total ? all[(size_t)((double)(total - 1) * 0.99)] : 0);
        free(all);
}

int
main(int argc, char **argv)
{
        struct opts o;
        struct client *cs = NULL;
        pthread_t *th = NULL;
        char *principal = NULL;
        double t0;
        int rc = 1, started = 0;

        if (opts_parse(argc, argv, &o, &principal) < 0) {
                fprintf(stderr,
                        "usage: load [-c clients] [-d seconds] [-n requests]"
                        " [-w warmup_s] [-l label] [-H 'Name: value']..."
                        " [-k principal_key_file] URL...\n");
                goto out;
        }
        o.targets = calloc((size_t)o.nurls, sizeof(*o.targets));
        for (int u = 0; o.targets != NULL && u < o.nurls; u++)
                if (target_init(&o.targets[u], o.urls[u], &o) < 0) {
                        fprintf(stderr, "load: %s: not http://host:port/path\n",
                                o.urls[u]);
                        goto out;
                }
        cs = calloc((size_t)o.clients, sizeof(*cs));
        th = calloc((size_t)o.clients, sizeof(*th));
        if (o.targets == NULL || cs == NULL || th == NULL)
                goto out;
        atomic_store(&measuring, o.warmup <= 0);
        for (; started < o.clients; started++) {
                cs[started] = (struct client){.o = &o, .idx = started};
                if (pthread_create(&th[started], NULL, run, &cs[started]) != 0)
                        break;
        }
        if (o.warmup > 0)
                usleep((useconds_t)(o.warmup * 1e6));
        t0 = now();
        t_end = t0 + o.seconds;
        atomic_store(&measuring, true);
        for (int i = 0; i < started; i++)
                pthread_join(th[i], NULL);
        report(&o, cs, now() - t0);
        rc = started == o.clients ? 0 : 1;
out:
        for (int i = 0; cs != NULL && i < o.clients; i++)
                free(cs[i].lat);
        for (int u = 0; o.targets != NULL && u < o.nurls; u++)
                free(o.targets[u].req);
        free(o.targets);
        free(cs);
        free(th);
        free(principal);
        return rc;
}
