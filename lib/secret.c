/*
 * secret: keys, base64, sealed boxes, Ed25519, API tokens and keyed hashes
 * over libsodium. Owns struct secret_key (sodium_malloc memory, read-only
 * once filled, wiped by sodium_free). Envelope encryption (keyring, DEKs,
 * AEAD) lives in secret_dek.c; blind indexes in secret_index.c. Nothing
 * here logs, and key material, plaintext and personal data never reach an
 * error message either.
 */
#include "secret.h"
#include "secret_int.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYFILE_MAX 512 /* a key file larger than this is not a key */

_Static_assert(SECRET_BOX_PK_BYTES == crypto_box_PUBLICKEYBYTES, "box pk");
_Static_assert(SECRET_BOX_SK_BYTES == crypto_box_SECRETKEYBYTES, "box sk");
_Static_assert(SECRET_SEAL_OVERHEAD == crypto_box_SEALBYTES, "seal");
_Static_assert(SECRET_HMAC_BYTES == crypto_auth_hmacsha256_BYTES, "hmac");
_Static_assert(SECRET_SIGN_PK_BYTES == crypto_sign_PUBLICKEYBYTES, "sig pk");
_Static_assert(SECRET_SIGN_SK_BYTES == crypto_sign_SECRETKEYBYTES, "sig sk");
_Static_assert(SECRET_SIG_BYTES == crypto_sign_BYTES, "sig");
_Static_assert(SECRET_SIGN_SK_BYTES <= SECRET_KEY_MAX, "key max");
_Static_assert(sizeof(struct secret_key) % 8 == 0, "sodium_malloc align");

int
secret_init(struct err *e)
{
        if (sodium_init() < 0)
                return err_set(e, ERR_FATAL, NULL, "libsodium init failed");
        return 0;
}

bool
secret_kid_valid(const char *kid)
{
        size_t n;

        if (kid == NULL)
                return false;
        n = strlen(kid);
        if (n == 0 || n >= SECRET_KID_MAX)
                return false;
        for (size_t i = 0; i < n; i++) {
                if (!isalnum((unsigned char)kid[i]) && kid[i] != '_' &&
                    kid[i] != '-')
                        return false;
        }
        return true;
}

/* key_alloc: a zeroed, writable key of len bytes; seal it with key_lock()
 * once filled. */
static struct secret_key *
key_alloc(size_t len, const char *id, struct err *e)
{
        struct secret_key *k;

        if (secret_init(e) < 0)
                return NULL;
        if (len == 0 || len > SECRET_KEY_MAX) {
                err_set(e, ERR_INVALID, NULL, "key length %zu out of range",
                        len);
                return NULL;
        }
        if (id != NULL && id[0] != '\0' && !secret_kid_valid(id)) {
                err_set(e, ERR_INVALID, NULL, "bad key id");
                return NULL;
        }
        k = sodium_malloc(sizeof(*k));
        if (k == NULL) {
                err_set(e, ERR_FATAL, NULL, "sodium_malloc failed");
                return NULL;
        }
        sodium_memzero(k, sizeof(*k));
        k->len = len;
        if (id != NULL)
                snprintf(k->id, sizeof(k->id), "%s", id);
        return k;
}

static void
key_lock(struct secret_key *k)
{
        sodium_mprotect_readonly(k);
}

void
secret_key_free(struct secret_key *k)
{
        if (k != NULL && secret_pool_owns(k))
                secret_pool_give(k); /* wipes */
        else if (k != NULL)
                sodium_free(k); /* makes it writable, wipes, unmaps */
}

int
secret_key_short(const unsigned char *bytes, size_t len,
                 struct secret_key **out, struct err *e)
{
        struct secret_key *k;

        if (len == 0 || len > SECRET_KEY_MAX)
                return err_set(e, ERR_INVALID, NULL,
                               "key length %zu out of range", len);
        if (secret_init(e) < 0)
                return -1;
        k = secret_pool_take();
        if (k == NULL) /* pool exhausted: a key of its own */
                return bytes != NULL
                           ? secret_key_from_bytes(bytes, len, NULL, out, e)
                           : secret_key_random(len, NULL, out, e);
        k->len = len;
        if (bytes != NULL)
                memcpy(k->bytes, bytes, len);
        else
                randombytes_buf(k->bytes, len);
        *out = k;
        return 0;
}

int
secret_key_random(size_t len, const char *id, struct secret_key **out,
                  struct err *e)
{
        struct secret_key *k = key_alloc(len, id, e);

