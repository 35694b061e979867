/*
 * db: libpq connection, statements, transactions, LISTEN/NOTIFY.
 * Owns one connection and its reconnect policy. Does not own migrations
 * (db_migrate.c) nor any daemon's SQL (each daemon's store.c).
 */
#include "db.h"

#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "log.h"

/* With db_set_prepare on, each distinct statement text is prepared once
 * per connection (parse and analysis saved on every later run). */
#define DB_STMT_MAX 64

struct db_stmt {
        char *sql;          /* copy of the text; NULL = free slot */
        unsigned long hash; /* FNV-1a of sql */
        char name[12];      /* "sp_<n>" on this connection */
};

struct db {
        char *conninfo;
        char *schema;
        PGconn *conn;
        bool prepare;
        bool custom_plans; /* plan_cache_mode = force_custom_plan */
        bool generic_now;  /* the session is in force_generic_plan */
        unsigned nstmts;
        struct db_stmt stmts[DB_STMT_MAX];
};

struct db *
db_open(const char *conninfo)
{
        struct db *db = calloc(1, sizeof(*db));

        if (db == NULL)
                return NULL;
        db->conninfo = strdup(conninfo);
        if (db->conninfo == NULL) {
                free(db);
                return NULL;
        }
        return db;
}

/* stmts_reset: forgets every prepared statement (new connection). */
static void
stmts_reset(struct db *db)
{
        for (unsigned i = 0; i < db->nstmts; i++)
                free(db->stmts[i].sql);
        db->nstmts = 0;
}

void
db_free(struct db *db)
{
        if (db == NULL)
                return;
        stmts_reset(db);
        if (db->conn != NULL)
                PQfinish(db->conn);
        free(db->conninfo);
        free(db->schema);
        free(db);
}

void
db_set_prepare(struct db *db, bool on)
{
        db->prepare = on;
}

void
db_set_custom_plans(struct db *db, bool on)
{
        db->custom_plans = on;
}

/* session_setup: what every new connection gets: the search path, and the
 * plan mode when asked. */
static int
session_setup(struct db *db)
{
        const char *p[1] = {db->schema};
        PGresult *r;
        bool ok;

        if (db->schema != NULL) {
                r = PQexecParams(db->conn,
                                 "SELECT set_config('search_path', "
                                 "quote_ident($1) || ', public', false)",
                                 1, NULL, p, NULL, NULL, 0);
                ok = PQresultStatus(r) == PGRES_TUPLES_OK;
                PQclear(r);
                if (!ok)
                        return -1;
        }
        if (db->custom_plans) {
                r = PQexec(db->conn, "SET plan_cache_mode = force_custom_plan");
                ok = PQresultStatus(r) == PGRES_COMMAND_OK;
                PQclear(r);
                if (!ok)
                        return -1;
        }
        return 0;
}

void
db_set_schema(struct db *db, const char *schema)
{
        free(db->schema);
        db->schema = schema ? strdup(schema) : NULL;
}

/* notices (NOTICE, WARNING) are not errors; keep them off stderr, where
 * they would break the one-line-per-event log format. */
static void
quiet(void *arg, const char *message)
{
        (void)arg;
        (void)message;
}

static int
connect_once(struct db *db, struct err *e)
{
        if (db->conn != NULL)
                PQfinish(db->conn);
        stmts_reset(db); /* a new session has none prepared */
        db->generic_now = false;
        db->conn = PQconnectdb(db->conninfo);
        if (PQstatus(db->conn) == CONNECTION_OK) {
                PQsetNoticeProcessor(db->conn, quiet, NULL);
                if (session_setup(db) == 0)
                        return 0;
        }
        err_set(e, ERR_TRANSIENT, NULL, "database unreachable: %s",
                PQerrorMessage(db->conn));
        PQfinish(db->conn);
        db->conn = NULL;
        return -1;
}

int
db_ensure(struct db *db, int max_wait_ms, struct err *e)
{
        int waited = 0, backoff = 100;

        if (db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK)
                return 0;
        for (;;) {
                if (connect_once(db, e) == 0) {
                        if (waited > 0)
                                log_info("database reconnected", "waited_ms=%d",
                                         waited);
                        return 0;
                }
                if (waited >= max_wait_ms)
                        return -1;
                clock_sleep_ms(backoff);
                waited += backoff;
                backoff = backoff * 2 > 5000 ? 5000 : backoff * 2;
        }
}

bool
db_connected(struct db *db)
{
        return db->conn != NULL && PQstatus(db->conn) == CONNECTION_OK;
}

PGconn *
db_conn(struct db *db)
{
        return db->conn;
}

