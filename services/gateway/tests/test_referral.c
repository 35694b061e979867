/*
 * test_referral: what a submission must look like, the values it checks,
 * references and status secrets, and the message that leaves for intake
 * (personal data only inside the sealed part, which intake's key opens).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../gateway.h"

#define SVC "6f0c6c3e-2f7a-4d6b-9a57-0c1f0e7a0010"

static json_t *
body(const char *text)
{
        json_t *j = json_loads(text, 0, NULL);

        assert_non_null(j);
        return j;
}

static json_t *
good_self(void)
{
        return body("{\"service_id\":\"" SVC "\",\"kind\":\"self\","
                    "\"person\":{\"name\":\"Ann\",\"phone\":\"07700 900123\"},"
                    "\"consents\":{\"share_with_provider\":true}}");
}

/* check: runs gw_referral_check on text; returns kind, field in f. */
static enum err_kind
check(const char *text, char field[64])
{
        json_t *j = body(text);
        struct err e = {0};

        gw_referral_check(j, &e);
        json_decref(j);
        snprintf(field, 64, "%s", e.field);
        return e.kind;
}

static void
test_good_kinds_pass(void **state)
{
        char f[64];

        (void)state;
        assert_int_equal(
            check("{\"service_id\":\"" SVC "\",\"kind\":\"self\",\"person\":{"
                  "\"name\":\"A\",\"email\":\"a@example.org\"},\"consents\":{"
                  "\"share_with_provider\":true}}",
                  f),
            ERR_NONE);
        assert_int_equal(
            check("{\"service_id\":\"" SVC "\",\"kind\":\"on_behalf\","
                  "\"person\":{\"name\":\"A\",\"address\":\"1 High St\"},"
                  "\"referrer\":{\"name\":\"B\",\"relationship\":\"son\","
                  "\"phone\":\"020 7946 0000\"},\"consents\":{"
                  "\"share_with_provider\":true}}",
                  f),
            ERR_NONE);
        assert_int_equal(
            check("{\"service_id\":\"" SVC "\",\"kind\":\"professional\","
                  "\"person\":{\"name\":\"A\",\"phone\":\"+447700900123\"},"
                  "\"referrer\":{\"name\":\"B\",\"organisation\":\"GP\","
                  "\"role\":\"nurse\",\"email\":\"b@nhs.example\"},"
                  "\"special_category\":{\"health\":\"x\"},"
                  "\"share_special_category\":[\"health\"],"
                  "\"consents\":{\"share_with_provider\":true}}",
                  f),
            ERR_NONE);
}

static void
test_unknown_field_named_as_shape_error(void **state)
{
        char f[64];

        (void)state;
        assert_int_equal(check("{\"service_id\":\"" SVC "\",\"kind\":\"self\","
                               "\"person\":{\"name\":\"A\",\"age\":3,"
                               "\"phone\":\"07700900123\"},\"consents\":{"
                               "\"share_with_provider\":true}}",
                               f),
                         ERR_INVALID);
        assert_string_equal(f, "person.age");
        assert_int_equal(check("{\"zzz\":1}", f), ERR_INVALID);
        assert_string_equal(f, "zzz");
}

static void
test_missing_consent_is_unacceptable(void **state)
{
        char f[64];

        (void)state;
        assert_int_equal(check("{\"service_id\":\"" SVC "\",\"kind\":\"self\","
                               "\"person\":{\"name\":\"A\",\"phone\":"
                               "\"07700900123\"}}",
                               f),
                         ERR_CONFLICT);
        assert_string_equal(f, "consents.share_with_provider");
}

