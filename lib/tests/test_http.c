/*
 * test_http: a real server on 127.0.0.1 (ephemeral port) driven with
 * libcurl: routing, errors, limits, request ids, built-in routes,
 * metrics, graceful stop, server-wide headers, the peer address, query
 * iteration. Deferred answers: test_http_defer.c; principals:
 * test_http_principal.c.
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
#include "svc.h"
#include "uuid.h"

static const unsigned char key[HTTP_PRINCIPAL_KEY_BYTES] =
    "0123456789abcdef0123456789abcde";

static atomic_int handler_calls;
static atomic_bool slow_started;
static atomic_bool extra_ready = true;

/* ---- handlers ---- */

static void
h_location(struct http_req *req, struct http_resp *resp)
{
        const char *q = http_req_query(req, "q");

        atomic_fetch_add(&handler_calls, 1);
        http_resp_json(resp, 200,
                       json_pack("{s:s, s:s, s:s, s:s}", "id",
                                 http_req_param(req, "id"), "loc",
                                 http_req_param(req, "loc"), "q", q ? q : "",
                                 "route", req->route));
}

static void
h_echo(struct http_req *req, struct http_resp *resp)
{
        const char *t = http_req_header(req, "X-Test");

        atomic_fetch_add(&handler_calls, 1);
        http_resp_text(resp, 200, "text/plain", req->body);
        http_resp_header(resp, "X-Echo-Test", t ? t : "");
        http_resp_header(resp, "X-Body-Len",
                         req->body_len == 1000 ? "1000" : "other");
}

static void
h_private(struct http_req *req, struct http_resp *resp)
{
        atomic_fetch_add(&handler_calls, 1);
        http_resp_json(
            resp, 200,
            json_pack("{s:s}", "role", http_role_name(req->principal->role)));
}

static void
h_field_error(struct http_req *req, struct http_resp *resp)
{
        (void)req;
        http_resp_error(resp, 400, "invalid", "postcode",
                        "postcode is not valid");
}

static void
h_silent(struct http_req *req, struct http_resp *resp)
{
        (void)req;
        (void)resp;
}

static void
h_slow(struct http_req *req, struct http_resp *resp)
{
        (void)req;
        atomic_store(&slow_started, true);
        usleep(300 * 1000);
        http_resp_text(resp, 200, "text/plain", "done");
}

static void
h_peer(struct http_req *req, struct http_resp *resp)
{
        char peer[64];

        http_resp_text(resp, 200, "text/plain",
                       http_req_peer(req, peer, sizeof(peer)));
}

static bool
query_collect(void *arg, const char *name, const char *value)
{
        json_array_append_new(arg, json_pack("[s, s?]", name, value));
        return true;
}

static void
h_query_each(struct http_req *req, struct http_resp *resp)
{
        json_t *all = json_array();

        http_req_query_each(req, query_collect, all);
        http_resp_json(resp, 200, all);
}

static void
h_own_csp(struct http_req *req, struct http_resp *resp)
{
        (void)req;
        http_resp_text(resp, 200, "text/html", "<p>page</p>");
        http_resp_header(resp, "Content-Security-Policy", "default-src 'self'");
}

static const struct http_route routes[] = {
    {"GET", "/peer", h_peer, HTTP_PUBLIC},
    {"GET", "/query", h_query_each, HTTP_PUBLIC},
    {"GET", "/own-csp", h_own_csp, HTTP_PUBLIC},
    {"GET", "/services/{id}/locations/{loc}", h_location, HTTP_PUBLIC},
    {"POST", "/echo", h_echo, HTTP_PUBLIC},
    {"PUT", "/echo", h_echo, HTTP_PUBLIC},
    {"GET", "/private", h_private, 0},
    {"GET", "/field-error", h_field_error, HTTP_PUBLIC},
    {"GET", "/silent", h_silent, HTTP_PUBLIC},
    {"GET", "/slow", h_slow, HTTP_PUBLIC},
    {NULL},
};

static bool
extra_ready_fn(void *arg, char *why, size_t whysz)
{
        (void)arg;
        if (atomic_load(&extra_ready))
                return true;
        snprintf(why, whysz, "outbox backlog too large");
        return false;
}

