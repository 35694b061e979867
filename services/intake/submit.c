/*
 * submit: a referral.submissions record becomes a stored referral. Opens
 * the personal payload sealed to intake, validates it again, checks the
 * service in the catalogue replica, finds or makes the person's subject
 * (blind index, data key), stores the personal fields as AEAD blobs, and
 * queues in the same transaction: referral.received, the consents given,
 * the confirmations, and the provider's sealed copy (route.c). A referral
 * id already stored has no second effect.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "intake.h"
#include "json.h"
#include "log.h"

/* One submission while it is being stored. */
struct sub {
        json_t *doc;     /* the envelope (new) */
        json_t *payload; /* the opened personal payload (new) */
        const char *id, *kind, *service_id;
        struct intake_service svc;
        bool svc_known;
        char subject_id[UUID_STR_LEN];
        struct secret_key *dek;
        char email_idx[SECRET_HEX_LEN], phone_idx[SECRET_HEX_LEN];
        char ref_email_idx[SECRET_HEX_LEN], ref_phone_idx[SECRET_HEX_LEN];
        char received_at[40];
        char district[16];
        char flags[64];
};

/* index_of: blind index of obj's email or phone into out ("" if none). */
static int
index_of(struct intake *in, const json_t *obj, const char *field,
         char out[SECRET_HEX_LEN], struct err *e)
{
        const char *v = json_string_value(json_object_get(obj, field));

        out[0] = '\0';
        if (v == NULL || v[0] == '\0')
                return 0;
        if (strcmp(field, "email") == 0)
                return secret_index_email(in->keys.index_key, v, out, e);
        return secret_index_phone(in->keys.index_key, v, out, e);
}

static const char *
nz(const char *s)
{
        return s != NULL && s[0] != '\0' ? s : NULL;
}

/* subject_resolve: the person's subject and data key, found through the
 * blind index or made new. */
static int
subject_resolve(struct intake *in, struct db *db, struct sub *s, struct err *e)
{
        const json_t *person = json_object_get(s->payload, "person");
        char *wrapped = NULL, *fresh = NULL;
        bool found = false;
        int rc = -1;

        if (index_of(in, person, "email", s->email_idx, e) < 0 ||
            index_of(in, person, "phone", s->phone_idx, e) < 0)
                return -1;
        /* A new data key is made before the look-up so finding or adding
         * the subject is one round trip; it is dropped when one is found. */
        uuid_v4(s->subject_id);
        if (secret_dek_new(in->keys.keyring, &s->dek, &fresh, e) < 0)
                return -1;
        if (intake_store_subject_resolve(db, nz(s->email_idx), nz(s->phone_idx),
                                         s->subject_id, fresh, &wrapped, &found,
                                         e) < 0)
                goto out;
        rc = 0;
        if (found) {
                secret_key_free(s->dek);
                s->dek = NULL;
                rc = secret_dek_unwrap(in->keys.keyring, wrapped, &s->dek, e);
        }
out:
        free(fresh);
        free(wrapped);
        return rc;
}

/* blobs: the three encrypted parts of the payload (referrer and special
 * stay NULL when absent). Returns new texts, free with free(). */
static int
blobs(struct sub *s, char **personal, char **referrer, char **special,
      struct err *e)
{
        const json_t *p = s->payload;
        json_t *part;
        char ad[UUID_STR_LEN + 16];
        int rc;

        part = json_pack("{sO}", "person", json_object_get(p, "person"));
        if (json_object_get(p, "notes") != NULL)
                json_object_set(part, "notes", json_object_get(p, "notes"));
        rc = intake_blob_seal(s->dek, part, s->id, personal, e);
        json_decref(part);
        if (rc == 0 && json_object_get(p, "referrer") != NULL) {
                snprintf(ad, sizeof(ad), "%s:referrer", s->id);
                part = json_pack("{sO}", "referrer",
                                 json_object_get(p, "referrer"));
                rc = intake_blob_seal(s->dek, part, ad, referrer, e);
                json_decref(part);
        }
        if (rc == 0 && json_object_get(p, "special_category") != NULL) {
                snprintf(ad, sizeof(ad), "%s:special", s->id);
                part = json_pack("{sO so}", "special_category",
                                 json_object_get(p, "special_category"),
                                 "share_special_category",
                                 json_object_get(p, "share_special_category")
                                     ? json_incref(json_object_get(
                                           p, "share_special_category"))
                                     : json_array());
                rc = intake_blob_seal(s->dek, part, ad, special, e);
                json_decref(part);
        }
        return rc;
}

