/*
 * submit: a referral.submissions record becomes a stored referral. Opens
 * the personal payload sealed to intake, validates it again, checks the
 * service in the catalogue replica, finds or makes the person's subject
 * (blind index, data key), stores the personal fields as AEAD blobs, and
 * queues in the same transaction: referral.received, the consents given,
 * the confirmations, and the provider's sealed copy (deliver.c). A referral
 * id already stored has no second effect. Each record can be taken alone;
 * submit_batch.c does the opening and the look-ups of a whole batch
 * first, with one statement each, and hands each record its part.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "intake.h"
#include "json.h"
#include "log.h"
#include "submit.h"

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

/* opt: a JSON string, or null for NULL / "". */
static json_t *
opt(const char *s)
{
        return s != NULL && s[0] != '\0' ? json_string(s) : json_null();
}

static bool
same_index(const char *a, const char *b)
{
        return a[0] != '\0' && strcmp(a, b) == 0;
}

/* leader: the first of subs[0..i) that shares an email index with
 * subs[i] (i itself when none): one person, one subject, within a batch
 * too. */
static size_t
leader(struct sub *const *subs, const size_t *lead, size_t i)
{
        for (size_t j = 0; j < i; j++)
                /* the email alone, as intake_store_subjects_resolve */
                if (same_index(subs[i]->email_idx, subs[j]->email_idx))
                        return lead[j];
        return i;
}

/* resolved: takes the subjects query's rows into the leaders. */
static int
resolved(PGresult *r, struct sub *const *subs, size_t n, struct err *e)
{
        for (int row = 0; row < PQntuples(r); row++) {
                size_t i = (size_t)atol(PQgetvalue(r, row, 0));
                if (i >= n)
                        return err_set(e, ERR_FATAL, NULL, "bad subject row");
                if (PQgetvalue(r, row, 3)[0] != 't')
                        continue; /* added: the new id and key stand */
                snprintf(subs[i]->subject_id, UUID_STR_LEN, "%s",
                         PQgetvalue(r, row, 1));
                free(subs[i]->wrapped);
                subs[i]->wrapped = strdup(PQgetvalue(r, row, 2));
                if (subs[i]->wrapped == NULL)
                        return err_set(e, ERR_FATAL, NULL, "out of memory");
        }
        return 0;
}

int
intake_subjects_resolve(struct intake *in, struct db *db,
                        struct sub *const *subs, size_t n, struct err *e)
{
        size_t *lead = calloc(n + 1, sizeof(*lead));
        json_t *items = json_array();
        PGresult *r = NULL;
        int rc = -1;

        if (lead == NULL || items == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                goto out;
        }
        /* A new data key is made before the look-up so finding or adding
         * the subjects is one round trip; it is dropped when one is
         * found. */
        for (size_t i = 0; i < n; i++) {
                lead[i] = leader(subs, lead, i);
                if (lead[i] != i)
                        continue;
                uuid_v4(subs[i]->subject_id);
                free(subs[i]->wrapped);
                subs[i]->wrapped = NULL;
                if (secret_dek_new(in->keys.keyring, NULL, &subs[i]->wrapped,
                                   e) < 0)
                        goto out;
                json_array_append_new(
                    items, json_pack("{sI so so ss ss}", "i", (json_int_t)i,
                                     "email", opt(subs[i]->email_idx), "phone",
                                     opt(subs[i]->phone_idx), "id",
                                     subs[i]->subject_id, "wrapped",
                                     subs[i]->wrapped));
        }
        if (intake_store_subjects_lock(db, items, e) < 0)
                goto out;
        r = intake_store_subjects_resolve(db, items, e);
        if (r == NULL || resolved(r, subs, n, e) < 0)
                goto out;
        for (size_t i = 0; i < n; i++) {
                if (lead[i] == i)
                        continue;
                memcpy(subs[i]->subject_id, subs[lead[i]]->subject_id,
                       UUID_STR_LEN);
                free(subs[i]->wrapped);
                subs[i]->wrapped = strdup(subs[lead[i]]->wrapped);
                if (subs[i]->wrapped == NULL) {
                        err_set(e, ERR_FATAL, NULL, "out of memory");
                        goto out;
                }
        }
        rc = 0;
out:
        PQclear(r);
        json_decref(items);
        free(lead);
        return rc;
}

