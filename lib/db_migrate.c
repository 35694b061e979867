/*
 * db_migrate: schema migrations. Owns the schema_migrations table and the
 * platform migrations every daemon shares (outbox, inbox); does not own any
 * daemon's own tables (services/<daemon>/migrations/NNN_*.sql).
 */
#include "db.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct builtin {
        const char *name;
        const char *sql;
};

/* The tables lib/outbox.c and lib/inbox.c rely on. Names start with 000 so
 * they sort before a daemon's own 001. */
static const struct builtin builtins[] = {
    {"000_platform_outbox.sql",
     "CREATE TABLE outbox ("
     " seq bigserial PRIMARY KEY,"
     " ce_id uuid NOT NULL UNIQUE,"
     " topic text NOT NULL,"
     " key text NOT NULL,"
     " ce_type text NOT NULL,"
     " ce_source text NOT NULL,"
     " ce_time text NOT NULL,"
     " ce_subject text,"
     " value bytea,"
     " created_at timestamptz NOT NULL DEFAULT now());"
     "CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS"
     " $$BEGIN PERFORM pg_notify('outbox_' || TG_TABLE_SCHEMA, '');"
     " RETURN NULL; END$$;"
     "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox"
     " FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();"},
    {"000_platform_inbox.sql",
     "CREATE TABLE inbox ("
     " consumer text NOT NULL,"
     " ce_id uuid NOT NULL,"
     " handled_at timestamptz NOT NULL DEFAULT now(),"
     " PRIMARY KEY (consumer, ce_id));"
     "CREATE INDEX inbox_handled_at ON inbox (handled_at);"},
    {"000_platform_inbox_reason.sql",
     "ALTER TABLE inbox ADD COLUMN reason text;"
     "COMMENT ON COLUMN inbox.reason IS"
     " 'why the record was dead-lettered; NULL when applied';"},
    /* the outbox is a queue: every row is deleted soon after it is
     * written, so by the default rule (20 % of a table that is nearly
     * always empty) its dead rows piled up for minutes and the relay's
     * scan went through them all; vacuumed once 1,000 are dead instead,
     * unthrottled (it is small) */
    {"000_platform_outbox_vacuum.sql",
     "ALTER TABLE outbox SET (autovacuum_vacuum_scale_factor = 0,"
     " autovacuum_vacuum_threshold = 1000,"
     " autovacuum_vacuum_cost_delay = 0);"},
};

static int
name_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

/* list_files: returns new sorted array of NNN_*.sql names (free each and
 * the array), count in *n. A missing dir is an empty list. */
static char **
list_files(const char *dir, size_t *n)
{
        DIR *d = opendir(dir);
        struct dirent *de;
        char **names = NULL;
        size_t cap = 0;

        *n = 0;
        if (d == NULL)
                return NULL;
        while ((de = readdir(d)) != NULL) {
                size_t len = strlen(de->d_name);

                if (len < 8 || strcmp(de->d_name + len - 4, ".sql") != 0 ||
                    strspn(de->d_name, "0123456789") != 3 ||
                    de->d_name[3] != '_')
                        continue;
                if (*n == cap) {
                        char **more;

                        cap = cap ? cap * 2 : 16;
                        more = realloc(names, cap * sizeof(*names));
                        if (more == NULL)
                                break; /* apply what was listed; the rest
                                        * shows as not applied in /readyz */
                        names = more;
                }
                names[(*n)++] = strdup(de->d_name);
        }
        closedir(d);
        if (*n > 0)
                qsort(names, *n, sizeof(*names), name_cmp);
        return names;
}

static char *
read_file(const char *path)
{
        FILE *f = fopen(path, "rb");
        char *buf = NULL;
        long len;

        if (f == NULL)
                return NULL;
        if (fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 &&
            fseek(f, 0, SEEK_SET) == 0 && (buf = malloc(len + 1)) != NULL) {
                if (fread(buf, 1, len, f) != (size_t)len) {
                        free(buf);
                        buf = NULL;
                } else {
                        buf[len] = '\0';
                }
        }
        fclose(f);
        return buf;
}

