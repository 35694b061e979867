/*
 * consume: the replicas the gateway keeps from events, applied through
 * the inbox (exactly-once effect): the service catalogue from
 * directory.services and directory.organisations (snapshots keyed by id,
 * tombstones delete), and each referral's public status and owner from
 * intake's events on referral.events: received makes the referral's
 * status row (reference, service; "received") and its owner row (the
 * organisation, the pseudonymous subject, the notice version: provider.c
 * and consents.c read them), status_changed sets the word a person sees
 * (public_status, which intake owns and the gateway only shows; an event
 * without it is dead-lettered). The gateway does not read back its own
 * referral.submissions: that topic carries sealed personal data, and the
 * status link needs nothing from it (submit.c gw_status_read answers a
 * referral intake has not reached yet from its id and secret alone).
 * Received rows are kept until the batch's flush and written with one
 * statement per table. The memory catalogue follows each applied service
 * event. Records of other types are skipped; a malformed one is
 * dead-lettered.
 */
#include <stdio.h>
#include <string.h>

#include "gateway.h"

/* value_of: rec's value parsed as a JSON object; NULL with e (ERR_INVALID
 * for no value or one that is not an object). */
static json_t *
value_of(const struct kafka_record *rec, struct err *e)
{
        if (rec->value == NULL || rec->value_len == 0) {
                err_set(e, ERR_INVALID, NULL, "no value");
                return NULL;
        }
        return jsonx_parse_object(rec->value, rec->value_len, e);
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

/* The received rows this consumer thread's records add since the last
 * flush, written with one statement per table by gw_consume_flush (a row
 * each was a round trip each), and always before a record that could read
 * or change them (a status_changed, which follows its received on the
 * referral's partition). */
static _Thread_local json_t *pending_received;

int
gw_consume_flush(void *arg, struct db *db, bool keep, struct err *e)
{
        int rc = 0;

        (void)arg;
        if (keep && json_array_size(pending_received) > 0 &&
            (rc = gw_store_status_add(db, pending_received, e)) == 0)
                rc = gw_store_owner_put(db, pending_received, e);
        json_decref(pending_received);
        pending_received = NULL;
        return rc;
}

/* received: a signpost.referral.received.v1 record's row (referral_id,
 * reference, service_id, organisation_id, subject_id,
 * privacy_notice_version, received_at) onto the pending list. */
static int
received(const struct kafka_record *rec, struct err *e)
{
        json_t *j = value_of(rec, e), *row = NULL;
        const char *id, *ref, *sid, *org, *subject, *notice, *at;
        int rc = 0;

        if (j == NULL)
                return -1;
        id = json_string_value(json_object_get(j, "referral_id"));
        ref = json_string_value(json_object_get(j, "reference"));
        sid = json_string_value(json_object_get(j, "service_id"));
        org = json_string_value(json_object_get(j, "organisation_id"));
        subject = json_string_value(json_object_get(j, "subject_id"));
        notice =
            json_string_value(json_object_get(j, "privacy_notice_version"));
        at = json_string_value(json_object_get(j, "received_at"));
        if (id == NULL || !uuid_valid(id) || ref == NULL ||
            !gw_reference_valid(ref) || sid == NULL || !uuid_valid(sid) ||
            subject == NULL || !uuid_valid(subject) ||
            (org != NULL && !uuid_valid(org)))
                rc = err_set(e, ERR_INVALID, NULL,
                             "received event lacks referral_id, reference, "
                             "service_id or subject_id, or has a bad "
                             "organisation_id");
        else if ((pending_received == NULL &&
                  (pending_received = json_array()) == NULL) ||
                 (row =
                      json_pack("{s:s, s:s, s:s, s:s?, s:s, s:s?, s:s?}",
                                "referral_id", id, "reference", ref,
                                "service_id", sid, "organisation_id", org,
                                "subject_id", subject, "privacy_notice_version",
                                notice, "received_at", at)) == NULL ||
                 json_array_append_new(pending_received, row) < 0)
                rc = err_set(e, ERR_FATAL, NULL, "out of memory");
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
                return -1;
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

        if (strcmp(rec->ev.type, "signpost.referral.received.v1") == 0)
                return received(rec, e);
        if (gw_consume_flush(arg, db, true, e) < 0)
                return -1;
        if (catalogue_topic(rec->topic))
                return catalogue(g, db, rec, e);
        if (strcmp(rec->ev.type, "signpost.referral.status_changed.v1") == 0)
                return status_changed(db, rec, e);
        return 0;
}
