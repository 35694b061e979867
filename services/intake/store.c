/*
 * store: every SQL statement intake runs, against schema `intake`
 * (search_path is set by the role). Writes run inside the caller's
 * transaction; nothing here begins or commits one. Values arrive already
 * encrypted: this file never sees plaintext personal data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "json.h"

static void
copy_col(const PGresult *r, int row, const char *name, char *out, size_t sz)
{
        int c = PQfnumber(r, name);

        snprintf(out, sz, "%s", c >= 0 ? PQgetvalue(r, row, c) : "");
}

static char *
dup_col(const PGresult *r, int row, const char *name)
{
        int c = PQfnumber(r, name);

        if (c < 0 || PQgetisnull(r, row, c))
                return NULL;
        return strdup(PQgetvalue(r, row, c));
}

/* one_row: runs a query and reports whether it returned a row. */
static PGresult *
one_row(struct db *db, const char *sql, int n, const char *const *p,
        bool *found, struct err *e)
{
        PGresult *r = db_query(db, sql, n, p, e);

        if (r != NULL)
                *found = PQntuples(r) > 0;
        return r;
}

/* The advisory-lock class of blind-index values (the two-key form, so it
 * never meets the outbox relay's one-key lock). */
#define SUBJECT_LOCK_CLASS "1937"

int
intake_store_subjects_lock(struct db *db, const json_t *items, struct err *e)
{
        /* in one order, so two transactions never wait on each other */
        return db_exec_json(
            db,
            "SELECT count(pg_advisory_xact_lock(" SUBJECT_LOCK_CLASS
            ", h)) FROM (SELECT DISTINCT hashtext(v) AS h"
            " FROM json_to_recordset($1::json) AS x(email text,"
            " phone text), LATERAL (VALUES (x.email), (x.phone))"
            " AS i(v) WHERE v IS NOT NULL ORDER BY 1) l",
            items, e);
}

PGresult *
intake_store_subjects_resolve(struct db *db, const json_t *items, struct err *e)
{
        /* the oldest subject with the same email; the rest are added. An
         * email address is one person's; a phone is often a household's
         * landline, so it never makes two referrals one person
         * (docs/privacy.md, "One person, one subject") */
        return db_query_json(
            db,
            "WITH x AS (SELECT * FROM json_to_recordset($1::json) AS x(i int,"
            " email text, phone text, id uuid, wrapped text)),"
            " f AS (SELECT DISTINCT ON (x.i) x.i, s.id, s.wrapped_dek"
            " FROM x JOIN subjects s ON s.email_index = x.email"
            " ORDER BY x.i, s.created_at, s.id),"
            " a AS (INSERT INTO subjects (id, wrapped_dek, email_index,"
            " phone_index) SELECT id, wrapped, email, phone FROM x"
            " WHERE x.i NOT IN (SELECT i FROM f) RETURNING id)"
            " SELECT i, id::text, wrapped_dek, true AS found FROM f"
            " UNION ALL SELECT x.i, a.id::text, NULL, false"
            " FROM a JOIN x ON x.id = a.id",
            items, e);
}

int
intake_store_referrals_add(struct db *db, const json_t *rows, struct err *e)
{
        return db_exec_json(
            db,
            "WITH x AS (SELECT * FROM json_to_recordset($1::json) AS x(id uuid,"
            " reference text, service_id uuid, organisation_id uuid,"
            " subject_id uuid, kind text, flags text[], consents jsonb,"
            " privacy_notice_version text, status_secret_hash text,"
            " postcode_district text, taxonomy_terms jsonb,"
            " personal_blob text, referrer_blob text, special_blob text,"
            " referrer_email_index text, referrer_phone_index text,"
            " submitted_at timestamptz, received_at timestamptz,"
            " routed boolean)),"
            " r AS (INSERT INTO referrals (id, reference, service_id,"
            " organisation_id, subject_id, kind, flags, consents,"
            " privacy_notice_version, status_secret_hash, postcode_district,"
            " taxonomy_terms, personal_blob, referrer_blob, special_blob,"
            " referrer_email_index, referrer_phone_index, submitted_at,"
            " received_at, routed_at) SELECT id, reference, service_id,"
            " organisation_id, subject_id, kind, flags, consents,"
            " privacy_notice_version, status_secret_hash, postcode_district,"
            " coalesce(taxonomy_terms, '[]'), personal_blob, referrer_blob,"
            " special_blob, referrer_email_index, referrer_phone_index,"
            " submitted_at, received_at, CASE WHEN routed THEN now() END"
            " FROM x RETURNING id)"
            " INSERT INTO status_history (referral_id, from_status,"
            " to_status, by_sub, by_role) SELECT id, NULL, 'received',"
            " 'intake', 'system' FROM r",
            rows, e);
}

