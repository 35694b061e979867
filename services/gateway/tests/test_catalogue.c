/*
 * test_catalogue: the gateway's catalogue replica, kept from
 * directory.services and directory.organisations through the inbox as the
 * daemon runs it. A snapshot is stored and shown in the memory catalogue;
 * a later one replaces it; a tombstone (a null value) removes the row and
 * the memory entry, so a restart does not bring it back; a record that is
 * not a snapshot or a tombstone (a deleted type with a body, an empty
 * value, a bad key) is dead-lettered alone and changes nothing. Against a
 * real throwaway PostgreSQL, no broker needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../gateway.h"
#include "inbox.h"
#include "testdb.h"
#include "testenv.h"

#define SVC "0193b000-0000-7000-8000-0000000000c2"
#define ORG "0193b000-0000-7000-8000-0000000000d2"

static struct db *db;
static struct gw g;

static int
setup(void **state)
{
        char conninfo[512];

        (void)state;
        db = testdb_migrated("gw_catalogue", GW_SCHEMA,
                             "services/gateway/migrations", conninfo,
                             sizeof(conninfo));
        if (db == NULL)
                return -1;
        g.cat = gw_catalogue_new();
        return g.cat == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
        (void)state;
        gw_catalogue_free(g.cat);
        db_free(db);
        return 0;
}

static int
reset(void **state)
{
        (void)state;
        gw_catalogue_remove(g.cat, SVC);
        return db_exec(db,
                       "TRUNCATE catalogue_services, catalogue_organisations,"
                       " inbox",
                       0, NULL, NULL, NULL);
}

/* record: a record on topic of type keyed by key; value NULL is a null
 * value (a tombstone). */
static struct kafka_record
record(const char *topic, const char *type, const char *key, const char *value)
{
        struct kafka_record r = {0};

        event_init(&r.ev, "directory", type, key);
        r.topic = topic;
        r.key = key;
        r.key_len = strlen(key);
        r.value = value;
        r.value_len = value ? strlen(value) : 0;
        return r;
}

static const char *
service_snapshot(const char *status, bool accepts)
{
        static char text[512];

        snprintf(text, sizeof(text),
                 "{\"id\":\"" SVC "\",\"organization_id\":\"" ORG "\","
                 "\"name\":\"Warm Homes\",\"status\":\"%s\","
                 "\"accepts_referrals\":%s,\"taxonomy_terms\":[],"
                 "\"last_modified\":\"2026-11-24T10:00:00Z\"}",
                 status, accepts ? "true" : "false");
        return text;
}

#define ORG_SNAPSHOT                                                           \
        "{\"id\":\"" ORG "\",\"name\":\"Kingston Warmth\","                    \
        "\"last_modified\":\"2026-11-24T10:00:00Z\"}"

/* handle: recs[0..n) through the inbox as the gateway's consumer does. */
static void
handle(struct kafka_record *recs, size_t n)
{
        struct inbox in = {.db = db,
                           .consumer = "gateway",
                           .apply = gw_consume_apply,
                           .flush = gw_consume_flush,
                           .arg = &g};
        struct err e = {0};

        assert_int_equal(inbox_handle_batch(&in, recs, n, &e), 0);
}

static long
count(const char *sql)
{
        return testdb_count(db, sql, NULL);
}

static void
test_snapshots_kept_and_replaced(void **state)
{
        struct kafka_record r[2] = {
            record(GW_TOPIC_ORGS, CATALOGUE_TYPE_ORG, ORG, ORG_SNAPSHOT),
            record(GW_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
                   service_snapshot("active", true)),
        };
        struct gw_service s;

        (void)state;
        handle(r, 2);
        assert_int_equal(r[0].result, ERR_NONE);
        assert_int_equal(r[1].result, ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM catalogue_organisations"
                               " WHERE name = 'Kingston Warmth'"),
                         1);
        assert_int_equal(count("SELECT count(*) FROM catalogue_services WHERE"
                               " organization_id = '" ORG "' AND"
                               " status = 'active' AND accepts_referrals"),
                         1);
        assert_true(gw_catalogue_get(g.cat, SVC, &s));
        assert_true(gw_service_open(&s));
        assert_string_equal(s.name, "Warm Homes");
        assert_string_equal(s.org, ORG);
        /* the next snapshot replaces it */
        r[0] = record(GW_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
                      service_snapshot("inactive", false));
        handle(r, 1);
        assert_int_equal(r[0].result, ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM catalogue_services WHERE"
                               " status = 'inactive' AND NOT"
                               " accepts_referrals"),
                         1);
        assert_true(gw_catalogue_get(g.cat, SVC, &s));
        assert_false(gw_service_open(&s));
}

static void
test_tombstones_delete(void **state)
{
        struct kafka_record r[2] = {
            record(GW_TOPIC_ORGS, CATALOGUE_TYPE_ORG, ORG, ORG_SNAPSHOT),
            record(GW_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
                   service_snapshot("active", true)),
        };
        struct gw_catalogue *reloaded;
        struct gw_service s;
        struct err e = {0};

        (void)state;
        handle(r, 2);
        assert_true(gw_catalogue_get(g.cat, SVC, &s));
        r[0] = record(GW_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE_DELETED, SVC,
                      NULL);
        r[1] = record(GW_TOPIC_ORGS, CATALOGUE_TYPE_ORG_DELETED, ORG, NULL);
        handle(r, 2);
        assert_int_equal(r[0].result, ERR_NONE);
        assert_int_equal(r[1].result, ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM catalogue_services"), 0);
        assert_int_equal(count("SELECT count(*) FROM catalogue_organisations"),
                         0);
        assert_false(gw_catalogue_get(g.cat, SVC, &s));
        /* and a restart, which loads the replica, does not bring it back */
        reloaded = gw_catalogue_new();
        assert_int_equal(gw_store_services_load(db, reloaded, &e), 0);
        assert_int_equal(gw_catalogue_count(reloaded), 0);
        gw_catalogue_free(reloaded);
}

static void
test_what_is_not_a_snapshot_or_tombstone_is_dead_lettered(void **state)
{
        struct kafka_record r[4] = {
            record(GW_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC,
                   service_snapshot("active", true)),
        };
        struct gw_service s;

        (void)state;
        handle(r, 1);
        /* none of these deletes the service, and each is refused alone */
        r[0] = record(GW_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE_DELETED, SVC,
                      service_snapshot("active", true));
        r[1] = record(GW_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, SVC, "");
        r[2] = record(GW_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE_DELETED,
                      "not-a-service-id", NULL);
        r[3] = record(GW_TOPIC_ORGS, CATALOGUE_TYPE_ORG, ORG, ORG_SNAPSHOT);
        handle(r, 4);
        assert_int_equal(r[0].result, ERR_INVALID);
        assert_int_equal(r[1].result, ERR_INVALID);
        assert_int_equal(r[2].result, ERR_INVALID);
        assert_int_equal(r[3].result, ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM catalogue_services"), 1);
        assert_int_equal(count("SELECT count(*) FROM catalogue_organisations"),
                         1);
        assert_true(gw_catalogue_get(g.cat, SVC, &s));
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup(test_snapshots_kept_and_replaced, reset),
            cmocka_unit_test_setup(test_tombstones_delete, reset),
            cmocka_unit_test_setup(
                test_what_is_not_a_snapshot_or_tombstone_is_dead_lettered,
                reset),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
