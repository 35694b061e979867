/*
 * test_secret_dek: envelope encryption - AEAD under a data key, wrapping
 * DEKs under a keyring of KEKs, rotation and rewrap.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "secret.h"
#include "testenv.h"

static const char msg[] = "{\"name\":\"Ada\",\"phone\":\"07700 900123\"}";
#define MSG_LEN (sizeof(msg) - 1)

static void
tmp_path(const char *tag, char *out, size_t outsz)
{
        static int seq;

        snprintf(out, outsz, "%s/secret-dek-%d-%d-%s", testenv_tmp(),
                 (int)getpid(), seq++, tag);
        unlink(out);
}

static struct secret_key *
random_key(const char *id)
{
        struct secret_key *k = NULL;

        assert_int_equal(secret_key_random(SECRET_KEY_BYTES, id, &k, NULL), 0);
        return k;
}

static void
test_aead_round_trip_and_tamper(void **state)
{
        struct secret_key *dek = random_key(NULL);
        unsigned char *ct = NULL, *pt = NULL;
        size_t ctlen = 0, n = 0;
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_aead_encrypt(dek, (const unsigned char *)msg,
                                             MSG_LEN, "ref-1", &ct, &ctlen, &e),
                         0);
        assert_int_equal(ctlen, MSG_LEN + SECRET_AEAD_OVERHEAD);
        assert_int_equal(
            secret_aead_decrypt(dek, ct, ctlen, "ref-1", &pt, &n, &e), 0);
        assert_string_equal((char *)pt, msg);
        free(pt);
        for (size_t i = 0; i < ctlen; i += 7) {
                ct[i] ^= 0x80;
                assert_int_equal(
                    secret_aead_decrypt(dek, ct, ctlen, "ref-1", &pt, &n, &e),
                    -1);
                assert_int_equal(e.kind, ERR_INVALID);
                ct[i] ^= 0x80;
        }
        assert_int_equal(secret_aead_decrypt(dek, ct, 39, "ref-1", &pt, &n, &e),
                         -1);
        free(ct);
        secret_key_free(dek);
}

static void
test_aead_wrong_ad_or_key_fails(void **state)
{
        struct secret_key *dek = random_key(NULL), *other = random_key(NULL);
        unsigned char *ct = NULL, *pt = NULL;
        size_t ctlen = 0, n = 0;
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_aead_encrypt(dek, (const unsigned char *)msg,
                                             MSG_LEN, "ref-1", &ct, &ctlen, &e),
                         0);
        assert_int_equal(
            secret_aead_decrypt(dek, ct, ctlen, "ref-2", &pt, &n, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_int_equal(secret_aead_decrypt(dek, ct, ctlen, NULL, &pt, &n, &e),
                         -1);
        assert_int_equal(
            secret_aead_decrypt(other, ct, ctlen, "ref-1", &pt, &n, &e), -1);
        free(ct);
        secret_key_free(dek);
        secret_key_free(other);
}

static struct secret_keyring *
ring_of(const char *kid)
{
        struct secret_keyring *kr = secret_keyring_new();

        assert_non_null(kr);
        assert_int_equal(secret_keyring_add(kr, random_key(kid), true, NULL),
                         0);
        return kr;
}

static void
test_dek_wrap_unwrap(void **state)
{
        struct secret_keyring *kr = ring_of("k1");
        struct secret_key *dek = NULL, *back = NULL;
        char *wrapped = NULL, *p;
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_dek_new(kr, &dek, &wrapped, &e), 0);
        assert_int_equal(strncmp(wrapped, "k1:", 3), 0);
        assert_true(secret_dek_is_current(kr, wrapped));
        assert_int_equal(secret_dek_unwrap(kr, wrapped, &back, &e), 0);
        assert_int_equal(back->len, SECRET_KEY_BYTES);
        assert_memory_equal(back->bytes, dek->bytes, SECRET_KEY_BYTES);
        secret_key_free(back);
        p = &wrapped[strlen(wrapped) - 5]; /* a middle base64url char */
        *p = *p == 'A' ? 'B' : 'A';
        assert_int_equal(secret_dek_unwrap(kr, wrapped, &back, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_int_equal(secret_dek_unwrap(kr, "k1", &back, &e), -1);
        assert_int_equal(secret_dek_unwrap(kr, "k1:AAAA", &back, &e), -1);
        free(wrapped);
        secret_key_free(dek);
        secret_keyring_free(kr);
}

static void
test_dek_wrong_kek_or_relabel_fails(void **state)
{
        struct secret_keyring *a = ring_of("k1"), *b = ring_of("k1");
        struct secret_keyring *c = ring_of("k2");
        struct secret_key *back = NULL;
        char *wrapped = NULL, *relabel;
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_dek_new(a, NULL, &wrapped, &e), 0);
        assert_int_equal(secret_dek_unwrap(b, wrapped, &back, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_int_equal(secret_dek_unwrap(c, wrapped, &back, &e), -1);
        assert_int_equal(e.kind, ERR_NOT_FOUND);
        /* the same bytes under another key's id fail authentication */
        assert_int_equal(secret_keyring_add(a, random_key("k2"), false, &e), 0);
        relabel = strdup(wrapped);
        relabel[1] = '2';
        assert_int_equal(secret_dek_unwrap(a, relabel, &back, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        free(relabel);
        free(wrapped);
        secret_keyring_free(a);
        secret_keyring_free(b);
        secret_keyring_free(c);
}

static void
test_dek_rewrap_after_rotation(void **state)
{
        struct secret_keyring *kr = ring_of("k1");
        struct secret_key *k2 = random_key("k2"), *dek = NULL, *back = NULL;
        unsigned char *ct = NULL, *pt = NULL;
        char *w1 = NULL, *w2 = NULL;
        size_t ctlen = 0, n = 0;

        (void)state;
        assert_int_equal(secret_dek_new(kr, &dek, &w1, NULL), 0);
        assert_int_equal(secret_aead_encrypt(dek, (const unsigned char *)msg,
                                             MSG_LEN, "r", &ct, &ctlen, NULL),
                         0);
        assert_int_equal(secret_keyring_add(kr, k2, true, NULL), 0);
        assert_string_equal(secret_keyring_current(kr), "k2");
        assert_false(secret_dek_is_current(kr, w1));
        assert_int_equal(secret_dek_rewrap(kr, w1, &w2, NULL), 0);
        assert_int_equal(strncmp(w2, "k2:", 3), 0);
        assert_true(secret_dek_is_current(kr, w2));
        assert_int_equal(secret_dek_unwrap(kr, w2, &back, NULL), 0);
        assert_int_equal(
            secret_aead_decrypt(back, ct, ctlen, "r", &pt, &n, NULL), 0);
        assert_string_equal((char *)pt, msg);
        free(pt);
        free(ct);
        free(w1);
        free(w2);
        secret_key_free(dek);
        secret_key_free(back);
        secret_keyring_free(kr);
}

static void
test_keyring_load_spec(void **state)
{
        char p1[512], p2[512], spec[1100];
        struct secret_keyring *kr = NULL;
        struct err e = {0};

        (void)state;
        tmp_path("ring-k2", p2, sizeof(p2));
        tmp_path("ring-k1", p1, sizeof(p1));
        assert_int_equal(secret_key_file_new(p1, 32, NULL), 0);
        assert_int_equal(secret_key_file_new(p2, 32, NULL), 0);
        snprintf(spec, sizeof(spec), "k2=%s,k1=%s", p2, p1);
        assert_int_equal(secret_keyring_load(spec, &kr, &e), 0);
        assert_string_equal(secret_keyring_current(kr), "k2");
        secret_keyring_free(kr);
        snprintf(spec, sizeof(spec), "k1=%s,k1=%s", p2, p1);
        assert_int_equal(secret_keyring_load(spec, &kr, &e), -1);
        assert_int_equal(secret_keyring_load("k1", &kr, &e), -1);
        assert_int_equal(secret_keyring_load("", &kr, &e), -1);
        unlink(p1);
        unlink(p2);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_aead_round_trip_and_tamper),
            cmocka_unit_test(test_aead_wrong_ad_or_key_fails),
            cmocka_unit_test(test_dek_wrap_unwrap),
            cmocka_unit_test(test_dek_wrong_kek_or_relabel_fails),
            cmocka_unit_test(test_dek_rewrap_after_rotation),
            cmocka_unit_test(test_keyring_load_spec),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