        if (k == NULL)
                return -1;
        randombytes_buf(k->bytes, len);
        key_lock(k);
        *out = k;
        return 0;
}

int
secret_key_from_bytes(const unsigned char *bytes, size_t len, const char *id,
                      struct secret_key **out, struct err *e)
{
        struct secret_key *k = key_alloc(len, id, e);

        if (k == NULL)
                return -1;
        memcpy(k->bytes, bytes, len);
        key_lock(k);
        *out = k;
        return 0;
}

/* keyfile_read: reads the whole of fd (a checked regular file) into buf.
 * Returns the byte count or -1. */
static ssize_t
keyfile_read(int fd, const char *path, unsigned char *buf, size_t bufsz,
             struct err *e)
{
        size_t n = 0;

        for (;;) {
                ssize_t r = read(fd, buf + n, bufsz - n);

                if (r < 0 && errno == EINTR)
                        continue;
                if (r < 0)
                        return err_set(e, ERR_FATAL, NULL, "key file %s: %s",
                                       path, strerror(errno));
                if (r == 0)
                        return (ssize_t)n;
                n += (size_t)r;
                if (n == bufsz)
                        return err_set(e, ERR_FATAL, NULL,
                                       "key file %s: too large for a key",
                                       path);
        }
}

/* keyfile_open: opens path and checks it is a regular file; when secret,
 * also that nobody but its owner can read or write it. Returns the fd or
 * -1. */
static int
keyfile_open(const char *path, bool secret, struct err *e)
{
        struct stat st;
        int fd;

        if (path == NULL || path[0] == '\0')
                return err_set(e, ERR_FATAL, NULL, "key file: no path given");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return err_set(e, ERR_FATAL, NULL, "key file %s: %s", path,
                               strerror(errno));
        if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
                close(fd);
                return err_set(e, ERR_FATAL, NULL,
                               "key file %s: not a regular file", path);
        }
        if (secret && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
                close(fd);
                return err_set(e, ERR_FATAL, NULL,
                               "key file %s: mode %03o lets group/others in; "
                               "chmod 600 it",
                               path, (unsigned)(st.st_mode & 0777));
        }
        return fd;
}

/* key_text_decode: the one rule for a key written as text (secret.h,
 * "key text"): n bytes of text, white space either side ignored, must be
 * base64 of exactly len bytes in one of the four variants (standard or
 * URL-safe alphabet, padded or not; libsodium checks each strictly, so
 * alphabets cannot mix and padding is whole or absent). Writes the key
 * into out. path names the file in errors (NULL: text from elsewhere). */
static int
key_text_decode(const unsigned char *text, size_t n, unsigned char *out,
                size_t len, const char *path, struct err *e)
{
        static const int variants[] = {
            sodium_base64_VARIANT_URLSAFE_NO_PADDING,
            sodium_base64_VARIANT_URLSAFE,
            sodium_base64_VARIANT_ORIGINAL,
            sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
        };
        unsigned char bin[KEYFILE_MAX];
        const char *what = path != NULL ? "key file " : "key text";
        const char *name = path != NULL ? path : "";
        size_t s = 0, got = 0;
        int rc = -1;

        if (secret_init(e) < 0)
                return -1;
        while (s < n && isspace(text[s]))
                s++;
        while (n > s && isspace(text[n - 1]))
                n--;
        if (n == s)
                return err_set(e, ERR_FATAL, NULL,
                               "%s%s: empty, expected base64 of %zu bytes",
                               what, name, len);
        if (n - s > KEYFILE_MAX)
                return err_set(e, ERR_FATAL, NULL, "%s%s: too large for a key",
                               what, name);
        for (size_t i = 0; i < sizeof(variants) / sizeof(variants[0]); i++) {
                if (sodium_base642bin(bin, sizeof(bin), (const char *)text + s,
                                      n - s, NULL, &got, NULL,
                                      variants[i]) == 0) {
                        rc = 0;
                        break;
                }
        }
        if (rc < 0)
                err_set(e, ERR_FATAL, NULL,
                        "%s%s: not base64 (A-Z a-z 0-9 and + / or - _, "
                        "= padding or none)",
                        what, name);
        else if (got != len)
                rc = err_set(e, ERR_FATAL, NULL,
                             "%s%s: base64 of %zu bytes, expected %zu", what,
                             name, got, len);
        else
                memcpy(out, bin, len);
        sodium_memzero(bin, sizeof(bin));
        return rc;
}

