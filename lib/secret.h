/*
 * secret: every use of libsodium in signpost, behind one prefix.
 *
 *   keys       struct secret_key: key bytes in sodium_malloc memory, read
 *              from a 0600 file or made at random, wiped on free; every
 *              key file (secret or public) is read by one rule, "key text"
 *   box        sealed boxes (anonymous sender -> key pair owner)
 *   b64        URL-safe base64 without padding, for bytes inside JSON
 *   envelope   a keyring of KEKs (key encryption keys) with ids; per-subject
 *              DEKs (data keys) wrapped as "<kid>:<b64(nonce||ct)>"; AEAD
 *              of blobs under a DEK with the referral id as associated data
 *   index      keyed BLAKE2b blind index over a normalised email or phone
 *   token      API tokens "sp_<b64>" and their keyed hash
 *   sign       Ed25519 detached signatures
 *   mac        HMAC-SHA-256, for outside interfaces that prescribe it
 *   wipe       zeroing memory that held a secret or personal data
 *
 * Envelope encryption is in secret_dek.c, the blind index in
 * secret_index.c, the rest in secret.c. Key files are refused, not just
 * warned about, when group or others have any access to them.
 *
 * Functions return 0 / -1 and fill a NULL-able struct err. Messages never
 * contain key material, plaintext, emails or phone numbers.
 */
#ifndef SIGNPOST_SECRET_H
#define SIGNPOST_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define SECRET_KEY_BYTES 32     /* KEK, DEK, index and token keys */
#define SECRET_KEY_MAX 64       /* largest key (Ed25519 secret key) */
#define SECRET_KID_MAX 16       /* key id incl. NUL: [A-Za-z0-9_-]{1,15} */
#define SECRET_BOX_PK_BYTES 32  /* crypto_box_PUBLICKEYBYTES */
#define SECRET_BOX_SK_BYTES 32  /* crypto_box_SECRETKEYBYTES */
#define SECRET_SEAL_OVERHEAD 48 /* crypto_box_SEALBYTES */
#define SECRET_AEAD_OVERHEAD 40 /* 24-byte nonce + 16-byte tag */
#define SECRET_SIGN_PK_BYTES 32 /* crypto_sign_PUBLICKEYBYTES */
#define SECRET_SIGN_SK_BYTES 64 /* crypto_sign_SECRETKEYBYTES */
#define SECRET_SIG_BYTES 64     /* crypto_sign_BYTES */
#define SECRET_HEX_LEN 65       /* 32-byte hash as hex, and the NUL */
#define SECRET_TOKEN_LEN 47     /* "sp_" + 43 base64 chars, and the NUL */
#define SECRET_HMAC_BYTES 32    /* crypto_auth_hmacsha256_BYTES */

/* A key in sodium_malloc memory, read-only once filled. */
struct secret_key {
        size_t len;              /* bytes used in bytes[] */
        char id[SECRET_KID_MAX]; /* key id, "" when it has none */
        unsigned char bytes[SECRET_KEY_MAX];
};

/* secret_init: readies libsodium (idempotent, thread-safe). Every function
 * here calls it; daemons may call it early to fail fast. */
int secret_init(struct err *e);

/* --- keys ------------------------------------------------------------ */

/* Key text, the one rule for every key written down (key files, public
 * keys in the catalogue): base64 of exactly the key's length, in the
 * standard (+ /) or the URL-safe (- _) alphabet, with its = padding or
 * without it, and white space before and after ignored (the newline a
 * file ends with). Nothing else: no raw bytes, no white space inside, no
 * mixed alphabets, no partial padding. signpost-keygen and
 * secret_key_file_new write URL-safe unpadded text and a newline;
 * signpost-partner keygen writes a partner's .pk padded standard (what
 * the directory stores). A file breaking the rule is refused with
 * ERR_FATAL and a message naming the file and what is wrong (empty, not
 * base64, or base64 of the wrong number of bytes). */

/* secret_key_load: reads a secret key of exactly len bytes from the key
 * text file at path. Also refuses a file that group or others may read
 * or write, or one that is not a regular file. id may be NULL. Returns
 * new key in *out, free with secret_key_free(). */
int secret_key_load(const char *path, size_t len, const char *id,
                    struct secret_key **out, struct err *e);