/* classify: maps a failed result to an err kind by SQLSTATE. */
static enum err_kind
classify(PGconn *conn, const PGresult *r)
{
        const char *st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;

        if (PQstatus(conn) != CONNECTION_OK || st == NULL)
                return ERR_TRANSIENT;
        if (strncmp(st, "08", 2) == 0 || strncmp(st, "40", 2) == 0 ||
            strncmp(st, "57P", 3) == 0 || strcmp(st, "55P03") == 0 ||
            strncmp(st, "53", 2) == 0)
                return ERR_TRANSIENT;
        if (strncmp(st, "22", 2) == 0 || strncmp(st, "23", 2) == 0)
                return ERR_INVALID;
        return ERR_FATAL;
}

/* check: turns r into 0 or -1 with e filled; clears r on failure and
 * drops a broken connection so the next db_ensure reconnects. */
static int
check(struct db *db, PGresult *r, ExecStatusType want, struct err *e)
{
        enum err_kind kind;
        const char *st;

        if (r != NULL && PQresultStatus(r) == want)
                return 0;
        kind = classify(db->conn, r);
        st = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
        err_set(e, kind, NULL, "database: %s%s%s", st ? st : "", st ? " " : "",
                r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY)
                  : PQerrorMessage(db->conn));
        PQclear(r);
        if (PQstatus(db->conn) != CONNECTION_OK) {
                PQfinish(db->conn);
                db->conn = NULL;
        }
        return -1;
}

static unsigned long
fnv1a(const char *s)
{
        unsigned long h = 14695981039346656037UL;

        for (; *s != '\0'; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211UL;
        return h;
}

/* stmt_for: the name sql is prepared under on this connection, preparing
 * it now if needed; NULL when it is not to be prepared (caching off, cache
 * full, out of memory), or when PREPARE failed: then *failed holds its
 * result, which is the statement's own error (running it unprepared
 * would only repeat it, or inside a transaction report the abort). */
static const char *
stmt_for(struct db *db, const char *sql, int nparams, PGresult **failed)
{
        unsigned long h;
        struct db_stmt *st;
        PGresult *r;

        *failed = NULL;
        if (!db->prepare)
                return NULL;
        h = fnv1a(sql);
        for (unsigned i = 0; i < db->nstmts; i++)
                if (db->stmts[i].hash == h &&
                    strcmp(db->stmts[i].sql, sql) == 0)
                        return db->stmts[i].name;
        if (db->nstmts == DB_STMT_MAX)
                return NULL;
        st = &db->stmts[db->nstmts];
        if ((st->sql = strdup(sql)) == NULL)
                return NULL;
        snprintf(st->name, sizeof(st->name), "sp_%u", db->nstmts);
        r = PQprepare(db->conn, st->name, sql, nparams, NULL);
        if (r == NULL || PQresultStatus(r) != PGRES_COMMAND_OK) {
                free(st->sql);
                st->sql = NULL;
                *failed = r;
                return NULL;
        }
        PQclear(r);
        st->hash = h;
        db->nstmts++;
        return st->name;
}

/* plan_mode: puts the session in force_generic_plan (generic) or back in
 * force_custom_plan; only with custom plans on, prepared statements and no
 * transaction open (a rollback would undo the SET unseen; without a
 * connection the status is unknown, so nothing is done). */
static void
plan_mode(struct db *db, bool generic)
{
        PGresult *r;

        if (!db->custom_plans || !db->prepare || db->generic_now == generic ||
            PQtransactionStatus(db->conn) != PQTRANS_IDLE)
                return;
        r = PQexec(db->conn, generic
                                 ? "SET plan_cache_mode = force_generic_plan"
                                 : "SET plan_cache_mode = force_custom_plan");
        if (PQresultStatus(r) == PGRES_COMMAND_OK)
                db->generic_now = generic;
        PQclear(r);
}

static PGresult *
query(struct db *db, const char *sql, int nparams, const char *const *params,
      const int *lengths, const int *formats, int result_format, bool generic,
      struct err *e)
{
        const char *name;
        PGresult *r = NULL;

        if (db->conn == NULL && db_ensure(db, 0, e) != 0)
                return NULL;
        plan_mode(db, generic);
        name = stmt_for(db, sql, nparams, &r);
        if (name != NULL)
                r = PQexecPrepared(db->conn, name, nparams, params, lengths,
                                   formats, result_format);
        else if (r == NULL)
                r = PQexecParams(db->conn, sql, nparams, NULL, params, lengths,
                                 formats, result_format);
        if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK)
                return r;
        if (check(db, r, PGRES_TUPLES_OK, e) != 0)
                return NULL;
        return r;
}

PGresult *
db_query_bin(struct db *db, const char *sql, int nparams,
             const char *const *params, const int *lengths, const int *formats,
             struct err *e)
{
        return query(db, sql, nparams, params, lengths, formats, 0, false, e);
}

