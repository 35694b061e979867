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

int
testenv_db(const char *name, char *out, size_t outsz)
{
        const char *admin = getenv("SIGNPOST_TEST_PG");
        char sql[256];
        PGconn *c;
        PGresult *r;

        if (admin == NULL) {
                fprintf(stderr, "SIGNPOST_TEST_PG is not set: run the "
                                "tests through tests/run.sh\n");
                return -1;
        }
        c = PQconnectdb(admin);
        if (PQstatus(c) != CONNECTION_OK) {
                fprintf(stderr, "testenv: %s", PQerrorMessage(c));
                PQfinish(c);
                return -1;
        }
        PQsetNoticeProcessor(c, quiet, NULL);
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
