/*
 * render: rows from store.c to Open Referral UK JSON. A column becomes a
 * field of the same name ("a.b" nests an object, "_x" is internal); SQL
 * NULL is omitted, so empty optional fields never appear. Numbers, booleans
 * and json columns keep their type. Nested records omit the id that links
 * them to their parent, as the ORUK examples do. Does not choose rows.
 */
#include <stdlib.h>
#include <string.h>

#include "directory.h"

#define OID_BOOL 16
#define OID_INT8 20
#define OID_INT2 21
#define OID_INT4 23
#define OID_JSON 114
#define OID_FLOAT4 700
#define OID_FLOAT8 701
#define OID_NUMERIC 1700
#define OID_JSONB 3802

static json_t *
value_of(const PGresult *r, int row, int col)
{
        const char *v = PQgetvalue(r, row, col);
        char *end = NULL;

        switch (PQftype(r, col)) {
        case OID_BOOL:
                return json_boolean(v[0] == 't');
        case OID_INT2:
        case OID_INT4:
        case OID_INT8:
                return json_integer(strtoll(v, NULL, 10));
        case OID_FLOAT4:
        case OID_FLOAT8:
        case OID_NUMERIC: {
                long long i = strtoll(v, &end, 10);
                if (end != NULL && *end == '\0')
                        return json_integer(i);
                return json_real(strtod(v, NULL));
        }
        case OID_JSON:
        case OID_JSONB:
                return json_loads(v, JSON_DECODE_ANY, NULL);
        default:
                return json_string(v);
        }
}

/* slot: the object that holds the last path segment of name. */
static json_t *
slot(json_t *obj, const char *name, const char **leaf)
{
        char part[64];
        const char *dot;

        while ((dot = strchr(name, '.')) != NULL) {
                size_t len = (size_t)(dot - name);
                json_t *child;
                if (len >= sizeof(part))
                        len = sizeof(part) - 1;
                memcpy(part, name, len);
                part[len] = '\0';
                child = json_object_get(obj, part);
                if (child == NULL) {
                        child = json_object();
                        json_object_set_new(obj, part, child);
                }
                obj = child;
                name = dot + 1;
        }
        *leaf = name;
        return obj;
}

json_t *
dir_render_row(const PGresult *r, int row)
{
        json_t *obj = json_object();
        int col, ncols = PQnfields(r);

        for (col = 0; col < ncols; col++) {
                const char *name = PQfname(r, col), *leaf = NULL;
                json_t *v;
                if (name[0] == '_' || PQgetisnull(r, row, col))
                        continue;
                json_t *holder = slot(obj, name, &leaf);
                v = value_of(r, row, col);
                if (v != NULL)
                        json_object_set_new(holder, leaf, v);
        }
        return obj;
}

void
dir_render_attach(json_t *parents, const PGresult *r, const char *field)
{
        int row, rows = PQntuples(r), pcol = PQfnumber(r, "_parent");

        for (row = 0; row < rows && pcol >= 0; row++) {
                json_t *parent, *arr;
                parent = json_object_get(parents, PQgetvalue(r, row, pcol));
                if (parent == NULL)
                        continue;
                arr = json_object_get(parent, field);
                if (arr == NULL) {
                        arr = json_array();
                        json_object_set_new(parent, field, arr);
                }
                json_array_append_new(arr, dir_render_row(r, row));
        }
}

json_t *
dir_render_page(const struct dir_query *q, long total, json_t *contents)
{
        long pages = (total + q->per_page - 1) / q->per_page;
        size_t size = json_array_size(contents);

        return json_pack("{sI sI sI sI sb sb sb so}", "total_items",
                         (json_int_t)total, "total_pages", (json_int_t)pages,
                         "page_number", (json_int_t)q->page, "size",
                         (json_int_t)size, "first_page", q->page == 1,
                         "last_page", (long)q->page >= pages, "empty",
                         size == 0, "contents", contents);
}

char *
dir_render_dump(const json_t *j)
{
        return json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(15));
}

