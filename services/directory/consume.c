/*
 * consume: the directory.commands consumer's effect. Each record is one
 * command (ce_type signpost.directory.<verb>.v1, JSON value) applied inside
 * the inbox transaction, so a redelivered ce_id has no second effect. A
 * command that fails validation returns ERR_INVALID: the inbox undoes it
 * and the consumer dead-letters it with the reason. A command may arrive
 * before the entity it refers to (a service_create keyed apart from its
 * organisation's create lands on another partition): a foreign-key
 * violation on a write is ERR_TRANSIENT, so the consumer backs off and
 * retries it, until the command (by ce_time) is older than the configured
 * wait; then it is dead-lettered saying so. Does not own SQL.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "directory.h"
#include "json.h"

#define CMD(v) "signpost.directory." v ".v1"

static const struct {
        const char *type;
        enum dir_entity ent;
        int mode; /* enum dir_put_mode, or -1 for delete */
} crud[] = {
    {CMD("organization_create"), DIR_ORGANIZATION, DIR_PUT_CREATE},
    {CMD("organization_update"), DIR_ORGANIZATION, DIR_PUT_UPDATE},
    {CMD("organization_delete"), DIR_ORGANIZATION, -1},
    {CMD("service_create"), DIR_SERVICE, DIR_PUT_CREATE},
    {CMD("service_update"), DIR_SERVICE, DIR_PUT_UPDATE},
    {CMD("service_delete"), DIR_SERVICE, -1},
    {CMD("location_create"), DIR_LOCATION, DIR_PUT_CREATE},
    {CMD("location_update"), DIR_LOCATION, DIR_PUT_UPDATE},
    {CMD("location_delete"), DIR_LOCATION, -1},
    {CMD("taxonomy_create"), DIR_TAXONOMY, DIR_PUT_CREATE},
    {CMD("taxonomy_update"), DIR_TAXONOMY, DIR_PUT_UPDATE},
    {CMD("taxonomy_delete"), DIR_TAXONOMY, -1},
    {CMD("taxonomy_term_create"), DIR_TERM, DIR_PUT_CREATE},
    {CMD("taxonomy_term_update"), DIR_TERM, DIR_PUT_UPDATE},
    {CMD("taxonomy_term_delete"), DIR_TERM, -1},
};

/* Fields a provider may propose changing, per entity. */
static const char *const editable[][16] = {
    [DIR_ORGANIZATION] = {"name", "description", "email", "website", "logo",
                          "uri", NULL},
    [DIR_SERVICE] = {"name", "description", "url", "email", "status", "fees",
                     "accreditations", "minimum_age", "maximum_age", "alert",
                     "accepts_referrals", "referral_notice_email", NULL},
    [DIR_LOCATION] = {"name", "description", "latitude", "longitude",
                      "location_type", NULL},
};

static int
entity_parse(const char *s, enum dir_entity *out)
{
        if (s != NULL && strcmp(s, "organization") == 0)
                *out = DIR_ORGANIZATION;
        else if (s != NULL && strcmp(s, "service") == 0)
                *out = DIR_SERVICE;
        else if (s != NULL && strcmp(s, "location") == 0)
                *out = DIR_LOCATION;
        else
                return -1;
        return 0;
}

static int
delete_entity(struct db *db, enum dir_entity ent, const json_t *d,
              struct err *e)
{
        const char *id = NULL;
        char *ids = NULL;
        int rc = -1;

        if (jsonx_get_string(d, "id", true, &id, e) < 0)
                return -1;
        if (!uuid_valid(id))
                return err_set(e, ERR_INVALID, "id", "not a UUID");
        ids = dir_store_affected(db, ent, id, e);
        if (ids == NULL || dir_store_delete(db, ent, id, e) < 0)
                goto out;
        if (ent == DIR_ORGANIZATION &&
            dir_emit_organization(db, id, true, e) < 0)
                goto out;
        if (ent != DIR_LOCATION && dir_store_reindex(db, ids, e) < 0)
                goto out;
        if (ent != DIR_LOCATION && dir_emit_services(db, ids, e) < 0)
                goto out;
        rc = dir_docs_refresh(db, ids, e);
out:
        free(ids);
        return rc;
}

