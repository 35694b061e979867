/*
 * submit: POST /v1/referrals and the referral status read. A submission
 * is checked (content type, strict JSON, the contract, the catalogue
 * replica), given an id, a reference and a status-link secret, sealed and
 * produced to referral.submissions; the answer is 202 only after Kafka
 * acknowledged it, 503 with Retry-After if it did not. The API does not
 * hold an HTTP thread while Kafka works: the request is deferred
 * (http_req_defer) and answered once the delivery report arrives. An
 * Idempotency-Key maps to the first attempt's id and reference, so a
 * retry gets the same answer and (once acknowledged) produces nothing
 * new. The web form uses the same core, waiting (gw_submit). Nothing here
 * logs a field value.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "event.h"
#include "gateway.h"
#include "log.h"
#include "metrics.h"

/* UNCONFIRMED: not acknowledged, but the broker may still commit it */
enum outcome {
        ACCEPTED,
        REPLAYED,
        REJECTED,
        UNAVAILABLE,
        UNCONFIRMED,
        NOUTCOMES
};

static struct metrics_counter *outcomes[NOUTCOMES];
static pthread_once_t outcomes_once = PTHREAD_ONCE_INIT;

static void
outcomes_register(void)
{
        static const char *const names[NOUTCOMES] = {
            "accepted", "replayed", "rejected", "unavailable", "unconfirmed"};

        for (int i = 0; i < NOUTCOMES; i++)
                outcomes[i] =
                    metrics_counter_register("signpost_gateway_referrals_total",
                                             "Referral submissions by outcome.",
                                             "outcome", names[i], METRICS_END);
}

static void
count(enum outcome o)
{
        pthread_once(&outcomes_once, outcomes_register);
        metrics_counter_inc(outcomes[o]);
}

/* status_of: the HTTP status for an err kind from the checks: a referral
 * to a service that is unknown or not taking referrals is well formed but
 * cannot be processed (422; the URL itself exists); the rest as
 * everywhere (http_status_of). */
static int
status_of(const struct err *e)
{
        if (e->kind == ERR_CONFLICT || e->kind == ERR_NOT_FOUND)
                return 422;
        return http_status_of(e->kind);
}

/* A submission between its checks and Kafka's report. */
struct submission {
        struct gw *g;
        char id[UUID_STR_LEN];
        char reference[GW_REFERENCE_LEN];
        char secret[GW_STATUS_SECRET_LEN];
        char scope[160];
        char idem_key[129]; /* "" when none */
        bool send;          /* false: a replay Kafka already has */
        char *msg;          /* sealed message, new; NULL unless send */
        /* the deferred API answer */
        struct http_defer *defer;
        enum kafka_delivery d;
        char why[256];
};

static void
submission_free(struct submission *s)
{
        if (s == NULL)
                return;
        free(s->msg);
        secret_wipe(s->secret, sizeof(s->secret));
        free(s);
}

static int
check_service(struct gw *g, const json_t *body, struct err *e)
{
        const char *sid =
            json_string_value(json_object_get(body, "service_id"));
        struct gw_service s;

        if (!gw_catalogue_get(g->cat, sid, &s))
                return err_set(e, ERR_NOT_FOUND, "service_id",
                               "no such service in the directory");
        if (!gw_service_open(&s))
                return err_set(e, ERR_CONFLICT, "service_id",
                               "this service is not taking referrals");
        return 0;
}

/* claim: the idempotency record (one database round trip, only with an
 * Idempotency-Key); s->send false when Kafka already has it. */
static int
claim(struct submission *s, const char *text, size_t len, struct err *e)
{
        struct gw *g = s->g;
        char hash[SECRET_HEX_LEN];
        bool fresh = false, same = false, acked = false;
        struct db *db;
        int rc;

        if (secret_hash_hex(g->token_key, "signpost:idempotency-body:", text,
                            len, hash, e) < 0)
                return -1;
        db = db_pool_get(&g->pool);
        rc = gw_store_idem_claim(db, s->scope, s->idem_key, hash, s->id,
                                 s->reference, &fresh, &same, &acked, e);
        db_pool_put(&g->pool, db);
        if (rc < 0)
                return err_set(e, ERR_TRANSIENT, NULL,
                               "cannot record the Idempotency-Key now");
        if (!same)
                return err_set(e, ERR_CONFLICT, "Idempotency-Key",
                               "this Idempotency-Key was used with another "
                               "request body");
        s->send = fresh || !acked;
        return 0;
}

