/*
 * test_json: strict parsing, typed getters, unknown-field rejection, dump.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "json.h"

static json_t *
parse_ok(const char *text)
{
        struct err e = {0};
        json_t *j = jsonx_parse_object(text, strlen(text), &e);

        if (j == NULL)
                fail_msg("parse failed: %s", e.msg);
        return j;
}

static void
test_parse_object(void **state)
{
        json_t *j = parse_ok("{\"a\": 1, \"b\": \"x\"}");
        long long a = 0;

        (void)state;
        assert_int_equal(json_object_size(j), 2);
        assert_int_equal(jsonx_get_int(j, "a", true, &a, NULL), 0);
        assert_int_equal(a, 1);
        json_decref(j);
}

static void
test_parse_uses_len_not_nul(void **state)
{
        const char buf[] = "{\"a\":1}garbage";
        struct err e = {0};
        json_t *j = jsonx_parse_object(buf, 7, &e);

        (void)state;
        assert_non_null(j);
        json_decref(j);
        assert_null(jsonx_parse_object(buf, sizeof(buf) - 1, &e));
        assert_int_equal(e.kind, ERR_INVALID);
}

static void
test_parse_rejects_non_object(void **state)
{
        static const char *const bodies[] = {"[1,2]", "\"s\"", "42", "null",
                                             "true"};

        (void)state;
        for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
                struct err e = {0};

                assert_null(
                    jsonx_parse_object(bodies[i], strlen(bodies[i]), &e));
                assert_int_equal(e.kind, ERR_INVALID);
                assert_non_null(strstr(e.msg, "must be a JSON object"));
        }
}

static void
test_parse_rejects_empty(void **state)
{
        struct err e = {0};

        (void)state;
        assert_null(jsonx_parse_object("", 0, &e));
        assert_int_equal(e.kind, ERR_INVALID);
        assert_null(jsonx_parse_object(NULL, 0, &e));
}

static void
test_parse_rejects_duplicate_keys(void **state)
{
        const char *body = "{\"a\": 1,\n \"a\": 2}";
        struct err e = {0};

        (void)state;
        assert_null(jsonx_parse_object(body, strlen(body), &e));
        assert_int_equal(e.kind, ERR_INVALID);
        assert_non_null(strstr(e.msg, "duplicate"));
        assert_non_null(strstr(e.msg, "line 2"));
}

static void
test_parse_rejects_invalid_utf8(void **state)
{
        const char body[] = "{\"name\": \"caf\xc3\x28\"}";
        struct err e = {0};

        (void)state;
        assert_null(jsonx_parse_object(body, sizeof(body) - 1, &e));
        assert_int_equal(e.kind, ERR_INVALID);
        assert_non_null(strstr(e.msg, "line 1"));
}

static void
test_parse_rejects_nul_escape(void **state)
{
        const char *body = "{\"a\": \"x\\u0000y\"}";
        struct err e = {0};

        (void)state;
        assert_null(jsonx_parse_object(body, strlen(body), &e));
        assert_int_equal(e.kind, ERR_INVALID);
}

static void
test_parse_error_names_line_column_not_input(void **state)
{
        const char *body = "{\n  \"email\": jo@example.org\n}";
        struct err e = {0};

        (void)state;
        assert_null(jsonx_parse_object(body, strlen(body), &e));
        assert_non_null(strstr(e.msg, "line 2 column"));
        assert_null(strstr(e.msg, "jo@"));
        assert_null(strstr(e.msg, "example"));
}

static void
test_get_string(void **state)
{
        json_t *j = parse_ok("{\"s\": \"hello\", \"n\": 3, \"z\": null}");
        const char *s = "default";
        struct err e = {0};

        (void)state;
        assert_int_equal(jsonx_get_string(j, "s", true, &s, &e), 0);
        assert_string_equal(s, "hello");
        s = "default";
        assert_int_equal(jsonx_get_string(j, "absent", false, &s, &e), 0);
        assert_string_equal(s, "default");
        assert_int_equal(jsonx_get_string(j, "z", false, &s, &e), 0);
        assert_string_equal(s, "default");
        assert_int_equal(jsonx_get_string(j, "absent", true, &s, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_string_equal(e.field, "absent");
        assert_int_equal(jsonx_get_string(j, "n", false, &s, &e), -1);
        assert_string_equal(e.field, "n");
        assert_non_null(strstr(e.msg, "string"));
        json_decref(j);
}

static void
test_get_int(void **state)
{
        json_t *j = parse_ok("{\"n\": -42, \"big\": 9007199254740993, "
                             "\"f\": 1.0, \"s\": \"7\"}");
        long long n = 5;
        struct err e = {0};

        (void)state;
        assert_int_equal(jsonx_get_int(j, "n", true, &n, &e), 0);
        assert_int_equal(n, -42);
        assert_int_equal(jsonx_get_int(j, "big", true, &n, &e), 0);
        assert_true(n == 9007199254740993LL);
        n = 5;
        assert_int_equal(jsonx_get_int(j, "absent", false, &n, &e), 0);
        assert_int_equal(n, 5);
        assert_int_equal(jsonx_get_int(j, "f", true, &n, &e), -1);
        assert_string_equal(e.field, "f");
        assert_int_equal(jsonx_get_int(j, "s", true, &n, &e), -1);
        assert_string_equal(e.field, "s");
        assert_int_equal(jsonx_get_int(j, "absent", true, &n, &e), -1);
        assert_string_equal(e.field, "absent");
        json_decref(j);
}

static void
test_get_bool(void **state)
{
        json_t *j = parse_ok("{\"t\": true, \"f\": false, \"n\": 1}");
        bool b = false;
        struct err e = {0};

        (void)state;
        assert_int_equal(jsonx_get_bool(j, "t", true, &b, &e), 0);
        assert_true(b);
        assert_int_equal(jsonx_get_bool(j, "f", true, &b, &e), 0);
        assert_false(b);
        b = true;
        assert_int_equal(jsonx_get_bool(j, "absent", false, &b, &e), 0);
        assert_true(b);
        assert_int_equal(jsonx_get_bool(j, "n", true, &b, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_string_equal(e.field, "n");
        assert_int_equal(jsonx_get_bool(j, "absent", true, &b, &e), -1);
        assert_string_equal(e.field, "absent");
        json_decref(j);
}

static void
test_getter_on_non_object(void **state)
{
        json_t *a = json_array();
        const char *s = NULL;
        struct err e = {0};

        (void)state;
        assert_int_equal(jsonx_get_string(a, "x", false, &s, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_int_equal(jsonx_get_string(NULL, "x", false, &s, NULL), -1);
        json_decref(a);
}

static void
test_reject_unknown(void **state)
{
        static const char *const allowed[] = {"name", "age", NULL};
        json_t *ok = parse_ok("{\"age\": 3, \"name\": \"x\"}");
        json_t *bad = parse_ok("{\"name\": \"x\", \"nmae\": 1, \"zz\": 2}");
        struct err e = {0};

        (void)state;
        assert_int_equal(jsonx_reject_unknown(ok, allowed, &e), 0);
        assert_int_equal(jsonx_reject_unknown(bad, allowed, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_string_equal(e.field, "nmae");
        assert_non_null(strstr(e.msg, "nmae"));
        json_decref(ok);
        json_decref(bad);
}

static void
test_reject_unknown_empty_allowed(void **state)
{
        static const char *const none[] = {NULL};
        json_t *empty = parse_ok("{}");
        json_t *one = parse_ok("{\"a\": 1}");
        struct err e = {0};

        (void)state;
        assert_int_equal(jsonx_reject_unknown(empty, none, &e), 0);
        assert_int_equal(jsonx_reject_unknown(one, none, &e), -1);
        assert_string_equal(e.field, "a");
        json_decref(empty);
        json_decref(one);
}

static void
test_dump_compact_in_order(void **state)
{
        json_t *j = json_object();
        char *s;

        (void)state;
        json_object_set_new(j, "z", json_integer(1));
        json_object_set_new(j, "a", json_string("caf\xc3\xa9"));
        json_object_set_new(j, "l", json_pack("[b,n]", 1));
        s = jsonx_dump(j);
        assert_non_null(s);
        assert_string_equal(
            s, "{\"z\":1,\"a\":\"caf\xc3\xa9\",\"l\":[true,null]}");
        free(s);
        json_decref(j);
}

static void
test_dump_round_trip_and_scalars(void **state)
{
        json_t *j = parse_ok("{ \"k\" : [ 1 , 2 ] }");
        json_t *n = json_integer(7);
        char *s = jsonx_dump(j);
        char *t = jsonx_dump(n);

        (void)state;
        assert_string_equal(s, "{\"k\":[1,2]}");
        assert_string_equal(t, "7");
        assert_null(jsonx_dump(NULL));
        free(s);
        free(t);
        json_decref(j);
        json_decref(n);
}

/* jsonx_dump writes what json_dumps(JSON_COMPACT) writes. */
static void
test_dump_equals_jansson(void **state)
{
        const char *docs[] = {
            "{}",
            "[]",
            "\"\"",
            "null",
            "{\"a\":1,\"b\":[true,false,null,-7,0,9223372036854775807],"
            "\"c\":{\"d\":\"e\"}}",
            "{\"z\":1,\"a\":2,\"m\":3}",
            "[1.5,0.1,-2.0,1e300,3.0e-10]",
            "\"quote \\\" backslash \\\\ slash / tab \\t nl \\n cr \\r"
            " bs \\b ff \\f ctl \\u0001 \\u001f del \\u007f\"",
            "\"caf\u00e9 \u2028 \u00a3 \\u20ac \\ud83d\\ude00\"",
            "{\"k\\\"ey\\n\":\"v\",\"\":[[],{}]}",
        };
        (void)state;
        for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
                json_t *j = json_loads(docs[i], JSON_DECODE_ANY, NULL);
                char *want, *got;

                assert_non_null(j);
                want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
                got = jsonx_dump(j);
                assert_non_null(got);
                assert_string_equal(got, want);
                free(want);
                free(got);
                json_decref(j);
        }
        assert_null(jsonx_dump(NULL));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_parse_object),
            cmocka_unit_test(test_dump_equals_jansson),
            cmocka_unit_test(test_parse_uses_len_not_nul),
            cmocka_unit_test(test_parse_rejects_non_object),
            cmocka_unit_test(test_parse_rejects_empty),
            cmocka_unit_test(test_parse_rejects_duplicate_keys),
            cmocka_unit_test(test_parse_rejects_invalid_utf8),
            cmocka_unit_test(test_parse_rejects_nul_escape),
            cmocka_unit_test(test_parse_error_names_line_column_not_input),
            cmocka_unit_test(test_get_string),
            cmocka_unit_test(test_get_int),
            cmocka_unit_test(test_get_bool),
            cmocka_unit_test(test_getter_on_non_object),
            cmocka_unit_test(test_reject_unknown),
            cmocka_unit_test(test_reject_unknown_empty_allowed),
            cmocka_unit_test(test_dump_compact_in_order),
            cmocka_unit_test(test_dump_round_trip_and_scalars),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