static int
set_path(struct db *db, const char *schema, struct err *e)
{
        const char *p[1] = {schema};
        PGresult *r = db_query(db,
                               "SELECT set_config('search_path', "
                               "quote_ident($1) || ', public', false)",
                               1, p, e);

        if (r == NULL)
                return -1;
        PQclear(r);
        return 0;
}

static bool
applied(struct db *db, const char *name)
{
        const char *p[1] = {name};
        PGresult *r = db_query(db,
                               "SELECT 1 FROM schema_migrations "
                               "WHERE name = $1",
                               1, p, NULL);
        bool yes = r != NULL && PQntuples(r) == 1;

        PQclear(r);
        return yes;
}

/* apply_one: runs sql and records name, in one transaction. The SQL is
 * trusted (ours), so it goes through the simple-query protocol, which
 * allows several statements. */
static int
apply_one(struct db *db, const char *name, const char *sql, struct err *e)
{
        const char *p[1] = {name};
        PGresult *r;

        if (applied(db, name))
                return 0;
        if (db_begin(db, e) != 0)
                return -1;
        r = PQexec(db_conn(db), sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK &&
            PQresultStatus(r) != PGRES_TUPLES_OK) {
                err_set(e, ERR_FATAL, name, "migration %s failed: %s", name,
                        PQresultErrorMessage(r));
                PQclear(r);
                db_rollback(db);
                return -1;
        }
        PQclear(r);
        if (db_exec(db, "INSERT INTO schema_migrations (name) VALUES ($1)", 1,
                    p, NULL, e) != 0 ||
            db_commit(db, e) != 0) {
                db_rollback(db);
                return -1;
        }
        log_info("migration applied", "name=%s", name);
        return 0;
}

static int
lock(struct db *db, const char *schema, bool on, struct err *e)
{
        const char *p[1] = {schema};

        return db_exec(db,
                       on ? "SELECT pg_advisory_lock(hashtext($1))"
                          : "SELECT pg_advisory_unlock(hashtext($1))",
                       1, p, NULL, e);
}

int
db_migrate(struct db *db, const char *schema, const char *dir, struct err *e)
{
        char **files = NULL, path[1024], *sql;
        size_t n = 0, i;
        int rc = -1;

        if (db_ensure(db, 0, e) != 0 || set_path(db, schema, e) != 0 ||
            lock(db, schema, true, e) != 0)
                return -1;
        if (db_exec(db,
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " name text PRIMARY KEY,"
                    " applied_at timestamptz NOT NULL DEFAULT now())",
                    0, NULL, NULL, e) != 0)
                goto out;
        for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
                if (apply_one(db, builtins[i].name, builtins[i].sql, e) != 0)
                        goto out;
        files = list_files(dir, &n);
        for (i = 0; i < n; i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
                if ((sql = read_file(path)) == NULL) {
                        err_set(e, ERR_FATAL, files[i], "cannot read %s", path);
                        goto out;
                }
                if (apply_one(db, files[i], sql, e) != 0) {
                        free(sql);
                        goto out;
                }
                free(sql);
        }
        rc = 0;
out:
        lock(db, schema, false, NULL);
        for (i = 0; i < n; i++)
                free(files[i]);
        free(files);
        return rc;
}

