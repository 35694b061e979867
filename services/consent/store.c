/*
 * store: every SQL statement of the consent daemon. Appends to the ledger
 * (serialised per subject with a transaction-scoped advisory lock so the
 * chain never forks), reads histories, keeps the state table and the
 * privacy-notice versions, and erases a subject. Does not decide what a
 * command means (consume.c, record.c) nor compute hashes (ledger.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consent.h"

#define TS_UTC(col)                                                            \
        "to_char(" col " AT TIME ZONE 'UTC', "                                 \
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

static const char *
nul(const char *s)
{
        return s[0] != '\0' ? s : NULL;
}

/* chain_head: locks the subject's chain and reads its length, last hash
 * and the normalised time of the new entry. */
static int
chain_head(struct db *db, struct consent_entry *r, struct err *e)
{
        const char *p[2] = {r->subject_id, nul(r->at)};
        PGresult *res;

        if (db_exec(db, "SELECT pg_advisory_xact_lock(hashtext($1))", 1, p,
                    NULL, e) < 0)
                return -1;
        res = db_query(
            db,
            "SELECT coalesce(max(n), 0),"
            " coalesce((SELECT hash FROM ledger WHERE subject_id ="
            " $1 ORDER BY n DESC LIMIT 1), '" CONSENT_GENESIS "'),"
            " " TS_UTC("coalesce($2::timestamptz, now())") " FROM ledger WHERE "
                                                           "subject_id = $1",
            2, p, e);
        if (res == NULL)
                return -1;
        r->n = atoi(PQgetvalue(res, 0, 0)) + 1;
        snprintf(r->prev_hash, sizeof(r->prev_hash), "%s",
                 PQgetvalue(res, 0, 1));
        snprintf(r->at, sizeof(r->at), "%s", PQgetvalue(res, 0, 2));
        PQclear(res);
        return 0;
}

int
consent_store_append(struct db *db, const struct secret_key *key,
                     struct consent_entry *r, struct err *e)
{
        char n[16];
        const char *nv[1] = {nul(r->notice_version)};

        if (chain_head(db, r, e) < 0 ||
            consent_ledger_hash(key, r, r->hash, e) < 0)
                return -1;
        if (nv[0] != NULL &&
            db_exec(db,
                    "INSERT INTO privacy_notice (version) VALUES ($1)"
                    " ON CONFLICT DO NOTHING",
                    1, nv, NULL, e) < 0)
                return -1;
        snprintf(n, sizeof(n), "%d", r->n);
        const char *p[12] = {r->id,      r->subject_id,  nul(r->blind_index),
                             r->purpose, r->action,      r->expressed_via,
                             nv[0],      r->recorded_by, r->at,
                             n,          r->prev_hash,   r->hash};
        long affected = 0;
        if (db_exec(db,
                    "INSERT INTO ledger (id, subject_id, blind_index, purpose,"
                    " action, expressed_via, notice_version, recorded_by, at,"
                    " n, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7,"
                    " $8, $9, $10, $11, $12) ON CONFLICT (id) DO NOTHING",
                    12, p, &affected, e) < 0)
                return -1;
        if (affected == 0)
                return err_set(e, ERR_CONFLICT, "id", "already recorded");
        return 0;
}

static void
row_to_entry(PGresult *res, int i, struct consent_entry *r)
{
#define COPY(f, col) snprintf(r->f, sizeof(r->f), "%s", PQgetvalue(res, i, col))
        COPY(id, 0);
        COPY(subject_id, 1);
        COPY(blind_index, 2);
        COPY(purpose, 3);
        COPY(action, 4);
        COPY(expressed_via, 5);
        COPY(notice_version, 6);
        COPY(recorded_by, 7);
        COPY(at, 8);
        r->n = atoi(PQgetvalue(res, i, 9));
        COPY(prev_hash, 10);
        COPY(hash, 11);
#undef COPY
}

int
consent_store_history(struct db *db, const char *subject_id,
                      struct consent_entry **out, int *n, struct err *e)
{
        const char *p[1] = {subject_id};
        PGresult *res = db_query(
            db,
            "SELECT id, subject_id, coalesce(blind_index, ''), purpose,"
            " action, expressed_via, coalesce(notice_version, ''),"
            " recorded_by, " TS_UTC(
                "at") ", n, prev_hash, hash"
                      " FROM ledger WHERE subject_id = $1 ORDER BY n",
            1, p, e);
        int i;

