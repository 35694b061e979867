/*
 * consume: the replicas the gateway keeps from events, applied through
 * the inbox (exactly-once effect): the service catalogue from
 * directory.services and directory.organisations (snapshots keyed by id,
 * tombstones delete), each referral's public status from
 * referral.submissions (the status-link hash) and referral.events
 * (status_changed's public_status: the word a person sees, which intake
 * owns and the gateway only shows; an event without it is dead-lettered),
 * and each referral's owner from received events (provider.c reads
 * them). Status and owner rows are kept until the batch's flush and
 * written with one statement each. The memory catalogue follows each applied
 * service event. Records of other types are skipped; a malformed one is
 * dead-lettered.
 */
#include <stdio.h>
#include <string.h>

#include "gateway.h"

static json_t *
value_of(const struct kafka_record *rec, struct err *e)
{
        json_t *j;

        if (rec->value == NULL || rec->value_len == 0)
                return NULL;
        j = jsonx_parse_object(rec->value, rec->value_len, e);
        return j;
}

/* catalogue: a directory.services or directory.organisations record
 * (lib/catalogue.c reads it) into the replica and, for a service, the
 * memory catalogue. */
static int
catalogue(struct gw *g, struct db *db, const struct kafka_record *rec,
          struct err *e)
{
        struct catalogue_entry c;
        struct gw_service s = {0};
        int rc;

        if (catalogue_read(rec, &c, e) < 0) {
                catalogue_entry_fini(&c);
                return -1;
        }
        if (c.kind == CATALOGUE_ORG)
                rc = c.deleted ? gw_store_org_delete(db, c.id, e)
                               : gw_store_org_put(db, c.id, c.name, e);
        else if (c.deleted) {
                gw_catalogue_remove(g->cat, c.id);
                rc = gw_store_service_delete(db, c.id, e);
        } else {
                snprintf(s.id, sizeof(s.id), "%s", c.id);
                snprintf(s.org, sizeof(s.org), "%s", c.org_id ? c.org_id : "");
                snprintf(s.name, sizeof(s.name), "%s", c.name);
                snprintf(s.status, sizeof(s.status), "%s", c.status);
                s.accepts_referrals = c.accepts_referrals;
                rc = gw_store_service_put(db, &s, e);
                if (rc == 0 && gw_catalogue_put(g->cat, &s) < 0)
                        rc = err_set(e, ERR_FATAL, NULL, "out of memory");
        }
        catalogue_entry_fini(&c);
        return rc;
}

/* The rows this consumer thread's records add since the last flush: the
 * status rows of submissions and the owner rows of received events, each
 * kind written with one statement per batch by gw_consume_flush (a row
 * each was a round trip each), and always before a record that could read
 * or change them. */
static _Thread_local json_t *pending_status, *pending_owner;

/* pending_add: appends row (taken) to *list. */
static int
pending_add(json_t **list, json_t *row, struct err *e)
{
        if (row != NULL && *list == NULL)
                *list = json_array();
        if (row == NULL || *list == NULL ||
            json_array_append_new(*list, row) < 0)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        return 0;
}

int
gw_consume_flush(void *arg, struct db *db, bool keep, struct err *e)
{
        int rc = 0;

        (void)arg;
        if (keep && json_array_size(pending_status) > 0)
                rc = gw_store_status_add(db, pending_status, e);
        if (rc == 0 && keep && json_array_size(pending_owner) > 0)
                rc = gw_store_owner_put(db, pending_owner, e);
        json_decref(pending_status);
        json_decref(pending_owner);
        pending_status = pending_owner = NULL;
        return rc;
}

static int
submitted(const struct kafka_record *rec, struct err *e)
{
        json_t *j = value_of(rec, e);
        const char *id, *ref, *hash, *sid;
        int rc;

        if (j == NULL)
                return e->kind != ERR_NONE
                           ? -1
                           : err_set(e, ERR_INVALID, NULL, "no value");
        id = json_string_value(json_object_get(j, "referral_id"));
        ref = json_string_value(json_object_get(j, "reference"));
        hash = json_string_value(json_object_get(j, "status_secret_hash"));
        sid = json_string_value(json_object_get(j, "service_id"));
        rc = id && ref && hash && sid && uuid_valid(id) && uuid_valid(sid)
                 ? pending_add(&pending_status,
                               json_pack("{s:s, s:s, s:s, s:s}", "referral_id",
                                         id, "reference", ref,
                                         "status_secret_hash", hash,
                                         "service_id", sid),
                               e)
                 : err_set(e, ERR_INVALID, NULL,
                           "submission lacks referral_id, reference, "
                           "service_id or status_secret_hash");
        json_decref(j);
        return rc;
}

/* status_changed: the word a person sees, as intake (its one owner) put
 * it in public_status; stored as it comes. An event without it is
 * dead-lettered with the reason, never dropped. */
static int
status_changed(struct db *db, const struct kafka_record *rec, struct err *e)
{
        json_t *j = value_of(rec, e);
        const char *id, *word;
        int rc;

        if (j == NULL)
                return e->kind != ERR_NONE
                           ? -1
                           : err_set(e, ERR_INVALID, NULL, "no value");
        id = json_string_value(json_object_get(j, "referral_id"));
        word = json_string_value(json_object_get(j, "public_status"));
        if (id == NULL || !uuid_valid(id))
                rc = err_set(e, ERR_INVALID, "referral_id", "missing");
        else if (word == NULL || word[0] == '\0' ||
                 strlen(word) >= GW_PUBLIC_STATUS_LEN)
                rc = err_set(e, ERR_INVALID, "public_status",
                             "status_changed lacks the word a person sees");
        else
                rc = gw_store_status_set(db, id, word, e);
        json_decref(j);
        return rc;
}

int
gw_consume_apply(void *arg, struct db *db, const struct kafka_record *rec,
                 struct err *e)
{
        struct gw *g = arg;

        if (strcmp(rec->ev.type, GW_TYPE_SUBMITTED) == 0)
                return submitted(rec, e);
        if (strcmp(rec->ev.type, "signpost.referral.received.v1") == 0) {
                json_t *row = gw_consume_received(rec, e);
                return row != NULL ? pending_add(&pending_owner, row, e) : -1;
        }
        if (gw_consume_flush(arg, db, true, e) < 0)
                return -1;
        if (catalogue_topic(rec->topic))
                return catalogue(g, db, rec, e);
        if (strcmp(rec->ev.type, "signpost.referral.status_changed.v1") == 0)
                return status_changed(db, rec, e);
        return 0;
}
