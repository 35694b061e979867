/*
 * form: application/x-www-form-urlencoded bodies of the web forms, and
 * their CSRF tokens. A token is "<time>.<nonce>.<mac>": a random nonce
 * and the time it was made, MACed with the gateway's key, so a forged or
 * stale form is refused without keeping state. The token doubles as the
 * form's Idempotency-Key: posting the same form twice makes one referral.
 */
#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

static int
hexval(int c)
{
        if (c >= '0' && c <= '9')
                return c - '0';
        c = tolower(c);
        return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* decode: percent- and plus-decodes n bytes of s; returns new string. */
static char *
decode(const char *s, size_t n)
{
        char *out = malloc(n + 1), *o = out;

        if (out == NULL)
                return NULL;
        for (size_t i = 0; i < n; i++) {
                if (s[i] == '+') {
                        *o++ = ' ';
                } else if (s[i] == '%') {
                        int hi = i + 2 < n ? hexval(s[i + 1]) : -1;
                        int lo = i + 2 < n ? hexval(s[i + 2]) : -1;
                        if (hi < 0 || lo < 0) {
                                free(out);
                                return NULL;
                        }
                        *o++ = (char)(hi * 16 + lo);
                        i += 2;
                } else {
                        *o++ = s[i];
                }
        }
        *o = '\0';
        if ((size_t)(o - out) != strlen(out)) { /* %00 */
                free(out);
                return NULL;
        }
        return out;
}

static bool
utf8_ok(const char *s)
{
        json_t *j = json_string(s); /* NULL unless valid UTF-8 */
        bool ok = j != NULL;

        json_decref(j);
        return ok;
}

int
gw_form_parse(const char *body, size_t len, struct gw_form *f, struct err *e)
{
        size_t i = 0;

        memset(f, 0, sizeof(*f));
        while (i < len) {
                size_t end = i, eq;
                while (end < len && body[end] != '&')
                        end++;
                for (eq = i; eq < end && body[eq] != '='; eq++)
                        ;
                if (end > i) {
                        if (f->n == GW_FORM_MAX)
                                return err_set(e, ERR_INVALID, NULL,
                                               "too many fields");
                        f->name[f->n] = decode(body + i, eq - i);
                        f->value[f->n] =
                            eq < end ? decode(body + eq + 1, end - eq - 1)
                                     : decode("", 0);
                        f->n++;
                        if (f->name[f->n - 1] == NULL ||
                            f->value[f->n - 1] == NULL ||
                            !utf8_ok(f->name[f->n - 1]) ||
                            !utf8_ok(f->value[f->n - 1]))
                                return err_set(e, ERR_INVALID, NULL,
                                               "malformed form field");
                }
                i = end + 1;
        }
        return 0;
}

void
gw_form_fini(struct gw_form *f)
{
        for (int i = 0; i < f->n; i++) {
                free(f->name[i]);
                free(f->value[i]);
        }
        memset(f, 0, sizeof(*f));
}

const char *
gw_form_get(const struct gw_form *f, const char *name)
{
        for (int i = 0; i < f->n; i++)
                if (f->name[i] != NULL && strcmp(f->name[i], name) == 0)
                        return f->value[i];
        return NULL;
}

static int
mac(const struct secret_key *key, const char *msg, char out[SECRET_HEX_LEN])
{
        return secret_hash_hex(key, "signpost:csrf:", msg, strlen(msg), out,
                               NULL);
}

int
gw_csrf_new(const struct secret_key *key, int64_t now, char out[128])
{
        unsigned char nonce[16];
        char hex[33], msg[64], m[SECRET_HEX_LEN];

        randombytes_buf(nonce, sizeof(nonce));
        sodium_bin2hex(hex, sizeof(hex), nonce, sizeof(nonce));
        snprintf(msg, sizeof(msg), "%lld.%s", (long long)now, hex);
        if (mac(key, msg, m) < 0)
                return -1;
        /* at most 20 + 1 + 32 + 1 + 64 characters */
        return snprintf(out, 128, "%s.%s", msg, m) < 128 ? 0 : -1;
}

bool
gw_csrf_check(const struct secret_key *key, const char *token, int64_t now,
              int64_t max_age)
{
        char msg[64], m[SECRET_HEX_LEN];
        const char *dot;
        long long t;
        char *end;

        if (token == NULL || strlen(token) > 120 ||
            (dot = strrchr(token, '.')) == NULL ||
            (size_t)(dot - token) >= sizeof(msg))
                return false;
        snprintf(msg, sizeof(msg), "%.*s", (int)(dot - token), token);
        t = strtoll(msg, &end, 10);
        if (end == msg || *end != '.' || strlen(end + 1) != 32 ||
            mac(key, msg, m) < 0)
                return false;
        return secret_equal(m, dot + 1) && t <= now && now - t <= max_age;
}
