/*
 * test_ledger: the pure ledger rules: a chain links and verifies, any
 * edited field or removed row is detected, and the state a history leads
 * to (last action wins, opt-out overrides).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "../consent.h"

#define SUBJECT "0193a000-0000-7000-8000-000000000001"

static struct secret_key *key;

static void
entry(struct consent_entry *r, int n, const char *prev, const char *purpose,
      const char *action)
{
        memset(r, 0, sizeof(*r));
        uuid_v7(r->id);
        snprintf(r->subject_id, sizeof(r->subject_id), SUBJECT);
        snprintf(r->purpose, sizeof(r->purpose), "%s", purpose);
        snprintf(r->action, sizeof(r->action), "%s", action);
        snprintf(r->expressed_via, sizeof(r->expressed_via), "web_form");
        snprintf(r->notice_version, sizeof(r->notice_version), "2026-11-01");
        snprintf(r->recorded_by, sizeof(r->recorded_by), "test");
        snprintf(r->at, sizeof(r->at), "2026-11-24T10:00:0%d.000000Z", n);
        r->n = n;
        snprintf(r->prev_hash, sizeof(r->prev_hash), "%s", prev);
        assert_int_equal(consent_ledger_hash(key, r, r->hash, NULL), 0);
}

/* chain: three rows feedback granted, contact granted, feedback withdrawn */
static void
chain(struct consent_entry rows[3])
{
        entry(&rows[0], 1, CONSENT_GENESIS, "feedback_requests", "granted");
        entry(&rows[1], 2, rows[0].hash, "contact_about_service", "granted");
        entry(&rows[2], 3, rows[1].hash, "feedback_requests", "withdrawn");
}

static void
test_intact_chain_verifies(void **state)
{
        struct consent_entry rows[3];
        int bad = -1;

        (void)state;
        chain(rows);
        assert_true(consent_ledger_verify(key, rows, 3, &bad));
}

static void
test_edited_action_is_detected(void **state)
{
        struct consent_entry rows[3];
        int bad = -1;

        (void)state;
        chain(rows);
        snprintf(rows[1].action, sizeof(rows[1].action), "withdrawn");
        assert_false(consent_ledger_verify(key, rows, 3, &bad));
        assert_int_equal(bad, 1);
}

static void
test_edited_notice_version_is_detected(void **state)
{
        struct consent_entry rows[3];
        int bad = -1;

        (void)state;
        chain(rows);
        snprintf(rows[0].notice_version, sizeof(rows[0].notice_version),
                 "2020-01-01");
        assert_false(consent_ledger_verify(key, rows, 3, &bad));
        assert_int_equal(bad, 0);
}

static void
test_removed_row_is_detected(void **state)
{
        struct consent_entry rows[3];
        int bad = -1;

        (void)state;
        chain(rows);
        rows[1] = rows[2]; /* row 2 deleted */
        assert_false(consent_ledger_verify(key, rows, 2, &bad));
        assert_int_equal(bad, 1);
}

static void
test_rehashed_edit_without_key_is_detected(void **state)
{
        struct consent_entry rows[3];
        struct secret_key *other = NULL;
        int bad = -1;

        (void)state;
        chain(rows);
        assert_int_equal(
            secret_key_random(SECRET_KEY_BYTES, NULL, &other, NULL), 0);
        snprintf(rows[2].action, sizeof(rows[2].action), "granted");
        consent_ledger_hash(other, &rows[2], rows[2].hash, NULL);
        assert_false(consent_ledger_verify(key, rows, 3, &bad));
        assert_int_equal(bad, 2);
        secret_key_free(other);
}

static void
test_state_last_action_wins(void **state)
{
        struct consent_entry rows[3];
        json_t *s;

        (void)state;
        chain(rows);
        s = consent_state_compute(rows, 3);
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(s, "purposes"),
                                              "feedback_requests")),
            "withdrawn");
        assert_string_equal(
            json_string_value(json_object_get(json_object_get(s, "purposes"),
                                              "contact_about_service")),
            "granted");
        assert_true(json_is_false(json_object_get(s, "opted_out")));
        json_decref(s);
}

static void
test_state_opt_out_and_back(void **state)
{
        struct consent_entry rows[3];
        json_t *s;

        (void)state;
        entry(&rows[0], 1, CONSENT_GENESIS, "contact_about_service", "granted");
        entry(&rows[1], 2, rows[0].hash, CONSENT_OPT_OUT, "withdrawn");
        s = consent_state_compute(rows, 2);
        assert_true(json_is_true(json_object_get(s, "opted_out")));
        assert_null(
            json_object_get(json_object_get(s, "purposes"), CONSENT_OPT_OUT));
        json_decref(s);
        entry(&rows[2], 3, rows[1].hash, CONSENT_OPT_OUT, "granted");
        s = consent_state_compute(rows, 3);
        assert_true(json_is_false(json_object_get(s, "opted_out")));
        json_decref(s);
}

static void
test_empty_history_is_known_and_empty(void **state)
{
        json_t *s = consent_state_compute(NULL, 0);

        (void)state;
        assert_int_equal(json_object_size(json_object_get(s, "purposes")), 0);
        assert_true(json_is_false(json_object_get(s, "opted_out")));
        json_decref(s);
}

static void
test_entry_from_json_rejects_unknown_purpose(void **state)
{
        struct consent_entry r;
        struct err e = {0};
        json_t *j = json_pack("{s:s, s:s, s:s}", "subject_id", SUBJECT,
                              "purpose", "marketing", "expressed_via", "api");

        (void)state;
        assert_int_equal(consent_entry_from_json(j, "granted", &r, &e), -1);
        assert_string_equal(e.field, "purpose");
        json_decref(j);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_intact_chain_verifies),
            cmocka_unit_test(test_edited_action_is_detected),
            cmocka_unit_test(test_edited_notice_version_is_detected),
            cmocka_unit_test(test_removed_row_is_detected),
            cmocka_unit_test(test_rehashed_edit_without_key_is_detected),
            cmocka_unit_test(test_state_last_action_wins),
            cmocka_unit_test(test_state_opt_out_and_back),
            cmocka_unit_test(test_empty_history_is_known_and_empty),
            cmocka_unit_test(test_entry_from_json_rejects_unknown_purpose),
        };
        int rc;

        if (secret_key_random(SECRET_KEY_BYTES, NULL, &key, NULL) != 0)
                return 1;
        rc = cmocka_run_group_tests(tests, NULL, NULL);
        secret_key_free(key);
        return rc;
}
