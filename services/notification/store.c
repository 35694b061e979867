/*
 * store: every SQL statement of the notification daemon: the delivery log
 * (message rows from intent to outcome, leases, reconciliation), the
 * outcome events queued in the outbox, templates, replicas, and codes.
 * Does not decide anything (policy.c, sender.c, codes.c decide).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "json.h"
#include "notification.h"
#include "outbox.h"

#define TS_UTC(col)                                                            \
        "to_char(" col " AT TIME ZONE 'UTC', "                                 \
        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static const char *
jstr(const json_t *obj, const char *name)
{
        return json_string_value(json_object_get(obj, name));
}

static const char *
nul(const char *s)
{
        return s != NULL && s[0] != '\0' ? s : NULL;
}

int
notify_store_message_add(struct db *db, const json_t *req, const char *channel,
                         const char *index, const char *status,
                         const char *reason, bool *added, struct err *e)
{
        bool final = strcmp(status, "pending") != 0;
        const char *p[12] = {jstr(req, "message_id"),
                             jstr(req, "template"),
                             jstr(req, "audience"),
                             jstr(req, "subject_id"),
                             jstr(req, "purpose"),
                             jstr(req, "referral_id"),
                             jstr(req, "service_id"),
                             nul(channel),
                             nul(index),
                             final ? NULL : jstr(req, "sealed"),
                             status,
                             reason};
        long n = 0;

        if (db_exec(db,
                    "INSERT INTO message (message_id, template, audience,"
                    " subject_id, purpose, referral_id, service_id, channel,"
                    " recipient_index, sealed, status, reason) VALUES ($1,"
                    " $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
                    " ON CONFLICT (message_id) DO NOTHING",
                    12, p, &n, e) < 0)
                return -1;
        *added = n > 0;
        return 0;
}

int
notify_store_messages_add(struct db *db, const char *rows, long *added,
                          struct err *e)
{
        const char *p[1] = {rows};

        return db_exec(
            db,
            "INSERT INTO message (message_id, template, audience,"
            " subject_id, purpose, referral_id, service_id, channel,"
            " recipient_index, sealed, status) SELECT (r->>'message_id')::uuid,"
            " r->>'template', r->>'audience', (r->>'subject_id')::uuid,"
            " r->>'purpose', (r->>'referral_id')::uuid,"
            " (r->>'service_id')::uuid, r->>'channel', r->>'recipient_index',"
            " r->>'sealed', 'pending' FROM json_array_elements($1::json) WITH"
            " ORDINALITY AS x(r, i) ORDER BY x.i"
            " ON CONFLICT (message_id) DO NOTHING",
            1, p, added, e);
}

static void
claim_row(PGresult *r, int i, struct notify_claim *c)
{
#define COPY(f, col) snprintf(c->f, sizeof(c->f), "%s", PQgetvalue(r, i, col))
        COPY(message_id, 0);
        COPY(template, 1);
        COPY(audience, 2);
        COPY(purpose, 3);
        COPY(channel, 4);
        COPY(referral_id, 5);
        c->sealed = PQgetisnull(r, i, 6) ? NULL : strdup(PQgetvalue(r, i, 6));
        c->attempts = atoi(PQgetvalue(r, i, 7));
        c->has_subject = PQgetvalue(r, i, 8)[0] == 't';
        c->state_known = PQgetvalue(r, i, 9)[0] == 't';
        c->opted_out = PQgetvalue(r, i, 10)[0] == 't';
        COPY(standing, 11);
        c->age_ms = atoll(PQgetvalue(r, i, 12));
        COPY(service_name, 13);
        COPY(organisation_name, 14);
#undef COPY
}

int
notify_store_claim(struct db *db, const char *instance, int max,
                   struct notify_claim **out, int *n, struct err *e)
{
        char maxs[16];
        const char *p[2] = {instance, maxs};
        PGresult *r;
        int i;

        snprintf(maxs, sizeof(maxs), "%d", max);
        *out = NULL;
        *n = 0;
        /* A plain index scan of message_due in next_attempt_at order stops
         * at max rows and marks the entries of rows no longer pending as
         * dead as it passes them; the bitmap scan the planner picks from
         * stale statistics during a burst revisits every one of them on
         * every claim, which grows with the burst. */
        if (db_begin(db, e) < 0)
                return -1;
        if (db_exec(db, "SET LOCAL enable_bitmapscan = off", 0, NULL, NULL, e) <
            0) {
                db_rollback(db);
                return -1;
        }
        r = db_query(
            db,
            "WITH due AS (SELECT message_id FROM message WHERE status ="
            " 'pending' AND next_attempt_at <= now() AND (lease_until IS NULL"
            " OR lease_until < now()) ORDER BY next_attempt_at LIMIT $2 FOR"
            " UPDATE SKIP LOCKED), claimed AS (UPDATE message m SET"
            " claimed_by = $1, lease_until = now() + interval '5 minutes'"
            " FROM due WHERE m.message_id = due.message_id RETURNING m.*)"
            " SELECT c.message_id, c.template, c.audience,"
            " coalesce(c.purpose, ''), coalesce(c.channel, ''),"
            " coalesce(c.referral_id::text, ''), c.sealed, c.attempts,"
            " c.subject_id IS NOT NULL, cs.subject_id IS NOT NULL,"
            " coalesce(cs.opted_out, false), coalesce(cs.purposes->>c.purpose,"
            " ''), (extract(epoch FROM now() - c.created_at) * 1000)::bigint,"
            " coalesce(s.name, ''), coalesce(o.name, s.organisation_name, '')"
            " FROM claimed c LEFT JOIN consent_state cs ON cs.subject_id ="
            " c.subject_id LEFT JOIN catalogue_service s ON s.id ="
            " c.service_id LEFT JOIN catalogue_org o ON o.id ="
            " s.organisation_id ORDER BY c.next_attempt_at",
            2, p, e);
        if (r == NULL) {
                db_rollback(db);
                return -1;
        }
        if (db_commit(db, e) < 0) {
                PQclear(r);
                return -1;
        }
        *n = PQntuples(r);
        *out = calloc((size_t)*n + 1, sizeof(**out));
        if (*out == NULL) {
                PQclear(r);
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        }
        for (i = 0; i < *n; i++)
                claim_row(r, i, &(*out)[i]);
        PQclear(r);
        return 0;
}

