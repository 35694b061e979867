/*
 * referral: what a referral submission must look like (docs/contracts.md,
 * referral.submissions) and the message made from it: the references and
 * status-link secrets, value checks for email, UK phone and postcode, and
 * the sealing of the personal part to intake's public key. Knows nothing
 * of HTTP or Kafka; whether the service exists is the caller's check.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "gateway.h"

/* Unambiguous: no 0/O, 1/I/L, U. */
static const char ref_alphabet[] = "23456789ABCDEFGHJKMNPQRSTVWXYZ";

static const char *const top_fields[] = {"service_id",
                                         "kind",
                                         "person",
                                         "referrer",
                                         "consents",
                                         "special_category",
                                         "share_special_category",
                                         "notes",
                                         NULL};
static const char *const person_fields[] = {"name",    "email",    "phone",
                                            "address", "postcode", NULL};
static const char *const referrer_fields[] = {
    "name", "relationship", "organisation", "role", "email", "phone", NULL};
static const char *const consent_fields[] = {
    "share_with_provider", "contact_about_service", "feedback_requests",
    "terms_change_notices", NULL};
static const char *const special_fields[] = {
    "health",    "ethnicity", "gender",     "marital_status",
    "education", "housing",   "employment", NULL};

/* shape / value: a shape error (400) or an unacceptable value (422). */
static int
shape(struct err *e, const char *field, const char *why)
{
        return err_set(e, ERR_INVALID, field, "%s", why);
}

static int
value(struct err *e, const char *field, const char *why)
{
        return err_set(e, ERR_CONFLICT, field, "%s", why);
}

static void
fname(char *f, size_t sz, const char *prefix, const char *name)
{
        if (snprintf(f, sz, "%s%s%s", prefix, prefix[0] ? "." : "", name) >=
            (int)sz)
                f[sz - 1] = '\0'; /* field names are short; never cut */
}

/* unknown: first key of obj not in allowed, as "prefix.key". */
static int
unknown(const json_t *obj, const char *prefix, const char *const allowed[],
        struct err *e)
{
        struct err ue = {0};
        char f[64];

        if (jsonx_reject_unknown(obj, allowed, &ue) == 0)
                return 0;
        fname(f, sizeof(f), prefix, ue.field);
        return shape(e, f, "unknown field");
}

/* str: optional string field of obj, at most max bytes; *out NULL when
 * absent, null or only white space. */
static int
str(const json_t *obj, const char *prefix, const char *name, size_t max,
    const char **out, struct err *e)
{
        const json_t *v = json_object_get(obj, name);
        char f[64];
        const char *s;

        fname(f, sizeof(f), prefix, name);
        *out = NULL;
        if (v == NULL || json_is_null(v))
                return 0;
        if (!json_is_string(v))
                return shape(e, f, "must be a string");
        s = json_string_value(v);
        if (strlen(s) > max)
                return value(e, f, "is too long");
        while (*s != '\0' && isspace((unsigned char)*s))
                s++;
        if (*s != '\0')
                *out = json_string_value(v);
        return 0;
}

static int
need(const char *v, const char *prefix, const char *name, struct err *e)
{
        char f[64];

        if (v != NULL)
                return 0;
        fname(f, sizeof(f), prefix, name);
        return value(e, f, "is required");
}

bool
gw_valid_email(const char *s)
{
        const char *at = strchr(s, '@');
        size_t n = strlen(s);

        if (n > 254 || at == NULL || at == s || strchr(at + 1, '@') != NULL)
                return false;
        for (const char *p = s; *p; p++)
                if ((unsigned char)*p <= ' ' || *p == '<' || *p == '>' ||
                    *p == ',' || *p == ';')
                        return false;
        at++;
        return strchr(at, '.') != NULL && at[0] != '.' && s[n - 1] != '.';
}

bool
gw_valid_uk_phone(const char *s)
{
        char norm[32];
        size_t n;

        if (secret_normalise_phone(s, norm, sizeof(norm), NULL) < 0 ||
            norm[0] != '0')
                return false;
        n = strlen(norm);
        return (n == 10 || n == 11) && norm[1] != '0';
}

