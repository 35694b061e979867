/*
 * test_uuid: text form, version and variant bits, v7 ordering, validation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uuid.h"

#define ORDER_N 10000

static void
assert_shape(const char *u)
{
        assert_int_equal(strlen(u), 36);
        for (size_t i = 0; i < 36; i++) {
                if (i == 8 || i == 13 || i == 18 || i == 23)
                        assert_int_equal(u[i], '-');
                else
                        assert_non_null(strchr("0123456789abcdef", u[i]));
        }
}

static void
test_v7_shape_version_variant(void **state)
{
        char u[UUID_STR_LEN];

        (void)state;
        for (int i = 0; i < 100; i++) {
                uuid_v7(u);
                assert_shape(u);
                assert_int_equal(u[14], '7');
                assert_non_null(strchr("89ab", u[19]));
                assert_true(uuid_valid(u));
        }
}

static void
test_v4_shape_version_variant(void **state)
{
        char u[UUID_STR_LEN], prev[UUID_STR_LEN] = "";

        (void)state;
        for (int i = 0; i < 100; i++) {
                uuid_v4(u);
                assert_shape(u);
                assert_int_equal(u[14], '4');
                assert_non_null(strchr("89ab", u[19]));
                assert_true(uuid_valid(u));
                assert_string_not_equal(u, prev);
                memcpy(prev, u, sizeof(prev));
        }
}

static void
test_v7_timestamp_is_now(void **state)
{
        char u[UUID_STR_LEN], v4[UUID_STR_LEN];
        int64_t ms, now;

        (void)state;
        uuid_v7(u);
        ms = uuid_v7_ms(u);
        now = (int64_t)time(NULL) * 1000;
        assert_true(ms + 5000 > now && ms < now + 5000);
        /* RFC 9562's example: 017f22e2-79b0-7cc3-98c4-dc0c0c07398f was
         * made at 0x017f22e279b0 ms, 2022-02-22T19:22:22Z */
        assert_int_equal(uuid_v7_ms("017F22E2-79B0-7CC3-98C4-DC0C0C07398F"),
                         0x017f22e279b0LL);
        uuid_v4(v4);
        assert_int_equal(uuid_v7_ms(v4), -1);
        assert_int_equal(uuid_v7_ms("017f22e2-79b0-7cc3-98c4"), -1);
        assert_int_equal(uuid_v7_ms(""), -1);
}

static void
test_v7_monotonic_tight_loop(void **state)
{
        char(*u)[UUID_STR_LEN] = calloc(ORDER_N, UUID_STR_LEN);

        (void)state;
        assert_non_null(u);
        for (int i = 0; i < ORDER_N; i++)
                uuid_v7(u[i]);
        for (int i = 1; i < ORDER_N; i++) {
                if (strcmp(u[i - 1], u[i]) >= 0)
                        fail_msg("uuid %d (%s) not after %s", i, u[i],
                                 u[i - 1]);
        }
        free(u);
}

struct worker {
        char u[ORDER_N / 4][UUID_STR_LEN];
};

static void *
worker_run(void *arg)
{
        struct worker *w = arg;

        for (int i = 0; i < ORDER_N / 4; i++)
                uuid_v7(w->u[i]);
        return NULL;
}

static int
cmp_str(const void *a, const void *b)
{
        return strcmp(a, b);
}

static void
test_v7_threads_distinct_and_ordered(void **state)
{
        struct worker *w = calloc(4, sizeof(*w));
        char(*all)[UUID_STR_LEN] = (char(*)[UUID_STR_LEN])(void *)w;
        pthread_t t[4];

        (void)state;
        assert_non_null(w);
        for (int i = 0; i < 4; i++)
                assert_int_equal(pthread_create(&t[i], NULL, worker_run, &w[i]),
                                 0);
        for (int i = 0; i < 4; i++)
                pthread_join(t[i], NULL);
        for (int i = 0; i < 4; i++) {
                for (int j = 1; j < ORDER_N / 4; j++)
                        assert_true(strcmp(w[i].u[j - 1], w[i].u[j]) < 0);
        }
        /* The four workers' arrays are contiguous: sort them as one. */
        qsort(all, (size_t)ORDER_N, UUID_STR_LEN, cmp_str);
        for (int j = 1; j < ORDER_N; j++)
                assert_string_not_equal(all[j - 1], all[j]);
        free(w);
}

static void
test_valid_accepts(void **state)
{
        (void)state;
        assert_true(uuid_valid("0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"));
        assert_true(uuid_valid("550E8400-E29B-41D4-A716-446655440000"));
        assert_true(uuid_valid("00000000-0000-0000-0000-000000000000"));
        assert_true(uuid_valid("ffffffff-ffff-ffff-ffff-ffffffffffff"));
}

static void
test_valid_rejects(void **state)
{
        static const char *const bad[] = {
            "",
            "not-a-uuid",
            "0193a1b2c3d47e5f8a6b7c8d9e0f1a2b",       /* no hyphens */
            "0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2",    /* short */
            "0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2bc",  /* long */
            "0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2g",   /* non-hex */
            "0193a1b2-c3d4-7e5f-ca6b-7c8d9e0f1a2b",   /* variant 110 */
            "0193a1b2-c3d4-0e5f-8a6b-7c8d9e0f1a2b",   /* version 0 */
            "0193a1b2-c3d4-9e5f-8a6b-7c8d9e0f1a2b",   /* version 9 */
            "0193a1b2-c3d47-e5f-8a6b-7c8d9e0f1a2b",   /* misplaced */
            "{0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b}", /* braces */
            " 0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b",  /* space */
        };

        (void)state;
        assert_false(uuid_valid(NULL));
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (uuid_valid(bad[i]))
                        fail_msg("accepted \"%s\"", bad[i]);
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_v7_shape_version_variant),
            cmocka_unit_test(test_v4_shape_version_variant),
            cmocka_unit_test(test_v7_timestamp_is_now),
            cmocka_unit_test(test_v7_monotonic_tight_loop),
            cmocka_unit_test(test_v7_threads_distinct_and_ordered),
            cmocka_unit_test(test_valid_accepts),
            cmocka_unit_test(test_valid_rejects),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
