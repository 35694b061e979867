/*
 * import: writes whole HSDS 3.0 records (the ORUK "full" shapes: a service
 * with its schedules, areas, locations, contacts, attributes and nested
 * organization; an organization with identifiers and services; a taxonomy
 * with its terms; a service_at_location) and postcode CSV. Every write
 * reindexes the services it touches and queues their catalogue events.
 * Runs inside the caller's transaction; does not parse Kafka records.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "secret.h"

static const char *
id_of(const json_t *o)
{
        return json_string_value(json_object_get(o, "id"));
}

/* ensure_ids: children without an id get a new one, so their own
 * children (a contact's phones) can refer to it. */
static int
ensure_ids(json_t *arr, const char *field, struct err *e)
{
        json_t *el;
        size_t i;

        if (arr == NULL || json_is_null(arr))
                return 0;
        if (!json_is_array(arr))
                return err_set(e, ERR_INVALID, field, "expected an array");
        json_array_foreach(arr, i, el)
        {
                char id[UUID_STR_LEN];
                if (!json_is_object(el))
                        return err_set(e, ERR_INVALID, field,
                                       "expected objects");
                if (json_object_get(el, "id") == NULL) {
                        uuid_v4(id);
                        json_object_set_new(el, "id", json_string(id));
                } else if (id_of(el) == NULL || !uuid_valid(id_of(el))) {
                        return err_set(e, ERR_INVALID, field,
                                       "id is not a UUID");
                }
        }
        return 0;
}

static int
children(struct db *db, enum dir_child kind, const char *parent, json_t *obj,
         const char *field, struct err *e)
{
        json_t *arr = json_object_get(obj, field);

        if (arr == NULL)
                return 0;
        if (ensure_ids(arr, field, e) < 0)
                return -1;
        return dir_store_replace_children(db, kind, parent,
                                          json_is_null(arr) ? NULL : arr, e);
}

static int
reindex_emit(struct db *db, const char *ids, struct err *e)
{
        if (strcmp(ids, "{}") == 0) /* nothing touched: no round trips */
                return 0;
        if (dir_store_reindex(db, ids, e) < 0 ||
            dir_emit_services(db, ids, e) < 0)
                return -1;
        return dir_docs_refresh(db, ids, e);
}

static int
put_term(struct db *db, enum dir_put_mode mode, json_t *t, bool emit,
         struct err *e)
{
        char *ids;
        int rc;

        if (dir_store_put(db, DIR_TERM, mode, t, e) < 0)
                return -1;
        if (!emit)
                return 0;
        ids = dir_store_affected(db, DIR_TERM, id_of(t), e);
        if (ids == NULL)
                return -1;
        rc = reindex_emit(db, ids, e);
        free(ids);
        return rc;
}

static int
put_location(struct db *db, enum dir_put_mode mode, json_t *l, struct err *e)
{
        if (dir_store_put(db, DIR_LOCATION, mode, l, e) < 0)
                return -1;
        if (children(db, DIR_CHILD_ADDRESSES, id_of(l), l, "addresses", e) < 0)
                return -1;
        return children(db, DIR_CHILD_ACCESSIBILITY, id_of(l), l,
                        "accessibility", e);
}

/* put_location_alone: a location written by itself; the services at it
 * are rendered again (their search documents do not hold locations). */
static int
put_location_alone(struct db *db, enum dir_put_mode mode, json_t *l,
                   struct err *e)
{
        char *ids;
        int rc;

        if (put_location(db, mode, l, e) < 0)
                return -1;
        ids = dir_store_affected(db, DIR_LOCATION, id_of(l), e);
        if (ids == NULL)
                return -1;
        rc = dir_docs_refresh(db, ids, e);
        free(ids);
        return rc;
}

static int
put_attributes(struct db *db, const char *id, json_t *arr, struct err *e)
{
        json_t *a;
        size_t i;

        if (arr == NULL)
                return 0;
        if (ensure_ids(arr, "attributes", e) < 0 ||
            dir_store_replace_children(db, DIR_CHILD_ATTRIBUTES, id, NULL, e) <
                0)
                return -1;
        json_array_foreach(arr, i, a)
        {
                json_t *t = json_object_get(a, "taxonomy_term");
                if (json_is_object(t) && json_object_get(t, "name") != NULL &&
                    put_term(db, DIR_PUT_UPSERT, t, false, e) < 0)
                        return -1;
                if (dir_store_attribute_add(db, id, "service", a, (int)i + 1,
                                            e) < 0)
                        return -1;
        }
        return 0;
}

