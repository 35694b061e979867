/*
 * test_routes: the directory's HTTP face as the gateway and partners see
 * it: the route table served by lib/http on a loopback port, answers read
 * with a real HTTP client. Bad parameters are 400s naming the parameter,
 * no principal is a 401, an unknown id a 404, and every ORUK answer
 * carries Access-Control-Allow-Origin: *.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../directory.h"
#include "http.h"
#include "testenv.h"
#include "testhttp.h"

#define SVC_ID "77777777-7777-4777-8777-777777777777"
#define ORG_ID "88888888-8888-4888-8888-888888888888"

static unsigned char key[HTTP_PRINCIPAL_KEY_BYTES];
static struct dir_pools pools;
static struct http_server *srv;
static char base[64];
static char principal[1024]; /* "X-Signpost-Principal: ..." */

static int
apply(struct db *db, const char *type, const char *json)
{
        struct kafka_record rec = {0};
        struct err e = {0};
        int rc;

        snprintf(rec.ev.type, sizeof(rec.ev.type), "%s", type);
        uuid_v7(rec.ev.id);
        rec.value = json;
        rec.value_len = strlen(json);
        if (db_begin(db, &e) < 0)
                return -1;
        rc = dir_commands_apply(NULL, db, &rec, &e);
        if (rc == 0 && db_commit(db, &e) == 0)
                return 0;
        fprintf(stderr, "apply %s: %s\n", type, e.msg);
        db_rollback(db);
        return -1;
}

static int
load(const char *conninfo)
{
        struct db *db = db_open(conninfo);
        struct err e = {0};
        int rc = -1;

        if (db_migrate(db, DIR_SCHEMA, "services/directory/migrations", &e) <
                0 ||
            db_exec(db, "SET search_path = directory", 0, NULL, NULL, &e) < 0)
                goto out;
        rc = apply(db, "signpost.directory.organization_create.v1",
                   "{\"id\":\"" ORG_ID "\",\"name\":\"Riverside Trust\"}");
        if (rc == 0)
                rc = apply(db, "signpost.directory.service_create.v1",
                           "{\"id\":\"" SVC_ID "\",\"organization_id\":"
                           "\"" ORG_ID "\",\"name\":\"Repair cafe\","
                           "\"status\":\"active\"}");
out:
        if (e.msg[0] != '\0')
                fprintf(stderr, "load: %s\n", e.msg);
        db_free(db);
        return rc;
}

static int
setup(void **state)
{
        struct http_principal p = {.role = HTTP_ROLE_PUBLIC};
        char admin[512], conninfo[1024], *v = NULL;
        struct err e = {0};
        struct db *su;

        (void)state;
        if (testenv_db("dir_test_routes", admin, sizeof(admin)) < 0)
                return -1;
        su = db_open(admin);
        if (db_exec(su, "CREATE EXTENSION IF NOT EXISTS pg_trgm", 0, NULL, NULL,
                    &e) < 0 ||
            db_exec(su, "CREATE EXTENSION IF NOT EXISTS earthdistance CASCADE",
                    0, NULL, NULL, &e) < 0 ||
            db_exec(su, "CREATE SCHEMA directory", 0, NULL, NULL, &e) < 0) {
                fprintf(stderr, "setup: %s\n", e.msg);
                return -1;
        }
        db_free(su);
        snprintf(conninfo, sizeof(conninfo),
                 "%s options='-c search_path=directory'", admin);
        if (load(conninfo) < 0 ||
            db_pool_init(&pools.reads, conninfo, 2, &e) < 0 ||
            db_pool_init(&pools.searches, conninfo, 1, &e) < 0)
                return -1;
        memset(key, 7, sizeof(key));
        struct http_opts o = {.principal_key = key, .threads = 2};
        srv = http_server_start("127.0.0.1:0", dir_routes(), &pools, &o, &e);
        if (srv == NULL)
                return -1;
        snprintf(base, sizeof(base), "http://127.0.0.1:%u",
                 (unsigned)http_server_port(srv));
        snprintf(p.sub, sizeof(p.sub), "test");
        p.exp = (int64_t)time(NULL) + 600;
        if (http_principal_sign(key, &p, &v) < 0)
                return -1;
        snprintf(principal, sizeof(principal), "%s: %s", HTTP_PRINCIPAL_HEADER,
                 v);
        free(v);
        return 0;
}

