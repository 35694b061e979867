/*
 * test_http_defer: deferred answers on a real server (127.0.0.1,
 * ephemeral port): a handler returns without answering and another thread
 * answers (http_defer_finish) or hands the request back to a server
 * thread (http_defer_resume); waiting requests hold no server thread;
 * stopping answers 503 to what is still waiting. Split from test_http.c.
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
#include <unistd.h>

#include "http.h"
#include "testhttp.h"
/* ---- deferred answers: the handler returns, a thread answers ---- */

static atomic_int late_frees;

struct later {
        struct http_defer *d;
        int delay_ms;
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

        usleep((useconds_t)l->delay_ms * 1000);
        later_answer(l);
        return NULL;
}

/* h_defer: /defer?ms=N[&resume=1]: answered N ms later by another
 * thread; ms=0 answers before the handler even returns. */
static void
h_defer(struct http_req *req, struct http_resp *resp)
{
        const char *ms = http_req_query(req, "ms");
        struct later *l = calloc(1, sizeof(*l));
        pthread_t th;

        (void)resp;
        l->d = http_req_defer(req);
        assert_non_null(l->d);
        assert_null(http_req_defer(req)); /* one per request */
        l->delay_ms = ms ? atoi(ms) : 50;
        l->resume = http_req_query(req, "resume") != NULL;
        snprintf(l->what, sizeof(l->what), "later %d", l->delay_ms);
        if (l->delay_ms == 0) {
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
        struct testhttp_reply r;
};

static void *
waiting_client(void *arg)
{
        struct waiting_call *wc = arg;

        testhttp_request(wc->base, "GET", wc->path, NULL, NULL, 0, &wc->r);
        return NULL;
}

/* With one server thread, requests waiting for their answer do not
 * hold it: others are answered meanwhile, and each waiting one gets its
 * own answer. */
static void
test_waiting_requests_hold_no_thread(void **state)
{
        struct http_opts o = {.threads = 1};
        struct waiting_call *wc = calloc(8, sizeof(*wc));
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
        for (int i = 0; i < 8; i++) {
                snprintf(wc[i].base, sizeof(wc[i].base), "%s", b2);
                snprintf(wc[i].path, sizeof(wc[i].path), "/defer?ms=%d%s",
                         600 + i, i % 2 ? "&resume=1" : "");
                pthread_create(&th[i], NULL, waiting_client, &wc[i]);
        }
        usleep(150 * 1000);
        assert_int_equal(
            testhttp_request(b2, "GET", "/healthz", NULL, NULL, 0, &r), 200);
        for (int i = 0; i < 8; i++) /* all still waiting */
                assert_int_equal(wc[i].r.status, 0);
        for (int i = 0; i < 8; i++) {
                char want[64];

                pthread_join(th[i], NULL);
                assert_int_equal(wc[i].r.status, i % 2 ? 200 : 202);
                snprintf(want, sizeof(want), "later %d", 600 + i);
                assert_non_null(strstr(wc[i].r.body, want));
        }
        http_server_stop(s2);
        free(wc);
}

static void
test_stop_answers_503_when_deferred_answer_is_late(void **state)
{
        struct http_opts o = {.threads = 2, .stop_timeout_ms = 100};
        struct waiting_call *wc = calloc(2, sizeof(*wc));
        struct http_server *s2;
        struct err e = {0};
        pthread_t th[2];

        (void)state;
        atomic_store(&late_frees, 0);
        s2 = http_server_start("127.0.0.1:0", routes, NULL, &o, &e);
        assert_non_null(s2);
        for (int i = 0; i < 2; i++) {
                snprintf(wc[i].base, sizeof(wc[i].base), "http://127.0.0.1:%u",
                         (unsigned)http_server_port(s2));
                snprintf(wc[i].path, sizeof(wc[i].path), "/defer?ms=1500%s",
                         i ? "&resume=1" : "");
                pthread_create(&th[i], NULL, waiting_client, &wc[i]);
        }
        usleep(200 * 1000);
        http_server_stop(s2);
        for (int i = 0; i < 2; i++) {
                pthread_join(th[i], NULL);
                assert_int_equal(wc[i].r.status, 503);
        }
        usleep(1600 * 1000); /* the late answers arrive: harmless */
        assert_int_equal(atomic_load(&late_frees), 1);
        free(wc);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_deferred_answer_comes_from_another_thread),
            cmocka_unit_test(test_deferred_answer_before_handler_returns),
            cmocka_unit_test(test_resumed_request_is_answered_on_server_thread),
            cmocka_unit_test(test_waiting_requests_hold_no_thread),
            cmocka_unit_test(
                test_stop_answers_503_when_deferred_answer_is_late),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