static void
referral_fill(const PGresult *r, struct intake_referral *x)
{
        memset(x, 0, sizeof(*x));
        copy_col(r, 0, "id", x->id, sizeof(x->id));
        copy_col(r, 0, "reference", x->reference, sizeof(x->reference));
        copy_col(r, 0, "service_id", x->service_id, sizeof(x->service_id));
        copy_col(r, 0, "organisation_id", x->organisation_id,
                 sizeof(x->organisation_id));
        copy_col(r, 0, "subject_id", x->subject_id, sizeof(x->subject_id));
        copy_col(r, 0, "kind", x->kind, sizeof(x->kind));
        copy_col(r, 0, "status", x->status, sizeof(x->status));
        copy_col(r, 0, "received_at", x->received_at, sizeof(x->received_at));
        copy_col(r, 0, "contacted_at", x->contacted_at,
                 sizeof(x->contacted_at));
        copy_col(r, 0, "postcode_district", x->postcode_district,
                 sizeof(x->postcode_district));
        x->routed = PQgetvalue(r, 0, PQfnumber(r, "routed"))[0] == 't';
        x->flags = dup_col(r, 0, "flags");
        x->consents = dup_col(r, 0, "consents");
        x->wrapped_dek = dup_col(r, 0, "wrapped_dek");
        x->personal_blob = dup_col(r, 0, "personal_blob");
        x->referrer_blob = dup_col(r, 0, "referrer_blob");
        x->special_blob = dup_col(r, 0, "special_blob");
}

/* each column once by name (referral_fill reads them by name, and r.*
 * would put the raw received_at, contacted_at and flags first) */
#define REFERRAL_SELECT                                                        \
        "SELECT r.id, r.reference, r.service_id, r.organisation_id,"           \
        " r.subject_id, r.kind, r.status, r.postcode_district, r.consents,"    \
        " r.personal_blob, r.referrer_blob, r.special_blob,"                   \
        " ts_utc(r.received_at) AS received_at,"                               \
        " ts_utc(r.contacted_at) AS contacted_at,"                             \
        " r.routed_at IS NOT NULL AS routed,"                                  \
        " to_json(r.flags)::text AS flags, s.wrapped_dek FROM referrals r"     \
        " JOIN subjects s ON s.id = r.subject_id WHERE r.id = $1"

int
intake_store_referral_get(struct db *db, const char *id, bool lock,
                          struct intake_referral *x, bool *found, struct err *e)
{
        const char *p[1] = {id};
        PGresult *r;

        r = one_row(db,
                    lock ? REFERRAL_SELECT " FOR UPDATE OF r" : REFERRAL_SELECT,
                    1, p, found, e);
        if (r == NULL)
                return -1;
        if (*found)
                referral_fill(r, x);
        PQclear(r);
        return 0;
}

void
intake_referral_fini(struct intake_referral *r)
{
        free(r->flags);
        free(r->consents);
        free(r->wrapped_dek);
        free(r->personal_blob);
        free(r->referrer_blob);
        free(r->special_blob);
        memset(r, 0, sizeof(*r));
}

int
intake_store_history_add(struct db *db, const char *referral_id,
                         const char *from, const char *to,
                         const char *reason_blob, const struct intake_actor *by,
                         struct err *e)
{
        const char *p[7] = {referral_id,
                            from,
                            to,
                            reason_blob,
                            by->sub,
                            by->role,
                            by->org[0] ? by->org : NULL};

        return db_exec(db,
                       "INSERT INTO status_history (referral_id, from_status,"
                       " to_status, reason_blob, by_sub, by_role, by_org)"
                       " VALUES ($1, $2, $3, $4, $5, $6, $7)",
                       7, p, NULL, e);
}

