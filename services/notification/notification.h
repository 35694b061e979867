/*
 * notification: email and SMS from templates, only what consent allows,
 * each message at most once. Owns schema `notification`: templates, the
 * delivery log (message: blind index, template, status, timestamps; the
 * sealed request only until a final outcome), one-time codes, and replicas
 * of consent.state and the service catalogue.
 *
 * Data flow: consume.c and requests.c (Kafka, inbox transaction) record
 * intent as a pending message -> sender.c claims due messages, decides
 * with policy.c (consent, backoff), renders with render.c, delivers
 * through a channel (spool.c, channel_smtp.c, channel_api.c) and records
 * the outcome with an event on notification.events. routes.c and codes.c are
 * the HTTP face. store.c holds every SQL statement.
 */
#ifndef SIGNPOST_NOTIFICATION_H
#define SIGNPOST_NOTIFICATION_H

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "catalogue.h"
#include "db.h"
#include "db_pool.h"
#include "err.h"
#include "inbox.h"
#include "kafka.h"
#include "secret.h"
#include "uuid.h"

#define NOTIFY_SCHEMA "notification"
#define NOTIFY_SOURCE "/signpost/notification"
#define NOTIFY_TOPIC_REQUESTS "notification.requests"
#define NOTIFY_TOPIC_EVENTS "notification.events"
#define NOTIFY_TOPIC_CONSENT "consent.state"
#define NOTIFY_TOPIC_SERVICES CATALOGUE_TOPIC_SERVICES
#define NOTIFY_TOPIC_ORGS CATALOGUE_TOPIC_ORGS
#define NOTIFY_TYPE_REQUESTED "signpost.notification.requested.v1"
#define NOTIFY_CODE_TEMPLATE "one_time_code"
#define NOTIFY_CODE_TTL_S 600
#define NOTIFY_CODE_TTL_TEXT "10 minutes"
#define NOTIFY_CODE_ATTEMPTS 5

/* ---- policy.c (pure) ---- */

/* What the sender knows about a message when it decides. */
struct notify_view {
        const char *template;
        const char *audience; /* person | referrer | provider | admin */
        const char *purpose;  /* NULL when none */
        bool has_subject;
        bool state_known; /* the consent replica has the subject */
        bool opted_out;
        const char *standing; /* "granted" | "withdrawn" | NULL (absent) */
        int64_t waited_ms;    /* since the message was recorded */
        int64_t wait_limit_ms;
};

enum notify_verdict {
        NOTIFY_SEND,
        NOTIFY_SUPPRESS, /* reason says why; recorded, not sent */
        NOTIFY_WAIT,     /* consent state unknown: look again later */
        NOTIFY_FAIL,     /* cannot ever be sent */
};

/* notify_policy_decide: the consent check at send time. *reason is a
 * borrowed static phrase (for SUPPRESS and FAIL). */
enum notify_verdict notify_policy_decide(const struct notify_view *v,
                                         const char **reason);
/* notify_backoff_ms: delay before attempt number `attempt` + 1 after
 * `attempt` failures (attempt >= 1): base * 2^(attempt-1) capped at cap,
 * then "equal jitter": half fixed, half scaled by jitter in [0, 1). */
int64_t notify_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms,
                          double jitter);

/* ---- render.c (pure) ---- */

struct notify_template {
        char kind[65];
        char channel[8];
        char *subject; /* NULL for sms */
        char *text;
        char *html; /* NULL when none */
};

struct notify_rendered {
        char *subject; /* NULL for sms; CR/LF removed */
        char *text;
        char *html; /* values HTML-escaped; NULL when the template has none */
};

/* notify_render_one: substitutes {{name}} / {{name|fallback}} in tpl with
 * the string values of `values`. Returns new string (free with free()),
 * or NULL with ERR_INVALID "missing placeholder NAME" (field = NAME) or
 * "unterminated placeholder". html escapes values for HTML. */
char *notify_render_one(const char *tpl, const json_t *values, bool html,
                        struct err *e);
/* notify_render: renders every part of t. Fills out (free with
 * notify_rendered_fini()). */
int notify_render(const struct notify_template *t, const json_t *values,
                  struct notify_rendered *out, struct err *e);
void notify_rendered_fini(struct notify_rendered *r);
void notify_template_fini(struct notify_template *t);
/* notify_template_check: the placeholders of text parse. */
int notify_template_check(const char *text, struct err *e);

/* ---- channel.c, channel_smtp.c, channel_api.c, spool.c ---- */

/* A message ready to go. Every pointer is borrowed for the send call;
 * `to` is plaintext, held only in memory for the call. */
struct notify_msg {
        const char *message_id;
        const char *kind;
        const char *channel; /* email | sms */
        const char *to;
        const char *from;
        const struct notify_rendered *body;
};