/* ---- client ---- */

static struct http_server *srv;
static char base[64];

static long
request(const char *method, const char *path, const char *const *hdrs,
        const char *body, size_t bodylen, struct testhttp_reply *r)
{
        return testhttp_request(base, method, path, hdrs, body, bodylen, r);
}

static json_t *
body_json(const struct testhttp_reply *r)
{
        json_t *j = json_loadb(r->body, r->len, 0, NULL);

        assert_non_null(j);
        return j;
}

/* assert_error: the body is the JSON error shape with code (and field,
 * or no field when NULL). */
static void
assert_error(const struct testhttp_reply *r, const char *code,
             const char *field)
{
        json_t *j = body_json(r), *e = json_object_get(j, "error");
        char ct[128];

        assert_true(json_is_object(e));
        assert_string_equal(json_string_value(json_object_get(e, "code")),
                            code);
        assert_true(json_is_string(json_object_get(e, "message")));
        if (field == NULL)
                assert_null(json_object_get(e, "field"));
        else
                assert_string_equal(
                    json_string_value(json_object_get(e, "field")), field);
        assert_non_null(testhttp_header(r, "Content-Type", ct, sizeof(ct)));
        assert_string_equal(ct, "application/json");
        json_decref(j);
}

static int
group_setup(void **state)
{
        static const char *const headers[] = {
            "Content-Security-Policy", "default-src 'none'", "Referrer-Policy",
            "no-referrer", NULL};
        struct http_opts o = {.threads = 4,
                              .max_body = 1024,
                              .principal_key = key,
                              .ready_fn = extra_ready_fn,
                              .headers = headers};
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

/* ---- routing and errors ---- */

static void
test_path_params_reach_handler(void **state)
{
        struct testhttp_reply r;
        json_t *j;

        (void)state;
        assert_int_equal(request("GET", "/services/svc-1/locations/loc-9?q=hi",
                                 NULL, NULL, 0, &r),
                         200);
        j = body_json(&r);
        assert_string_equal(json_string_value(json_object_get(j, "id")),
                            "svc-1");
        assert_string_equal(json_string_value(json_object_get(j, "loc")),
                            "loc-9");
        assert_string_equal(json_string_value(json_object_get(j, "q")), "hi");
        assert_string_equal(json_string_value(json_object_get(j, "route")),
                            "/services/{id}/locations/{loc}");
        json_decref(j);
}

static void
test_unknown_path_is_404_json(void **state)
{
        struct testhttp_reply r;

        (void)state;
        assert_int_equal(
            request("GET", "/services/svc-1/locations", NULL, NULL, 0, &r),
            404);
        assert_error(&r, "not_found", NULL);
        assert_int_equal(request("GET", "/nope", NULL, NULL, 0, &r), 404);
        assert_error(&r, "not_found", NULL);
}

static void
test_wrong_method_is_405_with_allow(void **state)
{
        struct testhttp_reply r;
        char allow[128];

        (void)state;
        assert_int_equal(request("DELETE", "/echo", NULL, NULL, 0, &r), 405);
        assert_error(&r, "method_not_allowed", NULL);
        assert_non_null(testhttp_header(&r, "Allow", allow, sizeof(allow)));
        assert_string_equal(allow, "POST, PUT");
}

static void
test_head_is_served_by_get_route(void **state)
{
        struct testhttp_reply r;

        (void)state;
        assert_int_equal(request("HEAD", "/healthz", NULL, NULL, 0, &r), 200);
        assert_int_equal(r.len, 0);
}

static void
test_body_and_headers_reach_handler(void **state)
{
        const char *hdrs[] = {"X-Test: hello", NULL};
        char body[1001], v[64];
        struct testhttp_reply r;

        (void)state;
        memset(body, 'a', 1000);
        body[1000] = '\0';
        assert_int_equal(request("POST", "/echo", hdrs, body, 1000, &r), 200);
        assert_int_equal(r.len, 1000);
        assert_memory_equal(r.body, body, 1000);
        assert_string_equal(testhttp_header(&r, "X-Echo-Test", v, sizeof(v)),
                            "hello");
        assert_string_equal(testhttp_header(&r, "X-Body-Len", v, sizeof(v)),
                            "1000");
}

static void
test_oversized_body_is_413(void **state)
{
        char body[2048];
        struct testhttp_reply r;
        int before = atomic_load(&handler_calls);

        (void)state;
        memset(body, 'b', sizeof(body));
        assert_int_equal(request("POST", "/echo", NULL, body, sizeof(body), &r),
                         413);
        assert_error(&r, "payload_too_large", NULL);
        assert_int_equal(atomic_load(&handler_calls), before);
}

static void
test_oversized_chunked_body_is_413(void **state)
{
        const char *hdrs[] = {"Transfer-Encoding: chunked", NULL};
        char body[4096];
        struct testhttp_reply r;
        int before = atomic_load(&handler_calls);

        (void)state;
        memset(body, 'c', sizeof(body));
        assert_int_equal(request("PUT", "/echo", hdrs, body, sizeof(body), &r),
                         413);
        assert_error(&r, "payload_too_large", NULL);
        assert_int_equal(atomic_load(&handler_calls), before);
}

static void
test_error_names_field(void **state)
{
        struct testhttp_reply r;
        json_t *j;

        (void)state;
        assert_int_equal(request("GET", "/field-error", NULL, NULL, 0, &r),
                         400);
        assert_error(&r, "invalid", "postcode");
        j = body_json(&r);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(j, "error"), "message")),
                            "postcode is not valid");
        json_decref(j);
}