bool
gw_valid_postcode(const char *s)
{
        char c[16];
        size_t n = 0, i = 0;

        for (; *s && n < sizeof(c) - 1; s++)
                if (*s != ' ')
                        c[n++] = (char)toupper((unsigned char)*s);
        c[n] = '\0';
        if (*s != '\0' || n < 5 || n > 7)
                return false;
        /* inward code: digit letter letter */
        if (!isdigit((unsigned char)c[n - 3]) ||
            !isalpha((unsigned char)c[n - 2]) ||
            !isalpha((unsigned char)c[n - 1]))
                return false;
        /* outward: 1-2 letters, a digit, then an optional letter or digit */
        while (i < 2 && isalpha((unsigned char)c[i]))
                i++;
        if (i == 0 || !isdigit((unsigned char)c[i]))
                return false;
        i++;
        if (i < n - 3 && isalnum((unsigned char)c[i]))
                i++;
        return i == n - 3;
}

/* contact: email and phone checks for one party. */
static int
contact(const json_t *o, const char *prefix, const char **email,
        const char **phone, struct err *e)
{
        char f[64];

        if (str(o, prefix, "email", 254, email, e) < 0 ||
            str(o, prefix, "phone", 32, phone, e) < 0)
                return -1;
        snprintf(f, sizeof(f), "%s.email", prefix);
        if (*email != NULL && !gw_valid_email(*email))
                return value(e, f, "is not a valid email address");
        snprintf(f, sizeof(f), "%s.phone", prefix);
        if (*phone != NULL && !gw_valid_uk_phone(*phone))
                return value(e, f, "is not a valid UK phone number");
        return 0;
}

static int
check_person(const json_t *p, struct err *e)
{
        const char *name, *email, *phone, *addr, *pc;

        if (p == NULL)
                return value(e, "person", "is required");
        if (!json_is_object(p))
                return shape(e, "person", "must be an object");
        if (unknown(p, "person", person_fields, e) < 0 ||
            str(p, "person", "name", 200, &name, e) < 0 ||
            need(name, "person", "name", e) < 0 ||
            contact(p, "person", &email, &phone, e) < 0 ||
            str(p, "person", "address", 500, &addr, e) < 0 ||
            str(p, "person", "postcode", 10, &pc, e) < 0)
                return -1;
        if (pc != NULL && !gw_valid_postcode(pc))
                return value(e, "person.postcode", "is not a UK postcode");
        if (email == NULL && phone == NULL && addr == NULL)
                return value(e, "person",
                             "needs at least one way to contact the person: "
                             "email, phone or address");
        return 0;
}

static int
check_referrer(const json_t *r, const char *kind, struct err *e)
{
        bool self = strcmp(kind, "self") == 0;
        bool pro = strcmp(kind, "professional") == 0;
        const char *name, *rel, *org, *role, *email, *phone;

        if (self)
                return r == NULL || json_is_null(r)
                           ? 0
                           : value(e, "referrer",
                                   "is only for on_behalf and professional "
                                   "referrals");
        if (r == NULL || json_is_null(r))
                return value(e, "referrer",
                             "is required: who is making the referral");
        if (!json_is_object(r))
                return shape(e, "referrer", "must be an object");
        if (unknown(r, "referrer", referrer_fields, e) < 0 ||
            str(r, "referrer", "name", 200, &name, e) < 0 ||
            need(name, "referrer", "name", e) < 0 ||
            str(r, "referrer", "relationship", 100, &rel, e) < 0 ||
            str(r, "referrer", "organisation", 200, &org, e) < 0 ||
            str(r, "referrer", "role", 100, &role, e) < 0 ||
            contact(r, "referrer", &email, &phone, e) < 0)
                return -1;
        if (!pro && need(rel, "referrer", "relationship", e) < 0)
                return -1;
        if (pro && (need(org, "referrer", "organisation", e) < 0 ||
                    need(role, "referrer", "role", e) < 0))
                return -1;
        if (email == NULL && phone == NULL)
                return value(e, "referrer",
                             "needs an email or a phone number so the "
                             "provider can reach the referrer");
        return 0;
}

