/*
 * test_http_defer: deferred answers on a real server (127.0.0.1,
 * ephemeral port): a handler returns without answering and another thread
 * answers (http_defer_finish) or hands the request back to a server
 * thread (http_defer_resume); waiting requests hold no server thread;
 * stopping answers 503 to what is still waiting. Split from test_http.c.
 * What must happen before a check is waited for on counters (requests the
 * handler took, connections the server holds suspended, answers handed
 * over) with a bounded deadline, and the answers the tests hold back wait
 * on a gate the test opens, not on a delay.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "http.h"
#include "testenv.h"
#include "testhttp.h"
/* ---- deferred answers: the handler returns, a thread answers ---- */

static atomic_int late_frees; /* resume callbacks told nobody waits */
static atomic_int handled;    /* requests the handler took */
static atomic_int handed;     /* gated answers handed over */

/* gate: the answers of /defer?gate=1 wait until the test opens it */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static void
gate_set(bool open)
{
        pthread_mutex_lock(&gate_mu);
        gate_open = open;
        pthread_cond_broadcast(&gate_cv);
        pthread_mutex_unlock(&gate_mu);
}

static void
gate_wait(void)
{
        pthread_mutex_lock(&gate_mu);
        while (!gate_open)
                pthread_cond_wait(&gate_cv, &gate_mu);
        pthread_mutex_unlock(&gate_mu);
}

/* until: polls done(arg) until it holds or 10 s have passed; whether it
 * held. */
static bool
until(bool (*done)(void *), void *arg)
{
        int64_t deadline = clock_ms() + 10000;

        while (!done(arg)) {
                if (clock_ms() > deadline)
                        return false;
                clock_sleep_ms(1);
        }
        return true;
}

struct at_least {
        atomic_int *n;
        int want;
};

static bool
reached(void *arg)
{
        struct at_least *a = arg;

        return atomic_load(a->n) >= a->want;
}

struct waiting_on {
        struct http_server *srv;
        size_t want;
};

static bool
suspended(void *arg)
{
        struct waiting_on *w = arg;

        return http_server_waiting(w->srv) == w->want;
}

struct later {
        struct http_defer *d;
        int delay_ms;
        bool gated;  /* waits for the gate rather than delay_ms */
        bool resume; /* http_defer_resume rather than finish */
        char what[64];
};

static void
resumed(struct http_req *req, struct http_resp *resp, void *arg)
{
        struct later *l = arg;
        const char *t;
        char text[256];

        if (req == NULL) { /* nobody waits any more */
                atomic_fetch_add(&late_frees, 1);
                free(l);
                return;
        }
        t = http_req_header(req, "X-Test");
        snprintf(text, sizeof(text), "resumed %s %s %s", req->path, t ? t : "-",
                 l->what);
        http_resp_text(resp, 200, "text/plain", text);
        free(l);
}

static void
later_answer(struct later *l)
{
        struct http_resp resp = {0};

        if (l->resume) {
                http_defer_resume(l->d, resumed, l);
                return;
        }
        http_resp_text(&resp, 202, "text/plain", l->what);
        http_resp_header(&resp, "X-Later", "yes");
        http_defer_finish(l->d, &resp);
        free(l);
}

static void *
later_thread(void *arg)
{
        struct later *l = arg;
        bool gated = l->gated;

        if (gated)
                gate_wait();
        else
                clock_sleep_ms(l->delay_ms);
        later_answer(l); /* frees l */
        if (gated)
                atomic_fetch_add(&handed, 1);
        return NULL;
}

/* h_defer: /defer?ms=N[&resume=1]: answered N ms later by another
 * thread; ms=0 answers before the handler even returns; gate=1 (with
 * ms=N naming it) answers once the test opens the gate. */