char *
dir_ids_array(char (*ids)[UUID_STR_LEN], int n)
{
        size_t cap = (size_t)n * UUID_STR_LEN + 3, len = 1;
        char *s = malloc(cap);
        int i;

        if (s == NULL)
                return NULL;
        s[0] = '{';
        for (i = 0; i < n; i++) {
                if (i > 0)
                        s[len++] = ',';
                memcpy(s + len, ids[i], strlen(ids[i]));
                len += strlen(ids[i]);
        }
        s[len++] = '}';
        s[len] = '\0';
        return s;
}

/* index: map id -> object for each element of arr (by field "id", or by
 * the id of the nested object `sub`). Returns new object of borrowed
 * references. */
static json_t *
index_by_id(json_t *arr, const char *sub)
{
        json_t *map = json_object(), *el;
        size_t i;

        json_array_foreach(arr, i, el)
        {
                json_t *o = sub ? json_object_get(el, sub) : el;
                const char *id = json_string_value(json_object_get(o, "id"));
                if (id != NULL)
                        json_object_set(map, id, o);
        }
        return map;
}

/* ids_of: "{..}" of the keys of map; new string. */
static char *
ids_of(json_t *map)
{
        size_t n = json_object_size(map), i = 0;
        char(*ids)[UUID_STR_LEN] = calloc(n + 1, UUID_STR_LEN);
        const char *key;
        json_t *v;
        char *s;

        if (ids == NULL)
                return NULL;
        json_object_foreach(map, key, v)
        {
                (void)v;
                snprintf(ids[i++], UUID_STR_LEN, "%s", key);
        }
        s = dir_ids_array(ids, (int)n);
        free(ids);
        return s;
}

/* attach: runs child query kind over the ids of map and attaches. */
static int
attach(struct db *db, json_t *map, enum dir_child kind, const char *field,
       struct err *e)
{
        char *ids = ids_of(map);
        PGresult *r;