static int
check_consents(const json_t *c, struct err *e)
{
        const char *key;
        const json_t *v;

        if (c != NULL && !json_is_object(c))
                return shape(e, "consents", "must be an object");
        if (c != NULL && unknown(c, "consents", consent_fields, e) < 0)
                return -1;
        json_object_foreach((json_t *)c, key, v)
        {
                char f[64];

                snprintf(f, sizeof(f), "consents.%s", key);
                if (!json_is_boolean(v))
                        return shape(e, f, "must be true or false");
        }
        if (c == NULL ||
            !json_is_true(json_object_get(c, "share_with_provider")))
                return value(e, "consents.share_with_provider",
                             "consent to share these details with the "
                             "service provider is needed: without it the "
                             "provider cannot receive the referral");
        return 0;
}

static int
check_special(const json_t *sc, const json_t *share, struct err *e)
{
        const char *s;
        size_t i;
        const json_t *v;

        if (sc != NULL && !json_is_object(sc))
                return shape(e, "special_category", "must be an object");
        if (sc != NULL && unknown(sc, "special_category", special_fields, e))
                return -1;
        for (i = 0; sc != NULL && special_fields[i] != NULL; i++)
                if (str(sc, "special_category", special_fields[i], 1000, &s,
                        e) < 0)
                        return -1;
        if (share == NULL)
                return 0;
        if (!json_is_array(share))
                return shape(e, "share_special_category", "must be an array");
        json_array_foreach(share, i, v)
        {
                if (!json_is_string(v))
                        return shape(e, "share_special_category",
                                     "must hold field names");
                if (sc == NULL ||
                    json_object_get(sc, json_string_value(v)) == NULL)
                        return value(e, "share_special_category",
                                     "names a special_category field that "
                                     "was not given");
        }
        return 0;
}

static int
check_top(const json_t *b, const char **kind, struct err *e)
{
        const json_t *sid = json_object_get(b, "service_id");
        const json_t *k = json_object_get(b, "kind");
        const char *notes;

        if (unknown(b, "", top_fields, e) < 0)
                return -1;
        if (sid == NULL || json_is_null(sid))
                return value(e, "service_id", "is required");
        if (!json_is_string(sid))
                return shape(e, "service_id", "must be a string");
        if (!uuid_valid(json_string_value(sid)))
                return value(e, "service_id", "is not a service id");
        if (k == NULL || json_is_null(k))
                return value(e, "kind", "is required");
        if (!json_is_string(k))
                return shape(e, "kind", "must be a string");
        *kind = json_string_value(k);
        if (strcmp(*kind, "self") != 0 && strcmp(*kind, "on_behalf") != 0 &&
            strcmp(*kind, "professional") != 0)
                return value(e, "kind",
                             "must be self, on_behalf or professional");
        return str(b, "", "notes", 4000, &notes, e);
}

int
gw_referral_check(const json_t *b, struct err *e)
{
        const char *kind = NULL;

        if (!json_is_object(b))
                return shape(e, NULL, "body must be a JSON object");
        if (check_top(b, &kind, e) < 0 ||
            check_person(json_object_get(b, "person"), e) < 0 ||
            check_referrer(json_object_get(b, "referrer"), kind, e) < 0 ||
            check_special(json_object_get(b, "special_category"),
                          json_object_get(b, "share_special_category"),
                          e) < 0 ||
            check_consents(json_object_get(b, "consents"), e) < 0)
                return -1;
        return 0;
}

int
gw_reference_of(const struct secret_key *key, const char *referral_id,
                char out[GW_REFERENCE_LEN], struct err *e)
{
        const uint64_t n = (uint64_t)(sizeof(ref_alphabet) - 1);
        char hex[SECRET_HEX_LEN], first[17];
        uint64_t v;
        int j = 0;

        if (secret_hash_hex(key, "signpost:reference:", referral_id,
                            strlen(referral_id), hex, e) < 0)
                return -1;
        /* 64 bits of the hash as eight digits base n: n^8 is about 2^39,
         * so the bias of the remainder is below 2^-24 */
        memcpy(first, hex, 16);
        first[16] = '\0';
        v = strtoull(first, NULL, 16);
        secret_wipe(hex, sizeof(hex));
        out[j++] = 'S';
        out[j++] = 'P';
        for (int i = 0; i < 8; i++) {
                if (i % 4 == 0)
                        out[j++] = '-';
                out[j++] = ref_alphabet[v % n];
                v /= n;
        }
        out[j] = '\0';
        return 0;
}