/* prepare: checks body and readies the message. Returns a new submission
 * (free with submission_free()), or NULL with e. */
static struct submission *
prepare(struct gw *g, const json_t *body, const char *scope,
        const char *idem_key, const char *text, size_t len, struct err *e)
{
        struct submission *s = NULL;
        char hash[SECRET_HEX_LEN];

        if (gw_referral_check(body, e) < 0 || check_service(g, body, e) < 0)
                return NULL;
        if ((s = calloc(1, sizeof(*s))) == NULL) {
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                return NULL;
        }
        s->g = g;
        s->send = true;
        snprintf(s->scope, sizeof(s->scope), "%s", scope);
        snprintf(s->idem_key, sizeof(s->idem_key), "%s",
                 idem_key ? idem_key : "");
        uuid_v7(s->id);
        if (gw_reference_of(g->token_key, s->id, s->reference, e) < 0)
                goto transient;
        if (idem_key != NULL && claim(s, text, len, e) < 0)
                goto fail;
        if (gw_status_secret(g->token_key, s->id, s->secret, e) < 0)
                goto transient;
        if (!s->send)
                return s;
        gw_status_secret_hash(s->secret, hash);
        s->msg =
            gw_referral_message(body, s->id, s->reference, hash,
                                g->set.privacy_notice_version, g->to_intake, e);
        if (s->msg != NULL)
                return s;
transient:
        e->kind = ERR_TRANSIENT;
fail:
        submission_free(s);
        return NULL;
}

/* settle: after Kafka's report or without sending (d KAFKA_DELIVERED):
 * the idempotency record and the counters. A record not acknowledged
 * stays unacknowledged, so a retry with its key sends the same id again,
 * which intake stores once. */
static void
settle(struct submission *s, enum kafka_delivery d)
{
        bool ok = d == KAFKA_DELIVERED;

        struct err e = {0};
        struct db *db;

        if (ok && s->send && s->idem_key[0] != '\0') {
                db = db_pool_get(&s->g->pool);
                if (gw_store_idem_acked(db, s->scope, s->idem_key, &e) < 0)
                        log_warnx("idempotency key not marked", "kind=%s",
                                  err_kind_name(e.kind));
                db_pool_put(&s->g->pool, db);
        }
        count(d == KAFKA_MAYBE ? UNCONFIRMED
              : !ok            ? UNAVAILABLE
              : s->send        ? ACCEPTED
                               : REPLAYED);
}

static int
produce(struct submission *s, gw_acked_fn done, struct err *e)
{
        struct event ev;

        event_init(&ev, GW_SOURCE, GW_TYPE_SUBMITTED, s->id);
        if (done != NULL)
                return gw_produce_async(s->g->prod, GW_TOPIC_SUBMISSIONS, s->id,
                                        &ev, s->msg, done, s, e);
        return gw_produce(s->g->prod, GW_TOPIC_SUBMISSIONS, s->id, &ev, s->msg,
                          GW_SYNC_WAIT_MS, e);
}

int
gw_submit(struct gw *g, const json_t *body, const char *scope,
          const char *idem_key, const char *body_text, size_t body_len,
          char id[UUID_STR_LEN], char reference[GW_REFERENCE_LEN],
          char secret[GW_STATUS_SECRET_LEN], struct err *e)
{
        struct submission *s =
            prepare(g, body, scope, idem_key, body_text, body_len, e);
        int rc;

        if (s == NULL) {
                count(e->kind == ERR_TRANSIENT ? UNAVAILABLE : REJECTED);
                return status_of(e);
        }
        rc = s->send ? produce(s, NULL, e) : 0;
        settle(s, rc == 0 ? KAFKA_DELIVERED : KAFKA_FAILED);
        if (rc == 0) {
                memcpy(id, s->id, UUID_STR_LEN);
                memcpy(reference, s->reference, GW_REFERENCE_LEN);
                memcpy(secret, s->secret, GW_STATUS_SECRET_LEN);
        }
        submission_free(s);
        return rc == 0 ? 0 : 503;
}

static bool
idem_key_ok(const char *k)
{
        size_t n = strlen(k);

        if (n < 1 || n > 128)
                return false;
        for (; *k; k++)
                if (strchr(
                        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789-_.:",
                        *k) == NULL)
                        return false;
        return true;
}

