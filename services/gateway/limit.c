/*
 * limit: token-bucket rate limits keyed by a string (a client address or
 * an API token id). A fixed table of buckets indexed by a hash of the key,
 * each holding the full key hash it belongs to; an unrelated key landing
 * on the slot starts it afresh, so memory stays bounded whatever clients
 * send. Mutexes are striped over the table. Does not know about HTTP.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

#define NSLOTS 16384
#define NLOCKS 64

struct bucket {
        uint64_t key;
        double tokens;
        double at;
};

struct gw_limiter {
        double rate, burst;
        pthread_mutex_t locks[NLOCKS];
        struct bucket slots[NSLOTS];
};

static uint64_t
hash(const char *s)
{
        uint64_t h = 1469598103934665603ull; /* FNV-1a */

        for (; *s; s++) {
                h ^= (unsigned char)*s;
                h *= 1099511628211ull;
        }
        return h | 1; /* 0 marks an empty slot */
}

struct gw_limiter *
gw_limiter_new(double rate, double burst)
{
        struct gw_limiter *l = calloc(1, sizeof(*l));

        if (l == NULL)
                return NULL;
        l->rate = rate;
        l->burst = burst < 1 ? 1 : burst;
        for (int i = 0; i < NLOCKS; i++)
                pthread_mutex_init(&l->locks[i], NULL);
        return l;
}

void
gw_limiter_free(struct gw_limiter *l)
{
        if (l == NULL)
                return;
        for (int i = 0; i < NLOCKS; i++)
                pthread_mutex_destroy(&l->locks[i]);
        free(l);
}

bool
gw_limiter_take(struct gw_limiter *l, const char *key, double now,
                int *retry_after)
{
        uint64_t h = hash(key);
        size_t i = h % NSLOTS;
        pthread_mutex_t *mu = &l->locks[i % NLOCKS];
        struct bucket *b = &l->slots[i];
        bool ok;

        if (l->rate <= 0)
                return true;
        pthread_mutex_lock(mu);
        if (b->key != h) {
                b->key = h;
                b->tokens = l->burst;
                b->at = now;
        }
        b->tokens = fmin(l->burst, b->tokens + (now - b->at) * l->rate);
        b->at = now;
        ok = b->tokens >= 1.0;
        if (ok)
                b->tokens -= 1.0;
        else if (retry_after != NULL)
                *retry_after = (int)ceil((1.0 - b->tokens) / l->rate);
        pthread_mutex_unlock(mu);
        if (!ok && retry_after != NULL && *retry_after < 1)
                *retry_after = 1;
        return ok;
}