/* notify_commit_fn: called by a channel that cannot deliver idempotently,
 * just before the step after which the message may have been delivered
 * (SMTP: the final "." of DATA; HTTP API: the request). It durably marks
 * the message 'sending'; if it fails, the channel must not deliver. */
typedef int (*notify_commit_fn)(void *arg, const char *message_id,
                                struct err *e);

struct notify_channel {
        const char *name;
        /* true when delivering a message_id again has no second effect
         * (the spool: one file per message_id) */
        bool idempotent;
        /* send: 0 delivered; -1 with ERR_TRANSIENT (retry later) or
         * ERR_INVALID (never deliverable: the reason is recorded) */
        int (*send)(struct notify_channel *ch, const struct notify_msg *m,
                    notify_commit_fn commit, void *arg, struct err *e);
        /* reconcile: a message left 'sending' by a crash: 1 delivered,
         * 0 not delivered (safe to send), -1 unknown (treated as
         * delivered: at most once) */
        int (*reconcile)(struct notify_channel *ch, const char *message_id,
                         struct err *e);
        /* flush: make deliveries since the last flush durable */
        int (*flush)(struct notify_channel *ch, struct err *e);
        void (*free)(struct notify_channel *ch);
        void *state;
};

/* notify_channel_spool: the development channel: writes
 * <dir>/<message_id>.eml (email) or .json (sms) in plaintext; a file
 * appears whole or not at all and never replaces one already there (which
 * means already delivered). fsync: send stages each file and flush makes
 * the batch durable (one syncfs, the renames, one directory fsync) before
 * the sender records it. Files older than max_age_s (<= 0:
 * NOTIFY_SPOOL_MAX_AGE_S) are deleted at start and at most once a minute
 * while sending. dir is copied. Returns new channel, free with
 * ch->free(ch). */
#define NOTIFY_SPOOL_MAX_AGE_S (7L * 24 * 3600)
struct notify_channel *notify_channel_spool(const char *dir, bool fsync,
                                            long max_age_s, struct err *e);
/* notify_spool_prune: deletes the spool's files older than its maximum
 * age at time now; returns how many, or -1 when the directory cannot be
 * read. */
int notify_spool_prune(struct notify_channel *ch, time_t now);
/* notify_channel_kind: the channel SIGNPOST_NOTIFY_CHANNEL names: kind
 * itself, or for "auto" smtp when smtp_url is set, else api when api_url
 * is, else NULL: "auto" never chooses the spool, which holds plaintext
 * and is for development only. Returns borrowed static text. */
const char *notify_channel_kind(const char *kind, const char *smtp_url,
                                const char *api_url);
/* notify_channel_smtp: email through an SMTP server (libcurl) at url
 * ("smtp://host:port"); Message-ID <message_id@signpost>. */
struct notify_channel *notify_channel_smtp(const char *url, struct err *e);
/* notify_channel_api: a GOV.UK Notify-compatible HTTP API at base_url;
 * key_file holds the API key "name-<service uuid>-<secret uuid>";
 * template_id is the Notify template with ((subject)) and ((body)). */
struct notify_channel *notify_channel_api(const char *base_url,
                                          const char *key_file,
                                          const char *template_id,
                                          struct err *e);
/* notify_mime: the RFC 5322 message (CRLF lines, multipart/alternative
 * when there is HTML). Returns new string, free with free(). */
char *notify_mime(const struct notify_msg *m);

struct notify_ctx {
        struct db_pool *pool;
        struct secret_key *box_sk; /* notification.sk */
        unsigned char box_pk[SECRET_BOX_PK_BYTES];
        struct secret_key *index_key; /* blind-index.key */
        struct secret_key *code_key;  /* token-hash.key: code hashes */
        struct notify_channel *channel;
        char instance[128]; /* this replica's name, for leases */
        char from[256];     /* sender address */
        int max_attempts;
        int64_t backoff_base_ms;
        int64_t backoff_cap_ms;
        int64_t consent_wait_ms; /* how long to wait for unknown state */
        int64_t consent_recheck_ms;
        int batch;
        atomic_ulong sent, suppressed, failed, retried;
};

/* ---- store.c (the only file with SQL) ---- */

/* A claimed message, with what the sender needs to decide and render. */
struct notify_claim {
        char message_id[UUID_STR_LEN];
        char template[65];
        char audience[16];
        char purpose[40]; /* "" none */
        char channel[8];  /* "" when unknown */
        char referral_id[UUID_STR_LEN];
        char *sealed; /* new; NULL when none */
        int attempts;
        bool has_subject, state_known, opted_out;
        char standing[16]; /* "" absent */
        int64_t age_ms;
        char service_name[256]; /* "" when the replica lacks it */
        char organisation_name[256];
};

