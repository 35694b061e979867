/*
 * updates: who sent a referral.updates record, learnt without believing
 * its body. Two kinds of writer may produce to the topic:
 *
 *   {"referral_id", "sealed"}  the gateway (the provider API). The box is
 *       sealed to intake and holds {"referral_id", "status", "reason"?,
 *       "principal"}: the caller as a principal token signed with the
 *       principal key (lib/http_principal.c). Only intake can read the
 *       token and only the gateway can sign one.
 *   {"referral_id", "organisation_id", "boxed"}  a partner. The box is
 *       an authenticated box (secret_box_to) from the organisation's
 *       registered partner key pair to intake's key and holds
 *       {"referral_id", "status", "reason"?, "sub"?}. It opens only with
 *       the public key the directory published for that organisation, so
 *       the actor is (partner, that organisation), whatever the box says.
 *
 * The reason is free text about a person: it travels only inside the box,
 * and a dead-lettered update keeps only the box. Whether the actor may
 * change this referral is lifecycle.c's judgement (a partner's update for
 * a referral routed elsewhere is refused). Does not own SQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "intake.h"
#include "json.h"
#include "log.h"

/* boxed_open: returns new inner object of a partner's update from org. */
static json_t *
boxed_open(struct intake *in, struct db *db, const char *org, const char *b64,
           struct err *e)
{
        unsigned char pk[SECRET_BOX_PK_BYTES], *box = NULL, *plain = NULL;
        size_t boxlen = 0, len = 0;
        char key[96];
        bool found = false;
        json_t *j = NULL;

        if (intake_store_org_key(db, org, key, sizeof(key), &found, e) < 0)
                return NULL;
        if (!found || secret_pk_decode(key, pk) < 0) {
                err_set(e, ERR_INVALID, "organisation_id",
                        "organisation has no registered partner key");
                return NULL;
        }
        if (secret_b64_decode(b64, &box, &boxlen, NULL) < 0) {
                err_set(e, ERR_INVALID, "boxed", "not base64url");
                goto out;
        }
        if (secret_box_from(pk, in->keys.intake_sk, box, boxlen, &plain, &len,
                            NULL) < 0) {
                err_set(e, ERR_INVALID, "boxed",
                        "not boxed with the organisation's partner key");
                goto out;
        }
        j = intake_json_of(plain, len, "boxed", e);
out:
        free(box);
        if (plain != NULL)
                secret_wipe(plain, len);
        free(plain);
        return j;
}

/* partner_actor: (partner, org) with the box's sub, or partner:<org>. */
static int
partner_actor(const json_t *inner, const char *org, struct intake_actor *by,
              struct err *e)
{
        const char *sub = NULL;

        if (jsonx_get_string(inner, "sub", false, &sub, e) < 0)
                return -1;
        if (sub != NULL && (sub[0] == '\0' || strlen(sub) >= sizeof(by->sub)))
                return err_set(e, ERR_INVALID, "sub", "1 to 127 characters");
        if (sub != NULL)
                snprintf(by->sub, sizeof(by->sub), "%s", sub);
        else
                snprintf(by->sub, sizeof(by->sub), "partner:%s", org);
        snprintf(by->role, sizeof(by->role), "partner");
        snprintf(by->org, sizeof(by->org), "%s", org);
        return 0;
}

/* gateway_actor: the caller the gateway signed into the box. */
static int
gateway_actor(struct intake *in, const json_t *inner, struct intake_actor *by,
              struct err *e)
{
        const char *token = NULL;
        struct http_principal p = {0};
        struct err pe = {0};

        if (jsonx_get_string(inner, "principal", true, &token, e) < 0)
                return -1;
        if (in->principal_key == NULL ||
            http_principal_verify(in->principal_key, token, &p, &pe) < 0)
                return err_set(e, ERR_INVALID, "principal",
                               "not signed by the gateway (%s)", pe.msg);
        snprintf(by->sub, sizeof(by->sub), "%s", p.sub);
        snprintf(by->role, sizeof(by->role), "%s", http_role_name(p.role));
        snprintf(by->org, sizeof(by->org), "%s", p.org);
        return 0;
}

json_t *
intake_update_open(struct intake *in, struct db *db, const char *value,
                   size_t len, struct intake_actor *by, struct err *e)
{
        static const char *const outer_fields[] = {
            "referral_id", "sealed", "organisation_id", "boxed", NULL};
        const char *id = NULL, *sealed = NULL, *org = NULL, *boxed = NULL;
        const char *inner_id = NULL;
        json_t *d = jsonx_parse_object(value, len, e), *inner = NULL;

        memset(by, 0, sizeof(*by));
        if (d == NULL)
                return NULL;
        if (jsonx_reject_unknown(d, outer_fields, e) < 0 ||
            jsonx_get_string(d, "referral_id", true, &id, e) < 0 ||
            jsonx_get_string(d, "sealed", false, &sealed, e) < 0 ||
            jsonx_get_string(d, "organisation_id", false, &org, e) < 0 ||
            jsonx_get_string(d, "boxed", false, &boxed, e) < 0)
                goto fail;
        if ((sealed != NULL) == (boxed != NULL) ||
            (boxed != NULL) != (org != NULL)) {
                err_set(e, ERR_INVALID, NULL,
                        "needs sealed (gateway), or organisation_id and "
                        "boxed (partner)");
                goto fail;
        }
        if (org != NULL && !uuid_valid(org)) {
                err_set(e, ERR_INVALID, "organisation_id", "not a uuid");
                goto fail;
        }
        inner = sealed != NULL ? intake_unseal_json(&in->keys, sealed, e)
                               : boxed_open(in, db, org, boxed, e);
        if (inner == NULL)
                goto fail;
        if (jsonx_get_string(inner, "referral_id", true, &inner_id, e) < 0 ||
            strcmp(inner_id, id) != 0) {
                err_set(e, ERR_INVALID, "referral_id",
                        "the box is for another referral");
                goto fail;
        }
        if ((org != NULL ? partner_actor(inner, org, by, e)
                         : gateway_actor(in, inner, by, e)) < 0)
                goto fail;
        json_decref(d);
        return inner;
fail:
        json_decref(inner);
        json_decref(d);
        return NULL;
}
