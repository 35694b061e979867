/*
 * db: one libpq connection with reconnect and backoff, parameterised
 * statements only, transactions, and migrations.
 *
 * A struct db is used by one thread at a time. Every statement goes through
 * PQexecParams (text parameters); there is no call that splices values into
 * SQL. SQLSTATEs map to err kinds: connection loss, serialization failure,
 * deadlock, admin shutdown -> ERR_TRANSIENT; data and integrity errors
 * (classes 22, 23) -> ERR_INVALID; anything else -> ERR_FATAL.
 */
#ifndef SIGNPOST_DB_H
#define SIGNPOST_DB_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "err.h"

struct db;

/* db_open: returns new db, free with db_free(). Does not connect; the first
 * statement (or db_ensure) does. conninfo is copied. */
struct db *db_open(const char *conninfo);
void db_free(struct db *db);
/* db_set_prepare: with on, every statement text run through db_query /
 * db_exec is prepared once per connection and then executed by name (up
 * to 64 texts; later ones run unprepared). For a connection that runs the
 * same few statements many times (a consumer); not for statements whose
 * plan should depend on the values (optional filters folded at planning).
 * PostgreSQL may switch a prepared statement to a generic plan. */
void db_set_prepare(struct db *db, bool on);
/* db_set_custom_plans: with on, every (re)connect sets plan_cache_mode =
 * force_custom_plan, so prepared statements are still planned with their
 * values (parse and analysis saved, plans fit the values). Call before
 * the first statement. */
void db_set_custom_plans(struct db *db, bool on);
/* db_set_schema: every (re)connect sets search_path to schema (copied).
 * Call before the first statement. */
void db_set_schema(struct db *db, const char *schema);

/* db_ensure: connects if not connected, retrying with backoff (100 ms
 * doubling to 5 s) until connected or *stop becomes true or max_wait_ms
 * passes (0 = one try). On failure fills e with ERR_TRANSIENT. */
int db_ensure(struct db *db, int max_wait_ms, struct err *e);
bool db_connected(struct db *db);
/* db_conn: returns borrowed PGconn, valid until the next db_* call that
 * reconnects; NULL when not connected. */
PGconn *db_conn(struct db *db);

/* db_exec: runs a statement that returns no rows needed by the caller.
 * params are text, NULL means SQL NULL. On return *affected (if not NULL)
 * holds the row count. */
int db_exec(struct db *db, const char *sql, int nparams,
            const char *const *params, long *affected, struct err *e);
/* db_query: returns new PGresult (PGRES_TUPLES_OK), free with PQclear(),
 * or NULL with e filled. */
PGresult *db_query(struct db *db, const char *sql, int nparams,
                   const char *const *params, struct err *e);
/* db_query_json: db_query with one parameter, $1: the JSON text of
 * param (a jansson value; for json_to_recordset and the like, so a batch
 * of rows travels in one statement). db_exec_json: the same for a
 * statement whose rows are not wanted. */
struct json_t;
PGresult *db_query_json(struct db *db, const char *sql,
                        const struct json_t *param, struct err *e);
int db_exec_json(struct db *db, const char *sql, const struct json_t *param,
                 struct err *e);
/* db_query_binary: as db_query but params carry explicit lengths and
 * formats (for bytea) and results come back in text. */
PGresult *db_query_bin(struct db *db, const char *sql, int nparams,
                       const char *const *params, const int *lengths,
                       const int *formats, struct err *e);
/* db_query_raw: as db_query but every column comes back in binary (bytea
 * as its bytes, with PQgetlength; cast other types to text in the SQL
 * to read them as strings). */
PGresult *db_query_raw(struct db *db, const char *sql, int nparams,
                       const char *const *params, struct err *e);
/* db_query_generic: as db_query, for a statement whose best plan does not
 * depend on its values (a key lookup, a range of one index): with
 * db_set_prepare on it is planned once per connection and that plan
 * reused, even where db_set_custom_plans has every other statement
 * planned afresh. Costs one SET when the connection's plan mode changes
 * (outside a transaction only; inside one the statement runs in the mode
 * it finds). */
PGresult *db_query_generic(struct db *db, const char *sql, int nparams,
                           const char *const *params, struct err *e);

int db_begin(struct db *db, struct err *e);
int db_commit(struct db *db, struct err *e);
/* db_rollback: never fails loudly; a broken connection is dropped. */
void db_rollback(struct db *db);
/* db_savepoint / db_rollback_to: named "sp" savepoint for per-record
 * isolation inside a batch transaction. */
int db_savepoint(struct db *db, struct err *e);
int db_release(struct db *db, struct err *e);
int db_rollback_to(struct db *db, struct err *e);

/* db_migrate: applies dir/NNN_*.sql files in order that are not yet
 * recorded in schema.schema_migrations, each in its own transaction, under
 * pg_advisory_lock(hashtext(schema)) so replicas can start together. The
 * schema must exist (created by the platform's set-up) and be owned by the
 * connected role (the schema's owner role, not the daemon's runtime role:
 * db_migrate_grant). */
int db_migrate(struct db *db, const char *schema, const char *dir,
               struct err *e);
/* db_migrate_grant: gives the daemon's runtime role (connected as the
 * schema's owner, after db_migrate) what it may do in schema and nothing
 * else: USAGE on the schema, SELECT/INSERT/UPDATE/DELETE on its tables and
 * USAGE/SELECT on its sequences, SELECT only on schema_migrations; then
 * dir/privileges.sql, if present, in the same transaction, with each
 * ":runtime" replaced by the quoted role (where a daemon takes rights
 * away, e.g. UPDATE and DELETE on an append-only table). Everything is
 * revoked first, so the result is the same however often it runs. The
 * role gets no TRUNCATE, TRIGGER, REFERENCES or CREATE, and owns nothing,
 * so it cannot drop or alter a table or its triggers. */
int db_migrate_grant(struct db *db, const char *schema, const char *role,
                     const char *dir, struct err *e);
/* db_migrations_applied: true if every file in dir is recorded. */
bool db_migrations_applied(struct db *db, const char *schema, const char *dir);

/* db_listen: LISTEN channel (identifier checked: [a-z0-9_]+). */
int db_listen(struct db *db, const char *channel, struct err *e);
/* db_wait_notify: waits up to timeout_ms for a notification on any
 * channel this connection listens on; returns 1 if one arrived, 0 on
 * timeout, -1 on error (connection lost: e is TRANSIENT). */
int db_wait_notify(struct db *db, int timeout_ms, struct err *e);

#endif