int
secret_key_load(const char *path, size_t len, const char *id,
                struct secret_key **out, struct err *e)
{
        struct secret_key *k = NULL;
        unsigned char *buf = NULL;
        ssize_t n;
        int fd = -1, rc = -1;

        k = key_alloc(len, id, e);
        if (k == NULL)
                goto out;
        buf = sodium_malloc(KEYFILE_MAX);
        if (buf == NULL) {
                err_set(e, ERR_FATAL, NULL, "sodium_malloc failed");
                goto out;
        }
        fd = keyfile_open(path, true, e);
        if (fd < 0)
                goto out;
        n = keyfile_read(fd, path, buf, KEYFILE_MAX, e);
        if (n < 0 ||
            key_text_decode(buf, (size_t)n, k->bytes, len, path, e) < 0)
                goto out;
        key_lock(k);
        *out = k;
        k = NULL;
        rc = 0;
out:
        if (fd >= 0)
                close(fd);
        if (buf != NULL)
                sodium_free(buf);
        secret_key_free(k);
        return rc;
}

/* write_all: writes n bytes of s to fd. */
static int
write_all(int fd, const char *s, size_t n)
{
        while (n > 0) {
                ssize_t w = write(fd, s, n);

                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return -1;
                s += w;
                n -= (size_t)w;
        }
        return 0;
}

int
secret_key_file_new(const char *path, size_t len, struct err *e)
{
        struct secret_key *k = NULL;
        char *text = NULL;
        int fd = -1, rc = -1;

        if (secret_key_random(len, NULL, &k, e) < 0)
                goto out;
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0) {
                err_set(e, errno == EEXIST ? ERR_CONFLICT : ERR_FATAL, NULL,
                        "key file %s: %s", path, strerror(errno));
                goto out;
        }
        text = secret_b64_encode(k->bytes, k->len);
        if (text == NULL || fchmod(fd, 0600) < 0 ||
            write_all(fd, text, strlen(text)) < 0 ||
            write_all(fd, "\n", 1) < 0 || fsync(fd) < 0) {
                err_set(e, ERR_FATAL, NULL, "key file %s: write failed", path);
                unlink(path);
                goto out;
        }
        rc = 0;
out:
        if (fd >= 0)
                close(fd);
        if (text != NULL) {
                sodium_memzero(text, strlen(text));
                free(text);
        }
        secret_key_free(k);
        return rc;
}

char *
secret_b64_encode(const unsigned char *bin, size_t len)
{
        const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
        size_t n = sodium_base64_encoded_len(len, v);
        char *s;

        if (sodium_init() < 0)
                return NULL;
        s = malloc(n);
        if (s == NULL)
                return NULL;
        return sodium_bin2base64(s, n, bin, len, v);
}

int
secret_b64_decode(const char *text, unsigned char **out, size_t *outlen,
                  struct err *e)
{
        size_t n, got = 0;
        unsigned char *buf;

        if (secret_init(e) < 0)
                return -1;
        if (text == NULL)
                return err_set(e, ERR_INVALID, NULL, "missing base64");
        n = strlen(text);
        buf = malloc(n / 4 * 3 + 3);
        if (buf == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        if (sodium_base642bin(buf, n / 4 * 3 + 3, text, n, NULL, &got, NULL,
                              sodium_base64_VARIANT_URLSAFE_NO_PADDING) < 0) {
                free(buf);
                return err_set(e, ERR_INVALID, NULL, "bad base64");
        }
        *out = buf;
        *outlen = got;
        return 0;
}

int
secret_pk_decode(const char *text, unsigned char pk[SECRET_BOX_PK_BYTES])
{
        if (text == NULL)
                return -1;
        return key_text_decode((const unsigned char *)text, strlen(text), pk,
                               SECRET_BOX_PK_BYTES, NULL, NULL);
}

int
secret_pk_load(const char *path, unsigned char pk[SECRET_BOX_PK_BYTES],
               struct err *e)
{
        unsigned char text[KEYFILE_MAX];
        ssize_t n;
        int fd = keyfile_open(path, false, e);

        if (fd < 0)
                return -1;
        n = keyfile_read(fd, path, text, sizeof(text), e);
        close(fd);
        if (n < 0)
                return -1;
        return key_text_decode(text, (size_t)n, pk, SECRET_BOX_PK_BYTES, path,
                               e);
}

int
secret_box_keypair(unsigned char pk[SECRET_BOX_PK_BYTES],
                   struct secret_key **sk, struct err *e)
{
        struct secret_key *k = key_alloc(SECRET_BOX_SK_BYTES, NULL, e);

