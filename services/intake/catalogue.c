/*
 * catalogue: intake's replica of the directory's catalogue, kept from
 * directory.services and directory.organisations snapshots (see
 * services/directory/emit.c): whether a service takes referrals, its
 * notice address and taxonomy terms, and the organisation's partner public
 * key. lib/catalogue.c reads the records (a null value deletes). When an
 * organisation's key first arrives, referrals held for the want of it are
 * routed. Does not own SQL.
 */
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "json.h"
#include "log.h"

/* usable_key: k when it decodes to a public key, else NULL. */
static const char *
usable_key(const char *k)
{
        unsigned char pk[SECRET_BOX_PK_BYTES];

        return k != NULL && secret_pk_decode(k, pk) == 0 ? k : NULL;
}

/* term_ids: returns new JSON text of the ids of the snapshot's terms
 * (each an object with a UUID id, lib/catalogue.c checked). */
static char *
term_ids(const json_t *terms)
{
        json_t *ids = json_array(), *t;
        char *text;
        size_t i;

        json_array_foreach(terms, i, t)
            json_array_append(ids, json_object_get(t, "id"));
        text = jsonx_dump(ids);
        json_decref(ids);
        return text;
}

/* org_apply: the organisation's name and key (NULL name: keep the one
 * known), or its deletion. */
static int
org_apply(struct intake *in, struct db *db, const char *id, const char *name,
          const char *key, bool deleted, struct err *e)
{
        bool added = false;

        if (intake_store_org_put(db, id, name, usable_key(key), deleted, &added,
                                 e) < 0)
                return -1;
        if (!added)
                return 0;
        log_info("partner key known", "organisation_id=%s", id);
        return intake_route_held(in, db, id, e);
}

static int
service_apply(struct intake *in, struct db *db, const struct catalogue_entry *c,
              struct err *e)
{
        char *terms;
        int rc;

        if (c->deleted)
                return intake_store_service_put(db, c->id, NULL, NULL, NULL,
                                                false, NULL, NULL, true, e);
        terms = term_ids(c->taxonomy_terms);
        if (terms == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        rc = intake_store_service_put(db, c->id, c->org_id, c->name, c->status,
                                      c->accepts_referrals, c->notice_email,
                                      terms, false, e);
        free(terms);
        if (rc < 0 || c->org_id == NULL)
                return rc;
        /* the snapshot carries the organisation's name and key too */
        return org_apply(in, db, c->org_id, c->org_name, c->partner_public_key,
                         false, e);
}

int
intake_catalogue_apply(struct intake *in, struct db *db,
                       const struct kafka_record *rec, struct err *e)
{
        struct catalogue_entry c;
        int rc = catalogue_read(rec, &c, e);

        if (rc == 0)
                rc = c.kind == CATALOGUE_ORG
                         ? org_apply(in, db, c.id, c.name, c.partner_public_key,
                                     c.deleted, e)
                         : service_apply(in, db, &c, e);
        catalogue_entry_fini(&c);
        return rc;
}
