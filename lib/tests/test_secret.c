/*
 * test_secret: sealed boxes, base64, key files, blind indexes, API tokens
 * and signatures (envelope encryption: test_secret_dek.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "secret.h"
#include "testenv.h"

static const char msg[] = "{\"name\":\"Ada\",\"phone\":\"07700 900123\"}";
#define MSG_LEN (sizeof(msg) - 1)

/* tmp_path: a fresh file name in the test scratch directory. */
static void
tmp_path(const char *tag, char *out, size_t outsz)
{
        static int seq;

        snprintf(out, outsz, "%s/secret-%d-%d-%s", testenv_tmp(), (int)getpid(),
                 seq++, tag);
        unlink(out);
}

static void
write_file(const char *path, const void *data, size_t len, mode_t mode)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

        assert_true(fd >= 0);
        assert_int_equal(fchmod(fd, mode), 0);
        assert_int_equal(write(fd, data, len), (ssize_t)len);
        close(fd);
}

static struct secret_key *
random_key(const char *id)
{
        struct secret_key *k = NULL;

        assert_int_equal(secret_key_random(SECRET_KEY_BYTES, id, &k, NULL), 0);
        return k;
}

static void
test_b64_round_trip(void **state)
{
        unsigned char bin[256], *back = NULL;
        size_t n = 0;

        (void)state;
        for (size_t i = 0; i < sizeof(bin); i++)
                bin[i] = (unsigned char)i;
        for (size_t len = 0; len < 10; len++) {
                char *s = secret_b64_encode(bin + 250 - len, len);

                assert_non_null(s);
                assert_null(strpbrk(s, "+/="));
                assert_int_equal(secret_b64_decode(s, &back, &n, NULL), 0);
                assert_int_equal(n, len);
                assert_memory_equal(back, bin + 250 - len, len);
                free(back);
                free(s);
        }
}

