/*
 * oruk: the Open Referral UK 3.0 read API. Checks every query parameter
 * (a bad one is a 400 naming it), asks store.c for the page and render.c
 * for the JSON, and answers status + body. Knows nothing of the HTTP
 * library: routes.c hands it a path and a parameter getter.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory.h"

#define ORUK_PROFILE "https://github.com/openreferral/uk-profile"
#define ORUK_OPENAPI                                                           \
        "https://raw.githubusercontent.com/openreferral/uk-profile/main/"      \
        "schema/openapi.json"

struct req {
        dir_param_fn get;
        void *arg;
        struct db *db;
        struct dir_query q;
        char postcode[16];
        struct err e;
};

static int
bad(struct req *rq, const char *param, const char *why)
{
        return err_set(&rq->e, ERR_INVALID, param, "%s", why);
}

/* utf8_len: code points in s, or -1 when s is not valid UTF-8. */
static long
utf8_len(const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        long n = 0;

        while (*p) {
                int extra = *p < 0x80             ? 0
                            : (*p & 0xE0) == 0xC0 ? 1
                            : (*p & 0xF0) == 0xE0 ? 2
                            : (*p & 0xF8) == 0xF0 ? 3
                                                  : -1;
                if (extra < 0 || (extra == 1 && *p < 0xC2) || *p > 0xF4)
                        return -1;
                for (p++; extra > 0; extra--, p++)
                        if ((*p & 0xC0) != 0x80)
                                return -1;
                n++;
        }
        return n;
}

/* param: returns the value (NULL when absent or empty); a value that is
 * not UTF-8 fails the request. */
static const char *
param(struct req *rq, const char *name)
{
        const char *v = rq->get(rq->arg, name);

        if (v == NULL || v[0] == '\0' || rq->e.kind != ERR_NONE)
                return NULL;
        if (utf8_len(v) < 0) {
                bad(rq, name, "not valid UTF-8");
                return NULL;
        }
        return v;
}

static bool
is_number(const char *v, double lo, double hi)
{
        char *end = NULL;
        double d = strtod(v, &end);

        return end != v && *end == '\0' && d >= lo && d <= hi;
}

static const char *
p_number(struct req *rq, const char *name, double lo, double hi)
{
        const char *v = param(rq, name);

        if (v != NULL && !is_number(v, lo, hi)) {
                bad(rq, name, "not a number in range");
                return NULL;
        }
        return v;
}

static int
p_int(struct req *rq, const char *name, int def, int lo, int hi)
{
        const char *v = param(rq, name);
        char *end = NULL;
        long n;

        if (v == NULL)
                return def;
        n = strtol(v, &end, 10);
        if (end == v || *end != '\0' || n < lo || n > hi) {
                bad(rq, name, "out of range");
                return def;
        }
        return (int)n;
}

static const char *
p_uuid(struct req *rq, const char *name, const char *table)
{
        const char *v = param(rq, name);
        bool found = true;

        if (v == NULL)
                return NULL;
        if (!uuid_valid(v)) {
                bad(rq, name, "not a UUID");
                return NULL;
        }
        if (table != NULL &&
            dir_store_exists(rq->db, table, v, &found, &rq->e) == 0 && !found)
                bad(rq, name, "unknown id");
        return v;
}

static const char *
p_time(struct req *rq, const char *name)
{
        const char *v = param(rq, name);
        unsigned h, m, s = 0;
        char tail;

        if (v == NULL)
                return NULL;
        if ((sscanf(v, "%2u:%2u:%2u%c", &h, &m, &s, &tail) != 3 &&
             sscanf(v, "%2u:%2u%c", &h, &m, &tail) != 2) ||
            h > 23 || m > 59 || s > 59) {
                bad(rq, name, "expected HH:MM or HH:MM:SS");
                return NULL;
        }
        return v;
}