void
intake_sub_fini(struct sub *s)
{
        secret_key_free(s->dek);
        free(s->svc.taxonomy_terms);
        free(s->wrapped);
        json_decref(s->terms);
        json_decref(s->payload);
        json_decref(s->doc);
        memset(s, 0, sizeof(*s));
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

static json_t *flags_json(const struct sub *s);

/* store: the referral's row, queued with the thread's writes. */
static int
store(struct db *db, struct sub *s, struct err *e)
{
        char *personal = NULL, *referrer = NULL, *special = NULL;
        const json_t *d = s->doc;
        json_t *row = NULL;
        int rc = -1;

        if (blobs(s, &personal, &referrer, &special, e) < 0)
                goto out;
        row = json_pack(
            "{ss sO ss so ss ss so sO sO sO so sO ss so so so so sO ss sb}",
            "id", s->id, "reference", json_object_get(d, "reference"),
            "service_id", s->service_id, "organisation_id",
            opt(s->svc.organisation_id), "subject_id", s->subject_id, "kind",
            s->kind, "flags", flags_json(s), "consents",
            json_object_get(d, "consents"), "privacy_notice_version",
            json_object_get(d, "privacy_notice_version"), "status_secret_hash",
            json_object_get(d, "status_secret_hash"), "postcode_district",
            opt(s->district), "taxonomy_terms", s->terms, "personal_blob",
            personal, "referrer_blob", opt(referrer), "special_blob",
            opt(special), "referrer_email_index", opt(s->ref_email_idx),
            "referrer_phone_index", opt(s->ref_phone_idx), "submitted_at",
            json_object_get(d, "submitted_at"), "received_at", s->received_at,
            "routed", s->flag == NULL);
        rc = intake_outq_referral(db, row, e);
out:
        free(personal);
        free(referrer);
        free(special);
        return rc;
}

/* flags_json: returns new array of s's flags (none, or the one). */
static json_t *
flags_json(const struct sub *s)
{
        return s->flag != NULL ? json_pack("[s]", s->flag) : json_array();
}

static int
emit_received(struct db *db, struct sub *s, struct err *e)
{
        const json_t *d = s->doc;
        json_t *j = json_pack(
            "{ss sO ss so ss ss sO so sO sO ss so}", "referral_id", s->id,
            "reference", json_object_get(d, "reference"), "service_id",
            s->service_id, "organisation_id", opt(s->svc.organisation_id),
            "kind", s->kind, "subject_id", s->subject_id, "taxonomy_terms",
            s->terms, "postcode_district", opt(s->district), "consents",
            json_object_get(d, "consents"), "privacy_notice_version",
            json_object_get(d, "privacy_notice_version"), "received_at",
            s->received_at, "flags", flags_json(s));

        if (j == NULL || intake_fact_received(db, j, e) < 0) {
                json_decref(j);
                return j == NULL ? err_set(e, ERR_FATAL, NULL, "out of memory")
                                 : -1;
        }
        return intake_emit(db, INTAKE_TOPIC_EVENTS, s->id,
                           "signpost.referral.received.v1", j, e);
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

int
intake_sub_parse(struct sub *s, const char *value, size_t len, struct err *e)
{
        s->doc = jsonx_parse_object(value, len, e);
        if (s->doc == NULL || intake_validate_submission(s->doc, e) < 0)
                return -1;
        s->id = json_string_value(json_object_get(s->doc, "referral_id"));
        s->kind = json_string_value(json_object_get(s->doc, "kind"));
        s->service_id =
            json_string_value(json_object_get(s->doc, "service_id"));
        return 0;
}

int
intake_sub_open(struct intake *in, struct sub *s, struct err *e)
{
        const json_t *person, *referrer;

        s->payload = intake_unseal_json(
            &in->keys, json_string_value(json_object_get(s->doc, "sealed")), e);
        if (s->payload == NULL ||
            intake_validate_personal(s->payload, s->kind, e) < 0)
                return -1;
        person = json_object_get(s->payload, "person");
        referrer = json_object_get(s->payload, "referrer");
        intake_postcode_district(
            json_string_value(json_object_get(person, "postcode")),
            s->district);
        if (index_of(in, person, "email", s->email_idx, e) < 0 ||
            index_of(in, person, "phone", s->phone_idx, e) < 0 ||
            index_of(in, referrer, "email", s->ref_email_idx, e) < 0 ||
            index_of(in, referrer, "phone", s->ref_phone_idx, e) < 0)
                return -1;
        return 0;
}

int
intake_subs_look_up(struct db *db, struct sub *const *subs, size_t n,
                    struct err *e)
{
        json_t *items = json_array();
        PGresult *r;
        int rc = 0;

        for (size_t i = 0; i < n; i++)
                json_array_append_new(
                    items,
                    json_pack("{sI ss ss}", "i", (json_int_t)i, "id",
                              subs[i]->id, "service_id", subs[i]->service_id));
        r = intake_store_submit_lookup(db, items, e);
        json_decref(items);
        if (r == NULL)
                return -1;
        if ((size_t)PQntuples(r) != n)
                rc = err_set(e, ERR_FATAL, NULL, "lookup rows missing");
        for (int row = 0; rc == 0 && row < PQntuples(r); row++) {
                size_t i = (size_t)atol(PQgetvalue(r, row, 0));
                struct sub *s;

                if (i >= n) {
                        rc = err_set(e, ERR_FATAL, NULL, "bad lookup row");
                        break;
                }
                s = subs[i];
                intake_store_lookup_row(r, row, &s->dup, &s->svc,
                                        &s->svc_known);
                s->dup = s->dup || intake_outq_has_referral(s->id);
                json_decref(s->terms);
                s->terms = json_loads(
                    s->svc.taxonomy_terms ? s->svc.taxonomy_terms : "[]", 0,
                    NULL);
                if (s->terms == NULL)
                        s->terms = json_array();
        }
        PQclear(r);
        return rc;
}

/* prepare: parse, look the service up, open, validate, and resolve the
 * subject. */
static int
prepare(struct intake *in, struct db *db, struct sub *s,
        const struct kafka_record *rec, struct err *e)
{
        struct sub *one[1] = {s};

        if (intake_sub_parse(s, rec->value, rec->value_len, e) < 0 ||
            intake_subs_look_up(db, one, 1, e) < 0 || s->dup)
                return s->dup ? 0 : -1;
        if (intake_sub_open(in, s, e) < 0)
                return -1;
        if (!s->svc_known)
                return err_set(e, ERR_INVALID, "service_id",
                               "service not in the catalogue");
        return intake_subjects_resolve(in, db, one, 1, e);
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

/* sharing_withdrawn: whether someone other than the person refers a
 * person who withdrew sharing with providers: then the referral is held
 * (only the person's own referral grants sharing again). */
static int
sharing_withdrawn(struct db *db, const struct sub *s, bool *withdrawn,
                  struct err *e)
{
        bool opted_out;

        *withdrawn = false;
        if (strcmp(s->kind, "self") == 0)
                return 0;
        return intake_store_consent_get(db, s->subject_id, withdrawn,
                                        &opted_out, e);
}

int
intake_submit_apply(struct intake *in, struct db *db,
                    const struct kafka_record *rec, struct err *e)
{
        struct sub s = {0};
        unsigned char pk[SECRET_BOX_PK_BYTES];
        bool withdrawn = false;
        int rc = -1;

        if (intake_submit_prefetched(rec, &s))
                s.dup = intake_outq_has_referral(s.id);
        else if (prepare(in, db, &s, rec, e) < 0)
                goto out;
        if (s.dup) {
                log_info("duplicate submission ignored", "referral_id=%s",
                         s.id);
                rc = 0;
                goto out;
        }
        if (secret_dek_unwrap(in->keys.keyring, s.wrapped, &s.dek, e) < 0)
                goto out;
        event_now(s.received_at);
        if (sharing_withdrawn(db, &s, &withdrawn, e) < 0)
                goto out;
        s.flag = !s.svc.open ? "service_closed"
                 : withdrawn ? "consent_withdrawn"
                 : secret_pk_decode(s.svc.partner_key, pk) < 0
                     ? "partner_key_missing"
                     : NULL;
        if (store(db, &s, e) < 0 || emit_received(db, &s, e) < 0 ||
            emit_confirmations(in, db, &s, e) < 0)
                goto out;
        if (s.flag == NULL && route_now(in, db, &s, e) < 0)
                goto out;
        log_info("referral stored", "referral_id=%s service_id=%s flags={%s}",
                 s.id, s.service_id, s.flag ? s.flag : "");
        rc = 0;
out:
        intake_sub_fini(&s);
        return rc;
}