        if (k == NULL)
                return -1;
        crypto_box_keypair(pk, k->bytes);
        key_lock(k);
        *sk = k;
        return 0;
}

int
secret_seal(const unsigned char pk[SECRET_BOX_PK_BYTES],
            const unsigned char *msg, size_t len, unsigned char **out,
            size_t *outlen, struct err *e)
{
        unsigned char *box;

        if (secret_init(e) < 0)
                return -1;
        box = malloc(len + crypto_box_SEALBYTES);
        if (box == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        if (crypto_box_seal(box, msg, len, pk) != 0) {
                free(box);
                return err_set(e, ERR_INVALID, NULL, "bad public key");
        }
        *out = box;
        *outlen = len + crypto_box_SEALBYTES;
        return 0;
}

int
secret_unseal(const unsigned char pk[SECRET_BOX_PK_BYTES],
              const struct secret_key *sk, const unsigned char *box, size_t len,
              unsigned char **out, size_t *outlen, struct err *e)
{
        unsigned char *msg;
        size_t n;

        if (secret_init(e) < 0)
                return -1;
        if (sk->len != SECRET_BOX_SK_BYTES)
                return err_set(e, ERR_FATAL, NULL, "not a box secret key");
        if (len < crypto_box_SEALBYTES)
                return err_set(e, ERR_INVALID, NULL, "sealed box too short");
        msg = malloc(len + 1);
        if (msg == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        if (secret_sender_open(pk, sk, box, len, msg) == 0) {
                n = len - SECRET_SENDER_OVERHEAD;
                msg[n] = '\0';
                *out = msg;
                *outlen = n;
                return 0;
        }
        n = len - crypto_box_SEALBYTES;
        if (crypto_box_seal_open(msg, box, len, pk, sk->bytes) != 0) {
                free(msg);
                return err_set(e, ERR_INVALID, NULL,
                               "sealed box does not open with this key");
        }
        msg[n] = '\0';
        *out = msg;
        *outlen = n;
        return 0;
}

_Static_assert(SECRET_BOX_OVERHEAD ==
                   crypto_box_NONCEBYTES + crypto_box_MACBYTES,
               "authenticated box overhead");

int
secret_box_to(const unsigned char recipient_pk[SECRET_BOX_PK_BYTES],
              const struct secret_key *sender_sk, const unsigned char *msg,
              size_t len, unsigned char **out, size_t *outlen, struct err *e)
{
        unsigned char *box;

        *out = NULL;
        if (secret_init(e) < 0)
                return -1;
        if (sender_sk->len != SECRET_BOX_SK_BYTES)
                return err_set(e, ERR_FATAL, NULL, "not a box secret key");
        if ((box = malloc(len + SECRET_BOX_OVERHEAD)) == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        randombytes_buf(box, crypto_box_NONCEBYTES);
        if (crypto_box_easy(box + crypto_box_NONCEBYTES, msg, len, box,
                            recipient_pk, sender_sk->bytes) != 0) {
                free(box);
                return err_set(e, ERR_INVALID, NULL, "bad public key");
        }
        *out = box;
        *outlen = len + SECRET_BOX_OVERHEAD;
        return 0;
}

int
secret_box_from(const unsigned char sender_pk[SECRET_BOX_PK_BYTES],
                const struct secret_key *recipient_sk, const unsigned char *box,
                size_t len, unsigned char **out, size_t *outlen, struct err *e)
{
        unsigned char *msg;
        size_t n;

        *out = NULL;
        if (secret_init(e) < 0)
                return -1;
        if (recipient_sk->len != SECRET_BOX_SK_BYTES)
                return err_set(e, ERR_FATAL, NULL, "not a box secret key");
        if (len < SECRET_BOX_OVERHEAD)
                return err_set(e, ERR_INVALID, NULL, "box too short");
        n = len - SECRET_BOX_OVERHEAD;
        if ((msg = malloc(n + 1)) == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        if (crypto_box_open_easy(msg, box + crypto_box_NONCEBYTES,
                                 len - crypto_box_NONCEBYTES, box, sender_pk,
                                 recipient_sk->bytes) != 0) {
                free(msg);
                return err_set(e, ERR_INVALID, NULL,
                               "box was not made by this sender's key");
        }
        msg[n] = '\0';
        *out = msg;
        *outlen = n;
        return 0;
}

int
secret_sign_keypair(unsigned char pk[SECRET_SIGN_PK_BYTES],
                    struct secret_key **sk, struct err *e)
{
        struct secret_key *k = key_alloc(SECRET_SIGN_SK_BYTES, NULL, e);

        if (k == NULL)
                return -1;
        crypto_sign_keypair(pk, k->bytes);
        key_lock(k);
        *sk = k;
        return 0;
}

int
secret_sign(const struct secret_key *sk, const unsigned char *msg, size_t len,
            unsigned char sig[SECRET_SIG_BYTES], struct err *e)
{
        if (secret_init(e) < 0)
                return -1;
        if (sk->len != SECRET_SIGN_SK_BYTES)
                return err_set(e, ERR_FATAL, NULL, "not a signing key");
        crypto_sign_detached(sig, NULL, msg, len, sk->bytes);
        return 0;
}

bool
secret_verify(const unsigned char pk[SECRET_SIGN_PK_BYTES],
              const unsigned char *msg, size_t len,
              const unsigned char sig[SECRET_SIG_BYTES])
{
        if (sodium_init() < 0)
                return false;
        return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

int
secret_hash_hex(const struct secret_key *key, const char *domain,
                const char *data, size_t len, char out[SECRET_HEX_LEN],
                struct err *e)
{
        crypto_generichash_state st;
        unsigned char h[32];

        if (secret_init(e) < 0)
                return -1;
        if (key->len != SECRET_KEY_BYTES)
                return err_set(e, ERR_FATAL, NULL, "hash key must be %d bytes",
                               SECRET_KEY_BYTES);
        crypto_generichash_init(&st, key->bytes, key->len, sizeof(h));
        crypto_generichash_update(&st, (const unsigned char *)domain,
                                  strlen(domain));
        crypto_generichash_update(&st, (const unsigned char *)data, len);
        crypto_generichash_final(&st, h, sizeof(h));
        sodium_bin2hex(out, SECRET_HEX_LEN, h, sizeof(h));
        sodium_memzero(&st, sizeof(st));
        return 0;
}

int
secret_token_new(char out[SECRET_TOKEN_LEN], struct err *e)
{
        unsigned char raw[32];

        if (secret_init(e) < 0)
                return -1;
        randombytes_buf(raw, sizeof(raw));
        memcpy(out, "sp_", 3);
        sodium_bin2base64(out + 3, SECRET_TOKEN_LEN - 3, raw, sizeof(raw),
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(raw, sizeof(raw));
        return 0;
}

static bool
token_shaped(const char *t)
{
        if (strlen(t) != SECRET_TOKEN_LEN - 1 || strncmp(t, "sp_", 3) != 0)
                return false;
        for (size_t i = 3; i < SECRET_TOKEN_LEN - 1; i++) {
                if (!isalnum((unsigned char)t[i]) && t[i] != '-' && t[i] != '_')
                        return false;
        }
        return true;
}

int
secret_token_hash(const struct secret_key *key, const char *token,
                  char out[SECRET_HEX_LEN], struct err *e)
{
        if (token == NULL || !token_shaped(token))
                return err_set(e, ERR_INVALID, "token", "malformed token");
        return secret_hash_hex(key, "signpost:token:", token, strlen(token),
                               out, e);
}

bool
secret_equal(const char *a, const char *b)
{
        size_t n;

        if (a == NULL || b == NULL)
                return false;
        n = strlen(a);
        if (strlen(b) != n)
                return false;
        return sodium_memcmp(a, b, n) == 0;
}

int
secret_hmac_sha256(const struct secret_key *key, const void *msg, size_t len,
                   unsigned char out[SECRET_HMAC_BYTES], struct err *e)
{
        crypto_auth_hmacsha256_state st;

        if (secret_init(e) < 0)
                return -1;
        if (key == NULL || (msg == NULL && len > 0))
                return err_set(e, ERR_INVALID, NULL, "no key or message");
        crypto_auth_hmacsha256_init(&st, key->bytes, key->len);
        crypto_auth_hmacsha256_update(&st, msg, len);
        crypto_auth_hmacsha256_final(&st, out);
        sodium_memzero(&st, sizeof(st));
        return 0;
}

void
secret_wipe(void *p, size_t len)
{
        if (p != NULL && len > 0)
                sodium_memzero(p, len);
}