static void
h_defer(struct http_req *req, struct http_resp *resp)
{
        const char *ms = http_req_query(req, "ms");
        struct later *l = calloc(1, sizeof(*l));
        pthread_t th;

        (void)resp;
        atomic_fetch_add(&handled, 1);
        l->d = http_req_defer(req);
        assert_non_null(l->d);
        assert_null(http_req_defer(req)); /* one per request */
        l->delay_ms = ms ? atoi(ms) : 50;
        l->gated = http_req_query(req, "gate") != NULL;
        l->resume = http_req_query(req, "resume") != NULL;
        snprintf(l->what, sizeof(l->what), "later %d", l->delay_ms);
        if (l->delay_ms == 0 && !l->gated) {
                later_answer(l);
                return;
        }
        pthread_create(&th, NULL, later_thread, l);
        pthread_detach(th);
}

static const struct http_route routes[] = {
    {"GET", "/defer", h_defer, HTTP_PUBLIC},
    {"POST", "/defer", h_defer, HTTP_PUBLIC},
    {NULL},
};

static struct http_server *srv;
static char base[64];

static long
request(const char *method, const char *path, const char *const *hdrs,
        const char *body, size_t bodylen, struct testhttp_reply *r)
{
        return testhttp_request(base, method, path, hdrs, body, bodylen, r);
}

static int
group_setup(void **state)
{
        static const char *const headers[] = {"Referrer-Policy", "no-referrer",
                                              NULL};
        struct http_opts o = {.threads = 4, .headers = headers};
        struct err e = {0};

        (void)state;
        curl_global_init(CURL_GLOBAL_DEFAULT);
        srv = http_server_start("127.0.0.1:0", routes, NULL, &o, &e);
        if (srv == NULL) {
                fprintf(stderr, "server: %s\n", e.msg);
                return -1;
        }
        snprintf(base, sizeof(base), "http://127.0.0.1:%u",
                 (unsigned)http_server_port(srv));
        return 0;
}

static int
group_teardown(void **state)
{
        (void)state;
        http_server_stop(srv);
        curl_global_cleanup();
        return 0;
}
/* ---- deferred answers ---- */

static void
test_deferred_answer_comes_from_another_thread(void **state)
{
        struct testhttp_reply r;
        char v[128];

        (void)state;
        assert_int_equal(request("GET", "/defer?ms=50", NULL, NULL, 0, &r),
                         202);
        assert_string_equal(r.body, "later 50");
        assert_string_equal(testhttp_header(&r, "X-Later", v, sizeof(v)),
                            "yes");
        assert_string_equal(
            testhttp_header(&r, "Referrer-Policy", v, sizeof(v)),
            "no-referrer");
        assert_non_null(testhttp_header(&r, "X-Request-Id", v, sizeof(v)));
}

static void
test_deferred_answer_before_handler_returns(void **state)
{
        struct testhttp_reply r;

        (void)state;
        for (int i = 0; i < 20; i++) {
                assert_int_equal(
                    request("GET", "/defer?ms=0", NULL, NULL, 0, &r), 202);
                assert_string_equal(r.body, "later 0");
        }
}

static void
test_resumed_request_is_answered_on_server_thread(void **state)
{
        const char *hdrs[] = {"X-Test: kept", NULL};
        struct testhttp_reply r;

        (void)state;
        assert_int_equal(
            request("POST", "/defer?ms=20&resume=1", hdrs, "b", 1, &r), 200);
        assert_string_equal(r.body, "resumed /defer kept later 20");
}

struct waiting_call {
        char base[64];
        char path[64];
        struct testhttp_reply r; /* read after the join */
        atomic_bool done;
};

static void *
waiting_client(void *arg)
{
        struct waiting_call *wc = arg;

        testhttp_request(wc->base, "GET", wc->path, NULL, NULL, 0, &wc->r);
        atomic_store(&wc->done, true);
        return NULL;
}

/* start_waiting: n clients of server s, each asking for a gated answer
 * (odd ones resumed), and returns once the handler has taken all n and
 * their connections are suspended. */
