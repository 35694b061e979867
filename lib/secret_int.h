/*
 * secret_int: what secret.c, secret_dek.c and secret_pool.c share and no
 * one else uses.
 */
#ifndef SIGNPOST_SECRET_INT_H
#define SIGNPOST_SECRET_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "secret.h"

/* secret_pool_take: a zeroed slot for a short-lived key, or NULL when the
 * pool is exhausted (then use sodium_malloc). Return it with
 * secret_pool_give(), which wipes it. */
struct secret_key *secret_pool_take(void);
void secret_pool_give(struct secret_key *k);
/* secret_pool_owns: true when k is a pool slot. */
bool secret_pool_owns(const struct secret_key *k);
/* secret_pool_free_slots: slots not taken (for tests). */
size_t secret_pool_free_slots(void);

/* secret_key_short: a key of len bytes for one unit of work (a data key),
 * from the pool: bytes copied in, or random when bytes is NULL. Not made
 * read-only. Returns new key in *out, free with secret_key_free(). */
int secret_key_short(const unsigned char *bytes, size_t len,
                     struct secret_key **out, struct err *e);

/* secret_sender_open: opens a sender's box (secret_sender.c) into msg
 * (len - SECRET_SENDER_OVERHEAD bytes). Returns 0, or -1 when box is not
 * one or does not open with sk. */
int secret_sender_open(const unsigned char pk[SECRET_BOX_PK_BYTES],
                       const struct secret_key *sk, const unsigned char *box,
                       size_t len, unsigned char *msg);

#endif
