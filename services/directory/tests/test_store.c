/*
 * test_store: the directory's catalogue against a real PostgreSQL (see
 * fixture.c): the shared examples read back equal, the page envelope, bad
 * parameters, commands validated and their outbox rows, update requests.
 * Search has its own file (test_search.c).
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
        /* the service it edits, as test_search.c creates it */
        assert_int_equal(
            cmd("service_create", svc(sid, "Debt advice clinic", "Money help.",
                                      "active", 51.28, 0.52)),
            ERR_NONE);
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

static int
setup(void **state)
{
        (void)state;
        return fixture_setup("dir_test_store");
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
            cmocka_unit_test(test_commands_validate_and_emit),
            cmocka_unit_test(test_update_requests_supersede_and_approve),
        };

        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