/* secret_key_random: a new random key of len bytes (<= SECRET_KEY_MAX).
 * Returns new key in *out, free with secret_key_free(). */
int secret_key_random(size_t len, const char *id, struct secret_key **out,
                      struct err *e);
/* secret_key_from_bytes: copies len bytes into a new key (test vectors,
 * keys handed over by another library). Returns new key in *out, free
 * with secret_key_free(). */
int secret_key_from_bytes(const unsigned char *bytes, size_t len,
                          const char *id, struct secret_key **out,
                          struct err *e);
/* secret_key_free: wipes and frees k; NULL is fine. */
void secret_key_free(struct secret_key *k);
/* secret_key_file_new: writes a new random len-byte key to path as base64
 * text and a newline, mode 0600. Never overwrites (ERR_CONFLICT if path
 * exists). For set-up scripts. */
int secret_key_file_new(const char *path, size_t len, struct err *e);
/* secret_kid_valid: true for 1-15 characters of [A-Za-z0-9_-]. */
bool secret_kid_valid(const char *kid);

/* --- base64 ------------------------------------------------------------ */

/* secret_b64_encode: URL-safe, unpadded. Returns new string, free with
 * free(); NULL when out of memory. */
char *secret_b64_encode(const unsigned char *bin, size_t len);
/* secret_b64_decode: strict inverse of secret_b64_encode (no padding, no
 * white space). Returns new buffer in *out (len in *outlen), free with
 * free(). */
int secret_b64_decode(const char *text, unsigned char **out, size_t *outlen,
                      struct err *e);

/* --- sealed boxes -------------------------------------------------------- */

/* secret_box_keypair: writes the public key into pk; returns new secret
 * key in *sk, free with secret_key_free(). */
int secret_box_keypair(unsigned char pk[SECRET_BOX_PK_BYTES],
                       struct secret_key **sk, struct err *e);
/* secret_pk_decode: a box public key (32 bytes) as key text (see
 * "Key text" above). 0, or -1 when it is not one. */
int secret_pk_decode(const char *text, unsigned char pk[SECRET_BOX_PK_BYTES]);
/* secret_pk_load: reads a box public key from the key text file at path
 * (any mode: public keys are world-readable by design; it must be a
 * regular file). ERR_FATAL naming the file when unreadable or not a
 * key. */
int secret_pk_load(const char *path, unsigned char pk[SECRET_BOX_PK_BYTES],
                   struct err *e);
/* secret_seal: encrypts msg to pk. Returns new buffer in *out of
 * len + SECRET_SEAL_OVERHEAD bytes, free with free(). */
int secret_seal(const unsigned char pk[SECRET_BOX_PK_BYTES],
                const unsigned char *msg, size_t len, unsigned char **out,
                size_t *outlen, struct err *e);
/* A sender: for a process that seals many messages to one recipient
 * (gateway -> intake, intake -> notification). It keeps an ephemeral key
 * pair for at most rotate_s seconds (<= 0: SECRET_SENDER_ROTATE_S) with
 * the shared key precomputed, so sealing costs no public-key operation;
 * secret_unseal opens its boxes (the recipient caches the shared key per
 * ephemeral key). Thread-safe. Boxes are SECRET_SENDER_OVERHEAD bytes
 * longer than the message. Partners get classic sealed boxes
 * (secret_seal), which any libsodium opens. */
#define SECRET_SENDER_OVERHEAD 73 /* tag, ephemeral pk, nonce, MAC */
#define SECRET_SENDER_ROTATE_S 300
struct secret_sender;
/* secret_sender_new: returns new sender for recipient pk in *out, free
 * with secret_sender_free() (wipes its keys). */
int secret_sender_new(const unsigned char pk[SECRET_BOX_PK_BYTES], int rotate_s,
                      struct secret_sender **out, struct err *e);
void secret_sender_free(struct secret_sender *s);
/* secret_sender_seal: returns new buffer in *out of len +
 * SECRET_SENDER_OVERHEAD bytes, free with free(). */
int secret_sender_seal(struct secret_sender *s, const unsigned char *msg,
                       size_t len, unsigned char **out, size_t *outlen,
                       struct err *e);