static const char *
p_day(struct req *rq)
{
        static const char *const days[7][2] = {
            {"MO", "monday"},   {"TU", "tuesday"}, {"WE", "wednesday"},
            {"TH", "thursday"}, {"FR", "friday"},  {"SA", "saturday"},
            {"SU", "sunday"},
        };
        const char *v = param(rq, "day");
        int i;

        if (v == NULL)
                return NULL;
        for (i = 0; i < 7; i++)
                if (strcasecmp(v, days[i][0]) == 0 ||
                    strcasecmp(v, days[i][1]) == 0)
                        return days[i][0];
        bad(rq, "day", "expected MO..SU or a day name");
        return NULL;
}

static const char *
p_timestamp(struct req *rq, const char *name)
{
        const char *v = param(rq, name);
        unsigned y, mo, d;
        int used = 0;

        if (v == NULL)
                return NULL;
        if (sscanf(v, "%4u-%2u-%2u%n", &y, &mo, &d, &used) != 3 || used != 10 ||
            mo < 1 || mo > 12 || d < 1 || d > 31 ||
            (v[10] != '\0' && v[10] != 'T' && v[10] != ' ') ||
            strspn(v + 10, "T 0123456789:.+-Z") != strlen(v + 10)) {
                bad(rq, name, "expected an ISO 8601 date or date-time");
                return NULL;
        }
        return v;
}

bool
dir_postcode_normalise(const char *in, char out[16])
{
        size_t n = 0, i;

        for (; *in; in++) {
                if (*in == ' ')
                        continue;
                if (!isalnum((unsigned char)*in) || n >= 7)
                        return false;
                out[n++] = (char)toupper((unsigned char)*in);
        }
        out[n] = '\0';
        if (n < 5)
                return false;
        /* inward: digit letter letter; outward: A[A]9[A9] */
        if (!isdigit((unsigned char)out[n - 3]) ||
            !isalpha((unsigned char)out[n - 2]) ||
            !isalpha((unsigned char)out[n - 1]) ||
            !isalpha((unsigned char)out[0]))
                return false;
        i = isalpha((unsigned char)out[1]) ? 2 : 1;
        if (!isdigit((unsigned char)out[i]))
                return false;
        return n - 3 - i <= 2 &&
               (n - 3 - i == 1 || isalnum((unsigned char)out[i + 1]));
}

/* point: postcode or lat/lng, then proximity and sort. */
static void
p_point(struct req *rq)
{
        struct dir_query *q = &rq->q;
        const char *pc = param(rq, "postcode");
        const char *lat = p_number(rq, "lat", -90, 90);
        const char *lng = p_number(rq, "lng", -180, 180);
        const char *sort = param(rq, "sort");
        bool found = false;

        if (pc != NULL) {
                if (!dir_postcode_normalise(pc, rq->postcode)) {
                        bad(rq, "postcode", "not a UK postcode");
                        return;
                }
                if (dir_store_postcode(rq->db, rq->postcode, q->lat, q->lng,
                                       &found, &rq->e) < 0)
                        return;
                if (!found) {
                        bad(rq, "postcode", "unknown postcode");
                        return;
                }
                q->has_point = true;
        } else if (lat != NULL && lng != NULL) {
                snprintf(q->lat, sizeof(q->lat), "%s", lat);
                snprintf(q->lng, sizeof(q->lng), "%s", lng);
                q->has_point = true;
        } else if (lat != NULL || lng != NULL) {
                bad(rq, lat ? "lng" : "lat", "lat and lng go together");
        }
        q->proximity = p_number(rq, "proximity", 1, DIR_PROXIMITY_MAX);
        if (q->proximity != NULL && !q->has_point)
                bad(rq, "proximity", "needs postcode or lat and lng");
        if (sort != NULL && strcmp(sort, "distance") == 0)
                q->sort_distance = true;
        else if (sort != NULL && strcmp(sort, "relevance") != 0)
                bad(rq, "sort", "expected distance or relevance");
        if (q->sort_distance && !q->has_point)
                bad(rq, "sort", "distance needs postcode or lat and lng");
}

