/*
 * store_docs: the rendered services cache (table service_docs, migration 004).
 * After a write that goes through services, their ORUK JSON, the full
 * nested record and the list form, is rendered by render.c and stored,
 * so reads answer with one indexed row instead of a dozen child queries.
 * Triggers drop a service's documents when any row it is rendered from
 * changes; writers and the renderer here share one advisory lock, so a
 * stored document always matches the committed tables. Owns the SQL of
 * that table; does not choose which services changed.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"

#define DOCS_LOCK                                                              \
        "SELECT pg_advisory_xact_lock(hashtext('directory.service_docs'))"
#define DOCS_BATCH 200

/* The arrays of the full record that the list form leaves out. */
static const char *const full_only[] = {
    "schedules", "service_areas", "service_at_locations",
    "languages", "funding",       "cost_options",
    "contacts",  "attributes",
};

/* doc_pair: returns new {"id", "b": brief text, "f": full text} of one
 * rendered full service. */
static json_t *
doc_pair(json_t *full)
{
        json_t *brief = json_copy(full), *pair = NULL;
        char *ftext = dir_render_dump(full), *btext = NULL;
        size_t i;

        if (brief == NULL || ftext == NULL)
                goto out;
        for (i = 0; i < sizeof(full_only) / sizeof(full_only[0]); i++)
                json_object_del(brief, full_only[i]);
        btext = dir_render_dump(brief);
        if (btext != NULL)
                pair =
                    json_pack("{sO ss ss}", "id", json_object_get(full, "id"),
                              "b", btext, "f", ftext);
out:
        free(btext);
        free(ftext);
        json_decref(brief);
        return pair;
}

int
dir_docs_refresh(struct db *db, const char *ids_array, struct err *e)
{
        json_t *svcs = NULL, *pairs = json_array(), *s;
        char *text = NULL;
        size_t i;
        int rc = -1;

        if (strcmp(ids_array, "{}") == 0) {
                json_decref(pairs);
                return 0;
        }
        if (db_exec(db, DOCS_LOCK, 0, NULL, NULL, e) < 0)
                goto out;
        svcs = dir_render_services_full(db, ids_array, true, e);
        if (svcs == NULL)
                goto out;
        json_array_foreach(svcs, i, s)
        {
                if (json_array_append_new(pairs, doc_pair(s)) < 0) {
                        err_set(e, ERR_FATAL, NULL, "out of memory");
                        goto out;
                }
        }
        text = json_dumps(pairs, JSON_COMPACT);
        if (text == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                goto out;
        }
        const char *p[1] = {text};
        rc = db_exec(db,
                     "INSERT INTO service_docs (id, brief, full_doc)"
                     " SELECT (x->>'id')::uuid, x->>'b', x->>'f'"
                     " FROM json_array_elements($1::json) x"
                     " ON CONFLICT (id) DO UPDATE SET brief = EXCLUDED.brief,"
                     " full_doc = EXCLUDED.full_doc",
                     1, p, NULL, e);
out:
        free(text);
        json_decref(svcs);
        json_decref(pairs);
        return rc;
}

/* backfill_batch: renders up to DOCS_BATCH services that have no
 * documents, in one transaction; *n is how many. */
static int
backfill_batch(struct db *db, int *n, struct err *e)
{
        PGresult *r = NULL;
        int rc = -1;

        *n = 0;
        if (db_begin(db, e) < 0)
                return -1;
        if (db_exec(db, DOCS_LOCK, 0, NULL, NULL, e) < 0)
                goto out;
        r = db_query(db,
                     "SELECT count(*), coalesce(array_agg(id)::text, '{}')"
                     " FROM (SELECT s.id FROM services s WHERE NOT EXISTS"
                     " (SELECT 1 FROM service_docs d WHERE d.id = s.id)"
                     " LIMIT 200) q", /* DOCS_BATCH */
                     0, NULL, e);
        if (r == NULL)
                goto out;
        *n = atoi(PQgetvalue(r, 0, 0));
        if (dir_docs_refresh(db, PQgetvalue(r, 0, 1), e) == 0 &&
            db_commit(db, e) == 0)
                rc = 0;
out:
        PQclear(r);
        if (rc < 0)
                db_rollback(db);
        return rc;
}

int
dir_docs_backfill(struct db *db, const atomic_bool *stop, long *done,
                  struct err *e)
{
        int n;

        *done = 0;
        do {
                if (backfill_batch(db, &n, e) < 0)
                        return -1;
                *done += n;
        } while (n == DOCS_BATCH && !atomic_load(stop));
        return 0;
}

int
dir_docs_get(struct db *db, const char *id, char **full, struct err *e)
{
        const char *p[1] = {id};
        PGresult *r = db_query_generic(
            db, "SELECT full_doc FROM service_docs WHERE id = $1", 1, p, e);

        *full = NULL;
        if (r == NULL)
                return -1;
        if (PQntuples(r) == 1) {
                *full = strdup(PQgetvalue(r, 0, 0));
                if (*full == NULL) {
                        PQclear(r);
                        return err_set(e, ERR_FATAL, NULL, "out of memory");
                }
        }
        PQclear(r);
        return 0;
}