static void
accepted(struct http_resp *resp, const struct submission *s)
{
        char loc[256], page[256];

        snprintf(loc, sizeof(loc), "/v1/referrals/%s/status?key=%s", s->id,
                 s->secret);
        snprintf(page, sizeof(page), "/status/%s?key=%s", s->id, s->secret);
        http_resp_json(resp, 202,
                       json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", s->id,
                                 "reference", s->reference, "status",
                                 "received", "status_url", loc, "status_page",
                                 page));
        http_resp_header(resp, "Location", loc);
}

static void
refuse(struct http_resp *resp, int status, const struct err *e)
{
        const char *code = status == 400   ? "invalid_request"
                           : status == 422 ? "unprocessable"
                                           : "unavailable";
        bool named = e->field[0] != '\0' && status != 503;

        if (strcmp(e->field, "consents.share_with_provider") == 0)
                code = "consent_required";
        http_resp_error(resp, status, code, named ? e->field : NULL, "%s%s%s",
                        named ? e->field : "", named ? " " : "", e->msg);
        if (status == 503)
                http_resp_header(resp, "Retry-After", "5");
}

/* unconfirmed: the 503 for a submission the broker may still commit
 * (a timeout while a leader failed over). It is not "nothing was
 * accepted": the client is told how to retry without a second referral. */
static void
unconfirmed(struct http_resp *resp, const struct submission *s,
            const struct err *e)
{
        http_resp_error(resp, 503, "unconfirmed", NULL,
                        "%s. It may still have been received: %s", e->msg,
                        s->idem_key[0] != '\0'
                            ? "send it again with the same Idempotency-Key, "
                              "which never makes a second referral"
                            : "sent again without an Idempotency-Key it may "
                              "make a second referral; send one to retry "
                              "safely");
        http_resp_header(resp, "Retry-After", "5");
}

/* respond: settles s and fills resp from Kafka's report. */
static void
respond(struct http_req *req, struct http_resp *resp, struct submission *s)
{
        struct err e = {0};

        settle(s, s->d);
        if (s->d == KAFKA_DELIVERED) {
                accepted(resp, s);
                return;
        }
        err_set(&e, ERR_TRANSIENT, "topic", "%s: %s", GW_TOPIC_SUBMISSIONS,
                s->why);
        if (s->d == KAFKA_MAYBE)
                unconfirmed(resp, s, &e);
        else
                refuse(resp, 503, &e);
        log_err(LOG_WARN, "referral not accepted", &e, "request_id=%s",
                req->request_id);
}

/* answer: the deferred answer, on an HTTP thread once Kafka reported (or
 * with req NULL when the server stopped waiting: only settle). */
static void
answer(struct http_req *req, struct http_resp *resp, void *arg)
{
        struct submission *s = arg;

        if (req == NULL) {
                settle(s, s->d);
        } else {
                respond(req, resp, s);
                gw_route_headers(resp, 0, req->path);
        }
        submission_free(s);
}

/* acked: Kafka's report, on the producer's poller thread: wake the
 * request; the answer is made on an HTTP thread. */
static void
acked(void *arg, enum kafka_delivery d, const char *reason)
{
        struct submission *s = arg;

        s->d = d;
        snprintf(s->why, sizeof(s->why), "%s", reason);
        http_defer_resume(s->defer, answer, s);
}

/* send_deferred: produces s without holding this HTTP thread; the answer
 * comes from acked(). Takes ownership of s. */
static void
send_deferred(struct gw_call *call, struct submission *s)
{
        struct err e = {0};

        s->defer = http_req_defer(call->req);
        if (s->defer == NULL) { /* out of memory: wait here instead */
                s->d =
                    produce(s, NULL, &e) == 0 ? KAFKA_DELIVERED : KAFKA_FAILED;
                snprintf(s->why, sizeof(s->why), "%s", e.msg);
                respond(call->req, call->resp, s);
                submission_free(s);
                return;
        }
        if (produce(s, acked, &e) < 0)
                acked(s, KAFKA_FAILED, e.msg);
}

