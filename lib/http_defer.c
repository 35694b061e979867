/*
 * http_defer: deferred answers. A handler that must wait (for a broker's
 * acknowledgement, say) takes a handle and returns; the connection is
 * suspended (MHD_suspend_connection) so no server thread waits with it,
 * and whoever holds the handle hands over the answer from any thread,
 * which resumes the connection; the answer is then queued on the
 * connection's own thread (the only place libmicrohttpd allows it). Owns
 * the handles and the server's list of them (and counts those waiting:
 * http_server_waiting); never calls into
 * libmicrohttpd while holding one of its own locks. Does not build
 * answers.
 */
#include "http_int.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

static void
release(struct http_defer *d)
{
        int left;

        pthread_mutex_lock(&d->mu);
        left = --d->refs;
        pthread_mutex_unlock(&d->mu);
        if (left == 0) {
                pthread_mutex_destroy(&d->mu);
                free(d);
        }
}

struct http_defer *
http_req_defer(struct http_req *req)
{
        struct http_req_ctx *ctx = req->ctx;
        struct http_server *srv = ctx->srv;
        struct http_defer *d;

        if (ctx->defer != NULL || (d = calloc(1, sizeof(*d))) == NULL)
                return NULL;
        pthread_mutex_init(&d->mu, NULL);
        d->refs = 2;
        d->state = HTTP_DEFER_RUNNING;
        d->conn = ctx->conn;
        pthread_mutex_lock(&srv->defer_mu);
        d->next = srv->deferred;
        if (srv->deferred != NULL)
                srv->deferred->prev = d;
        srv->deferred = d;
        pthread_mutex_unlock(&srv->defer_mu);
        ctx->defer = d;
        return d;
}

/* drop: what a late completer brought, when nobody waits for it. */
static void
drop(http_resume_fn fn, void *arg, struct http_resp *resp)
{
        if (fn != NULL)
                fn(NULL, NULL, arg);
        if (resp != NULL)
                http_resp_fini(resp);
}

/* complete: the completer's side: leave the answer and wake the
 * connection if it already sleeps. */
static void
complete(struct http_defer *d, http_resume_fn fn, void *arg,
         struct http_resp *resp)
{
        struct MHD_Connection *wake = NULL;
        bool late;

        pthread_mutex_lock(&d->mu);
        late = d->detached || d->abandoned || d->state == HTTP_DEFER_GONE ||
               d->state == HTTP_DEFER_READY;
        if (!late) {
                d->fn = fn;
                d->arg = arg;
                if (resp != NULL) {
                        d->resp = *resp;
                        memset(resp, 0, sizeof(*resp));
                }
                if (d->state == HTTP_DEFER_SUSPENDED)
                        wake = d->conn;
                d->state = HTTP_DEFER_READY;
        }
        pthread_mutex_unlock(&d->mu);
        if (late)
                drop(fn, arg, resp);
        /* a suspended connection stays until resumed, so conn is valid */
        if (wake != NULL)
                MHD_resume_connection(wake);
        release(d);
}

void
http_defer_finish(struct http_defer *d, struct http_resp *resp)
{
        complete(d, NULL, NULL, resp);
}

void
http_defer_resume(struct http_defer *d, http_resume_fn fn, void *arg)
{
        complete(d, fn, arg, NULL);
}

/* suspend: the handler returned without an answer ready. The completer
 * may arrive while the connection is being suspended; it then leaves the
 * answer without waking it, and we wake it here. */
static enum MHD_Result
suspend(struct http_defer *d)
{
        bool ready;

        d->state = HTTP_DEFER_SUSPENDING;
        pthread_mutex_unlock(&d->mu);
        MHD_suspend_connection(d->conn);
        pthread_mutex_lock(&d->mu);
        ready = d->state == HTTP_DEFER_READY;
        if (!ready)
                d->state = HTTP_DEFER_SUSPENDED;
        pthread_mutex_unlock(&d->mu);
        if (ready)
                MHD_resume_connection(d->conn);
        return MHD_YES;
}

