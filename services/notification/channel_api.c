/*
 * channel_api: a GOV.UK Notify-compatible HTTP API (libcurl). Each message
 * is POSTed to /v2/notifications/email or /sms with one pass-through
 * template (personalisation "subject" and "body") and reference =
 * message_id; the bearer token is a JWT (HS256, iss = service id, iat)
 * made from the API key "name-<service id>-<secret>" read from a file.
 *
 * The API does not deduplicate, so the message is marked 'sending' just
 * before the request; a crash leaves it 'sending' and reconcile asks
 * GET /v2/notifications?reference=<message_id> whether it arrived.
 *
 * The key's secret part is held as a struct secret_key (sodium_malloc
 * memory) and only used through lib/secret's HMAC-SHA-256.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "json.h"
#include "notification.h"

struct api {
        CURL *curl;
        char base[512];
        char template_id[64];
        char iss[40];
        struct secret_key *secret; /* the HS256 key: the secret uuid */
};

struct reply {
        char body[4096];
        size_t len;
};

static size_t
sink(char *p, size_t sz, size_t n, void *arg)
{
        struct reply *r = arg;
        size_t take = sz * n;

        if (take > sizeof(r->body) - 1 - r->len)
                take = sizeof(r->body) - 1 - r->len;
        memcpy(r->body + r->len, p, take);
        r->len += take;
        r->body[r->len] = '\0';
        return sz * n;
}

/* bearer: "Authorization: Bearer <jwt>" into out. */
static int
bearer(const struct api *a, char *out, size_t outsz)
{
        char payload[128], signing[512];
        unsigned char mac[SECRET_HMAC_BYTES];
        const char *hdr = "{\"typ\":\"JWT\",\"alg\":\"HS256\"}";
        char *h, *p, *sig;
        int rc = -1;

        snprintf(payload, sizeof(payload), "{\"iss\":\"%s\",\"iat\":%lld}",
                 a->iss, (long long)time(NULL));
        h = secret_b64_encode((const unsigned char *)hdr, strlen(hdr));
        p = secret_b64_encode((const unsigned char *)payload, strlen(payload));
        if (h != NULL && p != NULL) {
                snprintf(signing, sizeof(signing), "%s.%s", h, p);
                sig = secret_hmac_sha256(a->secret, signing, strlen(signing),
                                         mac, NULL) == 0
                          ? secret_b64_encode(mac, sizeof(mac))
                          : NULL;
                secret_wipe(mac, sizeof(mac));
                if (sig != NULL) {
                        snprintf(out, outsz, "Authorization: Bearer %s.%s",
                                 signing, sig);
                        rc = 0;
                }
                free(sig);
        }
        free(h);
        free(p);
        return rc;
}