static void
test_b64_rejects_padding_and_junk(void **state)
{
        unsigned char *back = NULL;
        size_t n = 0;
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_b64_decode("aGk=", &back, &n, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_int_equal(secret_b64_decode("aG k", &back, &n, &e), -1);
        assert_int_equal(secret_b64_decode("a+/k", &back, &n, &e), -1);
        assert_int_equal(secret_b64_decode("aGk", &back, &n, &e), 0);
        assert_int_equal(n, 2);
        assert_memory_equal(back, "hi", 2);
        free(back);
}

static void
test_seal_round_trip_and_tamper(void **state)
{
        unsigned char pk[SECRET_BOX_PK_BYTES], *box = NULL, *open = NULL;
        struct secret_key *sk = NULL;
        size_t boxlen = 0, n = 0;
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_box_keypair(pk, &sk, &e), 0);
        assert_int_equal(secret_seal(pk, (const unsigned char *)msg, MSG_LEN,
                                     &box, &boxlen, &e),
                         0);
        assert_int_equal(boxlen, MSG_LEN + SECRET_SEAL_OVERHEAD);
        assert_null(memmem(box, boxlen, "Ada", 3));
        assert_int_equal(secret_unseal(pk, sk, box, boxlen, &open, &n, &e), 0);
        assert_int_equal(n, MSG_LEN);
        assert_string_equal((char *)open, msg);
        free(open);
        box[boxlen / 2] ^= 0x01;
        assert_int_equal(secret_unseal(pk, sk, box, boxlen, &open, &n, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        free(box);
        secret_key_free(sk);
}

/* An authenticated box opens only with the sender's public key: a third
 * key pair cannot make one that passes for the sender's. */
static void
test_box_binds_sender(void **state)
{
        unsigned char spk[SECRET_BOX_PK_BYTES], rpk[SECRET_BOX_PK_BYTES];
        unsigned char xpk[SECRET_BOX_PK_BYTES], *box = NULL, *open = NULL;
        struct secret_key *ssk = NULL, *rsk = NULL, *xsk = NULL;
        size_t boxlen = 0, n = 0;
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_box_keypair(spk, &ssk, &e), 0);
        assert_int_equal(secret_box_keypair(rpk, &rsk, &e), 0);
        assert_int_equal(secret_box_keypair(xpk, &xsk, &e), 0);
        assert_int_equal(secret_box_to(rpk, ssk, (const unsigned char *)msg,
                                       MSG_LEN, &box, &boxlen, &e),
                         0);
        assert_int_equal(boxlen, MSG_LEN + SECRET_BOX_OVERHEAD);
        assert_null(memmem(box, boxlen, "Ada", 3));
        assert_int_equal(secret_box_from(spk, rsk, box, boxlen, &open, &n, &e),
                         0);
        assert_int_equal(n, MSG_LEN);
        assert_string_equal((char *)open, msg);
        free(open);
        /* the same box, claimed to come from another key */
        assert_int_equal(secret_box_from(xpk, rsk, box, boxlen, &open, &n, &e),
                         -1);
        assert_int_equal(e.kind, ERR_INVALID);
        box[boxlen - 1] ^= 0x01;
        assert_int_equal(secret_box_from(spk, rsk, box, boxlen, &open, &n, &e),
                         -1);
        assert_int_equal(secret_box_from(spk, rsk, box, 8, &open, &n, &e), -1);
        free(box);
        secret_key_free(ssk);
        secret_key_free(rsk);
        secret_key_free(xsk);
}

static void
test_seal_wrong_key_fails(void **state)
{
        unsigned char pk1[SECRET_BOX_PK_BYTES], pk2[SECRET_BOX_PK_BYTES];
        unsigned char *box = NULL, *open = NULL;
        struct secret_key *sk1 = NULL, *sk2 = NULL;
        size_t boxlen = 0, n = 0;
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_box_keypair(pk1, &sk1, &e), 0);
        assert_int_equal(secret_box_keypair(pk2, &sk2, &e), 0);
        assert_int_equal(secret_seal(pk1, (const unsigned char *)msg, MSG_LEN,
                                     &box, &boxlen, &e),
                         0);
        assert_int_equal(secret_unseal(pk2, sk2, box, boxlen, &open, &n, &e),
                         -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_int_equal(secret_unseal(pk1, sk1, box, 10, &open, &n, &e), -1);
        free(box);
        secret_key_free(sk1);
        secret_key_free(sk2);
}

static void
test_key_file_new_then_load(void **state)
{
        char path[512];
        struct stat st;
        struct secret_key *k1 = NULL, *k2 = NULL;
        struct err e = {0};

        (void)state;
        tmp_path("kek", path, sizeof(path));
        assert_int_equal(secret_key_file_new(path, 32, &e), 0);
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        assert_int_equal(secret_key_load(path, 32, "k1", &k1, &e), 0);
        assert_int_equal(k1->len, 32);
        assert_string_equal(k1->id, "k1");
        /* never overwrites an existing key */
        assert_int_equal(secret_key_file_new(path, 32, &e), -1);
        assert_int_equal(e.kind, ERR_CONFLICT);
        assert_int_equal(secret_key_load(path, 32, NULL, &k2, &e), 0);
        assert_memory_equal(k1->bytes, k2->bytes, 32);
        secret_key_free(k1);
        secret_key_free(k2);
        unlink(path);
}

/* key_bytes: 32 bytes whose base64 uses all four of + / - _ (0xfb 0xef
 * 0xff is "++//" in the standard alphabet, "--__" in the URL-safe one). */
static void
key_bytes(unsigned char k[32])
{
        static const unsigned char pat[] = {0xfb, 0xef, 0xff};

        for (int i = 0; i < 32; i++)
                k[i] = i < 30 ? pat[i % 3] : (unsigned char)i;
}

/* key_b64: k as base64 in variant (sodium_base64_VARIANT_*). */
static void
key_b64(const unsigned char k[32], int variant, char *out, size_t outsz)
{
        assert_non_null(sodium_bin2base64(out, outsz, k, 32, variant));
}

/* Every variant of key text, with white space around it, reads to the
 * same 32 bytes as a public key file, a secret key file and as text. */
static void
test_key_text_any_alphabet_padded_or_not(void **state)
{
        static const int variants[] = {
            sodium_base64_VARIANT_URLSAFE_NO_PADDING,
            sodium_base64_VARIANT_URLSAFE,
            sodium_base64_VARIANT_ORIGINAL,
            sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
        };
        static const char *const around[][2] = {
            {"", ""},        {"", "\n"},     {"", "\r\n"},
            {"  ", " \n\n"}, {"\t", "\t\n"}, {"\n", "\n"},
        };
        unsigned char want[32], pk[32];
        char b64[64], text[128], path[512];

        (void)state;
        key_bytes(want);
        tmp_path("variant", path, sizeof(path));
        for (size_t v = 0; v < 4; v++) {
                key_b64(want, variants[v], b64, sizeof(b64));
                /* the standard alphabet has + and /, the URL-safe - and _ */
                assert_non_null(strpbrk(b64, v < 2 ? "-" : "+"));
                assert_non_null(strpbrk(b64, v < 2 ? "_" : "/"));
                assert_int_equal(strchr(b64, '=') != NULL, v == 1 || v == 2);
                for (size_t a = 0; a < sizeof(around) / sizeof(around[0]);
                     a++) {
                        struct secret_key *k = NULL;
                        struct err e = {0};

                        snprintf(text, sizeof(text), "%s%s%s", around[a][0],
                                 b64, around[a][1]);
                        memset(pk, 0, sizeof(pk));
                        assert_int_equal(secret_pk_decode(text, pk), 0);
                        assert_memory_equal(pk, want, 32);
                        write_file(path, text, strlen(text), 0644);
                        memset(pk, 0, sizeof(pk));
                        assert_int_equal(secret_pk_load(path, pk, &e), 0);
                        assert_memory_equal(pk, want, 32);
                        assert_int_equal(chmod(path, 0600), 0);
                        assert_int_equal(
                            secret_key_load(path, 32, NULL, &k, &e), 0);
                        assert_memory_equal(k->bytes, want, 32);
                        secret_key_free(k);
                }
        }
        unlink(path);
}

/* What the writers write, the readers read: secret_key_file_new's text
 * as a secret key and as a public key (one rule for both). */
static void
test_key_text_writer_and_readers_agree(void **state)
{
        char path[512];
        unsigned char pk[32];
        struct secret_key *k = NULL;
        struct err e = {0};

        (void)state;
        tmp_path("written", path, sizeof(path));
        assert_int_equal(secret_key_file_new(path, 32, &e), 0);
        assert_int_equal(secret_key_load(path, 32, NULL, &k, &e), 0);
        assert_int_equal(secret_pk_load(path, pk, &e), 0);
        assert_memory_equal(pk, k->bytes, 32);
        secret_key_free(k);
        unlink(path);
}

/* Anything else is refused by both loaders, with ERR_FATAL and a message
 * that names the file and says what is wrong. */
static void
test_key_text_refused(void **state)
{
        unsigned char want[32], raw[32], pk[32];
        char url[64], std[64], inner[80], mixed[64], wrong[128], path[512];
        struct {
                const char *text;
                size_t len;
                const char *why;
        } cases[11];
        size_t n = 0;

        (void)state;
        key_bytes(want);
        memcpy(raw, want, 32);
        key_b64(want, sodium_base64_VARIANT_URLSAFE_NO_PADDING, url,
                sizeof(url));
        key_b64(want, sodium_base64_VARIANT_ORIGINAL, std, sizeof(std));
        /* white space inside */
        snprintf(inner, sizeof(inner), "%.20s\n%s", url, url + 20);
        /* one alphabet at a time: a '+' among - and _ */
        snprintf(mixed, sizeof(mixed), "%s", url);
        *strchr(mixed, '-') = '+';
#define CASE(t, l, w)                                                          \
        (cases[n].text = (t), cases[n].len = (l), cases[n++].why = (w))
        CASE("", 0, "empty");
        CASE(" \n\t\n", 4, "empty");
        CASE("not a key at all!\n", 18, "not base64");
        CASE(inner, strlen(inner), "not base64");
        CASE(mixed, strlen(mixed), "not base64");
        CASE((const char *)raw, 32, "not base64"); /* raw bytes */
        /* padding is whole or absent: 32 bytes take one '=', not two */
        snprintf(wrong, sizeof(wrong), "%s=", std);
        CASE(wrong, strlen(wrong), "not base64");
        CASE("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHg==\n", 45,
             "base64 of 31 bytes, expected 32");
        CASE("AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g\n", 45,
             "base64 of 33 bytes, expected 32");
        CASE("AAEC\n", 5, "base64 of 3 bytes, expected 32");
#undef CASE
        tmp_path("refused", path, sizeof(path));
        for (size_t i = 0; i < n; i++) {
                struct secret_key *k = NULL;
                struct err e = {0};
                char text[128];

                print_message("case %zu: %s\n", i, cases[i].why);
                write_file(path, cases[i].text, cases[i].len, 0600);
                assert_int_equal(secret_pk_load(path, pk, &e), -1);
                assert_int_equal(e.kind, ERR_FATAL);
                assert_non_null(strstr(e.msg, path));
                assert_non_null(strstr(e.msg, cases[i].why));
                memset(&e, 0, sizeof(e));
                assert_int_equal(secret_key_load(path, 32, NULL, &k, &e), -1);
                assert_null(k);
                assert_int_equal(e.kind, ERR_FATAL);
                assert_non_null(strstr(e.msg, path));
                assert_non_null(strstr(e.msg, cases[i].why));
                if (memchr(cases[i].text, '\0', cases[i].len) == NULL) {
                        snprintf(text, sizeof(text), "%.*s", (int)cases[i].len,
                                 cases[i].text);
                        assert_int_equal(secret_pk_decode(text, pk), -1);
                }
        }
        assert_int_equal(secret_pk_decode(NULL, pk), -1);
        unlink(path);
}

/* A public key file may be world-readable; it must still be a file. */
static void
test_pk_load_open_mode_fine_not_a_file_refused(void **state)
{
        char path[512], b64[64];
        unsigned char want[32], pk[32];
        struct err e = {0};

        (void)state;
        key_bytes(want);
        key_b64(want, sodium_base64_VARIANT_URLSAFE_NO_PADDING, b64,
                sizeof(b64));
        tmp_path("pub", path, sizeof(path));
        write_file(path, b64, strlen(b64), 0644);
        assert_int_equal(secret_pk_load(path, pk, &e), 0);
        assert_memory_equal(pk, want, 32);
        assert_int_equal(secret_pk_load(testenv_tmp(), pk, &e), -1);
        assert_non_null(strstr(e.msg, "not a regular file"));
        assert_int_equal(secret_pk_load("/nonexistent/x.pk", pk, &e), -1);
        assert_int_equal(e.kind, ERR_FATAL);
        assert_non_null(strstr(e.msg, "/nonexistent/x.pk"));
        assert_int_equal(secret_pk_load(NULL, pk, &e), -1);
        unlink(path);
}

static void
test_key_load_refuses_open_mode(void **state)
{
        static const mode_t modes[] = {0644, 0640, 0604, 0660, 0606};
        static const char b64[] =
            "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n";
        char path[512];
        struct secret_key *k = NULL;

        (void)state;
        tmp_path("perm", path, sizeof(path));
        for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
                struct err e = {0};

                write_file(path, b64, strlen(b64), modes[i]);
                assert_int_equal(secret_key_load(path, 32, NULL, &k, &e), -1);
                assert_int_equal(e.kind, ERR_FATAL);
                assert_non_null(strstr(e.msg, "chmod 600"));
        }
        assert_int_equal(chmod(path, 0600), 0);
        assert_int_equal(secret_key_load(path, 32, NULL, &k, NULL), 0);
        secret_key_free(k);
        unlink(path);
}