static void
p_paging(struct req *rq)
{
        rq->q.page = p_int(rq, "page", 1, 1, 1000000);
        rq->q.per_page =
            p_int(rq, "per_page", DIR_PER_PAGE_DEFAULT, 1, DIR_PER_PAGE_MAX);
}

static void
p_services(struct req *rq, bool at_locations)
{
        struct dir_query *q = &rq->q;
        long len;

        p_paging(rq);
        q->search = param(rq, "search");
        if (q->search != NULL) {
                len = utf8_len(q->search);
                if (len > DIR_SEARCH_MAX)
                        bad(rq, "search", "longer than 200 characters");
                if (strspn(q->search, " \t") == strlen(q->search))
                        q->search = NULL;
        }
        q->taxonomy_term_id = p_uuid(rq, "taxonomy_term_id", "taxonomy_terms");
        q->taxonomy_id = p_uuid(rq, "taxonomy_id", "taxonomies");
        q->organization_id = p_uuid(rq, "organization_id", NULL);
        q->minimum_age = p_number(rq, "minimum_age", 0, 150);
        q->maximum_age = p_number(rq, "maximum_age", 0, 150);
        q->age = p_number(rq, "age", 0, 150);
        q->modified_after = p_timestamp(rq, "modified_after");
        q->day = p_day(rq);
        q->start_time = p_time(rq, "start_time");
        q->end_time = p_time(rq, "end_time");
        (void)at_locations;
        p_point(rq);
}

static void
answer_json(struct dir_answer *out, int status, json_t *j)
{
        out->status = status;
        out->body = dir_render_dump(j);
        json_decref(j);
}

/* answer_error: the shape lib/http uses, {"error": {code, message,
 * field}}, so every daemon's errors look alike. */
static void
answer_error(struct dir_answer *out, const struct err *e)
{
        int status = e->kind == ERR_INVALID     ? 400
                     : e->kind == ERR_NOT_FOUND ? 404
                     : e->kind == ERR_TRANSIENT ? 503
                                                : 500;
        json_t *err =
            json_pack("{ss ss}", "code",
                      status == 400   ? "invalid_parameter"
                      : status == 404 ? "not_found"
                      : status == 503 ? "unavailable"
                                      : "internal",
                      "message",
                      status >= 500                          ? "try again later"
                      : e->field[0] == '\0' && status == 400 ? "invalid request"
                                                             : e->msg);

        if (e->field[0] != '\0')
                json_object_set_new(err, "field", json_string(e->field));
        answer_json(out, status, json_pack("{so}", "error", err));
}

/* sal_contents: list items of service_at_locations: the location's and
 * the service's one-to-one fields. */
static json_t *
sal_contents(struct req *rq, const char *ids)
{
        PGresult *r = dir_store_sal(rq->db, ids, &rq->e);
        json_t *contents = NULL, *svcs = NULL, *map = NULL, *sids, *o;
        char *sarr = NULL;
        int k;

        if (r == NULL)
                return NULL;
        contents = json_array();
        sids = json_object();
        for (k = 0; k < PQntuples(r); k++) {
                o = dir_render_row(r, k);
                json_object_set_new(o, "service_id",
                                    json_string(PQgetvalue(r, k, 1)));
                json_object_set_new(o, "location_id",
                                    json_string(PQgetvalue(r, k, 2)));
                json_array_append_new(contents, o);
                json_object_set_new(sids, PQgetvalue(r, k, 1), json_true());
        }
        PQclear(r);
        {
                const char *key;
                json_t *v;
                size_t n = 0;
                char(*list)[UUID_STR_LEN] =
                    calloc(json_object_size(sids) + 1, UUID_STR_LEN);
                if (list != NULL) {
                        json_object_foreach(sids, key, v)
                            snprintf(list[n++], UUID_STR_LEN, "%s", key);
                        sarr = dir_ids_array(list, (int)n);
                        free(list);
                }
        }
        json_decref(sids);
        r = sarr ? dir_store_services(rq->db, sarr, &rq->e) : NULL;
        free(sarr);
        if (r == NULL) {
                json_decref(contents);
                return NULL;
        }
        map = json_object();
        for (k = 0; k < PQntuples(r); k++)
                json_object_set_new(map, PQgetvalue(r, k, 0),
                                    dir_render_row(r, k));
        PQclear(r);
        json_array_foreach(contents, k, o) json_object_set(
            o, "service",
            json_object_get(
                map, json_string_value(json_object_get(o, "service_id"))));
        json_decref(map);
        (void)svcs;
        return contents;
}

