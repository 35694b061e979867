/*
 * test_docs: what the directory keeps for fast reads, against a real
 * PostgreSQL: the stored rendered services (store_docs.c, migration 004) answer
 * what rendering from the tables gives and follow every kind of edit;
 * the points of distance search (migration 005) follow moves, status and
 * unlinking; the term ids behind the category filter (migration 006)
 * follow attribute edits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fixture.h"

#define LOC_ID "3a19ff88-4620-4d17-9830-ac1d859eb5d5"
#define ADDR_ID "74706e55-df26-4b84-80fe-ecc30b5befb4"

/* applied: cmd, which must succeed */
static void
applied(const char *verb, json_t *data)
{
        assert_int_equal(cmd(verb, data), ERR_NONE);
}

static long
stored(void)
{
        struct err e = {0};
        const char *p[1] = {SVC_ID};
        PGresult *r = db_query(
            db, "SELECT count(*) FROM service_docs WHERE id = $1", 1, p, &e);
        long n;

        assert_non_null(r);
        n = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
        return n;
}

static void
drop_stored(void)
{
        struct err e = {0};

        assert_int_equal(
            db_exec(db, "DELETE FROM service_docs", 0, NULL, NULL, &e), 0);
}

/* field: the string at a path of object keys and array index 0. */
static const char *
field(json_t *j, const char *const *path)
{
        for (; *path != NULL; path++) {
                j = json_object_get(j, *path);
                if (json_is_array(j))
                        j = json_array_get(j, 0);
        }
        return json_string_value(j);
}

static int
setup(void **state)
{
        char conninfo[1024];

        (void)state;
        db = fixture_db("dir_test_docs", conninfo, sizeof(conninfo));
        return db != NULL ? 0 : -1;
}

/* Each test starts from the shared examples freshly imported. */
static int
reset(void **state)
{
        struct err e = {0};

        (void)state;
        db_exec(db, "DELETE FROM services; DELETE FROM organizations;", 0, NULL,
                NULL, &e);
        applied("hsds_import", json_pack("{ss s[o]}", "kind", "taxonomy",
                                         "records", example("taxonomy.json")));
        applied("hsds_import",
                json_pack("{ss s[o]}", "kind", "organization", "records",
                          example("organization_full.json")));
        applied("hsds_import",
                json_pack("{ss s[o]}", "kind", "service", "records",
                          example("service_full.json")));
        return 0;
}

static void
test_stored_record_equals_the_rendered_one(void **state)
{
        json_t *from_doc, *page_doc, *from_tables, *page_tables;

        (void)state;
        assert_int_equal(stored(), 1);
        from_doc = get("/services/" SVC_ID, NULL, 200);
        page_doc = get("/services", "search=service", 200);
        drop_stored();
        from_tables = get("/services/" SVC_ID, NULL, 200);
        page_tables = get("/services", "search=service", 200);
        assert_true(json_equal(from_doc, from_tables));
        assert_true(json_equal(page_doc, page_tables));
        assert_int_equal(
            json_integer_value(json_object_get(page_doc, "total_items")), 1);
        json_decref(from_doc);
        json_decref(page_doc);
        json_decref(from_tables);
        json_decref(page_tables);
}

static void
test_distance_is_added_to_stored_list_items(void **state)
{
        json_t *j, *item;

        (void)state;
        applied("postcodes_import",
                json_pack("{ss}", "csv",
                          "pcd,lat,long\nSW1A 1AA,51.5010,-0.1416\n"));
        j = get("/services", "postcode=SW1A1AA&sort=distance", 200);
        item = json_array_get(json_object_get(j, "contents"), 0);
        assert_non_null(item);
        assert_true(json_is_integer(json_object_get(item, "distance")));
        assert_string_equal(json_string_value(json_object_get(item, "id")),
                            SVC_ID);
        json_decref(j);
}

static void
test_service_edit_shows_in_the_stored_record(void **state)
{
        static const char *const name[] = {"name", NULL};
        json_t *j;

        (void)state;
        applied("service_update",
                json_pack("{ss ss}", "id", SVC_ID, "name", "Renamed service"));
        assert_int_equal(stored(), 1);
        j = get("/services/" SVC_ID, NULL, 200);
        assert_string_equal(field(j, name), "Renamed service");
        json_decref(j);
}

static void
test_organization_edit_shows_in_list_and_record(void **state)
{
        static const char *const list[] = {"contents", "organization", "name",
                                           NULL};
        static const char *const rec[] = {"organization", "name", NULL};
        json_t *j;

        (void)state;
        applied("organization_update",
                json_pack("{ss ss}", "id", ORG_ID, "name", "Renamed charity"));
        j = get("/services", NULL, 200);
        assert_string_equal(field(j, list), "Renamed charity");
        json_decref(j);
        j = get("/services/" SVC_ID, NULL, 200);
        assert_string_equal(field(j, rec), "Renamed charity");
        json_decref(j);
}

static void
test_location_edit_shows_in_the_stored_record(void **state)
{
        static const char *const city[] = {"service_at_locations", "location",
                                           "addresses", "city", NULL};
        json_t *j;

        (void)state;
        applied("location_update",
                json_pack("{ss s[{ss ss ss ss ss ss ss}]}", "id", LOC_ID,
                          "addresses", "id", ADDR_ID, "address_1",
                          "1 New Street", "city", "Newtown", "state_province",
                          "Kent", "postal_code", "ME14 1XX", "country", "GB",
                          "address_type", "physical"));
        assert_int_equal(stored(), 1);
        j = get("/services/" SVC_ID, NULL, 200);
        assert_string_equal(field(j, city), "Newtown");
        json_decref(j);
}

