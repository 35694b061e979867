/*
 * test_http_principal: the signed caller header (sign, verify) and how
 * the server enforces it: routes without HTTP_PUBLIC answer 401 to a
 * missing, forged, tampered or expired principal and never run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "testhttp.h"

static const unsigned char key[HTTP_PRINCIPAL_KEY_BYTES] =
    "0123456789abcdef0123456789abcde";
static const unsigned char other_key[HTTP_PRINCIPAL_KEY_BYTES] =
    "fedcba9876543210fedcba987654321";

static atomic_int handler_calls;
static struct http_server *srv;
static char base[64];

static void
h_whoami(struct http_req *req, struct http_resp *resp)
{
        const struct http_principal *p = req->principal;

        atomic_fetch_add(&handler_calls, 1);
        if (p == NULL) {
                http_resp_json(resp, 200, json_pack("{s:n}", "sub"));
                return;
        }
        http_resp_json(resp, 200,
                       json_pack("{s:s, s:s, s:s, s:s}", "sub", p->sub, "role",
                                 http_role_name(p->role), "org", p->org,
                                 "reason", p->reason));
}

static const struct http_route routes[] = {
    {"GET", "/whoami", h_whoami, 0},
    {"GET", "/maybe-whoami", h_whoami, HTTP_PUBLIC},
    {NULL},
};

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
        struct http_opts o = {.principal_key = key};
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

static char *
signed_principal(const unsigned char *k, enum http_role role, const char *org,
                 int64_t exp)
{
        struct http_principal p = {.role = role, .exp = exp};
        char *out = NULL;

        snprintf(p.sub, sizeof(p.sub), "user-42");
        snprintf(p.org, sizeof(p.org), "%s", org ? org : "");
        assert_int_equal(http_principal_sign(k, &p, &out), 0);
        return out;
}

static void
test_missing_principal_is_401(void **state)
{
        struct testhttp_reply r;
        int before = atomic_load(&handler_calls);

        (void)state;
        assert_int_equal(request("GET", "/whoami", NULL, NULL, 0, &r), 401);
        assert_error(&r, "unauthorized", NULL);
        assert_int_equal(atomic_load(&handler_calls), before);
}

static void
expect_401(const char *principal)
{
        char h[4200];
        const char *hdrs[] = {h, NULL};
        struct testhttp_reply r;
        int before = atomic_load(&handler_calls);

        snprintf(h, sizeof(h), "%s: %s", HTTP_PRINCIPAL_HEADER, principal);
        assert_int_equal(request("GET", "/whoami", hdrs, NULL, 0, &r), 401);
        assert_error(&r, "unauthorized", NULL);
        assert_int_equal(atomic_load(&handler_calls), before);
}

static void
test_forged_principal_is_401(void **state)
{
        char *p =
            signed_principal(other_key, HTTP_ROLE_ADMIN, NULL, time(NULL) + 60);

        (void)state;
        expect_401(p);
        free(p);
        expect_401("garbage");
        expect_401("e30.AAAA");
}

static void
test_tampered_principal_is_401(void **state)
{
        char *p =
            signed_principal(key, HTTP_ROLE_PROVIDER, "org-1", time(NULL) + 60);

        (void)state;
        p[3] = p[3] == 'A' ? 'B' : 'A'; /* flip the payload */
        expect_401(p);
        free(p);
}

static void
test_expired_principal_is_401(void **state)
{
        char *p = signed_principal(key, HTTP_ROLE_ADMIN, NULL, time(NULL) - 1);

        (void)state;
        expect_401(p);
        free(p);
}

