/*
 * test_store: the directory against a real PostgreSQL: commands applied
 * as the consumer applies them, answers read as the HTTP routes read them
 * (dir_oruk_get), and the outbox rows they leave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../directory.h"
#include "testenv.h"

#define EXAMPLES "../shared/standards/oruk-uk-profile/examples/"
#define SVC_ID "ac148810-d857-441c-9679-408f346de14b"
#define ORG_ID "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
#define TERM_ID "3f7b145d-84af-42d7-8fae-eaca714b02b2"
#define TAX_ID "5c4d79d7-cc55-470e-9f1f-8cad074e4892"
#define SAL_ID "e94c9f38-1e8f-4564-91d4-d53501ab1765"

static struct db *db;
static char conninfo[1024];

/* ---- helpers ---- */

static json_t *
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
static enum err_kind
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

static json_t *
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

static void
expect_400(const char *path, const char *qs, const char *field)
{
        json_t *j = get(path, qs, 400);

        assert_string_equal(field_of_error(j), field);
        json_decref(j);
}

/* names: the service names of a page, "|"-joined. */
static void
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
static long
services_page(const char *qs, char *out, size_t outsz)
{
        json_t *j = get("/services", qs, 200);
        long total = json_integer_value(json_object_get(j, "total_items"));

        names(j, out, outsz);
        json_decref(j);
        return total;
}

static long
count(const char *sql)
{
        struct err e = {0};
        PGresult *r = db_query(db, sql, 0, NULL, &e);
        long n;

        assert_non_null(r);
        n = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
        return n;
}

/* svc: a service command body with one location at lat/lng. */
static json_t *
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

/* ---- set-up ---- */