/* request: one call; returns the HTTP status (0: no answer). */
static long
request(struct api *a, const char *path, const char *body, struct reply *r)
{
        struct curl_slist *hdrs = NULL;
        char url[1024], auth[1024];
        long status = 0;

        if (bearer(a, auth, sizeof(auth)) != 0)
                return 0;
        snprintf(url, sizeof(url), "%s%s", a->base, path);
        hdrs = curl_slist_append(hdrs, auth);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_reset(a->curl);
        curl_easy_setopt(a->curl, CURLOPT_URL, url);
        curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, hdrs);
        if (body != NULL)
                curl_easy_setopt(a->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(a->curl, CURLOPT_WRITEFUNCTION, sink);
        curl_easy_setopt(a->curl, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(a->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(a->curl, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(a->curl, CURLOPT_NOSIGNAL, 1L);
        if (curl_easy_perform(a->curl) == CURLE_OK)
                curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(hdrs);
        return status;
}

static int
api_send(struct notify_channel *ch, const struct notify_msg *m,
         notify_commit_fn commit, void *arg, struct err *e)
{
        struct api *a = ch->state;
        bool sms = strcmp(m->channel, "sms") == 0;
        struct reply r = {0};
        json_t *j =
            json_pack("{s:s, s:s, s:{s:s, s:s}, s:s}",
                      sms ? "phone_number" : "email_address", m->to,
                      "template_id", a->template_id, "personalisation",
                      "subject", m->body->subject ? m->body->subject : "",
                      "body", m->body->text, "reference", m->message_id);
        char *body = jsonx_dump(j);
        long status;

        json_decref(j);
        if (body == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        if (commit != NULL && commit(arg, m->message_id, e) != 0) {
                free(body);
                return -1;
        }
        status = request(
            a, sms ? "/v2/notifications/sms" : "/v2/notifications/email", body,
            &r);
        secret_wipe(body, strlen(body));
        free(body);
        if (status == 201 || status == 200)
                return 0;
        if (status == 400)
                return err_set(e, ERR_INVALID, NULL, "api rejected: 400");
        return err_set(e, ERR_TRANSIENT, NULL, "api: status %ld", status);
}

static int
api_reconcile(struct notify_channel *ch, const char *message_id, struct err *e)
{
        struct api *a = ch->state;
        struct reply r = {0};
        char path[128];
        json_t *j;
        long status;
        int rc = -1;

        snprintf(path, sizeof(path), "/v2/notifications?reference=%s",
                 message_id);
        status = request(a, path, NULL, &r);
        if (status != 200)
                return err_set(e, ERR_TRANSIENT, NULL, "api: status %ld",
                               status);
        j = json_loads(r.body, 0, NULL);
        if (json_is_array(json_object_get(j, "notifications")))
                rc = json_array_size(json_object_get(j, "notifications")) > 0;
        json_decref(j);
        return rc;
}

static int
api_flush(struct notify_channel *ch, struct err *e)
{
        (void)ch;
        (void)e;
        return 0;
}

static void
api_free(struct notify_channel *ch)
{
        struct api *a;

        if (ch == NULL)
                return;
        a = ch->state;
        if (a != NULL) {
                if (a->curl != NULL)
                        curl_easy_cleanup(a->curl);
                secret_key_free(a->secret);
        }
        free(a);
        free(ch);
}

/* load_key: "name-<iss uuid>-<secret uuid>" from path. */
static int
load_key(struct api *a, const char *path, struct err *e)
{
        FILE *f = fopen(path, "r");
        char line[256] = "";
        size_t len;
        int rc;

        if (f == NULL)
                return err_set(e, ERR_FATAL, "SIGNPOST_NOTIFY_API_KEY_FILE",
                               "cannot read the API key file");
        if (fgets(line, sizeof(line), f) == NULL)
                line[0] = '\0';
        fclose(f);
        len = strcspn(line, "\r\n");
        line[len] = '\0';
        if (len < 74) {
                secret_wipe(line, sizeof(line));
                return err_set(e, ERR_FATAL, "SIGNPOST_NOTIFY_API_KEY_FILE",
                               "not a Notify API key");
        }
        rc = secret_key_from_bytes((const unsigned char *)line + len - 36, 36,
                                   NULL, &a->secret, e);
        snprintf(a->iss, sizeof(a->iss), "%.36s", line + len - 73);
        secret_wipe(line, sizeof(line));
        return rc;
}

struct notify_channel *
notify_channel_api(const char *base_url, const char *key_file,
                   const char *template_id, struct err *e)
{
        struct notify_channel *ch = calloc(1, sizeof(*ch));
        struct api *a = calloc(1, sizeof(*a));

        if (ch == NULL || a == NULL || secret_init(NULL) < 0 ||
            curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
            (a->curl = curl_easy_init()) == NULL) {
                err_set(e, ERR_FATAL, NULL, "api channel init failed");
                goto fail;
        }
        if (load_key(a, key_file, e) != 0)
                goto fail;
        snprintf(a->base, sizeof(a->base), "%s", base_url);
        snprintf(a->template_id, sizeof(a->template_id), "%s",
                 template_id ? template_id : "");
        ch->name = "api";
        ch->idempotent = false;
        ch->send = api_send;
        ch->reconcile = api_reconcile;
        ch->flush = api_flush;
        ch->free = api_free;
        ch->state = a;
        return ch;
fail:
        if (ch == NULL) {
                free(a);
                return NULL;
        }
        ch->state = a;
        api_free(ch);
        return NULL;
}
