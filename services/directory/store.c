/*
 * store: the read queries of the directory other than search
 * (store_search.c) and the writes (store_write.c). Queries are static text
 * with numbered parameters.
 *
 * Column names are the JSON names render.c emits ("a.b" nests, "_x" is
 * internal). Does not build JSON or know about HTTP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"

#define TS_UTC(col)                                                            \
        "to_char(" col " AT TIME ZONE 'UTC', "                                 \
        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define DAY(col) "to_char(" col ", 'YYYY-MM-DD')"
#define ORG_COLS(a, p)                                                         \
        a ".id AS \"" p "id\", " a ".name AS \"" p "name\", " a                \
          ".description AS \"" p "description\", " a ".email AS \"" p          \
          "email\", " a ".website AS \"" p "website\", " a ".logo AS \"" p     \
          "logo\", " a ".uri AS \"" p "uri\", " a                              \
          ".parent_organization_id AS \"" p "parent_organization_id\""

#define SVC_COLS                                                               \
        "s.id, s.name, s.description, s.url, s.email, s.status, s.fees,"       \
        " s.accreditations, s.minimum_age, s.maximum_age, " DAY(               \
            "s.assured_date") " AS assured_date, s.assurer_email,"             \
                              " s.alert, " TS_UTC(                             \
                                  "s.last_modified") " AS last_modified"

#define LOC_COLS(p)                                                            \
        "l.id AS \"" p "id\", l.location_type AS \"" p "location_type\","      \
        " l.name AS \"" p "name\", l.description AS \"" p "description\","     \
        " l.latitude AS \"" p "latitude\", l.longitude AS \"" p                \
        "longitude\", l.external_identifier AS \"" p                           \
        "external_identifier\", l.external_identifier_type AS \"" p            \
        "external_identifier_type\""

PGresult *
dir_store_services(struct db *db, const char *ids_array, struct err *e)
{
        const char *p[1] = {ids_array};

        return db_query(
            db,
            "SELECT " SVC_COLS ", " ORG_COLS(
                "o",
                "organization.") " FROM unnest($1::uuid[]) WITH ORDINALITY "
                                 "x(id, n)"
                                 " JOIN services s ON s.id = x.id"
                                 " LEFT JOIN organizations o"
                                 " ON o.id = s.organization_id ORDER BY x.n",
            1, p, e);
}

PGresult *
dir_store_sal(struct db *db, const char *ids_array, struct err *e)
{
        const char *p[1] = {ids_array};

        return db_query(
            db,
            "SELECT sal.id, sal.service_id AS _service,"
            " sal.location_id AS _location, " LOC_COLS(
                "location.") " FROM unnest($1::uuid[]) WITH ORDINALITY x(id, n)"
                             " JOIN service_at_locations sal ON sal.id = x.id"
                             " JOIN locations l ON l.id = sal.location_id"
                             " ORDER BY x.n",
            1, p, e);
}

static const char *const child_sql[DIR_CHILD_COUNT] = {
    [DIR_CHILD_SCHEDULES] = "SELECT service_id AS _parent, id, " DAY(
        "valid_from") " AS valid_from, " DAY("valid_to") " AS valid_to, "
                                                         "dtstart,"
                                                         " freq, \"interval\", "
                                                         "byday, bymonthday, "
                                                         "description,"
                                                         " to_char(opens_at, "
                                                         "'HH24:MI:SS') AS "
                                                         "opens_at,"
                                                         " to_char(closes_at, "
                                                         "'HH24:MI:SS') AS "
                                                         "closes_at,"
                                                         " schedule_link, "
                                                         "attending_type, "
                                                         "notes FROM schedules"
                                                         " WHERE service_id = "
                                                         "ANY ($1::uuid[]) "
                                                         "ORDER BY 1, ord, id",
    [DIR_CHILD_AREAS] =
        "SELECT service_id AS _parent, id, name, extent, extent_type,"
        " uri, service_area FROM service_areas"
        " WHERE service_id = ANY ($1::uuid[]) ORDER BY 1, ord, id",
    [DIR_CHILD_LANGUAGES] =
        "SELECT service_id AS _parent, id, name, code, phone_id"
        " FROM languages WHERE service_id = ANY ($1::uuid[])"
        " ORDER BY 1, ord, id",
    [DIR_CHILD_FUNDING] =
        "SELECT service_id AS _parent, id, source FROM funding"
        " WHERE service_id = ANY ($1::uuid[]) ORDER BY 1, ord, id",
    [DIR_CHILD_COSTS] = "SELECT service_id AS _parent, id, " DAY(
        "valid_from") " AS valid_from, " DAY("valid_to") " AS valid_to, option,"
                                                         " amount, "
                                                         "amount_description "
                                                         "FROM cost_options"
                                                         " WHERE service_id = "
                                                         "ANY ($1::uuid[]) "
                                                         "ORDER BY 1, ord, id",
    [DIR_CHILD_CONTACTS] =
        "SELECT service_id AS _parent, id, name, title, department,"
        " email FROM contacts WHERE service_id = ANY ($1::uuid[])"
        " ORDER BY 1, ord, id",
    [DIR_CHILD_PHONES] = "SELECT contact_id AS _parent, id, number, description"
                         " FROM phones WHERE contact_id = ANY ($1::uuid[])"
                         " ORDER BY 1, ord, id",
    [DIR_CHILD_ATTRIBUTES] =
        "SELECT a.link_id AS _parent, a.id, a.link_type,"
        " t.id AS \"taxonomy_term.id\","
        " t.name AS \"taxonomy_term.name\","
        " t.description AS \"taxonomy_term.description\","
        " t.parent_id AS \"taxonomy_term.parent_id\","
        " t.taxonomy AS \"taxonomy_term.taxonomy\","
        " t.term_uri AS \"taxonomy_term.term_uri\","
        " t.term AS \"taxonomy_term.term\" FROM attributes a"
        " JOIN taxonomy_terms t ON t.id = a.taxonomy_term_id"
        " WHERE a.link_id = ANY ($1::uuid[]) ORDER BY 1, a.ord, a.id",
    [DIR_CHILD_SAL] = "SELECT sal.service_id AS _parent, sal.id, " LOC_COLS(
        "location.") " FROM service_at_locations sal"
                     " JOIN locations l ON l.id = sal.location_id"
                     " WHERE sal.service_id = ANY ($1::uuid[])"
                     " ORDER BY 1, sal.ord, sal.id",
    [DIR_CHILD_ADDRESSES] =
        "SELECT location_id AS _parent, id, attention, address_1,"
        " address_2, city, region, state_province, postal_code,"
        " country, address_type FROM addresses"
        " WHERE location_id = ANY ($1::uuid[]) ORDER BY 1, ord, id",
    [DIR_CHILD_ACCESSIBILITY] =
        "SELECT location_id AS _parent, id, description, details, url,"
        " accessibility FROM accessibility"
        " WHERE location_id = ANY ($1::uuid[]) ORDER BY 1, ord, id",
    [DIR_CHILD_ORG_IDS] =
        "SELECT organization_id AS _parent, id, identifier_scheme,"
        " identifier_type, identifier FROM organization_identifiers"
        " WHERE organization_id = ANY ($1::uuid[])"
        " ORDER BY 1, ord, id",
    [DIR_CHILD_ORG_SERVICES] =
        "SELECT organization_id AS _parent, id FROM services"
        " WHERE organization_id = ANY ($1::uuid[])"
        " ORDER BY 1, name, id",
    [DIR_CHILD_TERMS] =
        "SELECT taxonomy_id AS _parent, id, name, description,"
        " parent_id, taxonomy, term_uri, term FROM taxonomy_terms"
        " WHERE taxonomy_id = ANY ($1::uuid[]) ORDER BY 1, name, id",
};

PGresult *
dir_store_children(struct db *db, enum dir_child kind, const char *ids_array,
                   struct err *e)
{
        const char *p[1] = {ids_array};

        return db_query(db, child_sql[kind], 1, p, e);
}

/* pipeline_end: reads what is left up to the sync point and leaves
 * pipeline mode; false if the connection is not usable afterwards. */