static int
teardown(void **state)
{
        (void)state;
        http_server_stop(srv);
        db_pool_fini(&pools.searches);
        db_pool_fini(&pools.reads);
        return 0;
}

/* get: GET path with the principal; the reply is static. */
static struct testhttp_reply *
get(const char *path)
{
        static struct testhttp_reply r;
        const char *hdrs[] = {principal, NULL};

        testhttp_request(base, "GET", path, hdrs, NULL, 0, &r);
        return &r;
}

/* error_field: the "field" of a JSON error reply, in out. */
static const char *
error_field(const struct testhttp_reply *r, char *out, size_t outsz)
{
        json_t *j = json_loadb(r->body, r->len, 0, NULL);
        const char *f = json_string_value(
            json_object_get(json_object_get(j, "error"), "field"));

        snprintf(out, outsz, "%s", f ? f : "");
        json_decref(j);
        return out;
}

static void
expect_400(const char *path, const char *field)
{
        struct testhttp_reply *r = get(path);
        char f[64];

        if (r->status != 400)
                fprintf(stderr, "%s -> %ld %.*s\n", path, r->status,
                        (int)r->len, r->body);
        assert_int_equal(r->status, 400);
        assert_string_equal(error_field(r, f, sizeof(f)), field);
}

static void
test_service_by_id_answers_with_cors(void **state)
{
        struct testhttp_reply *r = get("/services/" SVC_ID);
        char v[16];

        (void)state;
        assert_int_equal(r->status, 200);
        assert_non_null(strstr(r->body, "Repair cafe"));
        assert_non_null(
            testhttp_header(r, "Access-Control-Allow-Origin", v, sizeof(v)));
        assert_string_equal(v, "*");
}

static void
test_bad_parameters_are_400_naming_them(void **state)
{
        (void)state;
        expect_400("/services?per_page=101", "per_page");
        expect_400("/services?taxonomy_term_id=not-a-uuid", "taxonomy_term_id");
        expect_400("/services?taxonomy_id=" SVC_ID, "taxonomy_id");
        expect_400("/service_at_locations?postcode=NOTAPOSTCODE", "postcode");
        expect_400("/services?search=%FF%FE", "search");
        expect_400("/services?day=XX", "day");
}

static void
test_long_search_is_400(void **state)
{
        char path[512] = "/services?search=";

        (void)state;
        memset(path + strlen(path), 'a', 201);
        expect_400(path, "search");
}

static void
test_no_principal_is_401(void **state)
{
        struct testhttp_reply r;

        (void)state;
        assert_int_equal(
            testhttp_request(base, "GET", "/services", NULL, NULL, 0, &r), 401);
}

static void
test_unknown_id_is_404(void **state)
{
        (void)state;
        assert_int_equal(
            get("/services/99999999-9999-4999-8999-999999999999")->status, 404);
        assert_int_equal(
            get("/organizations/99999999-9999-4999-8999-999999999999")->status,
            404);
}

static void
test_update_requests_are_for_admins(void **state)
{
        (void)state;
        assert_int_equal(get("/update_requests")->status, 403);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_service_by_id_answers_with_cors),
            cmocka_unit_test(test_bad_parameters_are_400_naming_them),
            cmocka_unit_test(test_long_search_is_400),
            cmocka_unit_test(test_no_principal_is_401),
            cmocka_unit_test(test_unknown_id_is_404),
            cmocka_unit_test(test_update_requests_are_for_admins),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