void
notify_claims_free(struct notify_claim *c, int n)
{
        int i;

        for (i = 0; c != NULL && i < n; i++)
                free(c[i].sealed);
        free(c);
}

int
notify_store_mark_sending(struct db *db, const char *message_id, struct err *e)
{
        const char *p[1] = {message_id};
        long n = 0;

        if (db_exec(db,
                    "UPDATE message SET status = 'sending', updated_at ="
                    " now() WHERE message_id = $1 AND status = 'pending'",
                    1, p, &n, e) < 0)
                return -1;
        return n == 1 ? 0
                      : err_set(e, ERR_CONFLICT, NULL, "message not pending");
}

int
notify_store_event(struct db *db, const char *id, const char *tpl,
                   const char *audience, const char *channel,
                   const char *referral_id, const char *what,
                   const char *reason, struct err *e)
{
        char type[64], at[40];
        struct event ev;
        json_t *j;
        char *text;
        int rc;

        event_now(at);
        snprintf(type, sizeof(type), "signpost.notification.%s.v1", what);
        j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:s}", "message_id", id,
                      "template", tpl, "audience", audience, "channel",
                      nul(channel) ? json_string(channel) : json_null(),
                      "referral_id",
                      nul(referral_id) ? json_string(referral_id) : json_null(),
                      "at", at);
        if (reason != NULL && strcmp(what, "sent") != 0)
                json_object_set_new(j, "reason", json_string(reason));
        text = jsonx_dump(j);
        json_decref(j);
        if (text == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        event_init(&ev, NOTIFY_SOURCE, type, id);
        rc =
            outbox_add(db, NOTIFY_TOPIC_EVENTS, id, &ev, text, strlen(text), e);
        free(text);
        return rc;
}

