/*
 * validate: intake checks every submission again (the edge is not
 * trusted): the envelope fields, then the opened personal payload. Errors
 * are ERR_INVALID naming the field, never quoting a value. Owns no state.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "intake.h"
#include "json.h"

#define TEXT_MAX 2000
#define NOTES_MAX 8000

static const char *const consent_purposes[] = {"share_with_provider",
                                               "contact_about_service",
                                               "feedback_requests",
                                               "terms_change_notices",
                                               "share_with_other_organisations",
                                               NULL};

static const char *const special_fields[] = {
    "health",    "ethnicity", "gender",     "marital_status",
    "education", "housing",   "employment", NULL};

static const char *const statuses[] = {
    "received",  "delivered", "accepted",  "contacted",         "in_progress",
    "completed", "declined",  "withdrawn", "unable_to_contact", NULL};

static bool
in_list(const char *const list[], const char *s)
{
        size_t i;

        for (i = 0; s != NULL && list[i] != NULL; i++)
                if (strcmp(list[i], s) == 0)
                        return true;
        return false;
}

bool
intake_status_valid(const char *s)
{
        return in_list(statuses, s);
}

static bool
is_hex64(const char *s)
{
        size_t i;

        for (i = 0; s[i] != '\0'; i++)
                if (!isxdigit((unsigned char)s[i]))
                        return false;
        return i == 64;
}

static int
consents_check(const json_t *c, struct err *e)
{
        const char *k;
        json_t *v;

        if (!json_is_object(c))
                return err_set(e, ERR_INVALID, "consents", "not an object");
        json_object_foreach((json_t *)c, k, v)
        {
                if (!in_list(consent_purposes, k) || !json_is_boolean(v))
                        return err_set(e, ERR_INVALID, "consents",
                                       "unknown purpose or not a boolean");
        }
        if (!json_is_true(json_object_get(c, "share_with_provider")))
                return err_set(e, ERR_INVALID, "consents",
                               "share_with_provider was not given");
        return 0;
}

int
intake_validate_submission(const json_t *doc, struct err *e)
{
        static const char *const allowed[] = {"referral_id",
                                              "reference",
                                              "service_id",
                                              "kind",
                                              "consents",
                                              "privacy_notice_version",
                                              "status_secret_hash",
                                              "submitted_at",
                                              "sealed",
                                              NULL};
        static const char *const kinds[] = {"self", "on_behalf", "professional",
                                            NULL};
        const char *id = NULL, *ref = NULL, *svc = NULL, *kind = NULL;
        const char *pnv = NULL, *hash = NULL, *at = NULL, *sealed = NULL;

        if (jsonx_reject_unknown(doc, allowed, e) < 0 ||
            jsonx_get_string(doc, "referral_id", true, &id, e) < 0 ||
            jsonx_get_string(doc, "reference", true, &ref, e) < 0 ||
            jsonx_get_string(doc, "service_id", true, &svc, e) < 0 ||
            jsonx_get_string(doc, "kind", true, &kind, e) < 0 ||
            jsonx_get_string(doc, "privacy_notice_version", true, &pnv, e) <
                0 ||
            jsonx_get_string(doc, "status_secret_hash", true, &hash, e) < 0 ||
            jsonx_get_string(doc, "submitted_at", true, &at, e) < 0 ||
            jsonx_get_string(doc, "sealed", true, &sealed, e) < 0)
                return -1;
        if (!uuid_valid(id))
                return err_set(e, ERR_INVALID, "referral_id", "not a UUID");
        if (!uuid_valid(svc))
                return err_set(e, ERR_INVALID, "service_id", "not a UUID");
        if (strlen(ref) < 4 || strlen(ref) > 31 || strncmp(ref, "SP-", 3) != 0)
                return err_set(e, ERR_INVALID, "reference", "malformed");
        if (!in_list(kinds, kind))
                return err_set(e, ERR_INVALID, "kind", "unknown kind");
        if (pnv[0] == '\0' || strlen(pnv) > 63)
                return err_set(e, ERR_INVALID, "privacy_notice_version",
                               "empty or too long");
        if (!is_hex64(hash))
                return err_set(e, ERR_INVALID, "status_secret_hash",
                               "expected 64 hex digits");
        if (strlen(at) < 10 || strlen(at) > 39)
                return err_set(e, ERR_INVALID, "submitted_at", "malformed");
        return consents_check(json_object_get(doc, "consents"), e);
}

/* text_field: optional (or required) string of at most max bytes. */
static int
text_field(const json_t *obj, const char *name, bool required, size_t max,
           const char *where, struct err *e)
{
        const char *s = NULL;

        if (jsonx_get_string(obj, name, required, &s, e) < 0) {
                if (e != NULL)
                        snprintf(e->field, sizeof(e->field), "%s.%s", where,
                                 name);
                return -1;
        }
        if (s != NULL && (strlen(s) > max || (required && s[0] == '\0')))
                return err_set(e, ERR_INVALID, name, "%s.%s empty or too long",
                               where, name);
        return 0;
}

