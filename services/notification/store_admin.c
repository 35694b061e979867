/*
 * store_admin: the rest of the notification daemon's SQL: templates, the
 * delivery-log view for admins, the consent.state and catalogue replicas,
 * and one-time codes. (store.c holds the delivery log's write path.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notification.h"

#define TS_UTC(col)                                                            \
        "to_char(" col " AT TIME ZONE 'UTC', "                                 \
        "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

static char *
dup_or_null(PGresult *r, int i, int col)
{
        return PQgetisnull(r, i, col) ? NULL : strdup(PQgetvalue(r, i, col));
}

int
notify_store_templates(struct db *db, struct notify_template **out, int *n,
                       struct err *e)
{
        PGresult *r = db_query(db,
                               "SELECT kind, channel, subject, body_text,"
                               " body_html FROM template",
                               0, NULL, e);
        int i;

        *out = NULL;
        *n = 0;
        if (r == NULL)
                return -1;
        *out = calloc((size_t)PQntuples(r) + 1, sizeof(**out));
        if (*out == NULL) {
                PQclear(r);
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        }
        *n = PQntuples(r);
        for (i = 0; i < *n; i++) {
                struct notify_template *t = &(*out)[i];
                snprintf(t->kind, sizeof(t->kind), "%s", PQgetvalue(r, i, 0));
                snprintf(t->channel, sizeof(t->channel), "%s",
                         PQgetvalue(r, i, 1));
                t->subject = dup_or_null(r, i, 2);
                t->text = dup_or_null(r, i, 3);
                t->html = dup_or_null(r, i, 4);
        }
        PQclear(r);
        return 0;
}

int
notify_store_template_put(struct db *db, const char *kind, const char *channel,
                          const char *subject, const char *text,
                          const char *html, const char *by, struct err *e)
{
        const char *p[6] = {kind, channel, subject, text, html, by};

        return db_exec(db,
                       "INSERT INTO template (kind, channel, subject,"
                       " body_text, body_html, updated_by) VALUES ($1, $2,"
                       " $3, $4, $5, $6) ON CONFLICT (kind, channel) DO"
                       " UPDATE SET subject = $3, body_text = $4, body_html"
                       " = $5, updated_by = $6, updated_at = now()",
                       6, p, NULL, e);
}

/* one_json: runs sql (returning one json text column) with p; new object
 * or NULL with ERR_NOT_FOUND naming field. */
static json_t *
one_json(struct db *db, const char *sql, int np, const char *const *p,
         const char *field, struct err *e)
{
        PGresult *r = db_query(db, sql, np, p, e);
        json_t *j = NULL;

        if (r == NULL)
                return NULL;
        if (PQntuples(r) == 0)
                err_set(e, ERR_NOT_FOUND, field, "not found");
        else
                j = json_loads(PQgetvalue(r, 0, 0), 0, NULL);
        PQclear(r);
        return j;
}

json_t *
notify_store_template_get(struct db *db, const char *kind, const char *channel,
                          struct err *e)
{
        const char *p[2] = {kind, channel};

        return one_json(
            db,
            "SELECT json_build_object('kind', kind, 'channel', channel,"
            " 'subject', subject, 'body_text', body_text, 'body_html',"
            " body_html, 'updated_by', updated_by, 'updated_at', " TS_UTC(
                "updated_at") ")::text FROM template WHERE kind = $1 AND"
                              " channel = $2",
            2, p, "kind", e);
}

json_t *
notify_store_message_get(struct db *db, const char *message_id, struct err *e)
{
        const char *p[1] = {message_id};

        return one_json(
            db,
            "SELECT json_build_object('message_id', message_id, 'template',"
            " template, 'audience', audience, 'subject_id', subject_id,"
            " 'purpose', purpose, 'referral_id', referral_id, 'channel',"
            " channel, 'recipient_index', recipient_index, 'status', status,"
            " 'reason', reason, 'attempts', attempts, 'sink', sink,"
            " 'holds_sealed_recipient', sealed IS NOT NULL, "
            "'created_at', " TS_UTC("created_at") ", 'sent_at', " TS_UTC(
                "sent_at") ")::text FROM message WHERE message_id = $1",
            1, p, "message_id", e);
}

json_t *
notify_store_consent_get(struct db *db, const char *subject_id, struct err *e)
{
        const char *p[1] = {subject_id};

        return one_json(db,
                        "SELECT json_build_object('subject_id', subject_id,"
                        " 'purposes', purposes, 'opted_out', opted_out,"
                        " 'seq', seq, 'updated_at', updated_at)::text FROM"
                        " consent_state WHERE subject_id = $1",
                        1, p, "subject_id", e);
}