enum MHD_Result
http_defer_step(struct http_req_ctx *ctx, struct http_req *req,
                struct http_resp *resp)
{
        struct http_defer *d = ctx->defer;
        http_resume_fn fn;
        void *arg;
        bool abandoned;

        pthread_mutex_lock(&d->mu);
        if (d->state == HTTP_DEFER_RUNNING)
                return suspend(d);          /* unlocks */
        if (d->state != HTTP_DEFER_READY) { /* woken early: wait on */
                pthread_mutex_unlock(&d->mu);
                return MHD_YES;
        }
        d->state = HTTP_DEFER_GONE;
        fn = d->fn;
        arg = d->arg;
        abandoned = d->abandoned;
        *resp = d->resp;
        memset(&d->resp, 0, sizeof(d->resp));
        pthread_mutex_unlock(&d->mu);
        if (abandoned)
                http_resp_error(resp, 503, "unavailable", NULL,
                                "the server is stopping; try again");
        else if (fn != NULL)
                fn(req, resp, arg);
        return http_queue(ctx, resp);
}

void
http_defer_detach(struct http_req_ctx *ctx)
{
        struct http_defer *d = ctx->defer;
        struct http_server *srv = ctx->srv;
        http_resume_fn fn = NULL;
        void *arg = NULL;
        struct http_resp resp = {0};

        if (d == NULL)
                return;
        pthread_mutex_lock(&srv->defer_mu);
        if (d->prev != NULL)
                d->prev->next = d->next;
        else
                srv->deferred = d->next;
        if (d->next != NULL)
                d->next->prev = d->prev;
        pthread_mutex_unlock(&srv->defer_mu);
        pthread_mutex_lock(&d->mu);
        if (d->state == HTTP_DEFER_READY && !d->abandoned) {
                fn = d->fn; /* left but never run: the client went away */
                arg = d->arg;
                resp = d->resp;
                memset(&d->resp, 0, sizeof(d->resp));
        }
        d->detached = true;
        d->state = HTTP_DEFER_GONE;
        pthread_mutex_unlock(&d->mu);
        drop(fn, arg, &resp);
        ctx->defer = NULL;
        release(d);
}

size_t
http_server_waiting(struct http_server *srv)
{
        size_t n = 0;

        pthread_mutex_lock(&srv->defer_mu);
        for (struct http_defer *d = srv->deferred; d != NULL; d = d->next) {
                pthread_mutex_lock(&d->mu);
                n += d->state == HTTP_DEFER_SUSPENDED;
                pthread_mutex_unlock(&d->mu);
        }
        pthread_mutex_unlock(&srv->defer_mu);
        return n;
}

size_t
http_defer_abandon(struct http_server *srv)
{
        struct MHD_Connection **wake = NULL;
        size_t n = 0, cap = 0;

        pthread_mutex_lock(&srv->defer_mu);
        for (struct http_defer *d = srv->deferred; d != NULL; d = d->next)
                cap++;
        wake = cap ? calloc(cap, sizeof(*wake)) : NULL;
        for (struct http_defer *d = srv->deferred; d != NULL && wake != NULL;
             d = d->next) {
                pthread_mutex_lock(&d->mu);
                if (d->state == HTTP_DEFER_SUSPENDED) {
                        d->abandoned = true;
                        d->state = HTTP_DEFER_READY;
                        wake[n++] = d->conn;
                }
                pthread_mutex_unlock(&d->mu);
        }
        pthread_mutex_unlock(&srv->defer_mu);
        for (size_t i = 0; i < n; i++)
                MHD_resume_connection(wake[i]);
        free(wake);
        if (n > 0)
                log_warnx("http stop: deferred requests not answered in time",
                          "count=%zu", n);
        return n;
}
