/*
 * upstream: the gateway's forwarded reads, all on one thread running a
 * libcurl multi loop. A handler defers its answer and queues the GET
 * here; the loop drives every transfer at once and calls the job's
 * function when its answer is in. It uses libcurl's socket interface over
 * an epoll set, so each wake-up costs work only for the sockets that are
 * ready (curl_multi_poll would poll every kept-alive connection each time,
 * and libcurl would poll each transfer's socket again itself).
 * Connections to each daemon stay alive in the multi handle's cache and
 * finished easy handles are kept for the next transfers. Owns the thread,
 * the multi handle, the epoll set and the queue; not what a job's function
 * does.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "audit.h"
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
        int ep;            /* epoll: curl's sockets and wake */
        int wake;          /* eventfd: jobs queued, or stop */
        int64_t due_ms;    /* when curl wants its timer run; -1 never */
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
        struct curl_header *a = NULL;
        char *ct = NULL;

        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
        if (curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
            ct != NULL)
                snprintf(r->content_type, sizeof(r->content_type), "%s", ct);
        /* out of memory leaves it NULL: an audited answer is then refused */
        free(r->audit_records);
        r->audit_records = NULL;
        if (curl_easy_header(h, AUDIT_RECORDS_HEADER, 0, CURLH_HEADER, -1,
                             &a) == CURLHE_OK &&
            a != NULL && a->value != NULL)
                r->audit_records = strdup(a->value);
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

static int64_t
now_ms(void)
{
        struct timespec t;

        clock_gettime(CLOCK_MONOTONIC, &t);
        return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* on_socket: curl says which of its sockets to watch, and for what. A
 * socket curl stops watching stays in the set disarmed (one-shot, no
 * events: a hang-up is reported once, and curl ignores it), so the next
 * transfer on that kept-alive connection re-arms it with one call. */
static int
on_socket(CURL *h, curl_socket_t fd, int what, void *arg, void *sockp)
{
        struct gw_upstream *u = arg;
        struct epoll_event ev = {.data.fd = fd};

        (void)h;
        (void)sockp;
        if (what == CURL_POLL_REMOVE)
                ev.events = EPOLLONESHOT;
        else
                ev.events = ((what & CURL_POLL_IN) ? EPOLLIN : 0u) |
                            ((what & CURL_POLL_OUT) ? EPOLLOUT : 0u);
        if (epoll_ctl(u->ep, EPOLL_CTL_MOD, fd, &ev) < 0 && errno == ENOENT &&
            what != CURL_POLL_REMOVE)
                epoll_ctl(u->ep, EPOLL_CTL_ADD, fd, &ev);
        return 0;
}

/* on_timer: curl's one timer; -1 stops it. */
static int
on_timer(CURLM *m, long ms, void *arg)
{
        struct gw_upstream *u = arg;

        (void)m;
        u->due_ms = ms < 0 ? -1 : now_ms() + ms;
        return 0;
}

/* wait_ms: how long the loop may sleep (at most 1 s). */
static int
wait_ms(const struct gw_upstream *u)
{
        int64_t left;

        if (u->due_ms < 0)
                return 1000;
        left = u->due_ms - now_ms();
        return left <= 0 ? 0 : left > 1000 ? 1000 : (int)left;
}

static void *
loop(void *arg)
{
        struct gw_upstream *u = arg;
        struct epoll_event evs[64];
        int running = 0, n;

        while (!atomic_load(&u->stop) || running > 0 || queued(u)) {
                /* cleared before the queue is read: a job queued after
                 * this wakes the next wait */
                atomic_store(&u->woken, false);
                for (struct job *j = take(u), *next; j != NULL; j = next) {
                        next = j->next;
                        start(u, j);
                }
                if (u->due_ms >= 0 && u->due_ms <= now_ms())
                        curl_multi_socket_action(u->multi, CURL_SOCKET_TIMEOUT,
                                                 0, &running);
                reap(u);
                if (atomic_load(&u->stop) && running == 0 && !queued(u))
                        break;
                n = epoll_wait(u->ep, evs, 64, wait_ms(u));
                for (int i = 0; i < n; i++) {
                        uint32_t got = evs[i].events;
                        int mask = 0;

                        if (evs[i].data.fd == u->wake) {
                                uint64_t v;
                                /* EAGAIN: another wait already drained it */
                                if (read(u->wake, &v, sizeof(v)) < 0)
                                        v = 0;
                                continue;
                        }
                        if (got & EPOLLIN)
                                mask |= CURL_CSELECT_IN;
                        if (got & EPOLLOUT)
                                mask |= CURL_CSELECT_OUT;
                        if (got & (EPOLLERR | EPOLLHUP))
                                mask |= CURL_CSELECT_ERR;
                        curl_multi_socket_action(u->multi, evs[i].data.fd, mask,
                                                 &running);
                }
                reap(u);
        }
        return NULL;
}

/* wake: rouses the loop's wait. */
static void
wake(struct gw_upstream *u)
{
        uint64_t one = 1;

        if (write(u->wake, &one, sizeof(one)) < 0) {
                /* the counter is full: the loop is being woken anyway */
        }
}

struct gw_upstream *
gw_upstream_new(void)
{
        struct gw_upstream *u = calloc(1, sizeof(*u));
        struct epoll_event ev = {.events = EPOLLIN};

        if (u == NULL)
                return NULL;
        u->due_ms = -1;
        u->ep = epoll_create1(EPOLL_CLOEXEC);
        u->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        ev.data.fd = u->wake;
        if (u->ep < 0 || u->wake < 0 ||
            epoll_ctl(u->ep, EPOLL_CTL_ADD, u->wake, &ev) < 0 ||
            (u->multi = curl_multi_init()) == NULL)
                goto fail;
        curl_multi_setopt(u->multi, CURLMOPT_MAXCONNECTS, 256L);
        curl_multi_setopt(u->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
        curl_multi_setopt(u->multi, CURLMOPT_SOCKETDATA, u);
        curl_multi_setopt(u->multi, CURLMOPT_TIMERFUNCTION, on_timer);
        curl_multi_setopt(u->multi, CURLMOPT_TIMERDATA, u);
        pthread_mutex_init(&u->mu, NULL);
        if (pthread_create(&u->thread, NULL, loop, u) != 0) {
                pthread_mutex_destroy(&u->mu);
                goto fail;
        }
        return u;
fail:
        if (u->multi != NULL)
                curl_multi_cleanup(u->multi);
        if (u->wake >= 0)
                close(u->wake);
        if (u->ep >= 0)
                close(u->ep);
        free(u);
        return NULL;
}

void
gw_upstream_free(struct gw_upstream *u)
{
        if (u == NULL)
                return;
        atomic_store(&u->stop, true); /* what is queued still runs */
        wake(u);
        pthread_join(u->thread, NULL);
        while (u->nspare > 0)
                curl_easy_cleanup(u->spare[--u->nspare]);
        curl_multi_cleanup(u->multi);
        close(u->wake);
        close(u->ep);
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
                wake(u);
        return 0;
}
