/*
 * gateway: the public edge. Serves the resident web pages and the JSON API,
 * authenticates API tokens (roles provider, admin, support), rate-limits,
 * validates referral submissions against its replica of the service
 * catalogue, seals personal data to intake and produces the command to
 * referral.submissions, forwards reads to the owning daemon with a signed
 * X-Signpost-Principal, and emits audit.access for reads of personal data.
 *
 * Data flow: routes.c (dispatch: headers, limits, auth, role) -> submit.c
 * (POST /v1/referrals: referral.c validates and builds, produce.c sends) or
 * forward.c (reads) or web.c (pages, through html.c and form.c).
 * consume.c (Kafka) -> store.c (replicas) -> catalogue.c (memory copy).
 */
#ifndef SIGNPOST_GATEWAY_H
#define SIGNPOST_GATEWAY_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "catalogue.h"
#include "db.h"
#include "db_pool.h"
#include "err.h"
#include "http.h"
#include "json.h"
#include "sbuf.h"
#include "kafka.h"
#include "secret.h"
#include "uuid.h"

#define GW_SCHEMA "gateway"
#define GW_SOURCE "/signpost/gateway"
#define GW_TOPIC_SUBMISSIONS "referral.submissions"
#define GW_TOPIC_EVENTS "referral.events"
#define GW_TOPIC_SERVICES CATALOGUE_TOPIC_SERVICES
#define GW_TOPIC_ORGS CATALOGUE_TOPIC_ORGS
#define GW_TYPE_SUBMITTED "signpost.referral.submitted.v1"
#define GW_REFERENCE_LEN 13     /* "SP-XXXX-XXXX" and the NUL */
#define GW_STATUS_SECRET_LEN 33 /* 32 hex characters and the NUL */
#define GW_PUBLIC_STATUS_LEN 32 /* the word a person sees, and the NUL */
#define GW_MAX_BODY (64 * 1024)

/* Role bits for the route table (1 << enum http_role). */
#define GW_R_PUBLIC (1u << HTTP_ROLE_PUBLIC)
#define GW_R_PROVIDER (1u << HTTP_ROLE_PROVIDER)
#define GW_R_ADMIN (1u << HTTP_ROLE_ADMIN)
#define GW_R_SUPPORT (1u << HTTP_ROLE_SUPPORT)
#define GW_R_TOKEN (GW_R_PROVIDER | GW_R_ADMIN | GW_R_SUPPORT)
#define GW_R_ANY (GW_R_PUBLIC | GW_R_TOKEN)

/* Route flags. */
/* GW_F_AUDIT: a forwarded read of personal data: the daemon's answer
 * names the records it returned (lib/audit.h AUDIT_RECORDS_HEADER), each
 * gets an audit.access event before the answer is shown, and an answer
 * that does not name them is refused (503). test_routes.c fails when a
 * route that returns personal data lacks it. */
#define GW_F_AUDIT 0x1u
#define GW_F_FORM 0x2u /* web form post: per-IP form limit */
#define GW_F_HTML 0x4u /* HTML page: CSP for pages */
#define GW_F_CORS 0x8u /* Access-Control-Allow-Origin: * */

/* ---- settings, from the config table (main.c, setup.c) or a test ---- */
struct gw_settings {
        const char *db;            /* conninfo */
        const char *kafka;         /* bootstrap */
        const char *intake_url;    /* http://127.0.0.1:8091 */
        const char *directory_url; /* http://127.0.0.1:8092 */
        const char *consent_url;   /* http://127.0.0.1:8093 */
        const char *principal_key_file;
        const char *token_key_file;    /* token-hash.key */
        const char *intake_pk_file;    /* intake.pk */
        const char *reporting_pk_file; /* reporting.pk (audit.access) */
        const char *openapi_file;
        const char *assets_dir; /* node_modules/govuk-frontend/dist/govuk */
        const char *privacy_notice_version;
        const char *privacy_contact; /* who answers rights requests */
        int produce_timeout_ms;
        int db_pool;
        int upstream_workers;     /* threads for blocking upstream calls */
        double ip_rate, ip_burst; /* requests per second, bucket */
        double token_rate, token_burst; /* per API token */
        double form_rate, form_burst;   /* form posts per IP */
        bool tls;                       /* behind TLS: send HSTS */
};

