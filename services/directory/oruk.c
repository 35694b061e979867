/*
 * oruk: the Open Referral UK 3.0 read API's answers. Has oruk_params.c
 * check the query parameters (a bad one is a 400 naming it), asks store.c
 * for the page and render.c for the JSON, and answers status + body.
 * Knows nothing of the HTTP library: routes.c hands it a path and a
 * parameter getter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "directory.h"
#include "http.h"

#define ORUK_PROFILE "https://github.com/openreferral/uk-profile"
#define ORUK_OPENAPI                                                           \
        "https://raw.githubusercontent.com/openreferral/uk-profile/main/"      \
        "schema/openapi.json"

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
        int status = http_status_of(e->kind);
        json_t *err = json_pack(
            "{ss ss}", "code",
            status == 400 ? "invalid_parameter" : http_code_of(e->kind),
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
sal_contents(struct dir_req *rq, const char *ids)
{
        PGresult *r = dir_store_sal(rq->db, ids, &rq->e);
        json_t *contents = NULL, *svcs = NULL, *map = NULL, *sids, *o;
        char *sarr = NULL;
        int k, scol, lcol;

        if (r == NULL)
                return NULL;
        scol = PQfnumber(r, "_service");
        lcol = PQfnumber(r, "_location");
        contents = json_array();
        sids = json_object();
        for (k = 0; k < PQntuples(r); k++) {
                o = dir_render_row(r, k);
                json_object_set_new(o, "service_id",
                                    json_string(PQgetvalue(r, k, scol)));
                json_object_set_new(o, "location_id",
                                    json_string(PQgetvalue(r, k, lcol)));
                json_array_append_new(contents, o);
                json_object_set_new(sids, PQgetvalue(r, k, scol), json_true());
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
        scol = PQfnumber(r, "id");
        for (k = 0; k < PQntuples(r); k++)
                json_object_set_new(map, PQgetvalue(r, k, scol),
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

/* page_text: the page envelope around the stored list documents of pg,
 * each with its distance when a point was given; new string. The same
 * JSON dir_render_page() gives for the rendered services. */
static char *
page_text(const struct dir_query *q, const struct dir_page *pg)
{
        long pages = (pg->total + q->per_page - 1) / q->per_page;
        size_t cap = 256, len;
        char *s;
        int i;

        for (i = 0; i < pg->n; i++)
                cap += strlen(pg->briefs[i]) + 48;
        if ((s = malloc(cap)) == NULL)
                return NULL;
        len = (size_t)snprintf(
            s, cap,
            "{\"total_items\":%ld,\"total_pages\":%ld,\"page_number\":%d,"
            "\"size\":%d,\"first_page\":%s,\"last_page\":%s,\"empty\":%s,"
            "\"contents\":[",
            pg->total, pages, q->page, pg->n, q->page == 1 ? "true" : "false",
            (long)q->page >= pages ? "true" : "false",
            pg->n == 0 ? "true" : "false");
        for (i = 0; i < pg->n; i++) {
                len += (size_t)snprintf(s + len, cap - len, "%s%s",
                                        i ? "," : "", pg->briefs[i]);
                if (q->has_point && pg->distance[i] >= 0)
                        len += (size_t)snprintf(
                                   s + len - 1, cap - len + 1,
                                   ",\"distance\":%lld}",
                                   (long long)(pg->distance[i] + 0.5)) -
                               1;
        }
        snprintf(s + len, cap - len, "]}");
        return s;
}

