/*
 * test_updates: referral.updates, whose sender is proven by its box (a
 * forged actor, another organisation, a borrowed key are refused), and the
 * status reason, which is found nowhere in plaintext.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <sodium.h>
#include <time.h>

#include "fixture.h"
#include "testenv.h"

/* partner_update: an update boxed with (pk, sk)'s secret key to intake,
 * naming organisation org, as signpost-partner sends it. Returns new
 * text. */
static char *
partner_update(const char *id, const char *org, const struct secret_key *sk,
               const char *inner_extra)
{
        char inner[1024], *b64, *out;
        unsigned char *box = NULL;
        size_t boxlen = 0;
        json_t *o;

        snprintf(inner, sizeof(inner), "{\"referral_id\":\"%s\",%s}", id,
                 inner_extra);
        assert_int_equal(secret_box_to(in.keys.intake_pk, sk,
                                       (const unsigned char *)inner,
                                       strlen(inner), &box, &boxlen, NULL),
                         0);
        b64 = secret_b64_encode(box, boxlen);
        o = json_pack("{ss ss ss}", "referral_id", id, "organisation_id", org,
                      "boxed", b64);
        out = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        free(b64);
        free(box);
        return out;
}

/* gateway_update: an update sealed to intake with the caller as a
 * principal token signed with key, as the gateway sends it. Returns new
 * text. */
static char *
gateway_update(const char *id, const unsigned char *key, const char *role,
               const char *org, const char *status, const char *reason)
{
        struct http_principal p = {.exp = (int64_t)time(NULL) + 600};
        unsigned char *box = NULL;
        size_t boxlen = 0;
        char *token = NULL, *text, *b64, *out;
        json_t *j;

        snprintf(p.sub, sizeof(p.sub), "tester");
        assert_int_equal(http_role_parse(role, &p.role), 0);
        snprintf(p.org, sizeof(p.org), "%s", org ? org : "");
        assert_int_equal(http_principal_sign(key, &p, &token), 0);
        j = json_pack("{ss ss s:s* ss}", "referral_id", id, "status", status,
                      "reason", reason, "principal", token);
        text = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        assert_int_equal(secret_seal(in.keys.intake_pk,
                                     (const unsigned char *)text, strlen(text),
                                     &box, &boxlen, NULL),
                         0);
        b64 = secret_b64_encode(box, boxlen);
        j = json_pack("{ss ss}", "referral_id", id, "sealed", b64);
        out = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        free(b64);
        free(box);
        free(text);
        free(token);
        return out;
}

static enum err_kind
update(const char *id, char *text)
{
        enum err_kind k = apply("referral.updates",
                                "signpost.referral.status_update.v1", id, text);

        free(text);
        return k;
}

static long
status_is(const char *id, const char *status)
{
        char sql[128];

        snprintf(sql, sizeof(sql),
                 "SELECT count(*) FROM referrals WHERE id = $1 AND status ="
                 " '%s'",
                 status);
        return count(sql, id);
}

/* plaintext_hits: rows of any table in schema intake whose text, or the
 * hex of a bytea column, holds needle. */
static long
plaintext_hits(const char *needle)
{
        return count(
            "SELECT coalesce(sum((xpath('/row/c/text()', query_to_xml("
            " format('SELECT count(*) AS c FROM intake.%I t WHERE"
            " strpos(t::text, %L) > 0 OR strpos(t::text, %L) > 0',"
            " table_name, $1::text, encode(convert_to($1, 'UTF8'), 'hex')),"
            " false, true, '')))[1]::text::int), 0)"
            " FROM information_schema.tables WHERE table_schema = 'intake'"
            " AND table_type = 'BASE TABLE'",
            needle);
}

static void
test_update_record_illegal_is_dead_lettered(void **state)
{
        char id[UUID_STR_LEN];

        (void)state;
        assert_int_equal(submit(personal("Upd"), svc_id, id), ERR_NONE);
        assert_int_equal(update(id, partner_update(id, org_id, partner_sk,
                                                   "\"status\":\"completed\"")),
                         ERR_INVALID);
        assert_int_equal(update(id, partner_update(id, org_id, partner_sk,
                                                   "\"status\":\"accepted\"")),
                         ERR_NONE);
        assert_int_equal(status_is(id, "accepted"), 1);
}

