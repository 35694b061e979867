/*
 * signpost-admin: operator commands against the gateway's schema.
 *
 *   signpost-admin token issue --role provider --org ORG_UUID
 *                              [--label TEXT] [--expires 90d]
 *   signpost-admin token issue --role admin [--label TEXT] [--expires 30d]
 *   signpost-admin token issue --role support --expires 8h [--label TEXT]
 *   signpost-admin token list
 *   signpost-admin token revoke TOKEN_ID
 *   signpost-admin partner register ORG_UUID --out DIR
 *
 * partner register: the organisation's broker topic, user and ACLs, and
 * its TLS client certificate written once into DIR (partner.c says more).
 *
 * Environment (token): SIGNPOST_DB (the gateway's conninfo), and the token hash
 * key in SIGNPOST_TOKEN_KEY_FILE or SIGNPOST_SECRETS_DIR/token-hash.key.
 * "issue" prints the id and the token; the token is shown this once and
 * only its keyed hash is stored. Support tokens always need a stated
 * reason on each request and an expiry (at most 7 days).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "db.h"
#include "http.h"
#include "secret.h"
#include "uuid.h"

#define SUPPORT_MAX_S (7 * 24 * 3600L)

struct opts {
        const char *role, *org, *label, *expires;
};

static int
usage(void)
{
        fprintf(stderr,
                "usage: signpost-admin token issue --role provider|admin|"
                "support [--org UUID] [--label TEXT] [--expires N[s|m|h|d]]\n"
                "       signpost-admin token list\n"
                "       signpost-admin token revoke TOKEN_ID\n"
                "       signpost-admin partner register ORG_UUID --out DIR\n");
        return 2;
}

/* seconds: "90d", "8h", "30m", "45s" -> seconds; -1 when malformed. */
static long
seconds(const char *s)
{
        char *end;
        long n = strtol(s, &end, 10);
        long mul = *end == 'd'   ? 86400
                   : *end == 'h' ? 3600
                   : *end == 'm' ? 60
                                 : 1;

        if (end == s || n <= 0 || (*end != '\0' && end[1] != '\0') ||
            (*end != '\0' && strchr("dhms", *end) == NULL))
                return -1;
        return n * mul;
}

static struct db *
connect_db(struct err *e)
{
        const char *ci = getenv("SIGNPOST_DB");
        struct db *db;

        if (ci == NULL || *ci == '\0') {
                err_set(e, ERR_INVALID, "SIGNPOST_DB",
                        "SIGNPOST_DB is not set");
                return NULL;
        }
        db = db_open(ci);
        db_set_schema(db, "gateway");
        if (db_ensure(db, 5000, e) < 0) {
                db_free(db);
                return NULL;
        }
        return db;
}

static struct secret_key *
token_key(struct err *e)
{
        const char *f = getenv("SIGNPOST_TOKEN_KEY_FILE");
        const char *dir = getenv("SIGNPOST_SECRETS_DIR");
        struct secret_key *k = NULL;
        char path[1024];

        if (f == NULL || *f == '\0') {
                snprintf(path, sizeof(path), "%s/token-hash.key",
                         dir && *dir ? dir : ".run/secrets");
                f = path;
        }
        secret_key_load(f, SECRET_KEY_BYTES, NULL, &k, e);
        return k;
}

static int
check(const struct opts *o, long *secs, struct err *e)
{
        enum http_role role;

        *secs = o->expires ? seconds(o->expires) : 0;
        if (o->role == NULL || http_role_parse(o->role, &role) < 0 ||
            role == HTTP_ROLE_PUBLIC)
                return err_set(e, ERR_INVALID, "role",
                               "--role must be provider, admin or support");
        if (*secs < 0)
                return err_set(e, ERR_INVALID, "expires",
                               "--expires must look like 90d, 8h, 30m");
        if (role == HTTP_ROLE_PROVIDER &&
            (o->org == NULL || !uuid_valid(o->org)))
                return err_set(e, ERR_INVALID, "org",
                               "a provider token needs --org ORGANISATION_ID");
        if (role != HTTP_ROLE_PROVIDER && o->org != NULL)
                return err_set(e, ERR_INVALID, "org",
                               "--org is only for provider tokens");
        if (role == HTTP_ROLE_SUPPORT && (*secs == 0 || *secs > SUPPORT_MAX_S))
                return err_set(e, ERR_INVALID, "expires",
                               "a support token needs --expires of at most 7d");
        return 0;
}