/* ---- catalogue.c: the in-memory copy of the service replica ---- */
struct gw_service {
        char id[UUID_STR_LEN];
        char org[UUID_STR_LEN]; /* "" when none */
        char status[24];
        bool accepts_referrals;
        char name[160];
};
struct gw_catalogue;
/* gw_catalogue_new: returns new empty catalogue, free with
 * gw_catalogue_free(). */
struct gw_catalogue *gw_catalogue_new(void);
void gw_catalogue_free(struct gw_catalogue *c);
/* gw_catalogue_put: adds or replaces s (copied). */
int gw_catalogue_put(struct gw_catalogue *c, const struct gw_service *s);
void gw_catalogue_remove(struct gw_catalogue *c, const char *id);
/* gw_catalogue_get: copies the service into out; false when unknown. */
bool gw_catalogue_get(struct gw_catalogue *c, const char *id,
                      struct gw_service *out);
size_t gw_catalogue_count(struct gw_catalogue *c);
/* gw_catalogue_open: true when s exists, is active and accepts referrals. */
bool gw_service_open(const struct gw_service *s);

/* ---- store.c (the only file with SQL) ---- */
struct gw_token {
        char id[UUID_STR_LEN];
        enum http_role role;
        char org[UUID_STR_LEN];
        bool reason_required;
        int64_t expires_at; /* unix seconds, 0 when none */
        bool revoked;
};
/* gw_store_token_find: by keyed hash; ERR_NOT_FOUND when absent. */
int gw_store_token_find(struct db *db, const char *hash, struct gw_token *out,
                        struct err *e);
/* gw_store_idem_claim: records (scope, key) -> referral id and reference
 * unless present. On return *fresh says whether it was recorded now; if
 * not, id and reference are overwritten with the stored ones, *same_body
 * says whether body_hash matched and *acked whether Kafka took it. */
int gw_store_idem_claim(struct db *db, const char *scope, const char *key,
                        const char *body_hash, char id[UUID_STR_LEN],
                        char reference[GW_REFERENCE_LEN], bool *fresh,
                        bool *same_body, bool *acked, struct err *e);
/* gw_store_idem_acked: marks the key's message acknowledged by Kafka. */
int gw_store_idem_acked(struct db *db, const char *scope, const char *key,
                        struct err *e);
int gw_store_service_put(struct db *db, const struct gw_service *s,
                         struct err *e);
int gw_store_service_delete(struct db *db, const char *id, struct err *e);
int gw_store_org_put(struct db *db, const char *id, const char *name,
                     struct err *e);
int gw_store_org_delete(struct db *db, const char *id, struct err *e);
/* gw_store_services_load: every replica row into c. */
int gw_store_services_load(struct db *db, struct gw_catalogue *c,
                           struct err *e);
/* gw_store_status_add: the status rows in rows, a JSON array of objects
 * with referral_id, reference, service_id and received_at (intake's
 * received events; the row's last change, now() when absent), in one
 * statement; a referral already present is left as it is. */
int gw_store_status_add(struct db *db, const json_t *rows, struct err *e);
/* gw_store_status_set: the word a person sees (intake's public_status
 * on status_changed), stored as it comes. */
int gw_store_status_set(struct db *db, const char *referral_id,
                        const char *status, struct err *e);
/* A referral's status as its status link shows it. */
struct gw_status {
        char reference[GW_REFERENCE_LEN];
        /* the word a person sees: received until intake says otherwise
         * (intake's words: received, with_provider, contacted, closed) */
        char status[GW_PUBLIC_STATUS_LEN];
        char updated[40]; /* UTC, "2026-12-07T10:00:00Z" */
        bool replicated;  /* false: intake has not reached it yet */
};
/* gw_store_status_get: id's status row into out (replicated true);
 * ERR_NOT_FOUND when there is none. */
int gw_store_status_get(struct db *db, const char *referral_id,
                        struct gw_status *out, struct err *e);