static void
start_waiting(struct http_server *s, struct waiting_call *wc, pthread_t *th,
              int n)
{
        struct at_least took = {&handled, n};
        struct waiting_on susp = {s, (size_t)n};

        atomic_store(&handled, 0);
        atomic_store(&handed, 0);
        gate_set(false);
        for (int i = 0; i < n; i++) {
                snprintf(wc[i].base, sizeof(wc[i].base), "http://127.0.0.1:%u",
                         (unsigned)http_server_port(s));
                snprintf(wc[i].path, sizeof(wc[i].path),
                         "/defer?ms=%d&gate=1%s", 600 + i,
                         i % 2 ? "&resume=1" : "");
                atomic_init(&wc[i].done, false);
                assert_int_equal(
                    pthread_create(&th[i], NULL, waiting_client, &wc[i]), 0);
        }
        assert_true(until(reached, &took)); /* every client got through */
        assert_true(until(suspended, &susp));
}

/* With one server thread, requests waiting for their answer do not
 * hold it: others are answered meanwhile, and each waiting one gets its
 * own answer. */
static void
test_waiting_requests_hold_no_thread(void **state)
{
        struct http_opts o = {.threads = 1};
        struct waiting_call *wc = calloc(8, sizeof(*wc));
        struct at_least all = {&handed, 8};
        struct http_server *s2;
        struct testhttp_reply r;
        struct err e = {0};
        pthread_t th[8];
        char b2[64];

        (void)state;
        s2 = http_server_start("127.0.0.1:0", routes, NULL, &o, &e);
        assert_non_null(s2);
        snprintf(b2, sizeof(b2), "http://127.0.0.1:%u",
                 (unsigned)http_server_port(s2));
        start_waiting(s2, wc, th, 8);
        /* eight wait; the one thread still answers another request */
        assert_int_equal(
            testhttp_request(b2, "GET", "/healthz", NULL, NULL, 0, &r), 200);
        assert_int_equal(atomic_load(&handed), 0);
        assert_int_equal(http_server_waiting(s2), 8);
        for (int i = 0; i < 8; i++) /* all still waiting */
                assert_false(atomic_load(&wc[i].done));
        gate_set(true);
        assert_true(until(reached, &all)); /* every answer handed over */
        for (int i = 0; i < 8; i++) {
                char want[64];

                pthread_join(th[i], NULL);
                assert_int_equal(wc[i].r.status, i % 2 ? 200 : 202);
                snprintf(want, sizeof(want), "later %d", 600 + i);
                assert_non_null(strstr(wc[i].r.body, want));
        }
        assert_int_equal(http_server_waiting(s2), 0);
        http_server_stop(s2);
        free(wc);
}

/* Two requests wait past the stop timeout: the server answers both 503
 * itself; the answers handed over afterwards are harmless (the resumed
 * one's callback is told nobody waits, and frees its argument). */
static void
test_stop_answers_503_when_deferred_answer_is_late(void **state)
{
        struct http_opts o = {.threads = 2, .stop_timeout_ms = 100};
        struct waiting_call *wc = calloc(2, sizeof(*wc));
        struct at_least both = {&handed, 2};
        struct http_server *s2;
        struct err e = {0};
        pthread_t th[2];

        (void)state;
        atomic_store(&late_frees, 0);
        s2 = http_server_start("127.0.0.1:0", routes, NULL, &o, &e);
        assert_non_null(s2);
        start_waiting(s2, wc, th, 2);
        http_server_stop(s2);
        for (int i = 0; i < 2; i++) {
                pthread_join(th[i], NULL);
                assert_int_equal(wc[i].r.status, 503);
        }
        assert_int_equal(atomic_load(&handed), 0);
        gate_set(true); /* the late answers arrive */
        assert_true(until(reached, &both));
        assert_int_equal(atomic_load(&late_frees), 1);
        free(wc);
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_deferred_answer_comes_from_another_thread),
            cmocka_unit_test(test_deferred_answer_before_handler_returns),
            cmocka_unit_test(test_resumed_request_is_answered_on_server_thread),
            cmocka_unit_test(test_waiting_requests_hold_no_thread),
            cmocka_unit_test(
                test_stop_answers_503_when_deferred_answer_is_late),
        };

        testenv_only(argc, argv);
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
