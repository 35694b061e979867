/*
 * test_store: the consent ledger against a real PostgreSQL: commands
 * applied as the consumer applies them, the append-only guard, edit
 * detection on stored rows, erasure, and the consent.state events left in
 * the outbox.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../consent.h"
#include "svc_consumer.h"
#include "testdb.h"
#include "testenv.h"

#define SUBJECT "0193a000-0000-7000-8000-0000000000a1"
#define REFERRAL "0193a000-0000-7000-8000-0000000000b1"

static struct db *db;
static struct secret_key *key;
static struct consent_ctx ctx;

/* apply: one record in its own transaction, as the inbox would; returns
 * the err kind. */
static enum err_kind
apply(const char *topic, const char *type, json_t *data)
{
        struct kafka_record rec = {0};
        struct err e = {0};
        char *text = json_dumps(data, JSON_COMPACT);
        int rc;

        rec.topic = topic;
        snprintf(rec.ev.type, sizeof(rec.ev.type), "%s", type);
        snprintf(rec.ev.source, sizeof(rec.ev.source), "/signpost/test");
        uuid_v7(rec.ev.id);
        rec.value = text;
        rec.value_len = strlen(text);
        assert_int_equal(db_begin(db, &e), 0);
        rc = consent_commands_apply(&ctx, db, &rec, &e);
        if (rc == 0)
                assert_int_equal(db_commit(db, &e), 0);
        else
                db_rollback(db);
        free(text);
        json_decref(data);
        return rc == 0 ? ERR_NONE : e.kind;
}

static json_t *
received(const char *subject, bool feedback)
{
        return json_pack("{s:s, s:s, s:s, s:{s:b, s:b, s:b}, s:s, s:s}",
                         "referral_id", REFERRAL, "subject_id", subject, "kind",
                         "self", "consents", "share_with_provider", 1,
                         "contact_about_service", 1, "feedback_requests",
                         feedback, "privacy_notice_version", "2026-11-01",
                         "received_at", "2026-11-24T10:00:00Z");
}

static json_t *
command(const char *subject, const char *purpose)
{
        return json_pack("{s:s, s:s, s:s, s:s, s:s}", "subject_id", subject,
                         "purpose", purpose, "expressed_via", "web_form",
                         "privacy_notice_version", "2026-11-01", "recorded_by",
                         "test");
}

static const char *
purpose_state(json_t *st, const char *purpose)
{
        return json_string_value(
            json_object_get(json_object_get(st, "purposes"), purpose));
}

static long
count(const char *sql, const char *arg)
{
        return testdb_count(db, sql, arg);
}

static json_t *
state_of(const char *subject)
{
        json_t *st = consent_store_state_get(db, subject, NULL);

        assert_non_null(st);
        return st;
}

static void
fresh_subject(char out[UUID_STR_LEN])
{
        uuid_v7(out);
}

static void
test_referral_consents_become_state(void **state)
{
        char s[UUID_STR_LEN];
        json_t *st;

        (void)state;
        fresh_subject(s);
        assert_int_equal(apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
                               received(s, true)),
                         ERR_NONE);
        st = state_of(s);
        assert_string_equal(purpose_state(st, "feedback_requests"), "granted");
        assert_int_equal(json_integer_value(json_object_get(st, "seq")), 3);
        json_decref(st);
}

static void
test_referral_without_feedback_has_no_feedback_grant(void **state)
{
        char s[UUID_STR_LEN];
        json_t *st;

        (void)state;
        fresh_subject(s);
        assert_int_equal(apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
                               received(s, false)),
                         ERR_NONE);
        st = state_of(s);
        assert_null(purpose_state(st, "feedback_requests"));
        assert_string_equal(purpose_state(st, "contact_about_service"),
                            "granted");
        json_decref(st);
}

static void
test_state_published_on_each_change(void **state)
{
        char s[UUID_STR_LEN];

        (void)state;
        fresh_subject(s);
        apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
              received(s, true));
        apply(CONSENT_TOPIC_COMMANDS, CONSENT_TYPE_WITHDRAWN,
              command(s, "feedback_requests"));
        /* three grants from the form, one withdrawal */
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE key = $1"
                               " AND topic = 'consent.state'",
                               s),
                         4);
        assert_int_equal(
            count("SELECT (convert_from(value, 'UTF8')::json->>'seq')::int"
                  " FROM outbox WHERE key = $1 ORDER BY seq DESC LIMIT 1",
                  s),
            4);
}

static void
test_opt_out_marks_state(void **state)
{
        char s[UUID_STR_LEN];
        json_t *st;

        (void)state;
        fresh_subject(s);
        apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
              received(s, true));
        assert_int_equal(apply(CONSENT_TOPIC_COMMANDS, CONSENT_TYPE_WITHDRAWN,
                               command(s, "all_contact")),
                         ERR_NONE);
        st = state_of(s);
        assert_true(json_is_true(json_object_get(st, "opted_out")));
        json_decref(st);
}

