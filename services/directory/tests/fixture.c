/*
 * fixture: what the directory's database tests share. One throwaway
 * database per test program, migrated (fixture_db) and, for the store
 * tests, holding the Open Referral UK examples and three postcodes; commands
 * applied as the consumer applies them and answers read as the HTTP routes read
 * them (dir_oruk_get). Owns no test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"
#include "testdb.h"
#include "testenv.h"

#define EXAMPLES "standards/oruk-uk-profile/examples/"

struct db *db;
static char conninfo[1024];

json_t *
example(const char *name)
{
        char path[256];
        json_t *j;

        snprintf(path, sizeof(path), "%s%s", EXAMPLES, name);
        j = json_load_file(path, 0, NULL);
        assert_non_null(j);
        return j;
}

/* cmd: applies one command in its own transaction; returns the err kind. */
enum err_kind
cmd(const char *verb, json_t *data)
{
        struct kafka_record rec = {0};
        struct err e = {0};
        char *text = json_dumps(data, JSON_COMPACT);
        int rc;

        snprintf(rec.ev.type, sizeof(rec.ev.type), "signpost.directory.%s.v1",
                 verb);
        uuid_v7(rec.ev.id);
        rec.value = text;
        rec.value_len = strlen(text);
        assert_int_equal(db_begin(db, &e), 0);
        rc = dir_commands_apply(NULL, db, &rec, &e);
        if (rc == 0)
                assert_int_equal(db_commit(db, &e), 0);
        else
                db_rollback(db);
        free(text);
        json_decref(data);
        return rc == 0 ? ERR_NONE : e.kind;
}

static void
import(const char *kind, json_t *rec)
{
        assert_int_equal(cmd("hsds_import", json_pack("{ss s[o]}", "kind", kind,
                                                      "records", rec)),
                         ERR_NONE);
}

/* query string "a=b&c=d" as a parameter getter (no %-decoding needed). */
static const char *
qs_get(void *arg, const char *name)
{
        static char vals[8][512];
        static int next;
        char *val = vals[next++ % 8];
        const char *p = arg;
        size_t n = strlen(name);

        while (p != NULL && *p) {
                if (strncmp(p, name, n) == 0 && p[n] == '=') {
                        size_t len = strcspn(p + n + 1, "&");
                        snprintf(val, 512, "%.*s", (int)len, p + n + 1);
                        return val;
                }
                p = strchr(p, '&');
                p = p ? p + 1 : NULL;
        }
        return NULL;
}

json_t *
get(const char *path, const char *qs, int want_status)
{
        struct dir_answer a = {0};
        json_t *j;

        dir_oruk_get(db, path, qs_get, (void *)qs, &a);
        assert_non_null(a.body);
        if (a.status != want_status)
                fprintf(stderr, "%s?%s -> %d %s\n", path, qs ? qs : "",
                        a.status, a.body);
        assert_int_equal(a.status, want_status);
        j = json_loads(a.body, 0, NULL);
        free(a.body);
        assert_non_null(j);
        return j;
}

static const char *
field_of_error(json_t *j)
{
        return json_string_value(
            json_object_get(json_object_get(j, "error"), "field"));
}

void
expect_400(const char *path, const char *qs, const char *field)
{
        json_t *j = get(path, qs, 400);

        assert_string_equal(field_of_error(j), field);
        json_decref(j);
}

/* names: the service names of a page, "|"-joined. */
void
names(json_t *page, char *out, size_t outsz)
{
        json_t *el;
        size_t i;

        out[0] = '\0';
        json_array_foreach(json_object_get(page, "contents"), i, el)
        {
                json_t *s = json_object_get(el, "service");
                const char *n =
                    json_string_value(json_object_get(s ? s : el, "name"));
                size_t len = strlen(out);
                snprintf(out + len, outsz - len, "%s%s", i ? "|" : "", n);
        }
}

/* services_page: the names on the /services page for qs, "|"-joined;
 * returns its total_items. */
long
services_page(const char *qs, char *out, size_t outsz)
{
        json_t *j = get("/services", qs, 200);
        long total = json_integer_value(json_object_get(j, "total_items"));

        names(j, out, outsz);
        json_decref(j);
        return total;
}

long
count(const char *sql)
{
        return testdb_count(db, sql, NULL);
}

/* svc: a service command body with one location at lat/lng. */
json_t *
svc(const char *id, const char *name, const char *desc, const char *status,
    double lat, double lng)
{
        char lid[UUID_STR_LEN], sid[UUID_STR_LEN];

        uuid_v4(lid);
        uuid_v4(sid);
        return json_pack("{ss ss ss ss ss sb s[{ss s{ss ss sf sf}}]}", "id", id,
                         "organization_id", ORG_ID, "name", name, "description",
                         desc, "status", status, "accepts_referrals", 1,
                         "service_at_locations", "id", sid, "location", "id",
                         lid, "location_type", "physical", "latitude", lat,
                         "longitude", lng);
}

struct db *
fixture_db(const char *dbname, char *out, size_t outsz)
{
        char admin[512];
        struct err e = {0};
        struct db *su, *d;

        if (testenv_db(dbname, admin, sizeof(admin)) < 0)
                return NULL;
        su = db_open(admin);
        if (db_exec(su, "CREATE EXTENSION IF NOT EXISTS pg_trgm", 0, NULL, NULL,
                    &e) < 0 ||
            db_exec(su, "CREATE EXTENSION IF NOT EXISTS cube", 0, NULL, NULL,
                    &e) < 0 ||
            db_exec(su, "CREATE EXTENSION IF NOT EXISTS earthdistance", 0, NULL,
                    NULL, &e) < 0 ||
            db_exec(su, "CREATE SCHEMA directory", 0, NULL, NULL, &e) < 0) {
                fprintf(stderr, "setup: %s\n", e.msg);
                return NULL;
        }
        db_free(su);
        snprintf(out, outsz, "%s options='-c search_path=directory'", admin);
        d = db_open(out);
        if (db_migrate(d, DIR_SCHEMA, "services/directory/migrations", &e) <
            0) {
                fprintf(stderr, "migrate: %s\n", e.msg);
                return NULL;
        }
        /* the role's own search_path, not the one db_migrate left */
        db_exec(d, "SET search_path = directory", 0, NULL, NULL, &e);
        return d;
}

int
fixture_setup(const char *dbname)
{
        db = fixture_db(dbname, conninfo, sizeof(conninfo));
        if (db == NULL)
                return -1;
        import("taxonomy", example("taxonomy.json"));
        import("organization", example("organization_full.json"));
        import("service", example("service_full.json"));
        import("service_at_location", example("service_at_location_full.json"));
        return cmd("postcodes_import",
                   json_pack("{ss}", "csv",
                             "pcd,lat,long\nME14 1XX,51.2790,0.5250\n"
                             "\"CT1 2AA\",51.2802,1.0789\n"
                             "SW1A 1AA,51.5010,-0.1416\n")) == ERR_NONE
                   ? 0
                   : -1;
}

int
fixture_teardown(void **state)
{
        (void)state;
        db_free(db);
        return 0;
}