/* The hole this closes: a partner wrote {"by": {"role": "admin"}} and
 * intake believed it. */
static void
test_forged_actor_refused_referral_unchanged(void **state)
{
        unsigned char other_pk[SECRET_BOX_PK_BYTES], wrong[32];
        struct secret_key *other_sk = NULL;
        char id[UUID_STR_LEN], other_org[UUID_STR_LEN], text[512], *b;
        char other_b64[96];

        (void)state;
        assert_int_equal(submit(personal("Forge"), svc_id, id), ERR_NONE);
        /* the old body: an actor claimed in the clear */
        snprintf(text, sizeof(text),
                 "{\"referral_id\":\"%s\",\"status\":\"declined\","
                 "\"reason\":\"x\",\"by\":{\"sub\":\"p\",\"role\":"
                 "\"admin\"}}",
                 id);
        assert_int_equal(apply("referral.updates",
                               "signpost.referral.status_update.v1", id, text),
                         ERR_INVALID);
        /* another organisation, with its own registered key */
        assert_int_equal(secret_box_keypair(other_pk, &other_sk, NULL), 0);
        b = secret_b64_encode(other_pk, sizeof(other_pk));
        snprintf(other_b64, sizeof(other_b64), "%s", b);
        free(b);
        uuid_v4(other_org);
        {
                char osvc[UUID_STR_LEN];
                uuid_v4(osvc);
                service(osvc, other_org, other_b64, "active", true);
        }
        assert_int_equal(update(id, partner_update(id, other_org, other_sk,
                                                   "\"status\":\"declined\","
                                                   "\"reason\":\"mine now\"")),
                         ERR_INVALID);
        /* the other organisation's key, claiming to be this one */
        assert_int_equal(update(id, partner_update(id, org_id, other_sk,
                                                   "\"status\":\"accepted\"")),
                         ERR_INVALID);
        /* a box for another referral, replayed under this one's id */
        {
                char other_id[UUID_STR_LEN];
                assert_int_equal(submit(personal("Forge2"), svc_id, other_id),
                                 ERR_NONE);
                char *t = partner_update(other_id, org_id, partner_sk,
                                         "\"status\":\"accepted\"");
                json_t *j = json_loads(t, 0, NULL);
                json_object_set_new(j, "referral_id", json_string(id));
                free(t);
                t = json_dumps(j, JSON_COMPACT);
                json_decref(j);
                assert_int_equal(update(id, t), ERR_INVALID);
        }
        /* "admin" signed with a key that is not the principal key */
        randombytes_buf(wrong, sizeof(wrong));
        assert_int_equal(update(id, gateway_update(id, wrong, "admin", NULL,
                                                   "withdrawn", NULL)),
                         ERR_INVALID);
        assert_int_equal(status_is(id, "received"), 1);
        assert_int_equal(
            count("SELECT count(*) FROM status_history WHERE referral_id = $1",
                  id),
            1);
        /* what the gateway really signed is applied */
        assert_int_equal(
            update(id, gateway_update(id, in.principal_key, "provider", org_id,
                                      "accepted", NULL)),
            ERR_NONE);
        assert_int_equal(status_is(id, "accepted"), 1);
        secret_key_free(other_sk);
}

/* The one path a status changes by, as the gateway's POST
 * /v1/referrals/{id}/status sends it: the provider moves its referral,
 * and what the state machine refuses is dead-lettered, the referral
 * unchanged (intake serves no status route of its own). */
