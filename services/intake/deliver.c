/*
 * deliver: hands a referral to its provider. The copy on
 * partner.<organisation>.referrals is sealed to the organisation's partner
 * key and carries the person, the referrer, the notes and only the
 * special-category fields the person chose to share; without a key the
 * referral stays held (flag partner_key_missing) and is never sent in the
 * clear. Also opens a stored referral's blobs for whoever needs them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "event.h"
#include "intake.h"
#include "log.h"

int
intake_audit(struct intake *in, struct db *db, const char *id, const char *why,
             struct err *e)
{
        char rid[UUID_STR_LEN];
        struct audit_rec a = {.system_sub = "intake",
                              .what = "referral",
                              .id = id,
                              .why = why,
                              .request_id = rid};
        json_t *j;

        uuid_v7(rid);
        j = audit_json(&a, in->keys.reporting_pk, e);
        if (j == NULL)
                return -1;
        return intake_emit(db, AUDIT_TOPIC, "intake", AUDIT_TYPE, j, e);
}

json_t *
intake_referral_open(struct intake *in, const struct intake_referral *r,
                     struct err *e)
{
        struct secret_key *dek = NULL;
        json_t *out = NULL, *part = NULL;
        char ad[UUID_STR_LEN + 16];

        if (secret_dek_unwrap(in->keys.keyring, r->wrapped_dek, &dek, e) < 0)
                return NULL;
        out = intake_blob_open(dek, r->personal_blob, r->id, e);
        if (out == NULL)
                goto out;
        if (r->referrer_blob != NULL) {
                snprintf(ad, sizeof(ad), "%s:referrer", r->id);
                part = intake_blob_open(dek, r->referrer_blob, ad, e);
                if (part == NULL || json_object_update(out, part) < 0)
                        goto fail;
                json_decref(part);
        }
        if (r->special_blob != NULL) {
                snprintf(ad, sizeof(ad), "%s:special", r->id);
                part = intake_blob_open(dek, r->special_blob, ad, e);
                if (part == NULL || json_object_update(out, part) < 0)
                        goto fail;
                json_decref(part);
        }
        goto out;
fail:
        json_decref(part);
        json_decref(out);
        out = NULL;
out:
        secret_key_free(dek);
        return out;
}

/* reason_ad: the additional data binding a sealed reason to r. */
static void
reason_ad(const struct intake_referral *r, char *ad, size_t adsz)
{
        snprintf(ad, adsz, "%s:reason", r->id);
}

int
intake_reason_seal(struct intake *in, const struct intake_referral *r,
                   const char *reason, char **out, struct err *e)
{
        struct secret_key *dek = NULL;
        char ad[UUID_STR_LEN + 16];
        json_t *j;
        int rc;

        *out = NULL;
        if (secret_dek_unwrap(in->keys.keyring, r->wrapped_dek, &dek, e) < 0)
                return -1;
        reason_ad(r, ad, sizeof(ad));
        j = json_pack("{ss}", "reason", reason);
        rc = j != NULL ? intake_blob_seal(dek, j, ad, out, e)
                       : err_set(e, ERR_FATAL, NULL, "out of memory");
        json_decref(j);
        secret_key_free(dek);
        return rc;
}

json_t *
intake_reason_open(struct intake *in, const struct intake_referral *r,
                   const char *blob, struct err *e)
{
        struct secret_key *dek = NULL;
        char ad[UUID_STR_LEN + 16];
        json_t *j, *out = NULL;

        if (secret_dek_unwrap(in->keys.keyring, r->wrapped_dek, &dek, e) < 0)
                return NULL;
        reason_ad(r, ad, sizeof(ad));
        if ((j = intake_blob_open(dek, blob, ad, e)) != NULL) {
                out = json_object_get(j, "reason");
                out = json_is_string(out) ? json_incref(out) : json_null();
                json_decref(j);
        }
        secret_key_free(dek);
        return out;
}

/* shared_special: returns new object of the special-category fields listed
 * in share_special_category. */
static json_t *
shared_special(const json_t *payload)
{
        const json_t *sc = json_object_get(payload, "special_category");
        json_t *share = json_object_get(payload, "share_special_category");
        json_t *out = json_object(), *v;
        size_t i;

        json_array_foreach(share, i, v)
        {
                const char *k = json_string_value(v);
                json_t *val = k ? json_object_get(sc, k) : NULL;
                if (val != NULL)
                        json_object_set(out, k, val);
        }
        return out;
}