int
notify_store_consent_put(struct db *db, const char *subject_id,
                         const json_t *state, struct err *e)
{
        char *purposes =
            json_dumps(json_object_get(state, "purposes"), JSON_COMPACT);
        char seq[24];
        const char *p[5] = {
            subject_id, purposes,
            json_is_true(json_object_get(state, "opted_out")) ? "true"
                                                              : "false",
            seq, json_string_value(json_object_get(state, "updated_at"))};
        int rc;

        snprintf(seq, sizeof(seq), "%lld",
                 (long long)json_integer_value(json_object_get(state, "seq")));
        if (purposes == NULL)
                return err_set(e, ERR_INVALID, "purposes", "missing");
        /* an older state arriving late never replaces a newer one */
        rc = db_exec(db,
                     "INSERT INTO consent_state (subject_id, purposes,"
                     " opted_out, seq, updated_at) VALUES ($1, $2, $3, $4,"
                     " $5) ON CONFLICT (subject_id) DO UPDATE SET purposes ="
                     " $2, opted_out = $3, seq = $4, updated_at = $5,"
                     " received_at = now() WHERE consent_state.seq <= $4",
                     5, p, NULL, e);
        free(purposes);
        return rc;
}

int
notify_store_consent_delete(struct db *db, const char *subject_id,
                            struct err *e)
{
        const char *p[1] = {subject_id};

        return db_exec(db, "DELETE FROM consent_state WHERE subject_id = $1", 1,
                       p, NULL, e);
}

int
notify_store_service_put(struct db *db, const char *id, const char *name,
                         const char *org_id, const char *org_name,
                         struct err *e)
{
        const char *p[4] = {id, name, org_id, org_name};

        return db_exec(db,
                       "INSERT INTO catalogue_service (id, name,"
                       " organisation_id, organisation_name) VALUES ($1, $2,"
                       " $3, $4) ON CONFLICT (id) DO UPDATE SET name = $2,"
                       " organisation_id = $3, organisation_name = $4,"
                       " updated_at = now()",
                       4, p, NULL, e);
}

int
notify_store_org_put(struct db *db, const char *id, const char *name,
                     struct err *e)
{
        const char *p[2] = {id, name};

        return db_exec(db,
                       "INSERT INTO catalogue_org (id, name) VALUES ($1, $2)"
                       " ON CONFLICT (id) DO UPDATE SET name = $2,"
                       " updated_at = now()",
                       2, p, NULL, e);
}

int
notify_store_catalogue_delete(struct db *db, bool org, const char *id,
                              struct err *e)
{
        const char *p[1] = {id};

        return db_exec(db,
                       org ? "DELETE FROM catalogue_org WHERE id = $1"
                           : "DELETE FROM catalogue_service WHERE id = $1",
                       1, p, NULL, e);
}

int
notify_store_code_add(struct db *db, const char *id, const char *subject,
                      const char *index, const char *hash,
                      const char *message_id, char expires_at[40],
                      struct err *e)
{
        const char *p[5] = {id, subject, index, hash, message_id};
        PGresult *r = db_query(
            db,
            "INSERT INTO code (id, subject_id, recipient_index, code_hash,"
            " message_id, expires_at) VALUES ($1, $2, $3, $4, $5, now() +"
            " interval '" NOTIFY_CODE_TTL_TEXT
            "') RETURNING " TS_UTC("expires_at"),
            5, p, e);

        if (r == NULL)
                return -1;
        snprintf(expires_at, 40, "%s", PQgetvalue(r, 0, 0));
        PQclear(r);
        return 0;
}

int
notify_store_code_take(struct db *db, const char *id, char hash[SECRET_HEX_LEN],
                       int *attempts, char subject[UUID_STR_LEN], bool *live,
                       struct err *e)
{
        const char *p[1] = {id};
        PGresult *r = db_query(db,
                               "SELECT code_hash, attempts, subject_id,"
                               " used_at IS NULL AND expires_at > now() FROM"
                               " code WHERE id = $1 FOR UPDATE",
                               1, p, e);

        if (r == NULL)
                return -1;
        if (PQntuples(r) == 0) {
                PQclear(r);
                return err_set(e, ERR_NOT_FOUND, "code_id", "no such code");
        }
        snprintf(hash, SECRET_HEX_LEN, "%s", PQgetvalue(r, 0, 0));
        *attempts = atoi(PQgetvalue(r, 0, 1));
        snprintf(subject, UUID_STR_LEN, "%s", PQgetvalue(r, 0, 2));
        *live = PQgetvalue(r, 0, 3)[0] == 't';
        PQclear(r);
        return 0;
}

int
notify_store_code_attempt(struct db *db, const char *id, bool success,
                          struct err *e)
{
        const char *p[1] = {id};

        return db_exec(db,
                       success ? "UPDATE code SET attempts = attempts + 1,"
                                 " used_at = now() WHERE id = $1"
                               : "UPDATE code SET attempts = attempts + 1"
                                 " WHERE id = $1",
                       1, p, NULL, e);
}
