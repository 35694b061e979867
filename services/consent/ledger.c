/*
 * ledger: the pure parts of the consent ledger: the canonical text and
 * keyed hash of a row, verification of a subject's chain, and the state a
 * history leads to. No SQL and no I/O here; store.c stores what this
 * computes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consent.h"

static const char *const purposes[] = {
    "share_with_provider",
    "contact_about_service",
    "feedback_requests",
    "terms_change_notices",
    "share_with_other_organisations",
    CONSENT_OPT_OUT,
    NULL,
};

static const char *const vias[] = {"web_form", "api", "partner", "admin", NULL};

static bool
in_list(const char *const *list, const char *s)
{
        for (; s != NULL && *list != NULL; list++)
                if (strcmp(*list, s) == 0)
                        return true;
        return false;
}

bool
consent_purpose_valid(const char *purpose)
{
        return in_list(purposes, purpose);
}

bool
consent_via_valid(const char *via)
{
        return in_list(vias, via);
}

/* canonical: the row's fields in a fixed order, '\x1f'-separated (a byte
 * none of the fields may contain), into out. Returns the length, or -1
 * when it does not fit. */
static int
canonical(const struct consent_entry *r, char *out, size_t outsz)
{
        int len = snprintf(out, outsz,
                           "v1\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s"
                           "\x1f%s\x1f%d\x1f%s",
                           r->id, r->subject_id, r->blind_index, r->purpose,
                           r->action, r->expressed_via, r->notice_version,
                           r->recorded_by, r->at, r->n, r->prev_hash);

        return len < 0 || (size_t)len >= outsz ? -1 : len;
}

int
consent_ledger_hash(const struct secret_key *key,
                    const struct consent_entry *entry, char out[SECRET_HEX_LEN],
                    struct err *e)
{
        char text[1024];
        int len = canonical(entry, text, sizeof(text));

        if (len < 0)
                return err_set(e, ERR_INVALID, NULL, "ledger row too long");
        return secret_hash_hex(key, CONSENT_HASH_DOMAIN, text, (size_t)len, out,
                               e);
}

bool
consent_ledger_verify(const struct secret_key *key,
                      const struct consent_entry *rows, int n, int *bad)
{
        const char *prev = CONSENT_GENESIS;
        char h[SECRET_HEX_LEN];
        int i;

        for (i = 0; i < n; i++) {
                if (rows[i].n != i + 1 ||
                    strcmp(rows[i].prev_hash, prev) != 0 ||
                    consent_ledger_hash(key, &rows[i], h, NULL) != 0 ||
                    !secret_equal(h, rows[i].hash)) {
                        *bad = i;
                        return false;
                }
                prev = rows[i].hash;
        }
        return true;
}

json_t *
consent_state_compute(const struct consent_entry *rows, int n)
{
        json_t *p = json_object();
        bool opted_out = false;
        int i;

        for (i = 0; i < n; i++) {
                if (strcmp(rows[i].purpose, CONSENT_OPT_OUT) == 0)
                        opted_out = strcmp(rows[i].action, "withdrawn") == 0;
                else
                        json_object_set_new(p, rows[i].purpose,
                                            json_string(rows[i].action));
        }
        return json_pack("{s:o, s:b}", "purposes", p, "opted_out", opted_out);
}

static json_t *
str_or_null(const char *s)
{
        return s[0] != '\0' ? json_string(s) : json_null();
}

json_t *
consent_entry_json(const struct consent_entry *r)
{
        return json_pack(
            "{s:s, s:i, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s}", "id", r->id,
            "n", r->n, "purpose", r->purpose, "action", r->action,
            "expressed_via", r->expressed_via, "privacy_notice_version",
            str_or_null(r->notice_version), "recorded_by", r->recorded_by, "at",
            r->at, "prev_hash", r->prev_hash, "hash", r->hash);
}