static json_t *
services_page(struct req *rq, bool at_locations)
{
        struct dir_page pg = {0};
        json_t *contents = NULL, *el;
        char *ids = NULL;
        size_t i;

        if (dir_store_services_page(rq->db, &rq->q, at_locations, &pg, &rq->e) <
            0)
                goto out;
        ids = dir_ids_array(pg.ids, pg.n);
        if (ids == NULL)
                goto out;
        if (!at_locations) {
                contents = dir_render_services_full(rq->db, ids, false, &rq->e);
                json_array_foreach(contents, i, el)
                {
                        json_object_del(el, "schedules");
                        json_object_del(el, "service_areas");
                        json_object_del(el, "languages");
                        json_object_del(el, "funding");
                        json_object_del(el, "cost_options");
                        json_object_del(el, "contacts");
                        json_object_del(el, "attributes");
                }
        } else {
                contents = sal_contents(rq, ids);
        }
        if (contents == NULL)
                goto out;
        for (i = 0; rq->q.has_point && i < json_array_size(contents); i++)
                if (pg.distance[i] >= 0 &&
                    strcmp(json_string_value(json_object_get(
                               json_array_get(contents, i), "id")),
                           pg.ids[i]) == 0)
                        json_object_set_new(
                            json_array_get(contents, i), "distance",
                            json_integer((json_int_t)(pg.distance[i] + 0.5)));
        contents = dir_render_page(&rq->q, pg.total, contents);
out:
        free(ids);
        dir_page_fini(&pg);
        return contents;
}

/* simple_page: a page from a result whose column _total holds the count
 * and whose rows with NULL id (an empty page) are skipped. */
static json_t *
simple_page(struct req *rq, PGresult *r)
{
        json_t *contents;
        long total;
        int i, idcol;

        if (r == NULL)
                return NULL;
        total = PQntuples(r) > 0 ? atol(PQgetvalue(r, 0, 0)) : 0;
        idcol = PQfnumber(r, "id");
        contents = json_array();
        for (i = 0; i < PQntuples(r); i++)
                if (!PQgetisnull(r, i, idcol))
                        json_array_append_new(contents, dir_render_row(r, i));
        PQclear(r);
        return dir_render_page(&rq->q, total, contents);
}

static json_t *
one_row(PGresult *r)
{
        json_t *j = NULL;

        if (r != NULL && PQntuples(r) == 1)
                j = dir_render_row(r, 0);
        PQclear(r);
        return j;
}

/* nearest: candidates ranked covered first, then by distance, each with
 * the reason so a person can review and override the choice. */