static int
setup(void **state)
{
        char admin[512];
        struct err e = {0};
        struct db *su;

        (void)state;
        if (testenv_db("dir_test_store", admin, sizeof(admin)) < 0)
                return -1;
        su = db_open(admin);
        if (db_exec(su, "CREATE EXTENSION IF NOT EXISTS pg_trgm", 0, NULL, NULL,
                    &e) < 0 ||
            db_exec(su, "CREATE EXTENSION IF NOT EXISTS cube", 0, NULL, NULL,
                    &e) < 0 ||
            db_exec(su, "CREATE EXTENSION IF NOT EXISTS earthdistance", 0, NULL,
                    NULL, &e) < 0 ||
            db_exec(su, "CREATE SCHEMA directory", 0, NULL, NULL, &e) < 0) {
                fprintf(stderr, "setup: %s\n", e.msg);
                return -1;
        }
        db_free(su);
        snprintf(conninfo, sizeof(conninfo),
                 "%s options='-c search_path=directory'", admin);
        db = db_open(conninfo);
        if (db_migrate(db, DIR_SCHEMA, "services/directory/migrations", &e) <
            0) {
                fprintf(stderr, "migrate: %s\n", e.msg);
                return -1;
        }
        /* the role's own search_path, not the one db_migrate left */
        db_exec(db, "SET search_path = directory", 0, NULL, NULL, &e);
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

static int
teardown(void **state)
{
        (void)state;
        db_free(db);
        return 0;
}

/* ---- tests ---- */

static void
test_example_service_reads_back_equal(void **state)
{
        json_t *want = example("service_full.json");
        json_t *got = get("/services/" SVC_ID, NULL, 200);

        (void)state;
        if (!json_equal(want, got))
                json_dump_file(got, "/tmp/dir_got.json", JSON_INDENT(1));
        assert_true(json_equal(want, got));
        json_decref(want);
        json_decref(got);
}

static void
test_example_organization_reads_back_equal(void **state)
{
        json_t *want = example("organization_full.json");
        json_t *got = get("/organizations/" ORG_ID, NULL, 200);

        (void)state;
        assert_true(json_equal(want, got));
        json_decref(want);
        json_decref(got);
}

static void
test_example_taxonomy_and_term_read_back_equal(void **state)
{
        json_t *want = example("taxonomy.json");
        json_t *got = get("/taxonomies/" TAX_ID, NULL, 200);
        json_t *term = get("/taxonomy_terms/" TERM_ID, NULL, 200);

        (void)state;
        assert_true(json_equal(want, got));
        /* standalone, the term also names its taxonomy */
        json_object_del(term, "taxonomy_id");
        assert_true(json_equal(
            json_array_get(json_object_get(want, "taxonomy_terms"), 0), term));
        json_decref(want);
        json_decref(got);
        json_decref(term);
}

static void
test_example_service_at_location_reads_back_equal(void **state)
{
        json_t *want = example("service_at_location_full.json");
        json_t *got = get("/service_at_locations/" SAL_ID, NULL, 200);

        (void)state;
        if (!json_equal(want, got))
                json_dump_file(got, "/tmp/dir_got.json", JSON_INDENT(1));
        assert_true(json_equal(want, got));
        json_decref(want);
        json_decref(got);
}

static void
test_page_envelope(void **state)
{
        json_t *j = get("/services", "per_page=1", 200);

        (void)state;
        assert_int_equal(json_integer_value(json_object_get(j, "page_number")),
                         1);
        assert_int_equal(json_integer_value(json_object_get(j, "size")), 1);
        assert_true(json_is_true(json_object_get(j, "first_page")));
        assert_false(json_is_true(json_object_get(j, "empty")));
        assert_true(json_integer_value(json_object_get(j, "total_items")) >= 1);
        json_decref(j);
        j = get("/services", "page=999", 200);
        assert_true(json_is_true(json_object_get(j, "empty")));
        assert_true(json_integer_value(json_object_get(j, "total_items")) >= 1);
        json_decref(j);
}

static void
test_bad_input_names_the_parameter(void **state)
{
        char longq[260];

        (void)state;
        memset(longq, 'a', sizeof(longq));
        memcpy(longq, "search=", 7);
        longq[sizeof(longq) - 1] = '\0';
        expect_400("/services", "per_page=101", "per_page");
        expect_400("/services", "taxonomy_term_id=nope", "taxonomy_term_id");
        expect_400("/services",
                   "taxonomy_id=00000000-0000-4000-8000-000000000000",
                   "taxonomy_id");
        expect_400("/service_at_locations", "postcode=XYZ&proximity=500",
                   "postcode");
        expect_400("/services", longq, "search");
        expect_400("/services", "search=caf\xc3(", "search");
        expect_400("/services/not-a-uuid", NULL, "id");
}

static void
test_sql_in_search_is_text(void **state)
{
        json_t *j = get("/services",
                        "search=x' OR 1=1; DROP TABLE services;--"
                        " \\ \"",
                        200);

        (void)state;
        assert_int_equal(json_integer_value(json_object_get(j, "total_items")),
                         0);
        json_decref(j);
        assert_int_equal(count("SELECT (count(*) > 0)::int FROM services"), 1);
}

static void
test_search_ranks_name_first_and_tolerates_typos(void **state)
{
        char got[512];
        json_t *j;

        (void)state;
        assert_int_equal(
            cmd("service_create", svc("11111111-1111-4111-8111-111111111111",
                                      "Debt advice clinic", "Money help.",
                                      "active", 51.28, 0.52)),
            ERR_NONE);
        assert_int_equal(
            cmd("service_create",
                svc("22222222-2222-4222-8222-222222222222", "Food bank",
                    "Also gives debt advice.", "active", 51.29, 0.53)),
            ERR_NONE);
        j = get("/services", "search=debt advice", 200);
        names(j, got, sizeof(got));
        json_decref(j);
        assert_string_equal(got, "Debt advice clinic|Food bank");
        j = get("/services", "search=councelling", 200);
        names(j, got, sizeof(got));
        json_decref(j);
        assert_string_equal(got, "Community Counselling");
        /* organisation name is searched too */
        j = get("/services", "search=Example Organization", 200);
        names(j, got, sizeof(got));
        json_decref(j);
        assert_non_null(strstr(got, "Community Counselling"));
}

static void
test_inactive_never_in_search(void **state)
{
        char got[512];
        json_t *j;

        (void)state;
        assert_int_equal(
            cmd("service_create",
                svc("33333333-3333-4333-8333-333333333333", "Closed lunch club",
                    "Lunch.", "inactive", 51.28, 0.52)),
            ERR_NONE);
        j = get("/services", "search=lunch club", 200);
        names(j, got, sizeof(got));
        json_decref(j);
        assert_string_equal(got, "");
        j = get("/services/33333333-3333-4333-8333-333333333333", NULL, 200);
        json_decref(j);
}

/* Typo tolerance works per word: each misspelt word of a multi-word
 * search is corrected to a word some service uses, and a search of
 * unknown words still finds nothing. */
static void
test_search_corrects_each_misspelt_word(void **state)
{
        char got[512];
        json_t *j;

        (void)state;
        j = get("/services", "search=debt advise", 200);
        names(j, got, sizeof(got));
        json_decref(j);
        assert_string_equal(got, "Debt advice clinic|Food bank");
        j = get("/services", "search=fod bank", 200);
        names(j, got, sizeof(got));
        json_decref(j);
        assert_string_equal(got, "Food bank");
        j = get("/services", "search=xylophone", 200);
        assert_int_equal(json_integer_value(json_object_get(j, "total_items")),
                         0);
        json_decref(j);
}

/* general_names: what the general (GIN) query ranks for search, names
 * "|"-joined, and its total. */
static long
general_names(const char *search, char *out, size_t outsz)
{
        const char *p[1] = {search};
        struct err e = {0};
        PGresult *r = db_query(
            db,
            "SELECT coalesce(string_agg(name, '|' ORDER BY rk DESC, name, id),"
            " ''), count(*) FROM (SELECT name, id, ts_rank_cd("
            "'{0.05, 0.1, 0.2, 1.0}', search_vector, q) AS rk FROM services,"
            " websearch_to_tsquery('pg_catalog.english', $1) q"
            " WHERE status = 'active' AND search_vector @@ q) x",
            1, p, &e);
        long n;

        assert_non_null(r);
        snprintf(out, outsz, "%s", PQgetvalue(r, 0, 0));
        n = atol(PQgetvalue(r, 0, 1));
        PQclear(r);
        return n;
}

/* postings_drop: deletes the postings of one lexeme (or '#' term id);
 * postings_rebuild puts every service's back. */
static void
postings_drop(const char *lexeme)
{
        const char *p[1] = {lexeme};
        struct err e = {0};

        assert_int_equal(db_exec(db,
                                 "DELETE FROM word_postings WHERE"
                                 " lexeme = $1",
                                 1, p, NULL, &e),
                         0);
}

static void
postings_rebuild(void)
{
        count("SELECT count(*) FROM (SELECT word_postings_set(array_agg(id))"
              " FROM services) x");
}

/* A search for one word alone is answered from word_postings; it gives
 * what the general query gives, page by page, and follows a change of
 * status and of name. */
static void
test_one_word_search_reads_postings(void **state)
{
        char got[512], want[512];
        long total;

        (void)state;
        assert_int_equal(
            cmd("service_create",
                svc("66666666-6666-4666-8666-666666666666", "Advice line",
                    "Call us.", "active", 55.95, -3.19)),
            ERR_NONE);
        assert_int_equal(
            cmd("service_create",
                svc("77777777-7777-4777-8777-777777777777", "Housing help",
                    "Advice on housing, advice on rent and advice on repairs.",
                    "active", 55.95, -3.19)),
            ERR_NONE);
        total = general_names("advice", want, sizeof(want));
        assert_true(total >= 4);
        assert_int_equal(services_page("search=advice", got, sizeof(got)),
                         total);
        assert_string_equal(got, want);
        /* the second page of one */
        services_page("search= Advice &per_page=1&page=2", got, sizeof(got));
        *strchr(strchr(want, '|') + 1, '|') = '\0';
        assert_string_equal(got, strchr(want, '|') + 1);
        /* the postings answer: without them the word finds nothing */
        assert_int_equal(count("SELECT count(*) FROM word_postings"
                               " WHERE lexeme = 'advic'") > 0,
                         1);
        postings_drop("advic");
        assert_int_equal(services_page("search=advice", got, sizeof(got)), 0);
        postings_rebuild();
        /* they follow a change of status and of name */
        assert_int_equal(cmd("service_update",
                             json_pack("{ss ss}", "id",
                                       "66666666-6666-4666-8666-666666666666",
                                       "status", "inactive")),
                         ERR_NONE);
        assert_int_equal(cmd("service_update",
                             json_pack("{ss ss}", "id",
                                       "77777777-7777-4777-8777-777777777777",
                                       "name", "Tenancy help")),
                         ERR_NONE);
        assert_int_equal(services_page("search=advice", got, sizeof(got)),
                         general_names("advice", want, sizeof(want)));
        assert_string_equal(got, want);
        assert_null(strstr(got, "Advice line"));
        assert_non_null(strstr(got, "Tenancy help"));
        services_page("search=tenancy", got, sizeof(got));
        assert_string_equal(got, "Tenancy help");
        /* a stop word alone finds nothing, as the general query */
        assert_int_equal(services_page("search=the", got, sizeof(got)), 0);
}

static void
test_distance_search_sorted_by_distance(void **state)
{
        char got[512];
        json_t *j;

        (void)state;
        assert_int_equal(
            cmd("service_create",
                svc("44444444-4444-4444-8444-444444444444", "Canterbury carers",
                    "Carers.", "active", 51.28, 1.08)),
            ERR_NONE);
        j = get("/service_at_locations",
                "postcode=me14 1xx&proximity=5000&sort=distance", 200);
        names(j, got, sizeof(got));
        assert_string_equal(got, "Debt advice clinic|Food bank");
        assert_true(json_integer_value(json_object_get(
                        json_array_get(json_object_get(j, "contents"), 0),
                        "distance")) < 1000);
        json_decref(j);
        j = get("/services", "lat=51.2802&lng=1.0789&proximity=3000", 200);
        names(j, got, sizeof(got));
        json_decref(j);
        assert_string_equal(got, "Canterbury carers");
}

/* near_names: the active services with a location within radius metres
 * of lat/lng, nearest first (then name, id), "|"-joined, worked out from
 * locations rather than service_points; returns how many. */
static long
near_names(const char *lat, const char *lng, const char *radius, char *out,
           size_t outsz)
{
        const char *p[3] = {lat, lng, radius};
        struct err e = {0};
        PGresult *r = db_query(
            db,
            "SELECT coalesce(string_agg(name, '|' ORDER BY d, name, id), ''),"
            " count(*) FROM (SELECT s.id, s.name, min(geo_metres(geo_earth("
            "$1::float8, $2::float8), geo_earth(l.latitude, l.longitude))) d"
            " FROM services s JOIN service_at_locations sal"
            " ON sal.service_id = s.id JOIN locations l"
            " ON l.id = sal.location_id WHERE s.status = 'active'"
            " GROUP BY 1, 2) x WHERE d <= $3::float8",
            3, p, &e);
        long n;

        assert_non_null(r);
        snprintf(out, outsz, "%s", PQgetvalue(r, 0, 0));
        n = atol(PQgetvalue(r, 0, 1));
        PQclear(r);
        return n;
}

/* A radius search sorted by distance reads the nearest points first
 * (store_search.c's near_page_sql). Near Inverness: one service with 19
 * locations within a few metres of the point, then eleven with one
 * location each, the nearest two at the same place (so the name decides),
 * one inactive and one beyond the radius. Page by page, at every page
 * size, the pages put together are the services in order. A page of one
 * reads 18 points, all the hub's: the hub is placed and the page
 * complete. A page of two reads 20: the hub's and one of the two at the
 * same place, which cannot be placed before the other is read, so one
 * service placed is not enough and the general query answers. */
static void
test_distance_pages_nearest_first(void **state)
{
        static const char *const single[] = {
            "Balloch tenants",   "Aardvark tenants",     "Ness walking group",
            "Crown debt advice", "Merkinch food larder", "Dalneigh carers",
            "Hilton youth club", "Raigmore advice desk", "Culloden men's shed",
            "Smithton choir",    "Riverside lunch club"};
        json_t *hub = svc("12121212-1212-4212-8212-121212121212", "Hub",
                          "Many doors.", "active", 57.4778, -4.2247);
        json_t *sals = json_object_get(hub, "service_at_locations");
        char want[1024], got[1024], qs[256], id[UUID_STR_LEN];
        long total;

        (void)state;
        for (int i = 1; i < 19; i++) {
                char lid[UUID_STR_LEN], sid[UUID_STR_LEN];

                uuid_v4(lid);
                uuid_v4(sid);
                json_array_append_new(
                    sals,
                    json_pack("{ss s{ss ss sf sf}}", "id", sid, "location",
                              "id", lid, "location_type", "physical",
                              "latitude", 57.4778 + 0.00001 * i, "longitude",
                              -4.2247));
        }
        assert_int_equal(cmd("service_create", hub), ERR_NONE);
        for (int i = 0; i < 11; i++) {
                /* the first two share a place, 220 m north */
                double north = 0.002 * (i < 2 ? 1 : i);

                uuid_v4(id);
                assert_int_equal(
                    cmd("service_create", svc(id, single[i], "Local.", "active",
                                              57.4778 + north, -4.2247)),
                    ERR_NONE);
        }
        uuid_v4(id);
        assert_int_equal(
            cmd("service_create",
                svc(id, "Closed club", "Gone.", "inactive", 57.4779, -4.2247)),
            ERR_NONE);
        uuid_v4(id);
        assert_int_equal(
            cmd("service_create",
                svc(id, "Far club", "Away.", "active", 57.4778 + 0.1, -4.2247)),
            ERR_NONE);
        total = near_names("57.4778", "-4.2247", "5000", want, sizeof(want));
        assert_int_equal(total, 12);
        assert_non_null(strstr(want, "Hub|Aardvark tenants|Balloch tenants|"));
        for (int per = 1; per <= 5; per++) {
                got[0] = '\0';
                for (int page = 1; (page - 1) * per < total; page++) {
                        char part[512];

                        snprintf(qs, sizeof(qs),
                                 "lat=57.4778&lng=-4.2247&proximity=5000"
                                 "&sort=distance&per_page=%d&page=%d",
                                 per, page);
                        assert_int_equal(services_page(qs, part, sizeof(part)),
                                         total);
                        if (page > 1)
                                strcat(got, "|");
                        assert_true(strlen(got) + strlen(part) < sizeof(got));
                        strcat(got, part);
                }
                assert_string_equal(got, want);
        }
}

static void
test_nearest_explains_its_choice(void **state)
{
        json_t *j = get("/nearest",
                        "postcode=CT12AA&service_id="
                        "11111111-1111-4111-8111-111111111111,"
                        "44444444-4444-4444-8444-444444444444",
                        200);
        json_t *first = json_array_get(json_object_get(j, "results"), 0);

        (void)state;
        assert_string_equal(
            json_string_value(json_object_get(first, "service_id")),
            "44444444-4444-4444-8444-444444444444");
        assert_non_null(json_object_get(first, "reason"));
        assert_non_null(json_object_get(first, "distance"));
        json_decref(j);
}

static void
test_commands_validate_and_emit(void **state)
{
        long before = count("SELECT count(*) FROM outbox"
                            " WHERE topic = 'directory.services'");

        (void)state;
        /* create twice: the second is invalid */
        assert_int_equal(
            cmd("service_create",
                svc("55555555-5555-4555-8555-555555555555", "Walking group",
                    "Walks.", "active", 51.3, 0.5)),
            ERR_NONE);
        assert_int_equal(
            cmd("service_create",
                svc("55555555-5555-4555-8555-555555555555", "Walking group",
                    "Walks.", "active", 51.3, 0.5)),
            ERR_INVALID);
        assert_int_equal(
            cmd("service_create", svc("66666666-6666-4666-8666-666666666666",
                                      "Bad", "x", "open", 51.3, 0.5)),
            ERR_INVALID);
        assert_int_equal(count("SELECT count(*) FROM outbox"
                               " WHERE topic = 'directory.services'"),
                         before + 1);
        assert_int_equal(cmd("service_delete",
                             json_pack("{ss}", "id",
                                       "55555555-5555-4555-8555-555555555555")),
                         ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM outbox"
                               " WHERE topic = 'directory.services'"
                               " AND value IS NULL AND key ="
                               " '55555555-5555-4555-8555-555555555555'"),
                         1);
        assert_int_equal(cmd("nonsense", json_object()), ERR_INVALID);
}

