/*
 * test_catalogue: reading one record of the catalogue topics. A service
 * and an organisation snapshot give the fields the replicas keep; a null
 * value is a tombstone whatever its type, and nothing else is; a bad key,
 * malformed JSON, an empty value, a value that is not an object, an
 * unknown type, a snapshot of another entity, a missing or mistyped field
 * and a record of another topic are each refused (ERR_INVALID) with a
 * reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "catalogue.h"

#define SVC "0193b000-0000-7000-8000-0000000000c2"
#define ORG "0193b000-0000-7000-8000-0000000000d2"
#define TERM "3f7b145d-84af-42d7-8fae-eaca714b02b2"
#define KEY "qgm4HO0+e3a1hxk3jfo8dA1HBNv0h5n2Y/xKh0dZSxE="

#define SERVICE_SNAPSHOT                                                       \
        "{\"id\":\"" SVC "\",\"organization_id\":\"" ORG "\","                 \
        "\"name\":\"Warm Homes\",\"status\":\"active\","                       \
        "\"accepts_referrals\":true,"                                          \
        "\"referral_notice_email\":\"intake@warm.example\","                   \
        "\"organization_name\":\"Kingston Warmth\","                           \
        "\"partner_public_key\":\"" KEY "\","                                  \
        "\"taxonomy_terms\":[{\"id\":\"" TERM "\",\"name\":\"Housing\"}],"     \
        "\"last_modified\":\"2026-11-24T10:00:00Z\"}"
#define ORG_SNAPSHOT                                                           \
        "{\"id\":\"" ORG "\",\"name\":\"Kingston Warmth\","                    \
        "\"email\":\"hello@warm.example\",\"partner_public_key\":\"" KEY "\"," \
        "\"last_modified\":\"2026-11-24T10:00:00Z\"}"

/* record: a record on topic of type, keyed by key, with value (NULL: a
 * null value). */
static struct kafka_record
record(const char *topic, const char *type, const char *key, const char *value)
{
        struct kafka_record r = {0};

        r.topic = topic;
        snprintf(r.ev.type, sizeof(r.ev.type), "%s", type);
        r.key = key;
        r.key_len = key ? strlen(key) : 0;
        r.value = value;
        r.value_len = value ? strlen(value) : 0;
        return r;
}

/* refused: reading the record fails with ERR_INVALID; returns e. */
static struct err
refused(const char *topic, const char *type, const char *key, const char *value)
{
        struct kafka_record r = record(topic, type, key, value);
        struct catalogue_entry c;
        struct err e = {0};

        assert_int_equal(catalogue_read(&r, &c, &e), -1);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_true(e.msg[0] != '\0');
        catalogue_entry_fini(&c);
        return e;
}

static void
test_service_snapshot(void **state)
{
        struct kafka_record r =
            record(CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
                   SERVICE_SNAPSHOT);
        struct catalogue_entry c;
        struct err e = {0};

        (void)state;
        assert_int_equal(catalogue_read(&r, &c, &e), 0);
        assert_int_equal(c.kind, CATALOGUE_SERVICE);
        assert_string_equal(c.id, SVC);
        assert_false(c.deleted);
        assert_non_null(c.snapshot);
        assert_string_equal(c.name, "Warm Homes");
        assert_string_equal(c.status, "active");
        assert_true(c.accepts_referrals);
        assert_string_equal(c.org_id, ORG);
        assert_string_equal(c.org_name, "Kingston Warmth");
        assert_string_equal(c.notice_email, "intake@warm.example");
        assert_string_equal(c.partner_public_key, KEY);
        assert_int_equal(json_array_size(c.taxonomy_terms), 1);
        assert_string_equal(json_string_value(json_object_get(
                                json_array_get(c.taxonomy_terms, 0), "id")),
                            TERM);
        catalogue_entry_fini(&c);
        assert_null(c.snapshot);
}

static void
test_service_without_organisation(void **state)
{
        struct kafka_record r = record(
            CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
            "{\"id\":\"" SVC "\",\"name\":\"Warm Homes\",\"status\":"
            "\"inactive\",\"accepts_referrals\":false,\"taxonomy_terms\":[]}");
        struct catalogue_entry c;
        struct err e = {0};

        (void)state;
        assert_int_equal(catalogue_read(&r, &c, &e), 0);
        assert_null(c.org_id);
        assert_null(c.org_name);
        assert_null(c.notice_email);
        assert_null(c.partner_public_key);
        assert_false(c.accepts_referrals);
        assert_int_equal(json_array_size(c.taxonomy_terms), 0);
        catalogue_entry_fini(&c);
}