bool
db_migrations_applied(struct db *db, const char *schema, const char *dir)
{
        char **files;
        size_t n, i;
        bool ok = true;

        (void)schema;
        files = list_files(dir, &n);
        for (i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
                ok = ok && applied(db, builtins[i].name);
        for (i = 0; i < n; i++) {
                ok = ok && applied(db, files[i]);
                free(files[i]);
        }
        free(files);
        return ok;
}

/* quote_role: "role" with inner quotes doubled; NULL when it does not fit
 * or is empty. */
static const char *
quote_role(const char *role, char *buf, size_t n)
{
        size_t j = 0;

        if (role == NULL || role[0] == '\0' || n < 3)
                return NULL;
        buf[j++] = '"';
        for (const char *c = role; *c != '\0'; c++) {
                if (j + 3 >= n)
                        return NULL;
                if (*c == '"')
                        buf[j++] = '"';
                buf[j++] = *c;
        }
        buf[j++] = '"';
        buf[j] = '\0';
        return buf;
}

/* subst: sql with every ":runtime" replaced by the quoted role (new
 * string, free it). */
static char *
subst(const char *sql, const char *quoted)
{
        size_t ql = strlen(quoted), n = 0, cap = strlen(sql) + 1;
        const char *p;
        char *out, *o;

        for (p = sql; (p = strstr(p, ":runtime")) != NULL; p += 8)
                cap += ql;
        if ((out = malloc(cap)) == NULL)
                return NULL;
        for (o = out, p = sql; *p != '\0';) {
                if (strncmp(p, ":runtime", 8) == 0) {
                        memcpy(o, quoted, ql);
                        o += ql;
                        p += 8;
                        n++;
                } else {
                        *o++ = *p++;
                }
        }
        *o = '\0';
        return out;
}

static int
exec_simple(struct db *db, const char *what, const char *sql, struct err *e)
{
        PGresult *r = PQexec(db_conn(db), sql);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK ||
                 PQresultStatus(r) == PGRES_TUPLES_OK;

        if (!ok)
                err_set(e, ERR_FATAL, what, "%s failed: %s", what,
                        PQresultErrorMessage(r));
        PQclear(r);
        return ok ? 0 : -1;
}

int
db_migrate_grant(struct db *db, const char *schema, const char *role,
                 const char *dir, struct err *e)
{
        char qr[256], qs[256], path[1024], *sql = NULL, *own = NULL;
        const char *r = quote_role(role, qr, sizeof(qr));
        const char *s = quote_role(schema, qs, sizeof(qs));
        int rc = -1;

        if (r == NULL || s == NULL)
                return err_set(e, ERR_INVALID, "role", "role or schema name");
        /* everything the role held is taken back, then the daemon's
         * ordinary rights (rows only: no TRUNCATE, TRIGGER, REFERENCES, and
         * no DDL, since the schema and its tables belong to the owner),
         * then what the daemon's privileges.sql takes away or adds */
        if (asprintf(&sql,
                     "REVOKE ALL ON ALL TABLES IN SCHEMA %s FROM %s;"
                     "REVOKE ALL ON ALL SEQUENCES IN SCHEMA %s FROM %s;"
                     "REVOKE CREATE ON SCHEMA %s FROM %s;"
                     "GRANT USAGE ON SCHEMA %s TO %s;"
                     "GRANT SELECT, INSERT, UPDATE, DELETE"
                     " ON ALL TABLES IN SCHEMA %s TO %s;"
                     "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %s TO %s;"
                     "REVOKE INSERT, UPDATE, DELETE ON schema_migrations"
                     " FROM %s;",
                     s, r, s, r, s, r, s, r, s, r, s, r, r) < 0) {
                sql = NULL;
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        }
        snprintf(path, sizeof(path), "%s/privileges.sql", dir ? dir : "");
        if (dir != NULL && (own = read_file(path)) != NULL) {
                char *t = subst(own, r);

                free(own);
                own = t;
                if (own == NULL) {
                        free(sql);
                        return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                }
        }
        if (db_ensure(db, 0, e) != 0 || set_path(db, schema, e) != 0 ||
            lock(db, schema, true, e) != 0)
                goto out;
        if (db_begin(db, e) == 0) {
                if (exec_simple(db, "grants", sql, e) == 0 &&
                    (own == NULL ||
                     exec_simple(db, "privileges.sql", own, e) == 0) &&
                    db_commit(db, e) == 0)
                        rc = 0;
                else
                        db_rollback(db);
        }
        lock(db, schema, false, NULL);
        if (rc == 0)
                log_info("privileges granted", "schema=%s role=%s", schema,
                         role);
out:
        free(sql);
        free(own);
        return rc;
}