int
intake_store_status_set(struct db *db, const char *id, const char *to,
                        bool contacted, bool closed, struct err *e)
{
        const char *p[4] = {id, to, contacted ? "t" : "f", closed ? "t" : "f"};

        return db_exec(db,
                       "UPDATE referrals SET status = $2, updated_at = now(),"
                       " contacted_at = CASE WHEN $3::boolean THEN"
                       " coalesce(contacted_at, now()) ELSE contacted_at END,"
                       " closed_at = CASE WHEN $4::boolean THEN now()"
                       " ELSE closed_at END WHERE id = $1",
                       4, p, NULL, e);
}

int
intake_store_routed(struct db *db, const char *id, const char *flag,
                    struct err *e)
{
        const char *p[2] = {id, flag};

        return db_exec(db,
                       "UPDATE referrals SET routed_at = now(),"
                       " updated_at = now(),"
                       " flags = array_remove(flags, $2::text) WHERE id = $1",
                       2, p, NULL, e);
}

int
intake_store_flag_set(struct db *db, const char *id, const char *flag, bool on,
                      struct err *e)
{
        const char *p[3] = {id, flag, on ? "t" : "f"};

        return db_exec(db,
                       "UPDATE referrals SET updated_at = now(), flags ="
                       " CASE WHEN $3::boolean THEN array_append("
                       " array_remove(flags, $2::text), $2::text)"
                       " ELSE array_remove(flags, $2::text) END"
                       " WHERE id = $1",
                       3, p, NULL, e);
}

int
intake_store_consent_put(struct db *db, const char *subject, bool withdrawn,
                         bool opted_out, const char *seq,
                         const char *updated_at, bool *applied, bool *changed,
                         struct err *e)
{
        const char *p[5] = {subject, withdrawn ? "withdrawn" : "granted",
                            opted_out ? "t" : "f", seq, updated_at};
        PGresult *r;

        /* changed: a newer state that differs from the one before (or,
         * for a subject not seen yet, from sharing with no opt-out) */
        r = db_query(
            db,
            "WITH old AS (SELECT share_with_provider AS s, opted_out AS o"
            " FROM subject_consent WHERE subject_id = $1),"
            " up AS (INSERT INTO subject_consent AS c (subject_id,"
            " share_with_provider, opted_out, seq, updated_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (subject_id) DO UPDATE"
            " SET share_with_provider = EXCLUDED.share_with_provider,"
            " opted_out = EXCLUDED.opted_out, seq = EXCLUDED.seq,"
            " updated_at = EXCLUDED.updated_at WHERE c.seq < EXCLUDED.seq"
            " RETURNING 1)"
            " SELECT EXISTS (SELECT 1 FROM up), EXISTS (SELECT 1 FROM up)"
            " AND coalesce((SELECT s <> $2 OR o <> $3::boolean FROM old),"
            " $2 = 'withdrawn' OR $3::boolean)",
            5, p, e);
        if (r == NULL)
                return -1;
        *applied = PQgetvalue(r, 0, 0)[0] == 't';
        *changed = PQgetvalue(r, 0, 1)[0] == 't';
        PQclear(r);
        return 0;
}

int
intake_store_consent_drop(struct db *db, const char *subject, struct err *e)
{
        const char *p[1] = {subject};

        return db_exec(db, "DELETE FROM subject_consent WHERE subject_id = $1",
                       1, p, NULL, e);
}

int
intake_store_consent_get(struct db *db, const char *subject, bool *withdrawn,
                         bool *opted_out, struct err *e)
{
        const char *p[1] = {subject};
        bool found = false;
        PGresult *r = one_row(db,
                              "SELECT share_with_provider = 'withdrawn',"
                              " opted_out FROM subject_consent"
                              " WHERE subject_id = $1",
                              1, p, &found, e);

        *withdrawn = *opted_out = false;
        if (r == NULL)
                return -1;
        if (found) {
                *withdrawn = PQgetvalue(r, 0, 0)[0] == 't';
                *opted_out = PQgetvalue(r, 0, 1)[0] == 't';
        }
        PQclear(r);
        return 0;
}

