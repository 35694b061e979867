/*
 * test_web: the pieces under the web pages and the edge protections:
 * HTML escaping, form decoding, CSRF tokens, token-bucket limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../gateway.h"

static void
test_html_escapes_every_value(void **state)
{
        struct gw_html h = {0};
        char *s;

        (void)state;
        gw_html_f(&h, "<p title=\"%s\">%s %d</p>", "\"><script>", "a&b'c", 7);
        s = gw_html_take(&h, NULL);
        assert_string_equal(s, "<p title=\"&quot;&gt;&lt;script&gt;\">"
                               "a&amp;b&#39;c 7</p>");
        free(s);
}

static void
test_form_decodes_fields(void **state)
{
        struct gw_form f;
        const char *body = "a=1&name=Ann+O%27Brien&empty=&flag";

        (void)state;
        assert_int_equal(gw_form_parse(body, strlen(body), &f, NULL), 0);
        assert_string_equal(gw_form_get(&f, "name"), "Ann O'Brien");
        assert_string_equal(gw_form_get(&f, "empty"), "");
        assert_string_equal(gw_form_get(&f, "flag"), "");
        assert_null(gw_form_get(&f, "missing"));
        gw_form_fini(&f);
}

static void
test_form_refuses_bad_encoding(void **state)
{
        struct gw_form f;
        struct err e = {0};

        (void)state;
        assert_int_equal(gw_form_parse("a=%zz", 5, &f, &e), -1);
        gw_form_fini(&f);
        assert_int_equal(gw_form_parse("a=%ff%fe", 8, &f, &e), -1);
        gw_form_fini(&f);
        assert_int_equal(gw_form_parse("a=%00", 5, &f, &e), -1);
        gw_form_fini(&f);
}

static void
test_csrf_token_checks(void **state)
{
        struct secret_key *k = NULL, *other = NULL;
        char t[128], bad[128];

        (void)state;
        secret_key_random(32, NULL, &k, NULL);
        secret_key_random(32, NULL, &other, NULL);
        assert_int_equal(gw_csrf_new(k, 1000, t), 0);
        assert_true(gw_csrf_check(k, t, 1500, 3600));
        assert_false(gw_csrf_check(k, t, 1000 + 7200, 3600)); /* stale */
        assert_false(gw_csrf_check(other, t, 1500, 3600));    /* forged */
        snprintf(bad, sizeof(bad), "%s", t);
        bad[0] = bad[0] == '1' ? '2' : '1'; /* time changed */
        assert_false(gw_csrf_check(k, bad, 1500, 3600));
        assert_false(gw_csrf_check(k, NULL, 1500, 3600));
        assert_false(gw_csrf_check(k, "x.y", 1500, 3600));
        secret_key_free(k);
        secret_key_free(other);
}

static void
test_limiter_allows_burst_then_refuses(void **state)
{
        struct gw_limiter *l = gw_limiter_new(1.0, 3);
        int after = 0;

        (void)state;
        for (int i = 0; i < 3; i++)
                assert_true(gw_limiter_take(l, "10.0.0.1", 100.0, &after));
        assert_false(gw_limiter_take(l, "10.0.0.1", 100.0, &after));
        assert_int_equal(after, 1);
        assert_true(gw_limiter_take(l, "10.0.0.2", 100.0, &after));
        assert_true(gw_limiter_take(l, "10.0.0.1", 101.0, &after));
        assert_false(gw_limiter_take(l, "10.0.0.1", 101.1, &after));
        gw_limiter_free(l);
}

static void
test_limiter_retry_after_grows_with_slow_rate(void **state)
{
        struct gw_limiter *l = gw_limiter_new(0.1, 1);
        int after = 0;

        (void)state;
        assert_true(gw_limiter_take(l, "k", 0.0, &after));
        assert_false(gw_limiter_take(l, "k", 0.0, &after));
        assert_int_equal(after, 10);
        gw_limiter_free(l);
}

static void
test_catalogue_open_only_when_active_and_accepting(void **state)
{
        struct gw_catalogue *c = gw_catalogue_new();
        struct gw_service s = {.id = "a",
                               .status = "active",
                               .accepts_referrals = true},
                          out;

        (void)state;
        gw_catalogue_put(c, &s);
        assert_true(gw_catalogue_get(c, "a", &out));
        assert_true(gw_service_open(&out));
        s.accepts_referrals = false;
        gw_catalogue_put(c, &s);
        gw_catalogue_get(c, "a", &out);
        assert_false(gw_service_open(&out));
        assert_int_equal(gw_catalogue_count(c), 1);
        gw_catalogue_remove(c, "a");
        assert_false(gw_catalogue_get(c, "a", &out));
        gw_catalogue_free(c);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_html_escapes_every_value),
            cmocka_unit_test(test_form_decodes_fields),
            cmocka_unit_test(test_form_refuses_bad_encoding),
            cmocka_unit_test(test_csrf_token_checks),
            cmocka_unit_test(test_limiter_allows_burst_then_refuses),
            cmocka_unit_test(test_limiter_retry_after_grows_with_slow_rate),
            cmocka_unit_test(
                test_catalogue_open_only_when_active_and_accepting),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