static void
test_key_load_missing_file(void **state)
{
        struct secret_key *k = NULL;
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_key_load("/nonexistent/kek", 32, NULL, &k, &e),
                         -1);
        assert_int_equal(e.kind, ERR_FATAL);
        assert_int_equal(secret_key_load(testenv_tmp(), 32, NULL, &k, &e), -1);
}

static void
test_normalise_email(void **state)
{
        char out[64];
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_normalise_email("  Ada.Lovelace@Example.ORG\n",
                                                out, sizeof(out), &e),
                         0);
        assert_string_equal(out, "ada.lovelace@example.org");
        assert_int_equal(
            secret_normalise_email("no-at-sign", out, sizeof(out), &e), -1);
        assert_string_equal(e.field, "email");
        assert_int_equal(secret_normalise_email("@x.org", out, sizeof(out), &e),
                         -1);
        assert_int_equal(secret_normalise_email("a@", out, sizeof(out), &e),
                         -1);
        assert_int_equal(
            secret_normalise_email("a b@x.org", out, sizeof(out), &e), -1);
        assert_int_equal(secret_normalise_email("a@x.org", out, 5, &e), -1);
}

static void
test_normalise_phone_table(void **state)
{
        static const struct {
                const char *in, *want;
        } cases[] = {
            {"07700 900123", "07700900123"},
            {"+44 7700 900123", "07700900123"},
            {"07700900123", "07700900123"},
            {"0044 7700 900123", "07700900123"},
            {"+44 (0)7700 900123", "07700900123"},
            {"+44 07700 900123", "07700900123"},
            {"(020) 7946-0018", "02079460018"},
            {"020.7946.0018", "02079460018"},
            {" 0800 123456 ", "0800123456"},
            {"+33 1 23 45 67 89", "+33123456789"},
            {"0033 1 23 45 67 89", "+33123456789"},
            {"+1 (555) 010-9999", "+15550109999"},
        };
        static const char *const bad[] = {
            "",
            "7700 900123",
            "07700 9001",
            "077009001234",
            "07700 90012x",
            "+44 7700",
            "07700+900123",
            "+12345",
            "+1234567890123456",
        };
        char out[32];
        struct err e = {0};

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                if (secret_normalise_phone(cases[i].in, out, sizeof(out), &e))
                        fail_msg("case %zu rejected: %s", i, e.msg);
                if (strcmp(out, cases[i].want) != 0)
                        fail_msg("case %zu: got %s want %s", i, out,
                                 cases[i].want);
        }
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                if (secret_normalise_phone(bad[i], out, sizeof(out), &e) == 0)
                        fail_msg("bad %zu accepted as %s", i, out);
                assert_string_equal(e.field, "phone");
        }
}

