/*
 * test_render: templates and the pure delivery rules: placeholders,
 * fallbacks, escaping, a missing value as a recorded failure; the consent
 * decision at send time; exponential backoff with jitter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../notification.h"

static json_t *
values(void)
{
        return json_pack("{s:s, s:s, s:i}", "name", "Ada <b>", "reference",
                         "SP-7KQ2-M4XD", "count", 3);
}

static void
test_placeholders_filled(void **state)
{
        json_t *v = values();
        char *s = notify_render_one("Hi {{name}}, ref {{reference}} x{{count}}",
                                    v, false, NULL);

        (void)state;
        assert_string_equal(s, "Hi Ada <b>, ref SP-7KQ2-M4XD x3");
        free(s);
        json_decref(v);
}

static void
test_missing_placeholder_is_error_naming_it(void **state)
{
        json_t *v = values();
        struct err e = {0};
        char *s = notify_render_one("For {{service_name}}", v, false, &e);

        (void)state;
        assert_null(s);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_string_equal(e.msg, "missing placeholder service_name");
        json_decref(v);
}

static void
test_fallback_used_when_absent(void **state)
{
        json_t *v = values();
        char *s = notify_render_one("Hello {{first|there}} {{name|x}}", v,
                                    false, NULL);

        (void)state;
        assert_string_equal(s, "Hello there Ada <b>");
        free(s);
        json_decref(v);
}

static void
test_html_values_escaped(void **state)
{
        json_t *v = values();
        char *s = notify_render_one("<p>{{name}}</p>", v, true, NULL);

        (void)state;
        assert_string_equal(s, "<p>Ada &lt;b&gt;</p>");
        free(s);
        json_decref(v);
}

static void
test_subject_cannot_add_header(void **state)
{
        struct notify_template t = {.subject = "Re {{name}}", .text = "x"};
        struct notify_rendered r;
        json_t *v = json_pack("{s:s}", "name", "a\r\nBcc: evil@example.org");

        (void)state;
        assert_int_equal(notify_render(&t, v, &r, NULL), 0);
        assert_null(strchr(r.subject, '\n'));
        assert_null(strchr(r.subject, '\r'));
        notify_rendered_fini(&r);
        json_decref(v);
}

static void
test_unterminated_placeholder_rejected(void **state)
{
        struct err e = {0};

        (void)state;
        assert_int_equal(notify_template_check("Hi {{name", &e), -1);
        assert_int_equal(notify_template_check("Hi {{na me}}", &e), -1);
        assert_int_equal(notify_template_check("Hi {{name}}", &e), 0);
}

static struct notify_view
person(const char *purpose, const char *standing)
{
        struct notify_view v = {.template = "feedback_request_person",
                                .audience = "person",
                                .purpose = purpose,
                                .has_subject = true,
                                .state_known = true,
                                .standing = standing,
                                .wait_limit_ms = 1000};
        return v;
}

static void
test_provider_always_goes(void **state)
{
        struct notify_view v = {.template = "new_referral_provider",
                                .audience = "provider"};
        const char *why;

        (void)state;
        assert_int_equal(notify_policy_decide(&v, &why), NOTIFY_SEND);
}

static void
test_person_granted_goes(void **state)
{
        struct notify_view v = person("feedback_requests", "granted");
        const char *why;

        (void)state;
        assert_int_equal(notify_policy_decide(&v, &why), NOTIFY_SEND);
}

static void
test_person_absent_or_withdrawn_suppressed(void **state)
{
        struct notify_view v = person("feedback_requests", NULL);
        const char *why;

        (void)state;
        assert_int_equal(notify_policy_decide(&v, &why), NOTIFY_SUPPRESS);
        assert_string_equal(why, "consent absent");
        v = person("feedback_requests", "withdrawn");
        assert_int_equal(notify_policy_decide(&v, &why), NOTIFY_SUPPRESS);
        assert_string_equal(why, "consent withdrawn");
}

static void
test_opt_out_overrides_grant(void **state)
{
        struct notify_view v = person("contact_about_service", "granted");
        const char *why;

        (void)state;
        v.opted_out = true;
        assert_int_equal(notify_policy_decide(&v, &why), NOTIFY_SUPPRESS);
        assert_string_equal(why, "opted out of all contact");
}

static void
test_unknown_state_waits_then_fails(void **state)
{
        struct notify_view v = person("feedback_requests", NULL);
        const char *why;

        (void)state;
        v.state_known = false;
        v.waited_ms = 10;
        assert_int_equal(notify_policy_decide(&v, &why), NOTIFY_WAIT);
        v.waited_ms = 5000;
        assert_int_equal(notify_policy_decide(&v, &why), NOTIFY_FAIL);
}

static void
test_code_goes_despite_opt_out(void **state)
{
        struct notify_view v = person(NULL, NULL);
        const char *why;

        (void)state;
        v.template = NOTIFY_CODE_TEMPLATE;
        v.opted_out = true;
        assert_int_equal(notify_policy_decide(&v, &why), NOTIFY_SEND);
}

static void
test_backoff_doubles_and_caps(void **state)
{
        (void)state;
        /* jitter 0 gives the lower half, just under 1 the full delay */
        assert_int_equal(notify_backoff_ms(1, 1000, 60000, 0), 500);
        assert_int_equal(notify_backoff_ms(2, 1000, 60000, 0), 1000);
        assert_int_equal(notify_backoff_ms(3, 1000, 60000, 0), 2000);
        assert_true(notify_backoff_ms(3, 1000, 60000, 0.999999) <= 4000);
        assert_true(notify_backoff_ms(3, 1000, 60000, 0.999999) > 3990);
        assert_int_equal(notify_backoff_ms(30, 1000, 60000, 0), 30000);
        assert_true(notify_backoff_ms(30, 1000, 60000, 0.999) <= 60000);
}

static void
test_backoff_jitter_spreads(void **state)
{
        int64_t a = notify_backoff_ms(4, 1000, 60000, 0.1);
        int64_t b = notify_backoff_ms(4, 1000, 60000, 0.9);

        (void)state;
        assert_true(a >= 4000 && a < 8000);
        assert_true(b > a);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_placeholders_filled),
            cmocka_unit_test(test_missing_placeholder_is_error_naming_it),
            cmocka_unit_test(test_fallback_used_when_absent),
            cmocka_unit_test(test_html_values_escaped),
            cmocka_unit_test(test_subject_cannot_add_header),
            cmocka_unit_test(test_unterminated_placeholder_rejected),
            cmocka_unit_test(test_provider_always_goes),
            cmocka_unit_test(test_person_granted_goes),
            cmocka_unit_test(test_person_absent_or_withdrawn_suppressed),
            cmocka_unit_test(test_opt_out_overrides_grant),
            cmocka_unit_test(test_unknown_state_waits_then_fails),
            cmocka_unit_test(test_code_goes_despite_opt_out),
            cmocka_unit_test(test_backoff_doubles_and_caps),
            cmocka_unit_test(test_backoff_jitter_spreads),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
