/*
 * testenv: database, broker and scratch-space helpers for test programs.
 */
#include "testenv.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
quiet(void *arg, const char *msg)
{
        (void)arg;
        (void)msg;
}

/* connect_su: the superuser's connection to database db (NULL: the
 * server's default), or NULL with the reason on stderr. */
static PGconn *
connect_su(const char *admin, const char *db)
{
        char ci[1024];
        PGconn *c;

        if (admin == NULL) {
                fprintf(stderr, "SIGNPOST_TEST_PG is not set: run the "
                                "tests through tests/run.sh\n");
                return NULL;
        }
        if (db != NULL)
                snprintf(ci, sizeof(ci), "%s dbname=%s", admin, db);
        c = PQconnectdb(db != NULL ? ci : admin);
        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "testenv: %s", PQerrorMessage(c));
                PQfinish(c);
                return NULL;
        }
        PQsetNoticeProcessor(c, quiet, NULL);
        return c;
}

int
testenv_db(const char *name, char *out, size_t outsz)
{
        const char *admin = getenv("SIGNPOST_TEST_PG");
        char sql[256];
        PGconn *c;
        PGresult *r;

        if ((c = connect_su(admin, NULL)) == NULL)
                return -1;
        snprintf(sql, sizeof(sql),
                 "DROP DATABASE IF EXISTS \"%s\" "
                 "WITH (FORCE)",
                 name);
        PQclear(PQexec(c, sql));
        snprintf(sql, sizeof(sql), "CREATE DATABASE \"%s\"", name);
        r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                fprintf(stderr, "testenv: %s", PQerrorMessage(c));
                PQclear(r);
                PQfinish(c);
                return -1;
        }
        PQclear(r);
        PQfinish(c);
        snprintf(out, outsz, "%s dbname=%s", admin, name);
        return 0;
}

const char *
testenv_kafka(void)
{
        return getenv("SIGNPOST_TEST_KAFKA");
}

const char *
testenv_tmp(void)
{
        const char *t = getenv("SIGNPOST_TEST_TMP");

        return t ? t : "/tmp";
}

void
testenv_unique(const char *prefix, char *out, size_t outsz)
{
        static int counter;

        snprintf(out, outsz, "%s-%d-%d", prefix, (int)getpid(), ++counter);
}

int
testenv_roles(const char *name, const char *schema, char *owner, char *runtime,
              size_t n)
{
        const char *admin = getenv("SIGNPOST_TEST_PG");
        char ci[1024], sql[1024];
        PGconn *c;
        int rc = 0;

        if ((c = connect_su(admin, name)) == NULL)
                return -1;
        snprintf(ci, sizeof(ci), "%s dbname=%s", admin, name);
        /* roles are the cluster's: made again for each run, with the
         * password the role's name (a throwaway cluster on loopback) */
        snprintf(sql, sizeof(sql),
                 "DROP ROLE IF EXISTS \"%s_owner\";"
                 "DROP ROLE IF EXISTS \"%s_rt\";"
                 "CREATE ROLE \"%s_owner\" LOGIN PASSWORD '%s_owner';"
                 "CREATE ROLE \"%s_rt\" LOGIN PASSWORD '%s_rt';"
                 "CREATE SCHEMA \"%s\" AUTHORIZATION \"%s_owner\";"
                 "ALTER ROLE \"%s_rt\" IN DATABASE \"%s\""
                 " SET search_path = \"%s\", public;",
                 name, name, name, name, name, name, schema, name, name, name,
                 schema);
        PGresult *r = PQexec(c, sql);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                fprintf(stderr, "testenv: %s", PQerrorMessage(c));
                rc = -1;
        }
        PQclear(r);
        PQfinish(c);
        snprintf(owner, n, "%s user=%s_owner password=%s_owner", ci, name,
                 name);
        snprintf(runtime, n, "%s user=%s_rt password=%s_rt", ci, name, name);
        return rc;
}

const char *
testenv_sqlstate(void *conn, const char *sql, char buf[6])
{
        PGresult *r = PQexec(conn, sql);
        const char *s = PQresultErrorField(r, PG_DIAG_SQLSTATE);

        snprintf(buf, 6, "%s", s != NULL ? s : "00000");
        PQclear(r);
        return buf;
}

/* slurp: what f holds, up to sz - 1 bytes, into buf. */
static void
slurp(FILE *f, char *buf, size_t sz)
{
        size_t n;

        rewind(f);
        n = fread(buf, 1, sz - 1, f);
        buf[n] = '\0';
        fclose(f);
}

int
testenv_capture(int (*fn)(void *arg), void *arg, char *out, char *errtext,
                size_t sz)
{
        FILE *fo = tmpfile(), *fe = tmpfile();
        int so = dup(1), se = dup(2), rc;

        fflush(stdout);
        fflush(stderr);
        dup2(fileno(fo), 1);
        dup2(fileno(fe), 2);
        rc = fn(arg);
        fflush(stdout);
        fflush(stderr);
        dup2(so, 1);
        dup2(se, 2);
        close(so);
        close(se);
        slurp(fo, out, sz);
        slurp(fe, errtext, sz);
        return rc;
}
