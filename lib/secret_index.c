/*
 * secret_index: blind indexes, so a referral can be found by email or
 * phone without storing either in the clear. Owns the normalisation rules
 * (what counts as "the same" address or number); the keyed hash itself is
 * secret_hash_hex() in secret.c. Error messages never echo the input.
 */
#include "secret.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define PHONE_MAX 32

int
secret_normalise_email(const char *in, char *out, size_t outsz, struct err *e)
{
        size_t s = 0, n = in ? strlen(in) : 0;
        const char *at;

        while (s < n && isspace((unsigned char)in[s]))
                s++;
        while (n > s && isspace((unsigned char)in[n - 1]))
                n--;
        if (n - s + 1 > outsz)
                return err_set(e, ERR_INVALID, "email", "too long");
        for (size_t i = s; i < n; i++) {
                unsigned char c = (unsigned char)in[i];

                if (c < 0x21 || c == 0x7f)
                        return err_set(e, ERR_INVALID, "email",
                                       "contains white space");
                out[i - s] = (char)tolower(c);
        }
        out[n - s] = '\0';
        at = strrchr(out, '@');
        if (at == NULL || at == out || at[1] == '\0')
                return err_set(e, ERR_INVALID, "email", "not an email address");
        return 0;
}

int
secret_index_email(const struct secret_key *key, const char *email,
                   char out[SECRET_HEX_LEN], struct err *e)
{
        char norm[256];

        if (secret_normalise_email(email, norm, sizeof(norm), e) < 0)
                return -1;
        return secret_hash_hex(key, "signpost:email:", norm, strlen(norm), out,
                               e);
}

/* phone_strip: copies in to out without separators, dropping a "(0)"
 * that follows an international prefix. Leaves '+' and digits only. */
static int
phone_strip(const char *in, char *out, size_t outsz, struct err *e)
{
        size_t o = 0;

        for (const char *p = in; *p != '\0'; p++) {
                bool intl =
                    o > 0 && (out[0] == '+' ||
                              (o > 1 && out[0] == '0' && out[1] == '0'));

                if (intl && strncmp(p, "(0)", 3) == 0) {
                        p += 2;
                        continue;
                }
                if (strchr(" \t-.()/", *p) != NULL)
                        continue;
                if (!(isdigit((unsigned char)*p) || (*p == '+' && o == 0)))
                        return err_set(e, ERR_INVALID, "phone",
                                       "not a phone number");
                if (o + 1 >= outsz)
                        return err_set(e, ERR_INVALID, "phone", "too long");
                out[o++] = *p;
        }
        out[o] = '\0';
        return 0;
}

/* phone_set: writes prefix + digits into out, checking the digit count
 * (prefix included when it is "0"). */
static int
phone_set(const char *prefix, const char *digits, size_t min, size_t max,
          char *out, size_t outsz, struct err *e)
{
        size_t n = strlen(digits) + (prefix[0] == '0' ? 1 : 0);

        if (n < min || n > max)
                return err_set(e, ERR_INVALID, "phone",
                               "wrong number of digits");
        if ((size_t)snprintf(out, outsz, "%s%s", prefix, digits) >= outsz)
                return err_set(e, ERR_INVALID, "phone", "too long");
        return 0;
}

int
secret_normalise_phone(const char *in, char *out, size_t outsz, struct err *e)
{
        char s[PHONE_MAX];
        const char *rest;

        if (in == NULL || phone_strip(in, s, sizeof(s), e) < 0)
                return in ? -1 : err_set(e, ERR_INVALID, "phone", "missing");
        if (strncmp(s, "+44", 3) == 0 || strncmp(s, "0044", 4) == 0) {
                rest = s + (s[0] == '+' ? 3 : 4);
                if (rest[0] == '0') /* "+44 07700 ..." */
                        rest++;
                return phone_set("0", rest, 10, 11, out, outsz, e);
        }
        if (s[0] == '+' || strncmp(s, "00", 2) == 0) {
                rest = s + (s[0] == '+' ? 1 : 2);
                return phone_set("+", rest, 7, 15, out, outsz, e);
        }
        if (s[0] == '0')
                return phone_set("0", s + 1, 10, 11, out, outsz, e);
        return err_set(e, ERR_INVALID, "phone",
                       "must start with 0 or a country code");
}

int
secret_index_phone(const struct secret_key *key, const char *phone,
                   char out[SECRET_HEX_LEN], struct err *e)
{
        char norm[PHONE_MAX];

        if (secret_normalise_phone(phone, norm, sizeof(norm), e) < 0)
                return -1;
        return secret_hash_hex(key, "signpost:phone:", norm, strlen(norm), out,
                               e);
}
