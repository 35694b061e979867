/*
 * gwload: a small closed-loop HTTP load generator. Keeps CONC requests in
 * flight, one on each of CONC kept-alive connections, for SECONDS and
 * prints one line of figures: requests, 2xx, requests per second (2xx
 * only) and latency percentiles of the 2xx answers.
 *
 *   gwload URL CONC SECONDS [BODY_FILE [HEADER ...]]
 *
 * With BODY_FILE each request is a POST of that file's bytes. One thread
 * drives every connection through epoll with the lean client of
 * tests/support/benchhttp.h: it shares the two cores with the servers it
 * measures, so it spends as little per request as it can.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "benchhttp.h"

#define MAX_SAMPLES (4 * 1024 * 1024)
#define MAX_HEADERS 16

struct conn {
        struct benchhttp_conn io;
        bool busy; /* a request is out */
        double t0;
};

static double *lat;
static size_t nlat;
static long total, good;

static double
now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return x < y ? -1 : x > y;
}

static char *
slurp(const char *path, long *len)
{
        FILE *f = fopen(path, "rb");
        char *b;

        if (f == NULL)
                return NULL;
        fseek(f, 0, SEEK_END);
        *len = ftell(f);
        rewind(f);
        b = malloc((size_t)*len + 1);
        if (b != NULL && fread(b, 1, (size_t)*len, f) != (size_t)*len) {
                free(b);
                b = NULL;
        }
        fclose(f);
        return b;
}

static void
conn_drop(int ep, struct conn *c)
{
        if (c->io.fd >= 0)
                epoll_ctl(ep, EPOLL_CTL_DEL, c->io.fd, NULL);
        benchhttp_conn_close(&c->io);
        c->busy = false;
}

/* send_one: (re)connects if need be and sends the request; false when the
 * server cannot be reached. The request is small: one write takes it. */
static bool
send_one(int ep, struct conn *c, const struct benchhttp_target *t)
{
        for (int a = 0; a < 2; a++) {
                if (c->io.fd < 0) {
                        struct epoll_event ev = {.events = EPOLLIN,
                                                 .data.ptr = c};
                        if ((c->io.fd = benchhttp_connect(t, true)) < 0)
                                return false;
                        epoll_ctl(ep, EPOLL_CTL_ADD, c->io.fd, &ev);
                }
                c->t0 = now();
                if (write(c->io.fd, t->req, t->reqlen) == (ssize_t)t->reqlen) {
                        c->busy = true;
                        return true;
                }
                conn_drop(ep, c);
        }
        return false;
}

/* on_readable: reads what came; true when an answer (or a failure) ended
 * the request in flight. */
static bool
on_readable(int ep, struct conn *c)
{
        long n, status = 0;
        bool close_after = false;

        for (;;) {
                ssize_t r = benchhttp_read(&c->io);

                if (r > 0) {
                        if (c->io.len < c->io.cap)
                                break; /* all there was */
                        continue;
                }
                if (r < 0 && (errno == EAGAIN || errno == EINTR))
                        break;
                total++;
                conn_drop(ep, c); /* closed or failed mid-answer */
                return true;
        }
        n = benchhttp_answer(c->io.buf, c->io.len, &status, &close_after);
        if (n == 0)
                return false;
        total++;
        if (n > 0 && status >= 200 && status < 300) {
                good++;
                if (nlat < MAX_SAMPLES)
                        lat[nlat++] = now() - c->t0;
        }
        if (n < 0 || close_after) {
                conn_drop(ep, c);
                return true;
        }
        benchhttp_consume(&c->io, (size_t)n);
        c->busy = false;
        return true;
}

int
main(int argc, char **argv)
{
        struct benchhttp_target t;
        struct epoll_event evs[256];
        struct conn *conns;
        const char *hdrs[MAX_HEADERS];
        char *body = NULL;
        long blen = 0;
        int conc, nh = 0, ep, busy = 0;
        double secs, start, end;

        if (argc < 4)
                return fprintf(stderr, "usage: gwload URL CONC SECONDS "
                                       "[BODY_FILE [HEADER...]]\n"),
                       2;
        conc = atoi(argv[2]);
        secs = atof(argv[3]);
        if (argc > 4 && argv[4][0] != '\0' &&
            (body = slurp(argv[4], &blen)) == NULL)
                return fprintf(stderr, "gwload: cannot read %s\n", argv[4]), 2;
        for (int i = 5; i < argc && nh < MAX_HEADERS; i++)
                hdrs[nh++] = argv[i];
        if (conc <= 0 ||
            benchhttp_target_init(&t, body != NULL ? "POST" : "GET", argv[1],
                                  hdrs, nh, body, (size_t)blen) < 0)
                return fprintf(stderr, "gwload: bad URL or CONC\n"), 2;
        lat = malloc(MAX_SAMPLES * sizeof(*lat));
        conns = calloc((size_t)conc, sizeof(*conns));
        ep = epoll_create1(EPOLL_CLOEXEC);
        if (lat == NULL || conns == NULL || ep < 0)
                return fprintf(stderr, "gwload: out of memory\n"), 2;
        start = now();
        end = start + secs;
        for (int i = 0; i < conc; i++) {
                conns[i].io.fd = -1;
                if (send_one(ep, &conns[i], &t))
                        busy++;
        }
        /* after the end, the requests out are waited for (30 s at most) */
        while (busy > 0 && now() < end + 30) {
                int n = epoll_wait(ep, evs, 256, 100);

                for (int i = 0; i < n; i++) {
                        struct conn *c = evs[i].data.ptr;

                        if (!c->busy) { /* an idle one the server closed */
                                conn_drop(ep, c);
                                continue;
                        }
                        if (!on_readable(ep, c))
                                continue;
                        busy--;
                        if (now() < end && send_one(ep, c, &t))
                                busy++;
                }
        }
        secs = now() - start;
        qsort(lat, nlat, sizeof(*lat), cmp);
        printf("requests=%ld ok=%ld rps=%.0f p50_ms=%.2f p99_ms=%.2f\n", total,
               good, (double)good / secs, nlat ? lat[nlat / 2] * 1000 : 0,
               nlat ? lat[(size_t)((double)nlat * 0.99)] * 1000 : 0);
        for (int i = 0; i < conc; i++)
                benchhttp_conn_fini(&conns[i].io);
        free(conns);
        close(ep);
        benchhttp_target_fini(&t);
        free(lat);
        free(body);
        return good > 0 ? 0 : 1;
}