/* ---- referral.c: validation and the referral.submissions message ---- */
/* gw_referral_check: checks body (a parsed request) against the contract.
 * Returns 0, or -1 with e: ERR_INVALID for shape errors (unknown field,
 * wrong type: answer 400), ERR_CONFLICT for a value that is well-formed
 * JSON but unacceptable (answer 422); e->field names the field with dots
 * ("person.phone"). Service existence is checked by the caller. */
int gw_referral_check(const json_t *body, struct err *e);
/* gw_reference_of: a referral's reference, "SP-" + 4 + "-" + 4
 * characters of an alphabet without 0/O, 1/I/L, U, derived from key and
 * its id (keyed BLAKE2b; about 39 bits, unguessable without the key), so
 * the status link can show it before any replica has the referral. */
int gw_reference_of(const struct secret_key *key, const char *referral_id,
                    char out[GW_REFERENCE_LEN], struct err *e);
bool gw_reference_valid(const char *s);
/* gw_status_secret: the status-link secret of a referral, derived from
 * key and id: a retried POST gets the same link without storing it, and
 * the link is checked by deriving it again (gw_status_read), so a secret
 * is stored nowhere; gw_status_secret_hash: hex BLAKE2b-256 of a secret
 * (what the submission carries to intake, docs/contracts.md). */
int gw_status_secret(const struct secret_key *key, const char *referral_id,
                     char out[GW_STATUS_SECRET_LEN], struct err *e);
void gw_status_secret_hash(const char *secret, char out[SECRET_HEX_LEN]);
/* gw_referral_message: the signpost.referral.submitted.v1 data for body
 * (already checked), its personal part boxed to intake through to_intake.
 * Returns new text, free with free(); NULL with e. */
char *gw_referral_message(const json_t *body, const char *referral_id,
                          const char *reference, const char *secret_hash,
                          const char *notice_version,
                          struct secret_sender *to_intake, struct err *e);
/* gw_valid_email / gw_valid_uk_phone / gw_valid_postcode: value checks. */
bool gw_valid_email(const char *s);
bool gw_valid_uk_phone(const char *s);
bool gw_valid_postcode(const char *s);

/* gw_seal_json: compact JSON of j sealed through to (a sender's box to
 * intake), as base64url. Returns new text, free with free(); NULL with
 * ERR_TRANSIENT. */
char *gw_seal_json(struct secret_sender *to, const json_t *j, struct err *e);

/* ---- produce.c: producer with a poller thread and bounded waits ---- */
struct gw_producer;
/* gw_producer_new: returns new producer, free with gw_producer_free().
 * Messages not acknowledged within timeout_ms fail (message.timeout.ms). */
struct gw_producer *gw_producer_new(const char *brokers, int timeout_ms,
                                    struct err *e);
void gw_producer_free(struct gw_producer *p);
/* GW_SYNC_WAIT_MS: the longest gw_produce holds an HTTP thread (the web
 * form, audit events, commands). The API's referrals wait off the
 * threads, for the producer's whole timeout. */
#define GW_SYNC_WAIT_MS 10000
/* gw_produce: produces and waits up to wait_ms for the broker's
 * acknowledgement; 0 only when acknowledged, else -1 ERR_TRANSIENT. Not
 * acknowledged is not "not delivered": a message still unreported after
 * wait_ms, or reported KAFKA_MAYBE, may be committed later (the error's
 * message says so), so what it carries must be safe to send again. */
int gw_produce(struct gw_producer *p, const char *topic, const char *key,
               const struct event *ev, const char *value, int wait_ms,
               struct err *e);
/* gw_acked_fn: a delivery report (lib/kafka.h's kafka_delivery: only
 * KAFKA_DELIVERED is an acknowledgement; KAFKA_MAYBE may still be
 * committed); reason is borrowed. */
typedef kafka_dr_fn gw_acked_fn;
/* gw_produce_async: enqueues without waiting. done(arg, ...) runs exactly
 * once on the producer's poller thread, when the broker acknowledged the
 * message or it failed (within the producer's timeout_ms); it must not
 * block. Returns 0 (done will be called), or -1 ERR_TRANSIENT (it will
 * not). */
int gw_produce_async(struct gw_producer *p, const char *topic, const char *key,
                     const struct event *ev, const char *value,
                     gw_acked_fn done, void *arg, struct err *e);