static json_t *
nearest(struct req *rq)
{
        const char *list = param(rq, "service_id");
        char ids[64 * UUID_STR_LEN + 3], outward[8], reason[160];
        struct dir_nearest *res = NULL;
        json_t *arr, *out = NULL;
        int n = 0, i, pass;

        p_point(rq);
        if (rq->e.kind != ERR_NONE)
                return NULL;
        if (!rq->q.has_point)
                return bad(rq, "postcode", "postcode or lat and lng needed"),
                       NULL;
        if (list == NULL || strlen(list) > 50 * UUID_STR_LEN)
                return bad(rq, "service_id", "1 to 50 comma-separated ids"),
                       NULL;
        for (const char *p = list; *p;) {
                size_t len = strcspn(p, ",");
                char one[UUID_STR_LEN];
                snprintf(one, sizeof(one), "%.*s", (int)len, p);
                if (len != UUID_STR_LEN - 1 || !uuid_valid(one))
                        return bad(rq, "service_id", "not a UUID"), NULL;
                p += len + (p[len] == ',');
        }
        snprintf(ids, sizeof(ids), "{%s}", list);
        snprintf(outward, sizeof(outward), "%.*s",
                 (int)(strlen(rq->postcode) > 3 ? strlen(rq->postcode) - 3 : 0),
                 rq->postcode);
        if (dir_store_nearest(rq->db, ids, rq->q.lat, rq->q.lng,
                              outward[0] ? outward : NULL, &res, &n,
                              &rq->e) < 0)
                return NULL;
        arr = json_array();
        for (pass = 0; pass < 3; pass++) {
                /* covered, unknown, not covered; each by distance */
                int want = pass == 0 ? 1 : pass == 1 ? -1 : 0;
                for (;;) {
                        int best = -1;
                        for (i = 0; i < n; i++)
                                if (res[i].covered == want &&
                                    res[i].service_id[0] != '\0' &&
                                    (best < 0 ||
                                     (res[i].distance >= 0 &&
                                      (res[best].distance < 0 ||
                                       res[i].distance < res[best].distance))))
                                        best = i;
                        if (best < 0)
                                break;
                        struct dir_nearest *d = &res[best];
                        snprintf(reason, sizeof(reason),
                                 "%s%.1f km to the nearest location; %s",
                                 d->distance < 0 ? "no location on record, "
                                                 : "",
                                 d->distance < 0 ? 0 : d->distance / 1000,
                                 want == 1    ? "service area covers postcode"
                                 : want == -1 ? "service area not stated"
                                              : "service area does not "
                                                "cover postcode");
                        json_t *o = json_pack(
                            "{ss ss si}", "service_id", d->service_id, "reason",
                            reason, "rank", (int)json_array_size(arr) + 1);
                        if (d->location_id[0] != '\0')
                                json_object_set_new(
                                    o, "location_id",
                                    json_string(d->location_id));
                        if (d->distance >= 0)
                                json_object_set_new(
                                    o, "distance",
                                    json_integer(
                                        (json_int_t)(d->distance + 0.5)));
                        if (want >= 0)
                                json_object_set_new(o, "covered",
                                                    json_boolean(want == 1));
                        json_array_append_new(arr, o);
                        d->service_id[0] = '\0';
                }
        }
        out = json_pack("{so ss ss}", "results", arr, "decision",
                        "automated suggestion: a person may review and "
                        "override it",
                        "basis", "service area coverage, then distance");
        free(res);
        return out;
}

/* by_id: GET /<kind>/{id}. */
static json_t *
by_id(struct req *rq, const char *kind, const char *id)
{
        char ids[UUID_STR_LEN + 2];
        json_t *arr, *j = NULL;

        if (!uuid_valid(id))
                return bad(rq, "id", "not a UUID"), NULL;
        if (strcmp(kind, "services") == 0) {
                snprintf(ids, sizeof(ids), "{%s}", id);
                arr = dir_render_services_full(rq->db, ids, true, &rq->e);
                if (json_array_size(arr) == 1)
                        j = json_incref(json_array_get(arr, 0));
                json_decref(arr);
        } else if (strcmp(kind, "service_at_locations") == 0) {
                j = dir_render_sal_full(rq->db, id, &rq->e);
        } else if (strcmp(kind, "organizations") == 0) {
                j = dir_render_organization_full(rq->db, id, &rq->e);
        } else if (strcmp(kind, "taxonomies") == 0) {
                j = dir_render_taxonomy_full(rq->db, id, &rq->e);
        } else if (strcmp(kind, "taxonomy_terms") == 0) {
                j = one_row(dir_store_term(rq->db, id, &rq->e));
        } else if (strcmp(kind, "update_requests") == 0) {
                j = one_row(
                    dir_store_update_requests(rq->db, NULL, id, &rq->e));
        }
        if (j == NULL && rq->e.kind == ERR_NONE)
                err_set(&rq->e, ERR_NOT_FOUND, NULL, "no such %s", kind);
        return j;
}