bool
gw_reference_valid(const char *s)
{
        if (strlen(s) != GW_REFERENCE_LEN - 1 || strncmp(s, "SP-", 3) != 0 ||
            s[7] != '-')
                return false;
        for (int i = 3; i < GW_REFERENCE_LEN - 1; i++)
                if (i != 7 && strchr(ref_alphabet, s[i]) == NULL)
                        return false;
        return true;
}

int
gw_status_secret(const struct secret_key *key, const char *referral_id,
                 char out[GW_STATUS_SECRET_LEN], struct err *e)
{
        char hex[SECRET_HEX_LEN];

        if (secret_hash_hex(key, "signpost:status-link:", referral_id,
                            strlen(referral_id), hex, e) < 0)
                return -1;
        snprintf(out, GW_STATUS_SECRET_LEN, "%.32s", hex);
        secret_wipe(hex, sizeof(hex));
        return 0;
}

void
gw_status_secret_hash(const char *secret, char out[SECRET_HEX_LEN])
{
        unsigned char h[32];

        /* unkeyed BLAKE2b-256, as docs/contracts.md states for intake */
        crypto_generichash(h, sizeof(h), (const unsigned char *)secret,
                           strlen(secret), NULL, 0);
        sodium_bin2hex(out, SECRET_HEX_LEN, h, sizeof(h));
}

/* personal: returns new object holding the personal part of b. */
static json_t *
personal(const json_t *b)
{
        static const char *const keys[] = {
            "person", "referrer", "special_category", "share_special_category",
            "notes",  NULL};
        json_t *o = json_object();

        for (int i = 0; o != NULL && keys[i] != NULL; i++) {
                json_t *v = json_object_get(b, keys[i]);
                if (v != NULL && !json_is_null(v))
                        json_object_set(o, keys[i], v);
        }
        return o;
}

char *
gw_seal_json(struct secret_sender *to, const json_t *j, struct err *e)
{
        char *text = j ? jsonx_dump(j) : NULL;
        unsigned char *box = NULL;
        size_t boxlen = 0;
        char *out = NULL;

        if (text == NULL) {
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                return NULL;
        }
        if (secret_sender_seal(to, (unsigned char *)text, strlen(text), &box,
                               &boxlen, e) == 0)
                out = secret_b64_encode(box, boxlen);
        secret_wipe(text, strlen(text));
        free(text);
        free(box);
        if (out == NULL && e != NULL && e->kind == ERR_NONE)
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        return out;
}

static char *
seal(const json_t *b, struct secret_sender *to, struct err *e)
{
        json_t *p = personal(b);
        char *out = gw_seal_json(to, p, e);

        json_decref(p);
        return out;
}

static json_t *
consents(const json_t *b)
{
        const json_t *c = json_object_get(b, "consents");
        const json_t *cas = json_object_get(c, "contact_about_service");

        /* contacting the person about the service they asked for is the
         * point of a referral: it follows share_with_provider unless the
         * submitter said otherwise */
        return json_pack(
            "{s:b, s:b, s:b, s:b}", "share_with_provider", 1,
            "contact_about_service", cas == NULL ? 1 : json_is_true(cas),
            "feedback_requests",
            json_is_true(json_object_get(c, "feedback_requests")),
            "terms_change_notices",
            json_is_true(json_object_get(c, "terms_change_notices")));
}

char *
gw_referral_message(const json_t *b, const char *referral_id,
                    const char *reference, const char *secret_hash,
                    const char *notice_version, struct secret_sender *to_intake,
                    struct err *e)
{
        char now[40], *sealed = seal(b, to_intake, e), *text = NULL;
        json_t *m;

        if (sealed == NULL)
                return NULL;
        event_now(now);
        m = json_pack("{s:s, s:s, s:O, s:O, s:o, s:s, s:s, s:s, s:s}",
                      "referral_id", referral_id, "reference", reference,
                      "service_id", json_object_get(b, "service_id"), "kind",
                      json_object_get(b, "kind"), "consents", consents(b),
                      "privacy_notice_version", notice_version,
                      "status_secret_hash", secret_hash, "submitted_at", now,
                      "sealed", sealed);
        free(sealed);
        if (m != NULL)
                text = jsonx_dump(m);
        json_decref(m);
        if (text == NULL)
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        return text;
}