static int
put_sals(struct db *db, const char *id, json_t *arr, struct err *e)
{
        json_t *s, *loc;
        size_t i;

        if (arr == NULL)
                return 0;
        if (ensure_ids(arr, "service_at_locations", e) < 0)
                return -1;
        json_array_foreach(arr, i, s)
        {
                loc = json_object_get(s, "location");
                if (json_is_object(loc)) {
                        if (put_location(db, DIR_PUT_UPSERT, loc, e) < 0)
                                return -1;
                        json_object_set(s, "location_id",
                                        json_object_get(loc, "id"));
                }
        }
        return dir_store_replace_children(db, DIR_CHILD_SAL, id, arr, e);
}

static int
put_service(struct db *db, enum dir_put_mode mode, json_t *s, struct err *e)
{
        static const struct {
                enum dir_child kind;
                const char *field;
        } kids[] = {
            {DIR_CHILD_SCHEDULES, "schedules"},
            {DIR_CHILD_AREAS, "service_areas"},
            {DIR_CHILD_LANGUAGES, "languages"},
            {DIR_CHILD_FUNDING, "funding"},
            {DIR_CHILD_COSTS, "cost_options"},
            {DIR_CHILD_CONTACTS, "contacts"},
        };
        json_t *org = json_object_get(s, "organization"), *c;
        char ids[UUID_STR_LEN + 2];
        size_t i;

        json_object_del(s, "search_vector");
        json_object_del(s, "search_text");
        if (json_is_object(org)) {
                if (dir_put(db, DIR_ORGANIZATION, DIR_PUT_UPSERT, org, e) < 0)
                        return -1;
                json_object_set(s, "organization_id",
                                json_object_get(org, "id"));
        }
        if (dir_store_put(db, DIR_SERVICE, mode, s, e) < 0)
                return -1;
        for (i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
                if (children(db, kids[i].kind, id_of(s), s, kids[i].field, e) <
                    0)
                        return -1;
        json_array_foreach(json_object_get(s, "contacts"), i, c)
        {
                if (children(db, DIR_CHILD_PHONES, id_of(c), c, "phones", e) <
                    0)
                        return -1;
        }
        if (put_attributes(db, id_of(s), json_object_get(s, "attributes"), e) <
                0 ||
            put_sals(db, id_of(s), json_object_get(s, "service_at_locations"),
                     e) < 0)
                return -1;
        snprintf(ids, sizeof(ids), "{%s}", id_of(s));
        return reindex_emit(db, ids, e);
}

/* key_ok: a partner_public_key that is absent, null, or a box public key
 * as secret_pk_decode reads it (the rule intake reads it by). */
static bool
key_ok(const json_t *k)
{
        unsigned char pk[SECRET_BOX_PK_BYTES];

        if (k == NULL || json_is_null(k))
                return true;
        return json_is_string(k) &&
               secret_pk_decode(json_string_value(k), pk) == 0;
}

static int
put_org(struct db *db, enum dir_put_mode mode, json_t *o, struct err *e)
{
        json_t *svcs = json_object_get(o, "services"), *s;
        char *ids = NULL;
        size_t i;
        int rc = -1;

        if (!key_ok(json_object_get(o, "partner_public_key")))
                return err_set(e, ERR_INVALID, "partner_public_key",
                               "expected base64 of a 32-byte public key");
        if (dir_store_put(db, DIR_ORGANIZATION, mode, o, e) < 0 ||
            children(db, DIR_CHILD_ORG_IDS, id_of(o), o,
                     "organization_identifiers", e) < 0)
                return -1;
        json_array_foreach(svcs, i, s)
        {
                json_object_del(s, "organization");
                json_object_set(s, "organization_id", json_object_get(o, "id"));
                if (put_service(db, DIR_PUT_UPSERT, s, e) < 0)
                        return -1;
        }
        /* services carry the organisation's name and key */
        ids = dir_store_affected(db, DIR_ORGANIZATION, id_of(o), e);
        if (ids != NULL && reindex_emit(db, ids, e) == 0 &&
            dir_emit_organization(db, id_of(o), false, e) == 0)
                rc = 0;
        free(ids);
        return rc;
}

static int
put_taxonomy(struct db *db, enum dir_put_mode mode, json_t *t, struct err *e)
{
        json_t *terms = json_object_get(t, "taxonomy_terms"), *el;
        size_t i;

        if (dir_store_put(db, DIR_TAXONOMY, mode, t, e) < 0)
                return -1;
        json_array_foreach(terms, i, el)
        {
                json_object_set(el, "taxonomy_id", json_object_get(t, "id"));
                if (put_term(db, DIR_PUT_UPSERT, el, true, e) < 0)
                        return -1;
        }
        return 0;
}

int
dir_put(struct db *db, enum dir_entity ent, enum dir_put_mode mode, json_t *obj,
        struct err *e)
{
        if (!json_is_object(obj))
                return err_set(e, ERR_INVALID, NULL, "expected an object");
        switch (ent) {
        case DIR_ORGANIZATION:
                return put_org(db, mode, obj, e);
        case DIR_SERVICE:
                return put_service(db, mode, obj, e);
        case DIR_LOCATION:
                return put_location_alone(db, mode, obj, e);
        case DIR_TAXONOMY:
                return put_taxonomy(db, mode, obj, e);
        case DIR_TERM:
                return put_term(db, mode, obj, true, e);
        }
        return err_set(e, ERR_FATAL, NULL, "unknown entity");
}

/* put_sal_full: a service_at_location with nested location and service. */
static int
put_sal_full(struct db *db, json_t *d, struct err *e)
{
        json_t *loc = json_object_get(d, "location");
        json_t *svc = json_object_get(d, "service");
        const char *sid, *lid;

        if (id_of(d) == NULL || !uuid_valid(id_of(d)))
                return err_set(e, ERR_INVALID, "id", "missing or not a UUID");
        if (json_is_object(loc) && put_location(db, DIR_PUT_UPSERT, loc, e) < 0)
                return -1;
        if (json_is_object(svc) && put_service(db, DIR_PUT_UPSERT, svc, e) < 0)
                return -1;
        sid = svc ? id_of(svc)
                  : json_string_value(json_object_get(d, "service_id"));
        lid = loc ? id_of(loc)
                  : json_string_value(json_object_get(d, "location_id"));
        if (sid == NULL || lid == NULL)
                return err_set(e, ERR_INVALID, "service_id",
                               "service and location are required");
        return dir_store_sal_put(db, id_of(d), sid, lid, e);
}

int
dir_import_hsds(struct db *db, const json_t *doc, struct err *e)
{
        static const struct {
                const char *kind;
                int ent; /* -1: service_at_location */
        } kinds[] = {
            {"service", DIR_SERVICE},    {"organization", DIR_ORGANIZATION},
            {"location", DIR_LOCATION},  {"taxonomy", DIR_TAXONOMY},
            {"taxonomy_term", DIR_TERM}, {"service_at_location", -1},
        };
        const char *kind = json_string_value(json_object_get(doc, "kind"));
        json_t *recs = json_object_get(doc, "records"), *r;
        size_t i, k;

        for (k = 0; kind != NULL && k < sizeof(kinds) / sizeof(kinds[0]); k++)
                if (strcmp(kind, kinds[k].kind) == 0)
                        break;
        if (kind == NULL || k == sizeof(kinds) / sizeof(kinds[0]))
                return err_set(e, ERR_INVALID, "kind", "unknown record kind");
        if (!json_is_array(recs))
                return err_set(e, ERR_INVALID, "records", "expected an array");
        if (kinds[k].ent == DIR_SERVICE) {
                int rc = dir_import_bulk(db, recs, e);
                if (rc <= 0)
                        return rc;
        }
        json_array_foreach(recs, i, r)
        {
                int rc = kinds[k].ent < 0
                             ? put_sal_full(db, r, e)
                             : dir_put(db, (enum dir_entity)kinds[k].ent,
                                       DIR_PUT_UPSERT, r, e);
                if (rc < 0)
                        return -1;
        }
        return 0;
}