bool gw_producer_ready(struct gw_producer *p);

/* ---- limit.c: token buckets ---- */
struct gw_limiter;
/* gw_limiter_new: rate tokens per second, burst bucket size. Returns new
 * limiter, free with gw_limiter_free(). rate <= 0 disables it. */
struct gw_limiter *gw_limiter_new(double rate, double burst);
void gw_limiter_free(struct gw_limiter *l);
/* gw_limiter_take: true when key may go now (at time now, seconds);
 * otherwise false and *retry_after the seconds to wait (>= 1). */
bool gw_limiter_take(struct gw_limiter *l, const char *key, double now,
                     int *retry_after);

/* ---- the daemon's state ---- */
struct gw {
        struct gw_settings set;
        struct secret_key *principal_key;
        struct secret_key *token_key;
        unsigned char intake_pk[SECRET_BOX_PK_BYTES];
        unsigned char reporting_pk[SECRET_BOX_PK_BYTES];
        struct secret_sender *to_intake; /* boxes to intake_pk */
        struct db_pool pool;
        struct gw_producer *prod;
        struct gw_upstream *upstream; /* forwarded reads in flight */
        struct gw_catalogue *cat;
        struct gw_limiter *lim_ip, *lim_token, *lim_form;
        char *openapi; /* the document, served as is */
        size_t openapi_len;
};
/* ---- setup.c: the gateway's hooks for svc_run (lib/svc_run.h) ---- */
struct svc_run;
/* arg is the struct gw. gw_setup_init reads the settings (into a
 * struct gw_settings the gw borrows) and sets the HTTP server's threads,
 * body limit and headers (no principal: the edge signs them, it takes
 * none); gw_setup_start runs gw_init; gw_setup_fini runs gw_fini. */
int gw_setup_init(void *arg, struct svc_run *r, struct err *e);
int gw_setup_start(void *arg, struct svc_run *r, struct err *e);
void gw_setup_fini(void *arg);

/* ---- gw.c: the daemon's state made and freed ---- */
/* gw_init: loads keys and the document, opens the pool, the producer and
 * the catalogue (loaded from the replica). set's strings must outlive gw.
 * gw_fini: frees what gw_init made; safe on a partly made gw. */
int gw_init(struct gw *g, const struct gw_settings *set, struct err *e);
void gw_fini(struct gw *g);

/* ---- auth.c ---- */
/* A request as the handlers see it after dispatch. */
struct gw_route;
struct gw_call {
        struct gw *g;
        const struct gw_route *route;
        struct http_req *req;
        struct http_resp *resp;
        struct http_principal who; /* role PUBLIC, sub "public" when none */
        bool has_token;
        char ip[64];
};
/* gw_auth: fills call->who from the Authorization and X-Signpost-Reason
 * headers. Returns 0, or the HTTP status to answer (401 bad token, 400
 * missing reason, 503 database down) with resp filled. */
int gw_auth(struct gw_call *call);

/* ---- forward.c ---- */
/* gw_query_string: the request's query re-encoded ("a=b&c=d", "" when
 * none). Returns new string, free with free(); NULL when out of memory. */
char *gw_query_string(const struct http_req *req);
struct gw_reply {
        long status; /* 0 when the daemon did not answer */
        char *body;  /* new, free() */
        size_t len;
        char content_type[96];
        /* new, free(): the answer's X-Signpost-Audit-Records (the records
         * it returned, lib/audit.h); NULL when it had none. Never passed
         * on to the caller. */
        char *audit_records;
};
/* ---- upstream.c: forwarded reads on one libcurl multi loop ---- */
#define GW_MAX_REPLY (8 * 1024 * 1024)
struct curl_slist;
struct gw_upstream;
/* gw_upstream_fn: on the loop's thread when the answer is in (rc 0, r
 * filled; move r->body out to keep it) or the call failed (rc -1). */
typedef void (*gw_upstream_fn)(void *arg, int rc, struct gw_reply *r);
/* gw_upstream_new: starts the loop. Returns new loop, free with
 * gw_upstream_free() (finishes what is queued or running first); NULL
 * when it cannot start. */