static void
test_error_kinds_have_one_status_each(void **state)
{
        static const struct {
                enum err_kind kind;
                int status;
                const char *code;
        } want[] = {{ERR_INVALID, 400, "invalid"},
                    {ERR_NOT_FOUND, 404, "not_found"},
                    {ERR_CONFLICT, 409, "conflict"},
                    {ERR_TRANSIENT, 503, "unavailable"},
                    {ERR_FATAL, 500, "internal"},
                    {ERR_NONE, 500, "internal"}};
        (void)state;
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
                struct http_resp resp = {0};
                struct err e = {0};
                json_t *j, *err;
                bool retry = false;

                err_set(&e, want[i].kind, "postcode", "secret detail %zu", i);
                assert_int_equal(http_status_of(want[i].kind), want[i].status);
                assert_int_equal(http_resp_err(&resp, &e), 0);
                assert_int_equal(resp.status, want[i].status);
                j = json_loadb(resp.body, resp.body_len, 0, NULL);
                err = json_object_get(j, "error");
                assert_string_equal(
                    json_string_value(json_object_get(err, "code")),
                    want[i].code);
                if (want[i].status < 500) {
                        /* a 4xx says which field and why */
                        assert_string_equal(
                            json_string_value(json_object_get(err, "field")),
                            "postcode");
                        assert_non_null(strstr(
                            json_string_value(json_object_get(err, "message")),
                            "secret detail"));
                } else {
                        /* a 5xx tells the client nothing of the inside */
                        assert_null(json_object_get(err, "field"));
                        assert_string_equal(
                            json_string_value(json_object_get(err, "message")),
                            "try again later");
                }
                for (size_t h = 0; h < resp.nheaders; h++)
                        retry |=
                            strcmp(resp.headers[h].name, "Retry-After") == 0 &&
                            strcmp(resp.headers[h].value, "5") == 0;
                assert_int_equal(retry, want[i].status == 503);
                json_decref(j);
                http_resp_fini(&resp);
        }
}

static void
test_handler_without_response_is_500(void **state)
{
        struct testhttp_reply r;

        (void)state;
        assert_int_equal(request("GET", "/silent", NULL, NULL, 0, &r), 500);
        assert_error(&r, "internal", NULL);
}

/* ---- request ids and common headers ---- */

static void
test_safe_request_id_is_echoed(void **state)
{
        const char *hdrs[] = {"X-Request-Id: abc-123_x.y", NULL};
        struct testhttp_reply r;
        char id[128];

        (void)state;
        request("GET", "/healthz", hdrs, NULL, 0, &r);
        assert_string_equal(testhttp_header(&r, "X-Request-Id", id, sizeof(id)),
                            "abc-123_x.y");
}