        *out = NULL;
        *n = 0;
        if (res == NULL)
                return -1;
        *n = PQntuples(res);
        *out = calloc((size_t)*n + 1, sizeof(**out));
        if (*out == NULL) {
                PQclear(res);
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        }
        for (i = 0; i < *n; i++)
                row_to_entry(res, i, &(*out)[i]);
        PQclear(res);
        return 0;
}

int
consent_store_state_put(struct db *db, const char *subject_id,
                        const json_t *state, int seq, char updated_at[40],
                        struct err *e)
{
        char *purposes = json_dumps(json_object_get(state, "purposes"),
                                    JSON_COMPACT | JSON_SORT_KEYS);
        char seqs[16];
        const char *p[4] = {subject_id, purposes,
                            json_is_true(json_object_get(state, "opted_out"))
                                ? "true"
                                : "false",
                            seqs};
        PGresult *res = NULL;
        int rc = -1;

        snprintf(seqs, sizeof(seqs), "%d", seq);
        if (purposes == NULL) {
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                goto out;
        }
        res = db_query(db,
                       "INSERT INTO state (subject_id, purposes, opted_out,"
                       " seq, updated_at) VALUES ($1, $2, $3, $4, now())"
                       " ON CONFLICT (subject_id) DO UPDATE SET purposes ="
                       " $2, opted_out = $3, seq = $4, updated_at = now()"
                       " RETURNING " TS_UTC("updated_at"),
                       4, p, e);
        if (res == NULL)
                goto out;
        snprintf(updated_at, 40, "%s", PQgetvalue(res, 0, 0));
        rc = 0;
out:
        PQclear(res);
        free(purposes);
        return rc;
}

json_t *
consent_store_state_get(struct db *db, const char *subject_id, struct err *e)
{
        const char *p[1] = {subject_id};
        PGresult *res = db_query(
            db,
            "SELECT json_build_object('subject_id', subject_id, 'purposes',"
            " purposes, 'opted_out', opted_out, 'seq', seq, "
            "'updated_at', " TS_UTC(
                "updated_at") ")::text FROM state WHERE subject_id = $1",
            1, p, e);
        json_t *j = NULL;

        if (res == NULL)
                return NULL;
        if (PQntuples(res) == 0)
                err_set(e, ERR_NOT_FOUND, "subject_id", "unknown subject");
        else
                j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        PQclear(res);
        return j;
}

int
consent_store_erase(struct db *db, const char *subject_id, long *rows,
                    struct err *e)
{
        const char *p[1] = {subject_id};

        PGresult *r = db_query(db, "SELECT ledger_erase($1)", 1, p, e);

        if (r == NULL)
                return -1;
        if (rows != NULL)
                *rows = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
        return db_exec(db, "DELETE FROM state WHERE subject_id = $1", 1, p,
                       NULL, e);
}

int
consent_store_notice_put(struct db *db, const char *version,
                         const char *published_at, const char *url,
                         const char *summary, struct err *e)
{
        const char *p[4] = {version, published_at, url, summary};

        return db_exec(db,
                       "INSERT INTO privacy_notice (version, published_at,"
                       " url, summary) VALUES ($1, coalesce($2::timestamptz,"
                       " now()), $3, $4) ON CONFLICT (version) DO UPDATE SET"
                       " published_at = EXCLUDED.published_at, url ="
                       " EXCLUDED.url, summary = EXCLUDED.summary",
                       4, p, NULL, e);
}

json_t *
consent_store_notices(struct db *db, struct err *e)
{
        PGresult *res = db_query(
            db,
            "SELECT coalesce(json_agg(json_build_object('version', version,"
            " 'published_at', " TS_UTC(
                "published_at") ", 'url', url,"
                                " 'summary', summary) ORDER BY "
                                "coalesce(published_at,"
                                " recorded_at) DESC), '[]')::text FROM "
                                "privacy_notice",
            0, NULL, e);
        json_t *j;

        if (res == NULL)
                return NULL;
        j = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
        PQclear(res);
        return j;
}
