/*
 * http_post: see http_post.h. One thread per connection, each with its
 * own libcurl handle (kept alive); a shared counter hands out referral
 * indexes and a schedule paces them.
 */
#include "http_post.h"
#include "pace.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

struct run {
        const char *url, *service;
        long count, rate;
        double start;
        atomic_long next, accepted;
        double *sent_at;
        char (*refs)[HTTP_POST_REF_LEN];
};

struct answer {
        char buf[1024];
        size_t len;
};

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
        struct answer *a = arg;
        size_t k = size * n;

        if (k > sizeof(a->buf) - 1 - a->len)
                k = sizeof(a->buf) - 1 - a->len;
        memcpy(a->buf + a->len, p, k);
        a->len += k;
        a->buf[a->len] = '\0';
        return size * n;
}

/* post_one: referral i on handle h; fills refs[i] on a 202. */
static void
post_one(struct run *r, CURL *h, long i)
{
        char body[512];
        struct answer a = {.len = 0};
        long status = 0;

        snprintf(body, sizeof(body),
                 "{\"service_id\":\"%s\",\"kind\":\"self\",\"person\":{"
                 "\"name\":\"Bench Person %ld\",\"phone\":\"07700 %06ld\","
                 "\"email\":\"bench-%ld@example.org\",\"postcode\":\"KT1 "
                 "1EU\"},\"consents\":{\"share_with_provider\":true}}",
                 r->service, i, 900000 + i % 100000, i);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &a);
        r->sent_at[i] = pace_now_ms();
        if (curl_easy_perform(h) != CURLE_OK)
                return;
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
        if (status != 202)
                return;
        json_t *j = json_loads(a.buf, 0, NULL);
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
        CURL *h = curl_easy_init();
        struct curl_slist *hdrs =
            curl_slist_append(NULL, "Content-Type: application/json");
        long i;

        curl_easy_setopt(h, CURLOPT_URL, r->url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 30000L);
        while ((i = atomic_fetch_add(&r->next, 1)) < r->count) {
                pace_wait(r->start, i, r->rate);
                post_one(r, h, i);
        }
        curl_slist_free_all(hdrs);
        curl_easy_cleanup(h);
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

        curl_global_init(CURL_GLOBAL_DEFAULT);
        r.start = pace_now_ms();
        for (int k = 0; t != NULL && k < conns; k++, n++)
                if (pthread_create(&t[k], NULL, worker, &r) != 0)
                        break;
        for (int k = 0; k < n; k++)
                pthread_join(t[k], NULL);
        free(t);
        curl_global_cleanup();
        return atomic_load(&r.accepted);
}