void
gw_submit_handler(struct gw_call *call)
{
        struct http_req *req = call->req;
        const char *key = http_req_header(req, "Idempotency-Key");
        struct submission *s;
        struct err e = {0};
        json_t *body = NULL;

        if (!gw_json_content_type(http_req_header(req, "Content-Type"))) {
                http_resp_error(call->resp, 415, "unsupported_media_type",
                                "Content-Type",
                                "send application/json (UTF-8)");
                return;
        }
        if (key != NULL && !idem_key_ok(key)) {
                http_resp_error(call->resp, 400, "invalid_request",
                                "Idempotency-Key",
                                "Idempotency-Key must be 1-128 characters of "
                                "A-Z a-z 0-9 - _ . :");
                return;
        }
        body = jsonx_parse_object(req->body, req->body_len, &e);
        if (body == NULL) {
                http_resp_error(call->resp, 400, "invalid_json", NULL,
                                "malformed JSON: %s", e.msg);
                return;
        }
        s = prepare(call->g, body, call->has_token ? call->who.sub : "public",
                    key, req->body, req->body_len, &e);
        json_decref(body);
        if (s == NULL) {
                count(e.kind == ERR_TRANSIENT ? UNAVAILABLE : REJECTED);
                refuse(call->resp, status_of(&e), &e);
                if (e.kind == ERR_TRANSIENT)
                        log_err(LOG_WARN, "referral not accepted", &e,
                                "request_id=%s", req->request_id);
                return;
        }
        if (s->send) {
                send_deferred(call, s);
                return;
        }
        settle(s, KAFKA_DELIVERED); /* a replay Kafka has: answer now */
        accepted(call->resp, s);
        submission_free(s);
}

int
gw_status_read(struct gw *g, const char *referral_id, const char *key,
               struct gw_status *out, struct err *e)
{
        char want[GW_STATUS_SECRET_LEN];
        struct db *db;
        struct tm tm;
        time_t t;
        int64_t ms;
        bool ok;
        int rc;

        memset(out, 0, sizeof(*out));
        if (referral_id == NULL || (ms = uuid_v7_ms(referral_id)) < 0 ||
            key == NULL || strlen(key) != GW_STATUS_SECRET_LEN - 1)
                return err_set(e, ERR_NOT_FOUND, NULL, "no such referral");
        if (gw_status_secret(g->token_key, referral_id, want, e) < 0)
                return err_set(e, ERR_TRANSIENT, NULL,
                               "cannot check the link now");
        ok = secret_equal(want, key);
        secret_wipe(want, sizeof(want));
        if (!ok)
                return err_set(e, ERR_NOT_FOUND, NULL, "no such referral");
        db = db_pool_get(&g->pool);
        rc = gw_store_status_get(db, referral_id, out, e);
        db_pool_put(&g->pool, db);
        if (rc == 0)
                return 0;
        if (e->kind != ERR_NOT_FOUND)
                return err_set(e, ERR_TRANSIENT, NULL,
                               "cannot read the status now");
        /* made here and acknowledged (only a 202 carries the key), not yet
         * reached by intake: received, since the time in its id */
        *e = (struct err){0};
        if (gw_reference_of(g->token_key, referral_id, out->reference, e) < 0)
                return err_set(e, ERR_TRANSIENT, NULL,
                               "cannot check the link now");
        snprintf(out->status, sizeof(out->status), "received");
        t = (time_t)(ms / 1000);
        gmtime_r(&t, &tm);
        strftime(out->updated, sizeof(out->updated), "%Y-%m-%dT%H:%M:%SZ", &tm);
        return 0;
}

/* gw_status_handler: GET /v1/referrals/{id}/status?key=SECRET */
void
gw_status_handler(struct gw_call *call)
{
        struct gw_status st;
        struct err e = {0};

        if (gw_status_read(call->g, http_req_param(call->req, "id"),
                           http_req_query(call->req, "key"), &st, &e) < 0) {
                if (e.kind == ERR_NOT_FOUND) {
                        http_resp_error(call->resp, 404, "not_found", NULL,
                                        "no such referral");
                        return;
                }
                http_resp_error(call->resp, 503, "unavailable", NULL, "%s",
                                e.msg);
                http_resp_header(call->resp, "Retry-After", "5");
                return;
        }
        http_resp_json(call->resp, 200,
                       json_pack("{s:s, s:s, s:s, s:s}", "id",
                                 http_req_param(call->req, "id"), "reference",
                                 st.reference, "status", st.status,
                                 "updated_at", st.updated));
}