/* The outcome the sender records for one claim. */
enum notify_outcome {
        NOTIFY_OUT_SENT,
        NOTIFY_OUT_SUPPRESSED,
        NOTIFY_OUT_FAILED,
        NOTIFY_OUT_RETRY, /* pending again after delay_ms, attempt counted */
        NOTIFY_OUT_WAIT,  /* pending again after delay_ms, not counted */
};

struct notify_result {
        enum notify_outcome outcome;
        int64_t delay_ms;
        char reason[256];
};

/* notify_store_message_add: records a request as pending (or, with
 * status "failed" and reason, as a recorded failure). A message_id seen
 * before is left alone (*added false). */
int notify_store_message_add(struct db *db, const json_t *req,
                             const char *channel, const char *index,
                             const char *status, const char *reason,
                             bool *added, struct err *e);
/* notify_store_messages_add: records rows (JSON array text of objects
 * with the message columns) as pending messages, in array order, in one
 * statement; a message_id seen before is left alone. *added (if not NULL)
 * gets the count. */
int notify_store_messages_add(struct db *db, const char *rows, long *added,
                              struct err *e);
/* notify_store_claim: leases up to max due pending messages for
 * instance. Returns new array in *out (free with notify_claims_free()). */
int notify_store_claim(struct db *db, const char *instance, int max,
                       struct notify_claim **out, int *n, struct err *e);
void notify_claims_free(struct notify_claim *c, int n);
/* notify_store_mark_sending: pending -> sending (the point of no return
 * for channels that are not idempotent). */
int notify_store_mark_sending(struct db *db, const char *message_id,
                              struct err *e);
/* notify_store_record: the outcome of one claim (inside the caller's
 * transaction): status, reason, attempts, next attempt; drops the sealed
 * request on a final outcome; queues the event. */
int notify_store_record(struct db *db, const struct notify_claim *c,
                        const struct notify_result *r, const char *sink,
                        struct err *e);
/* notify_store_record_sent: the SENT outcome of claims c[idx[0..n)] in
 * two statements (one UPDATE, one multi-row outbox INSERT), inside the
 * caller's transaction: the bulk path of notify_store_record(). */
int notify_store_record_sent(struct db *db, const struct notify_claim *c,
                             const int *idx, int n, const char *sink,
                             struct err *e);
/* notify_store_event: queues signpost.notification.<what>.v1 (sent,
 * suppressed, failed) on notification.events; channel, referral_id and
 * reason may be NULL or "". */
int notify_store_event(struct db *db, const char *id, const char *tpl,
                       const char *audience, const char *channel,
                       const char *referral_id, const char *what,
                       const char *reason, struct err *e);
/* notify_store_release: gives back instance's leases on pending rows and
 * returns its 'sending' rows (ids as new array, count in *n) to reconcile. */
int notify_store_release(struct db *db, const char *instance,
                         char (**ids)[UUID_STR_LEN], int *n, struct err *e);
/* notify_store_reconciled: a 'sending' row after a crash: delivered ->
 * sent (reason noted), else -> pending. */
int notify_store_reconciled(struct db *db, const char *message_id,
                            bool delivered, const char *note, struct err *e);
/* ---- store_admin.c: templates, messages read back, replicas, codes ---- */
/* notify_store_templates: every template. Returns new array in *out
 * (free each with notify_template_fini() and the array), count in *n. */
int notify_store_templates(struct db *db, struct notify_template **out, int *n,
                           struct err *e);
int notify_store_template_put(struct db *db, const char *kind,
                              const char *channel, const char *subject,
                              const char *text, const char *html,
                              const char *by, struct err *e);
/* JSON readers for the admin routes: new object or NULL (ERR_NOT_FOUND). */
json_t *notify_store_template_get(struct db *db, const char *kind,
                                  const char *channel, struct err *e);
json_t *notify_store_message_get(struct db *db, const char *message_id,
                                 struct err *e);
json_t *notify_store_consent_get(struct db *db, const char *subject_id,
                                 struct err *e);
/* Replicas. */
int notify_store_consent_put(struct db *db, const char *subject_id,
                             const json_t *state, struct err *e);
int notify_store_consent_delete(struct db *db, const char *subject_id,
                                struct err *e);
int notify_store_service_put(struct db *db, const char *id, const char *name,
                             const char *org_id, const char *org_name,
                             struct err *e);
int notify_store_org_put(struct db *db, const char *id, const char *name,
                         struct err *e);
int notify_store_catalogue_delete(struct db *db, bool org, const char *id,
                                  struct err *e);
/* Codes. */
int notify_store_code_add(struct db *db, const char *id, const char *subject,
                          const char *index, const char *hash,
                          const char *message_id, char expires_at[40],
                          struct err *e);