/* rows_of: *out is a new zeroed array of one size-byte element per row
 * of r (NULL when it has none); when out of memory r is cleared and e
 * filled. */
static int
rows_of(PGresult *r, size_t size, void **out, struct err *e)
{
        *out = NULL;
        if (PQntuples(r) > 0 &&
            (*out = calloc((size_t)PQntuples(r), size)) == NULL) {
                PQclear(r);
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        }
        return 0;
}

/* col_copy: column c of row k of r into dst (truncated to dstsz). */
static void
col_copy(char *dst, size_t dstsz, const PGresult *r, int k, int c)
{
        snprintf(dst, dstsz, "%s", PQgetvalue(r, k, c));
}

int
intake_store_subject_referrals(struct db *db, const char *subject,
                               struct intake_subject_referral **rows, size_t *n,
                               struct err *e)
{
        const char *p[1] = {subject};
        PGresult *r;
        void *v;
        int k;

        *rows = NULL;
        *n = 0;
        r = db_query(db,
                     "SELECT id, coalesce(organisation_id::text, ''),"
                     " routed_at IS NOT NULL FROM referrals"
                     " WHERE subject_id = $1 ORDER BY received_at, id",
                     1, p, e);
        if (r == NULL)
                return -1;
        if (rows_of(r, sizeof(**rows), &v, e) < 0)
                return -1;
        *rows = v;
        for (k = 0; k < PQntuples(r); k++) {
                struct intake_subject_referral *w = &(*rows)[k];

                col_copy(w->id, sizeof(w->id), r, k, 0);
                col_copy(w->organisation_id, sizeof(w->organisation_id), r, k,
                         1);
                w->routed = PQgetvalue(r, k, 2)[0] == 't';
        }
        *n = (size_t)k;
        PQclear(r);
        return 0;
}

int
intake_store_held(struct db *db, const char *org_id, char (**ids)[UUID_STR_LEN],
                  size_t *n, struct err *e)
{
        const char *p[1] = {org_id};
        PGresult *r;
        void *v;
        int k;

        *ids = NULL;
        *n = 0;
        r = db_query(db,
                     "SELECT id FROM referrals WHERE organisation_id = $1"
                     " AND routed_at IS NULL"
                     " AND 'partner_key_missing' = ANY (flags)"
                     " AND NOT 'service_closed' = ANY (flags)"
                     " ORDER BY received_at, id FOR UPDATE",
                     1, p, e);
        if (r == NULL)
                return -1;
        if (rows_of(r, sizeof(**ids), &v, e) < 0)
                return -1;
        *ids = v;
        for (k = 0; k < PQntuples(r); k++)
                col_copy((*ids)[k], sizeof((*ids)[k]), r, k, 0);
        *n = (size_t)k;
        PQclear(r);
        return 0;
}

#define SERVICE_SELECT                                                         \
        "SELECT s.id, coalesce(s.organisation_id::text, '')"                   \
        " AS organisation_id, s.name,"                                         \
        " coalesce(s.notice_email, '') AS notice_email,"                       \
        " coalesce(o.partner_public_key, '') AS partner_key,"                  \
        " s.taxonomy_terms::text AS taxonomy_terms,"                           \
        " (s.status = 'active' AND s.accepts_referrals AND NOT"                \
        " s.deleted AND NOT coalesce(o.deleted, false)) AS open"               \
        " FROM services s LEFT JOIN organisations o"                           \
        " ON o.id = s.organisation_id"

static void
service_fill(const PGresult *r, int row, struct intake_service *svc)
{
        copy_col(r, row, "id", svc->id, sizeof(svc->id));
        copy_col(r, row, "organisation_id", svc->organisation_id,
                 sizeof(svc->organisation_id));
        copy_col(r, row, "name", svc->name, sizeof(svc->name));
        copy_col(r, row, "notice_email", svc->notice_email,
                 sizeof(svc->notice_email));
        copy_col(r, row, "partner_key", svc->partner_key,
                 sizeof(svc->partner_key));
        svc->taxonomy_terms = dup_col(r, row, "taxonomy_terms");
        svc->open = PQgetvalue(r, row, PQfnumber(r, "open"))[0] == 't';
}