PGresult *
db_query_raw(struct db *db, const char *sql, int nparams,
             const char *const *params, struct err *e)
{
        return query(db, sql, nparams, params, NULL, NULL, 1, false, e);
}

PGresult *
db_query_generic(struct db *db, const char *sql, int nparams,
                 const char *const *params, struct err *e)
{
        return query(db, sql, nparams, params, NULL, NULL, 0, true, e);
}

PGresult *
db_query(struct db *db, const char *sql, int nparams, const char *const *params,
         struct err *e)
{
        return db_query_bin(db, sql, nparams, params, NULL, NULL, e);
}

int
db_exec(struct db *db, const char *sql, int nparams, const char *const *params,
        long *affected, struct err *e)
{
        PGresult *r = db_query(db, sql, nparams, params, e);

        if (r == NULL)
                return -1;
        if (affected != NULL)
                *affected = strtol(PQcmdTuples(r), NULL, 10);
        PQclear(r);
        return 0;
}

static int
simple(struct db *db, const char *sql, struct err *e)
{
        return db_exec(db, sql, 0, NULL, NULL, e);
}

int
db_begin(struct db *db, struct err *e)
{
        plan_mode(db, false); /* a transaction runs in the default */
        return simple(db, "BEGIN", e);
}

int
db_commit(struct db *db, struct err *e)
{
        PGresult *r;

        if (db->conn == NULL)
                return err_set(e, ERR_TRANSIENT, NULL,
                               "database: no connection");
        r = PQexec(db->conn, "COMMIT");
        /* A failed transaction answers COMMIT with ROLLBACK: not a commit. */
        if (r != NULL && PQresultStatus(r) == PGRES_COMMAND_OK &&
            strcmp(PQcmdStatus(r), "COMMIT") != 0) {
                PQclear(r);
                return err_set(e, ERR_TRANSIENT, NULL,
                               "database: transaction was rolled back");
        }
        if (check(db, r, PGRES_COMMAND_OK, e) != 0)
                return -1;
        PQclear(r);
        return 0;
}

void
db_rollback(struct db *db)
{
        if (db->conn == NULL)
                return;
        PQclear(PQexec(db->conn, "ROLLBACK"));
        if (PQstatus(db->conn) != CONNECTION_OK) {
                PQfinish(db->conn);
                db->conn = NULL;
        }
}

int
db_savepoint(struct db *db, struct err *e)
{
        return simple(db, "SAVEPOINT sp", e);
}

int
db_release(struct db *db, struct err *e)
{
        return simple(db, "RELEASE SAVEPOINT sp", e);
}

int
db_rollback_to(struct db *db, struct err *e)
{
        return simple(db, "ROLLBACK TO SAVEPOINT sp", e);
}

int
db_listen(struct db *db, const char *channel, struct err *e)
{
        char sql[96];

        if (strlen(channel) > 63 ||
            strspn(channel, "abcdefghijklmnopqrstuvwxyz0123456789_") !=
                strlen(channel))
                return err_set(e, ERR_INVALID, "channel", "bad channel name");
        snprintf(sql, sizeof(sql), "LISTEN %s", channel);
        return simple(db, sql, e);
}

int
db_wait_notify(struct db *db, int timeout_ms, struct err *e)
{
        struct pollfd pfd;
        PGnotify *n;
        int got = 0;

        if (db->conn == NULL)
                return err_set(e, ERR_TRANSIENT, NULL,
                               "database: no connection");
        PQconsumeInput(db->conn);
        while ((n = PQnotifies(db->conn)) != NULL) {
                got = 1;
                PQfreemem(n);
        }
        if (got)
                return 1;
        pfd.fd = PQsocket(db->conn);
        pfd.events = POLLIN;
        if (poll(&pfd, 1, timeout_ms) <= 0)
                return 0;
        if (!PQconsumeInput(db->conn)) {
                PQfinish(db->conn);
                db->conn = NULL;
                return err_set(e, ERR_TRANSIENT, NULL, "database: lost");
        }
        while ((n = PQnotifies(db->conn)) != NULL) {
                got = 1;
                PQfreemem(n);
        }
        return got;
}

PGresult *
db_query_json(struct db *db, const char *sql, const json_t *param,
              struct err *e)
{
        char *text = jsonx_dump(param);
        const char *p[1] = {text};
        PGresult *r;

        if (text == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                return NULL;
        }
        r = db_query(db, sql, 1, p, e);
        free(text);
        return r;
}

int
db_exec_json(struct db *db, const char *sql, const json_t *param, struct err *e)
{
        PGresult *r = db_query_json(db, sql, param, e);

        PQclear(r);
        return r != NULL ? 0 : -1;
}
