/*
 * secret_pool: guarded memory for short-lived keys. A data key lives for
 * one referral; sodium_malloc per key costs an mmap, two mprotects and a
 * munmap (with a TLB shoot-down on every core) each time, which under load
 * cost intake a quarter of its CPU. The pool is one sodium_malloc region
 * (guard pages around it, locked in memory where the limit allows, left
 * out of core dumps) cut into key-sized slots; a slot is wiped when it is
 * returned. Keys loaded from files stay in their own read-only pages
 * (secret.c). When every slot is taken, keys come from sodium_malloc.
 */
#include <pthread.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>

#include "secret_int.h"

#define POOL_SLOTS 1024

static struct {
        pthread_once_t once;
        pthread_mutex_t mu;
        struct secret_key *slots; /* sodium_malloc, NULL if that failed */
        size_t free_idx[POOL_SLOTS];
        size_t nfree;
} pool = {.once = PTHREAD_ONCE_INIT, .mu = PTHREAD_MUTEX_INITIALIZER};

static void
pool_init(void)
{
        pool.slots = sodium_malloc(POOL_SLOTS * sizeof(struct secret_key));
        if (pool.slots == NULL)
                return;
        sodium_memzero(pool.slots, POOL_SLOTS * sizeof(struct secret_key));
        for (size_t i = 0; i < POOL_SLOTS; i++)
                pool.free_idx[i] = POOL_SLOTS - 1 - i;
        pool.nfree = POOL_SLOTS;
}

struct secret_key *
secret_pool_take(void)
{
        struct secret_key *k = NULL;

        pthread_once(&pool.once, pool_init);
        pthread_mutex_lock(&pool.mu);
        if (pool.slots != NULL && pool.nfree > 0)
                k = &pool.slots[pool.free_idx[--pool.nfree]];
        pthread_mutex_unlock(&pool.mu);
        return k;
}

bool
secret_pool_owns(const struct secret_key *k)
{
        uintptr_t p = (uintptr_t)k, lo = (uintptr_t)pool.slots;

        return pool.slots != NULL && p >= lo &&
               p < lo + POOL_SLOTS * sizeof(struct secret_key);
}

void
secret_pool_give(struct secret_key *k)
{
        sodium_memzero(k, sizeof(*k));
        pthread_mutex_lock(&pool.mu);
        pool.free_idx[pool.nfree++] = (size_t)(k - pool.slots);
        pthread_mutex_unlock(&pool.mu);
}

size_t
secret_pool_free_slots(void)
{
        size_t n;

        pthread_once(&pool.once, pool_init);
        pthread_mutex_lock(&pool.mu);
        n = pool.nfree;
        pthread_mutex_unlock(&pool.mu);
        return n;
}