struct gw_upstream *gw_upstream_new(void);
/* gw_upstream_setopt: readies easy handle h (a CURL *) for a forwarded
 * GET of url with hdrs, the answer's body collected into r (refused
 * beyond GW_MAX_REPLY); the same options for the loop and for the pages'
 * blocking reads. gw_upstream_answered: after a completed transfer, r's
 * status, content type and audit records (AUDIT_RECORDS_HEADER) from h. */
void gw_upstream_setopt(void *h, const char *url, struct curl_slist *hdrs,
                        struct gw_reply *r);
void gw_upstream_answered(void *h, struct gw_reply *r);
void gw_upstream_free(struct gw_upstream *u);
/* gw_upstream_get: GET url with hdrs (both taken, also on failure);
 * fn(arg, ...) is called exactly once unless this returns -1 (stopping or
 * out of memory). */
int gw_upstream_get(struct gw_upstream *u, char *url, struct curl_slist *hdrs,
                    gw_upstream_fn fn, void *arg);
/* ---- forward.c: forwarded reads, through upstream.c ---- */
/* gw_forward_get: GET base + path (+ "?" query) with the signed principal
 * of who. Returns 0 with r filled (any status), or -1 when the daemon could
 * not be reached. Keeps one kept-alive handle per thread. */
int gw_forward_get(struct gw *g, const struct http_principal *who,
                   const char *base, const char *path, const char *query,
                   const char *request_id, struct gw_reply *r, struct err *e);
void gw_reply_fini(struct gw_reply *r);
/* gw_forward_fetch: GETs base + paths[i] (+ "?" queries[i]) for call, at
 * most GW_FETCH_MAX of them at once, on the upstream loop without holding
 * the HTTP thread, then calls then on an HTTP thread with call rebuilt
 * around the same request, r[i] each answer and rc[i] 0, or -1 when the
 * daemon could not be reached (replies are freed after). When the loop
 * cannot take them, reads them on this thread and calls then at once. */
#define GW_FETCH_MAX 2
typedef void (*gw_fetch_fn)(struct gw_call *call, struct gw_reply *r,
                            const int *rc);
void gw_forward_fetch(struct gw_call *call, const char *base, size_t n,
                      const char *const *paths, const char *const *queries,
                      gw_fetch_fn then);
/* gw_forward_handler: the route handler for forwarded reads. */
void gw_forward_handler(struct gw_call *call);

/* ---- audit.c ---- */
/* gw_audit_read: one audit.access event per record a forwarded answer
 * says it returned: records is its X-Signpost-Audit-Records value (ids,
 * comma-separated, or "none"). Nothing is guessed from the body. Returns
 * 0 when every event was acknowledged; -1 with ERR_INVALID when records
 * is NULL or names anything but ids (then no event is written: the
 * answer must not be shown), ERR_TRANSIENT when the broker did not
 * acknowledge. */
int gw_audit_read(struct gw_call *call, const char *records, struct err *e);
/* gw_audit_refused: the audit.access event of a refused attempt (status
 * 401, 403 or 404) on an audited route; best effort. */
void gw_audit_refused(struct gw_call *call, int status);

/* ---- submit.c ---- */
void gw_submit_handler(struct gw_call *call);
void gw_status_handler(struct gw_call *call);
/* gw_submit: the shared core of the API and the web form. body is the
 * parsed request; idem_key may be NULL. On success fills id, reference and
 * secret and returns 0 (also for a replay). Otherwise returns the HTTP
 * status (400, 422, 503) with e describing why. */
int gw_submit(struct gw *g, const json_t *body, const char *scope,
              const char *idem_key, const char *body_text, size_t body_len,
              char id[UUID_STR_LEN], char reference[GW_REFERENCE_LEN],
              char secret[GW_STATUS_SECRET_LEN], struct err *e);
/* gw_status_read: the status a referral's link (id and key) shows, the
 * one check of a status link (the API, the status page, the consent
 * route). key must be the secret gw_status_secret derives for id (a
 * constant-time compare): then the referral was made here and answered
 * 202, and its status comes from the replica, or is "received" (with its
 * reference and the time in its id) while intake has not reached it yet.
 * Returns 0; -1 with ERR_NOT_FOUND for an unknown id or a wrong key (the
 * two look the same), ERR_TRANSIENT when the replica cannot be read. */
