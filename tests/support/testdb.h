/*
 * testdb: what database tests ask of their test database.
 */
#ifndef SIGNPOST_TESTDB_H
#define SIGNPOST_TESTDB_H

struct db;

/* testdb_count: the number the query sql (one $1 parameter arg, or none
 * when arg is NULL) answers with; the test fails when the query does. */
long testdb_count(struct db *db, const char *sql, const char *arg);

#endif
