/*
 * emit: catalogue events through the outbox, in the transaction of the
 * change they describe. directory.services and directory.organisations
 * carry a full snapshot per entity keyed by its id (what other daemons
 * keep as a replica: names, status, accepts_referrals, the notice address,
 * the organisation's partner public key, taxonomy terms); a delete is a
 * tombstone: a null value (never an empty one) keyed by the entity's id.
 * The readers (lib/catalogue.c) go by the null value alone; the ce_type
 * signpost.<entity>.deleted.v1 only names it. Does not decide which
 * entities changed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "directory.h"
#include "event.h"
#include "outbox.h"

#define SOURCE "/signpost/directory"

static int
add(struct db *db, const char *topic, const char *type, const char *id,
    json_t *snapshot, struct err *e)
{
        struct event ev;
        char *text = NULL;
        int rc;

        event_init(&ev, SOURCE, type, id);
        if (snapshot != NULL) {
                text = dir_render_dump(snapshot);
                if (text == NULL)
                        return err_set(e, ERR_FATAL, NULL, "out of memory");
        }
        rc = outbox_add(db, topic, id, &ev, text, text ? strlen(text) : 0, e);
        free(text);
        return rc;
}

int
dir_emit_service_tombstone(struct db *db, const char *id, struct err *e)
{
        return add(db, DIR_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE_DELETED, id,
                   NULL, e);
}

static int
emit_service(struct db *db, const char *id, struct err *e)
{
        PGresult *r = dir_store_service_snapshot(db, id, e);
        json_t *snap;
        int rc;

        if (r == NULL)
                return -1;
        if (PQntuples(r) == 0) {
                PQclear(r);
                return dir_emit_service_tombstone(db, id, e);
        }
        snap = dir_render_row(r, 0);
        PQclear(r);
        rc = add(db, DIR_TOPIC_SERVICES, CATALOGUE_TYPE_SERVICE, id, snap, e);
        json_decref(snap);
        return rc;
}

int
dir_emit_services(struct db *db, const char *ids_array, struct err *e)
{
        const char *p = ids_array;
        char id[UUID_STR_LEN];

        if (*p == '{')
                p++;
        while (*p != '\0' && *p != '}') {
                size_t len = strcspn(p, ",}");
                snprintf(id, sizeof(id), "%.*s", (int)len, p);
                if (len == UUID_STR_LEN - 1 && emit_service(db, id, e) < 0)
                        return -1;
                p += len + (p[len] == ',');
        }
        return 0;
}

int
dir_emit_organization(struct db *db, const char *id, bool deleted,
                      struct err *e)
{
        PGresult *r;
        json_t *snap;
        int rc;

        if (deleted)
                return add(db, DIR_TOPIC_ORGS, CATALOGUE_TYPE_ORG_DELETED, id,
                           NULL, e);
        r = dir_store_org_snapshot(db, id, e);
        if (r == NULL)
                return -1;
        if (PQntuples(r) == 0) {
                PQclear(r);
                return add(db, DIR_TOPIC_ORGS, CATALOGUE_TYPE_ORG_DELETED, id,
                           NULL, e);
        }
        snap = dir_render_row(r, 0);
        PQclear(r);
        rc = add(db, DIR_TOPIC_ORGS, CATALOGUE_TYPE_ORG, id, snap, e);
        json_decref(snap);
        return rc;
}

int
dir_emit_catalogue(struct db *db, struct err *e)
{
        PGresult *r = dir_store_catalogue_ids(db, e);
        const char *p;
        char id[UUID_STR_LEN];
        int rc = -1;

        if (r == NULL)
                return -1;
        for (p = PQgetvalue(r, 0, 0) + 1; *p != '\0' && *p != '}';) {
                size_t len = strcspn(p, ",}");

                snprintf(id, sizeof(id), "%.*s", (int)len, p);
                if (len == UUID_STR_LEN - 1 &&
                    dir_emit_organization(db, id, false, e) < 0)
                        goto out;
                p += len + (p[len] == ',');
        }
        rc = dir_emit_services(db, PQgetvalue(r, 0, 1), e);
out:
        PQclear(r);
        return rc;
}