static void
test_index_same_person_same_index(void **state)
{
        struct secret_key *k = random_key(NULL), *k2 = random_key(NULL);
        char a[SECRET_HEX_LEN], b[SECRET_HEX_LEN], c[SECRET_HEX_LEN];
        char d[SECRET_HEX_LEN];

        (void)state;
        assert_int_equal(secret_index_phone(k, "07700 900123", a, NULL), 0);
        assert_int_equal(secret_index_phone(k, "+44 7700 900123", b, NULL), 0);
        assert_int_equal(secret_index_phone(k, "07700900123", c, NULL), 0);
        assert_int_equal(strlen(a), 64);
        assert_string_equal(a, b);
        assert_string_equal(a, c);
        assert_int_equal(secret_index_phone(k, "07700 900124", d, NULL), 0);
        assert_string_not_equal(a, d);
        assert_int_equal(secret_index_phone(k2, "07700900123", d, NULL), 0);
        assert_string_not_equal(a, d);
        assert_int_equal(secret_index_email(k, " Ada@X.org", a, NULL), 0);
        assert_int_equal(secret_index_email(k, "ada@x.org", b, NULL), 0);
        assert_string_equal(a, b);
        secret_key_free(k);
        secret_key_free(k2);
}

static void
test_index_domains_differ(void **state)
{
        struct secret_key *k = random_key(NULL);
        char a[SECRET_HEX_LEN], b[SECRET_HEX_LEN];

        (void)state;
        assert_int_equal(secret_hash_hex(k, "signpost:email:", "x", 1, a, NULL),
                         0);
        assert_int_equal(secret_hash_hex(k, "signpost:phone:", "x", 1, b, NULL),
                         0);
        assert_string_not_equal(a, b);
        secret_key_free(k);
}