/* received_as: a referral of kind for subject granting every purpose it
 * names, all_contact included (which no referral may change). */
static json_t *
received_as(const char *subject, const char *kind)
{
        json_t *d = received(subject, true);

        json_object_set_new(d, "kind", json_string(kind));
        json_object_set_new(json_object_get(d, "consents"), "all_contact",
                            json_true());
        return d;
}

/* What the person withdrew, a later referral by someone else does not
 * grant again; the person's own referral does. */
static void
test_third_party_referral_does_not_regrant(void **state)
{
        char s[UUID_STR_LEN];
        json_t *st;

        (void)state;
        fresh_subject(s);
        apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
              received(s, true));
        assert_int_equal(apply(CONSENT_TOPIC_COMMANDS, CONSENT_TYPE_WITHDRAWN,
                               command(s, "feedback_requests")),
                         ERR_NONE);
        assert_int_equal(apply(CONSENT_TOPIC_COMMANDS, CONSENT_TYPE_WITHDRAWN,
                               command(s, "share_with_provider")),
                         ERR_NONE);
        assert_int_equal(apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
                               received_as(s, "on_behalf")),
                         ERR_NONE);
        assert_int_equal(apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
                               received_as(s, "professional")),
                         ERR_NONE);
        st = state_of(s);
        assert_string_equal(purpose_state(st, "feedback_requests"),
                            "withdrawn");
        assert_string_equal(purpose_state(st, "share_with_provider"),
                            "withdrawn");
        json_decref(st);
        assert_int_equal(apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
                               received_as(s, "self")),
                         ERR_NONE);
        st = state_of(s);
        assert_string_equal(purpose_state(st, "feedback_requests"), "granted");
        assert_string_equal(purpose_state(st, "share_with_provider"),
                            "granted");
        json_decref(st);
}

/* An opt-out of all contact stands through the person's own referral. */
static void
test_opt_out_stands_through_a_new_referral(void **state)
{
        char s[UUID_STR_LEN];
        json_t *st;

        (void)state;
        fresh_subject(s);
        apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
              received(s, true));
        assert_int_equal(apply(CONSENT_TOPIC_COMMANDS, CONSENT_TYPE_WITHDRAWN,
                               command(s, "all_contact")),
                         ERR_NONE);
        assert_int_equal(apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
                               received_as(s, "self")),
                         ERR_NONE);
        st = state_of(s);
        assert_true(json_is_true(json_object_get(st, "opted_out")));
        json_decref(st);
        /* the person lifts it themself */
        assert_int_equal(apply(CONSENT_TOPIC_COMMANDS, CONSENT_TYPE_GRANTED,
                               command(s, "all_contact")),
                         ERR_NONE);
        st = state_of(s);
        assert_false(json_is_true(json_object_get(st, "opted_out")));
        json_decref(st);
}

static void
test_update_of_ledger_is_refused(void **state)
{
        char s[UUID_STR_LEN];
        const char *p[1];
        struct err e = {0};

        (void)state;
        fresh_subject(s);
        p[0] = s;
        apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
              received(s, true));
        assert_int_equal(db_exec(db,
                                 "UPDATE ledger SET action = 'withdrawn'"
                                 " WHERE subject_id = $1",
                                 1, p, NULL, &e),
                         -1);
        assert_non_null(strstr(e.msg, "append-only"));
        assert_int_equal(db_exec(db, "DELETE FROM ledger WHERE subject_id = $1",
                                 1, p, NULL, &e),
                         -1);
        assert_int_equal(
            count("SELECT count(*) FROM ledger WHERE subject_id = $1", s), 3);
}

static void
test_edited_row_detected_by_verify(void **state)
{
        char s[UUID_STR_LEN];
        struct consent_entry *rows = NULL;
        const char *p[1];
        int n = 0, bad = -1;

        (void)state;
        fresh_subject(s);
        p[0] = s;
        apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
              received(s, true));
        /* someone with table rights disables the guard and edits a row */
        assert_int_equal(db_exec(db,
                                 "ALTER TABLE ledger DISABLE TRIGGER"
                                 " ledger_guard_row",
                                 0, NULL, NULL, NULL),
                         0);
        assert_int_equal(db_exec(db,
                                 "UPDATE ledger SET action = 'withdrawn'"
                                 " WHERE subject_id = $1 AND n = 2",
                                 1, p, NULL, NULL),
                         0);
        db_exec(db, "ALTER TABLE ledger ENABLE TRIGGER ledger_guard_row", 0,
                NULL, NULL, NULL);
        assert_int_equal(consent_store_history(db, s, &rows, &n, NULL), 0);
        assert_int_equal(n, 3);
        assert_false(consent_ledger_verify(key, rows, n, &bad));
        assert_int_equal(rows[bad].n, 2);
        free(rows);
}