int
intake_store_service_get(struct db *db, const char *id,
                         struct intake_service *svc, bool *found, struct err *e)
{
        const char *p[1] = {id};
        PGresult *r;

        memset(svc, 0, sizeof(*svc));
        r = one_row(db, SERVICE_SELECT " WHERE s.id = $1", 1, p, found, e);
        if (r == NULL)
                return -1;
        if (*found)
                service_fill(r, 0, svc);
        PQclear(r);
        return 0;
}

PGresult *
intake_store_submit_lookup(struct db *db, const json_t *items, struct err *e)
{
        return db_query_json(db,
                             "SELECT x.i, EXISTS (SELECT 1 FROM referrals"
                             " WHERE id = x.id) AS dup, c.* FROM"
                             " json_to_recordset($1::json) AS x(i int, id uuid,"
                             " service_id uuid) LEFT JOIN LATERAL"
                             " (" SERVICE_SELECT " WHERE s.id = x.service_id) c"
                             " ON true",
                             items, e);
}

void
intake_store_lookup_row(const PGresult *r, int row, bool *dup,
                        struct intake_service *svc, bool *known)
{
        memset(svc, 0, sizeof(*svc));
        *dup = PQgetvalue(r, row, 1)[0] == 't';
        *known = !PQgetisnull(r, row, PQfnumber(r, "id"));
        if (*known)
                service_fill(r, row, svc);
}

int
intake_store_service_put(struct db *db, const char *id, const char *org_id,
                         const char *name, const char *status, bool accepts,
                         const char *notice_email, const char *terms,
                         bool deleted, struct err *e)
{
        const char *p[8] = {id,
                            org_id,
                            name,
                            status,
                            accepts ? "t" : "f",
                            notice_email,
                            terms,
                            deleted ? "t" : "f"};

        return db_exec(
            db,
            "INSERT INTO services AS s (id, organisation_id, name, status,"
            " accepts_referrals, notice_email, taxonomy_terms, deleted)"
            " VALUES ($1, $2, coalesce($3, ''), coalesce($4, 'inactive'), $5,"
            " $6, coalesce($7::jsonb, '[]'), $8) ON CONFLICT (id) DO UPDATE"
            " SET organisation_id = coalesce(EXCLUDED.organisation_id,"
            " s.organisation_id), name = CASE WHEN EXCLUDED.deleted THEN"
            " s.name ELSE EXCLUDED.name END, status = EXCLUDED.status,"
            " accepts_referrals = EXCLUDED.accepts_referrals,"
            " notice_email = EXCLUDED.notice_email,"
            " taxonomy_terms = EXCLUDED.taxonomy_terms,"
            " deleted = EXCLUDED.deleted, updated_at = now()",
            8, p, NULL, e);
}

int
intake_store_org_key(struct db *db, const char *id, char *key, size_t keysz,
                     bool *found, struct err *e)
{
        const char *p[1] = {id};
        PGresult *r = one_row(db,
                              "SELECT partner_public_key FROM organisations"
                              " WHERE id = $1 AND NOT deleted AND"
                              " partner_public_key IS NOT NULL",
                              1, p, found, e);

        if (r == NULL)
                return -1;
        if (*found)
                copy_col(r, 0, "partner_public_key", key, keysz);
        PQclear(r);
        return 0;
}

int
intake_store_org_put(struct db *db, const char *id, const char *name,
                     const char *key, bool deleted, bool *key_added,
                     struct err *e)
{
        const char *p[4] = {id, name, key, deleted ? "t" : "f"};
        PGresult *r;

        *key_added = false;
        r = db_query(
            db,
            "WITH old AS (SELECT partner_public_key AS k, deleted AS d"
            " FROM organisations WHERE id = $1)"
            " INSERT INTO organisations AS o (id, name, partner_public_key,"
            " deleted) VALUES ($1, coalesce($2, ''), $3, $4)"
            " ON CONFLICT (id) DO UPDATE SET name = coalesce($2, o.name),"
            " partner_public_key = CASE WHEN EXCLUDED.deleted THEN"
            " o.partner_public_key ELSE EXCLUDED.partner_public_key END,"
            " deleted = EXCLUDED.deleted, updated_at = now()"
            " RETURNING (NOT $4::boolean AND $3::text IS NOT NULL AND"
            " coalesce((SELECT k IS NULL OR d FROM old), true)) AS added",
            4, p, e);
        if (r == NULL)
                return -1;
        *key_added = PQntuples(r) > 0 && PQgetvalue(r, 0, 0)[0] == 't';
        PQclear(r);
        return 0;
}