static bool
pipeline_end(PGconn *c, int pending)
{
        PGresult *r;
        int i, nulls = 0;

        for (i = 0; i < 4 * pending + 8 && PQstatus(c) == CONNECTION_OK; i++) {
                r = PQgetResult(c);
                if (r == NULL) {
                        if (++nulls > pending + 1)
                                break;
                        continue;
                }
                if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
                        PQclear(r);
                        break;
                }
                PQclear(r);
        }
        return PQexitPipelineMode(c) == 1;
}

int
dir_store_children_batch(struct db *db, const enum dir_child *kinds,
                         char *const *ids, int n, PGresult **out, struct err *e)
{
        PGconn *c;
        int i, got = 0, rc = -1;

        memset(out, 0, (size_t)n * sizeof(*out));
        if (db_ensure(db, 0, e) < 0)
                return -1;
        c = db_conn(db);
        if (c == NULL || PQenterPipelineMode(c) != 1)
                return err_set(e, ERR_TRANSIENT, NULL, "database: pipeline");
        for (i = 0; i < n; i++) {
                const char *p[1] = {ids[i]};
                if (PQsendQueryParams(c, child_sql[kinds[i]], 1, NULL, p, NULL,
                                      NULL, 0) != 1)
                        break;
        }
        if (PQpipelineSync(c) != 1 || i < n)
                goto out;
        for (got = 0; got < n; got++) {
                out[got] = PQgetResult(c);
                if (PQresultStatus(out[got]) != PGRES_TUPLES_OK)
                        goto out;
                PQclear(PQgetResult(c)); /* the NULL ending this query */
        }
        rc = 0;
out:
        if (!pipeline_end(c, n - got) && rc == 0)
                rc = -1;
        if (rc < 0) {
                for (i = 0; i < n; i++) {
                        PQclear(out[i]);
                        out[i] = NULL;
                }
                err_set(
                    e, PQstatus(c) == CONNECTION_OK ? ERR_FATAL : ERR_TRANSIENT,
                    NULL, "database: child query failed");
        }
        return rc;
}

