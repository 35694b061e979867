/*
 * catalogue: the in-memory copy of the service replica the gateway checks
 * every referral against, so a submission needs no database round trip
 * (and is still accepted while PostgreSQL is down). A chained hash table
 * under a read-write lock. The replica tables (store.c) are the truth:
 * the copy is loaded from them at start and follows every applied event.
 */
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

#define NBUCKETS 4096

struct ent {
        struct gw_service s;
        struct ent *next;
};

struct gw_catalogue {
        pthread_rwlock_t lock;
        struct ent *b[NBUCKETS];
        size_t n;
};

static size_t
bucket(const char *id)
{
        size_t h = 5381;

        for (; *id; id++)
                h = h * 33 + (unsigned char)*id;
        return h % NBUCKETS;
}

struct gw_catalogue *
gw_catalogue_new(void)
{
        struct gw_catalogue *c = calloc(1, sizeof(*c));

        if (c != NULL)
                pthread_rwlock_init(&c->lock, NULL);
        return c;
}

void
gw_catalogue_free(struct gw_catalogue *c)
{
        if (c == NULL)
                return;
        for (size_t i = 0; i < NBUCKETS; i++) {
                struct ent *e = c->b[i], *next;
                for (; e != NULL; e = next) {
                        next = e->next;
                        free(e);
                }
        }
        pthread_rwlock_destroy(&c->lock);
        free(c);
}

static struct ent *
find(struct gw_catalogue *c, const char *id, struct ent ***link)
{
        struct ent **p = &c->b[bucket(id)];

        for (; *p != NULL; p = &(*p)->next)
                if (strcmp((*p)->s.id, id) == 0)
                        break;
        if (link != NULL)
                *link = p;
        return *p;
}

int
gw_catalogue_put(struct gw_catalogue *c, const struct gw_service *s)
{
        struct ent *e, **link;
        int rc = 0;

        pthread_rwlock_wrlock(&c->lock);
        e = find(c, s->id, &link);
        if (e == NULL) {
                if ((e = calloc(1, sizeof(*e))) == NULL) {
                        rc = -1;
                        goto out;
                }
                *link = e;
                c->n++;
        }
        e->s = *s;
out:
        pthread_rwlock_unlock(&c->lock);
        return rc;
}

void
gw_catalogue_remove(struct gw_catalogue *c, const char *id)
{
        struct ent *e, **link;

        pthread_rwlock_wrlock(&c->lock);
        e = find(c, id, &link);
        if (e != NULL) {
                *link = e->next;
                free(e);
                c->n--;
        }
        pthread_rwlock_unlock(&c->lock);
}

bool
gw_catalogue_get(struct gw_catalogue *c, const char *id, struct gw_service *out)
{
        struct ent *e;

        pthread_rwlock_rdlock(&c->lock);
        e = find(c, id, NULL);
        if (e != NULL)
                *out = e->s;
        pthread_rwlock_unlock(&c->lock);
        return e != NULL;
}

size_t
gw_catalogue_count(struct gw_catalogue *c)
{
        size_t n;

        pthread_rwlock_rdlock(&c->lock);
        n = c->n;
        pthread_rwlock_unlock(&c->lock);
        return n;
}

bool
gw_service_open(const struct gw_service *s)
{
        return s->accepts_referrals && strcmp(s->status, "active") == 0;
}
