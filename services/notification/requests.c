/*
 * requests: the consumer's effect, inside the inbox transaction.
 *
 *   notification.requests   records the intent: a pending message row
 *                           with the blind index of its address and the
 *                           sealed request as it came. A request whose
 *                           recipient cannot be opened or has no address
 *                           is recorded as failed (with an event), not
 *                           dead-lettered; one without a usable
 *                           message_id, template or audience is INVALID.
 *   consent.state           the replica the sender checks (newest seq
 *                           wins; a tombstone forgets the subject).
 *   directory.services,
 *   directory.organisations the names templates use (lib/catalogue.c
 *                           reads them; a null value deletes).
 *
 * Does not send anything (sender.c) and owns no SQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "notification.h"

static bool
one_of(const char *s, const char *const *list)
{
        for (; s != NULL && *list != NULL; list++)
                if (strcmp(s, *list) == 0)
                        return true;
        return false;
}

/* optional_uuid: field absent, null or a UUID. */
static int
optional_uuid(const json_t *d, const char *name, struct err *e)
{
        const char *v = NULL;

        if (jsonx_get_string(d, name, false, &v, e) < 0)
                return -1;
        if (v != NULL && !uuid_valid(v))
                return err_set(e, ERR_INVALID, name, "not a UUID");
        return 0;
}

static int
check_request(const json_t *d, struct err *e)
{
        static const char *const audiences[] = {"person", "referrer",
                                                "provider", "admin", NULL};
        const char *id = NULL, *tpl = NULL, *aud = NULL, *purpose = NULL;
        const char *sealed = NULL;

        if (jsonx_get_string(d, "message_id", true, &id, e) < 0 ||
            jsonx_get_string(d, "template", true, &tpl, e) < 0 ||
            jsonx_get_string(d, "audience", true, &aud, e) < 0 ||
            jsonx_get_string(d, "purpose", false, &purpose, e) < 0 ||
            jsonx_get_string(d, "sealed", false, &sealed, e) < 0)
                return -1;
        if (!uuid_valid(id))
                return err_set(e, ERR_INVALID, "message_id", "not a UUID");
        if (tpl[0] == '\0' || strlen(tpl) > 64)
                return err_set(e, ERR_INVALID, "template", "1-64 characters");
        if (!one_of(aud, audiences))
                return err_set(e, ERR_INVALID, "audience", "unknown audience");
        if (optional_uuid(d, "subject_id", e) < 0 ||
            optional_uuid(d, "referral_id", e) < 0 ||
            optional_uuid(d, "service_id", e) < 0)
                return -1;
        return 0;
}

