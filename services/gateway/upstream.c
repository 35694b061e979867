/*
 * upstream: the gateway's forwarded reads, all on one thread running a
 * libcurl multi loop. A handler defers its answer and queues the GET
 * here; the loop drives every transfer at once (one poll for all of them,
 * connections to each daemon kept alive in the multi handle's cache,
 * finished easy handles kept for the next transfers) and calls the job's
 * function when its answer is in. Owns the thread, the multi handle and the
 * queue; not what a job's function does.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "gateway.h"

struct job {
        char *url;
        struct curl_slist *hdrs;
        struct gw_reply r;
        gw_upstream_fn fn;
        void *arg;
        struct job *next;
};

struct gw_upstream {
        CURLM *multi;
        pthread_t thread;
        pthread_mutex_t mu;
        struct job *head, *tail; /* queued, not yet added */
        atomic_bool stop;
        atomic_bool woken; /* a wake-up is on its way to the loop */
        CURL *spare[64];   /* finished easy handles, for the next transfers */
        int nspare;
};

static size_t
sink(char *p, size_t sz, size_t n, void *arg)
{
        struct gw_reply *r = arg;
        size_t add = sz * n;
        char *b;

        if (r->len + add > GW_MAX_REPLY)
                return 0;
        b = realloc(r->body, r->len + add + 1);
        if (b == NULL)
                return 0;
        memcpy(b + r->len, p, add);
        r->body = b;
        r->len += add;
        r->body[r->len] = '\0';
        return add;
}

void
gw_upstream_setopt(void *h, const char *url, struct curl_slist *hdrs,
                   struct gw_reply *r)
{
        curl_easy_setopt(h, CURLOPT_URL, url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 15000L);
        curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
}

void
gw_upstream_answered(void *h, struct gw_reply *r)
{
        char *ct = NULL;

        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
            ct != NULL)
                snprintf(r->content_type, sizeof(r->content_type), "%s", ct);
}

/* finish: hands the job's answer (rc 0) or failure (-1) to its function
 * and frees the job. */
static void
finish(struct job *j, int rc)
{
        if (rc < 0)
                gw_reply_fini(&j->r);
        j->fn(j->arg, rc, &j->r);
        curl_slist_free_all(j->hdrs);
        free(j->url);
        free(j);
}

/* handle_take: a spare easy handle, reset, or a new one; on the loop. */
static CURL *
handle_take(struct gw_upstream *u)
{
        CURL *h;

        if (u->nspare == 0)
                return curl_easy_init();
        h = u->spare[--u->nspare];
        curl_easy_reset(h);
        return h;
}

/* handle_give: keeps h for a later transfer (its buffers are made once). */
static void
handle_give(struct gw_upstream *u, CURL *h)
{
        if (u->nspare == (int)(sizeof(u->spare) / sizeof(u->spare[0])))
                curl_easy_cleanup(h);
        else
                u->spare[u->nspare++] = h;
}

static void
start(struct gw_upstream *u, struct job *j)
{
        CURL *h = handle_take(u);

        if (h == NULL) {
                finish(j, -1);
                return;
        }
        gw_upstream_setopt(h, j->url, j->hdrs, &j->r);
        curl_easy_setopt(h, CURLOPT_PRIVATE, j);
        if (curl_multi_add_handle(u->multi, h) != CURLM_OK) {
                handle_give(u, h);
                finish(j, -1);
        }
}

/* reap: every finished transfer to its job. */
static void
reap(struct gw_upstream *u)
{
        CURLMsg *m;
        int left;

        while ((m = curl_multi_info_read(u->multi, &left)) != NULL) {
                struct job *j = NULL;
                CURL *h = m->easy_handle;
                CURLcode result;

                if (m->msg != CURLMSG_DONE)
                        continue;
                result = m->data.result; /* m goes with the handle */
                curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&j);
                if (result == CURLE_OK)
                        gw_upstream_answered(h, &j->r);
                curl_multi_remove_handle(u->multi, h);
                handle_give(u, h);
                finish(j, result == CURLE_OK ? 0 : -1);
        }
}

/* queued: true while jobs wait to be started. */
static bool
queued(struct gw_upstream *u)
{
        bool any;

        pthread_mutex_lock(&u->mu);
        any = u->head != NULL;
        pthread_mutex_unlock(&u->mu);
        return any;
}

/* take: the queued jobs (the caller starts them). */
static struct job *
take(struct gw_upstream *u)
{
        struct job *j;

        pthread_mutex_lock(&u->mu);
        j = u->head;
        u->head = u->tail = NULL;
        pthread_mutex_unlock(&u->mu);
        return j;
}

static void *
loop(void *arg)
{
        struct gw_upstream *u = arg;
        int running = 0;

        while (!atomic_load(&u->stop) || running > 0 || queued(u)) {
                /* cleared before the queue is read: a job queued after
                 * this wakes the next poll */
                atomic_store(&u->woken, false);
                for (struct job *j = take(u), *next; j != NULL; j = next) {
                        next = j->next;
                        start(u, j);
                }
                curl_multi_perform(u->multi, &running);
                reap(u);
                if (!atomic_load(&u->stop) || running > 0)
                        curl_multi_poll(u->multi, NULL, 0, 1000, NULL);
        }
        return NULL;
}

struct gw_upstream *
gw_upstream_new(void)
{
        struct gw_upstream *u = calloc(1, sizeof(*u));

        if (u == NULL || (u->multi = curl_multi_init()) == NULL) {
                free(u);
                return NULL;
        }
        curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, 256L);
        pthread_mutex_init(&u->mu, NULL);
        if (pthread_create(&u->thread, NULL, loop, u) != 0) {
                curl_multi_cleanup(u->multi);
                pthread_mutex_destroy(&u->mu);
                free(u);
                return NULL;
        }
        return u;
}

void
gw_upstream_free(struct gw_upstream *u)
{
        if (u == NULL)
                return;
        atomic_store(&u->stop, true); /* what is queued still runs */
        curl_multi_wakeup(u->multi);
        pthread_join(u->thread, NULL);
        while (u->nspare > 0)
                curl_easy_cleanup(u->spare[--u->nspare]);
        curl_multi_cleanup(u->multi);
        pthread_mutex_destroy(&u->mu);
        free(u);
}

int
gw_upstream_get(struct gw_upstream *u, char *url, struct curl_slist *hdrs,
                gw_upstream_fn fn, void *arg)
{
        struct job *j = calloc(1, sizeof(*j));

        if (j == NULL || atomic_load(&u->stop)) {
                free(j);
                free(url);
                curl_slist_free_all(hdrs);
                return -1;
        }
        *j = (struct job){.url = url, .hdrs = hdrs, .fn = fn, .arg = arg};
        pthread_mutex_lock(&u->mu);
        if (u->tail != NULL)
                u->tail->next = j;
        else
                u->head = j;
        u->tail = j;
        pthread_mutex_unlock(&u->mu);
        /* one wake-up per poll, however many jobs arrive meanwhile */
        if (!atomic_exchange(&u->woken, true))
                curl_multi_wakeup(u->multi);
        return 0;
}