static json_t *
list(struct req *rq, const char *kind)
{
        if (strcmp(kind, "services") == 0 ||
            strcmp(kind, "service_at_locations") == 0) {
                p_services(rq, kind[7] == '_');
                return rq->e.kind ? NULL : services_page(rq, kind[7] == '_');
        }
        if (strcmp(kind, "nearest") == 0)
                return nearest(rq);
        p_paging(rq);
        if (strcmp(kind, "organizations") == 0)
                return rq->e.kind
                           ? NULL
                           : simple_page(rq, dir_store_organizations_page(
                                                 rq->db, &rq->q, &rq->e));
        if (strcmp(kind, "taxonomies") == 0)
                return rq->e.kind
                           ? NULL
                           : simple_page(rq, dir_store_taxonomies_page(
                                                 rq->db, &rq->q, &rq->e));
        if (strcmp(kind, "taxonomy_terms") == 0) {
                const char *top = param(rq, "top_only");
                rq->q.taxonomy_id = p_uuid(rq, "taxonomy_id", "taxonomies");
                rq->q.parent_id = p_uuid(rq, "parent_id", NULL);
                if (top != NULL && strcmp(top, "true") != 0 &&
                    strcmp(top, "false") != 0)
                        bad(rq, "top_only", "expected true or false");
                rq->q.top_only = top != NULL && strcmp(top, "true") == 0;
                return rq->e.kind
                           ? NULL
                           : simple_page(rq, dir_store_terms_page(
                                                 rq->db, &rq->q, &rq->e));
        }
        if (strcmp(kind, "update_requests") == 0) {
                PGresult *r = dir_store_update_requests(
                    rq->db, param(rq, "status"), NULL, &rq->e);
                json_t *arr = json_array();
                for (int i = 0; r != NULL && i < PQntuples(r); i++)
                        json_array_append_new(arr, dir_render_row(r, i));
                PQclear(r);
                return json_pack("{so}", "contents", arr);
        }
        err_set(&rq->e, ERR_NOT_FOUND, NULL, "no such resource");
        return NULL;
}

void
dir_oruk_get(struct db *db, const char *path, dir_param_fn get, void *arg,
             struct dir_answer *out)
{
        struct req rq = {.get = get, .arg = arg, .db = db};
        char kind[32] = "";
        const char *rest;
        json_t *j = NULL;
        size_t len;

        err_clear(&rq.e);
        if (strcmp(path, "/") == 0 || path[0] == '\0') {
                answer_json(out, 200,
                            json_pack("{ss ss ss}", "version", "3.0", "profile",
                                      ORUK_PROFILE, "openapi_url",
                                      ORUK_OPENAPI));
                return;
        }
        path += path[0] == '/';
        len = strcspn(path, "/");
        if (len >= sizeof(kind)) {
                err_set(&rq.e, ERR_NOT_FOUND, NULL, "no such resource");
                answer_error(out, &rq.e);
                return;
        }
        memcpy(kind, path, len);
        kind[len] = '\0';
        rest = path + len;
        if (rest[0] == '/' && rest[1] != '\0' && strchr(rest + 1, '/') == NULL)
                j = by_id(&rq, kind, rest + 1);
        else if (rest[0] == '\0' || strcmp(rest, "/") == 0)
                j = list(&rq, kind);
        else
                err_set(&rq.e, ERR_NOT_FOUND, NULL, "no such resource");
        if (j != NULL && rq.e.kind == ERR_NONE) {
                answer_json(out, 200, j);
                return;
        }
        json_decref(j);
        if (rq.e.kind == ERR_NONE)
                err_set(&rq.e, ERR_FATAL, NULL, "no answer");
        answer_error(out, &rq.e);
}