static void
test_unsafe_request_id_is_replaced(void **state)
{
        const char *bad[] = {
            "X-Request-Id: has space",
            "X-Request-Id: <script>",
            "X-Request-Id: "
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaa", /* 65 */
            NULL,
        };
        struct testhttp_reply r;
        char id[128];

        (void)state;
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                const char *hdrs[] = {bad[i], NULL};

                request("GET", "/healthz", hdrs, NULL, 0, &r);
                assert_non_null(
                    testhttp_header(&r, "X-Request-Id", id, sizeof(id)));
                assert_true(uuid_valid(id));
                assert_int_equal(id[14], '7'); /* version 7 */
        }
}

static void
test_every_response_has_nosniff_and_request_id(void **state)
{
        const char *paths[] = {"/healthz", "/nope", "/private", "/field-error"};
        struct testhttp_reply r;
        char v[128];

        (void)state;
        for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
                request("GET", paths[i], NULL, NULL, 0, &r);
                assert_string_equal(
                    testhttp_header(&r, "X-Content-Type-Options", v, sizeof(v)),
                    "nosniff");
                assert_non_null(
                    testhttp_header(&r, "X-Request-Id", v, sizeof(v)));
        }
}

/* ---- built-in routes ---- */

static void
test_healthz(void **state)
{
        struct testhttp_reply r;

        (void)state;
        assert_int_equal(request("GET", "/healthz", NULL, NULL, 0, &r), 200);
        assert_string_equal(r.body, "{\"status\":\"ok\"}");
}

static void
test_readyz_follows_components(void **state)
{
        struct testhttp_reply r;
        json_t *j;

        (void)state;
        svc_ready_reset();
        svc_ready_set("db", true);
        assert_int_equal(request("GET", "/readyz", NULL, NULL, 0, &r), 200);
        svc_ready_set("db", false);
        assert_int_equal(request("GET", "/readyz", NULL, NULL, 0, &r), 503);
        j = body_json(&r);
        assert_string_equal(json_string_value(json_object_get(j, "reason")),
                            "db not ready");
        json_decref(j);
        svc_ready_set("db", true);
        assert_int_equal(request("GET", "/readyz", NULL, NULL, 0, &r), 200);
}

static void
test_readyz_asks_daemon_callback(void **state)
{
        struct testhttp_reply r;
        json_t *j;

        (void)state;
        svc_ready_reset();
        atomic_store(&extra_ready, false);
        assert_int_equal(request("GET", "/readyz", NULL, NULL, 0, &r), 503);
        j = body_json(&r);
        assert_string_equal(json_string_value(json_object_get(j, "reason")),
                            "outbox backlog too large");
        json_decref(j);
        atomic_store(&extra_ready, true);
        assert_int_equal(request("GET", "/readyz", NULL, NULL, 0, &r), 200);
}

/* counter_value: the value on the metrics line that starts with prefix,
 * or -1 when absent. */
static long
counter_value(const char *text, const char *prefix)
{
        const char *p = strstr(text, prefix);

        return p ? strtol(p + strlen(prefix), NULL, 10) : -1;
}

static void
test_metrics_count_requests_by_route(void **state)
{
        const char *line = "signpost_http_requests_total{method=\"GET\","
                           "route=\"/field-error\",code=\"4xx\"} ";
        struct testhttp_reply r;
        long before, after;
        char ct[128];

        (void)state;
        request("GET", "/metrics", NULL, NULL, 0, &r);
        before = counter_value(r.body, line);
        assert_true(before >= 0);
        for (int i = 0; i < 3; i++)
                request("GET", "/field-error", NULL, NULL, 0, &r);
        assert_int_equal(request("GET", "/metrics", NULL, NULL, 0, &r), 200);
        after = counter_value(r.body, line);
        assert_int_equal(after, before + 3);
        assert_non_null(strstr(r.body, "# TYPE signpost_http_request_duration_"
                                       "seconds histogram"));
        assert_non_null(strstr(r.body, "signpost_http_request_duration_seconds_"
                                       "count{method=\"GET\",route=\"/field-"
                                       "error\"}"));
        assert_non_null(testhttp_header(&r, "Content-Type", ct, sizeof(ct)));
        assert_non_null(strstr(ct, "text/plain"));
}