static void
test_stored_chain_verifies(void **state)
{
        char s[UUID_STR_LEN];
        struct consent_entry *rows = NULL;
        int n = 0, bad = -1;

        (void)state;
        fresh_subject(s);
        apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
              received(s, true));
        apply(CONSENT_TOPIC_COMMANDS, CONSENT_TYPE_WITHDRAWN,
              command(s, "feedback_requests"));
        assert_int_equal(consent_store_history(db, s, &rows, &n, NULL), 0);
        assert_int_equal(n, 4);
        assert_true(consent_ledger_verify(key, rows, n, &bad));
        free(rows);
}

static void
test_erasure_removes_subject_and_tombstones(void **state)
{
        char s[UUID_STR_LEN];
        struct err e = {0};

        (void)state;
        fresh_subject(s);
        apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
              received(s, true));
        assert_int_equal(db_begin(db, &e), 0);
        assert_int_equal(consent_erase(db, s, &e), 0);
        assert_int_equal(db_commit(db, &e), 0);
        assert_int_equal(
            count("SELECT count(*) FROM ledger WHERE subject_id = $1", s), 0);
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE key = $1"
                               " AND value IS NULL",
                               s),
                         1);
        /* the guard is back on after the erasure transaction */
        assert_int_equal(db_exec(db, "DELETE FROM ledger", 0, NULL, NULL, &e),
                         -1);
}

static void
test_notice_version_recorded_with_consent(void **state)
{
        char s[UUID_STR_LEN];
        json_t *notice = json_pack("{s:s, s:s}", "version", "2027-01-01", "url",
                                   "https://example.org/privacy");
        json_t *cmd;

        (void)state;
        fresh_subject(s);
        assert_int_equal(
            apply(CONSENT_TOPIC_COMMANDS, CONSENT_TYPE_NOTICE, notice),
            ERR_NONE);
        cmd = command(s, "terms_change_notices");
        json_object_set_new(cmd, "privacy_notice_version",
                            json_string("2027-01-01"));
        assert_int_equal(
            apply(CONSENT_TOPIC_COMMANDS, CONSENT_TYPE_GRANTED, cmd), ERR_NONE);
        assert_int_equal(count("SELECT count(*) FROM ledger l JOIN"
                               " privacy_notice p ON p.version ="
                               " l.notice_version WHERE l.subject_id = $1"
                               " AND p.published_at IS NOT NULL",
                               s),
                         1);
}

static void
test_bad_command_is_invalid(void **state)
{
        char s[UUID_STR_LEN];

        (void)state;
        fresh_subject(s);
        assert_int_equal(apply(CONSENT_TOPIC_COMMANDS, CONSENT_TYPE_GRANTED,
                               command(s, "marketing")),
                         ERR_INVALID);
        assert_int_equal(apply(CONSENT_TOPIC_COMMANDS, CONSENT_TYPE_GRANTED,
                               command("not-a-uuid", "feedback_requests")),
                         ERR_INVALID);
}

static void
test_other_referral_events_skipped(void **state)
{
        (void)state;
        assert_int_equal(apply(CONSENT_TOPIC_REFERRALS,
                               "signpost.referral.status_changed.v1",
                               json_pack("{s:s}", "referral_id", REFERRAL)),
                         ERR_NONE);
}

/* The daemon runs as a role that owns nothing (ARCHITECTURE: least
 * privilege): migrated by the schema's owner through the daemon's own
 * start-up path, it can work the ledger but cannot change a row, empty the
 * table, or drop the trigger that keeps it append-only. */
