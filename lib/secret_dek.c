/*
 * secret_dek: envelope encryption at rest. Owns the keyring (KEKs by key
 * id, one of them current) and the wrapped-DEK text form
 *
 *     <kid> ":" base64url(nonce[24] || XChaCha20-Poly1305(dek[32]))
 *
 * with the key id as associated data, so a wrapped key cannot be relabelled.
 * Blobs are encrypted under a DEK with XChaCha20-Poly1305-IETF, nonce ||
 * ciphertext, the caller's associated data (the referral id) bound in.
 * Where the wrapped DEKs are stored, and when to rewrap, is the caller's.
 */
#include "secret.h"
#include "secret_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEYRING_MAX 8
#define NONCE_BYTES crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_BYTES crypto_aead_xchacha20poly1305_ietf_ABYTES
#define WRAPPED_BYTES (NONCE_BYTES + SECRET_KEY_BYTES + TAG_BYTES)

_Static_assert(SECRET_AEAD_OVERHEAD == NONCE_BYTES + TAG_BYTES, "aead");
_Static_assert(SECRET_KEY_BYTES == crypto_aead_xchacha20poly1305_ietf_KEYBYTES,
               "aead key");

struct secret_keyring {
        struct secret_key *keks[KEYRING_MAX]; /* owned */
        size_t n;
        size_t current; /* index into keks; meaningful when n > 0 */
};

struct secret_keyring *
secret_keyring_new(void)
{
        return calloc(1, sizeof(struct secret_keyring));
}

void
secret_keyring_free(struct secret_keyring *kr)
{
        if (kr == NULL)
                return;
        for (size_t i = 0; i < kr->n; i++)
                secret_key_free(kr->keks[i]);
        free(kr);
}

static const struct secret_key *
keyring_find(const struct secret_keyring *kr, const char *kid)
{
        for (size_t i = 0; i < kr->n; i++) {
                if (strcmp(kr->keks[i]->id, kid) == 0)
                        return kr->keks[i];
        }
        return NULL;
}

int
secret_keyring_add(struct secret_keyring *kr, struct secret_key *kek,
                   bool current, struct err *e)
{
        int rc = -1;

        if (kek == NULL || kek->len != SECRET_KEY_BYTES ||
            !secret_kid_valid(kek->id)) {
                err_set(e, ERR_FATAL, NULL, "a KEK needs %d bytes and a key id",
                        SECRET_KEY_BYTES);
                goto out;
        }
        if (keyring_find(kr, kek->id) != NULL) {
                err_set(e, ERR_FATAL, NULL, "key id %s twice in keyring",
                        kek->id);
                goto out;
        }
        if (kr->n == KEYRING_MAX) {
                err_set(e, ERR_FATAL, NULL, "keyring full (%d keys)",
                        KEYRING_MAX);
                goto out;
        }
        if (current || kr->n == 0)
                kr->current = kr->n;
        kr->keks[kr->n++] = kek;
        kek = NULL;
        rc = 0;
out:
        secret_key_free(kek);
        return rc;
}

/* keyring_load_one: loads "kid=path" into kr. item is modified. */
static int
keyring_load_one(struct secret_keyring *kr, char *item, struct err *e)
{
        struct secret_key *k = NULL;
        char *eq = strchr(item, '=');

        if (eq == NULL || eq == item || eq[1] == '\0')
                return err_set(e, ERR_FATAL, NULL,
                               "keyring entry must be kid=path");
        *eq = '\0';
        if (!secret_kid_valid(item))
                return err_set(e, ERR_FATAL, NULL, "bad key id in keyring");
        if (secret_key_load(eq + 1, SECRET_KEY_BYTES, item, &k, e) < 0)
                return -1;
        return secret_keyring_add(kr, k, false, e);
}

int
secret_keyring_load(const char *spec, struct secret_keyring **out,
                    struct err *e)
{
        struct secret_keyring *kr = NULL;
        char *copy = NULL, *save = NULL, *item;
        int rc = -1;