json_t *
notify_open(const struct notify_ctx *ctx, const char *sealed,
            const char **channel, char index[SECRET_HEX_LEN], struct err *e)
{
        unsigned char *box = NULL, *plain = NULL;
        size_t boxlen = 0, plainlen = 0;
        json_t *j = NULL;
        const char *email, *phone;
        int rc = -1;

        if (sealed == NULL)
                return err_set(e, ERR_INVALID, "sealed", "no recipient"), NULL;
        if (secret_b64_decode(sealed, &box, &boxlen, e) < 0 ||
            secret_unseal(ctx->box_pk, ctx->box_sk, box, boxlen, &plain,
                          &plainlen, e) < 0)
                goto out;
        j = jsonx_parse_object((const char *)plain, plainlen, e);
        if (j == NULL)
                goto out;
        email = json_string_value(json_object_get(j, "email"));
        phone = json_string_value(json_object_get(j, "phone"));
        if (email != NULL && email[0] != '\0') {
                *channel = "email";
                rc = index ? secret_index_email(ctx->index_key, email, index, e)
                           : 0;
        } else if (phone != NULL && phone[0] != '\0') {
                *channel = "sms";
                rc = index ? secret_index_phone(ctx->index_key, phone, index, e)
                           : 0;
        } else
                err_set(e, ERR_INVALID, "sealed", "no email or phone");
out:
        if (plain != NULL) {
                secret_wipe(plain, plainlen);
                free(plain);
        }
        free(box);
        if (rc < 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}

static int
request(struct notify_ctx *ctx, struct db *db, const json_t *d, struct err *e)
{
        struct err why = {0};
        const char *channel = NULL;
        char index[SECRET_HEX_LEN] = "";
        json_t *opened;
        bool added = false;

        if (check_request(d, e) < 0)
                return -1;
        opened =
            notify_open(ctx, json_string_value(json_object_get(d, "sealed")),
                        &channel, index, &why);
        json_decref(opened);
        if (opened != NULL)
                return notify_store_message_add(db, d, channel, index,
                                                "pending", NULL, &added, e);
        if (why.kind != ERR_INVALID) {
                *e = why;
                return -1;
        }
        if (notify_store_message_add(db, d, channel, index, "failed", why.msg,
                                     &added, e) < 0)
                return -1;
        if (!added)
                return 0;
        return notify_store_event(
            db, json_string_value(json_object_get(d, "message_id")),
            json_string_value(json_object_get(d, "template")),
            json_string_value(json_object_get(d, "audience")), channel,
            json_string_value(json_object_get(d, "referral_id")), "failed",
            why.msg, e);
}

json_t *
notify_request_prepare(const struct notify_ctx *ctx,
                       const struct kafka_record *rec, const char **channel,
                       char index[SECRET_HEX_LEN])
{
        struct err e = {0};
        json_t *d, *opened;

        if (rec->value == NULL || rec->value_len == 0 || rec->topic == NULL ||
            strcmp(rec->topic, NOTIFY_TOPIC_REQUESTS) != 0 ||
            strcmp(rec->ev.type, NOTIFY_TYPE_REQUESTED) != 0)
                return NULL;
        d = jsonx_parse_object(rec->value, rec->value_len, &e);
        if (d == NULL || check_request(d, &e) < 0) {
                json_decref(d);
                return NULL;
        }
        opened =
            notify_open(ctx, json_string_value(json_object_get(d, "sealed")),
                        channel, index, &e);
        if (opened == NULL) {
                json_decref(d);
                return NULL;
        }
        json_decref(opened);
        return d;
}

static int
consent_state(struct db *db, const struct kafka_record *rec, const json_t *d,
              struct err *e)
{
        const char *subject = NULL;
        long long seq = 0;

        (void)rec;
        if (jsonx_get_string(d, "subject_id", true, &subject, e) < 0 ||
            jsonx_get_int(d, "seq", true, &seq, e) < 0)
                return -1;
        if (!uuid_valid(subject))
                return err_set(e, ERR_INVALID, "subject_id", "not a UUID");
        if (!json_is_object(json_object_get(d, "purposes")))
                return err_set(e, ERR_INVALID, "purposes", "not an object");
        return notify_store_consent_put(db, subject, d, e);
}

/* consent_forget: a consent.state tombstone (a null value): the subject
 * was erased. */
static int
consent_forget(struct db *db, const struct kafka_record *rec, struct err *e)
{
        char key[UUID_STR_LEN];

        if (rec->key == NULL || rec->key_len != UUID_STR_LEN - 1)
                return err_set(e, ERR_INVALID, "key", "not a UUID");
        memcpy(key, rec->key, UUID_STR_LEN - 1);
        key[UUID_STR_LEN - 1] = '\0';
        if (!uuid_valid(key))
                return err_set(e, ERR_INVALID, "key", "not a UUID");
        return notify_store_consent_delete(db, key, e);
}

/* catalogue: a directory.services or directory.organisations record
 * (lib/catalogue.c reads it: a null value deletes). */
static int
catalogue(struct db *db, const struct kafka_record *rec, struct err *e)
{
        struct catalogue_entry c;
        int rc;

        if (catalogue_read(rec, &c, e) < 0) {
                catalogue_entry_fini(&c);
                return -1;
        }
        if (c.deleted)
                rc = notify_store_catalogue_delete(db, c.kind == CATALOGUE_ORG,
                                                   c.id, e);
        else if (c.kind == CATALOGUE_ORG)
                rc = notify_store_org_put(db, c.id, c.name, e);
        else
                rc = notify_store_service_put(db, c.id, c.name, c.org_id,
                                              c.org_name, e);
        catalogue_entry_fini(&c);
        return rc;
}

int
notify_requests_apply(void *arg, struct db *db, const struct kafka_record *rec,
                      struct err *e)
{
        const char *topic = rec->topic ? rec->topic : "";
        json_t *d;
        int rc;

        if (catalogue_topic(topic))
                return catalogue(db, rec, e);
        if (strcmp(topic, NOTIFY_TOPIC_CONSENT) == 0 && rec->value == NULL)
                return consent_forget(db, rec, e);
        if (rec->value == NULL || rec->value_len == 0)
                return err_set(e, ERR_INVALID, NULL, "empty value");
        d = jsonx_parse_object(rec->value, rec->value_len, e);
        if (d == NULL)
                return -1;
        if (strcmp(topic, NOTIFY_TOPIC_REQUESTS) == 0)
                rc = strcmp(rec->ev.type, NOTIFY_TYPE_REQUESTED) == 0
                         ? request(arg, db, d, e)
                         : err_set(e, ERR_INVALID, NULL, "unknown type");
        else if (strcmp(topic, NOTIFY_TOPIC_CONSENT) == 0)
                rc = consent_state(db, rec, d, e);
        else
                rc = err_set(e, ERR_INVALID, "topic",
                             "not a topic notification reads");
        json_decref(d);
        return rc;
}