static void
test_bad_values_name_their_field(void **state)
{
        char f[64];

        (void)state;
        assert_int_equal(check("{\"service_id\":\"" SVC "\",\"kind\":\"self\","
                               "\"person\":{\"name\":\"A\",\"email\":\"a@b\"},"
                               "\"consents\":{\"share_with_provider\":true}}",
                               f),
                         ERR_CONFLICT);
        assert_string_equal(f, "person.email");
        assert_int_equal(
            check("{\"service_id\":\"" SVC "\",\"kind\":\"on_behalf\","
                  "\"person\":{\"name\":\"A\",\"email\":\"a@b.org\"},"
                  "\"referrer\":{\"name\":\"B\",\"relationship\":\"x\","
                  "\"phone\":\"555-1234\"},\"consents\":{"
                  "\"share_with_provider\":true}}",
                  f),
            ERR_CONFLICT);
        assert_string_equal(f, "referrer.phone");
        assert_int_equal(
            check("{\"service_id\":\"nope\",\"kind\":\"self\"}", f),
            ERR_CONFLICT);
        assert_string_equal(f, "service_id");
        assert_int_equal(
            check("{\"service_id\":\"" SVC "\",\"kind\":\"x\"}", f),
            ERR_CONFLICT);
        assert_string_equal(f, "kind");
}

static void
test_self_referral_has_no_referrer(void **state)
{
        char f[64];

        (void)state;
        assert_int_equal(check("{\"service_id\":\"" SVC "\",\"kind\":\"self\","
                               "\"person\":{\"name\":\"A\",\"phone\":"
                               "\"07700900123\"},\"referrer\":{\"name\":\"B\"}"
                               ",\"consents\":{\"share_with_provider\":true}}",
                               f),
                         ERR_CONFLICT);
        assert_string_equal(f, "referrer");
}

static void
test_share_names_given_fields_only(void **state)
{
        char f[64];

        (void)state;
        assert_int_equal(check("{\"service_id\":\"" SVC "\",\"kind\":\"self\","
                               "\"person\":{\"name\":\"A\",\"phone\":"
                               "\"07700900123\"},\"share_special_category\":"
                               "[\"health\"],\"consents\":{"
                               "\"share_with_provider\":true}}",
                               f),
                         ERR_CONFLICT);
        assert_string_equal(f, "share_special_category");
}

static void
test_value_checks(void **state)
{
        (void)state;
        assert_true(gw_valid_email("ann.smith+x@example.co.uk"));
        assert_false(gw_valid_email("ann@example"));
        assert_false(gw_valid_email("ann smith@example.org"));
        assert_false(gw_valid_email("@example.org"));
        assert_true(gw_valid_uk_phone("07700 900123"));
        assert_true(gw_valid_uk_phone("+44 (0)20 7946 0000"));
        assert_false(gw_valid_uk_phone("+1 212 555 0100"));
        assert_false(gw_valid_uk_phone("12345"));
        assert_true(gw_valid_postcode("KT1 1EU"));
        assert_true(gw_valid_postcode("sw1a1aa"));
        assert_true(gw_valid_postcode("M1 1AE"));
        assert_false(gw_valid_postcode("NOT A PC"));
        assert_false(gw_valid_postcode("KT1"));
}

/* A reference is the referral id's, under the key: the same id gives the
 * same reference, another id or another key another one, and every one
 * is in the unambiguous alphabet. */
static void
test_references_are_unambiguous_and_per_referral(void **state)
{
        struct secret_key *k = NULL, *k2 = NULL;
        char a[GW_REFERENCE_LEN], b[GW_REFERENCE_LEN], id[UUID_STR_LEN];
        int differ = 0;

        (void)state;
        assert_int_equal(secret_key_random(32, NULL, &k, NULL), 0);
        assert_int_equal(secret_key_random(32, NULL, &k2, NULL), 0);
        for (int i = 0; i < 200; i++) {
                uuid_v7(id);
                assert_int_equal(gw_reference_of(k, id, a, NULL), 0);
                assert_true(gw_reference_valid(a));
                assert_null(strpbrk(a + 3, "01OILU"));
                assert_int_equal(gw_reference_of(k, id, b, NULL), 0);
                assert_string_equal(a, b);
                assert_int_equal(gw_reference_of(k2, id, b, NULL), 0);
                differ += strcmp(a, b) != 0;
        }
        assert_true(differ >= 199);
        assert_int_equal(
            gw_reference_of(k, "01a20b30-286b-718a-b023-b4f988210c62", a, NULL),
            0);
        assert_int_equal(
            gw_reference_of(k, "01a20b30-286b-718a-b023-b4f988210c63", b, NULL),
            0);
        assert_string_not_equal(a, b);
        assert_false(gw_reference_valid("SP-0000-0000"));
        secret_key_free(k);
        secret_key_free(k2);
}