static void
test_token_new_and_hash(void **state)
{
        struct secret_key *k = random_key(NULL), *k2 = random_key(NULL);
        char t1[SECRET_TOKEN_LEN], t2[SECRET_TOKEN_LEN];
        char h1[SECRET_HEX_LEN], h1b[SECRET_HEX_LEN], h2[SECRET_HEX_LEN];
        char hk2[SECRET_HEX_LEN];

        (void)state;
        assert_int_equal(secret_token_new(t1, NULL), 0);
        assert_int_equal(secret_token_new(t2, NULL), 0);
        assert_int_equal(strlen(t1), SECRET_TOKEN_LEN - 1);
        assert_int_equal(strncmp(t1, "sp_", 3), 0);
        assert_string_not_equal(t1, t2);
        assert_int_equal(secret_token_hash(k, t1, h1, NULL), 0);
        assert_int_equal(secret_token_hash(k, t1, h1b, NULL), 0);
        assert_int_equal(secret_token_hash(k, t2, h2, NULL), 0);
        assert_int_equal(secret_token_hash(k2, t1, hk2, NULL), 0);
        assert_true(secret_equal(h1, h1b));
        assert_false(secret_equal(h1, h2));
        assert_false(secret_equal(h1, hk2));
        assert_false(secret_equal(h1, "abc"));
        assert_false(secret_equal(h1, NULL));
        secret_key_free(k);
        secret_key_free(k2);
}