PGresult *
dir_store_organizations_page(struct db *db, const struct dir_query *q,
                             struct err *e)
{
        char lim[24], off[24];
        const char *p[2] = {lim, off};

        snprintf(lim, sizeof(lim), "%d", q->per_page);
        snprintf(off, sizeof(off), "%ld",
                 (long)(q->page - 1) * (long)q->per_page);
        return db_query(
            db,
            "SELECT c.total AS _total, p.* FROM (SELECT count(*)"
            " AS total FROM organizations) c LEFT JOIN LATERAL"
            " (SELECT " ORG_COLS(
                "o", "") " FROM organizations o"
                         " ORDER BY o.name, o.id LIMIT $1::int OFFSET $2::int)"
                         " p ON true",
            2, p, e);
}

PGresult *
dir_store_organization(struct db *db, const char *id, struct err *e)
{
        const char *p[1] = {id};

        return db_query(db,
                        "SELECT " ORG_COLS("o", "") " FROM organizations o"
                                                    " WHERE o.id = $1",
                        1, p, e);
}

#define TAX_COLS "id, name, description, uri, version"
#define TERM_COLS                                                              \
        "id, name, description, parent_id, taxonomy, taxonomy_id,"             \
        " term_uri, term"

PGresult *
dir_store_taxonomies_page(struct db *db, const struct dir_query *q,
                          struct err *e)
{
        char lim[24], off[24];
        const char *p[2] = {lim, off};

        snprintf(lim, sizeof(lim), "%d", q->per_page);
        snprintf(off, sizeof(off), "%ld",
                 (long)(q->page - 1) * (long)q->per_page);
        return db_query(db,
                        "SELECT c.total AS _total, p.* FROM (SELECT count(*)"
                        " AS total FROM taxonomies) c LEFT JOIN LATERAL"
                        " (SELECT " TAX_COLS " FROM taxonomies ORDER BY name,"
                        " id LIMIT $1::int OFFSET $2::int) p ON true",
                        2, p, e);
}

PGresult *
dir_store_taxonomy(struct db *db, const char *id, struct err *e)
{
        const char *p[1] = {id};

        return db_query(db, "SELECT " TAX_COLS " FROM taxonomies WHERE id = $1",
                        1, p, e);
}