static void
test_organisation_snapshot(void **state)
{
        struct kafka_record r =
            record(CATALOGUE_TOPIC_ORGS, CATALOGUE_TYPE_ORG, ORG, ORG_SNAPSHOT);
        struct catalogue_entry c;
        struct err e = {0};

        (void)state;
        assert_int_equal(catalogue_read(&r, &c, &e), 0);
        assert_int_equal(c.kind, CATALOGUE_ORG);
        assert_string_equal(c.id, ORG);
        assert_false(c.deleted);
        assert_string_equal(c.name, "Kingston Warmth");
        assert_string_equal(c.partner_public_key, KEY);
        assert_string_equal(
            json_string_value(json_object_get(c.snapshot, "email")),
            "hello@warm.example");
        /* the service fields stay unset */
        assert_null(c.status);
        assert_null(c.taxonomy_terms);
        catalogue_entry_fini(&c);
}

static void
test_null_value_is_a_tombstone(void **state)
{
        static const struct {
                const char *topic, *type, *key;
                enum catalogue_kind kind;
        } cases[] = {
            {CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE_DELETED, SVC,
             CATALOGUE_SERVICE},
            {CATALOGUE_TOPIC_ORGS, CATALOGUE_TYPE_ORG_DELETED, ORG,
             CATALOGUE_ORG},
            /* the null value decides, not the type */
            {CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
             CATALOGUE_SERVICE},
            {CATALOGUE_TOPIC_ORGS, "signpost.something.else.v1", ORG,
             CATALOGUE_ORG},
        };

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct kafka_record r =
                    record(cases[i].topic, cases[i].type, cases[i].key, NULL);
                struct catalogue_entry c;
                struct err e = {0};

                assert_int_equal(catalogue_read(&r, &c, &e), 0);
                assert_true(c.deleted);
                assert_int_equal(c.kind, cases[i].kind);
                assert_string_equal(c.id, cases[i].key);
                assert_null(c.snapshot);
                assert_null(c.name);
                catalogue_entry_fini(&c);
        }
}

static void
test_only_a_null_value_deletes(void **state)
{
        struct err e;

        (void)state;
        /* an empty value is not a tombstone */
        refused(CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE_DELETED, SVC,
                "");
        e = refused(CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC, "");
        assert_non_null(strstr(e.msg, "null value"));
        /* nor is a deleted type with a body */
        e = refused(CATALOGUE_TOPIC_ORGS, CATALOGUE_TYPE_ORG_DELETED, ORG,
                    ORG_SNAPSHOT);
        assert_string_equal(e.field, "ce_type");
}

static void
test_bad_key(void **state)
{
        static const char *const keys[] = {
            NULL,
            "",
            "not-a-uuid",
            "0193b000-0000-7000-8000-0000000000c",   /* 35 */
            "0193b000-0000-7000-8000-0000000000c2x", /* 37 */
            "0193b000x0000-7000-8000-0000000000c2",
        };
        struct err e;

        (void)state;
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
                e = refused(CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE,
                            keys[i], SERVICE_SNAPSHOT);
                assert_string_equal(e.field, "key");
                /* a tombstone's key is checked too */
                e = refused(CATALOGUE_TOPIC_ORGS, CATALOGUE_TYPE_ORG_DELETED,
                            keys[i], NULL);
                assert_string_equal(e.field, "key");
        }
}

static void
test_malformed_json(void **state)
{
        struct err e;

        (void)state;
        e = refused(CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
                    "{\"id\":\"" SVC "\",\"name\":");
        assert_non_null(strstr(e.msg, "invalid JSON"));
        /* duplicate keys: which one would a replica keep? */
        e = refused(CATALOGUE_TOPIC_ORGS, CATALOGUE_TYPE_ORG, ORG,
                    "{\"id\":\"" ORG "\",\"name\":\"a\",\"name\":\"b\"}");
        assert_non_null(strstr(e.msg, "invalid JSON"));
}

static void
test_json_not_an_object(void **state)
{
        static const char *const values[] = {"[]", "\"" SVC "\"", "null", "1"};
        struct err e;

        (void)state;
        for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
                e = refused(CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE,
                            SVC, values[i]);
                assert_non_null(strstr(e.msg, "object"));
        }
}