static void
test_status_secret_is_stable_per_referral(void **state)
{
        struct secret_key *k = NULL;
        char s1[GW_STATUS_SECRET_LEN], s2[GW_STATUS_SECRET_LEN];
        char s3[GW_STATUS_SECRET_LEN], h[SECRET_HEX_LEN];

        (void)state;
        assert_int_equal(secret_key_random(32, NULL, &k, NULL), 0);
        gw_status_secret(k, "01a20b30-286b-718a-b023-b4f988210c62", s1, NULL);
        gw_status_secret(k, "01a20b30-286b-718a-b023-b4f988210c62", s2, NULL);
        gw_status_secret(k, "01a20b30-286b-718a-b023-b4f988210c63", s3, NULL);
        assert_string_equal(s1, s2);
        assert_string_not_equal(s1, s3);
        assert_int_equal(strlen(s1), 32);
        gw_status_secret_hash(s1, h);
        assert_int_equal(strlen(h), 64);
        assert_null(strstr(h, s1));
        secret_key_free(k);
}

static void
test_message_seals_personal_data_to_intake(void **state)
{
        unsigned char pk[SECRET_BOX_PK_BYTES], *box = NULL, *plain = NULL;
        struct secret_key *sk = NULL;
        json_t *b = good_self(), *m, *inner;
        size_t boxlen = 0, plen = 0;
        char *text;

        (void)state;
        struct secret_sender *to = NULL;

        assert_int_equal(secret_box_keypair(pk, &sk, NULL), 0);
        assert_int_equal(secret_sender_new(pk, 0, &to, NULL), 0);
        text =
            gw_referral_message(b, "01a20b30-286b-718a-b023-b4f988210c62",
                                "SP-2345-6789", "ab", "2026-11-01", to, NULL);
        secret_sender_free(to);
        assert_non_null(text);
        assert_null(strstr(text, "Ann"));
        assert_null(strstr(text, "07700"));
        m = body(text);
        assert_string_equal(json_string_value(json_object_get(m, "kind")),
                            "self");
        assert_true(json_is_true(json_object_get(json_object_get(m, "consents"),
                                                 "contact_about_service")));
        assert_int_equal(
            secret_b64_decode(json_string_value(json_object_get(m, "sealed")),
                              &box, &boxlen, NULL),
            0);
        assert_int_equal(
            secret_unseal(pk, sk, box, boxlen, &plain, &plen, NULL), 0);
        inner = body((char *)plain);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(inner, "person"), "name")),
                            "Ann");
        json_decref(inner);
        json_decref(m);
        json_decref(b);
        free(text);
        free(box);
        free(plain);
        secret_key_free(sk);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_good_kinds_pass),
            cmocka_unit_test(test_unknown_field_named_as_shape_error),
            cmocka_unit_test(test_missing_consent_is_unacceptable),
            cmocka_unit_test(test_bad_values_name_their_field),
            cmocka_unit_test(test_self_referral_has_no_referrer),
            cmocka_unit_test(test_share_names_given_fields_only),
            cmocka_unit_test(test_value_checks),
            cmocka_unit_test(test_references_are_unambiguous_and_per_referral),
            cmocka_unit_test(test_status_secret_is_stable_per_referral),
            cmocka_unit_test(test_message_seals_personal_data_to_intake),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
