/*
 * http_post: see http_post.h. One thread per connection, each a blocking
 * kept-alive socket (the lean client of tests/support/benchhttp.h, which
 * leaves the cores to what is measured); a shared counter hands out
 * referral indexes and a schedule paces them.
 */
#include "http_post.h"
#include "benchhttp.h"
#include "pace.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

struct run {
        const char *url, *service;
        long count, rate;
        double start;
        atomic_long next, accepted;
        double *sent_at;
        char (*refs)[HTTP_POST_REF_LEN];
};

/* post_one: referral i on connection c; fills refs[i] on a 202. */
static void
post_one(struct run *r, struct benchhttp_conn *c, long i)
{
        static const char *const hdrs[] = {"Content-Type: application/json"};
        struct benchhttp_target t;
        char body[512];
        const char *answer = NULL;
        long status = 0, n;
        int len;

        len =
            snprintf(body, sizeof(body),
                     "{\"service_id\":\"%s\",\"kind\":\"self\",\"person\":{"
                     "\"name\":\"Bench Person %ld\",\"phone\":\"07700 %06ld\","
                     "\"email\":\"bench-%ld@example.org\",\"postcode\":\"KT1 "
                     "1EU\"},\"consents\":{\"share_with_provider\":true}}",
                     r->service, i, 900000 + i % 100000, i);
        if (benchhttp_target_init(&t, "POST", r->url, hdrs, 1, body,
                                  (size_t)len) < 0)
                return;
        r->sent_at[i] = pace_now_ms();
        n = benchhttp_exchange(c, &t, &status, &answer);
        benchhttp_target_fini(&t);
        if (n < 0 || status != 202)
                return;
        json_t *j = json_loadb(answer, (size_t)(c->buf + n - answer), 0, NULL);
        const char *ref = json_string_value(json_object_get(j, "reference"));
        if (ref != NULL) {
                snprintf(r->refs[i], HTTP_POST_REF_LEN, "%s", ref);
                atomic_fetch_add(&r->accepted, 1);
        }
        json_decref(j);
}

static void *
worker(void *arg)
{
        struct run *r = arg;
        struct benchhttp_conn c = {.fd = -1};
        long i;

        while ((i = atomic_fetch_add(&r->next, 1)) < r->count) {
                pace_wait(r->start, i, r->rate);
                post_one(r, &c, i);
        }
        benchhttp_conn_fini(&c);
        return NULL;
}

long
http_post_all(const char *url, const char *service, long count, long rate,
              int conns, double *sent_at, char (*refs)[HTTP_POST_REF_LEN])
{
        struct run r = {.url = url,
                        .service = service,
                        .count = count,
                        .rate = rate,
                        .sent_at = sent_at,
                        .refs = refs};
        pthread_t *t = calloc((size_t)conns, sizeof(*t));
        int n = 0;

        r.start = pace_now_ms();
        for (int k = 0; t != NULL && k < conns; k++, n++)
                if (pthread_create(&t[k], NULL, worker, &r) != 0)
                        break;
        for (int k = 0; k < n; k++)
                pthread_join(t[k], NULL);
        free(t);
        return atomic_load(&r.accepted);
}