static int
contact_check(const json_t *o, const char *where, struct err *e)
{
        const char *email = NULL, *phone = NULL;
        char buf[256];

        jsonx_get_string(o, "email", false, &email, NULL);
        jsonx_get_string(o, "phone", false, &phone, NULL);
        if (email != NULL && email[0] != '\0' &&
            secret_normalise_email(email, buf, sizeof(buf), NULL) < 0)
                return err_set(e, ERR_INVALID, "email", "%s.email malformed",
                               where);
        if (phone != NULL && phone[0] != '\0' &&
            secret_normalise_phone(phone, buf, sizeof(buf), NULL) < 0)
                return err_set(e, ERR_INVALID, "phone", "%s.phone malformed",
                               where);
        return 0;
}

static bool
has_text(const json_t *o, const char *name)
{
        const char *s = json_string_value(json_object_get(o, name));

        return s != NULL && s[0] != '\0';
}

static int
person_check(const json_t *p, struct err *e)
{
        static const char *const allowed[] = {"name",    "email",    "phone",
                                              "address", "postcode", NULL};
        size_t i;

        if (!json_is_object(p))
                return err_set(e, ERR_INVALID, "person", "missing");
        if (jsonx_reject_unknown(p, allowed, e) < 0 ||
            text_field(p, "name", true, 200, "person", e) < 0)
                return -1;
        for (i = 1; allowed[i] != NULL; i++)
                if (text_field(p, allowed[i], false, TEXT_MAX, "person", e) < 0)
                        return -1;
        if (!has_text(p, "email") && !has_text(p, "phone") &&
            !has_text(p, "address"))
                return err_set(e, ERR_INVALID, "person",
                               "needs one of email, phone, address");
        return contact_check(p, "person", e);
}

static int
referrer_check(const json_t *r, const char *kind, struct err *e)
{
        static const char *const allowed[] = {
            "name", "relationship", "organisation", "role", "email", "phone",
            NULL};
        size_t i;

        if (strcmp(kind, "self") == 0)
                return r == NULL ? 0
                                 : err_set(e, ERR_INVALID, "referrer",
                                           "not allowed for kind self");
        if (!json_is_object(r))
                return err_set(e, ERR_INVALID, "referrer", "missing");
        if (jsonx_reject_unknown(r, allowed, e) < 0 ||
            text_field(r, "name", true, 200, "referrer", e) < 0)
                return -1;
        for (i = 1; allowed[i] != NULL; i++)
                if (text_field(r, allowed[i], false, TEXT_MAX, "referrer", e) <
                    0)
                        return -1;
        if (strcmp(kind, "professional") == 0 && !has_text(r, "organisation"))
                return err_set(e, ERR_INVALID, "referrer",
                               "organisation required for professional");
        return contact_check(r, "referrer", e);
}

static int
special_check(const json_t *sc, const json_t *share, struct err *e)
{
        const char *k;
        json_t *v;
        size_t i;

        if (sc != NULL && !json_is_object(sc))
                return err_set(e, ERR_INVALID, "special_category",
                               "not an object");
        json_object_foreach((json_t *)sc, k, v)
        {
                if (!in_list(special_fields, k) || !json_is_string(v) ||
                    strlen(json_string_value(v)) > TEXT_MAX)
                        return err_set(e, ERR_INVALID, "special_category",
                                       "unknown field or not text");
        }
        if (share != NULL && !json_is_array(share))
                return err_set(e, ERR_INVALID, "share_special_category",
                               "not an array");
        json_array_foreach(share, i, v)
        {
                if (!in_list(special_fields, json_string_value(v)))
                        return err_set(e, ERR_INVALID, "share_special_category",
                                       "unknown field");
        }
        return 0;
}

int
intake_validate_personal(const json_t *p, const char *kind, struct err *e)
{
        static const char *const allowed[] = {
            "person", "referrer", "special_category", "share_special_category",
            "notes",  NULL};

        if (jsonx_reject_unknown(p, allowed, e) < 0 ||
            person_check(json_object_get(p, "person"), e) < 0 ||
            referrer_check(json_object_get(p, "referrer"), kind, e) < 0 ||
            special_check(json_object_get(p, "special_category"),
                          json_object_get(p, "share_special_category"),
                          e) < 0 ||
            text_field(p, "notes", false, NOTES_MAX, "payload", e) < 0)
                return -1;
        return 0;
}

bool
intake_postcode_district(const char *postcode, char out[16])
{
        char pc[16];
        size_t i, n = 0, len;

        out[0] = '\0';
        for (i = 0; postcode != NULL && postcode[i] != '\0'; i++) {
                if (postcode[i] == ' ')
                        continue;
                if (n + 1 >= sizeof(pc) || !isalnum((unsigned char)postcode[i]))
                        return false;
                pc[n++] = (char)toupper((unsigned char)postcode[i]);
        }
        pc[n] = '\0';
        if (n < 5 || n > 7)
                return false;
        len = n - 3; /* outward code */
        if (!isdigit((unsigned char)pc[len]) ||
            !isalpha((unsigned char)pc[len + 1]) ||
            !isalpha((unsigned char)pc[len + 2]) ||
            !isalpha((unsigned char)pc[0]))
                return false;
        memcpy(out, pc, len);
        out[len] = '\0';
        return true;
}