        if (ids == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        r = dir_store_children(db, kind, ids, e);
        free(ids);
        if (r == NULL)
                return -1;
        dir_render_attach(map, r, field);
        PQclear(r);
        return 0;
}

/* locations_fill: addresses and accessibility of every location object in
 * the map. */
static int
locations_fill(struct db *db, json_t *locs, struct err *e)
{
        if (json_object_size(locs) == 0)
                return 0;
        if (attach(db, locs, DIR_CHILD_ADDRESSES, "addresses", e) < 0 ||
            attach(db, locs, DIR_CHILD_ACCESSIBILITY, "accessibility", e) < 0)
                return -1;
        return 0;
}

/* orgs_fill: the identifiers of each service's nested organization. */
static int
orgs_fill(struct db *db, json_t *svcs, struct err *e)
{
        json_t *orgs = json_object(), *el, *org;
        size_t i;
        int rc = 0;

        json_array_foreach(svcs, i, el)
        {
                org = json_object_get(el, "organization");
                if (org != NULL)
                        json_object_set(
                            orgs, json_string_value(json_object_get(org, "id")),
                            org);
        }
        if (json_object_size(orgs) > 0)
                rc = attach(db, orgs, DIR_CHILD_ORG_IDS,
                            "organization_identifiers", e);
        json_decref(orgs);
        return rc;
}

/* A set of child queries run together: maps[i] (id -> object) receive
 * the rows of kinds[i] as field fields[i]. */
struct batch {
        int n;
        enum dir_child kinds[DIR_CHILD_COUNT];
        json_t *maps[DIR_CHILD_COUNT];
        const char *fields[DIR_CHILD_COUNT];
};

static void
batch_add(struct batch *b, json_t *map, enum dir_child kind, const char *field)
{
        if (json_object_size(map) == 0)
                return;
        b->kinds[b->n] = kind;
        b->maps[b->n] = map;
        b->fields[b->n] = field;
        b->n++;
}

/* batch_run: one round trip for every query of b, then attaches. */
static int
batch_run(struct db *db, struct batch *b, struct err *e)
{
        char *ids[DIR_CHILD_COUNT] = {0};
        PGresult *r[DIR_CHILD_COUNT] = {0};
        int i, rc = -1;

        if (b->n == 0)
                return 0;
        for (i = 0; i < b->n; i++)
                if ((ids[i] = ids_of(b->maps[i])) == NULL) {
                        err_set(e, ERR_FATAL, NULL, "out of memory");
                        goto out;
                }
        if (dir_store_children_batch(db, b->kinds, ids, b->n, r, e) < 0)
                goto out;
        for (i = 0; i < b->n; i++)
                dir_render_attach(b->maps[i], r[i], b->fields[i]);
        rc = 0;
out:
        for (i = 0; i < b->n; i++) {
                free(ids[i]);
                PQclear(r[i]);
        }
        return rc;
}

/* nested_maps: the locations of the services' service_at_locations and
 * their contacts, id -> object. */
static void
nested_maps(json_t *svcs, json_t *locs, json_t *contacts)
{
        json_t *el, *c;
        size_t i, j;

        json_array_foreach(svcs, i, el)
        {
                json_array_foreach(json_object_get(el, "service_at_locations"),
                                   j, c)
                {
                        json_t *l = json_object_get(c, "location");
                        json_object_set(
                            locs, json_string_value(json_object_get(l, "id")),
                            l);
                }
                json_array_foreach(json_object_get(el, "contacts"), j, c)
                    json_object_set(contacts,
                                    json_string_value(json_object_get(c, "id")),
                                    c);
        }
}

/* services_fill: every nested part of svcs in two round trips: the
 * services' children and organization identifiers, then the locations'
 * addresses and accessibility and the contacts' phones. */
static int
services_fill(struct db *db, json_t *svcs, bool with_sal, struct err *e)
{
        static const struct {
                enum dir_child kind;
                const char *field;
        } kids[] = {
            {DIR_CHILD_SCHEDULES, "schedules"},
            {DIR_CHILD_AREAS, "service_areas"},
            {DIR_CHILD_SAL, "service_at_locations"},
            {DIR_CHILD_LANGUAGES, "languages"},
            {DIR_CHILD_FUNDING, "funding"},
            {DIR_CHILD_COSTS, "cost_options"},
            {DIR_CHILD_CONTACTS, "contacts"},
            {DIR_CHILD_ATTRIBUTES, "attributes"},
        };
        json_t *map = index_by_id(svcs, NULL),
               *orgs = index_by_id(svcs, "organization");
        json_t *locs = json_object(), *contacts = json_object();
        struct batch b1 = {0}, b2 = {0};
        size_t i;
        int rc = -1;

        for (i = 0; i < sizeof(kids) / sizeof(kids[0]); i++)
                if (kids[i].kind != DIR_CHILD_SAL || with_sal)
                        batch_add(&b1, map, kids[i].kind, kids[i].field);
        batch_add(&b1, orgs, DIR_CHILD_ORG_IDS, "organization_identifiers");
        if (batch_run(db, &b1, e) < 0)
                goto out;
        nested_maps(svcs, locs, contacts);
        batch_add(&b2, locs, DIR_CHILD_ADDRESSES, "addresses");
        batch_add(&b2, locs, DIR_CHILD_ACCESSIBILITY, "accessibility");
        batch_add(&b2, contacts, DIR_CHILD_PHONES, "phones");
        rc = batch_run(db, &b2, e);
out:
        json_decref(contacts);
        json_decref(locs);
        json_decref(orgs);
        json_decref(map);
        return rc;
}

/* services_rows: returns new array of the services' own rows, NULL with
 * e. */
static json_t *
services_rows(struct db *db, const char *ids_array, struct err *e)
{
        PGresult *r = dir_store_services(db, ids_array, e);
        json_t *arr;

        if (r == NULL)
                return NULL;
        arr = json_array();
        for (int i = 0; i < PQntuples(r); i++)
                json_array_append_new(arr, dir_render_row(r, i));
        PQclear(r);
        return arr;
}

json_t *
dir_render_services_brief(struct db *db, const char *ids_array, struct err *e)
{
        json_t *arr = services_rows(db, ids_array, e);

        if (arr == NULL)
                return NULL;
        if (orgs_fill(db, arr, e) < 0) {
                json_decref(arr);
                return NULL;
        }
        return arr;
}

json_t *
dir_render_services_full(struct db *db, const char *ids_array, bool with_sal,
                         struct err *e)
{
        json_t *arr = services_rows(db, ids_array, e);

