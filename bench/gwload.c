/*
 * gwload: a small closed-loop HTTP load generator (libcurl multi). Keeps
 * CONC requests in flight over kept-alive connections for SECONDS and
 * prints one line of figures: requests, 2xx, requests per second (2xx
 * only) and latency percentiles of the 2xx answers.
 *
 *   gwload URL CONC SECONDS [BODY_FILE [HEADER ...]]
 *
 * With BODY_FILE each request is a POST of that file's bytes.
 */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_SAMPLES (4 * 1024 * 1024)

struct slot {
        CURL *h;
        double t0;
};

static double *lat;
static size_t nlat;

static double
now(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
        (void)p, (void)arg;
        return sz * n;
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

int
main(int argc, char **argv)
{
        struct curl_slist *hdrs = NULL;
        struct slot *slots;
        char *body = NULL;
        long blen = 0, total = 0, good = 0;
        int conc, running = 0, q;
        double secs, start, end;
        CURLM *m;

        if (argc < 4)
                return fprintf(stderr, "usage: gwload URL CONC SECONDS "
                                       "[BODY_FILE [HEADER...]]\n"),
                       2;
        conc = atoi(argv[2]);
        secs = atof(argv[3]);
        if (argc > 4 && argv[4][0] != '\0' &&
            (body = slurp(argv[4], &blen)) == NULL)
                return fprintf(stderr, "gwload: cannot read %s\n", argv[4]), 2;
        for (int i = 5; i < argc; i++)
                hdrs = curl_slist_append(hdrs, argv[i]);
        curl_global_init(CURL_GLOBAL_DEFAULT);
        lat = malloc(MAX_SAMPLES * sizeof(*lat));
        slots = calloc((size_t)conc, sizeof(*slots));
        m = curl_multi_init();
        start = now();
        end = start + secs;
        for (int i = 0; i < conc; i++) {
                CURL *h = curl_easy_init();
                curl_easy_setopt(h, CURLOPT_URL, argv[1]);
                curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
                curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
                curl_easy_setopt(h, CURLOPT_PRIVATE, &slots[i]);
                if (body != NULL) {
                        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
                        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, blen);
                }
                slots[i].h = h;
                slots[i].t0 = now();
                curl_multi_add_handle(m, h);
        }
        do {
                CURLMsg *msg;

                curl_multi_perform(m, &running);
                while ((msg = curl_multi_info_read(m, &q)) != NULL) {
                        struct slot *s;
                        long code = 0;
                        double t = now();

                        if (msg->msg != CURLMSG_DONE)
                                continue;
                        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
                                          (char **)&s);
                        curl_easy_getinfo(msg->easy_handle,
                                          CURLINFO_RESPONSE_CODE, &code);
                        total++;
                        if (code >= 200 && code < 300) {
                                good++;
                                if (nlat < MAX_SAMPLES)
                                        lat[nlat++] = t - s->t0;
                        }
                        curl_multi_remove_handle(m, s->h);
                        if (t < end) {
                                s->t0 = t;
                                curl_multi_add_handle(m, s->h);
                        }
                }
                if (running > 0)
                        curl_multi_poll(m, NULL, 0, 50, NULL);
        } while (running > 0 || now() < end - 0.001);
        secs = now() - start;
        qsort(lat, nlat, sizeof(*lat), cmp);
        printf("requests=%ld ok=%ld rps=%.0f p50_ms=%.2f p99_ms=%.2f\n", total,
               good, (double)good / secs, nlat ? lat[nlat / 2] * 1000 : 0,
               nlat ? lat[(size_t)((double)nlat * 0.99)] * 1000 : 0);
        for (int i = 0; i < conc; i++)
                curl_easy_cleanup(slots[i].h);
        curl_multi_cleanup(m);
        curl_slist_free_all(hdrs);
        free(slots);
        free(lat);
        free(body);
        return good > 0 ? 0 : 1;
}
