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
 * Each client is a blocking socket (tests/support/benchhttp.h): as lean
 * as pgbench, which it is set beside on the same two cores.
 *
 *   load [-c 8] [-d 10] [-n 0] [-w 1] [-l LABEL] [-H hdr]... [-k KEYFILE]
 *        URL [URL...]
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "benchhttp.h"
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
        struct benchhttp_target *targets; /* one per URL */
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

static void *
run(void *arg)
{
        struct client *c = arg;
        const struct opts *o = c->o;
        struct benchhttp_conn k = {.fd = -1};
        long status = 0, i = c->idx;

        while (more(o)) {
                bool m = atomic_load(&measuring);
                double t0 = now();
                long n = benchhttp_exchange(&k, &o->targets[i++ % o->nurls],
                                            &status, NULL);
                double ms = (now() - t0) * 1000.0;

                if (!m)
                        continue;
                if (n < 0 || status != 200)
                        c->errors++;
                if (record(c, ms) < 0)
                        break;
        }
        benchhttp_conn_fini(&k);
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
                if (benchhttp_target_init(&o.targets[u], "GET", o.urls[u],
                                          o.headers, o.nheaders, NULL, 0) < 0) {
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
                benchhttp_target_fini(&o.targets[u]);
        free(o.targets);
        free(cs);
        free(th);
        free(principal);
        return rc;
}