PGresult *
dir_store_terms_page(struct db *db, const struct dir_query *q, struct err *e)
{
        char lim[24], off[24];
        const char *p[5] = {lim, off, q->taxonomy_id,
                            q->top_only ? "true" : NULL, q->parent_id};

        snprintf(lim, sizeof(lim), "%d", q->per_page);
        snprintf(off, sizeof(off), "%ld",
                 (long)(q->page - 1) * (long)q->per_page);
        return db_query(db,
                        "WITH m AS (SELECT " TERM_COLS " FROM taxonomy_terms"
                        " WHERE ($3::uuid IS NULL OR taxonomy_id = $3)"
                        " AND ($4::bool IS NULL OR parent_id IS NULL)"
                        " AND ($5::uuid IS NULL OR parent_id = $5))"
                        " SELECT c.total AS _total, p.* FROM (SELECT count(*)"
                        " AS total FROM m) c LEFT JOIN LATERAL (SELECT * FROM"
                        " m ORDER BY name, id LIMIT $1::int OFFSET $2::int) p"
                        " ON true",
                        5, p, e);
}

PGresult *
dir_store_term(struct db *db, const char *id, struct err *e)
{
        const char *p[1] = {id};

        return db_query(
            db, "SELECT " TERM_COLS " FROM taxonomy_terms WHERE id = $1", 1, p,
            e);
}

int
dir_store_exists(struct db *db, const char *table, const char *id, bool *found,
                 struct err *e)
{
        static const char *const sql[][2] = {
            {"taxonomies", "SELECT 1 FROM taxonomies WHERE id = $1"},
            {"taxonomy_terms", "SELECT 1 FROM taxonomy_terms WHERE id = $1"},
            {"organizations", "SELECT 1 FROM organizations WHERE id = $1"},
            {"services", "SELECT 1 FROM services WHERE id = $1"},
            {"locations", "SELECT 1 FROM locations WHERE id = $1"},
        };
        const char *p[1] = {id};
        size_t i;

        for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
                if (strcmp(sql[i][0], table) != 0)
                        continue;
                PGresult *r = db_query_generic(db, sql[i][1], 1, p, e);
                if (r == NULL)
                        return -1;
                *found = PQntuples(r) > 0;
                PQclear(r);
                return 0;
        }
        return err_set(e, ERR_FATAL, NULL, "unknown table");
}

int
dir_store_postcode(struct db *db, const char *postcode, char lat[32],
                   char lng[32], bool *found, struct err *e)
{
        const char *p[1] = {postcode};
        PGresult *r =
            db_query_generic(db,
                             "SELECT latitude, longitude FROM postcodes"
                             " WHERE postcode = $1",
                             1, p, e);

        if (r == NULL)
                return -1;
        *found = PQntuples(r) == 1;
        if (*found) {
                snprintf(lat, 32, "%s", PQgetvalue(r, 0, 0));
                snprintf(lng, 32, "%s", PQgetvalue(r, 0, 1));
        }
        PQclear(r);
        return 0;
}

/*
 * Nearest: for each candidate, its nearest location and whether one of its
 * service areas (extent_type 'postcode_district', extent a comma list of
 * outward codes) covers the postcode's outward code ($4). A service
 * without such areas has coverage unknown.
 */
int
dir_store_nearest(struct db *db, const char *ids_array, const char *lat,
                  const char *lng, const char *outward,
                  struct dir_nearest **out, int *n, struct err *e)
{
        const char *p[4] = {ids_array, lat, lng, outward};
        PGresult *r;
        int i, rows;