/* ---- server lifecycle ---- */

static void
test_bad_route_table_refuses_to_start(void **state)
{
        static const struct http_route bad[] = {
            {"GET", "/x/{id", h_silent, 0},
            {NULL},
        };
        struct err e = {0};

        (void)state;
        assert_null(http_server_start("127.0.0.1:0", bad, NULL, NULL, &e));
        assert_string_equal(e.field, "routes");
        assert_non_null(strstr(e.msg, "/x/{id"));
}

static void
test_bad_listen_address_refuses_to_start(void **state)
{
        struct err e = {0};

        (void)state;
        assert_null(http_server_start("nonsense", routes, NULL, NULL, &e));
        assert_string_equal(e.field, "listen");
        assert_null(
            http_server_start("127.0.0.1:99999", routes, NULL, NULL, &e));
        assert_string_equal(e.field, "listen");
}

static void
test_port_in_use_refuses_to_start(void **state)
{
        char listen[64];
        struct err e = {0};

        (void)state;
        snprintf(listen, sizeof(listen), "127.0.0.1:%u",
                 (unsigned)http_server_port(srv));
        assert_null(http_server_start(listen, routes, NULL, NULL, &e));
        assert_int_equal(e.kind, ERR_FATAL);
}

#define CLIENTS 4
#define PER_CLIENT 250

static void *
client_loop(void *arg)
{
        CURL *c = curl_easy_init();
        struct testhttp_reply *r = malloc(sizeof(*r));
        char url[128];
        long ok = 0, status = 0;

        (void)arg;
        snprintf(url, sizeof(url), "%s/services/s/locations/l", base);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, testhttp_body_sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        for (int i = 0; i < PER_CLIENT; i++) { /* one kept-alive connection */
                r->len = 0;
                if (curl_easy_perform(c) == CURLE_OK &&
                    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) ==
                        CURLE_OK &&
                    status == 200)
                        ok++;
        }
        curl_easy_cleanup(c);
        free(r);
        return (void *)ok;
}

static void
test_concurrent_clients_all_answered(void **state)
{
        pthread_t th[CLIENTS];
        long total = 0;

        (void)state;
        for (int i = 0; i < CLIENTS; i++)
                pthread_create(&th[i], NULL, client_loop, NULL);
        for (int i = 0; i < CLIENTS; i++) {
                void *ok;

                pthread_join(th[i], &ok);
                total += (long)ok;
        }
        assert_int_equal(total, CLIENTS * PER_CLIENT);
}

struct slow_call {
        char base[64];
        struct testhttp_reply r;
};

static void *
slow_client(void *arg)
{
        struct slow_call *sc = arg;

        testhttp_request(sc->base, "GET", "/slow", NULL, NULL, 0, &sc->r);
        return NULL;
}

static void
test_stop_finishes_requests_in_flight(void **state)
{
        struct http_server *s2;
        struct slow_call *sc = calloc(1, sizeof(*sc));
        struct testhttp_reply r;
        struct err e = {0};
        pthread_t th;

        (void)state;
        s2 = http_server_start("127.0.0.1:0", routes, NULL, NULL, &e);
        assert_non_null(s2);
        snprintf(sc->base, sizeof(sc->base), "http://127.0.0.1:%u",
                 (unsigned)http_server_port(s2));
        atomic_store(&slow_started, false);
        pthread_create(&th, NULL, slow_client, sc);
        while (!atomic_load(&slow_started))
                usleep(1000);
        http_server_stop(s2); /* while /slow is still sleeping */
        pthread_join(th, NULL);
        assert_int_equal(sc->r.status, 200);
        assert_string_equal(sc->r.body, "done");
        assert_int_equal(
            testhttp_request(sc->base, "GET", "/healthz", NULL, NULL, 0, &r),
            0); /* nobody listening any more */
        free(sc);
}

/* ---- server headers, peer, query ---- */