static void
test_update_requests_supersede_and_approve(void **state)
{
        const char *sid = "11111111-1111-4111-8111-111111111111";
        json_t *j;

        (void)state;
        assert_int_equal(
            cmd("update_request_submit",
                json_pack("{ss ss ss ss s{ss ss ss}}", "id",
                          "aaaaaaaa-0000-4000-8000-000000000001", "entity_type",
                          "service", "entity_id", sid, "submitted_by",
                          "provider-1", "changes", "name", "Debt advice clinic",
                          "description", "Old words.", "alert",
                          "Closed Friday")),
            ERR_NONE);
        /* unchanged name dropped */
        assert_int_equal(count("SELECT count(*) FROM update_requests WHERE"
                               " changes ? 'name'"),
                         0);
        assert_int_equal(
            cmd("update_request_submit",
                json_pack("{ss ss ss ss s{ss ss}}", "id",
                          "aaaaaaaa-0000-4000-8000-000000000002", "entity_type",
                          "service", "entity_id", sid, "submitted_by",
                          "provider-1", "changes", "description", "New words.",
                          "alert", "Closed Monday")),
            ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM update_requests WHERE"
                               " status = 'superseded'"),
                         1);
        assert_int_equal(cmd("update_request_reject",
                             json_pack("{ss ss}", "id",
                                       "aaaaaaaa-0000-4000-8000-000000000002",
                                       "decided_by", "admin-1")),
                         ERR_INVALID); /* no reason */
        assert_int_equal(cmd("update_request_approve",
                             json_pack("{ss ss}", "id",
                                       "aaaaaaaa-0000-4000-8000-000000000002",
                                       "decided_by", "admin-1")),
                         ERR_NONE);
        j = get("/services/11111111-1111-4111-8111-111111111111", NULL, 200);
        assert_string_equal(
            json_string_value(json_object_get(j, "description")), "New words.");
        json_decref(j);
}