/* secret_unseal: opens a sealed box or a sender's box; ERR_INVALID when it was
 * tampered with or sealed to another key. Returns new buffer in *out,
 * NUL-terminated one byte past *outlen, free with free(). */
int secret_unseal(const unsigned char pk[SECRET_BOX_PK_BYTES],
                  const struct secret_key *sk, const unsigned char *box,
                  size_t len, unsigned char **out, size_t *outlen,
                  struct err *e);

/* Authenticated boxes (crypto_box: X25519, XSalsa20-Poly1305), for a
 * message whose sender must be known: a partner's status update to
 * intake is boxed with the partner's registered key pair, so opening it
 * with that partner's public key proves who sent it. The box is
 * nonce || ciphertext, SECRET_BOX_OVERHEAD bytes longer than msg. */
#define SECRET_BOX_OVERHEAD 40 /* crypto_box_NONCEBYTES + MACBYTES */
/* secret_box_to: msg boxed from sender_sk to recipient_pk. Returns new
 * buffer in *out, free with free(). */
int secret_box_to(const unsigned char recipient_pk[SECRET_BOX_PK_BYTES],
                  const struct secret_key *sender_sk, const unsigned char *msg,
                  size_t len, unsigned char **out, size_t *outlen,
                  struct err *e);
/* secret_box_from: opens a box from sender_pk to recipient_sk;
 * ERR_INVALID when it was not made with sender_pk's secret key for this
 * recipient, or was changed. Returns new buffer in *out, NUL-terminated
 * one byte past *outlen, free with free(). */
int secret_box_from(const unsigned char sender_pk[SECRET_BOX_PK_BYTES],
                    const struct secret_key *recipient_sk,
                    const unsigned char *box, size_t len, unsigned char **out,
                    size_t *outlen, struct err *e);

/* --- envelope encryption ------------------------------------------------- */

struct secret_keyring;

/* secret_keyring_new: an empty keyring. Returns new keyring, free with
 * secret_keyring_free(). NULL when out of memory. */
struct secret_keyring *secret_keyring_new(void);
void secret_keyring_free(struct secret_keyring *kr);
/* secret_keyring_add: takes ownership of kek (also on failure). kek must
 * be SECRET_KEY_BYTES long with a valid, unused id. The first key added,
 * or one added with current = true, wraps new DEKs. */
int secret_keyring_add(struct secret_keyring *kr, struct secret_key *kek,
                       bool current, struct err *e);
/* secret_keyring_load: parses spec "kid=path[,kid=path...]" (the first is
 * current), loading each KEK with secret_key_load(). Returns new keyring
 * in *out, free with secret_keyring_free(). */
int secret_keyring_load(const char *spec, struct secret_keyring **out,
                        struct err *e);
/* secret_keyring_current: returns borrowed current key id, valid while kr
 * lives; NULL when kr is empty. */
const char *secret_keyring_current(const struct secret_keyring *kr);

/* secret_dek_new: a random DEK, wrapped under the current KEK. Returns new
 * key in *dek (free with secret_key_free()) and new text in *wrapped
 * (free with free()); dek may be NULL when only the wrapped form is
 * wanted. */
int secret_dek_new(const struct secret_keyring *kr, struct secret_key **dek,
                   char **wrapped, struct err *e);
/* secret_dek_unwrap: ERR_NOT_FOUND when the key id is not in kr,
 * ERR_INVALID when the text is malformed or fails authentication.
 * Returns new key in *dek, free with secret_key_free(). */
int secret_dek_unwrap(const struct secret_keyring *kr, const char *wrapped,
                      struct secret_key **dek, struct err *e);
/* secret_dek_rewrap: unwraps with whichever KEK it names and wraps again
 * under the current one. Returns new text in *out, free with free(). */
int secret_dek_rewrap(const struct secret_keyring *kr, const char *wrapped,
                      char **out, struct err *e);
/* secret_dek_is_current: true when wrapped names the current KEK. */
bool secret_dek_is_current(const struct secret_keyring *kr,
                           const char *wrapped);

/* secret_aead_encrypt: XChaCha20-Poly1305-IETF under key (32 bytes) with
 * ad (e.g. the referral id; NULL = none) bound in. Returns new buffer in
 * *out = nonce || ciphertext, len + SECRET_AEAD_OVERHEAD bytes, free with
 * free(). */