static void
test_token_hash_rejects_malformed(void **state)
{
        struct secret_key *k = random_key(NULL);
        char t[SECRET_TOKEN_LEN], h[SECRET_HEX_LEN];
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_token_new(t, NULL), 0);
        t[0] = 'x';
        assert_int_equal(secret_token_hash(k, t, h, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_int_equal(secret_token_hash(k, "sp_short", h, &e), -1);
        assert_int_equal(secret_token_hash(k, NULL, h, &e), -1);
        secret_key_free(k);
}

static void
test_sign_verify(void **state)
{
        unsigned char pk[SECRET_SIGN_PK_BYTES], pk2[SECRET_SIGN_PK_BYTES];
        unsigned char sig[SECRET_SIG_BYTES], tampered[sizeof(msg)];
        struct secret_key *sk = NULL, *sk2 = NULL;

        (void)state;
        assert_int_equal(secret_sign_keypair(pk, &sk, NULL), 0);
        assert_int_equal(secret_sign_keypair(pk2, &sk2, NULL), 0);
        assert_int_equal(
            secret_sign(sk, (const unsigned char *)msg, MSG_LEN, sig, NULL), 0);
        assert_true(
            secret_verify(pk, (const unsigned char *)msg, MSG_LEN, sig));
        assert_false(
            secret_verify(pk2, (const unsigned char *)msg, MSG_LEN, sig));
        memcpy(tampered, msg, sizeof(msg));
        tampered[3] ^= 0x01;
        assert_false(secret_verify(pk, tampered, MSG_LEN, sig));
        sig[0] ^= 0x01;
        assert_false(
            secret_verify(pk, (const unsigned char *)msg, MSG_LEN, sig));
        secret_key_free(sk);
        secret_key_free(sk2);
}

static void
test_sign_refuses_other_key(void **state)
{
        unsigned char pk[SECRET_BOX_PK_BYTES], sig[SECRET_SIG_BYTES];
        struct secret_key *boxsk = NULL;
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_box_keypair(pk, &boxsk, NULL), 0);
        assert_int_equal(
            secret_sign(boxsk, (const unsigned char *)msg, MSG_LEN, sig, &e),
            -1);
        assert_int_equal(e.kind, ERR_FATAL);
        secret_key_free(boxsk);
}