static int
store(struct db *db, struct sub *s, struct err *e)
{
        char *personal = NULL, *referrer = NULL, *special = NULL;
        char *consents = NULL;
        const json_t *d = s->doc;
        int rc = -1;

        if (blobs(s, &personal, &referrer, &special, e) < 0)
                goto out;
        consents = json_dumps(json_object_get(d, "consents"), JSON_COMPACT);
        const char *p[19] = {
            s->id,
            json_string_value(json_object_get(d, "reference")),
            s->service_id,
            nz(s->svc.organisation_id),
            s->subject_id,
            s->kind,
            s->flags,
            consents,
            json_string_value(json_object_get(d, "privacy_notice_version")),
            json_string_value(json_object_get(d, "status_secret_hash")),
            nz(s->district),
            s->svc.taxonomy_terms,
            personal,
            referrer,
            special,
            nz(s->ref_email_idx),
            nz(s->ref_phone_idx),
            json_string_value(json_object_get(d, "submitted_at")),
            s->received_at};
        rc = intake_store_referral_add(db, p, strcmp(s->flags, "{}") == 0, e);
out:
        free(personal);
        free(referrer);
        free(special);
        free(consents);
        return rc;
}

/* flags_json: returns new array of the flags in s->flags ("{a,b}"). */
static json_t *
flags_json(const char *flags)
{
        json_t *a = json_array();
        const char *p = flags + 1;

        while (*p != '\0' && *p != '}') {
                size_t n = strcspn(p, ",}");
                json_array_append_new(a, json_stringn(p, n));
                p += n + (p[n] == ',');
        }
        return a;
}

static int
emit_received(struct db *db, struct sub *s, struct err *e)
{
        const json_t *d = s->doc;
        json_t *terms = json_loads(s->svc.taxonomy_terms, 0, NULL);
        json_t *j = json_pack(
            "{ss sO ss so ss ss so so sO sO ss so}", "referral_id", s->id,
            "reference", json_object_get(d, "reference"), "service_id",
            s->service_id, "organisation_id",
            s->svc.organisation_id[0] ? json_string(s->svc.organisation_id)
                                      : json_null(),
            "kind", s->kind, "subject_id", s->subject_id, "taxonomy_terms",
            terms ? terms : json_array(), "postcode_district",
            s->district[0] ? json_string(s->district) : json_null(), "consents",
            json_object_get(d, "consents"), "privacy_notice_version",
            json_object_get(d, "privacy_notice_version"), "received_at",
            s->received_at, "flags", flags_json(s->flags));

        return intake_emit(db, INTAKE_TOPIC_EVENTS, s->id,
                           "signpost.referral.received.v1", j, e);
}

static int
emit_consents(struct db *db, struct sub *s, struct err *e)
{
        const json_t *d = s->doc;
        const char *purpose;
        json_t *v;

        json_object_foreach(json_object_get(d, "consents"), purpose, v)
        {
                if (!json_is_true(v))
                        continue;
                json_t *j = json_pack(
                    "{ss ss ss sO ss sO}", "subject_id", s->subject_id,
                    "purpose", purpose, "expressed_via", "web_form",
                    "privacy_notice_version",
                    json_object_get(d, "privacy_notice_version"), "recorded_by",
                    "intake", "at", json_object_get(d, "submitted_at"));
                if (intake_emit(db, INTAKE_TOPIC_CONSENT, s->subject_id,
                                "signpost.consent.granted.v1", j, e) < 0)
                        return -1;
        }
        return 0;
}

static int
emit_confirmations(struct intake *in, struct db *db, struct sub *s,
                   struct err *e)
{
        const json_t *p = s->payload, *d = s->doc;
        const char *ref = json_string_value(json_object_get(d, "reference"));
        json_t *to;