/* partner_view: returns new object: what the provider may see. */
static json_t *
partner_view(const struct intake_referral *r, const json_t *payload)
{
        json_t *v =
            json_pack("{ss ss ss ss ss sO}", "referral_id", r->id, "reference",
                      r->reference, "service_id", r->service_id, "kind",
                      r->kind, "received_at", r->received_at, "person",
                      json_object_get(payload, "person"));

        if (v == NULL)
                return NULL;
        if (json_object_get(payload, "referrer") != NULL)
                json_object_set(v, "referrer",
                                json_object_get(payload, "referrer"));
        json_object_set_new(v, "special_category", shared_special(payload));
        if (json_object_get(payload, "notes") != NULL)
                json_object_set(v, "notes", json_object_get(payload, "notes"));
        return v;
}

static int
provider_notice(struct intake *in, struct db *db,
                const struct intake_referral *r, const json_t *payload,
                const struct intake_service *svc, struct err *e)
{
        const char *name = json_string_value(
            json_object_get(json_object_get(payload, "person"), "name"));
        char initials[64];

        if (svc->notice_email[0] == '\0')
                return 0;
        intake_initials(name, initials, sizeof(initials));
        return intake_emit_notify(
            in, db, "new_referral_provider", "provider", NULL, NULL, r->id,
            r->service_id,
            json_pack("{ss s{ss ss ss}}", "email", svc->notice_email, "values",
                      "reference", r->reference, "service_name", svc->name,
                      "initials", initials),
            e);
}

int
intake_route(struct intake *in, struct db *db, const struct intake_referral *r,
             const json_t *payload, const struct intake_service *svc,
             struct err *e)
{
        if (intake_route_emit(in, db, r, payload, svc, e) < 0)
                return -1;
        return intake_store_routed(db, r->id, "partner_key_missing", e);
}

int
intake_route_emit(struct intake *in, struct db *db,
                  const struct intake_referral *r, const json_t *payload,
                  const struct intake_service *svc, struct err *e)
{
        unsigned char pk[SECRET_BOX_PK_BYTES];
        char topic[KAFKA_PARTNER_TOPIC_LEN];
        char *sealed = NULL;
        json_t *view = NULL;
        int rc = -1;

        if (secret_pk_decode(svc->partner_key, pk) < 0)
                return err_set(e, ERR_FATAL, NULL, "no usable partner key");
        view = partner_view(r, payload);
        if (view == NULL || intake_seal_json(pk, NULL, view, &sealed, e) < 0)
                goto out;
        kafka_partner_topic(svc->organisation_id, topic, sizeof(topic));
        if (intake_emit(db, topic, r->id, "signpost.referral.routed.v1",
                        json_pack("{ss ss ss ss ss ss ss}", "referral_id",
                                  r->id, "reference", r->reference,
                                  "service_id", r->service_id,
                                  "organisation_id", svc->organisation_id,
                                  "kind", r->kind, "received_at",
                                  r->received_at, "sealed", sealed),
                        e) < 0 ||
            provider_notice(in, db, r, payload, svc, e) < 0)
                goto out;
        rc = 0;
out:
        if (view != NULL && rc < 0 && e != NULL && e->kind == ERR_NONE)
                err_set(e, ERR_FATAL, NULL, "out of memory");
        free(sealed);
        json_decref(view);
        return rc;
}

int
intake_route_one(struct intake *in, struct db *db, const char *id,
                 struct err *e)
{
        struct intake_referral r;
        struct intake_service svc = {0};
        json_t *payload = NULL;
        bool found = false, known = false;
        int rc = -1;

        if (intake_store_referral_get(db, id, true, &r, &found, e) < 0)
                return -1;
        if (!found)
                return 0;
        if (intake_store_service_get(db, r.service_id, &svc, &known, e) < 0)
                goto out;
        rc = 0;
        if (!known || !svc.open || intake_consent_blocks(&r))
                goto out;
        if (svc.partner_key[0] == '\0') {
                /* routed when the key arrives (intake_route_held) */
                rc = intake_store_flag_set(db, r.id, "partner_key_missing",
                                           true, e);
                goto out;
        }
        if (intake_audit(in, db, r.id, "route_to_provider", e) < 0)
                goto out;
        payload = intake_referral_open(in, &r, e);
        rc = payload ? intake_route(in, db, &r, payload, &svc, e) : -1;
        if (rc == 0)
                log_info("held referral routed", "referral_id=%s", r.id);
out:
        json_decref(payload);
        free(svc.taxonomy_terms);
        intake_referral_fini(&r);
        return rc;
}

int
intake_route_held(struct intake *in, struct db *db, const char *org_id,
                  struct err *e)
{
        char(*ids)[UUID_STR_LEN];
        size_t i, n;
        int rc = 0;

        if (intake_store_held(db, org_id, &ids, &n, e) < 0)
                return -1;
        for (i = 0; i < n && rc == 0; i++)
                rc = intake_route_one(in, db, ids[i], e);
        free(ids);
        return rc;
}