/* request_submit: keeps only the fields that differ from the current
 * record; a newer request supersedes the same fields of older ones. */
static int
request_submit(struct db *db, const json_t *d, struct err *e)
{
        const char *id = NULL, *type = NULL, *eid = NULL, *by = NULL, *k;
        json_t *changes = json_object_get(d, "changes"), *cur = NULL, *v;
        json_t *kept = json_object();
        enum dir_entity ent;
        char *text = NULL, *curtext = NULL;
        int rc = -1;
        size_t i;

        if (jsonx_get_string(d, "id", true, &id, e) < 0 ||
            jsonx_get_string(d, "entity_type", true, &type, e) < 0 ||
            jsonx_get_string(d, "entity_id", true, &eid, e) < 0 ||
            jsonx_get_string(d, "submitted_by", true, &by, e) < 0)
                goto out;
        if (!uuid_valid(id) || !uuid_valid(eid)) {
                err_set(e, ERR_INVALID, uuid_valid(id) ? "entity_id" : "id",
                        "not a UUID");
                goto out;
        }
        if (entity_parse(type, &ent) < 0 || !json_is_object(changes)) {
                err_set(e, ERR_INVALID,
                        json_is_object(changes) ? "entity_type" : "changes",
                        "unknown entity type or changes not an object");
                goto out;
        }
        curtext = dir_store_entity_json(db, ent, eid, e);
        if (curtext == NULL)
                goto out;
        cur = json_loads(curtext, 0, NULL);
        json_object_foreach(changes, k, v)
        {
                for (i = 0; editable[ent][i] != NULL; i++)
                        if (strcmp(editable[ent][i], k) == 0)
                                break;
                if (editable[ent][i] == NULL) {
                        err_set(e, ERR_INVALID, "changes",
                                "field may not be changed: %.40s", k);
                        goto out;
                }
                if (!json_equal(json_object_get(cur, k), v))
                        json_object_set(kept, k, v);
        }
        if (json_object_size(kept) == 0) {
                err_set(e, ERR_INVALID, "changes", "nothing differs");
                goto out;
        }
        text = json_dumps(kept, JSON_COMPACT);
        rc = text ? dir_store_request_add(db, id, type, eid, by, text, e)
                  : err_set(e, ERR_FATAL, NULL, "out of memory");
out:
        free(text);
        free(curtext);
        json_decref(cur);
        json_decref(kept);
        return rc;
}

static int
request_decide(struct db *db, const json_t *d, bool approve, struct err *e)
{
        const char *id = NULL, *by = NULL, *reason = NULL;
        char *text = NULL;
        json_t *req = NULL, *obj;
        enum dir_entity ent;
        int rc = -1;

        if (jsonx_get_string(d, "id", true, &id, e) < 0 ||
            jsonx_get_string(d, "decided_by", true, &by, e) < 0 ||
            jsonx_get_string(d, "reason", !approve, &reason, e) < 0)
                return -1;
        if (!uuid_valid(id))
                return err_set(e, ERR_INVALID, "id", "not a UUID");
        if (dir_store_request_decide(db, id, approve, by, reason, &text, e) < 0)
                return -1;
        if (!approve) {
                free(text);
                return 0;
        }
        req = json_loads(text, 0, NULL);
        obj = json_object_get(req, "changes");
        if (req == NULL ||
            entity_parse(json_string_value(json_object_get(req, "entity_type")),
                         &ent) < 0) {
                err_set(e, ERR_FATAL, NULL, "stored request unreadable");
                goto out;
        }
        json_object_set(obj, "id", json_object_get(req, "entity_id"));
        rc = dir_put(db, ent, DIR_PUT_UPDATE, obj, e);
out:
        json_decref(req);
        free(text);
        return rc;
}

