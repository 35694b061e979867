/*
 * fixture: the shared set-up and helpers of the directory's database
 * tests (test_store.c, test_search.c, test_docs.c, test_commands.c). See
 * fixture.c.
 */
#ifndef SIGNPOST_DIRECTORY_TEST_FIXTURE_H
#define SIGNPOST_DIRECTORY_TEST_FIXTURE_H

#include <jansson.h>
#include <stddef.h>

#include "../directory.h"

#define SVC_ID "ac148810-d857-441c-9679-408f346de14b"
#define ORG_ID "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
#define TERM_ID "3f7b145d-84af-42d7-8fae-eaca714b02b2"
#define TAX_ID "5c4d79d7-cc55-470e-9f1f-8cad074e4892"
#define SAL_ID "e94c9f38-1e8f-4564-91d4-d53501ab1765"

/* the test database, search_path directory */
extern struct db *db;

/* fixture_db: a fresh database dbname with the extensions the directory
 * needs, migrated; returns a connection with search_path directory (its
 * conninfo in out), or NULL. */
struct db *fixture_db(const char *dbname, char *out, size_t outsz);
/* fixture_setup: db = fixture_db(dbname), then the examples and
 * postcodes ME14 1XX, CT1 2AA and SW1A 1AA; 0 or -1. */
int fixture_setup(const char *dbname);
int fixture_teardown(void **state);

/* example: a file of the shared ORUK examples, parsed. */
json_t *example(const char *name);
/* cmd: applies one command (its data consumed) in its own transaction;
 * returns the err kind. */
enum err_kind cmd(const char *verb, json_t *data);
/* get: the answer to path?qs, which must have status want_status. */
json_t *get(const char *path, const char *qs, int want_status);
/* expect_400: path?qs is a 400 naming field. */
void expect_400(const char *path, const char *qs, const char *field);
/* names: the service names of a page, "|"-joined. */
void names(json_t *page, char *out, size_t outsz);
/* services_page: the names on the /services page for qs, "|"-joined;
 * returns its total_items. */
long services_page(const char *qs, char *out, size_t outsz);
/* count: the first column of sql's first row, as a number. */
long count(const char *sql);
/* svc: a service command body with one location at lat/lng. */
json_t *svc(const char *id, const char *name, const char *desc,
            const char *status, double lat, double lng);

#endif
