/*
 * http_principal: signs and verifies the caller identity the gateway
 * forwards in X-Signpost-Principal:
 *
 *   base64url(json) "." base64url(crypto_auth(base64url(json), key))
 *
 * crypto_auth is HMAC-SHA-512-256. The json holds sub, role, org
 * (optional), reason (support only, optional) and exp (unix seconds).
 * Owns no state; never logs the header or the key.
 */
#include "http.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING
#define HEADER_MAX 4096

_Static_assert(HTTP_PRINCIPAL_KEY_BYTES == crypto_auth_KEYBYTES,
               "principal key is a crypto_auth key");

static const char *const role_names[] = {"public", "provider", "admin",
                                         "support"};

static pthread_once_t sodium_once = PTHREAD_ONCE_INIT;

static void
sodium_start(void)
{
        if (sodium_init() < 0)
                abort(); /* no usable randomness: nothing is safe */
}

const char *
http_role_name(enum http_role role)
{
        if ((unsigned)role >= sizeof(role_names) / sizeof(role_names[0]))
                return "unknown";
        return role_names[role];
}

int
http_role_parse(const char *s, enum http_role *out)
{
        for (size_t i = 0; i < sizeof(role_names) / sizeof(role_names[0]);
             i++) {
                if (strcmp(s, role_names[i]) == 0) {
                        *out = (enum http_role)i;
                        return 0;
                }
        }
        return -1;
}

static json_t *
principal_json(const struct http_principal *p)
{
        json_t *j;

        if (p->sub[0] == '\0' ||
            strcmp(http_role_name(p->role), "unknown") == 0 ||
            (p->reason[0] != '\0' && p->role != HTTP_ROLE_SUPPORT) ||
            strnlen(p->sub, sizeof(p->sub)) == sizeof(p->sub) ||
            strnlen(p->org, sizeof(p->org)) == sizeof(p->org) ||
            strnlen(p->reason, sizeof(p->reason)) == sizeof(p->reason))
                return NULL;
        j = json_pack("{s:s, s:s, s:I}", "sub", p->sub, "role",
                      http_role_name(p->role), "exp", (json_int_t)p->exp);
        if (j != NULL && p->org[0] != '\0' &&
            json_object_set_new(j, "org", json_string(p->org)) < 0)
                goto fail;
        if (j != NULL && p->reason[0] != '\0' &&
            json_object_set_new(j, "reason", json_string(p->reason)) < 0)
                goto fail;
        return j;
fail:
        json_decref(j);
        return NULL;
}

int
http_principal_sign(const unsigned char *key, const struct http_principal *p,
                    char **out)
{
        unsigned char mac[crypto_auth_BYTES];
        char mac64[sodium_base64_ENCODED_LEN(crypto_auth_BYTES, B64)];
        json_t *j = NULL;
        char *text = NULL, *res = NULL;
        size_t tlen, blen;
        int rc = -1;

        *out = NULL;
        pthread_once(&sodium_once, sodium_start);
        if ((j = principal_json(p)) == NULL)
                goto out;
        if ((text = jsonx_dump(j)) == NULL)
                goto out;
        tlen = strlen(text);
        blen = sodium_base64_ENCODED_LEN(tlen, B64);
        if ((res = malloc(blen + sizeof(mac64) + 1)) == NULL)
                goto out;
        sodium_bin2base64(res, blen, (const unsigned char *)text, tlen, B64);
        crypto_auth(mac, (const unsigned char *)res, strlen(res), key);
        sodium_bin2base64(mac64, sizeof(mac64), mac, sizeof(mac), B64);
        strcat(res, ".");
        strcat(res, mac64);
        *out = res;
        res = NULL;
        rc = 0;
out:
        free(res);
        free(text);
        json_decref(j);
        return rc;
}

/* check_mac: true when the part after the dot is the MAC of the part
 * before it. */
static bool
check_mac(const unsigned char *key, const char *header, const char *dot)
{
        unsigned char mac[crypto_auth_BYTES];
        size_t maclen = 0;
        const char *end = NULL;

        if (sodium_base642bin(mac, sizeof(mac), dot + 1, strlen(dot + 1), NULL,
                              &maclen, &end, B64) != 0 ||
            *end != '\0' || maclen != sizeof(mac))
                return false;
        return crypto_auth_verify(mac, (const unsigned char *)header,
                                  (size_t)(dot - header), key) == 0;
}

static int
copy_str(json_t *j, const char *name, bool required, char *dst, size_t dstsz)
{
        json_t *v = json_object_get(j, name);

        if (v == NULL && !required)
                return 0;
        if (!json_is_string(v) || json_string_length(v) >= dstsz ||
            (required && json_string_length(v) == 0) ||
            strlen(json_string_value(v)) != json_string_length(v))
                return -1;
        memcpy(dst, json_string_value(v), json_string_length(v) + 1);
        return 0;
}

static int
fill_principal(json_t *j, struct http_principal *out)
{
        json_t *exp = json_object_get(j, "exp");
        char role[16] = "";

        memset(out, 0, sizeof(*out));
        if (!json_is_object(j) || !json_is_integer(exp) ||
            copy_str(j, "sub", true, out->sub, sizeof(out->sub)) < 0 ||
            copy_str(j, "role", true, role, sizeof(role)) < 0 ||
            http_role_parse(role, &out->role) < 0 ||
            copy_str(j, "org", false, out->org, sizeof(out->org)) < 0 ||
            copy_str(j, "reason", false, out->reason, sizeof(out->reason)) <
                0 ||
            (out->reason[0] != '\0' && out->role != HTTP_ROLE_SUPPORT))
                return -1;
        out->exp = (int64_t)json_integer_value(exp);
        return 0;
}

int
http_principal_verify(const unsigned char *key, const char *header,
                      struct http_principal *out, struct err *e)
{
        const char *dot = header ? strchr(header, '.') : NULL;
        unsigned char *text = NULL;
        size_t tlen = 0;
        json_t *j = NULL;
        int rc = -1;

        pthread_once(&sodium_once, sodium_start);
        if (header == NULL || strnlen(header, HEADER_MAX + 1) > HEADER_MAX ||
            dot == NULL || strchr(dot + 1, '.') != NULL) {
                err_set(e, ERR_INVALID, HTTP_PRINCIPAL_HEADER,
                        "principal malformed");
                goto out;
        }
        if (!check_mac(key, header, dot)) {
                err_set(e, ERR_INVALID, HTTP_PRINCIPAL_HEADER,
                        "principal signature does not verify");
                goto out;
        }
        if ((text = malloc((size_t)(dot - header) + 1)) == NULL ||
            sodium_base642bin(text, (size_t)(dot - header), header,
                              (size_t)(dot - header), NULL, &tlen, NULL,
                              B64) != 0 ||
            (j = json_loadb((const char *)text, tlen, JSON_REJECT_DUPLICATES,
                            NULL)) == NULL ||
            fill_principal(j, out) < 0) {
                err_set(e, ERR_INVALID, HTTP_PRINCIPAL_HEADER,
                        "principal malformed");
                goto out;
        }
        if (out->exp <= (int64_t)time(NULL)) {
                err_set(e, ERR_INVALID, HTTP_PRINCIPAL_HEADER,
                        "principal expired");
                goto out;
        }
        rc = 0;
out:
        if (rc < 0 && out != NULL)
                memset(out, 0, sizeof(*out));
        json_decref(j);
        free(text);
        return rc;
}
