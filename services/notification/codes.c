/*
 * codes: one-time codes for people confirming requests about their own
 * data: 6 digits, valid 10 minutes, 5 attempts, single use. Only a keyed
 * hash of the code is stored (keyed with token-hash.key, bound to the
 * code's id); the code itself travels in a one_time_code message sealed
 * to this daemon, which the sender delivers and then forgets like any
 * other. Does not own SQL.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "json.h"
#include "notification.h"

#define CODE_DOMAIN "signpost:one-time-code:"

static int
six_digits(char out[7], struct err *e)
{
        uint32_t r;

        do {
                if (getrandom(&r, sizeof(r), 0) != sizeof(r))
                        return err_set(e, ERR_TRANSIENT, NULL, "no randomness");
        } while (r >= 4294000000u); /* a multiple of 10^6: no bias */
        snprintf(out, 7, "%06u", r % 1000000u);
        return 0;
}

static int
code_hash(const struct notify_ctx *ctx, const char *id, const char *code,
          char out[SECRET_HEX_LEN], struct err *e)
{
        char text[64];
        int rc;

        snprintf(text, sizeof(text), "%s:%s", id, code);
        rc = secret_hash_hex(ctx->code_key, CODE_DOMAIN, text, strlen(text),
                             out, e);
        secret_wipe(text, sizeof(text));
        return rc;
}

/* seal_message: the one_time_code request body for address (opened),
 * sealed to this daemon. Returns new base64 text, free with free(). */
static char *
seal_message(const struct notify_ctx *ctx, json_t *opened, const char *code,
             struct err *e)
{
        json_t *j = json_deep_copy(opened);
        unsigned char *box = NULL;
        size_t boxlen = 0;
        char *plain, *out = NULL;

        json_object_set_new(j, "values", json_pack("{s:s}", "code", code));
        plain = jsonx_dump(j);
        json_decref(j);
        if (plain == NULL) {
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                return NULL;
        }
        if (secret_seal(ctx->box_pk, (const unsigned char *)plain,
                        strlen(plain), &box, &boxlen, e) == 0)
                out = secret_b64_encode(box, boxlen);
        secret_wipe(plain, strlen(plain));
        free(plain);
        free(box);
        return out;
}

int
notify_code_issue(struct notify_ctx *ctx, struct db *db, const char *subject,
                  const char *sealed, char code_id[UUID_STR_LEN],
                  char expires_at[40], struct err *e)
{
        char code[7], hash[SECRET_HEX_LEN], index[SECRET_HEX_LEN];
        char message_id[UUID_STR_LEN];
        const char *channel = NULL;
        json_t *opened = notify_open(ctx, sealed, &channel, index, e);
        json_t *req = NULL;
        char *body = NULL;
        bool added = false;
        int rc = -1;

        if (opened == NULL)
                return -1;
        uuid_v7(code_id);
        uuid_v7(message_id);
        if (six_digits(code, e) < 0 ||
            code_hash(ctx, code_id, code, hash, e) < 0)
                goto out;
        body = seal_message(ctx, opened, code, e);
        if (body == NULL)
                goto out;
        req = json_pack("{s:s, s:s, s:s, s:s, s:s}", "message_id", message_id,
                        "template", NOTIFY_CODE_TEMPLATE, "audience", "person",
                        "subject_id", subject, "sealed", body);
        if (db_begin(db, e) < 0)
                goto out;
        if (notify_store_message_add(db, req, channel, index, "pending", NULL,
                                     &added, e) < 0 ||
            notify_store_code_add(db, code_id, subject, index, hash, message_id,
                                  expires_at, e) < 0 ||
            db_commit(db, e) < 0) {
                db_rollback(db);
                goto out;
        }
        rc = 0;
out:
        secret_wipe(code, sizeof(code));
        json_decref(req);
        free(body);
        json_decref(opened);
        return rc;
}

int
notify_code_verify(struct notify_ctx *ctx, struct db *db, const char *id,
                   const char *code, char subject[UUID_STR_LEN], struct err *e)
{
        char stored[SECRET_HEX_LEN], given[SECRET_HEX_LEN];
        int attempts = 0;
        bool live = false, match;

        if (!uuid_valid(id))
                return err_set(e, ERR_INVALID, "code_id", "not a UUID");
        if (strlen(code) != 6 || strspn(code, "0123456789") != 6)
                return err_set(e, ERR_INVALID, "code", "six digits");
        if (db_begin(db, e) < 0)
                return -1;
        if (notify_store_code_take(db, id, stored, &attempts, subject, &live,
                                   e) < 0)
                goto fail;
        if (!live || attempts >= NOTIFY_CODE_ATTEMPTS) {
                err_set(e, ERR_CONFLICT, "code",
                        "code used, expired or locked: ask for a new one");
                goto fail;
        }
        if (code_hash(ctx, id, code, given, e) < 0)
                goto fail;
        match = secret_equal(stored, given);
        if (notify_store_code_attempt(db, id, match, e) < 0 ||
            db_commit(db, e) < 0)
                goto fail;
        if (!match)
                return err_set(e, ERR_INVALID, "code",
                               "wrong code: %d tries left",
                               NOTIFY_CODE_ATTEMPTS - attempts - 1);
        return 0;
fail:
        db_rollback(db);
        return -1;
}
