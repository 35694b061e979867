/*
 * store_referral: the SQL of the referral-owner replica (schema gateway,
 * table referral_owner): which organisation a referral belongs to, its
 * pseudonymous subject and the privacy-notice version, as
 * signpost.referral.received.v1 told. Kept apart from store.c so the
 * provider and consent routes own their statements. Ids only.
 */
#include <stdio.h>
#include <string.h>

#include "gateway.h"

int
gw_store_owner_put(struct db *db, const json_t *rows, struct err *e)
{
        return db_exec_json(
            db,
            "INSERT INTO referral_owner (referral_id,"
            " organisation_id, subject_id, privacy_notice_version)"
            " SELECT DISTINCT ON (referral_id) referral_id,"
            " organisation_id, subject_id, privacy_notice_version"
            " FROM ROWS FROM (json_to_recordset($1::json) AS"
            " (referral_id uuid, organisation_id uuid,"
            " subject_id uuid, privacy_notice_version text))"
            " WITH ORDINALITY AS r(referral_id, organisation_id,"
            " subject_id, privacy_notice_version, n)"
            " ORDER BY referral_id, n DESC"
            " ON CONFLICT (referral_id) DO"
            " UPDATE SET organisation_id = EXCLUDED.organisation_id,"
            " subject_id = EXCLUDED.subject_id,"
            " privacy_notice_version ="
            " EXCLUDED.privacy_notice_version, updated_at = now()",
            rows, e);
}

int
gw_store_owner_get(struct db *db, const char *referral_id, struct gw_owner *out,
                   struct err *e)
{
        const char *p[1] = {referral_id};
        PGresult *r;
        int rc = -1;

        r = db_query(db,
                     "SELECT coalesce(organisation_id::text, ''), subject_id,"
                     " coalesce(privacy_notice_version, '')"
                     " FROM referral_owner WHERE referral_id = $1",
                     1, p, e);
        if (r == NULL)
                return -1;
        if (PQntuples(r) != 1) {
                err_set(e, ERR_NOT_FOUND, NULL, "no such referral");
                goto out;
        }
        memset(out, 0, sizeof(*out));
        snprintf(out->org, sizeof(out->org), "%s", PQgetvalue(r, 0, 0));
        snprintf(out->subject, sizeof(out->subject), "%s", PQgetvalue(r, 0, 1));
        snprintf(out->notice, sizeof(out->notice), "%s", PQgetvalue(r, 0, 2));
        rc = 0;
out:
        PQclear(r);
        return rc;
}