static void
test_runtime_role_cannot_touch_the_ledger(void **state)
{
        char owner[1024], rt[1024], st[6], s[UUID_STR_LEN], sql[256];
        const char *dir = "services/consent/migrations";
        struct db *saved = db, *rdb;
        struct err e = {0};
        long rows = -1;

        (void)state;
        assert_int_equal(testenv_db("consent_test_roles", owner, sizeof(owner)),
                         0);
        assert_int_equal(testenv_roles("consent_test_roles", CONSENT_SCHEMA,
                                       owner, rt, sizeof(owner)),
                         0);
        /* the runtime role alone cannot migrate, nor stand in as owner */
        assert_int_equal(svc_migrate(rt, NULL, CONSENT_SCHEMA, dir, &e), -1);
        assert_int_equal(svc_migrate(rt, rt, CONSENT_SCHEMA, dir, &e), -1);
        assert_int_equal(svc_migrate(rt, owner, CONSENT_SCHEMA, dir, &e), 0);
        assert_int_equal(svc_migrate(rt, NULL, CONSENT_SCHEMA, dir, &e), 0);
        rdb = db_open(rt);
        assert_int_equal(db_ensure(rdb, 5000, &e), 0);
        /* its ordinary work goes through */
        db = rdb;
        fresh_subject(s);
        assert_int_equal(apply(CONSENT_TOPIC_REFERRALS, CONSENT_TYPE_RECEIVED,
                               received(s, true)),
                         ERR_NONE);
        assert_int_equal(
            count("SELECT count(*) FROM ledger WHERE subject_id = $1", s), 3);
        /* what it must not do: each refused for want of the right, before
         * the guard trigger is even asked */
        snprintf(sql, sizeof(sql),
                 "UPDATE ledger SET recorded_by = 'x' WHERE subject_id = '%s'",
                 s);
        assert_string_equal(testenv_sqlstate(db_conn(rdb), sql, st), "42501");
        snprintf(sql, sizeof(sql), "DELETE FROM ledger WHERE subject_id = '%s'",
                 s);
        assert_string_equal(testenv_sqlstate(db_conn(rdb), sql, st), "42501");
        assert_string_equal(
            testenv_sqlstate(db_conn(rdb), "TRUNCATE ledger", st), "42501");
        assert_string_equal(testenv_sqlstate(db_conn(rdb),
                                             "DROP TRIGGER ledger_guard_row"
                                             " ON ledger",
                                             st),
                            "42501");
        assert_string_equal(testenv_sqlstate(db_conn(rdb),
                                             "ALTER TABLE ledger DISABLE"
                                             " TRIGGER ALL",
                                             st),
                            "42501");
        assert_string_equal(
            testenv_sqlstate(db_conn(rdb), "DROP TABLE state", st), "42501");
        assert_string_equal(testenv_sqlstate(db_conn(rdb),
                                             "CREATE TABLE consent.x (a int)",
                                             st),
                            "42501");
        assert_string_equal(
            testenv_sqlstate(db_conn(rdb), "DELETE FROM schema_migrations", st),
            "42501");
        assert_int_equal(
            count("SELECT count(*) FROM ledger WHERE subject_id = $1", s), 3);
        /* and a person's erasure still works, through ledger_erase */
        assert_int_equal(db_begin(rdb, &e), 0);
        assert_int_equal(consent_store_erase(rdb, s, &rows, &e), 0);
        assert_int_equal(db_commit(rdb, &e), 0);
        assert_int_equal(rows, 3);
        assert_int_equal(
            count("SELECT count(*) FROM ledger WHERE subject_id = $1", s), 0);
        db = saved;
        db_free(rdb);
}

static int
setup(void **state)
{
        char conninfo[1024];
        struct err e = {0};

        (void)state;
        if (testenv_db("consent_test_store", conninfo, sizeof(conninfo)) != 0)
                return -1;
        db = db_open(conninfo);
        if (db_exec(db, "CREATE SCHEMA consent", 0, NULL, NULL, &e) != 0)
                return -1;
        db_set_schema(db, CONSENT_SCHEMA);
        db_free(db);
        db = db_open(conninfo);
        db_set_schema(db, CONSENT_SCHEMA);
        if (db_migrate(db, CONSENT_SCHEMA, "services/consent/migrations", &e) !=
            0) {
                fprintf(stderr, "migrate: %s\n", e.msg);
                return -1;
        }
        if (secret_key_random(SECRET_KEY_BYTES, NULL, &key, NULL) != 0)
                return -1;
        ctx.chain_key = key;
        return 0;
}

static int
teardown(void **state)
{
        (void)state;
        db_free(db);
        secret_key_free(key);
        return 0;
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_referral_consents_become_state),
            cmocka_unit_test(
                test_referral_without_feedback_has_no_feedback_grant),
            cmocka_unit_test(test_state_published_on_each_change),
            cmocka_unit_test(test_opt_out_marks_state),
            cmocka_unit_test(test_third_party_referral_does_not_regrant),
            cmocka_unit_test(test_opt_out_stands_through_a_new_referral),
            cmocka_unit_test(test_update_of_ledger_is_refused),
            cmocka_unit_test(test_runtime_role_cannot_touch_the_ledger),
            cmocka_unit_test(test_edited_row_detected_by_verify),
            cmocka_unit_test(test_stored_chain_verifies),
            cmocka_unit_test(test_erasure_removes_subject_and_tombstones),
            cmocka_unit_test(test_notice_version_recorded_with_consent),
            cmocka_unit_test(test_bad_command_is_invalid),
            cmocka_unit_test(test_other_referral_events_skipped),
        };

        return cmocka_run_group_tests(tests, setup, teardown);
}