/* notify_store_code_take: locks the code row; fills hash, attempts,
 * subject; *live false when used or expired. ERR_NOT_FOUND if none. */
int notify_store_code_take(struct db *db, const char *id,
                           char hash[SECRET_HEX_LEN], int *attempts,
                           char subject[UUID_STR_LEN], bool *live,
                           struct err *e);
int notify_store_code_attempt(struct db *db, const char *id, bool success,
                              struct err *e);

/* ---- requests.c ---- */
/* notify_requests_apply: an inbox_apply_fn for notification.requests,
 * consent.state and the catalogue topics; arg is a struct notify_ctx *. */
int notify_requests_apply(void *arg, struct db *db,
                          const struct kafka_record *rec, struct err *e);
/* notify_request_prepare: what notify_requests_apply would record as a
 * pending message, without recording it. For a well-formed
 * request whose recipient opens, returns new request object (free with
 * json_decref()) with *channel and index filled; NULL for any other record
 * (it takes notify_requests_apply's per-record path). */
json_t *notify_request_prepare(const struct notify_ctx *ctx,
                               const struct kafka_record *rec,
                               const char **channel,
                               char index[SECRET_HEX_LEN]);
/* notify_open: unseals a request's `sealed` text. Returns new object
 * {"email"|"phone", "values"} (free with json_decref()), NULL with
 * ERR_INVALID when it does not open or has no address. *channel gets
 * "email" or "sms"; index (if not NULL) the blind index of the address. */
json_t *notify_open(const struct notify_ctx *ctx, const char *sealed,
                    const char **channel, char index[SECRET_HEX_LEN],
                    struct err *e);

/* ---- consume.c ---- */

/* The consumer's inbox apply and flush pair (struct inbox .apply, .flush,
 * .arg = a struct notify_batch with ctx set): requests that will be
 * recorded as pending are buffered and written by the flush in one
 * multi-row INSERT; every other record goes to notify_requests_apply.
 * Effects and guarantees are those of notify_requests_apply per record. */
struct notify_batch {
        struct notify_ctx *ctx; /* borrowed */
        json_t *rows;           /* buffered message rows; handler's own */
};

int notify_batch_apply(void *arg, struct db *db, const struct kafka_record *rec,
                       struct err *e);
int notify_batch_flush(void *arg, struct db *db, bool keep, struct err *e);
/* notify_batch_fini: frees the buffer. */
void notify_batch_fini(struct notify_batch *b);

/* ---- sender.c ---- */
/* notify_sender_run: the sender loop, until *stop: claims, decides,
 * delivers, records. Reconciles this instance's interrupted sends first.
 * db is this thread's own connection. */
int notify_sender_run(struct notify_ctx *ctx, struct db *db, atomic_bool *stop,
                      struct err *e);
/* notify_sender_once: one claim-deliver-record round; returns how many
 * messages it handled (0: nothing due), -1 on a database error. */
int notify_sender_once(struct notify_ctx *ctx, struct db *db, struct err *e);
/* notify_sender_reconcile: the start-up step of notify_sender_run. */
int notify_sender_reconcile(struct notify_ctx *ctx, struct db *db,
                            struct err *e);

/* ---- codes.c ---- */
/* notify_code_issue: a new code for subject, sent to the sealed address
 * as a one_time_code message; fills code_id and expires_at. */
int notify_code_issue(struct notify_ctx *ctx, struct db *db,
                      const char *subject, const char *sealed,
                      char code_id[UUID_STR_LEN], char expires_at[40],
                      struct err *e);
/* notify_code_verify: 0 when code matches (the code is used up, subject
 * filled); -1 with ERR_INVALID (wrong; attempts counted), ERR_CONFLICT
 * (used, expired, or too many attempts) or ERR_NOT_FOUND. */
int notify_code_verify(struct notify_ctx *ctx, struct db *db, const char *id,
                       const char *code, char subject[UUID_STR_LEN],
                       struct err *e);

/* ---- setup.c ---- */
struct cfg;
struct svc_run;
/* svc_run's hooks (lib/svc_run.h; arg: the struct notify_ctx):
 * notify_setup_init reads the settings, loads the keys from
 * SIGNPOST_SECRETS_DIR and opens the delivery channel; notify_setup_fini
 * frees them. notify_setup_batch_end is the consumer thread's end (arg:
 * its struct notify_batch). The sender loop is a worker: start returns
 * new thread handle, stop joins and frees it. */
int notify_setup_init(void *arg, struct svc_run *r, struct err *e);
void notify_setup_fini(void *arg);
void notify_setup_batch_end(void *arg);
void *notify_setup_sender_start(void *arg, const struct cfg *cfg,
                                struct err *e);
void notify_setup_sender_stop(void *arg);

/* ---- routes.c ---- */
struct http_route;
const struct http_route *notify_routes(void);

#endif
