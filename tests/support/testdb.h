/*
 * testdb: what database tests ask of their test database.
 */
#ifndef SIGNPOST_TESTDB_H
#define SIGNPOST_TESTDB_H

#include <stddef.h>

struct db;

/* testdb_migrated: a new database name (dropped first if it exists) with
 * schema made and migrated from migrations (a daemon's migrations/);
 * returns the connection, schema its search path; conninfo (sz bytes)
 * gets the database's conninfo. NULL when a step failed (said on
 * stderr). */
struct db *testdb_migrated(const char *name, const char *schema,
                           const char *migrations, char *conninfo, size_t sz);

/* testdb_count: the number the query sql (one $1 parameter arg, or none
 * when arg is NULL) answers with; the test fails when the query does. */
long testdb_count(struct db *db, const char *sql, const char *arg);

#endif
