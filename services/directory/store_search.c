/*
 * store_search: the search queries behind /services and
 * /service_at_locations (store.c holds the other reads). Static text with
 * numbered parameters; an absent filter is passed as SQL NULL and folds
 * away at planning time (libpq's unnamed statements are planned with the
 * actual values), so each search uses the indexes that fit it: GIN on
 * search_vector, GIN on attributes (term), GiST on geo_earth(latitude,
 * longitude), and GIN trigram on the small search_words vocabulary only
 * when a search found nothing. Does not build JSON or know about HTTP.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"

#define TSQ "websearch_to_tsquery('pg_catalog.english', $1::text)"
#define POINT "geo_earth($12::float8, $13::float8)"
#define LOC_EARTH "geo_earth(l.latitude, l.longitude)"

/* Filters shared by /services and /service_at_locations ($1..$11). The
 * search is the GIN-indexed full-text match alone; typo tolerance is a
 * second attempt with corrected words (search_correct). */
#define SVC_FILTERS                                                            \
        " s.status = 'active'"                                                 \
        " AND ($1::text IS NULL OR s.search_vector @@ " TSQ ")"                \
        " AND ($2::uuid IS NULL OR s.id IN (SELECT a.link_id"                  \
        "      FROM attributes a WHERE a.taxonomy_term_id = ANY (ARRAY("       \
        "      WITH RECURSIVE t(id) AS (SELECT $2::uuid UNION"                 \
        "      SELECT c.id FROM taxonomy_terms c JOIN t ON c.parent_id = "     \
        "      t.id) SELECT id FROM t))))"                                     \
        " AND ($3::uuid IS NULL OR s.id IN (SELECT a.link_id"                  \
        "      FROM attributes a JOIN taxonomy_terms tt"                       \
        "      ON tt.id = a.taxonomy_term_id WHERE tt.taxonomy_id = $3))"      \
        " AND ($4::uuid IS NULL OR s.organization_id = $4)"                    \
        " AND ($5::numeric IS NULL OR s.minimum_age >= $5)"                    \
        " AND ($6::numeric IS NULL OR s.maximum_age <= $6)"                    \
        " AND ($7::numeric IS NULL OR (coalesce(s.minimum_age, 0) <= $7"       \
        "      AND coalesce(s.maximum_age, 1000) >= $7))"                      \
        " AND ($8::timestamptz IS NULL OR s.last_modified >= $8)"              \
        " AND (($9::text IS NULL AND $10::time IS NULL AND $11::time IS "      \
        "      NULL) OR EXISTS (SELECT 1 FROM schedules sc"                    \
        "      WHERE sc.service_id = s.id"                                     \
        "      AND ($9 IS NULL OR sc.byday ~ ('(^|,)' || $9 || '($|,)'))"      \
        "      AND ($10 IS NULL OR sc.opens_at >= $10)"                        \
        "      AND ($11 IS NULL OR sc.closes_at <= $11)))"

/* Relevance: cover density with the name (A) weighted well above the
 * description (B), organisation (C) and taxonomy terms (D). */
#define RANK                                                                   \
        "CASE WHEN $1::text IS NULL THEN 0 ELSE"                               \
        " ts_rank_cd('{0.05, 0.1, 0.2, 1.0}', s.search_vector, " TSQ ") END"

/* The locations within $14 metres of the point, found through the GiST
 * index, or every location when no radius is given; empty without a
 * point. */
#define NEAR_WHERE                                                             \
        " WHERE $12::float8 IS NOT NULL AND ($14::float8 IS NULL OR"           \
        " (public.cube_enlarge(" POINT ", $14::float8, 3)"                     \
        " OPERATOR(public.@>) " LOC_EARTH " AND geo_metres(" POINT             \
        ", " LOC_EARTH ") <= $14::float8))"

#define PAGE_TAIL                                                              \
        " SELECT c.total, p.id, p.dist FROM (SELECT count(*) AS total"         \
        " FROM m) c LEFT JOIN LATERAL (SELECT id, dist FROM m ORDER BY"        \
        " CASE WHEN $15::bool THEN dist END ASC NULLS LAST, rank DESC,"        \
        " name, id LIMIT $16::int OFFSET $17::int) p ON true"

static const char services_page_sql[] =
    "WITH near AS (SELECT sal.service_id AS id, min(geo_metres(" POINT
    ", " LOC_EARTH ")) AS dist FROM locations l JOIN service_at_locations sal"
    " ON sal.location_id = l.id" NEAR_WHERE " GROUP BY 1),"
    " m AS (SELECT s.id, s.name, " RANK " AS rank, near.dist"
    " FROM services s LEFT JOIN near ON near.id = s.id WHERE" SVC_FILTERS
    " AND ($14::float8 IS NULL OR near.id IS NOT NULL))" PAGE_TAIL;