static void
test_unknown_type(void **state)
{
        struct err e;

        (void)state;
        e = refused(CATALOGUE_TOPIC_SERVICES, "signpost.service.updated.v2",
                    SVC, SERVICE_SNAPSHOT);
        assert_string_equal(e.field, "ce_type");
        assert_non_null(strstr(e.msg, "signpost.service.updated.v2"));
        /* an organisation's type on the services topic */
        e = refused(CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_ORG, SVC,
                    SERVICE_SNAPSHOT);
        assert_string_equal(e.field, "ce_type");
        /* and a record of another topic */
        refused("referral.events", CATALOGUE_TYPE_SERVICE, SVC,
                SERVICE_SNAPSHOT);
        refused(NULL, CATALOGUE_TYPE_SERVICE, SVC, NULL);
}

static void
test_snapshot_of_another_entity(void **state)
{
        struct err e;

        (void)state;
        e = refused(CATALOGUE_TOPIC_ORGS, CATALOGUE_TYPE_ORG, SVC,
                    ORG_SNAPSHOT);
        assert_string_equal(e.field, "id");
}

static void
test_missing_or_mistyped_field(void **state)
{
        static const struct {
                const char *topic, *type, *key, *value, *field;
        } cases[] = {
            {CATALOGUE_TOPIC_ORGS, CATALOGUE_TYPE_ORG, ORG,
             "{\"name\":\"Kingston Warmth\"}", "id"},
            {CATALOGUE_TOPIC_ORGS, CATALOGUE_TYPE_ORG, ORG,
             "{\"id\":\"" ORG "\"}", "name"},
            {CATALOGUE_TOPIC_ORGS, CATALOGUE_TYPE_ORG, ORG,
             "{\"id\":\"" ORG "\",\"name\":1}", "name"},
            {CATALOGUE_TOPIC_ORGS, CATALOGUE_TYPE_ORG, ORG,
             "{\"id\":\"" ORG "\",\"name\":\"a\",\"partner_public_key\":1}",
             "partner_public_key"},
            {CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
             "{\"id\":\"" SVC "\",\"name\":\"a\",\"accepts_referrals\":true,"
             "\"taxonomy_terms\":[]}",
             "status"},
            {CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
             "{\"id\":\"" SVC "\",\"name\":\"a\",\"status\":\"active\","
             "\"accepts_referrals\":\"yes\",\"taxonomy_terms\":[]}",
             "accepts_referrals"},
            {CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
             "{\"id\":\"" SVC "\",\"name\":\"a\",\"status\":\"active\","
             "\"accepts_referrals\":true}",
             "taxonomy_terms"},
            {CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
             "{\"id\":\"" SVC "\",\"name\":\"a\",\"status\":\"active\","
             "\"accepts_referrals\":true,\"taxonomy_terms\":[\"" TERM "\"]}",
             "taxonomy_terms"},
            {CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
             "{\"id\":\"" SVC "\",\"name\":\"a\",\"status\":\"active\","
             "\"accepts_referrals\":true,\"taxonomy_terms\":[{\"id\":\"x\"}]}",
             "taxonomy_terms"},
            {CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
             "{\"id\":\"" SVC "\",\"name\":\"a\",\"status\":\"active\","
             "\"accepts_referrals\":true,\"taxonomy_terms\":[],"
             "\"organization_id\":\"not-a-uuid\"}",
             "organization_id"},
            {CATALOGUE_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
             "{\"id\":\"" SVC "\",\"name\":\"a\",\"status\":\"active\","
             "\"accepts_referrals\":true,\"taxonomy_terms\":[],"
             "\"referral_notice_email\":[]}",
             "referral_notice_email"},
        };
        struct err e;

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                e = refused(cases[i].topic, cases[i].type, cases[i].key,
                            cases[i].value);
                if (strcmp(e.field, cases[i].field) != 0)
                        fail_msg("case %zu: field %s, want %s (%s)", i, e.field,
                                 cases[i].field, e.msg);
        }
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_service_snapshot),
            cmocka_unit_test(test_service_without_organisation),
            cmocka_unit_test(test_organisation_snapshot),
            cmocka_unit_test(test_null_value_is_a_tombstone),
            cmocka_unit_test(test_only_a_null_value_deletes),
            cmocka_unit_test(test_bad_key),
            cmocka_unit_test(test_malformed_json),
            cmocka_unit_test(test_json_not_an_object),
            cmocka_unit_test(test_unknown_type),
            cmocka_unit_test(test_snapshot_of_another_entity),
            cmocka_unit_test(test_missing_or_mistyped_field),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
