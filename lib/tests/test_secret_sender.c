/*
 * Boxes from a long-lived sender: they open with the recipient's key and
 * no other, tampering is caught, the ephemeral key rotates, and classic
 * sealed boxes keep opening through the same call.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "secret.h"

struct pair {
        unsigned char pk[SECRET_BOX_PK_BYTES];
        struct secret_key *sk;
};

static void
pair_new(struct pair *p)
{
        assert_int_equal(secret_box_keypair(p->pk, &p->sk, NULL), 0);
}

/* opens box with p and checks it reads want */
static void
assert_opens(const struct pair *p, const unsigned char *box, size_t len,
             const char *want)
{
        unsigned char *plain = NULL;
        size_t n = 0;

        assert_int_equal(
            secret_unseal(p->pk, p->sk, box, len, &plain, &n, NULL), 0);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(plain, want, n);
        assert_int_equal(plain[n], '\0');
        free(plain);
}

static void
test_sender_box_round_trip_and_only_recipient(void **state)
{
        struct pair a, b;
        struct secret_sender *s = NULL;
        unsigned char *box = NULL, *plain = NULL;
        size_t len = 0, n = 0;
        const char *msg = "{\"name\":\"Canary Person\"}";
        struct err e = {0};

        (void)state;
        pair_new(&a);
        pair_new(&b);
        assert_int_equal(secret_sender_new(a.pk, 0, &s, NULL), 0);
        assert_int_equal(secret_sender_seal(s, (const unsigned char *)msg,
                                            strlen(msg), &box, &len, NULL),
                         0);
        assert_int_equal(len, strlen(msg) + SECRET_SENDER_OVERHEAD);
        assert_null(memmem(box, len, "Canary", 6));
        assert_opens(&a, box, len, msg);
        assert_opens(&a, box, len, msg); /* again, from the cache */
        assert_int_equal(secret_unseal(b.pk, b.sk, box, len, &plain, &n, &e),
                         -1);
        assert_int_equal(e.kind, ERR_INVALID);
        box[len - 1] ^= 1;
        assert_int_equal(secret_unseal(a.pk, a.sk, box, len, &plain, &n, &e),
                         -1);
        box[len - 1] ^= 1;
        box[5] ^= 1; /* another ephemeral key: a different shared key */
        assert_int_equal(secret_unseal(a.pk, a.sk, box, len, &plain, &n, &e),
                         -1);
        free(box);
        secret_sender_free(s);
        secret_key_free(a.sk);
        secret_key_free(b.sk);
}

static void
test_two_boxes_differ_and_key_rotates(void **state)
{
        struct pair a;
        struct secret_sender *s = NULL;
        unsigned char *b1 = NULL, *b2 = NULL, *b3 = NULL;
        size_t l1, l2, l3;
        const unsigned char m[] = "same message";

        (void)state;
        pair_new(&a);
        assert_int_equal(secret_sender_new(a.pk, 1, &s, NULL), 0);
        assert_int_equal(
            secret_sender_seal(s, m, sizeof(m) - 1, &b1, &l1, NULL), 0);
        assert_int_equal(
            secret_sender_seal(s, m, sizeof(m) - 1, &b2, &l2, NULL), 0);
        /* same ephemeral key, fresh nonce: different boxes */
        assert_memory_equal(b1 + 1, b2 + 1, SECRET_BOX_PK_BYTES);
        assert_memory_not_equal(b1, b2, l1);
        sleep(2);
        assert_int_equal(
            secret_sender_seal(s, m, sizeof(m) - 1, &b3, &l3, NULL), 0);
        assert_memory_not_equal(b1 + 1, b3 + 1, SECRET_BOX_PK_BYTES);
        assert_opens(&a, b1, l1, "same message");
        assert_opens(&a, b3, l3, "same message");
        free(b1);
        free(b2);
        free(b3);
        secret_sender_free(s);
        secret_key_free(a.sk);
}

static void
test_classic_boxes_still_open(void **state)
{
        struct pair a;
        unsigned char *box = NULL;
        size_t len = 0;
        int tries = 0;
        const char *msg = "classic";

        (void)state;
        pair_new(&a);
        /* including one whose first byte looks like a sender's tag */
        do {
                free(box);
                assert_int_equal(secret_seal(a.pk, (const unsigned char *)msg,
                                             strlen(msg), &box, &len, NULL),
                                 0);
                assert_opens(&a, box, len, msg);
        } while (box[0] != 0x02 && ++tries < 5000);
        assert_int_equal(box[0], 0x02);
        free(box);
        secret_key_free(a.sk);
}

static void
test_many_senders_beyond_the_cache(void **state)
{
        struct pair a;
        enum { N = 40 };
        struct secret_sender *s[N];
        unsigned char *box[N];
        size_t len[N];

        (void)state;
        pair_new(&a);
        for (int i = 0; i < N; i++) {
                assert_int_equal(secret_sender_new(a.pk, 0, &s[i], NULL), 0);
                assert_int_equal(secret_sender_seal(s[i],
                                                    (const unsigned char *)"x",
                                                    1, &box[i], &len[i], NULL),
                                 0);
        }
        for (int round = 0; round < 2; round++)
                for (int i = 0; i < N; i++)
                        assert_opens(&a, box[i], len[i], "x");
        for (int i = 0; i < N; i++) {
                free(box[i]);
                secret_sender_free(s[i]);
        }
        secret_key_free(a.sk);
}

static void
test_sender_refuses_short_input(void **state)
{
        struct pair a;
        unsigned char junk[SECRET_SENDER_OVERHEAD] = {0x02}, *plain = NULL;
        size_t n = 0;

        (void)state;
        pair_new(&a);
        assert_int_equal(
            secret_unseal(a.pk, a.sk, junk, sizeof(junk), &plain, &n, NULL),
            -1);
        assert_int_equal(secret_unseal(a.pk, a.sk, junk, 10, &plain, &n, NULL),
                         -1);
        secret_key_free(a.sk);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_sender_box_round_trip_and_only_recipient),
            cmocka_unit_test(test_two_boxes_differ_and_key_rotates),
            cmocka_unit_test(test_classic_boxes_still_open),
            cmocka_unit_test(test_many_senders_beyond_the_cache),
            cmocka_unit_test(test_sender_refuses_short_input),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
