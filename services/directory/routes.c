/*
 * routes: the daemon's HTTP face. Every ORUK route needs the gateway's
 * signed principal (any role); update requests are for admins. A handler
 * borrows a database connection (a search from the searches' pool, see
 * struct dir_pools), lets oruk.c answer, and adds
 * Access-Control-Allow-Origin: * (the directory is public data).
 * Does not parse parameters or build JSON.
 */
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "http.h"

static const char *
query(void *req, const char *name)
{
        return http_req_query(req, name);
}

static void
answer_from(struct db_pool *pool, struct http_req *req, struct http_resp *resp)
{
        struct dir_answer a = {0};
        struct db *db = db_pool_get(pool);

        dir_oruk_get(db, req->path, query, req, &a);
        db_pool_put(pool, db);
        if (a.body == NULL) {
                http_resp_error(resp, 500, "internal", NULL, "out of memory");
                return;
        }
        http_resp_take(resp, a.status, "application/json", a.body,
                       strlen(a.body));
        http_resp_header(resp, "Access-Control-Allow-Origin", "*");
}

static void
answer(struct http_req *req, struct http_resp *resp)
{
        answer_from(&((struct dir_pools *)req->arg)->reads, req, resp);
}

static void
search(struct http_req *req, struct http_resp *resp)
{
        answer_from(&((struct dir_pools *)req->arg)->searches, req, resp);
}

static void
admin_only(struct http_req *req, struct http_resp *resp)
{
        if (req->principal == NULL || req->principal->role != HTTP_ROLE_ADMIN) {
                http_resp_error(resp, 403, "forbidden", NULL,
                                "update requests are for administrators");
                return;
        }
        answer(req, resp);
}

static const struct http_route routes[] = {
    {"GET", "/", answer, 0},
    {"GET", "/services", search, 0},
    {"GET", "/services/{id}", answer, 0},
    {"GET", "/service_at_locations", search, 0},
    {"GET", "/service_at_locations/{id}", answer, 0},
    {"GET", "/organizations", answer, 0},
    {"GET", "/organizations/{id}", answer, 0},
    {"GET", "/taxonomies", answer, 0},
    {"GET", "/taxonomies/{id}", answer, 0},
    {"GET", "/taxonomy_terms", answer, 0},
    {"GET", "/taxonomy_terms/{id}", answer, 0},
    {"GET", "/nearest", search, 0},
    {"GET", "/update_requests", admin_only, 0},
    {"GET", "/update_requests/{id}", admin_only, 0},
    {NULL, NULL, NULL, 0},
};

const struct http_route *
dir_routes(void)
{
        return routes;
}