static void
test_the_gateways_update_is_the_path_a_status_changes_by(void **state)
{
        char id[UUID_STR_LEN], other[UUID_STR_LEN];
        /* in order, on one referral; org NULL: the provider's own */
        const struct {
                const char *role, *org, *to;
                enum err_kind want;
                const char *then; /* its status after, NULL: not checked */
        } steps[] = {
            {"provider", NULL, "accepted", ERR_NONE, NULL},
            {"provider", NULL, "contacted", ERR_NONE, NULL},
            /* declining needs a reason; an illegal transition; another
             * organisation's provider; a provider withdrawing */
            {"provider", NULL, "declined", ERR_INVALID, NULL},
            {"provider", NULL, "accepted", ERR_INVALID, NULL},
            {"provider", other, "in_progress", ERR_INVALID, NULL},
            {"provider", NULL, "withdrawn", ERR_INVALID, "contacted"},
            /* an admin withdraws on the person's behalf */
            {"admin", "", "withdrawn", ERR_NONE, "withdrawn"},
        };

        (void)state;
        uuid_v4(other);
        assert_int_equal(submit(personal("Path"), svc_id, id), ERR_NONE);
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
                const char *org = steps[i].org == NULL    ? org_id
                                  : *steps[i].org == '\0' ? NULL
                                                          : steps[i].org;

                assert_int_equal(update(id, gateway_update(id, in.principal_key,
                                                           steps[i].role, org,
                                                           steps[i].to, NULL)),
                                 steps[i].want);
                if (steps[i].then != NULL)
                        assert_int_equal(status_is(id, steps[i].then), 1);
        }
        assert_int_equal(
            count("SELECT count(*) FROM status_history WHERE referral_id = $1",
                  id),
            4);
}

/* A decline reason is free text about a person: sealed on the way in,
 * kept under the person's key, off referral.events; the provider still
 * reads it. */
static void
test_reason_canary_nowhere_in_plaintext(void **state)
{
        static const char canary[] = "CANARY-reason-7f3a9c";
        char id[UUID_STR_LEN], extra[256];
        struct intake_referral r;
        bool found = false;
        struct err e = {0};
        json_t *reason;

        (void)state;
        assert_int_equal(submit(personal("Reason"), svc_id, id), ERR_NONE);
        snprintf(extra, sizeof(extra),
                 "\"status\":\"declined\",\"reason\":\"%s\"", canary);
        assert_int_equal(
            update(id, partner_update(id, org_id, partner_sk, extra)),
            ERR_NONE);
        assert_int_equal(status_is(id, "declined"), 1);
        /* opening the referral to tell the person is audited */
        assert_int_equal(count("SELECT count(*) FROM outbox WHERE topic ="
                               " 'audit.access' AND position($1 in"
                               " convert_from(value, 'UTF8')) > 0 AND"
                               " position('notify_person' in"
                               " convert_from(value, 'UTF8')) > 0",
                               id),
                         1);
        assert_true(plaintext_hits(id) > 0); /* the scan sees rows */
        assert_int_equal(plaintext_hits(canary), 0);
        assert_int_equal(plaintext_hits("Reason"), 0); /* the name, too */
        json_t *ev = outbox_json("referral.events", "\"to\":\"declined\"");
        assert_non_null(ev);
        assert_null(json_object_get(ev, "reason"));
        assert_true(json_is_true(json_object_get(ev, "reason_given")));
        json_decref(ev);
        /* the history row opens to the reason */
        assert_int_equal(
            intake_store_referral_get(db, id, false, &r, &found, &e), 0);
        assert_true(found);
        PGresult *h = intake_store_history(db, id, &e);
        assert_non_null(h);
        int c = PQfnumber(h, "reason_blob");
        assert_true(c >= 0);
        reason =
            intake_reason_open(&in, &r, PQgetvalue(h, PQntuples(h) - 1, c), &e);
        assert_non_null(reason);
        assert_string_equal(json_string_value(reason), canary);
        json_decref(reason);
        PQclear(h);
        intake_referral_fini(&r);
}
static int
setup(void **state)
{
        (void)state;
        return fixture_setup("intake_test_updates");
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_update_record_illegal_is_dead_lettered),
            cmocka_unit_test(test_forged_actor_refused_referral_unchanged),
            cmocka_unit_test(
                test_the_gateways_update_is_the_path_a_status_changes_by),
            cmocka_unit_test(test_reason_canary_nowhere_in_plaintext),
        };

        testenv_only(argc, argv);
        return cmocka_run_group_tests(tests, setup, fixture_teardown);
}
