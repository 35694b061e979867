/*
 * store: every SQL statement of the gateway, against schema `gateway`:
 * token look-up, idempotency keys, and the replicas (catalogue, referral
 * status). Does not decide anything: callers interpret the rows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

static void
copy(char *dst, size_t sz, const char *src)
{
        snprintf(dst, sz, "%s", src ? src : "");
}

int
gw_store_token_find(struct db *db, const char *hash, struct gw_token *out,
                    struct err *e)
{
        const char *p[1] = {hash};
        PGresult *r;
        int rc = -1;

        r = db_query(db,
                     "SELECT id, role, coalesce(org::text, ''),"
                     " reason_required,"
                     " coalesce(extract(epoch FROM expires_at)::bigint, 0),"
                     " revoked_at IS NOT NULL"
                     " FROM api_tokens WHERE token_hash = $1",
                     1, p, e);
        if (r == NULL)
                return -1;
        if (PQntuples(r) != 1) {
                err_set(e, ERR_NOT_FOUND, NULL, "no such token");
                goto out;
        }
        memset(out, 0, sizeof(*out));
        copy(out->id, sizeof(out->id), PQgetvalue(r, 0, 0));
        if (http_role_parse(PQgetvalue(r, 0, 1), &out->role) < 0) {
                err_set(e, ERR_NOT_FOUND, NULL, "token has an unknown role");
                goto out;
        }
        copy(out->org, sizeof(out->org), PQgetvalue(r, 0, 2));
        out->reason_required = PQgetvalue(r, 0, 3)[0] == 't';
        out->expires_at = strtoll(PQgetvalue(r, 0, 4), NULL, 10);
        out->revoked = PQgetvalue(r, 0, 5)[0] == 't';
        rc = 0;
out:
        PQclear(r);
        return rc;
}

int
gw_store_idem_claim(struct db *db, const char *scope, const char *key,
                    const char *body_hash, char id[UUID_STR_LEN],
                    char reference[GW_REFERENCE_LEN], bool *fresh,
                    bool *same_body, bool *acked, struct err *e)
{
        const char *p[5] = {scope, key, body_hash, id, reference};
        PGresult *r;

        r = db_query(db,
                     "WITH ins AS (INSERT INTO idempotency_keys"
                     " (scope, key, body_hash, referral_id, reference)"
                     " VALUES ($1, $2, $3, $4, $5)"
                     " ON CONFLICT (scope, key) DO NOTHING RETURNING 1)"
                     " SELECT true, true, $4::text, $5, false FROM ins"
                     " UNION ALL SELECT false, body_hash = $3,"
                     " referral_id::text, reference, acknowledged"
                     " FROM idempotency_keys"
                     " WHERE scope = $1 AND key = $2"
                     " AND NOT EXISTS (SELECT 1 FROM ins)",
                     5, p, e);
        if (r == NULL)
                return -1;
        if (PQntuples(r) != 1) {
                PQclear(r);
                return err_set(e, ERR_TRANSIENT, NULL,
                               "idempotency key raced; try again");
        }
        *fresh = PQgetvalue(r, 0, 0)[0] == 't';
        *same_body = PQgetvalue(r, 0, 1)[0] == 't';
        copy(id, UUID_STR_LEN, PQgetvalue(r, 0, 2));
        copy(reference, GW_REFERENCE_LEN, PQgetvalue(r, 0, 3));
        *acked = PQgetvalue(r, 0, 4)[0] == 't';
        PQclear(r);
        return 0;
}

int
gw_store_idem_acked(struct db *db, const char *scope, const char *key,
                    struct err *e)
{
        const char *p[2] = {scope, key};

        return db_exec(db,
                       "UPDATE idempotency_keys SET acknowledged = true"
                       " WHERE scope = $1 AND key = $2",
                       2, p, NULL, e);
}

int
gw_store_service_put(struct db *db, const struct gw_service *s, struct err *e)
{
        const char *p[5] = {s->id, s->org[0] ? s->org : NULL, s->name,
                            s->status, s->accepts_referrals ? "t" : "f"};

        return db_exec(db,
                       "INSERT INTO catalogue_services (id, organization_id,"
                       " name, status, accepts_referrals)"
                       " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO"
                       " UPDATE SET organization_id = $2, name = $3,"
                       " status = $4, accepts_referrals = $5,"
                       " updated_at = now()",
                       5, p, NULL, e);
}

int
gw_store_service_delete(struct db *db, const char *id, struct err *e)
{
        const char *p[1] = {id};

        return db_exec(db, "DELETE FROM catalogue_services WHERE id = $1", 1, p,
                       NULL, e);
}

int
gw_store_org_put(struct db *db, const char *id, const char *name, struct err *e)
{
        const char *p[2] = {id, name};

        return db_exec(db,
                       "INSERT INTO catalogue_organisations (id, name)"
                       " VALUES ($1, $2) ON CONFLICT (id) DO UPDATE"
                       " SET name = $2, updated_at = now()",
                       2, p, NULL, e);
}

int
gw_store_org_delete(struct db *db, const char *id, struct err *e)
{
        const char *p[1] = {id};

        return db_exec(db, "DELETE FROM catalogue_organisations WHERE id = $1",
                       1, p, NULL, e);
}

int
gw_store_services_load(struct db *db, struct gw_catalogue *c, struct err *e)
{
        PGresult *r;
        int rc = 0;

        r = db_query(db,
                     "SELECT id, coalesce(organization_id::text, ''), name,"
                     " status, accepts_referrals FROM catalogue_services",
                     0, NULL, e);
        if (r == NULL)
                return -1;
        for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
                struct gw_service s = {0};

                copy(s.id, sizeof(s.id), PQgetvalue(r, i, 0));
                copy(s.org, sizeof(s.org), PQgetvalue(r, i, 1));
                copy(s.name, sizeof(s.name), PQgetvalue(r, i, 2));
                copy(s.status, sizeof(s.status), PQgetvalue(r, i, 3));
                s.accepts_referrals = PQgetvalue(r, i, 4)[0] == 't';
                if (gw_catalogue_put(c, &s) < 0)
                        rc = err_set(e, ERR_FATAL, NULL, "out of memory");
        }
        PQclear(r);
        return rc;
}

int
gw_store_status_add(struct db *db, const json_t *rows, struct err *e)
{
        return db_exec_json(
            db,
            "INSERT INTO referral_status (referral_id, reference,"
            " service_id, updated_at)"
            " SELECT referral_id, reference, service_id,"
            " coalesce(received_at, now())"
            " FROM json_to_recordset($1::json) AS"
            " r(referral_id uuid, reference text, service_id uuid,"
            " received_at timestamptz)"
            " ON CONFLICT (referral_id) DO NOTHING",
            rows, e);
}

int
gw_store_status_set(struct db *db, const char *referral_id, const char *status,
                    struct err *e)
{
        const char *p[2] = {referral_id, status};

        return db_exec(db,
                       "UPDATE referral_status SET status = $2,"
                       " updated_at = now() WHERE referral_id = $1",
                       2, p, NULL, e);
}

int
gw_store_status_get(struct db *db, const char *referral_id,
                    struct gw_status *out, struct err *e)
{
        const char *p[1] = {referral_id};
        PGresult *r;
        int rc = -1;

        r = db_query(db,
                     "SELECT status, reference,"
                     " to_char(updated_at AT TIME ZONE 'UTC',"
                     " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
                     " FROM referral_status WHERE referral_id = $1",
                     1, p, e);
        if (r == NULL)
                return -1;
        if (PQntuples(r) != 1) {
                err_set(e, ERR_NOT_FOUND, NULL, "no such referral");
                goto out;
        }
        copy(out->status, sizeof(out->status), PQgetvalue(r, 0, 0));
        copy(out->reference, sizeof(out->reference), PQgetvalue(r, 0, 1));
        copy(out->updated, sizeof(out->updated), PQgetvalue(r, 0, 2));
        out->replicated = true;
        rc = 0;
out:
        PQclear(r);
        return rc;
}