        to = intake_contact_of(json_object_get(p, "person"));
        if (to != NULL &&
            json_is_true(json_object_get(json_object_get(d, "consents"),
                                         "contact_about_service"))) {
                json_object_set_new(to, "values",
                                    json_pack("{ss ss}", "reference", ref,
                                              "service_name", s->svc.name));
                if (intake_emit_notify(in, db, "referral_received_person",
                                       "person", s->subject_id,
                                       "contact_about_service", s->id,
                                       s->service_id, to, e) < 0)
                        return -1;
        } else {
                json_decref(to);
        }
        to = intake_contact_of(json_object_get(p, "referrer"));
        if (to == NULL)
                return 0;
        json_object_set_new(to, "values",
                            json_pack("{ss ss}", "reference", ref,
                                      "service_name", s->svc.name));
        return intake_emit_notify(in, db, "referral_received_referrer",
                                  "referrer", NULL, NULL, s->id, s->service_id,
                                  to, e);
}

/* prepare: parse, open, validate, and look the service up. */
static int
prepare(struct intake *in, struct db *db, struct sub *s, const char *value,
        size_t len, bool *dup, struct err *e)
{
        const json_t *person;

        s->doc = jsonx_parse_object(value, len, e);
        if (s->doc == NULL || intake_validate_submission(s->doc, e) < 0)
                return -1;
        s->id = json_string_value(json_object_get(s->doc, "referral_id"));
        s->kind = json_string_value(json_object_get(s->doc, "kind"));
        s->service_id =
            json_string_value(json_object_get(s->doc, "service_id"));
        if (intake_store_submit_lookup(db, s->id, s->service_id, dup, &s->svc,
                                       &s->svc_known, e) < 0 ||
            *dup)
                return *dup ? 0 : -1;
        s->payload = intake_unseal_json(
            &in->keys, json_string_value(json_object_get(s->doc, "sealed")), e);
        if (s->payload == NULL ||
            intake_validate_personal(s->payload, s->kind, e) < 0)
                return -1;
        if (!s->svc_known)
                return err_set(e, ERR_INVALID, "service_id",
                               "service not in the catalogue");
        person = json_object_get(s->payload, "person");
        intake_postcode_district(
            json_string_value(json_object_get(person, "postcode")),
            s->district);
        if (index_of(in, json_object_get(s->payload, "referrer"), "email",
                     s->ref_email_idx, e) < 0 ||
            index_of(in, json_object_get(s->payload, "referrer"), "phone",
                     s->ref_phone_idx, e) < 0)
                return -1;
        return 0;
}

static int
route_now(struct intake *in, struct db *db, struct sub *s, struct err *e)
{
        struct intake_referral r = {0};

        snprintf(r.id, sizeof(r.id), "%s", s->id);
        snprintf(r.reference, sizeof(r.reference), "%s",
                 json_string_value(json_object_get(s->doc, "reference")));
        snprintf(r.service_id, sizeof(r.service_id), "%s", s->service_id);
        snprintf(r.kind, sizeof(r.kind), "%s", s->kind);
        snprintf(r.received_at, sizeof(r.received_at), "%s", s->received_at);
        /* routed_at went in with the referral */
        return intake_route_emit(in, db, &r, s->payload, &s->svc, e);
}

int
intake_submit_apply(struct intake *in, struct db *db, const char *value,
                    size_t len, struct err *e)
{
        struct sub s = {0};
        bool dup = false;
        unsigned char pk[SECRET_BOX_PK_BYTES];
        int rc = -1;

        if (prepare(in, db, &s, value, len, &dup, e) < 0)
                goto out;
        if (dup) {
                log_info("duplicate submission ignored", "referral_id=%s",
                         s.id);
                rc = 0;
                goto out;
        }
        event_now(s.received_at);
        snprintf(s.flags, sizeof(s.flags), "{%s}",
                 !s.svc.open ? "service_closed"
                 : intake_pk_decode(s.svc.partner_key, pk) < 0
                     ? "partner_key_missing"
                     : "");
        if (subject_resolve(in, db, &s, e) < 0 || store(db, &s, e) < 0 ||
            emit_received(db, &s, e) < 0 || emit_consents(db, &s, e) < 0 ||
            emit_confirmations(in, db, &s, e) < 0)
                goto out;
        if (strcmp(s.flags, "{}") == 0 && route_now(in, db, &s, e) < 0)
                goto out;
        log_info("referral stored", "referral_id=%s service_id=%s flags=%s",
                 s.id, s.service_id, s.flags);
        rc = 0;
out:
        secret_key_free(s.dek);
        free(s.svc.taxonomy_terms);
        json_decref(s.payload);
        json_decref(s.doc);
        return rc;
}