int secret_aead_encrypt(const struct secret_key *key, const unsigned char *msg,
                        size_t len, const char *ad, unsigned char **out,
                        size_t *outlen, struct err *e);
/* secret_aead_decrypt: ERR_INVALID when the blob, ad or key do not match.
 * Returns new buffer in *out, NUL-terminated one byte past *outlen, free
 * with free(). */
int secret_aead_decrypt(const struct secret_key *key, const unsigned char *blob,
                        size_t len, const char *ad, unsigned char **out,
                        size_t *outlen, struct err *e);

/* --- blind index ------------------------------------------------------- */

/* secret_normalise_email: trims white space and lower-cases; requires one
 * '@' with text either side. Writes into out (outsz bytes). */
int secret_normalise_email(const char *in, char *out, size_t outsz,
                           struct err *e);
/* secret_normalise_phone: drops spaces and ( ) - . / and a "(0)" after a
 * country code; "+44"/"0044" become "0"; other "00" prefixes become "+".
 * UK result: 0 and 9-10 more digits; others: + and 7-15 digits. */
int secret_normalise_phone(const char *in, char *out, size_t outsz,
                           struct err *e);
/* secret_index_email / _phone: normalise, then keyed BLAKE2b-256 with a
 * per-kind domain prefix; hex into out. key is the index key. */
int secret_index_email(const struct secret_key *key, const char *email,
                       char out[SECRET_HEX_LEN], struct err *e);
int secret_index_phone(const struct secret_key *key, const char *phone,
                       char out[SECRET_HEX_LEN], struct err *e);

/* secret_hash_hex: keyed BLAKE2b-256 over domain || data (len bytes),
 * as lower-case hex into out. key must be SECRET_KEY_BYTES long; domain
 * separates uses of one key ("signpost:email:"). */
int secret_hash_hex(const struct secret_key *key, const char *domain,
                    const char *data, size_t len, char out[SECRET_HEX_LEN],
                    struct err *e);

/* --- API tokens -------------------------------------------------------- */

/* secret_token_new: "sp_" + base64url of 32 random bytes. Shown to the
 * partner once; store only secret_token_hash() of it. */
int secret_token_new(char out[SECRET_TOKEN_LEN], struct err *e);
/* secret_token_hash: keyed BLAKE2b-256 of a well-formed token, as hex.
 * ERR_INVALID for anything not shaped like secret_token_new() output. */
int secret_token_hash(const struct secret_key *key, const char *token,
                      char out[SECRET_HEX_LEN], struct err *e);
/* secret_equal: constant-time comparison of two strings (time depends
 * only on the length); false when lengths differ or either is NULL. */
bool secret_equal(const char *a, const char *b);

/* --- HMAC-SHA-256 and wiping ------------------------------------------ */

/* secret_hmac_sha256: HMAC-SHA-256 (RFC 2104) of msg (len bytes) under
 * key (any length) into out, for interfaces that prescribe it (HS256
 * JWTs); signpost's own keyed hashes are BLAKE2b (secret_hash_hex). */
int secret_hmac_sha256(const struct secret_key *key, const void *msg,
                       size_t len, unsigned char out[SECRET_HMAC_BYTES],
                       struct err *e);
/* secret_wipe: zeroes len bytes at p in a way the compiler keeps (for
 * buffers that held a secret, a plaintext or an address before they are
 * freed or go out of scope). NULL is fine. */
void secret_wipe(void *p, size_t len);

/* --- Ed25519 ----------------------------------------------------------- */

/* secret_sign_keypair: writes the public key into pk; returns new secret
 * key in *sk, free with secret_key_free(). */
int secret_sign_keypair(unsigned char pk[SECRET_SIGN_PK_BYTES],
                        struct secret_key **sk, struct err *e);
/* secret_sign: detached signature of msg into sig. */
int secret_sign(const struct secret_key *sk, const unsigned char *msg,
                size_t len, unsigned char sig[SECRET_SIG_BYTES], struct err *e);
/* secret_verify: true when sig is pk's signature over msg. */
bool secret_verify(const unsigned char pk[SECRET_SIGN_PK_BYTES],
                   const unsigned char *msg, size_t len,
                   const unsigned char sig[SECRET_SIG_BYTES]);

#endif