static const char sal_page_sql[] =
    "WITH m AS (SELECT sal.id, s.name, " RANK " AS rank,"
    " CASE WHEN $12::float8 IS NULL THEN NULL ELSE"
    " geo_metres(" POINT ", " LOC_EARTH ") END AS dist"
    " FROM service_at_locations sal JOIN services s"
    " ON s.id = sal.service_id JOIN locations l"
    " ON l.id = sal.location_id WHERE" SVC_FILTERS
    " AND ($14::float8 IS NULL OR (public.cube_enlarge(" POINT
    ", $14::float8, 3) OPERATOR(public.@>) " LOC_EARTH "  AND geo_metres(" POINT
    ", " LOC_EARTH ") <= $14::float8)))" PAGE_TAIL;

/* Each query word of three or more letters that is not in the vocabulary
 * becomes its most similar known word (pg_trgm, default threshold 0.3);
 * NULL when no word changed. */
static const char search_correct_sql[] =
    "SELECT string_agg(coalesce(c.word, x.w), ' ' ORDER BY x.n),"
    " bool_or(c.word IS NOT NULL)"
    " FROM regexp_split_to_table(lower($1::text), '\\s+') WITH ORDINALITY"
    " x(w, n) LEFT JOIN LATERAL (SELECT sw.word FROM search_words sw"
    " WHERE x.w ~ '^[[:alpha:]]{3,}$' AND NOT EXISTS (SELECT 1"
    " FROM search_words k WHERE k.word = x.w)"
    " AND sw.word OPERATOR(public.%) x.w"
    " ORDER BY public.similarity(sw.word, x.w) DESC, sw.word LIMIT 1) c"
    " ON true";

static int
page_fill(PGresult *r, struct dir_page *out, struct err *e)
{
        int rows = PQntuples(r), i, n = 0;

        out->total = rows > 0 ? atol(PQgetvalue(r, 0, 0)) : 0;
        out->ids = calloc((size_t)rows + 1, sizeof(*out->ids));
        out->distance = calloc((size_t)rows + 1, sizeof(double));
        if (out->ids == NULL || out->distance == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        for (i = 0; i < rows; i++) {
                if (PQgetisnull(r, i, 1))
                        continue;
                snprintf(out->ids[n], UUID_STR_LEN, "%s", PQgetvalue(r, i, 1));
                out->distance[n] =
                    PQgetisnull(r, i, 2) ? -1 : atof(PQgetvalue(r, i, 2));
                n++;
        }
        out->n = n;
        return 0;
}

/* search_correct: *fixed (caller frees) is the search with unknown words
 * corrected, or NULL when there is nothing to correct. */
static int
search_correct(struct db *db, const char *search, char **fixed, struct err *e)
{
        const char *p[1] = {search};
        PGresult *r = db_query(db, search_correct_sql, 1, p, e);

        *fixed = NULL;
        if (r == NULL)
                return -1;
        if (PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) &&
            strcmp(PQgetvalue(r, 0, 1), "t") == 0) {
                *fixed = strdup(PQgetvalue(r, 0, 0));
                if (*fixed == NULL) {
                        PQclear(r);
                        return err_set(e, ERR_FATAL, NULL, "out of memory");
                }
        }
        PQclear(r);
        return 0;
}

static int
page_run(struct db *db, const char *sql, const char *const p[17],
         struct dir_page *out, struct err *e)
{
        PGresult *r = db_query(db, sql, 17, p, e);
        int rc;

        if (r == NULL)
                return -1;
        dir_page_fini(out);
        rc = page_fill(r, out, e);
        PQclear(r);
        return rc;
}

int
dir_store_services_page(struct db *db, const struct dir_query *q,
                        bool at_locations, struct dir_page *out, struct err *e)
{
        const char *sql = at_locations ? sal_page_sql : services_page_sql;
        char lim[24], off[24], *fixed = NULL;
        int rc;

        snprintf(lim, sizeof(lim), "%d", q->per_page);
        snprintf(off, sizeof(off), "%ld",
                 (long)(q->page - 1) * (long)q->per_page);
        const char *p[17] = {
            q->search,
            q->taxonomy_term_id,
            q->taxonomy_id,
            q->organization_id,
            q->minimum_age,
            q->maximum_age,
            q->age,
            q->modified_after,
            q->day,
            q->start_time,
            q->end_time,
            q->has_point ? q->lat : NULL,
            q->has_point ? q->lng : NULL,
            q->has_point ? q->proximity : NULL,
            q->sort_distance && q->has_point ? "true" : "false",
            lim,
            off,
        };
        memset(out, 0, sizeof(*out));
        rc = page_run(db, sql, p, out, e);
        if (rc < 0 || out->total > 0 || q->search == NULL)
                return rc;
        /* nothing found: try again with misspelt words corrected */
        if (search_correct(db, q->search, &fixed, e) < 0)
                return -1;
        if (fixed != NULL) {
                p[0] = fixed;
                rc = page_run(db, sql, p, out, e);
        }
        free(fixed);
        return rc;
}

void
dir_page_fini(struct dir_page *p)
{
        free(p->ids);
        free(p->distance);
        memset(p, 0, sizeof(*p));
}