int gw_status_read(struct gw *g, const char *referral_id, const char *key,
                   struct gw_status *out, struct err *e);

/* ---- routes.c ---- */
typedef void (*gw_handler_fn)(struct gw_call *call);
struct gw_route {
        const char *method;
        const char *pattern;
        gw_handler_fn fn;
        unsigned roles;            /* GW_R_* */
        unsigned flags;            /* GW_F_* */
        const char *upstream;      /* forwarded: "intake" or "directory" */
        const char *upstream_path; /* prefix stripped before forwarding */
};
/* gw_routes: returns the borrowed static route table, ending in {NULL}.
 * gw_http_routes: the same as a lib/http table (every route public to
 * lib/http: the gateway authenticates itself), arg a struct gw *. */
const struct gw_route *gw_routes(void);
const struct http_route *gw_http_routes(void);
/* gw_server_headers: returns the borrowed static list (name, value, ...,
 * NULL) for http_opts.headers: CSP for JSON, Referrer-Policy, frame
 * denial, and HSTS when tls. */
const char *const *gw_server_headers(bool tls);
/* gw_route_headers: what depends on the answer: the page CSP for HTML,
 * CORS (flags GW_F_CORS) or Cache-Control: no-store (pages, /v1/). */
void gw_route_headers(struct http_resp *r, unsigned flags, const char *path);
/* gw_cors_preflight: the OPTIONS answer for the ORUK paths. */
void gw_cors_preflight(struct gw_call *call);
void gw_openapi_handler(struct gw_call *call);

/* gw_now: seconds on the monotonic clock, with the fraction (for
 * durations only). */
double gw_now(void);

