/*
 * store_write: every write of the directory, always inside the caller's
 * transaction (consume.c opens it through the inbox). HSDS objects are
 * handed to PostgreSQL as jsonb and mapped onto rows by column name with
 * jsonb_populate_record, so an unknown key is ignored, a missing one keeps
 * the row's value (or NULL on create) and a malformed value is a data
 * error (ERR_INVALID). Does not decide what to emit or validate commands.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"

/* Row upserts: base row (if any) patched by the JSON ($1). */
#define BASE(t)                                                                \
        "jsonb_populate_record((SELECT x FROM " t " x WHERE x.id ="            \
        " ($1::jsonb->>'id')::uuid), $1::jsonb) r"
#define MODIFIED "coalesce(($1::jsonb->>'last_modified')::timestamptz, now())"

static const char *const put_sql[] = {
    [DIR_ORGANIZATION] =
        "INSERT INTO organizations AS t (id, name, description, email,"
        " website, logo, uri, parent_organization_id,"
        " partner_public_key, last_modified) SELECT r.id, r.name,"
        " coalesce(r.description, ''), r.email, r.website, r.logo,"
        " r.uri, r.parent_organization_id, r.partner_public_key, " MODIFIED
        " FROM " BASE(
            "organizations") " ON CONFLICT (id) DO UPDATE SET (name, "
                             "description, email,"
                             " website, logo, uri, parent_organization_id,"
                             " partner_public_key, last_modified) = "
                             "(EXCLUDED.name,"
                             " EXCLUDED.description, EXCLUDED.email, "
                             "EXCLUDED.website,"
                             " EXCLUDED.logo, EXCLUDED.uri,"
                             " EXCLUDED.parent_organization_id,"
                             " EXCLUDED.partner_public_key, "
                             "EXCLUDED.last_modified)",
    [DIR_SERVICE] =
        "INSERT INTO services AS t (id, organization_id, name,"
        " description, url, email, status, fees, accreditations,"
        " minimum_age, maximum_age, assured_date, assurer_email, alert,"
        " last_modified, accepts_referrals, referral_notice_email)"
        " SELECT r.id, r.organization_id, r.name, r.description, r.url,"
        " r.email, r.status, r.fees, r.accreditations, r.minimum_age,"
        " r.maximum_age, r.assured_date, r.assurer_email, r.alert, " MODIFIED
        ", coalesce(r.accepts_referrals, false),"
        " r.referral_notice_email FROM " BASE(
            "services") " ON CONFLICT (id) DO UPDATE SET (organization_id, "
                        "name,"
                        " description, url, email, status, fees, "
                        "accreditations,"
                        " minimum_age, maximum_age, assured_date, "
                        "assurer_email, alert,"
                        " last_modified, accepts_referrals, "
                        "referral_notice_email) ="
                        " (EXCLUDED.organization_id, EXCLUDED.name,"
                        " EXCLUDED.description, EXCLUDED.url, EXCLUDED.email,"
                        " EXCLUDED.status, EXCLUDED.fees, "
                        "EXCLUDED.accreditations,"
                        " EXCLUDED.minimum_age, EXCLUDED.maximum_age,"
                        " EXCLUDED.assured_date, EXCLUDED.assurer_email,"
                        " EXCLUDED.alert, EXCLUDED.last_modified,"
                        " EXCLUDED.accepts_referrals, "
                        "EXCLUDED.referral_notice_email)",
    [DIR_LOCATION] =
        "INSERT INTO locations AS t (id, location_type, name,"
        " description, latitude, longitude, external_identifier,"
        " external_identifier_type, organization_id, last_modified)"
        " SELECT r.id, coalesce(r.location_type, 'physical'), r.name,"
        " r.description, r.latitude, r.longitude,"
        " r.external_identifier, r.external_identifier_type,"
        " r.organization_id, " MODIFIED " FROM " BASE(
            "locations") " ON CONFLICT (id) DO UPDATE SET (location_type, name,"
                         " description, latitude, longitude, "
                         "external_identifier,"
                         " external_identifier_type, organization_id, "
                         "last_modified) ="
                         " (EXCLUDED.location_type, EXCLUDED.name,"
                         " EXCLUDED.description, EXCLUDED.latitude,"
                         " EXCLUDED.longitude, EXCLUDED.external_identifier,"
                         " EXCLUDED.external_identifier_type,"
                         " EXCLUDED.organization_id, EXCLUDED.last_modified)",
    [DIR_TAXONOMY] =
        "INSERT INTO taxonomies AS t (id, name, description, uri,"
        " version) SELECT r.id, r.name, coalesce(r.description, ''),"
        " r.uri, r.version FROM " BASE(
            "taxonomies") " ON CONFLICT (id) DO UPDATE SET (name, description, "
                          "uri,"
                          " version) = (EXCLUDED.name, EXCLUDED.description,"
                          " EXCLUDED.uri, EXCLUDED.version)",
    [DIR_TERM] =
        "INSERT INTO taxonomy_terms AS t (id, name, description,"
        " parent_id, taxonomy, taxonomy_id, term_uri, term)"
        " SELECT r.id, r.name, coalesce(r.description, ''),"
        " r.parent_id, r.taxonomy, r.taxonomy_id, r.term_uri, r.term"
        " FROM " BASE("taxonomy_terms") " ON CONFLICT (id) DO UPDATE SET "
                                        "(name, description, parent_id,"
                                        " taxonomy, taxonomy_id, term_uri, "
                                        "term) = (EXCLUDED.name,"
                                        " EXCLUDED.description, "
                                        "EXCLUDED.parent_id, EXCLUDED.taxonomy,"
                                        " EXCLUDED.taxonomy_id, "
                                        "EXCLUDED.term_uri, EXCLUDED.term)",
};

