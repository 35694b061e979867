/*
 * Short-lived keys (data keys) come from a pool of guarded slots, are
 * wiped when freed, and keep working when the pool runs out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "secret.h"
#include "secret_int.h"

static struct secret_keyring *
ring(void)
{
        struct secret_keyring *kr = secret_keyring_new();
        struct secret_key *kek = NULL;

        assert_int_equal(secret_key_random(SECRET_KEY_BYTES, "k1", &kek, NULL),
                         0);
        assert_int_equal(secret_keyring_add(kr, kek, true, NULL), 0);
        return kr;
}

static void
test_data_keys_come_from_pool_and_are_wiped(void **state)
{
        struct secret_keyring *kr = ring();
        struct secret_key *dek = NULL;
        size_t before = secret_pool_free_slots();
        char *wrapped = NULL;
        unsigned char copy[SECRET_KEY_BYTES], zero[SECRET_KEY_BYTES] = {0};

        (void)state;
        assert_int_equal(secret_dek_new(kr, &dek, &wrapped, NULL), 0);
        assert_true(secret_pool_owns(dek));
        assert_int_equal(secret_pool_free_slots(), before - 1);
        memcpy(copy, dek->bytes, sizeof(copy));
        assert_memory_not_equal(copy, zero, sizeof(zero));
        struct secret_key *slot = dek;
        secret_key_free(dek);
        assert_int_equal(secret_pool_free_slots(), before);
        /* the slot itself was wiped, not merely handed back */
        assert_memory_equal(slot->bytes, zero, sizeof(zero));
        assert_int_equal(slot->len, 0);
        /* unwrapping gives the same key back, in a pool slot */
        assert_int_equal(secret_dek_unwrap(kr, wrapped, &dek, NULL), 0);
        assert_true(secret_pool_owns(dek));
        assert_memory_equal(dek->bytes, copy, sizeof(copy));
        secret_key_free(dek);
        free(wrapped);
        secret_keyring_free(kr);
}

static void
test_exhausted_pool_falls_back(void **state)
{
        struct secret_keyring *kr = ring();
        size_t n = secret_pool_free_slots() + 3, i;
        struct secret_key **deks = calloc(n, sizeof(*deks));
        unsigned char msg[] = "still encrypts", *ct = NULL, *pt = NULL;
        size_t ctlen = 0, ptlen = 0;

        (void)state;
        for (i = 0; i < n; i++) {
                char *wrapped = NULL;
                assert_int_equal(secret_dek_new(kr, &deks[i], &wrapped, NULL),
                                 0);
                free(wrapped);
        }
        assert_int_equal(secret_pool_free_slots(), 0);
        assert_false(secret_pool_owns(deks[n - 1]));
        assert_int_equal(secret_aead_encrypt(deks[n - 1], msg, sizeof(msg),
                                             "ad", &ct, &ctlen, NULL),
                         0);
        assert_int_equal(secret_aead_decrypt(deks[n - 1], ct, ctlen, "ad", &pt,
                                             &ptlen, NULL),
                         0);
        assert_memory_equal(pt, msg, sizeof(msg));
        for (i = 0; i < n; i++)
                secret_key_free(deks[i]);
        assert_int_equal(secret_pool_free_slots(), n - 3);
        free(ct);
        free(pt);
        free(deks);
        secret_keyring_free(kr);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_data_keys_come_from_pool_and_are_wiped),
            cmocka_unit_test(test_exhausted_pool_falls_back),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