        if (spec == NULL || spec[0] == '\0') {
                err_set(e, ERR_FATAL, NULL, "empty keyring spec");
                goto out;
        }
        kr = secret_keyring_new();
        copy = strdup(spec);
        if (kr == NULL || copy == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                goto out;
        }
        for (item = strtok_r(copy, ",", &save); item != NULL;
             item = strtok_r(NULL, ",", &save)) {
                if (keyring_load_one(kr, item, e) < 0)
                        goto out;
        }
        *out = kr;
        kr = NULL;
        rc = 0;
out:
        free(copy);
        secret_keyring_free(kr);
        return rc;
}

const char *
secret_keyring_current(const struct secret_keyring *kr)
{
        if (kr == NULL || kr->n == 0)
                return NULL;
        return kr->keks[kr->current]->id;
}

/* dek_wrap: encrypts dek under kek. Returns new text in *out. */
static int
dek_wrap(const struct secret_key *kek, const struct secret_key *dek, char **out,
         struct err *e)
{
        unsigned char blob[WRAPPED_BYTES];
        char *b64 = NULL, *text = NULL;
        size_t n;

        randombytes_buf(blob, NONCE_BYTES);
        crypto_aead_xchacha20poly1305_ietf_encrypt(
            blob + NONCE_BYTES, NULL, dek->bytes, dek->len,
            (const unsigned char *)kek->id, strlen(kek->id), NULL, blob,
            kek->bytes);
        b64 = secret_b64_encode(blob, sizeof(blob));
        if (b64 == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        n = strlen(kek->id) + 1 + strlen(b64) + 1;
        text = malloc(n);
        if (text == NULL) {
                free(b64);
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        }
        snprintf(text, n, "%s:%s", kek->id, b64);
        free(b64);
        *out = text;
        return 0;
}

int
secret_dek_new(const struct secret_keyring *kr, struct secret_key **dek,
               char **wrapped, struct err *e)
{
        struct secret_key *k = NULL;

        if (secret_keyring_current(kr) == NULL)
                return err_set(e, ERR_FATAL, NULL, "keyring is empty");
        if (secret_key_short(NULL, SECRET_KEY_BYTES, &k, e) < 0)
                return -1;
        if (dek_wrap(kr->keks[kr->current], k, wrapped, e) < 0) {
                secret_key_free(k);
                return -1;
        }
        if (dek != NULL)
                *dek = k;
        else
                secret_key_free(k);
        return 0;
}

/* wrapped_kek: splits "kid:b64" and finds its KEK; *b64 points into
 * wrapped. */
static int
wrapped_kek(const struct secret_keyring *kr, const char *wrapped,
            const struct secret_key **kek, const char **b64, struct err *e)
{
        const char *colon = wrapped ? strchr(wrapped, ':') : NULL;
        char kid[SECRET_KID_MAX];
        size_t n;

        if (colon == NULL)
                return err_set(e, ERR_INVALID, NULL, "wrapped key malformed");
        n = (size_t)(colon - wrapped);
        if (n == 0 || n >= sizeof(kid))
                return err_set(e, ERR_INVALID, NULL, "wrapped key malformed");
        memcpy(kid, wrapped, n);
        kid[n] = '\0';
        if (kr == NULL || (*kek = keyring_find(kr, kid)) == NULL)
                return err_set(e, ERR_NOT_FOUND, NULL,
                               "no KEK with id %s in keyring",
                               secret_kid_valid(kid) ? kid : "?");
        *b64 = colon + 1;
        return 0;
}

int
secret_dek_unwrap(const struct secret_keyring *kr, const char *wrapped,
                  struct secret_key **dek, struct err *e)
{
        const struct secret_key *kek = NULL;
        const char *b64 = NULL;
        unsigned char *blob = NULL;
        unsigned char raw[SECRET_KEY_BYTES];
        size_t n = 0;
        int rc = -1;