static const struct {
        const char *sql;
        int np; /* $1 id, $2 reason, then $3 sink and/or delay */
} outcome_sql[] = {
    [NOTIFY_OUT_SENT] = {"UPDATE message SET status = 'sent', sealed = NULL,"
                         " attempts = attempts + 1, sent_at = now(), reason ="
                         " $2, sink = $3, lease_until = NULL, updated_at ="
                         " now() WHERE message_id = $1",
                         3},
    [NOTIFY_OUT_SUPPRESSED] = {"UPDATE message SET status = 'suppressed',"
                               " sealed = NULL, reason = $2, lease_until ="
                               " NULL, updated_at = now() WHERE message_id ="
                               " $1",
                               2},
    [NOTIFY_OUT_FAILED] = {"UPDATE message SET status = 'failed', sealed ="
                           " NULL, attempts = attempts + 1, reason = $2, sink"
                           " = $3, lease_until = NULL, updated_at = now()"
                           " WHERE message_id = $1",
                           3},
    [NOTIFY_OUT_RETRY] = {"UPDATE message SET status = 'pending', attempts ="
                          " attempts + 1, reason = $2, sink = $3,"
                          " lease_until = NULL, next_attempt_at = now() +"
                          " $4::bigint * interval '1 ms', updated_at = now()"
                          " WHERE message_id = $1",
                          4},
    [NOTIFY_OUT_WAIT] = {"UPDATE message SET status = 'pending', reason = $2,"
                         " lease_until = NULL, next_attempt_at = now() +"
                         " $3::bigint * interval '1 ms', updated_at = now()"
                         " WHERE message_id = $1",
                         3},
};

int
notify_store_record(struct db *db, const struct notify_claim *c,
                    const struct notify_result *res, const char *sink,
                    struct err *e)
{
        static const char *const what[] = {[NOTIFY_OUT_SENT] = "sent",
                                           [NOTIFY_OUT_SUPPRESSED] =
                                               "suppressed",
                                           [NOTIFY_OUT_FAILED] = "failed"};
        char delay[24];
        const char *p[4] = {c->message_id, nul(res->reason), sink, delay};

        snprintf(delay, sizeof(delay), "%lld", (long long)res->delay_ms);
        if (res->outcome == NOTIFY_OUT_WAIT)
                p[2] = delay;
        if (db_exec(db, outcome_sql[res->outcome].sql,
                    outcome_sql[res->outcome].np, p, NULL, e) < 0)
                return -1;
        if (res->outcome >= NOTIFY_OUT_RETRY)
                return 0;
        return notify_store_event(db, c->message_id, c->template, c->audience,
                                  c->channel, c->referral_id,
                                  what[res->outcome], nul(res->reason), e);
}

/* sent_event: appends the outbox row of a sent claim to arr. */
static void
sent_event(json_t *arr, const struct notify_claim *c, const char *at)
{
        char ce_id[UUID_STR_LEN];
        json_t *v = json_pack(
            "{s:s, s:s, s:s, s:o, s:o, s:s}", "message_id", c->message_id,
            "template", c->template, "audience", c->audience, "channel",
            nul(c->channel) ? json_string(c->channel) : json_null(),
            "referral_id",
            nul(c->referral_id) ? json_string(c->referral_id) : json_null(),
            "at", at);
        char *text = jsonx_dump(v);

        uuid_v7(ce_id);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s}", "ce_id", ce_id,
                                             "key", c->message_id, "value",
                                             text ? text : "{}"));
        free(text);
        json_decref(v);
}