static int
issue(struct db *db, const struct opts *o, struct err *e)
{
        struct secret_key *key = NULL;
        char tok[SECRET_TOKEN_LEN], hash[SECRET_HEX_LEN], id[UUID_STR_LEN];
        char secs_s[32];
        long secs;
        int rc = -1;

        if (check(o, &secs, e) < 0 || (key = token_key(e)) == NULL ||
            secret_token_new(tok, e) < 0 ||
            secret_token_hash(key, tok, hash, e) < 0)
                goto out;
        uuid_v4(id);
        snprintf(secs_s, sizeof(secs_s), "%ld", secs);
        const char *p[6] = {id,
                            hash,
                            o->role,
                            o->org,
                            o->label ? o->label : "",
                            secs > 0 ? secs_s : NULL};
        if (db_exec(db,
                    "INSERT INTO api_tokens (id, token_hash, role, org, label,"
                    " reason_required, expires_at) VALUES ($1, $2, $3, $4, $5,"
                    " $3 = 'support', now() + ($6 || ' seconds')::interval)",
                    6, p, NULL, e) < 0)
                goto out;
        printf("id: %s\ntoken: %s\n", id, tok);
        fprintf(stderr, "The token is shown only now; store it safely.\n");
        rc = 0;
out:
        secret_key_free(key);
        return rc;
}

static int
list(struct db *db, struct err *e)
{
        PGresult *r = db_query(
            db,
            "SELECT id, role, coalesce(org::text, '-'), coalesce(to_char("
            "expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
            " '-'), CASE WHEN revoked_at IS NOT NULL THEN 'revoked' WHEN"
            " expires_at <= now() THEN 'expired' ELSE 'active' END, label"
            " FROM api_tokens ORDER BY created_at, id",
            0, NULL, e);

        if (r == NULL)
                return -1;
        printf("%-36s  %-8s  %-36s  %-20s  %-7s  %s\n", "ID", "ROLE", "ORG",
               "EXPIRES", "STATE", "LABEL");
        for (int i = 0; i < PQntuples(r); i++)
                printf("%-36s  %-8s  %-36s  %-20s  %-7s  %s\n",
                       PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                       PQgetvalue(r, i, 2), PQgetvalue(r, i, 3),
                       PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
        PQclear(r);
        return 0;
}

static int
revoke(struct db *db, const char *id, struct err *e)
{
        const char *p[1] = {id};
        long n = 0;

        if (!uuid_valid(id))
                return err_set(e, ERR_INVALID, "id", "not a token id");
        if (db_exec(db,
                    "UPDATE api_tokens SET revoked_at = now() WHERE id = $1"
                    " AND revoked_at IS NULL",
                    1, p, &n, e) < 0)
                return -1;
        if (n == 0)
                return err_set(e, ERR_NOT_FOUND, "id", "no such active token");
        printf("revoked %s\n", id);
        return 0;
}

static int
parse(int argc, char **argv, struct opts *o)
{
        for (int i = 3; i < argc; i += 2) {
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (v == NULL)
                        return -1;
                if (strcmp(argv[i], "--role") == 0)
                        o->role = v;
                else if (strcmp(argv[i], "--org") == 0)
                        o->org = v;
                else if (strcmp(argv[i], "--label") == 0)
                        o->label = v;
                else if (strcmp(argv[i], "--expires") == 0)
                        o->expires = v;
                else
                        return -1;
        }
        return 0;
}

int
main(int argc, char **argv)
{
        struct opts o = {0};
        struct err e = {0};
        struct db *db = NULL;
        int rc = 1;

        if (argc >= 3 && strcmp(argv[1], "partner") == 0) {
                if (strcmp(argv[2], "register") != 0 || argc < 4 ||
                    (argc != 4 && (argc != 6 || strcmp(argv[4], "--out") != 0)))
                        return usage();
                if (partner_register(argv[3], argc == 6 ? argv[5] : NULL, &e) ==
                    0)
                        return 0;
                fprintf(stderr, "signpost-admin: %s\n", e.msg);
                return e.kind == ERR_INVALID || e.kind == ERR_CONFLICT ? 2 : 1;
        }
        if (argc < 3 || strcmp(argv[1], "token") != 0)
                return usage();
        if (strcmp(argv[2], "issue") == 0 && parse(argc, argv, &o) < 0)
                return usage();
        if (strcmp(argv[2], "revoke") == 0 && argc != 4)
                return usage();
        if ((db = connect_db(&e)) == NULL)
                goto out;
        if (strcmp(argv[2], "issue") == 0)
                rc = issue(db, &o, &e) < 0;
        else if (strcmp(argv[2], "list") == 0)
                rc = list(db, &e) < 0;
        else if (strcmp(argv[2], "revoke") == 0)
                rc = revoke(db, argv[3], &e) < 0;
        else
                rc = usage();
out:
        if (rc == 1)
                fprintf(stderr, "signpost-admin: %s\n", e.msg);
        db_free(db);
        return rc;
}
