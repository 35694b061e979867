/*
 * testenv: what the test runner (tests/run.sh) provides to test programs.
 *
 *   SIGNPOST_TEST_PG     conninfo of a superuser on a throwaway PostgreSQL
 *   SIGNPOST_TEST_KAFKA  bootstrap address of a kafka-mock broker
 *   SIGNPOST_TEST_TMP    a scratch directory removed after the run
 *
 * A test that needs one of these and does not find it fails (it does not
 * silently pass). A test program given an argument runs only the tests
 * that match it (testenv_only).
 */
#ifndef SIGNPOST_TESTENV_H
#define SIGNPOST_TESTENV_H

#include <stddef.h>

/* testenv_db: (re)creates database `name` on the test server and writes
 * its superuser conninfo into out. Returns 0, or -1 (message on stderr). */
int testenv_db(const char *name, char *out, size_t outsz);
/* testenv_roles: in database `name` (made by testenv_db), a schema owned
 * by a new role <name>_owner, and a role <name>_rt with no rights yet, as a
 * daemon's runtime role is before its migrations run; writes their
 * conninfos. Returns 0, or -1 (message on stderr). */
int testenv_roles(const char *name, const char *schema, char *owner,
                  char *runtime, size_t n);
/* testenv_sqlstate: runs sql on conn (a PGconn *) and writes its
 * SQLSTATE into buf ("00000" when it succeeded; "42501": not allowed). */
const char *testenv_sqlstate(void *conn, const char *sql, char buf[6]);
/* testenv_kafka: returns borrowed bootstrap string, or NULL. */
const char *testenv_kafka(void);
/* testenv_tmp: returns borrowed scratch directory (default /tmp). */
const char *testenv_tmp(void);
/* testenv_unique: writes prefix + pid + counter into out (topic/group
 * names that do not collide between test programs). */
void testenv_unique(const char *prefix, char *out, size_t outsz);
/* testenv_only: a cmocka program's own test filter: with an argument
 * (`build/tests/NAME test_x`, wildcards * and ? allowed) runs only the
 * tests whose names match it, so each test can be shown to pass alone
 * (tests/support/testonly.c; links with cmocka). */
void testenv_only(int argc, char **argv);
/* testenv_capture: runs fn(arg) with stdout and stderr sent to files and
 * returns what fn returned; out and errtext (sz bytes each) receive what
 * was printed (a command line's "config OK", its usage). */
int testenv_capture(int (*fn)(void *arg), void *arg, char *out, char *errtext,
                    size_t sz);

#endif