static void
test_term_edit_shows_in_the_stored_record(void **state)
{
        static const char *const term[] = {"attributes", "taxonomy_term",
                                           "name", NULL};
        json_t *j;

        (void)state;
        applied("taxonomy_term_update",
                json_pack("{ss ss}", "id", TERM_ID, "name", "Renamed term"));
        j = get("/services/" SVC_ID, NULL, 200);
        assert_string_equal(field(j, term), "Renamed term");
        json_decref(j);
}

static void
test_a_change_behind_the_renderer_drops_the_stored_record(void **state)
{
        struct err e = {0};
        const char *p[1] = {LOC_ID};

        (void)state;
        /* a write that does not re-render (as a future one might) */
        assert_int_equal(db_exec(db,
                                 "UPDATE addresses SET city = 'Elsewhere'"
                                 " WHERE location_id = $1",
                                 1, p, NULL, &e),
                         0);
        assert_int_equal(stored(), 0);
}

static void
test_missing_records_are_backfilled(void **state)
{
        atomic_bool stop = false;
        struct err e = {0};
        long n = 0;

        (void)state;
        drop_stored();
        assert_int_equal(dir_docs_backfill(db, &stop, &n, &e), 0);
        assert_int_equal(n, 1);
        assert_int_equal(stored(), 1);
}

static void
test_deleted_service_has_no_record(void **state)
{
        json_t *j;

        (void)state;
        applied("service_delete", json_pack("{ss}", "id", SVC_ID));
        assert_int_equal(stored(), 0);
        j = get("/services/" SVC_ID, NULL, 404);
        json_decref(j);
}

/* near: total_items of /services within 1 km of 51.5, -0.14. */
static long
near(void)
{
        json_t *j = get("/services", "lat=51.5&lng=-0.14&proximity=1000", 200);
        long n = (long)json_integer_value(json_object_get(j, "total_items"));

        json_decref(j);
        return n;
}

static void
move_location(double lat, double lng)
{
        applied("location_update",
                json_pack("{ss sf sf}", "id", LOC_ID, "latitude", lat,
                          "longitude", lng));
}

static void
test_distance_search_follows_location_moves(void **state)
{
        (void)state;
        assert_int_equal(near(), 0); /* the example's location is off-globe */
        move_location(51.501, -0.141);
        assert_int_equal(near(), 1);
        move_location(52.5, -0.14);
        assert_int_equal(near(), 0);
}

static void
test_distance_search_follows_status(void **state)
{
        (void)state;
        move_location(51.501, -0.141);
        applied("service_update",
                json_pack("{ss ss}", "id", SVC_ID, "status", "inactive"));
        assert_int_equal(near(), 0);
        applied("service_update",
                json_pack("{ss ss}", "id", SVC_ID, "status", "active"));
        assert_int_equal(near(), 1);
}

static void
test_distance_search_follows_unlinking(void **state)
{
        (void)state;
        move_location(51.501, -0.141);
        applied("service_update",
                json_pack("{ss s[]}", "id", SVC_ID, "service_at_locations"));
        assert_int_equal(near(), 0);
}

/* with_term: total_items of /services filtered by taxonomy term id. */
static long
with_term(const char *term)
{
        char qs[128];
        json_t *j;
        long n;

        snprintf(qs, sizeof(qs), "taxonomy_term_id=%s", term);
        j = get("/services", qs, 200);
        n = (long)json_integer_value(json_object_get(j, "total_items"));
        json_decref(j);
        return n;
}

static void
test_term_filter_follows_attribute_edits(void **state)
{
        char term[UUID_STR_LEN], attr[UUID_STR_LEN];

        (void)state;
        uuid_v4(term);
        uuid_v4(attr);
        assert_int_equal(with_term(TERM_ID), 1);
        applied("service_update",
                json_pack("{ss s[{ss s{ss ss}}]}", "id", SVC_ID, "attributes",
                          "id", attr, "taxonomy_term", "id", term, "name",
                          "Befriending"));
        assert_int_equal(with_term(term), 1);
        assert_int_equal(with_term(TERM_ID), 0);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup(test_stored_record_equals_the_rendered_one,
                                   reset),
            cmocka_unit_test_setup(test_distance_is_added_to_stored_list_items,
                                   reset),
            cmocka_unit_test_setup(test_service_edit_shows_in_the_stored_record,
                                   reset),
            cmocka_unit_test_setup(
                test_organization_edit_shows_in_list_and_record, reset),
            cmocka_unit_test_setup(
                test_location_edit_shows_in_the_stored_record, reset),
            cmocka_unit_test_setup(test_term_edit_shows_in_the_stored_record,
                                   reset),
            cmocka_unit_test_setup(
                test_a_change_behind_the_renderer_drops_the_stored_record,
                reset),
            cmocka_unit_test_setup(test_missing_records_are_backfilled, reset),
            cmocka_unit_test_setup(test_deleted_service_has_no_record, reset),
            cmocka_unit_test_setup(test_distance_search_follows_location_moves,
                                   reset),
            cmocka_unit_test_setup(test_distance_search_follows_status, reset),
            cmocka_unit_test_setup(test_distance_search_follows_unlinking,
                                   reset),
            cmocka_unit_test_setup(test_term_filter_follows_attribute_edits,
                                   reset),
        };

        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
