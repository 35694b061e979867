/*
 * store_search: the search queries behind /services and
 * /service_at_locations (store.c holds the other reads). Each query is
 * built from the filters actually present, so the planner sees a short
 * query that uses the indexes that fit it: GIN on search_vector, GIN on
 * term_ids (a term and its descendants), GiST on service_points (on
 * locations for /service_at_locations), and GIN trigram on the small
 * search_words vocabulary only when a search found nothing. A search for
 * one word, alone or with a taxonomy term, reads word_postings (a B-tree)
 * instead, from the index alone. Values always travel as numbered
 * parameters; the text only ever holds fixed fragments
 * and parameter numbers. A /services page comes with each service's
 * stored list document (store_docs.c). Does not build JSON or know about HTTP.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"

/* A query under construction: the text holds only the filters that are
 * present; values travel as numbered parameters, never in the text. */
struct sqlb {
        char text[4096];
        size_t len;
        const char *p[24];
        int n;
        bool overflow;
};

static void sqlb_cat(struct sqlb *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sqlb_cat(struct sqlb *b, const char *fmt, ...)
{
        va_list ap;
        int w;

        va_start(ap, fmt);
        w = vsnprintf(b->text + b->len, sizeof(b->text) - b->len, fmt, ap);
        va_end(ap);
        if (w < 0 || (size_t)w >= sizeof(b->text) - b->len)
                b->overflow = true;
        else
                b->len += (size_t)w;
}

/* sqlb_param: the number of a new parameter holding v (borrowed). */
static int
sqlb_param(struct sqlb *b, const char *v)
{
        if (b->n == (int)(sizeof(b->p) / sizeof(b->p[0]))) {
                b->overflow = true;
                return b->n;
        }
        b->p[b->n++] = v;
        return b->n;
}

#define TSQ "websearch_to_tsquery('pg_catalog.english', $%d::text)"
#define LOC_EARTH "geo_earth(l.latitude, l.longitude)"
#define POINT "geo_earth($%d::float8, $%d::float8)"

/* The parameters a query refers to more than once. */
struct refs {
        int search, lat, lng, radius;
};

/* svc_filters: " AND ..." for every filter of q that is present, over
 * services s. The search is the GIN-indexed full-text match; typo
 * tolerance is a second attempt with corrected words (search_correct). */
static void
svc_filters(struct sqlb *b, const struct dir_query *q, const struct refs *r)
{
        if (r->search > 0)
                sqlb_cat(b, " AND s.search_vector @@ " TSQ, r->search);
        if (q->taxonomy_term_id != NULL)
                sqlb_cat(b,
                         " AND s.term_ids OPERATOR(pg_catalog.&&) ARRAY("
                         "WITH RECURSIVE t(id) AS (SELECT $%d::uuid UNION"
                         " SELECT c.id FROM taxonomy_terms c JOIN t"
                         " ON c.parent_id = t.id) SELECT id FROM t)",
                         sqlb_param(b, q->taxonomy_term_id));
        if (q->taxonomy_id != NULL)
                sqlb_cat(b,
                         " AND s.id IN (SELECT a.link_id FROM attributes a"
                         " JOIN taxonomy_terms tt ON tt.id = a.taxonomy_term_id"
                         " WHERE tt.taxonomy_id = $%d::uuid)",
                         sqlb_param(b, q->taxonomy_id));
        if (q->organization_id != NULL)
                sqlb_cat(b, " AND s.organization_id = $%d::uuid",
                         sqlb_param(b, q->organization_id));
        if (q->minimum_age != NULL)
                sqlb_cat(b, " AND s.minimum_age >= $%d::numeric",
                         sqlb_param(b, q->minimum_age));
        if (q->maximum_age != NULL)
                sqlb_cat(b, " AND s.maximum_age <= $%d::numeric",
                         sqlb_param(b, q->maximum_age));
        if (q->age != NULL) {
                int a = sqlb_param(b, q->age);
                sqlb_cat(b,
                         " AND coalesce(s.minimum_age, 0) <= $%d::numeric"
                         " AND coalesce(s.maximum_age, 1000) >= $%d::numeric",
                         a, a);
        }
        if (q->modified_after != NULL)
                sqlb_cat(b, " AND s.last_modified >= $%d::timestamptz",
                         sqlb_param(b, q->modified_after));
        if (q->day == NULL && q->start_time == NULL && q->end_time == NULL)
                return;
        sqlb_cat(b, " AND EXISTS (SELECT 1 FROM schedules sc"
                    " WHERE sc.service_id = s.id");
        if (q->day != NULL)
                sqlb_cat(b, " AND sc.byday ~ ('(^|,)' || $%d::text || '($|,)')",
                         sqlb_param(b, q->day));
        if (q->start_time != NULL)
                sqlb_cat(b, " AND sc.opens_at >= $%d::time",
                         sqlb_param(b, q->start_time));
        if (q->end_time != NULL)
                sqlb_cat(b, " AND sc.closes_at <= $%d::time",
                         sqlb_param(b, q->end_time));
        sqlb_cat(b, ")");
}

/* rank: relevance, cover density with the name (A) weighted well above
 * the description (B), organisation (C) and taxonomy terms (D); 0
 * without a search. */
static void
rank(struct sqlb *b, const struct refs *r)
{
        if (r->search > 0)
                sqlb_cat(b,
                         "ts_rank_cd('{0.05, 0.1, 0.2, 1.0}', s.search_vector, "
                         "" TSQ ")",
                         r->search);
        else
                sqlb_cat(b, "0::real");
}

/* within: " AND" the point `earth` lies within the radius, found through
 * a GiST index on it. */
static void
within(struct sqlb *b, const struct refs *r, const char *earth)
{
        sqlb_cat(b,
                 " AND public.cube_enlarge(" POINT ", $%d::float8, 3)"
                 " OPERATOR(public.@>) %s AND public.cube_distance(" POINT
                 ", %s) <= geo_chord($%d::float8)",
                 r->lat, r->lng, r->radius, earth, r->lat, r->lng, earth,
                 r->radius);
}

/* other_filters: true if q has a filter on services besides the search,
 * the taxonomy term and the point. */
static bool
other_filters(const struct dir_query *q)
{
        return q->taxonomy_id != NULL || q->organization_id != NULL ||
               q->minimum_age != NULL || q->maximum_age != NULL ||
               q->age != NULL || q->modified_after != NULL || q->day != NULL ||
               q->start_time != NULL || q->end_time != NULL;
}

/* filtered: true if q has a filter on services beyond the point. */
static bool
filtered(const struct dir_query *q)
{
        return q->search != NULL || q->taxonomy_term_id != NULL ||
               other_filters(q);
}

/* services_m: CTE m of /services: matching services with rank and the
 * distance to their nearest location (NULL without a point); with a
 * radius, only services with a location within it. Near a point, the
 * locations come from service_points (active services only); a radius
 * search without other filters needs nothing else. */
static void
services_m(struct sqlb *b, const struct dir_query *q, const struct refs *r)
{
        if (r->lat <= 0) {
                sqlb_cat(b, "WITH m AS (SELECT s.id, s.name, ");
                rank(b, r);
                sqlb_cat(b, " AS rank, NULL::float8 AS dist FROM services s"
                            " WHERE s.status = 'active'");
                svc_filters(b, q, r);
                sqlb_cat(b, ")");
                return;
        }
        sqlb_cat(b,
                 "WITH near AS (SELECT p.service_id AS id, min(p.name) AS name,"
                 " min(geo_metres(" POINT ", p.earth)) AS dist"
                 " FROM service_points p WHERE true",
                 r->lat, r->lng);
        if (r->radius > 0)
                within(b, r, "p.earth");
        sqlb_cat(b, " GROUP BY 1), m AS (");
        if (r->radius > 0 && !filtered(q)) {
                sqlb_cat(b, "SELECT id, name, 0::real AS rank, dist"
                            " FROM near)");
                return;
        }
        sqlb_cat(b, "SELECT s.id, s.name, ");
        rank(b, r);
        sqlb_cat(b,
                 " AS rank, near.dist AS dist FROM services s %s JOIN near"
                 " ON near.id = s.id WHERE s.status = 'active'",
                 r->radius > 0 ? "" : "LEFT");
        svc_filters(b, q, r);
        sqlb_cat(b, ")");
}

/* sal_m: CTE m of /service_at_locations: one row per matching pair. */
static void
sal_m(struct sqlb *b, const struct dir_query *q, const struct refs *r)
{
        sqlb_cat(b, "WITH m AS (SELECT sal.id, s.name, ");
        rank(b, r);
        if (r->lat > 0)
                sqlb_cat(b, " AS rank, geo_metres(" POINT ", " LOC_EARTH ")",
                         r->lat, r->lng);
        else
                sqlb_cat(b, " AS rank, NULL::float8");
        sqlb_cat(b, " AS dist FROM service_at_locations sal JOIN services s"
                    " ON s.id = sal.service_id JOIN locations l"
                    " ON l.id = sal.location_id WHERE s.status = 'active'");
        svc_filters(b, q, r);
        if (r->radius > 0)
                within(b, r, LOC_EARTH);
        sqlb_cat(b, ")");
}

/* page_tail: the total and one page of m in order, each row with the
 * stored list document of the service (/services only). */
static void
page_tail(struct sqlb *b, const struct dir_query *q, bool at_locations,
          const char *lim, const char *off)
{
        bool dist = q->sort_distance && q->has_point;
        int l = sqlb_param(b, lim), o = sqlb_param(b, off);

        sqlb_cat(b,
                 " SELECT c.total, p.id, p.dist, %s FROM (SELECT count(*)"
                 " AS total FROM m) c LEFT JOIN LATERAL (SELECT id, dist,"
                 " rank, name FROM m ORDER BY %srank DESC, name, id"
                 " LIMIT $%d::int OFFSET $%d::int) p ON true",
                 at_locations ? "NULL" : "d.brief",
                 dist ? "dist ASC NULLS LAST, " : "", l, o);
        if (!at_locations)
                sqlb_cat(b, " LEFT JOIN service_docs d ON d.id = p.id");
        sqlb_cat(b, " ORDER BY %sp.rank DESC, p.name, p.id",
                 dist ? "p.dist ASC NULLS LAST, " : "");
}

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
        out->briefs = calloc((size_t)rows + 1, sizeof(char *));
        if (out->ids == NULL || out->distance == NULL || out->briefs == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        out->briefs_all = true;
        for (i = 0; i < rows; i++) {
                if (PQgetisnull(r, i, 1))
                        continue;
                snprintf(out->ids[n], UUID_STR_LEN, "%s", PQgetvalue(r, i, 1));
                out->distance[n] =
                    PQgetisnull(r, i, 2) ? -1 : atof(PQgetvalue(r, i, 2));
                if (PQgetisnull(r, i, 3))
                        out->briefs_all = false;
                else if ((out->briefs[n] = strdup(PQgetvalue(r, i, 3))) == NULL)
                        return err_set(e, ERR_FATAL, NULL, "out of memory");
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

/* A one-word search reads word_postings (migration 007): the total
 * is an index-only count of the word's postings and the page their first
 * rows, in the order the general query gives (rank, name, id). With a
 * taxonomy term, the term's postings ('#' and its id) are joined in: a
 * service has one for each of its terms and each of their ancestors
 * (migration 008), so they are the services in the term or below. The last
 * column says whether the search really was one lexeme (or none: a stop word);
 * if not, the general query answers instead. */
#define WORD_LEXEME                                                            \
        "WITH w AS (SELECT CASE WHEN numnode(q) = 1 AND cardinality(a) = 1"    \
        " THEN a[1] END AS lexeme, numnode(q) = 0 OR (numnode(q) = 1 AND"      \
        " cardinality(a) = 1) AS ok"                                           \
        " FROM websearch_to_tsquery('pg_catalog.english', $1::text) q,"        \
        " tsvector_to_array(to_tsvector('pg_catalog.english', $1::text)) a)"
#define WORD_PAGE_TAIL                                                         \
        " ORDER BY rank DESC, name, service_id LIMIT $2::int OFFSET $3::int) " \
        "p"                                                                    \
        " ON true LEFT JOIN service_docs d ON d.id = p.service_id"             \
        " ORDER BY p.rank DESC, p.name, p.service_id"

/* the word's postings in index order: the page is the index's first rows */
static const char word_page_sql[] =
    WORD_LEXEME " SELECT c.total, p.service_id, NULL::float8, d.brief,"
                " (SELECT ok FROM w) FROM (SELECT count(*) AS total"
                " FROM word_postings WHERE lexeme = (SELECT lexeme FROM w)) c"
                " LEFT JOIN LATERAL (SELECT service_id, rank, name"
                " FROM word_postings WHERE lexeme = (SELECT lexeme FROM w)"
                "" WORD_PAGE_TAIL;

static const char word_term_page_sql[] = WORD_LEXEME
    ", m AS MATERIALIZED (SELECT p.service_id, p.rank, p.name"
    " FROM word_postings p JOIN word_postings t"
    " ON t.service_id = p.service_id AND t.lexeme = '#' || $4::text"
    " WHERE p.lexeme = (SELECT lexeme FROM w))"
    " SELECT c.total, p.service_id, NULL::float8, d.brief, (SELECT ok FROM w)"
    " FROM (SELECT count(*) AS total FROM m) c LEFT JOIN LATERAL"
    " (SELECT service_id, rank, name FROM m" WORD_PAGE_TAIL;

/* one_word: true if q is a search for one word (ASCII letters and digits,
 * spaces around it), alone or with a taxonomy term, which word_page_sql
 * or word_term_page_sql can answer. */
static bool
one_word(const struct dir_query *q, const char *search, bool at_locations)
{
        const char *c = search;
        bool word = false, gap = false;

        if (at_locations || search == NULL || q->has_point || other_filters(q))
                return false;
        for (; *c != '\0'; c++) {
                if (*c == ' ') {
                        gap = word;
                        continue;
                }
                if (gap ||
                    !((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                      (*c >= '0' && *c <= '9')))
                        return false;
                word = true;
        }
        return word;
}

/* A radius search sorted by distance, with no other filter, takes its page
 * from the GiST index in distance order (KNN, `<->` on the earth cube:
 * the straight-line distance orders points as the great-circle one does),
 * reading a few more points than the page needs instead of every point
 * within the radius; the total is still an exact count of the services
 * within it. A service counts as placed only if its nearest point is
 * closer than the last point read (every point of it that could be nearer
 * was read); the page is the first placed services in the general query's
 * order (distance, then name and id: rank is 0 without a search). The last
 * column says whether the page is complete, i.e. enough services were
 * placed or every point within the radius was read; if not (services
 * with many points close together, or a page far down), the general query
 * answers instead. $1 lat, $2 lng, $3 radius, $4 limit, $5 offset. */
#define NEAR_PT "geo_earth($1::float8, $2::float8)"
#define NEAR_WITHIN                                                            \
        " public.cube_enlarge(" NEAR_PT ", $3::float8, 3) OPERATOR(public.@>)" \
        " p.earth AND public.cube_distance(" NEAR_PT ", p.earth)"              \
        " <= geo_chord($3::float8)"
#define NEAR_READ "(($4::int + $5::int) * 2 + 16)"
static const char near_page_sql[] =
    "WITH k AS (SELECT p.service_id, p.name, geo_metres(" NEAR_PT ", p.earth)"
    " AS dist FROM service_points p WHERE" NEAR_WITHIN
    " ORDER BY p.earth OPERATOR(public.<->) " NEAR_PT " LIMIT " NEAR_READ "),"
    " edge AS (SELECT CASE WHEN count(*) < " NEAR_READ " THEN"
    " 'Infinity'::float8 ELSE max(dist) END AS d FROM k),"
    " s AS (SELECT service_id, min(name) AS name, min(dist) AS dist FROM k"
    " GROUP BY 1 HAVING min(dist) < (SELECT d FROM edge))"
    " SELECT c.total, p.service_id, p.dist, d.brief,"
    " (SELECT count(*) FROM s) >= $4::int + $5::int"
    " OR (SELECT d FROM edge) = 'Infinity'"
    " FROM (SELECT count(DISTINCT p.service_id) AS total"
    " FROM service_points p WHERE" NEAR_WITHIN ") c"
    " LEFT JOIN LATERAL (SELECT service_id, name, dist FROM s"
    " ORDER BY dist, name, service_id LIMIT $4::int OFFSET $5::int) p ON true"
    " LEFT JOIN service_docs d ON d.id = p.service_id"
    " ORDER BY p.dist, p.name, p.service_id";

/* nearest_first: true if near_page_sql can answer q. */
static bool
nearest_first(const struct dir_query *q, bool at_locations)
{
        return !at_locations && q->has_point && q->proximity != NULL &&
               q->sort_distance && !filtered(q);
}

/* shortcut_run: runs sql (params p[n]: one of the shortcuts above, whose
 * fifth column says whether it answered) into out; *done is false when
 * it did not, and the caller runs the general query. */
static int
shortcut_run(struct db *db, const char *sql, int n, const char *const *p,
             struct dir_page *out, bool *done, struct err *e)
{
        PGresult *res = db_query_generic(db, sql, n, p, e);
        int rc = 0;

        if (res == NULL)
                return -1;
        *done = PQntuples(res) > 0 && strcmp(PQgetvalue(res, 0, 4), "t") == 0;
        if (*done) {
                dir_page_fini(out);
                rc = page_fill(res, out, e);
        }
        PQclear(res);
        return rc;
}

/* page_run: builds the page query of q for the search text `search` and
 * runs it. */
static int
page_run(struct db *db, const struct dir_query *q, const char *search,
         bool at_locations, struct dir_page *out, struct err *e)
{
        struct sqlb b = {.len = 0};
        struct refs r = {0};
        char lim[24], off[24];
        PGresult *res;
        bool done = false;
        int rc;

        snprintf(lim, sizeof(lim), "%d", q->per_page);
        snprintf(off, sizeof(off), "%ld",
                 (long)(q->page - 1) * (long)q->per_page);
        if (one_word(q, search, at_locations)) {
                /* the lexeme is looked up at run time either way: one plan */
                const char *p[4] = {search, lim, off, q->taxonomy_term_id};
                bool term = q->taxonomy_term_id != NULL;

                rc = shortcut_run(db, term ? word_term_page_sql : word_page_sql,
                                  term ? 4 : 3, p, out, &done, e);
                if (rc < 0 || done)
                        return rc;
        } else if (nearest_first(q, at_locations)) {
                const char *p[5] = {q->lat, q->lng, q->proximity, lim, off};

                rc = shortcut_run(db, near_page_sql, 5, p, out, &done, e);
                if (rc < 0 || done)
                        return rc;
        }
        if (search != NULL)
                r.search = sqlb_param(&b, search);
        if (q->has_point) {
                r.lat = sqlb_param(&b, q->lat);
                r.lng = sqlb_param(&b, q->lng);
                if (q->proximity != NULL)
                        r.radius = sqlb_param(&b, q->proximity);
        }
        if (at_locations)
                sal_m(&b, q, &r);
        else
                services_m(&b, q, &r);
        page_tail(&b, q, at_locations, lim, off);
        if (b.overflow)
                return err_set(e, ERR_FATAL, NULL, "search query too long");
        /* a radius alone reads one index range, whatever the point: one
         * plan; any other filter is planned with its values */
        res = !at_locations && r.radius > 0 && !filtered(q)
                  ? db_query_generic(db, b.text, b.n, b.p, e)
                  : db_query(db, b.text, b.n, b.p, e);
        if (res == NULL)
                return -1;
        dir_page_fini(out);
        rc = page_fill(res, out, e);
        PQclear(res);
        return rc;
}

int
dir_store_services_page(struct db *db, const struct dir_query *q,
                        bool at_locations, struct dir_page *out, struct err *e)
{
        char *fixed = NULL;
        int rc;

        memset(out, 0, sizeof(*out));
        rc = page_run(db, q, q->search, at_locations, out, e);
        if (rc < 0 || out->total > 0 || q->search == NULL)
                return rc;
        /* nothing found: try again with misspelt words corrected */
        if (search_correct(db, q->search, &fixed, e) < 0)
                return -1;
        if (fixed != NULL)
                rc = page_run(db, q, fixed, at_locations, out, e);
        free(fixed);
        return rc;
}

void
dir_page_fini(struct dir_page *p)
{
        for (int i = 0; p->briefs != NULL && i < p->n; i++)
                free(p->briefs[i]);
        free(p->briefs);
        free(p->ids);
        free(p->distance);
        memset(p, 0, sizeof(*p));
}