/* hex: lower-case hex of len bytes into out (2 * len + 1). */
static void
hex(const unsigned char *b, size_t len, char *out)
{
        for (size_t i = 0; i < len; i++)
                sprintf(out + 2 * i, "%02x", b[i]);
}

static void
test_hmac_sha256_rfc4231_case_1(void **state)
{
        unsigned char key[20], mac[SECRET_HMAC_BYTES];
        struct secret_key *k = NULL;
        char h[2 * SECRET_HMAC_BYTES + 1];

        (void)state;
        memset(key, 0x0b, sizeof(key));
        assert_int_equal(
            secret_key_from_bytes(key, sizeof(key), NULL, &k, NULL), 0);
        assert_int_equal(secret_hmac_sha256(k, "Hi There", 8, mac, NULL), 0);
        hex(mac, sizeof(mac), h);
        assert_string_equal(h, "b0344c61d8db38535ca8afceaf0bf12b"
                               "881dc200c9833da726e9376c2e32cff7");
        secret_key_free(k);
}

/* RFC 4231 case 2: a key shorter than the block. */
static void
test_hmac_sha256_rfc4231_case_2(void **state)
{
        const char *data = "what do ya want for nothing?";
        unsigned char mac[SECRET_HMAC_BYTES];
        struct secret_key *k = NULL;
        char h[2 * SECRET_HMAC_BYTES + 1];

        (void)state;
        assert_int_equal(secret_key_from_bytes((const unsigned char *)"Jefe", 4,
                                               NULL, &k, NULL),
                         0);
        assert_int_equal(secret_hmac_sha256(k, data, strlen(data), mac, NULL),
                         0);
        hex(mac, sizeof(mac), h);
        assert_string_equal(h, "5bdcc146bf60754e6a042426089575c7"
                               "5a003f089d2739839dec58b964ec3843");
        secret_key_free(k);
}

static void
test_hmac_sha256_needs_a_key(void **state)
{
        unsigned char mac[SECRET_HMAC_BYTES];
        struct err e = {0};

        (void)state;
        assert_int_equal(secret_hmac_sha256(NULL, "x", 1, mac, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
}

static void
test_wipe_zeroes(void **state)
{
        char buf[] = "person@example.org";
        char zero[sizeof(buf)] = {0};

        (void)state;
        secret_wipe(buf, sizeof(buf));
        assert_memory_equal(buf, zero, sizeof(buf));
        secret_wipe(NULL, 10); /* no effect, no crash */
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_b64_round_trip),
            cmocka_unit_test(test_b64_rejects_padding_and_junk),
            cmocka_unit_test(test_seal_round_trip_and_tamper),
            cmocka_unit_test(test_box_binds_sender),
            cmocka_unit_test(test_seal_wrong_key_fails),
            cmocka_unit_test(test_key_file_new_then_load),
            cmocka_unit_test(test_key_text_any_alphabet_padded_or_not),
            cmocka_unit_test(test_key_text_writer_and_readers_agree),
            cmocka_unit_test(test_key_text_refused),
            cmocka_unit_test(test_pk_load_open_mode_fine_not_a_file_refused),
            cmocka_unit_test(test_key_load_refuses_open_mode),
            cmocka_unit_test(test_key_load_missing_file),
            cmocka_unit_test(test_normalise_email),
            cmocka_unit_test(test_normalise_phone_table),
            cmocka_unit_test(test_index_same_person_same_index),
            cmocka_unit_test(test_index_domains_differ),
            cmocka_unit_test(test_token_new_and_hash),
            cmocka_unit_test(test_token_hash_rejects_malformed),
            cmocka_unit_test(test_sign_verify),
            cmocka_unit_test(test_sign_refuses_other_key),
            cmocka_unit_test(test_hmac_sha256_rfc4231_case_1),
            cmocka_unit_test(test_hmac_sha256_rfc4231_case_2),
            cmocka_unit_test(test_hmac_sha256_needs_a_key),
            cmocka_unit_test(test_wipe_zeroes),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