        r = db_query(db,
                     "SELECT x.id, d.location_id, d.dist,"
                     " CASE WHEN NOT EXISTS (SELECT 1 FROM service_areas a"
                     "  WHERE a.service_id = x.id"
                     "  AND a.extent_type = 'postcode_district') THEN -1"
                     " WHEN EXISTS (SELECT 1 FROM service_areas a"
                     "  WHERE a.service_id = x.id"
                     "  AND a.extent_type = 'postcode_district'"
                     "  AND $4::text = ANY (string_to_array(upper("
                     "  replace(a.extent, ' ', '')), ','))) THEN 1 ELSE 0 END,"
                     " coalesce($4, '')"
                     " FROM unnest($1::uuid[]) WITH ORDINALITY x(id, n)"
                     " JOIN services s ON s.id = x.id"
                     " LEFT JOIN LATERAL (SELECT l.id AS location_id,"
                     "  geo_metres(geo_earth($2::float8, $3::float8),"
                     "  geo_earth(l.latitude, l.longitude)) AS dist"
                     "  FROM service_at_locations sal JOIN locations l"
                     "  ON l.id = sal.location_id"
                     "  WHERE sal.service_id = x.id AND l.latitude IS NOT NULL"
                     "  ORDER BY 2 LIMIT 1) d ON true ORDER BY x.n",
                     4, p, e);
        if (r == NULL)
                return -1;
        rows = PQntuples(r);
        *out = calloc((size_t)rows + 1, sizeof(**out));
        if (*out == NULL) {
                PQclear(r);
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        }
        for (i = 0; i < rows; i++) {
                struct dir_nearest *d = &(*out)[i];
                snprintf(d->service_id, UUID_STR_LEN, "%s",
                         PQgetvalue(r, i, 0));
                snprintf(d->location_id, UUID_STR_LEN, "%s",
                         PQgetvalue(r, i, 1));
                d->distance =
                    PQgetisnull(r, i, 2) ? -1 : atof(PQgetvalue(r, i, 2));
                d->covered = atoi(PQgetvalue(r, i, 3));
                snprintf(d->area, sizeof(d->area), "%s", PQgetvalue(r, i, 4));
        }
        *n = rows;
        PQclear(r);
        return 0;
}

PGresult *
dir_store_service_snapshot(struct db *db, const char *id, struct err *e)
{
        const char *p[1] = {id};

        return db_query(
            db,
            "SELECT s.id, s.organization_id, s.name, s.status,"
            " s.accepts_referrals, s.referral_notice_email,"
            " o.name AS organization_name,"
            " o.partner_public_key AS partner_public_key,"
            " coalesce((SELECT json_agg(json_build_object('id', t.id,"
            " 'name', t.name, 'taxonomy_id', t.taxonomy_id)"
            " ORDER BY a.ord, a.id) FROM attributes a"
            " JOIN taxonomy_terms t ON t.id = a.taxonomy_term_id"
            " WHERE a.link_id = s.id), '[]') AS taxonomy_terms, " TS_UTC(
                "s.last_modified") " AS last_modified"
                                   " FROM services s LEFT JOIN organizations o"
                                   " ON o.id = s.organization_id WHERE s.id = "
                                   "$1",
            1, p, e);
}

PGresult *
dir_store_org_snapshot(struct db *db, const char *id, struct err *e)
{
        const char *p[1] = {id};

        return db_query(
            db,
            "SELECT id, name, email, website, partner_public_key, " TS_UTC(
                "last_modified") " AS last_modified"
                                 " FROM organizations WHERE id = $1",
            1, p, e);
}

PGresult *
dir_store_update_requests(struct db *db, const char *status, const char *id,
                          struct err *e)
{
        const char *p[2] = {status, id};

        return db_query(
            db,
            "SELECT id, entity_type, entity_id, submitted_by,"
            " changes, status, reason, decided_by, " TS_UTC(
                "submitted_at") " AS submitted_at, " TS_UTC("decided_at") " AS "
                                                                          "deci"
                                                                          "ded_"
                                                                          "at"
                                                                          " FRO"
                                                                          "M "
                                                                          "upda"
                                                                          "te_"
                                                                          "requ"
                                                                          "ests"
                                                                          " WHE"
                                                                          "RE "
                                                                          "($1:"
                                                                          ":tex"
                                                                          "t "
                                                                          "IS "
                                                                          "NULL"
                                                                          " OR "
                                                                          "stat"
                                                                          "us "
                                                                          "= "
                                                                          "$1)"
                                                                          " AND"
                                                                          " ($"
                                                                          "2::"
                                                                          "uuid"
                                                                          " IS "
                                                                          "NULL"
                                                                          " OR "
                                                                          "id "
                                                                          "= "
                                                                          "$2)"
                                                                          " ORD"
                                                                          "ER "
                                                                          "BY "
                                                                          "subm"
                                                                          "itte"
                                                                          "d_"
                                                                          "at, "
                                                                          "id "
                                                                          "LIMI"
                                                                          "T "
                                                                          "500",
            2, p, e);
}
