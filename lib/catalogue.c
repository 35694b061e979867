/*
 * catalogue: reads one record of directory.services or
 * directory.organisations (see catalogue.h). Owns no SQL.
 */
#include <string.h>

#include "catalogue.h"
#include "json.h"

bool
catalogue_topic(const char *topic)
{
        return topic != NULL && (strcmp(topic, CATALOGUE_TOPIC_SERVICES) == 0 ||
                                 strcmp(topic, CATALOGUE_TOPIC_ORGS) == 0);
}

/* optional_uuid: *out is field name of o, absent or a UUID. */
static int
optional_uuid(const json_t *o, const char *name, const char **out,
              struct err *e)
{
        if (jsonx_get_string(o, name, false, out, e) < 0)
                return -1;
        if (*out != NULL && !uuid_valid(*out))
                return err_set(e, ERR_INVALID, name, "not a UUID");
        return 0;
}

/* terms: the service's taxonomy terms, an array of objects with a UUID id. */
static int
terms(const json_t *s, struct catalogue_entry *c, struct err *e)
{
        const json_t *a = json_object_get(s, "taxonomy_terms"), *t;
        const char *id;
        size_t i;

        if (!json_is_array(a))
                return err_set(e, ERR_INVALID, "taxonomy_terms",
                               a == NULL ? "missing required field"
                                         : "not an array");
        json_array_foreach(a, i, t)
        {
                id = NULL;
                if (!json_is_object(t) ||
                    jsonx_get_string(t, "id", true, &id, e) < 0 ||
                    !uuid_valid(id))
                        return err_set(e, ERR_INVALID, "taxonomy_terms",
                                       "term %zu is not an object with a "
                                       "UUID id",
                                       i);
        }
        c->taxonomy_terms = a;
        return 0;
}

static int
service(const json_t *s, struct catalogue_entry *c, struct err *e)
{
        if (jsonx_get_string(s, "status", true, &c->status, e) < 0 ||
            jsonx_get_bool(s, "accepts_referrals", true, &c->accepts_referrals,
                           e) < 0 ||
            optional_uuid(s, "organization_id", &c->org_id, e) < 0 ||
            jsonx_get_string(s, "organization_name", false, &c->org_name, e) <
                0 ||
            jsonx_get_string(s, "referral_notice_email", false,
                             &c->notice_email, e) < 0)
                return -1;
        if (c->status[0] == '\0')
                return err_set(e, ERR_INVALID, "status", "empty");
        return terms(s, c, e);
}

/* snapshot: reads the value of rec, the snapshot of c->id. */
static int
snapshot(const struct kafka_record *rec, struct catalogue_entry *c,
         struct err *e)
{
        const char *want = c->kind == CATALOGUE_SERVICE ? CATALOGUE_TYPE_SERVICE
                                                        : CATALOGUE_TYPE_ORG;
        const char *id = NULL;

        if (strcmp(rec->ev.type, want) != 0)
                return err_set(e, ERR_INVALID, "ce_type",
                               "unknown type %s with a value (a snapshot on "
                               "%s is %s; a deletion has a null value)",
                               rec->ev.type[0] ? rec->ev.type : "(none)",
                               rec->topic, want);
        if (rec->value_len == 0)
                return err_set(e, ERR_INVALID, NULL,
                               "empty value (a deletion has a null value)");
        c->snapshot = jsonx_parse_object(rec->value, rec->value_len, e);
        if (c->snapshot == NULL)
                return -1;
        if (jsonx_get_string(c->snapshot, "id", true, &id, e) < 0)
                return -1;
        if (strcmp(id, c->id) != 0)
                return err_set(e, ERR_INVALID, "id",
                               "the snapshot's id is not the record's key");
        if (jsonx_get_string(c->snapshot, "name", true, &c->name, e) < 0 ||
            jsonx_get_string(c->snapshot, "partner_public_key", false,
                             &c->partner_public_key, e) < 0)
                return -1;
        return c->kind == CATALOGUE_SERVICE ? service(c->snapshot, c, e) : 0;
}

int
catalogue_read(const struct kafka_record *rec, struct catalogue_entry *out,
               struct err *e)
{
        memset(out, 0, sizeof(*out));
        if (rec->topic != NULL &&
            strcmp(rec->topic, CATALOGUE_TOPIC_SERVICES) == 0)
                out->kind = CATALOGUE_SERVICE;
        else if (rec->topic != NULL &&
                 strcmp(rec->topic, CATALOGUE_TOPIC_ORGS) == 0)
                out->kind = CATALOGUE_ORG;
        else
                return err_set(e, ERR_INVALID, NULL, "not a catalogue topic");
        if (rec->key == NULL || rec->key_len != UUID_STR_LEN - 1)
                return err_set(e, ERR_INVALID, "key", "not an entity id");
        memcpy(out->id, rec->key, UUID_STR_LEN - 1);
        out->id[UUID_STR_LEN - 1] = '\0';
        if (!uuid_valid(out->id))
                return err_set(e, ERR_INVALID, "key", "not a UUID");
        if (rec->value == NULL) {
                out->deleted = true;
                return 0;
        }
        return snapshot(rec, out, e);
}

void
catalogue_entry_fini(struct catalogue_entry *c)
{
        json_decref(c->snapshot);
        memset(c, 0, sizeof(*c));
}