static void
test_valid_principal_reaches_handler(void **state)
{
        char *p =
            signed_principal(key, HTTP_ROLE_PROVIDER, "org-7", time(NULL) + 60);
        char h[4200];
        const char *hdrs[] = {h, NULL};
        struct testhttp_reply r;
        json_t *j;

        (void)state;
        snprintf(h, sizeof(h), "%s: %s", HTTP_PRINCIPAL_HEADER, p);
        assert_int_equal(request("GET", "/whoami", hdrs, NULL, 0, &r), 200);
        j = body_json(&r);
        assert_string_equal(json_string_value(json_object_get(j, "role")),
                            "provider");
        assert_string_equal(json_string_value(json_object_get(j, "org")),
                            "org-7");
        assert_string_equal(json_string_value(json_object_get(j, "sub")),
                            "user-42");
        json_decref(j);
        free(p);
}

static void
test_public_route_runs_without_principal(void **state)
{
        struct testhttp_reply r;
        json_t *j;

        (void)state;
        assert_int_equal(request("GET", "/maybe-whoami", NULL, NULL, 0, &r),
                         200);
        j = body_json(&r);
        assert_true(json_is_null(json_object_get(j, "sub")));
        json_decref(j);
}

static void
test_principal_round_trip_keeps_support_reason(void **state)
{
        struct http_principal p = {.role = HTTP_ROLE_SUPPORT,
                                   .exp = time(NULL) + 60},
                              got = {0};
        struct err e = {0};
        char *h = NULL;

        (void)state;
        snprintf(p.sub, sizeof(p.sub), "agent-1");
        snprintf(p.reason, sizeof(p.reason), "ticket 991");
        assert_int_equal(http_principal_sign(key, &p, &h), 0);
        assert_null(strchr(h, '='));
        assert_null(strchr(h, '+'));
        assert_int_equal(http_principal_verify(key, h, &got, &e), 0);
        assert_string_equal(got.sub, "agent-1");
        assert_int_equal(got.role, HTTP_ROLE_SUPPORT);
        assert_string_equal(got.org, "");
        assert_string_equal(got.reason, "ticket 991");
        assert_int_equal(got.exp, p.exp);
        free(h);
}

static void
test_principal_verify_names_the_problem(void **state)
{
        struct http_principal got = {0};
        struct err e = {0};
        char *h;

        (void)state;
        assert_int_equal(http_principal_verify(key, "a.b.c", &got, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_string_equal(e.field, HTTP_PRINCIPAL_HEADER);
        assert_string_equal(e.msg, "principal malformed");
        h = signed_principal(other_key, HTTP_ROLE_ADMIN, NULL, time(NULL) + 60);
        assert_int_equal(http_principal_verify(key, h, &got, &e), -1);
        assert_string_equal(e.msg, "principal signature does not verify");
        free(h);
        h = signed_principal(key, HTTP_ROLE_ADMIN, NULL, time(NULL) - 5);
        assert_int_equal(http_principal_verify(key, h, &got, &e), -1);
        assert_string_equal(e.msg, "principal expired");
        free(h);
}

static void
test_principal_sign_refuses_invalid(void **state)
{
        struct http_principal p = {.role = HTTP_ROLE_ADMIN, .exp = 1};
        char *h = NULL;

        (void)state;
        assert_int_equal(http_principal_sign(key, &p, &h), -1); /* no sub */
        assert_null(h);
        snprintf(p.sub, sizeof(p.sub), "u");
        snprintf(p.reason, sizeof(p.reason), "why");
        assert_int_equal(http_principal_sign(key, &p, &h), -1); /* reason */
        assert_null(h);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_missing_principal_is_401),
            cmocka_unit_test(test_forged_principal_is_401),
            cmocka_unit_test(test_tampered_principal_is_401),
            cmocka_unit_test(test_expired_principal_is_401),
            cmocka_unit_test(test_valid_principal_reaches_handler),
            cmocka_unit_test(test_public_route_runs_without_principal),
            cmocka_unit_test(test_principal_round_trip_keeps_support_reason),
            cmocka_unit_test(test_principal_verify_names_the_problem),
            cmocka_unit_test(test_principal_sign_refuses_invalid),
        };

        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
