/*
 * test_search: the directory's searches against a real PostgreSQL (see
 * fixture.c): ranking and typo tolerance, one-word searches answered from
 * word_postings, distance search and its nearest-first pages, the nearest
 * service for the referral form, and a category including its children.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

static void
test_search_ranks_name_first_and_tolerates_typos(void **state)
{
        char got[512];

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
        services_page("search=debt advice", got, sizeof(got));
        assert_string_equal(got, "Debt advice clinic|Food bank");
        services_page("search=councelling", got, sizeof(got));
        assert_string_equal(got, "Community Counselling");
        /* organisation name is searched too */
        services_page("search=Example Organization", got, sizeof(got));
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
        services_page("search=lunch club", got, sizeof(got));
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
        services_page("search=debt advise", got, sizeof(got));
        assert_string_equal(got, "Debt advice clinic|Food bank");
        services_page("search=fod bank", got, sizeof(got));
        assert_string_equal(got, "Food bank");
        j = get("/services", "search=xylophone", 200);
        assert_int_equal(json_integer_value(json_object_get(j, "total_items")),
                         0);
        json_decref(j);
}

/* names_total: runs sql (parameters p[0..n-1]), whose one row is the
 * "|"-joined names a query should give and how many; the names into out,
 * the number returned. */
static long
names_total(const char *sql, int n, const char *const *p, char *out,
            size_t outsz)
{
        struct err e = {0};
        PGresult *r = db_query(db, sql, n, p, &e);
        long total;

        assert_non_null(r);
        snprintf(out, outsz, "%s", PQgetvalue(r, 0, 0));
        total = atol(PQgetvalue(r, 0, 1));
        PQclear(r);
        return total;
}

/* general_names: what the general (GIN) query ranks for search, names
 * "|"-joined, and its total. */
static long
general_names(const char *search, char *out, size_t outsz)
{
        const char *p[1] = {search};

        return names_total(
            "SELECT coalesce(string_agg(name, '|' ORDER BY rk DESC, name, id),"
            " ''), count(*) FROM (SELECT name, id, ts_rank_cd("
            "'{0.05, 0.1, 0.2, 1.0}', search_vector, q) AS rk FROM services,"
            " websearch_to_tsquery('pg_catalog.english', $1) q"
            " WHERE status = 'active' AND search_vector @@ q) x",
            1, p, out, outsz);
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
        services_page("lat=51.2802&lng=1.0789&proximity=3000", got,
                      sizeof(got));
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

        return names_total(
            "SELECT coalesce(string_agg(name, '|' ORDER BY d, name, id), ''),"
            " count(*) FROM (SELECT s.id, s.name, min(geo_metres(geo_earth("
            "$1::float8, $2::float8), geo_earth(l.latitude, l.longitude))) d"
            " FROM services s JOIN service_at_locations sal"
            " ON sal.service_id = s.id JOIN locations l"
            " ON l.id = sal.location_id WHERE s.status = 'active'"
            " GROUP BY 1, 2) x WHERE d <= $3::float8",
            3, p, out, outsz);
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

static int
setup(void **state)
{
        (void)state;
        return fixture_setup("dir_test_search");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_search_ranks_name_first_and_tolerates_typos),
            cmocka_unit_test(test_inactive_never_in_search),
            cmocka_unit_test(test_search_corrects_each_misspelt_word),
            cmocka_unit_test(test_one_word_search_reads_postings),
            cmocka_unit_test(test_distance_search_sorted_by_distance),
            cmocka_unit_test(test_distance_pages_nearest_first),
            cmocka_unit_test(test_nearest_explains_its_choice),
            cmocka_unit_test(test_taxonomy_filter_includes_child_terms),
        };

        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
