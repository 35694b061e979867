/*
 * test_audit: the access record's body carries codes and ids, and what is
 * about a person (a support reason, the subject of a consent read) only
 * sealed to reporting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "audit.h"

static unsigned char pk[SECRET_BOX_PK_BYTES];
static struct secret_key *sk;

static char *
text_of(json_t *j)
{
        char *t = json_dumps(j, JSON_COMPACT);

        json_decref(j);
        assert_non_null(t);
        return t;
}

/* opened: the sealed part of j, opened with reporting's key. */
static json_t *
opened(const json_t *j)
{
        const char *b64 = json_string_value(json_object_get(j, "sealed"));
        unsigned char *box = NULL, *plain = NULL;
        size_t n = 0, len = 0;
        json_t *part;

        assert_non_null(b64);
        assert_int_equal(secret_b64_decode(b64, &box, &n, NULL), 0);
        assert_int_equal(secret_unseal(pk, sk, box, n, &plain, &len, NULL), 0);
        part = json_loadb((const char *)plain, len, 0, NULL);
        free(box);
        free(plain);
        assert_non_null(part);
        return part;
}

static void
test_support_reason_sealed_not_in_the_clear(void **state)
{
        struct http_principal p = {.sub = "tok-1", .role = HTTP_ROLE_SUPPORT};
        struct audit_rec a = {.who = &p,
                              .what = "referral",
                              .id = "01a20b30-286b-718a-b023-b4f98821dead",
                              .request_id = "r1"};
        json_t *j, *part;
        char *t;

        (void)state;
        snprintf(p.reason, sizeof(p.reason), "ticket 99 CANARY-asthma");
        j = audit_json(&a, pk, NULL);
        assert_non_null(j);
        assert_string_equal(json_string_value(json_object_get(j, "why")),
                            "support_diagnosis");
        assert_string_equal(json_string_value(json_object_get(j, "outcome")),
                            "read");
        part = opened(j);
        assert_string_equal(json_string_value(json_object_get(part, "reason")),
                            "ticket 99 CANARY-asthma");
        json_decref(part);
        t = text_of(j);
        assert_null(strstr(t, "CANARY"));
        assert_non_null(strstr(t, "01a20b30-286b-718a-b023-b4f98821dead"));
        free(t);
}

static void
test_consent_read_names_its_subject_only_sealed(void **state)
{
        struct http_principal p = {.sub = "tok-2", .role = HTTP_ROLE_ADMIN};
        const char *subject = "0193a000-0000-7000-8000-00000000c0de";
        struct audit_rec a = {.who = &p,
                              .what = "consent_state",
                              .subject_id = subject,
                              .request_id = "r2"};
        json_t *j = audit_json(&a, pk, NULL), *part;
        char *t;

        (void)state;
        assert_non_null(j);
        assert_null(json_object_get(j, "id"));
        assert_string_equal(json_string_value(json_object_get(j, "why")),
                            "administration");
        part = opened(j);
        assert_string_equal(
            json_string_value(json_object_get(part, "subject_id")), subject);
        json_decref(part);
        t = text_of(j);
        assert_null(strstr(t, "c0de"));
        free(t);
}

static void
test_refusals_and_system_reads(void **state)
{
        struct http_principal anon = {.role = HTTP_ROLE_PUBLIC};
        struct audit_rec a = {.who = &anon,
                              .what = "referral",
                              .status = 401,
                              .request_id = "r3"};
        json_t *j;

        (void)state;
        j = audit_json(&a, pk, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "sub")),
                            "public");
        assert_string_equal(json_string_value(json_object_get(j, "why")),
                            "unauthenticated");
        assert_string_equal(json_string_value(json_object_get(j, "outcome")),
                            "refused");
        assert_int_equal(json_integer_value(json_object_get(j, "status")), 401);
        assert_null(json_object_get(j, "sealed"));
        json_decref(j);
        a = (struct audit_rec){.system_sub = "intake",
                               .what = "referral",
                               .id = "01a20b30-286b-718a-b023-b4f98821dead",
                               .why = "route_to_provider",
                               .request_id = "r4"};
        j = audit_json(&a, pk, NULL);
        assert_string_equal(json_string_value(json_object_get(j, "role")),
                            "system");
        assert_string_equal(json_string_value(json_object_get(j, "sub")),
                            "intake");
        assert_string_equal(json_string_value(json_object_get(j, "why")),
                            "route_to_provider");
        assert_null(json_object_get(j, "status"));
        json_decref(j);
        assert_string_equal(audit_why_of(HTTP_ROLE_PROVIDER), "provider_work");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_support_reason_sealed_not_in_the_clear),
            cmocka_unit_test(test_consent_read_names_its_subject_only_sealed),
            cmocka_unit_test(test_refusals_and_system_reads),
        };

        if (secret_box_keypair(pk, &sk, NULL) != 0)
                return 1;
        int rc = cmocka_run_group_tests(tests, NULL, NULL);
        secret_key_free(sk);
        return rc;
}
