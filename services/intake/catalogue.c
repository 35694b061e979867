/*
 * catalogue: intake's replica of the directory's catalogue, kept from
 * directory.services and directory.organisations snapshots (see
 * services/directory/emit.c): whether a service takes referrals, its
 * notice address and taxonomy terms, and the organisation's partner public
 * key. When an organisation's key first arrives, referrals held for the
 * want of it are routed. Does not own SQL.
 */
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "json.h"
#include "log.h"

/* str: a snapshot's string field, NULL when absent or not a string. */
static const char *
str(const json_t *o, const char *k)
{
        return json_string_value(json_object_get(o, k));
}

/* usable_key: k when it decodes to a public key, else NULL. */
static const char *
usable_key(const char *k)
{
        unsigned char pk[SECRET_BOX_PK_BYTES];

        return k != NULL && secret_pk_decode(k, pk) == 0 ? k : NULL;
}

/* term_ids: returns new JSON text of the ids of the snapshot's terms. */
static char *
term_ids(const json_t *terms)
{
        json_t *ids = json_array(), *t;
        char *text;
        size_t i;

        json_array_foreach(terms, i, t)
        {
                const char *id =
                    json_is_string(t) ? json_string_value(t) : str(t, "id");
                if (id != NULL && uuid_valid(id))
                        json_array_append_new(ids, json_string(id));
        }
        text = jsonx_dump(ids);
        json_decref(ids);
        return text;
}

static int
org_apply(struct intake *in, struct db *db, const char *id, const json_t *o,
          struct err *e)
{
        bool added = false;
        const char *key = o ? usable_key(str(o, "partner_public_key")) : NULL;

        if (intake_store_org_put(db, id, o ? str(o, "name") : NULL, key,
                                 o == NULL, &added, e) < 0)
                return -1;
        if (!added)
                return 0;
        log_info("partner key known", "organisation_id=%s", id);
        return intake_route_held(in, db, id, e);
}

static int
service_apply(struct intake *in, struct db *db, const char *id, const json_t *s,
              struct err *e)
{
        const char *org = s ? str(s, "organization_id") : NULL;
        char *terms = NULL;
        int rc;

        if (s == NULL)
                return intake_store_service_put(db, id, NULL, NULL, NULL, false,
                                                NULL, NULL, true, e);
        if (org != NULL && !uuid_valid(org))
                return err_set(e, ERR_INVALID, "organization_id", "not a UUID");
        terms = term_ids(json_object_get(s, "taxonomy_terms"));
        rc = intake_store_service_put(
            db, id, org, str(s, "name"), str(s, "status"),
            json_is_true(json_object_get(s, "accepts_referrals")),
            str(s, "referral_notice_email"), terms, false, e);
        free(terms);
        if (rc < 0 || org == NULL)
                return rc;
        /* the snapshot carries the organisation's name and key too */
        json_t *o = json_pack(
            "{sO* sO*}", "name", json_object_get(s, "organization_name"),
            "partner_public_key", json_object_get(s, "partner_public_key"));
        rc = org_apply(in, db, org, o, e);
        json_decref(o);
        return rc;
}

int
intake_catalogue_apply(struct intake *in, struct db *db,
                       const struct kafka_record *rec, struct err *e)
{
        char id[UUID_STR_LEN];
        json_t *snap = NULL;
        int rc;

        if (rec->key == NULL || rec->key_len != UUID_STR_LEN - 1)
                return err_set(e, ERR_INVALID, "key", "not an entity id");
        memcpy(id, rec->key, UUID_STR_LEN - 1);
        id[UUID_STR_LEN - 1] = '\0';
        if (!uuid_valid(id))
                return err_set(e, ERR_INVALID, "key", "not a UUID");
        if (rec->value != NULL && rec->value_len > 0) {
                snap = json_loadb(rec->value, rec->value_len, 0, NULL);
                if (!json_is_object(snap)) {
                        json_decref(snap);
                        return err_set(e, ERR_INVALID, NULL,
                                       "snapshot is not a JSON object");
                }
        }
        if (strcmp(rec->topic, INTAKE_TOPIC_ORGS) == 0)
                rc = org_apply(in, db, id, snap, e);
        else
                rc = service_apply(in, db, id, snap, e);
        json_decref(snap);
        return rc;
}
