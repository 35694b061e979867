/*
 * keys: intake's key material and the four ways intake uses it: opening
 * what the gateway sealed to intake, sealing JSON to someone else's public
 * key (a partner, notification), and the AEAD blobs that hold personal
 * fields at rest under a subject's data key. Owns no SQL and decides
 * nothing about which fields go where.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "json.h"

static int
load_pk(const char *dir, const char *name, unsigned char pk[32], struct err *e)
{
        char path[1024];

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        return secret_pk_load(path, pk, e);
}

int
intake_keys_load(struct intake_keys *k, const char *dir, struct err *e)
{
        char path[1024];
        struct secret_key *kek = NULL;

        memset(k, 0, sizeof(*k));
        if (load_pk(dir, "intake.pk", k->intake_pk, e) < 0 ||
            load_pk(dir, "notification.pk", k->notification_pk, e) < 0 ||
            load_pk(dir, "reporting.pk", k->reporting_pk, e) < 0 ||
            secret_sender_new(k->notification_pk, 0, &k->to_notification, e) <
                0)
                return -1;
        snprintf(path, sizeof(path), "%s/intake.sk", dir);
        if (secret_key_load(path, SECRET_BOX_SK_BYTES, NULL, &k->intake_sk, e) <
            0)
                return -1;
        snprintf(path, sizeof(path), "%s/blind-index.key", dir);
        if (secret_key_load(path, SECRET_KEY_BYTES, NULL, &k->index_key, e) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/kek-k1.key", dir);
        if (secret_key_load(path, SECRET_KEY_BYTES, INTAKE_KEK_ID, &kek, e) < 0)
                return -1;
        k->keyring = secret_keyring_new();
        if (k->keyring == NULL) {
                secret_key_free(kek);
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        }
        return secret_keyring_add(k->keyring, kek, true, e);
}

void
intake_keys_fini(struct intake_keys *k)
{
        secret_key_free(k->intake_sk);
        secret_key_free(k->index_key);
        secret_sender_free(k->to_notification);
        secret_keyring_free(k->keyring);
        memset(k, 0, sizeof(*k));
}

int
intake_seal_json(const unsigned char pk[SECRET_BOX_PK_BYTES],
                 struct secret_sender *via, const json_t *j, char **out,
                 struct err *e)
{
        char *text = jsonx_dump(j);
        unsigned char *box = NULL;
        size_t boxlen = 0;
        int rc = -1;

        *out = NULL;
        if (text == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        if (via != NULL ? secret_sender_seal(via, (const unsigned char *)text,
                                             strlen(text), &box, &boxlen, e)
                        : secret_seal(pk, (const unsigned char *)text,
                                      strlen(text), &box, &boxlen, e))
                goto out;
        *out = secret_b64_encode(box, boxlen);
        rc = *out ? 0 : err_set(e, ERR_FATAL, NULL, "out of memory");
out:
        if (text != NULL) {
                memset(text, 0, strlen(text));
                free(text);
        }
        free(box);
        return rc;
}

/* wipe_free: zeroes and frees a plaintext buffer of len bytes. */
static void
wipe_free(unsigned char *p, size_t len)
{
        if (p != NULL)
                memset(p, 0, len);
        free(p);
}

json_t *
intake_unseal_json(const struct intake_keys *k, const char *text, struct err *e)
{
        unsigned char *box = NULL, *plain = NULL;
        size_t boxlen = 0, len = 0;
        json_t *j = NULL;

        if (secret_b64_decode(text, &box, &boxlen, NULL) < 0) {
                err_set(e, ERR_INVALID, "sealed", "not base64url");
                goto out;
        }
        if (secret_unseal(k->intake_pk, k->intake_sk, box, boxlen, &plain, &len,
                          NULL) < 0) {
                err_set(e, ERR_INVALID, "sealed",
                        "does not open with intake's key");
                goto out;
        }
        j = intake_json_of(plain, len, "sealed", e);
out:
        free(box);
        wipe_free(plain, len);
        return j;
}

json_t *
intake_json_of(const unsigned char *plain, size_t len, const char *field,
               struct err *e)
{
        json_t *j =
            json_loadb((const char *)plain, len, JSON_REJECT_DUPLICATES, NULL);

        if (!json_is_object(j)) {
                json_decref(j);
                j = NULL;
                err_set(e, ERR_INVALID, field, "not a JSON object");
        }
        return j;
}

int
intake_blob_seal(const struct secret_key *dek, const json_t *j, const char *ad,
                 char **out, struct err *e)
{
        char *text = jsonx_dump(j);
        unsigned char *ct = NULL;
        size_t ctlen = 0;
        int rc = -1;

        *out = NULL;
        if (text == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        if (secret_aead_encrypt(dek, (const unsigned char *)text, strlen(text),
                                ad, &ct, &ctlen, e) < 0)
                goto out;
        *out = secret_b64_encode(ct, ctlen);
        rc = *out ? 0 : err_set(e, ERR_FATAL, NULL, "out of memory");
out:
        wipe_free((unsigned char *)text, strlen(text));
        free(ct);
        return rc;
}

json_t *
intake_blob_open(const struct secret_key *dek, const char *blob, const char *ad,
                 struct err *e)
{
        unsigned char *ct = NULL, *plain = NULL;
        size_t ctlen = 0, len = 0;
        json_t *j = NULL;

        if (secret_b64_decode(blob, &ct, &ctlen, e) < 0 ||
            secret_aead_decrypt(dek, ct, ctlen, ad, &plain, &len, e) < 0)
                goto out;
        j = json_loadb((const char *)plain, len, 0, NULL);
        if (!json_is_object(j)) {
                json_decref(j);
                j = NULL;
                err_set(e, ERR_FATAL, NULL, "stored blob is not an object");
        }
out:
        free(ct);
        wipe_free(plain, len);
        return j;
}