        if (arr == NULL)
                return NULL;
        if (services_fill(db, arr, with_sal, e) < 0) {
                json_decref(arr);
                return NULL;
        }
        return arr;
}

json_t *
dir_render_organization_full(struct db *db, const char *id, struct err *e)
{
        PGresult *r = NULL;
        json_t *org = NULL, *map = NULL, *svcs = NULL, *el;
        size_t i;

        r = dir_store_organization(db, id, e);
        if (r == NULL || PQntuples(r) == 0)
                goto out;
        org = dir_render_row(r, 0);
        map = json_object();
        json_object_set(map, id, org);
        if (attach(db, map, DIR_CHILD_ORG_IDS, "organization_identifiers", e) <
                0 ||
            attach(db, map, DIR_CHILD_ORG_SERVICES, "services", e) < 0)
                goto fail;
        /* replace the id stubs by full services (without their nested
         * organization: it is the parent) */
        svcs = json_object_get(org, "services");
        if (svcs != NULL) {
                char *ids;
                size_t n = json_array_size(svcs);
                char(*list)[UUID_STR_LEN] = calloc(n + 1, UUID_STR_LEN);
                if (list == NULL)
                        goto fail;
                json_array_foreach(svcs, i, el)
                    snprintf(list[i], UUID_STR_LEN, "%s",
                             json_string_value(json_object_get(el, "id")));
                ids = dir_ids_array(list, (int)n);
                free(list);
                svcs = ids ? dir_render_services_full(db, ids, true, e) : NULL;
                free(ids);
                if (svcs == NULL)
                        goto fail;
                json_array_foreach(svcs, i, el)
                    json_object_del(el, "organization");
                json_object_set_new(org, "services", svcs);
        }
        goto out;
fail:
        json_decref(org);
        org = NULL;
out:
        json_decref(map);
        PQclear(r);
        return org;
}

json_t *
dir_render_sal_full(struct db *db, const char *id, struct err *e)
{
        char ids[UUID_STR_LEN + 2];
        json_t *sal = NULL, *locs = NULL, *svcs = NULL;
        PGresult *r;

        snprintf(ids, sizeof(ids), "{%s}", id);
        r = dir_store_sal(db, ids, e);
        if (r == NULL || PQntuples(r) == 0)
                goto out;
        sal = dir_render_row(r, 0);
        snprintf(ids, sizeof(ids), "{%s}",
                 PQgetvalue(r, 0, PQfnumber(r, "_service")));
        locs = json_object();
        json_object_set(locs, PQgetvalue(r, 0, PQfnumber(r, "_location")),
                        json_object_get(sal, "location"));
        svcs = dir_render_services_full(db, ids, false, e);
        if (svcs == NULL || locations_fill(db, locs, e) < 0) {
                json_decref(sal);
                sal = NULL;
                goto out;
        }
        if (json_array_size(svcs) > 0)
                json_object_set(sal, "service", json_array_get(svcs, 0));
out:
        json_decref(svcs);
        json_decref(locs);
        PQclear(r);
        return sal;
}

json_t *
dir_render_taxonomy_full(struct db *db, const char *id, struct err *e)
{
        PGresult *r = dir_store_taxonomy(db, id, e);
        json_t *tax = NULL, *map = NULL;

        if (r == NULL || PQntuples(r) == 0)
                goto out;
        tax = dir_render_row(r, 0);
        map = json_object();
        json_object_set(map, id, tax);
        if (attach(db, map, DIR_CHILD_TERMS, "taxonomy_terms", e) < 0) {
                json_decref(tax);
                tax = NULL;
        }
out:
        json_decref(map);
        PQclear(r);
        return tax;
}