static int
postcodes(struct db *db, const json_t *d, struct err *e)
{
        const char *csv = NULL;
        long n = 0;

        if (jsonx_get_string(d, "csv", true, &csv, e) < 0)
                return -1;
        return dir_import_postcodes(db, csv, &n, e);
}

/* ce_age: seconds since the RFC 3339 time t; false if t is malformed. */
static bool
ce_age(const char *t, double *age)
{
        struct tm tm = {0};
        const char *p = strptime(t, "%Y-%m-%dT%H:%M:%S", &tm);
        int hh = 0, mm = 0;
        long off = 0;

        if (p == NULL)
                return false;
        if (*p == '.')
                for (p++; isdigit((unsigned char)*p); p++)
                        ;
        if (*p == 'Z' || *p == 'z') {
                p++;
        } else if ((*p == '+' || *p == '-') &&
                   sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2) {
                off = (*p == '-' ? -1L : 1L) * (hh * 3600L + mm * 60L);
                p += 6;
        } else {
                return false;
        }
        *age = difftime(time(NULL), timegm(&tm) - off);
        return *p == '\0';
}

/* missing_ref: turns a foreign-key violation (SQLSTATE 23503: the entity
 * referred to does not exist yet) into a wait while the command is young
 * and into a dead letter with a clear reason once it is not. */
static void
missing_ref(const struct dir_commands *dc, const struct kafka_record *rec,
            struct err *e)
{
        char why[sizeof(e->msg)];
        double age = 0;
        int wait_s = dc != NULL ? dc->missing_ref_wait_s : 0;

        if (e->kind != ERR_INVALID ||
            strncmp(e->msg, "database: 23503", 15) != 0)
                return;
        snprintf(why, sizeof(why), "%s", e->msg + 16);
        if (ce_age(rec->ev.time, &age) && age < wait_s)
                err_set(e, ERR_TRANSIENT, e->field,
                        "referenced entity not there yet, will retry: %.200s",
                        why);
        else
                err_set(e, ERR_INVALID, e->field,
                        "referenced entity still missing %d s after "
                        "ce_time: %.200s",
                        wait_s, why);
}

int
dir_commands_apply(void *arg, struct db *db, const struct kafka_record *rec,
                   struct err *e)
{
        const char *type = rec->ev.type;
        json_t *d;
        size_t i;
        int rc = -1;

        d = jsonx_parse_object(rec->value, rec->value_len, e);
        if (d == NULL)
                return -1;
        for (i = 0; i < sizeof(crud) / sizeof(crud[0]); i++)
                if (strcmp(type, crud[i].type) == 0)
                        break;
        if (i < sizeof(crud) / sizeof(crud[0]))
                rc = crud[i].mode < 0
                         ? delete_entity(db, crud[i].ent, d, e)
                         : dir_put(db, crud[i].ent,
                                   (enum dir_put_mode)crud[i].mode, d, e);
        else if (strcmp(type, CMD("hsds_import")) == 0)
                rc = dir_import_hsds(db, d, e);
        else if (strcmp(type, CMD("postcodes_import")) == 0)
                rc = postcodes(db, d, e);
        else if (strcmp(type, CMD("catalogue_republish")) == 0)
                rc = dir_emit_catalogue(db, e);
        else if (strcmp(type, CMD("update_request_submit")) == 0)
                rc = request_submit(db, d, e);
        else if (strcmp(type, CMD("update_request_approve")) == 0)
                rc = request_decide(db, d, true, e);
        else if (strcmp(type, CMD("update_request_reject")) == 0)
                rc = request_decide(db, d, false, e);
        else
                err_set(e, ERR_INVALID, "ce_type", "unknown command type");
        if (rc < 0 &&
            (i == sizeof(crud) / sizeof(crud[0]) || crud[i].mode >= 0))
                missing_ref(arg, rec, e);
        json_decref(d);
        return rc;
}