static json_t *
services_page(struct dir_req *rq, bool at_locations)
{
        struct dir_page pg = {0};
        json_t *contents = NULL;
        char *ids = NULL;
        size_t i;

        if (dir_store_services_page(rq->db, &rq->q, at_locations, &pg, &rq->e) <
            0)
                goto out;
        if (!at_locations && pg.briefs_all) {
                rq->body = page_text(&rq->q, &pg);
                if (rq->body == NULL)
                        err_set(&rq->e, ERR_FATAL, NULL, "out of memory");
                goto out;
        }
        ids = dir_ids_array(pg.ids, pg.n);
        if (ids == NULL)
                goto out;
        contents = at_locations
                       ? sal_contents(rq, ids)
                       : dir_render_services_brief(rq->db, ids, &rq->e);
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
simple_page(struct dir_req *rq, PGresult *r)
{
        json_t *contents;
        long total;
        int i, idcol;

        if (r == NULL)
                return NULL;
        total = PQntuples(r) > 0
                    ? atol(PQgetvalue(r, 0, PQfnumber(r, "_total")))
                    : 0;
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
nearest(struct dir_req *rq)
{
        const char *list = dir_param(rq, "service_id");
        char ids[64 * UUID_STR_LEN + 3], outward[8], reason[160];
        struct dir_nearest *res = NULL;
        json_t *arr, *out = NULL;
        int n = 0, i, pass;

        dir_param_point(rq);
        if (rq->e.kind != ERR_NONE)
                return NULL;
        if (!rq->q.has_point)
                return dir_param_bad(rq, "postcode",
                                     "postcode or lat and lng needed"),
                       NULL;
        if (list == NULL || strlen(list) > 50 * UUID_STR_LEN)
                return dir_param_bad(rq, "service_id",
                                     "1 to 50 comma-separated ids"),
                       NULL;
        for (const char *p = list; *p;) {
                size_t len = strcspn(p, ",");
                char one[UUID_STR_LEN];
                snprintf(one, sizeof(one), "%.*s", (int)len, p);
                if (len != UUID_STR_LEN - 1 || !uuid_valid(one))
                        return dir_param_bad(rq, "service_id", "not a UUID"),
                               NULL;
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
by_id(struct dir_req *rq, const char *kind, const char *id)
{
        char ids[UUID_STR_LEN + 2];
        json_t *arr, *j = NULL;

        if (!uuid_valid(id))
                return dir_param_bad(rq, "id", "not a UUID"), NULL;
        if (strcmp(kind, "services") == 0) {
                /* the stored record when there is one */
                if (dir_docs_get(rq->db, id, &rq->body, &rq->e) < 0 ||
                    rq->body != NULL)
                        return NULL;
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
list(struct dir_req *rq, const char *kind)
{
        if (strcmp(kind, "services") == 0 ||
            strcmp(kind, "service_at_locations") == 0) {
                dir_param_services(rq, kind[7] == '_');
                return rq->e.kind ? NULL : services_page(rq, kind[7] == '_');
        }
        if (strcmp(kind, "nearest") == 0)
                return nearest(rq);
        dir_param_paging(rq);
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
                const char *top = dir_param(rq, "top_only");
                rq->q.taxonomy_id =
                    dir_param_uuid(rq, "taxonomy_id", "taxonomies");
                rq->q.parent_id = dir_param_uuid(rq, "parent_id", NULL);
                if (top != NULL && strcmp(top, "true") != 0 &&
                    strcmp(top, "false") != 0)
                        dir_param_bad(rq, "top_only", "expected true or false");
                rq->q.top_only = top != NULL && strcmp(top, "true") == 0;
                return rq->e.kind
                           ? NULL
                           : simple_page(rq, dir_store_terms_page(
                                                 rq->db, &rq->q, &rq->e));
        }
        if (strcmp(kind, "update_requests") == 0) {
                PGresult *r = dir_store_update_requests(
                    rq->db, dir_param(rq, "status"), NULL, &rq->e);
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
        struct dir_req rq = {.get = get, .arg = arg, .db = db};
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
        if (rq.body != NULL && rq.e.kind == ERR_NONE) {
                out->status = 200;
                out->body = rq.body;
                return;
        }
        free(rq.body);
        if (j != NULL && rq.e.kind == ERR_NONE) {
                answer_json(out, 200, j);
                return;
        }
        json_decref(j);
        if (rq.e.kind == ERR_NONE)
                err_set(&rq.e, ERR_FATAL, NULL, "no answer");
        answer_error(out, &rq.e);
}