int
notify_store_record_sent(struct db *db, const struct notify_claim *c,
                         const int *idx, int n, const char *sink, struct err *e)
{
        json_t *ids = json_array(), *evs = json_array();
        char *ids_text = NULL, *evs_text = NULL, at[40];
        const char *p[4];
        int i, rc = -1;

        event_now(at);
        for (i = 0; i < n; i++) {
                json_array_append_new(ids, json_string(c[idx[i]].message_id));
                sent_event(evs, &c[idx[i]], at);
        }
        ids_text = jsonx_dump(ids);
        evs_text = jsonx_dump(evs);
        if (ids_text == NULL || evs_text == NULL) {
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                goto out;
        }
        p[0] = ids_text;
        p[1] = sink;
        p[2] = evs_text;
        p[3] = at;
        /* the rows lib/outbox.c's outbox_add would write, in one statement */
        if (db_exec(db,
                    "UPDATE message SET status = 'sent', sealed = NULL,"
                    " attempts = attempts + 1, sent_at = now(), reason ="
                    " NULL, sink = $2, lease_until = NULL, updated_at ="
                    " now() WHERE message_id IN (SELECT"
                    " json_array_elements_text($1::json)::uuid)",
                    2, p, NULL, e) < 0 ||
            db_exec(
                db,
                "INSERT INTO outbox (ce_id, topic, key, ce_type,"
                " ce_source, ce_time, ce_subject, value) SELECT"
                " (x.r->>'ce_id')::uuid, '" NOTIFY_TOPIC_EVENTS "',"
                " x.r->>'key', 'signpost.notification.sent.v1', '" NOTIFY_SOURCE
                "', $2, x.r->>'key',"
                " convert_to(x.r->>'value', 'UTF8') FROM"
                " json_array_elements($1::json) WITH ORDINALITY AS x(r,"
                " i) ORDER BY x.i",
                2, p + 2, NULL, e) < 0)
                goto out;
        rc = 0;
out:
        free(ids_text);
        free(evs_text);
        json_decref(ids);
        json_decref(evs);
        return rc;
}

int
notify_store_release(struct db *db, const char *instance,
                     char (**ids)[UUID_STR_LEN], int *n, struct err *e)
{
        const char *p[1] = {instance};
        PGresult *r;
        int i;

        *ids = NULL;
        *n = 0;
        if (db_exec(db,
                    "UPDATE message SET lease_until = NULL WHERE claimed_by"
                    " = $1 AND status = 'pending'",
                    1, p, NULL, e) < 0)
                return -1;
        r = db_query(db,
                     "SELECT message_id FROM message WHERE status ="
                     " 'sending' AND (claimed_by = $1 OR lease_until <"
                     " now())",
                     1, p, e);
        if (r == NULL)
                return -1;
        *n = PQntuples(r);
        *ids = calloc((size_t)*n + 1, sizeof(**ids));
        for (i = 0; *ids != NULL && i < *n; i++)
                snprintf((*ids)[i], UUID_STR_LEN, "%s", PQgetvalue(r, i, 0));
        PQclear(r);
        return *ids == NULL ? err_set(e, ERR_TRANSIENT, NULL, "out of memory")
                            : 0;
}

int
notify_store_reconciled(struct db *db, const char *message_id, bool delivered,
                        const char *note, struct err *e)
{
        const char *p[2] = {message_id, note};
        PGresult *r;
        int rc;

        if (!delivered)
                return db_exec(db,
                               "UPDATE message SET status = 'pending',"
                               " lease_until = NULL, updated_at = now()"
                               " WHERE message_id = $1 AND status ="
                               " 'sending'",
                               1, p, NULL, e);
        r = db_query(db,
                     "UPDATE message SET status = 'sent', sealed = NULL,"
                     " attempts = attempts + 1, sent_at = now(), reason = $2,"
                     " lease_until = NULL, updated_at = now() WHERE"
                     " message_id = $1 AND status = 'sending' RETURNING"
                     " template, audience, coalesce(channel, ''),"
                     " coalesce(referral_id::text, '')",
                     2, p, e);
        if (r == NULL)
                return -1;
        rc = PQntuples(r) == 0
                 ? 0
                 : notify_store_event(db, message_id, PQgetvalue(r, 0, 0),
                                      PQgetvalue(r, 0, 1), PQgetvalue(r, 0, 2),
                                      PQgetvalue(r, 0, 3), "sent", NULL, e);
        PQclear(r);
        return rc;
}