/* ---- html.c: an escaping string builder ---- */
struct gw_html {
        struct sbuf s;
};
/* gw_html_raw: appends trusted text (markup written in this program). */
void gw_html_raw(struct gw_html *h, const char *s);
/* gw_html_text: appends s with & < > " ' escaped (NULL appends nothing). */
void gw_html_text(struct gw_html *h, const char *s);
/* gw_html_f: printf of trusted markup; every %s argument is escaped. */
void gw_html_f(struct gw_html *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* gw_html_take: returns the new text (free with free()) and resets h;
 * NULL when out of memory. */
char *gw_html_take(struct gw_html *h, size_t *len);
void gw_html_fini(struct gw_html *h);

/* ---- form.c: urlencoded forms and CSRF ---- */
#define GW_FORM_MAX 40
struct gw_form {
        int n;
        char *name[GW_FORM_MAX];
        char *value[GW_FORM_MAX];
};
/* gw_form_parse: decodes an application/x-www-form-urlencoded body.
 * ERR_INVALID when malformed, not UTF-8 or too many fields. */
int gw_form_parse(const char *body, size_t len, struct gw_form *f,
                  struct err *e);
void gw_form_fini(struct gw_form *f);
/* gw_form_get: returns borrowed value, valid until gw_form_fini(); NULL
 * when absent. */
const char *gw_form_get(const struct gw_form *f, const char *name);
/* gw_csrf_new: a token "nonce.mac" binding a random nonce and a time to
 * key; gw_csrf_check: true when token was made by gw_csrf_new with key
 * less than max_age seconds before now. */
int gw_csrf_new(const struct secret_key *key, int64_t now, char out[128]);
bool gw_csrf_check(const struct secret_key *key, const char *token, int64_t now,
                   int64_t max_age);

/* ---- web.c and web_form.c: the pages ---- */
void gw_web_search(struct gw_call *call);
void gw_web_service(struct gw_call *call);
void gw_web_privacy(struct gw_call *call);
void gw_web_status(struct gw_call *call);
void gw_web_asset(struct gw_call *call);
void gw_web_refer_get(struct gw_call *call);
void gw_web_refer_post(struct gw_call *call);
/* gw_web_page: wraps main (markup) in the GOV.UK template and answers. */
void gw_web_page(struct gw_call *call, int status, const char *title,
                 const char *main_html);
void gw_web_error(struct gw_call *call, int status, const char *title,
                  const char *message);
/* How long a form's CSRF token stays good (seconds). */
#define GW_CSRF_MAX_AGE (2 * 3600)
/* gw_web_form_take: parses the POSTed form into f and checks its CSRF
 * token and honeypot; false (error page answered) when any fails. Call
 * gw_form_fini(f) either way. */
bool gw_web_form_take(struct gw_call *call, struct gw_form *f);

/* ---- consume.c ---- */
/* gw_consume_apply: an inbox_apply_fn for directory.services,
 * directory.organisations and referral.events; arg is a struct gw *. */
struct kafka_record;
int gw_consume_apply(void *arg, struct db *db, const struct kafka_record *rec,
                     struct err *e);
/* gw_consume_flush: its inbox_flush_fn: the status and owner rows of the
 * received events applied since the last flush, written with one
 * statement per table (keep) or dropped. */
int gw_consume_flush(void *arg, struct db *db, bool keep, struct err *e);

/* ---- store_referral.c: the referral-owner replica (SQL) ---- */
struct gw_owner {
        char org[UUID_STR_LEN]; /* "" when intake did not know it */
        char subject[UUID_STR_LEN];
        char notice[64]; /* privacy-notice version, "" when none */
};
/* gw_store_owner_put: the owner rows in rows, a JSON array of objects with
 * referral_id, organisation_id, subject_id and privacy_notice_version
 * (null allowed but for the ids of referral and subject), in one
 * statement; a referral already present takes the new values, and of two
 * rows for one referral the later wins. */
int gw_store_owner_put(struct db *db, const json_t *rows, struct err *e);
/* gw_store_owner_get: ERR_NOT_FOUND when the referral is not (yet) known. */
int gw_store_owner_get(struct db *db, const char *referral_id,
                       struct gw_owner *out, struct err *e);

/* ---- command.c: JSON command bodies and producing commands ---- */
/* gw_command_body: the request's body as a JSON object with only the
 * allowed fields. Returns new object (json_decref()), or NULL with the
 * answer filled (415, 400). */
json_t *gw_command_body(struct gw_call *call, const char *const allowed[]);
/* gw_json_content_type: true for application/json, with no charset or
 * charset=utf-8. */
bool gw_json_content_type(const char *ct);
/* gw_command_send: produces data as a CloudEvent of type to topic keyed
 * by key and waits for the broker's acknowledgement; 0 only when
 * acknowledged, else -1 ERR_TRANSIENT. */
int gw_command_send(struct gw *g, const char *topic, const char *key,
                    const char *type, const json_t *data, struct err *e);
/* gw_command_unavailable: the 503 (Retry-After) answer; logs e->msg. */
void gw_command_unavailable(struct gw_call *call, const struct err *e);

/* ---- provider.c: POST /v1/referrals/{id}/status ---- */
void gw_referral_status_post(struct gw_call *call);

/* ---- consents.c: consent commands on consent.commands ---- */
struct gw_consent {
        char subject[UUID_STR_LEN];
        char purpose[40];
        char action[16]; /* withdrawn | granted */
        const char *via; /* web_form | api | admin (static text) */
        char notice[64];
        char recorded_by[160];
};
bool gw_consent_purpose_valid(const char *purpose);
/* gw_consent_person: a person's consent change through the status link
 * (referral id and its secret key); c carries purpose, action and via,
 * the rest is filled from the replica. Returns 0 with *receipt (new
 * json) after the broker acknowledged, else the HTTP status (404 unknown
 * referral or wrong key, 422 bad purpose/action, 503) with e. */
int gw_consent_person(struct gw *g, const char *referral_id, const char *key,
                      struct gw_consent *c, json_t **receipt, struct err *e);
void gw_referral_consent_post(struct gw_call *call);
void gw_consent_post(struct gw_call *call);

/* ---- web_consent.c: the consent form on the status page ---- */
/* gw_web_consent_form: appends the withdraw / opt-out form for referral
 * id (key: its status secret) to h, with a fresh CSRF token. */
void gw_web_consent_form(struct gw_call *call, struct gw_html *h,
                         const char *id, const char *key);
void gw_web_consent_post(struct gw_call *call);

#endif