static const char *const entity_table[] = {
    [DIR_ORGANIZATION] = "organizations", [DIR_SERVICE] = "services",
    [DIR_LOCATION] = "locations",         [DIR_TAXONOMY] = "taxonomies",
    [DIR_TERM] = "taxonomy_terms",
};

int
dir_store_put(struct db *db, enum dir_entity ent, enum dir_put_mode mode,
              const json_t *obj, struct err *e)
{
        const char *id = json_string_value(json_object_get(obj, "id"));
        char *text = NULL;
        bool found = false;
        int rc = -1;

        if (id == NULL || !uuid_valid(id))
                return err_set(e, ERR_INVALID, "id", "missing or not a UUID");
        if (mode != DIR_PUT_UPSERT) {
                if (dir_store_exists(db, entity_table[ent], id, &found, e) < 0)
                        return -1;
                if (mode == DIR_PUT_CREATE && found)
                        return err_set(e, ERR_INVALID, "id", "already exists");
                if (mode == DIR_PUT_UPDATE && !found)
                        return err_set(e, ERR_INVALID, "id", "not found");
        }
        text = json_dumps(obj, JSON_COMPACT);
        if (text == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        const char *p[1] = {text};
        rc = db_exec(db, put_sql[ent], 1, p, NULL, e);
        free(text);
        return rc;
}

/* put_many_sql: put_sql[ent] over a jsonb array: every "$1::jsonb" becomes
 * the element e.j. Returns new string, free with free(). */
static char *
put_many_sql(enum dir_entity ent)
{
        static const char from[] = " FROM jsonb_populate_record(";
        static const char many[] = " FROM jsonb_array_elements($1::jsonb)"
                                   " e(j), LATERAL jsonb_populate_record(";
        const char *s = put_sql[ent], *p;
        size_t cap = strlen(s) + sizeof(many) + 64, o = 0;
        char *out = malloc(cap);

        if (out == NULL)
                return NULL;
        for (p = s; *p != '\0';) {
                if (strncmp(p, "$1::jsonb", 9) == 0) {
                        memcpy(out + o, "e.j", 3);
                        o += 3;
                        p += 9;
                } else if (strncmp(p, from, sizeof(from) - 1) == 0) {
                        memcpy(out + o, many, sizeof(many) - 1);
                        o += sizeof(many) - 1;
                        p += sizeof(from) - 1;
                } else {
                        out[o++] = *p++;
                }
        }
        out[o] = '\0';
        return out;
}

int
dir_store_put_many(struct db *db, enum dir_entity ent, const json_t *arr,
                   struct err *e)
{
        char *sql = NULL, *text = NULL;
        int rc = -1;

        if (json_array_size(arr) == 0)
                return 0;
        sql = put_many_sql(ent);
        text = json_dumps(arr, JSON_COMPACT);
        if (sql == NULL || text == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                goto out;
        }
        const char *p[1] = {text};
        rc = db_exec(db, sql, 1, p, NULL, e);
out:
        free(sql);
        free(text);
        return rc;
}

/* Child replacement: delete the parent's rows, insert the array ($2)
 * with the parent id, a generated id when missing, and the order. */
#define REPLACE(t, col)                                                        \
        "INSERT INTO " t " SELECT r.* FROM jsonb_array_elements($2::jsonb)"    \
        " WITH ORDINALITY e(j, n), LATERAL jsonb_populate_record(NULL::" t     \
        ", e.j || jsonb_build_object('id', coalesce(e.j->>'id',"               \
        " gen_random_uuid()::text), '" col "', $1::text, 'ord', e.n)) r"
#define CHILD(t, col)                                                          \
        {                                                                      \
                "DELETE FROM " t " WHERE " col " = $1", REPLACE(t, col)        \
        }

static const char *const child_write[DIR_CHILD_COUNT][2] = {
    [DIR_CHILD_SCHEDULES] = CHILD("schedules", "service_id"),
    [DIR_CHILD_AREAS] = CHILD("service_areas", "service_id"),
    [DIR_CHILD_LANGUAGES] = CHILD("languages", "service_id"),
    [DIR_CHILD_FUNDING] = CHILD("funding", "service_id"),
    [DIR_CHILD_COSTS] = CHILD("cost_options", "service_id"),
    [DIR_CHILD_CONTACTS] = CHILD("contacts", "service_id"),
    [DIR_CHILD_PHONES] = CHILD("phones", "contact_id"),
    [DIR_CHILD_ATTRIBUTES] = {"DELETE FROM attributes WHERE link_id = $1",
                              NULL},
    [DIR_CHILD_SAL] = {"DELETE FROM service_at_locations"
                       " WHERE service_id = $1",
                       REPLACE("service_at_locations", "service_id")},
    [DIR_CHILD_ADDRESSES] = CHILD("addresses", "location_id"),
    [DIR_CHILD_ACCESSIBILITY] = CHILD("accessibility", "location_id"),
    [DIR_CHILD_ORG_IDS] = CHILD("organization_identifiers", "organization_id"),
};

int
dir_store_replace_children(struct db *db, enum dir_child kind,
                           const char *parent_id, const json_t *arr,
                           struct err *e)
{
        const char *p[2] = {parent_id, NULL};
        char *text = NULL;
        int rc;

        if (child_write[kind][0] == NULL)
                return err_set(e, ERR_FATAL, NULL, "child kind not writable");
        if (arr != NULL && !json_is_array(arr))
                return err_set(e, ERR_INVALID, NULL, "expected an array");
        if (db_exec(db, child_write[kind][0], 1, p, NULL, e) < 0)
                return -1;
        if (arr == NULL || json_array_size(arr) == 0 ||
            child_write[kind][1] == NULL)
                return 0;
        text = json_dumps(arr, JSON_COMPACT);
        if (text == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        p[1] = text;
        rc = db_exec(db, child_write[kind][1], 2, p, NULL, e);
        free(text);
        return rc;
}

/* Many parents at once: the items carry their parent column, id and ord
 * already. */
#define INSERT_MANY(t)                                                         \
        "INSERT INTO " t " SELECT r.* FROM jsonb_array_elements($1::jsonb)"    \
        " e(j), LATERAL jsonb_populate_record(NULL::" t ", e.j) r"

static const char *const child_many[DIR_CHILD_COUNT][2] = {
    [DIR_CHILD_SCHEDULES] = {"schedules", "service_id"},
    [DIR_CHILD_AREAS] = {"service_areas", "service_id"},
    [DIR_CHILD_LANGUAGES] = {"languages", "service_id"},
    [DIR_CHILD_FUNDING] = {"funding", "service_id"},
    [DIR_CHILD_COSTS] = {"cost_options", "service_id"},
    [DIR_CHILD_CONTACTS] = {"contacts", "service_id"},
    [DIR_CHILD_PHONES] = {"phones", "contact_id"},
    [DIR_CHILD_ATTRIBUTES] = {"attributes", "link_id"},
    [DIR_CHILD_SAL] = {"service_at_locations", "service_id"},
    [DIR_CHILD_ADDRESSES] = {"addresses", "location_id"},
    [DIR_CHILD_ACCESSIBILITY] = {"accessibility", "location_id"},
    [DIR_CHILD_ORG_IDS] = {"organization_identifiers", "organization_id"},
};

int
dir_store_replace_many(struct db *db, enum dir_child kind, const char *parents,
                       const json_t *items, struct err *e)
{
        const char *t = child_many[kind][0], *col = child_many[kind][1];
        char sql[256], *text = NULL;
        int rc;

        if (t == NULL)
                return err_set(e, ERR_FATAL, NULL, "child kind not writable");
        snprintf(sql, sizeof(sql), "DELETE FROM %s WHERE %s = ANY ($1::uuid[])",
                 t, col);
        if (db_exec(db, sql, 1, (const char *const[]){parents}, NULL, e) < 0)
                return -1;
        if (json_array_size(items) == 0)
                return 0;
        snprintf(sql, sizeof(sql), INSERT_MANY("%s"), t, t);
        text = json_dumps(items, JSON_COMPACT);
        if (text == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        rc = db_exec(db, sql, 1, (const char *const[]){text}, NULL, e);
        free(text);
        return rc;
}

int
dir_store_attribute_add(struct db *db, const char *link_id, const char *entity,
                        const json_t *attr, int ord, struct err *e)
{
        char ordtxt[16];
        char *text = json_dumps(attr, JSON_COMPACT);
        int rc;

        if (text == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        snprintf(ordtxt, sizeof(ordtxt), "%d", ord);
        const char *p[4] = {text, link_id, entity, ordtxt};
        rc = db_exec(db,
                     "INSERT INTO attributes (id, link_id, link_entity,"
                     " link_type, taxonomy_term_id, ord) SELECT"
                     " coalesce(($1::jsonb->>'id')::uuid, gen_random_uuid()),"
                     " $2::uuid, $3, $1::jsonb->>'link_type',"
                     " coalesce(($1::jsonb->>'taxonomy_term_id')::uuid,"
                     " ($1::jsonb->'taxonomy_term'->>'id')::uuid), $4::int",
                     4, p, NULL, e);
        free(text);
        return rc;
}

int
dir_store_delete(struct db *db, enum dir_entity ent, const char *id,
                 struct err *e)
{
        static const char *const sql[] = {
            [DIR_ORGANIZATION] = "DELETE FROM organizations WHERE id = $1",
            [DIR_SERVICE] = "DELETE FROM services WHERE id = $1",
            [DIR_LOCATION] = "DELETE FROM locations WHERE id = $1",
            [DIR_TAXONOMY] = "DELETE FROM taxonomies WHERE id = $1",
            [DIR_TERM] = "DELETE FROM taxonomy_terms WHERE id = $1",
        };
        const char *p[1] = {id};
        long n = 0;

        if (db_exec(db, sql[ent], 1, p, &n, e) < 0)
                return -1;
        if (n == 0)
                return err_set(e, ERR_INVALID, "id", "not found");
        return 0;
}

int
dir_store_reindex(struct db *db, const char *ids_array, struct err *e)
{
        const char *p[1] = {ids_array};
        PGresult *r =
            db_query(db, "SELECT service_reindex($1::uuid[])", 1, p, e);

        if (r == NULL)
                return -1;
        PQclear(r);
        return 0;
}

char *
dir_store_affected(struct db *db, enum dir_entity ent, const char *id,
                   struct err *e)
{
        static const char *const sql[] = {
            [DIR_ORGANIZATION] = "SELECT id FROM services"
                                 " WHERE organization_id = $1",
            [DIR_SERVICE] = "SELECT id FROM services WHERE id = $1",
            [DIR_LOCATION] = "SELECT service_id FROM service_at_locations"
                             " WHERE location_id = $1",
            [DIR_TAXONOMY] = "SELECT a.link_id FROM attributes a"
                             " JOIN taxonomy_terms t"
                             " ON t.id = a.taxonomy_term_id"
                             " WHERE t.taxonomy_id = $1"
                             " AND a.link_entity = 'service'",
            [DIR_TERM] = "SELECT link_id FROM attributes"
                         " WHERE taxonomy_term_id = $1"
                         " AND link_entity = 'service'",
        };
        char sqlbuf[512];
        const char *p[1] = {id};
        PGresult *r;
        char *out;

        snprintf(sqlbuf, sizeof(sqlbuf),
                 "SELECT coalesce(array_agg(DISTINCT x)::text, '{}')"
                 " FROM (%s) q(x)",
                 sql[ent]);
        r = db_query(db, sqlbuf, 1, p, e);
        if (r == NULL)
                return NULL;
        out = strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        if (out == NULL)
                err_set(e, ERR_FATAL, NULL, "out of memory");
        return out;
}

int
dir_store_postcodes_load(struct db *db, const char *pcs, const char *lats,
                         const char *lngs, long *n, struct err *e)
{
        const char *p[3] = {pcs, lats, lngs};

        return db_exec(db,
                       "INSERT INTO postcodes (postcode, latitude, longitude)"
                       " SELECT * FROM unnest($1::text[], $2::float8[],"
                       " $3::float8[]) ON CONFLICT (postcode) DO UPDATE SET"
                       " (latitude, longitude) = (EXCLUDED.latitude,"
                       " EXCLUDED.longitude)",
                       3, p, n, e);
}

char *
dir_store_entity_json(struct db *db, enum dir_entity ent, const char *id,
                      struct err *e)
{
        static const char *const sql[] = {
            [DIR_ORGANIZATION] = "SELECT to_jsonb(x) FROM organizations x"
                                 " WHERE id = $1",
            [DIR_SERVICE] = "SELECT to_jsonb(x) - 'search_vector'"
                            " - 'search_text' FROM services x"
                            " WHERE id = $1",
            [DIR_LOCATION] = "SELECT to_jsonb(x) FROM locations x"
                             " WHERE id = $1",
            [DIR_TAXONOMY] = "SELECT to_jsonb(x) FROM taxonomies x"
                             " WHERE id = $1",
            [DIR_TERM] = "SELECT to_jsonb(x) FROM taxonomy_terms x"
                         " WHERE id = $1",
        };
        const char *p[1] = {id};
        PGresult *r = db_query(db, sql[ent], 1, p, e);
        char *out = NULL;

        if (r == NULL)
                return NULL;
        if (PQntuples(r) == 1)
                out = strdup(PQgetvalue(r, 0, 0));
        else
                err_set(e, ERR_INVALID, "entity_id", "not found");
        PQclear(r);
        return out;
}

int
dir_store_request_add(struct db *db, const char *id, const char *type,
                      const char *entity_id, const char *by,
                      const char *changes, struct err *e)
{
        const char *p[5] = {id, type, entity_id, by, changes};

        if (db_exec(db,
                    "INSERT INTO update_requests (id, entity_type, entity_id,"
                    " submitted_by, changes) VALUES ($1, $2, $3, $4, $5)",
                    5, p, NULL, e) < 0)
                return -1;
        /* A newer request supersedes the same fields of older pending ones;
         * an older one left with no field is superseded whole. */
        return db_exec(db,
                       "UPDATE update_requests SET"
                       " changes = changes - ARRAY(SELECT jsonb_object_keys("
                       " $2::jsonb)), status = CASE WHEN (changes -"
                       " ARRAY(SELECT jsonb_object_keys($2::jsonb)))"
                       " = '{}'::jsonb THEN 'superseded' ELSE status END"
                       " WHERE entity_id = $1 AND status = 'pending'"
                       " AND id <> $3",
                       3, (const char *const[]){entity_id, changes, id}, NULL,
                       e);
}

int
dir_store_request_decide(struct db *db, const char *id, bool approve,
                         const char *by, const char *reason, char **out,
                         struct err *e)
{
        const char *p[4] = {id, approve ? "approved" : "rejected", by, reason};
        PGresult *r;

        *out = NULL;
        r = db_query(db,
                     "UPDATE update_requests SET status = $2, decided_by = $3,"
                     " reason = $4, decided_at = now() WHERE id = $1"
                     " AND status = 'pending' RETURNING json_build_object("
                     "'entity_type', entity_type, 'entity_id', entity_id,"
                     " 'changes', changes)",
                     4, p, e);
        if (r == NULL)
                return -1;
        if (PQntuples(r) != 1) {
                PQclear(r);
                return err_set(e, ERR_INVALID, "id",
                               "no pending update request with this id");
        }
        *out = strdup(PQgetvalue(r, 0, 0));
        PQclear(r);
        return *out ? 0 : err_set(e, ERR_FATAL, NULL, "out of memory");
}

int
dir_store_sal_put(struct db *db, const char *id, const char *service_id,
                  const char *location_id, struct err *e)
{
        const char *p[3] = {id, service_id, location_id};

        return db_exec(db,
                       "INSERT INTO service_at_locations (id, service_id,"
                       " location_id) VALUES ($1, $2, $3) ON CONFLICT (id)"
                       " DO UPDATE SET (service_id, location_id) ="
                       " (EXCLUDED.service_id, EXCLUDED.location_id)",
                       3, p, NULL, e);
}

PGresult *
dir_store_catalogue_ids(struct db *db, struct err *e)
{
        return db_query(db,
                        "SELECT (SELECT coalesce(array_agg(id ORDER BY id),"
                        " '{}') FROM organizations)::text,"
                        " (SELECT coalesce(array_agg(id ORDER BY id), '{}')"
                        " FROM services)::text",
                        0, NULL, e);
}