static void
test_server_headers_on_every_response(void **state)
{
        static const char *const big_hdrs[] = {"Content-Type: text/plain",
                                               NULL};
        char big[2048], v[128];
        struct testhttp_reply r;

        (void)state;
        memset(big, 'x', sizeof(big));
        assert_int_equal(request("GET", "/nope", NULL, NULL, 0, &r), 404);
        assert_string_equal(
            testhttp_header(&r, "Content-Security-Policy", v, sizeof(v)),
            "default-src 'none'");
        assert_int_equal(request("DELETE", "/echo", NULL, NULL, 0, &r), 405);
        assert_string_equal(
            testhttp_header(&r, "Referrer-Policy", v, sizeof(v)),
            "no-referrer");
        assert_int_equal(request("GET", "/private", NULL, NULL, 0, &r), 401);
        assert_non_null(
            testhttp_header(&r, "Content-Security-Policy", v, sizeof(v)));
        assert_int_equal(
            request("POST", "/echo", big_hdrs, big, sizeof(big), &r), 413);
        assert_non_null(
            testhttp_header(&r, "Content-Security-Policy", v, sizeof(v)));
        assert_int_equal(request("GET", "/healthz", NULL, NULL, 0, &r), 200);
        assert_non_null(testhttp_header(&r, "Referrer-Policy", v, sizeof(v)));
}

static void
test_handler_header_overrides_server_header(void **state)
{
        struct testhttp_reply r;
        char v[128];

        (void)state;
        assert_int_equal(request("GET", "/own-csp", NULL, NULL, 0, &r), 200);
        assert_string_equal(
            testhttp_header(&r, "Content-Security-Policy", v, sizeof(v)),
            "default-src 'self'");
        assert_null(strstr(r.headers, "default-src 'none'")); /* not twice */
}

static void
test_peer_is_client_address(void **state)
{
        struct testhttp_reply r;

        (void)state;
        assert_int_equal(request("GET", "/peer", NULL, NULL, 0, &r), 200);
        assert_string_equal(r.body, "127.0.0.1");
}

static void
test_query_each_gives_every_parameter_decoded_in_order(void **state)
{
        struct testhttp_reply r;

        (void)state;
        assert_int_equal(
            request("GET", "/query?b=2&a=x%20y&flag&e=", NULL, NULL, 0, &r),
            200);
        assert_string_equal(r.body,
                            "[[\"b\",\"2\"],[\"a\",\"x y\"],[\"flag\",null],"
                            "[\"e\",\"\"]]");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_path_params_reach_handler),
            cmocka_unit_test(test_unknown_path_is_404_json),
            cmocka_unit_test(test_wrong_method_is_405_with_allow),
            cmocka_unit_test(test_head_is_served_by_get_route),
            cmocka_unit_test(test_body_and_headers_reach_handler),
            cmocka_unit_test(test_oversized_body_is_413),
            cmocka_unit_test(test_oversized_chunked_body_is_413),
            cmocka_unit_test(test_error_names_field),
            cmocka_unit_test(test_error_kinds_have_one_status_each),
            cmocka_unit_test(test_handler_without_response_is_500),
            cmocka_unit_test(test_safe_request_id_is_echoed),
            cmocka_unit_test(test_unsafe_request_id_is_replaced),
            cmocka_unit_test(test_every_response_has_nosniff_and_request_id),
            cmocka_unit_test(test_healthz),
            cmocka_unit_test(test_readyz_follows_components),
            cmocka_unit_test(test_readyz_asks_daemon_callback),
            cmocka_unit_test(test_metrics_count_requests_by_route),
            cmocka_unit_test(test_bad_route_table_refuses_to_start),
            cmocka_unit_test(test_bad_listen_address_refuses_to_start),
            cmocka_unit_test(test_port_in_use_refuses_to_start),
            cmocka_unit_test(test_concurrent_clients_all_answered),
            cmocka_unit_test(test_stop_finishes_requests_in_flight),
            cmocka_unit_test(test_server_headers_on_every_response),
            cmocka_unit_test(test_handler_header_overrides_server_header),
            cmocka_unit_test(test_peer_is_client_address),
            cmocka_unit_test(
                test_query_each_gives_every_parameter_decoded_in_order),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