PGresult *
intake_store_list(struct db *db, const char *const f[7], struct err *e)
{
        return db_query(
            db,
            "SELECT id, reference, service_id, organisation_id, kind, status,"
            " to_json(flags)::text AS flags,"
            " ts_utc(received_at) AS received_at,"
            " ts_utc(routed_at) AS routed_at,"
            " ts_utc(contacted_at) AS contacted_at,"
            " ts_utc(updated_at) AS updated_at,"
            " count(*) OVER () AS total FROM referrals"
            " WHERE ($1::uuid IS NULL OR organisation_id = $1)"
            " AND ($2::text IS NULL OR status = $2)"
            " AND ($3::uuid IS NULL OR service_id = $3)"
            " AND ($4::timestamptz IS NULL OR received_at >= $4)"
            " AND ($5::timestamptz IS NULL OR received_at < $5)"
            " ORDER BY received_at DESC, id DESC LIMIT $6 OFFSET $7",
            7, f, e);
}

PGresult *
intake_store_history(struct db *db, const char *id, struct err *e)
{
        const char *p[1] = {id};

        return db_query(db,
                        "SELECT from_status, to_status, reason_blob, by_sub,"
                        " by_role, by_org, ts_utc(at) AS at"
                        " FROM status_history WHERE referral_id = $1"
                        " ORDER BY id",
                        1, p, e);
}

int
intake_store_stale(struct db *db, long long cutoff, int limit,
                   struct intake_stale_row **rows, size_t *n, struct err *e)
{
        char lim[16], cut[32];
        const char *p[2] = {lim, cut};
        PGresult *r;
        void *v;
        int k;

        *rows = NULL;
        *n = 0;
        snprintf(lim, sizeof(lim), "%d", limit);
        snprintf(cut, sizeof(cut), "%lld", cutoff);
        r = db_query(
            db,
            "SELECT id, reference, service_id,"
            " coalesce(organisation_id::text, ''),"
            " extract(epoch FROM received_at)::bigint,"
            " reminded_at IS NOT NULL, escalated_at IS NOT NULL FROM referrals"
            " WHERE contacted_at IS NULL AND closed_at IS NULL"
            " AND (reminded_at IS NULL OR escalated_at IS NULL)"
            " AND received_at <= to_timestamp($2::bigint)"
            " ORDER BY received_at LIMIT $1",
            2, p, e);
        if (r == NULL)
                return -1;
        if (rows_of(r, sizeof(**rows), &v, e) < 0)
                return -1;
        *rows = v;
        for (k = 0; k < PQntuples(r); k++) {
                struct intake_stale_row *w = &(*rows)[k];

                col_copy(w->id, sizeof(w->id), r, k, 0);
                col_copy(w->reference, sizeof(w->reference), r, k, 1);
                col_copy(w->service_id, sizeof(w->service_id), r, k, 2);
                col_copy(w->organisation_id, sizeof(w->organisation_id), r, k,
                         3);
                w->received = (time_t)strtoll(PQgetvalue(r, k, 4), NULL, 10);
                w->reminded = PQgetvalue(r, k, 5)[0] == 't';
                w->escalated = PQgetvalue(r, k, 6)[0] == 't';
        }
        *n = (size_t)k;
        PQclear(r);
        return 0;
}

int
intake_store_stale_mark(struct db *db, const char *id, bool escalation,
                        bool *marked, struct err *e)
{
        const char *p[1] = {id};
        long n = 0;
        int rc =
            db_exec(db,
                    escalation ? "UPDATE referrals SET escalated_at = now()"
                                 " WHERE id = $1 AND escalated_at IS NULL"
                               : "UPDATE referrals SET reminded_at = now()"
                                 " WHERE id = $1 AND reminded_at IS NULL",
                    1, p, &n, e);

        *marked = n > 0;
        return rc;
}