static void
test_taxonomy_filter_includes_child_terms(void **state)
{
        char got[512];
        json_t *j, *s;

        (void)state;
        assert_int_equal(cmd("taxonomy_term_create",
                             json_pack("{ss ss ss ss}", "id",
                                       "bbbbbbbb-0000-4000-8000-000000000001",
                                       "name", "Money", "description", "Money",
                                       "taxonomy_id", TAX_ID)),
                         ERR_NONE);
        assert_int_equal(
            cmd("taxonomy_term_create",
                json_pack("{ss ss ss ss ss}", "id",
                          "bbbbbbbb-0000-4000-8000-000000000002", "name",
                          "Debt", "description", "Debt", "parent_id",
                          "bbbbbbbb-0000-4000-8000-000000000001", "taxonomy_id",
                          TAX_ID)),
            ERR_NONE);
        s = json_pack("{ss s[{ss}]}", "id",
                      "22222222-2222-4222-8222-222222222222", "attributes",
                      "taxonomy_term_id",
                      "bbbbbbbb-0000-4000-8000-000000000002");
        assert_int_equal(cmd("service_update", s), ERR_NONE);
        j = get("/services",
                "taxonomy_term_id=bbbbbbbb-0000-4000-8000-000000000001", 200);
        names(j, got, sizeof(got));
        json_decref(j);
        assert_string_equal(got, "Food bank");
        j = get("/services",
                "search=debt&taxonomy_term_id="
                "bbbbbbbb-0000-4000-8000-000000000002",
                200);
        names(j, got, sizeof(got));
        json_decref(j);
        assert_string_equal(got, "Food bank");
        /* one word under the parent term, from the postings: the parent
         * term's posting, which the service has for its child term's
         * ancestor (kept by the attribute change), is what finds it */
        services_page("search=debt&taxonomy_term_id="
                      "bbbbbbbb-0000-4000-8000-000000000001",
                      got, sizeof(got));
        assert_string_equal(got, "Food bank");
        postings_drop("#bbbbbbbb-0000-4000-8000-000000000001");
        assert_int_equal(services_page("search=debt&taxonomy_term_id="
                                       "bbbbbbbb-0000-4000-8000-000000000001",
                                       got, sizeof(got)),
                         0);
        postings_rebuild();
        /* the child term moved under another parent: the postings follow
         * (the service is under the new parent, no longer the old) */
        assert_int_equal(cmd("taxonomy_term_create",
                             json_pack("{ss ss ss ss}", "id",
                                       "bbbbbbbb-0000-4000-8000-000000000003",
                                       "name", "Bills", "description", "Bills",
                                       "taxonomy_id", TAX_ID)),
                         ERR_NONE);
        assert_int_equal(
            cmd("taxonomy_term_update",
                json_pack("{ss ss ss ss ss}", "id",
                          "bbbbbbbb-0000-4000-8000-000000000002", "name",
                          "Debt", "description", "Debt", "parent_id",
                          "bbbbbbbb-0000-4000-8000-000000000003", "taxonomy_id",
                          TAX_ID)),
            ERR_NONE);
        assert_int_equal(services_page("search=debt&taxonomy_term_id="
                                       "bbbbbbbb-0000-4000-8000-000000000001",
                                       got, sizeof(got)),
                         0);
        services_page("search=debt&taxonomy_term_id="
                      "bbbbbbbb-0000-4000-8000-000000000003",
                      got, sizeof(got));
        assert_string_equal(got, "Food bank");
        /* the general query agrees */
        j = get("/services",
                "taxonomy_term_id=bbbbbbbb-0000-4000-8000-000000000003", 200);
        names(j, got, sizeof(got));
        json_decref(j);
        assert_string_equal(got, "Food bank");
        /* the new parent removed: the child is a top term again */
        assert_int_equal(cmd("taxonomy_term_delete",
                             json_pack("{ss}", "id",
                                       "bbbbbbbb-0000-4000-8000-000000000003")),
                         ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM word_postings WHERE"
                               " lexeme = '#bbbbbbbb-0000-4000-8000-"
                               "000000000003'"),
                         0);
        services_page("search=debt&taxonomy_term_id="
                      "bbbbbbbb-0000-4000-8000-000000000002",
                      got, sizeof(got));
        assert_string_equal(got, "Food bank");
        j = get("/taxonomy_terms", "top_only=true&taxonomy_id=" TAX_ID, 200);
        assert_int_equal(json_integer_value(json_object_get(j, "total_items")),
                         1);
        json_decref(j);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_example_service_reads_back_equal),
            cmocka_unit_test(test_example_organization_reads_back_equal),
            cmocka_unit_test(test_example_taxonomy_and_term_read_back_equal),
            cmocka_unit_test(test_example_service_at_location_reads_back_equal),
            cmocka_unit_test(test_page_envelope),
            cmocka_unit_test(test_bad_input_names_the_parameter),
            cmocka_unit_test(test_sql_in_search_is_text),
            cmocka_unit_test(test_search_ranks_name_first_and_tolerates_typos),
            cmocka_unit_test(test_inactive_never_in_search),
            cmocka_unit_test(test_search_corrects_each_misspelt_word),
            cmocka_unit_test(test_one_word_search_reads_postings),
            cmocka_unit_test(test_distance_search_sorted_by_distance),
            cmocka_unit_test(test_distance_pages_nearest_first),
            cmocka_unit_test(test_nearest_explains_its_choice),
            cmocka_unit_test(test_commands_validate_and_emit),
            cmocka_unit_test(test_update_requests_supersede_and_approve),
            cmocka_unit_test(test_taxonomy_filter_includes_child_terms),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