        if (wrapped_kek(kr, wrapped, &kek, &b64, e) < 0 ||
            secret_b64_decode(b64, &blob, &n, e) < 0)
                goto out;
        if (n != WRAPPED_BYTES ||
            crypto_aead_xchacha20poly1305_ietf_decrypt(
                raw, NULL, NULL, blob + NONCE_BYTES, n - NONCE_BYTES,
                (const unsigned char *)kek->id, strlen(kek->id), blob,
                kek->bytes) != 0) {
                err_set(e, ERR_INVALID, NULL,
                        "wrapped key fails authentication");
                goto out;
        }
        rc = secret_key_short(raw, sizeof(raw), dek, e);
out:
        sodium_memzero(raw, sizeof(raw));
        free(blob);
        return rc;
}

int
secret_dek_rewrap(const struct secret_keyring *kr, const char *wrapped,
                  char **out, struct err *e)
{
        struct secret_key *dek = NULL;
        int rc = -1;

        if (secret_keyring_current(kr) == NULL) {
                err_set(e, ERR_FATAL, NULL, "keyring is empty");
                goto out;
        }
        if (secret_dek_unwrap(kr, wrapped, &dek, e) < 0)
                goto out;
        rc = dek_wrap(kr->keks[kr->current], dek, out, e);
out:
        secret_key_free(dek);
        return rc;
}

bool
secret_dek_is_current(const struct secret_keyring *kr, const char *wrapped)
{
        const char *kid = secret_keyring_current(kr);
        size_t n;

        if (kid == NULL || wrapped == NULL)
                return false;
        n = strlen(kid);
        return strncmp(wrapped, kid, n) == 0 && wrapped[n] == ':';
}

int
secret_aead_encrypt(const struct secret_key *key, const unsigned char *msg,
                    size_t len, const char *ad, unsigned char **out,
                    size_t *outlen, struct err *e)
{
        unsigned char *blob;

        if (secret_init(e) < 0)
                return -1;
        if (key->len != SECRET_KEY_BYTES)
                return err_set(e, ERR_FATAL, NULL, "data key must be %d bytes",
                               SECRET_KEY_BYTES);
        blob = malloc(len + SECRET_AEAD_OVERHEAD);
        if (blob == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        randombytes_buf(blob, NONCE_BYTES);
        crypto_aead_xchacha20poly1305_ietf_encrypt(
            blob + NONCE_BYTES, NULL, msg, len, (const unsigned char *)ad,
            ad ? strlen(ad) : 0, NULL, blob, key->bytes);
        *out = blob;
        *outlen = len + SECRET_AEAD_OVERHEAD;
        return 0;
}

int
secret_aead_decrypt(const struct secret_key *key, const unsigned char *blob,
                    size_t len, const char *ad, unsigned char **out,
                    size_t *outlen, struct err *e)
{
        unsigned char *msg;
        size_t n;

        if (secret_init(e) < 0)
                return -1;
        if (key->len != SECRET_KEY_BYTES)
                return err_set(e, ERR_FATAL, NULL, "data key must be %d bytes",
                               SECRET_KEY_BYTES);
        if (len < SECRET_AEAD_OVERHEAD)
                return err_set(e, ERR_INVALID, NULL, "ciphertext too short");
        n = len - SECRET_AEAD_OVERHEAD;
        msg = malloc(n + 1);
        if (msg == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        if (crypto_aead_xchacha20poly1305_ietf_decrypt(
                msg, NULL, NULL, blob + NONCE_BYTES, len - NONCE_BYTES,
                (const unsigned char *)ad, ad ? strlen(ad) : 0, blob,
                key->bytes) != 0) {
                free(msg);
                return err_set(e, ERR_INVALID, NULL,
                               "ciphertext fails authentication");
        }
        msg[n] = '\0';
        *out = msg;
        *outlen = n;
        return 0;
}
