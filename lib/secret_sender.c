/*
 * secret_sender: boxes for one recipient from a long-lived sender, and
 * their opening. A sealed box (crypto_box_seal) makes a fresh key pair and
 * a Diffie-Hellman agreement per message: two X25519 operations to seal
 * and one to open, about half of intake's CPU when it was measured. A
 * sender instead keeps one ephemeral key pair for a bounded time (rotated
 * every SECRET_SENDER_ROTATE_S seconds) with the shared key precomputed,
 * and seals each message with crypto_box_easy_afternm under a random
 * nonce; the recipient caches the shared key per ephemeral public key.
 * The recipient's key still alone opens the box; the sender's ephemeral
 * secret never leaves its process and is wiped on rotation.
 *
 * Layout: 0x02 || ephemeral pk (32) || nonce (24) || MAC + ciphertext.
 * secret_unseal opens both this and classic sealed boxes (a classic box
 * that happens to start with 0x02 still opens: the second try is the
 * classic one).
 */
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "secret_int.h"

#define V2_TAG 0x02
#define EPK crypto_box_PUBLICKEYBYTES
#define NONCE crypto_box_NONCEBYTES
#define KEY crypto_box_BEFORENMBYTES
#define HDR (1 + EPK + NONCE)
#define CACHE_SLOTS 32

_Static_assert(HDR + crypto_box_MACBYTES == SECRET_SENDER_OVERHEAD, "layout");

struct secret_sender {
        pthread_mutex_t mu;
        unsigned char pk[EPK];  /* the recipient */
        unsigned char epk[EPK]; /* this epoch's ephemeral public key */
        unsigned char *k;       /* sodium_malloc: precomputed shared key */
        time_t since;
        int rotate_s;
};

/* rotate: a new ephemeral key pair and shared key (mu held). */
static int
rotate(struct secret_sender *s)
{
        unsigned char esk[crypto_box_SECRETKEYBYTES];
        int rc;

        crypto_box_keypair(s->epk, esk);
        rc = crypto_box_beforenm(s->k, s->pk, esk);
        sodium_memzero(esk, sizeof(esk));
        s->since = time(NULL);
        return rc;
}

int
secret_sender_new(const unsigned char pk[SECRET_BOX_PK_BYTES], int rotate_s,
                  struct secret_sender **out, struct err *e)
{
        struct secret_sender *s;

        if (secret_init(e) < 0)
                return -1;
        s = calloc(1, sizeof(*s));
        if (s == NULL || (s->k = sodium_malloc(KEY)) == NULL) {
                free(s);
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        }
        pthread_mutex_init(&s->mu, NULL);
        memcpy(s->pk, pk, EPK);
        s->rotate_s = rotate_s > 0 ? rotate_s : SECRET_SENDER_ROTATE_S;
        if (rotate(s) != 0) {
                secret_sender_free(s);
                return err_set(e, ERR_INVALID, NULL, "bad public key");
        }
        *out = s;
        return 0;
}

void
secret_sender_free(struct secret_sender *s)
{
        if (s == NULL)
                return;
        sodium_free(s->k); /* wipes */
        pthread_mutex_destroy(&s->mu);
        free(s);
}

int
secret_sender_seal(struct secret_sender *s, const unsigned char *msg,
                   size_t len, unsigned char **out, size_t *outlen,
                   struct err *e)
{
        unsigned char k[KEY], *box = malloc(len + SECRET_SENDER_OVERHEAD);
        int rc = 0;

        if (box == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        pthread_mutex_lock(&s->mu);
        if (time(NULL) - s->since >= s->rotate_s)
                rc = rotate(s);
        memcpy(k, s->k, KEY);
        memcpy(box + 1, s->epk, EPK);
        pthread_mutex_unlock(&s->mu);
        box[0] = V2_TAG;
        randombytes_buf(box + 1 + EPK, NONCE);
        if (rc == 0)
                rc = crypto_box_easy_afternm(box + HDR, msg, len, box + 1 + EPK,
                                             k);
        sodium_memzero(k, sizeof(k));
        if (rc != 0) {
                free(box);
                return err_set(e, ERR_FATAL, NULL, "box failed");
        }
        *out = box;
        *outlen = len + SECRET_SENDER_OVERHEAD;
        return 0;
}

/* The recipient's cache: shared keys by (recipient pk, ephemeral pk). */
struct cache_entry {
        unsigned char pk[EPK], epk[EPK], k[KEY];
        unsigned long used; /* 0 = empty */
};

static struct {
        pthread_once_t once;
        pthread_mutex_t mu;
        struct cache_entry *e; /* sodium_malloc'd CACHE_SLOTS entries */
        unsigned long tick;
} cache = {.once = PTHREAD_ONCE_INIT, .mu = PTHREAD_MUTEX_INITIALIZER};

static void
cache_init(void)
{
        cache.e = sodium_malloc(CACHE_SLOTS * sizeof(*cache.e));
        if (cache.e != NULL)
                sodium_memzero(cache.e, CACHE_SLOTS * sizeof(*cache.e));
}

/* cache_get: copies the shared key for (pk, epk) into k; false if none. */
static bool
cache_get(const unsigned char *pk, const unsigned char *epk, unsigned char *k)
{
        bool hit = false;

        pthread_once(&cache.once, cache_init);
        if (cache.e == NULL)
                return false;
        pthread_mutex_lock(&cache.mu);
        for (int i = 0; i < CACHE_SLOTS && !hit; i++) {
                struct cache_entry *c = &cache.e[i];
                if (c->used != 0 && sodium_memcmp(c->epk, epk, EPK) == 0 &&
                    sodium_memcmp(c->pk, pk, EPK) == 0) {
                        memcpy(k, c->k, KEY);
                        c->used = ++cache.tick;
                        hit = true;
                }
        }
        pthread_mutex_unlock(&cache.mu);
        return hit;
}

/* cache_put: remembers a shared key that opened a box, in place of the
 * least recently used entry. */
static void
cache_put(const unsigned char *pk, const unsigned char *epk,
          const unsigned char *k)
{
        struct cache_entry *c;

        if (cache.e == NULL)
                return;
        pthread_mutex_lock(&cache.mu);
        c = &cache.e[0];
        for (int i = 1; i < CACHE_SLOTS; i++)
                if (cache.e[i].used < c->used)
                        c = &cache.e[i];
        memcpy(c->pk, pk, EPK);
        memcpy(c->epk, epk, EPK);
        memcpy(c->k, k, KEY);
        c->used = ++cache.tick;
        pthread_mutex_unlock(&cache.mu);
}

int
secret_sender_open(const unsigned char pk[SECRET_BOX_PK_BYTES],
                   const struct secret_key *sk, const unsigned char *box,
                   size_t len, unsigned char *msg)
{
        unsigned char k[KEY];
        bool cached;
        int rc;

        if (len < SECRET_SENDER_OVERHEAD || box[0] != V2_TAG)
                return -1;
        cached = cache_get(pk, box + 1, k);
        if (!cached && crypto_box_beforenm(k, box + 1, sk->bytes) != 0) {
                sodium_memzero(k, sizeof(k));
                return -1;
        }
        rc = crypto_box_open_easy_afternm(msg, box + HDR, len - HDR,
                                          box + 1 + EPK, k);
        if (rc == 0 && !cached)
                cache_put(pk, box + 1, k);
        sodium_memzero(k, sizeof(k));
        return rc;
}
