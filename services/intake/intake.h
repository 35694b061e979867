/*
 * intake: the referral daemon. Owns schema `intake`: referrals with their
 * personal fields encrypted under the person's data key, the subjects those
 * keys belong to (found again through blind indexes), status history, and
 * a replica of the directory's catalogue.
 *
 * Data flow: consume.c (Kafka) dispatches referral.submissions to
 * submit.c, referral.updates to lifecycle.c, directory.* to catalogue.c;
 * each works through store.c (the only SQL) and leaves its events in the
 * outbox through emit.c, deliver.c seals the provider's copy. routes.c
 * serves the internal HTTP API (reads only, each naming the records it
 * returned for the gateway's audit; a status changes only through
 * referral.updates); stale.c reminds providers of referrals nobody has
 * contacted.
 */
#ifndef SIGNPOST_INTAKE_H
#define SIGNPOST_INTAKE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "catalogue.h"
#include "db.h"
#include "db_pool.h"
#include "err.h"
#include "http.h"
#include "kafka.h"
#include "secret.h"
#include "uuid.h"

#define INTAKE_SCHEMA "intake"
#define INTAKE_SOURCE "/signpost/intake"
#define INTAKE_TOPIC_SUBMISSIONS "referral.submissions"
#define INTAKE_TOPIC_UPDATES "referral.updates"
#define INTAKE_TOPIC_EVENTS "referral.events"
#define INTAKE_TOPIC_FACTS "referral.facts"
#define INTAKE_TOPIC_CONSENT_STATE "consent.state"
#define INTAKE_TOPIC_NOTIFY "notification.requests"
#define INTAKE_TOPIC_SERVICES CATALOGUE_TOPIC_SERVICES
#define INTAKE_TOPIC_ORGS CATALOGUE_TOPIC_ORGS
#define INTAKE_KEK_ID "k1"
#define INTAKE_PER_PAGE_MAX 100

/* The keys intake works with, loaded from SIGNPOST_SECRETS_DIR. */
struct intake_keys {
        unsigned char intake_pk[SECRET_BOX_PK_BYTES];
        struct secret_key *intake_sk;
        unsigned char notification_pk[SECRET_BOX_PK_BYTES];
        struct secret_sender *to_notification; /* boxes to notification */
        struct secret_keyring *keyring; /* KEKs wrapping subjects' DEKs */
        struct secret_key *index_key;   /* blind index */
        unsigned char reporting_pk[SECRET_BOX_PK_BYTES]; /* audit seals */
};

/* England and Wales bank holidays as sorted day numbers (days since
 * 1970-01-01). */
struct intake_holidays {
        int n;
        int32_t *days;
};

/* The daemon's shared state: read-only once main() has filled it. */
struct intake {
        struct intake_keys keys;
        struct intake_holidays holidays;
        int remind_days;         /* working days before the provider reminder */
        int escalate_days;       /* working days before the admin escalation */
        const char *admin_email; /* borrowed; "" when none */
        /* borrowed HTTP_PRINCIPAL_KEY_BYTES: verifies the principal the
         * gateway signs into its referral.updates */
        const unsigned char *principal_key;
        struct db_pool pool;
};

/* A catalogue service with its organisation, as the replica holds it. */
struct intake_service {
        char id[UUID_STR_LEN];
        char organisation_id[UUID_STR_LEN]; /* "" when none */
        char name[256];
        char notice_email[256]; /* "" when none */
        char partner_key[96];   /* base64, "" when none */
        char *taxonomy_terms;   /* new JSON array text of term ids */
        bool open;              /* active, accepting, not deleted */
};

/* A referral row. Strings are "" when NULL in the table; the blob and
 * JSON members are new, released by intake_referral_fini(). */
struct intake_referral {
        char id[UUID_STR_LEN];
        char reference[32];
        char service_id[UUID_STR_LEN];
        char organisation_id[UUID_STR_LEN];
        char subject_id[UUID_STR_LEN];
        char kind[16];
        char status[24];
        char received_at[40];
        char contacted_at[40];
        char postcode_district[16];
        bool routed;
        char *flags;    /* JSON array text */
        char *consents; /* JSON object text */
        char *wrapped_dek;
        char *personal_blob;
        char *referrer_blob; /* NULL when none */
        char *special_blob;  /* NULL when none */
};

/* Who asked for a change. */
struct intake_actor {
        char sub[128];
        char role[16]; /* provider, admin, support, partner, person, system */
        char org[128];
};

/* ---- keys.c ---- */
/* intake_keys_load: intake.pk/.sk, notification.pk, kek-k1.key and
 * blind-index.key from dir. Release with intake_keys_fini(). */
int intake_keys_load(struct intake_keys *k, const char *dir, struct err *e);
void intake_keys_fini(struct intake_keys *k);
/* intake_seal_json: compact JSON of j sealed to pk, as base64url: through
 * via (a sender's box, for the platform's own daemons) or, when via is
 * NULL, as a classic sealed box (for partners, whose clients may be any
 * libsodium). Returns new text in *out, free with free(). */
int intake_seal_json(const unsigned char pk[SECRET_BOX_PK_BYTES],
                     struct secret_sender *via, const json_t *j, char **out,
                     struct err *e);
/* intake_unseal_json: opens base64url text sealed to intake. Returns new
 * object, free with json_decref(); NULL with ERR_INVALID. */
json_t *intake_unseal_json(const struct intake_keys *k, const char *text,
                           struct err *e);
/* intake_json_of: returns new object parsed from opened plaintext (no
 * duplicate keys), free with json_decref(); NULL with ERR_INVALID naming
 * field. */
json_t *intake_json_of(const unsigned char *plain, size_t len,
                       const char *field, struct err *e);
/* intake_blob_seal: AEAD of compact JSON of j under dek with ad. Returns
 * new base64url text in *out, free with free(). */
int intake_blob_seal(const struct secret_key *dek, const json_t *j,
                     const char *ad, char **out, struct err *e);
/* intake_blob_open: returns new JSON object from a blob, free with
 * json_decref(); NULL with e filled. */
json_t *intake_blob_open(const struct secret_key *dek, const char *blob,
                         const char *ad, struct err *e);

/* ---- validate.c ---- */
/* intake_validate_submission: the envelope fields of a submission. */
int intake_validate_submission(const json_t *doc, struct err *e);
/* intake_validate_personal: the opened personal payload for kind. */
int intake_validate_personal(const json_t *p, const char *kind, struct err *e);
/* intake_postcode_district: the outward code of a UK postcode into out;
 * false (out "") when it does not look like one. */
bool intake_postcode_district(const char *postcode, char out[16]);
bool intake_status_valid(const char *s);

/* ---- consume.c ---- */
/* intake_consume_apply: an inbox_apply_fn for every topic intake reads;
 * arg is a struct intake *. */
int intake_consume_apply(void *arg, struct db *db,
                         const struct kafka_record *rec, struct err *e);

/* ---- submit.c, submit_batch.c ---- */
/* Where a submission's rows are written, all in the consumer batch's one
 * transaction: its subject by intake_subjects_resolve (submit.c, through
 * intake_store_subjects_resolve) when the batch begins; its referral row
 * and its events are queued on the consumer thread (intake_outq_referral,
 * intake_emit) and written when the batch flushes, by intake_outq_flush
 * (emit.c): one intake_store_referrals_add and one outbox_add_many. */
/* intake_submit_apply: one referral.submissions record: stores the
 * referral and queues its events. A referral id already stored (or
 * queued) has no second effect. */
int intake_submit_apply(struct intake *in, struct db *db,
                        const struct kafka_record *rec, struct err *e);
/* intake_submit_begin: an inbox_begin_fn (arg: struct intake *): opens
 * and looks up the batch's submissions ahead of their apply. */
int intake_submit_begin(void *arg, struct db *db,
                        const struct kafka_record *const *fresh, size_t n,
                        struct err *e);
/* intake_submit_flush: an inbox_flush_fn: intake_outq_flush, and without
 * keep also drops what intake_submit_begin prepared. */
int intake_submit_flush(void *arg, struct db *db, bool keep, struct err *e);
/* intake_submit_end: drops the calling thread's prepared batch. */
void intake_submit_end(void);

/* ---- deliver.c: delivery to partners ---- */
/* intake_route: seals what the provider needs (payload: the opened
 * personal payload) to the organisation's key, queues it on
 * partner.<org>.referrals with the provider's new-referral notice, and
 * marks the referral routed. */
int intake_route(struct intake *in, struct db *db,
                 const struct intake_referral *r, const json_t *payload,
                 const struct intake_service *svc, struct err *e);
/* intake_route_emit: intake_route without marking the referral routed
 * (for a referral inserted with routed_at already set). */
int intake_route_emit(struct intake *in, struct db *db,
                      const struct intake_referral *r, const json_t *payload,
                      const struct intake_service *svc, struct err *e);
/* intake_route_one: routes held referral id if its service is open, it
 * has a partner key and the person has not withdrawn sharing (a missing
 * key flags it partner_key_missing). */
int intake_route_one(struct intake *in, struct db *db, const char *id,
                     struct err *e);
/* intake_route_held: routes every referral of org held for a missing
 * partner key, now that the key is known. */
int intake_route_held(struct intake *in, struct db *db, const char *org_id,
                      struct err *e);
/* intake_referral_open: decrypts r's blobs into one personal payload.
 * Returns new object, free with json_decref(); NULL with e filled. */
json_t *intake_referral_open(struct intake *in, const struct intake_referral *r,
                             struct err *e);
/* intake_audit: the audit.access record (lib/audit.h) of intake's own
 * decryption of referral id, in the caller's transaction: role system,
 * why the purpose (route_to_provider, notify_person), a new request id.
 * A caller's reads through the HTTP API are audited by the gateway, from
 * the ids the answer names (routes.c). */
int intake_audit(struct intake *in, struct db *db, const char *id,
                 const char *why, struct err *e);
/* intake_reason_seal: a status reason (free text about a person) sealed
 * under r's data key, so erasing the person erases it. Returns new text
 * in *out, free with free(). */
int intake_reason_seal(struct intake *in, const struct intake_referral *r,
                       const char *reason, char **out, struct err *e);
/* intake_reason_open: returns new JSON string of a sealed reason. */
json_t *intake_reason_open(struct intake *in, const struct intake_referral *r,
                           const char *blob, struct err *e);

/* ---- facts.c ---- */
/* intake_fact_received / intake_fact_status: the facts reporting gets of
 * a referral received (from its referral.events body) and of a status
 * change, in the caller's transaction. */
int intake_fact_received(struct db *db, const json_t *received, struct err *e);
int intake_fact_status(struct db *db, const char *id, const char *from,
                       const char *to, const char *by_role, bool reason_given,
                       const char *at, struct err *e);

/* ---- emit.c: the consumer thread's write queue, and events ---- */
/* Off the consumer thread (HTTP, the stale timer) nothing is queued: an
 * event is written to the outbox, and a referral row to referrals, when
 * it is emitted. */
/* intake_emit: queues data (takes ownership) as ce_type on topic, keyed
 * by key, in the caller's transaction (or on the thread's queue, see
 * intake_outq_start). */
int intake_emit(struct db *db, const char *topic, const char *key,
                const char *type, json_t *data, struct err *e);
/* intake_outq_start: from now on intake_emit on the calling thread only
 * queues its events (in order); intake_outq_flush writes them. Used by
 * the consumer thread; stop (dropping the queue) with intake_outq_stop. */
void intake_outq_start(void);
void intake_outq_stop(void);
/* intake_outq_flush: an inbox_flush_fn (arg unused): with keep, writes
 * the calling thread's queued referrals (one statement) and events (one
 * outbox_add_many); either way empties the queue. */
int intake_outq_flush(void *arg, struct db *db, bool keep, struct err *e);
/* intake_outq_referral: a new referral's row (takes ownership; the
 * columns intake_store_referrals_add takes), queued like the events, or
 * written at once when the thread has no queue. */
int intake_outq_referral(struct db *db, json_t *row, struct err *e);
/* intake_outq_has_referral: whether a referral with id waits in the
 * calling thread's queue. */
bool intake_outq_has_referral(const char *id);
/* intake_emit_notify: a notification request; content (takes ownership)
 * is sealed to notification. subject_id and purpose may be NULL. */
int intake_emit_notify(struct intake *in, struct db *db, const char *tmpl,
                       const char *audience, const char *subject_id,
                       const char *purpose, const char *referral_id,
                       const char *service_id, json_t *content, struct err *e);
/* intake_contact_of: returns new {"email": …} or {"phone": …} for obj
 * (person or referrer), email first; NULL when it has neither. */
json_t *intake_contact_of(const json_t *obj);
/* intake_initials: "J. S." style initials of name into out. */
void intake_initials(const char *name, char *out, size_t outsz);

/* ---- lifecycle.c ---- */
bool intake_transition_allowed(const char *from, const char *to);
/* intake_public_status: the word a person sees for status (received,
 * with_provider, contacted, closed): the one owner of that mapping; it
 * travels as public_status on status_changed, and the gateway shows it
 * as it comes. NULL for a status intake does not know. */
const char *intake_public_status(const char *status);
/* intake_status_change: moves referral id to status `to` for actor by,
 * inside the caller's transaction: ERR_NOT_FOUND (no such referral, or
 * another organisation's), ERR_CONFLICT (transition not allowed),
 * ERR_INVALID (bad status, missing reason, role may not). */
int intake_status_change(struct intake *in, struct db *db, const char *id,
                         const char *to, const char *reason,
                         const struct intake_actor *by, struct err *e);
/* intake_updates_apply: one referral.updates record. */
int intake_updates_apply(struct intake *in, struct db *db, const char *value,
                         size_t len, struct err *e);

/* ---- updates.c ---- */
/* intake_update_open: authenticates one referral.updates value (see
 * updates.c) and fills by with its sender as the box proves it. Returns
 * new inner object {referral_id, status, reason?, ...}, free with
 * json_decref(); NULL with ERR_INVALID for a forged or malformed one. */
json_t *intake_update_open(struct intake *in, struct db *db, const char *value,
                           size_t len, struct intake_actor *by, struct err *e);

/* ---- consent_state.c ---- */
/* intake_consent_apply: one consent.state record (value NULL = the
 * subject was erased). */
int intake_consent_apply(struct intake *in, struct db *db,
                         const struct kafka_record *rec, struct err *e);
/* intake_consent_blocks: whether r is held because the person withdrew
 * sharing with the provider. */
bool intake_consent_blocks(const struct intake_referral *r);

/* ---- catalogue.c ---- */
/* intake_catalogue_apply: one directory.services or
 * directory.organisations record (value NULL = tombstone). */
int intake_catalogue_apply(struct intake *in, struct db *db,
                           const struct kafka_record *rec, struct err *e);

/* ---- workdays.c ---- */
/* intake_holidays_load: reads "YYYY-MM-DD,name" lines (a header line is
 * skipped). Release with intake_holidays_fini(). */
int intake_holidays_load(struct intake_holidays *h, const char *path,
                         struct err *e);
void intake_holidays_fini(struct intake_holidays *h);
/* intake_day_of: day number of a UTC time. */
int32_t intake_day_of(time_t t);
/* intake_workdays: working days (not Saturday, Sunday or a holiday)
 * after day `from` up to and including day `to`. */
int intake_workdays(const struct intake_holidays *h, int32_t from, int32_t to);

/* ---- stale.c ---- */
/* intake_stale_run: one sweep at time now: reminders and escalations for
 * referrals not yet contacted, each once per threshold. *sent (may be
 * NULL) counts requests queued. */
int intake_stale_run(struct intake *in, struct db *db, time_t now, int *sent,
                     struct err *e);
struct intake_stale;
/* intake_stale_start: returns new timer thread sweeping every interval_ms
 * on its own connection; stop and free with intake_stale_stop(). */
struct intake_stale *intake_stale_start(struct intake *in, const char *conninfo,
                                        int64_t interval_ms, struct err *e);
void intake_stale_stop(struct intake_stale *s);

/* ---- setup.c ---- */
struct cfg;
struct svc_run;
/* svc_run's hooks (lib/svc_run.h; arg: the struct intake):
 * intake_setup_init loads the keys and holidays, reads the reminder
 * settings and the consumer's batch and threads; intake_setup_fini frees
 * what it loaded. The consumer threads' start and end (struct
 * svc_consumer_spec) open and close their write queues; the stale timer
 * is a worker (returns new struct intake_stale *). */
int intake_setup_init(void *arg, struct svc_run *r, struct err *e);
void intake_setup_fini(void *arg);
void intake_setup_thread_start(void *arg, struct db *db);
void intake_setup_thread_end(void *arg);
void *intake_setup_stale_start(void *arg, const struct cfg *cfg, struct err *e);
void intake_setup_stale_stop(void *stale);

/* ---- routes.c ---- */
struct http_route;
/* intake_routes: returns the borrowed static route table; the server's
 * arg is a struct intake *. */
const struct http_route *intake_routes(void);

/* ---- store.c (the only file with SQL) ---- */
/* Writes run inside the caller's transaction. */
/* intake_store_subjects_resolve: items is a JSON array of {i, email,
 * phone, id, wrapped} (either index may be null): for each, the oldest
 * subject with the same email index, or else a new subject (id, wrapped
 * DEK, indexes); a phone alone never finds one. Returns new PGresult, one row
 * per item: i, id, wrapped_dek (NULL when added), found. */
PGresult *intake_store_subjects_resolve(struct db *db, const json_t *items,
                                        struct err *e);
/* intake_store_subjects_lock: takes, until the transaction ends, a lock
 * on each blind index of items (as for intake_store_subjects_resolve), so
 * two consumers never both add a subject for one new person. Run it as a
 * statement of its own before the resolve, whose snapshot must come after
 * the wait. */
int intake_store_subjects_lock(struct db *db, const json_t *items,
                               struct err *e);
/* intake_store_submit_lookup: items is a JSON array of {i, id,
 * service_id}; in one round trip, per item, whether a referral has id and
 * the service as intake_store_service_get() gives it. Returns new
 * PGresult, one row per item (i first); read a row with
 * intake_store_lookup_row(). */
PGresult *intake_store_submit_lookup(struct db *db, const json_t *items,
                                     struct err *e);
void intake_store_lookup_row(const PGresult *r, int row, bool *dup,
                             struct intake_service *svc, bool *known);
/* intake_store_referrals_add: inserts each row of the JSON array rows
 * (status received; the columns of referrals by name, flags an array,
 * and routed to set routed_at) with its first history row. */
int intake_store_referrals_add(struct db *db, const json_t *rows,
                               struct err *e);
/* intake_store_referral_get: fills r (release with
 * intake_referral_fini()); *found false when there is none. With lock,
 * the row is locked FOR UPDATE. */
int intake_store_referral_get(struct db *db, const char *id, bool lock,
                              struct intake_referral *r, bool *found,
                              struct err *e);
void intake_referral_fini(struct intake_referral *r);
/* intake_store_history_add: one history row; reason_blob (may be NULL)
 * is the reason sealed by intake_reason_seal(). */
int intake_store_history_add(struct db *db, const char *referral_id,
                             const char *from, const char *to,
                             const char *reason_blob,
                             const struct intake_actor *by, struct err *e);
/* intake_store_status_set: status, contacted_at (once), closed_at. */
int intake_store_status_set(struct db *db, const char *id, const char *to,
                            bool contacted, bool closed, struct err *e);
/* intake_store_routed: sets routed_at and drops flag (may be NULL). */
int intake_store_routed(struct db *db, const char *id, const char *flag,
                        struct err *e);
/* intake_store_flag_set: adds (on) or removes a flag of referral id. */
int intake_store_flag_set(struct db *db, const char *id, const char *flag,
                          bool on, struct err *e);
/* intake_store_consent_put: the replica of a subject's consent.state,
 * kept (*applied) only when seq (text) is newer; *changed when sharing or
 * the opt-out now differ from what was known. */
int intake_store_consent_put(struct db *db, const char *subject, bool withdrawn,
                             bool opted_out, const char *seq,
                             const char *updated_at, bool *applied,
                             bool *changed, struct err *e);
/* intake_store_consent_drop: forgets a subject's state (a tombstone). */
int intake_store_consent_drop(struct db *db, const char *subject,
                              struct err *e);
/* intake_store_consent_get: whether the subject withdrew sharing with
 * the provider, and opted out of all contact (false when unknown). */
int intake_store_consent_get(struct db *db, const char *subject,
                             bool *withdrawn, bool *opted_out, struct err *e);
/* One of a subject's referrals (intake_store_subject_referrals). */
struct intake_subject_referral {
        char id[UUID_STR_LEN];
        char organisation_id[UUID_STR_LEN]; /* "" when none */
        bool routed;                        /* routed_at set */
};
/* intake_store_subject_referrals: *rows is a new (free()) array of the
 * subject's *n referrals, oldest first. */
int intake_store_subject_referrals(struct db *db, const char *subject,
                                   struct intake_subject_referral **rows,
                                   size_t *n, struct err *e);
/* intake_store_held: *ids is a new (free()) array of the ids of org's *n
 * referrals held for a missing partner key, oldest first, locked (FOR
 * UPDATE) in the caller's transaction. */
int intake_store_held(struct db *db, const char *org_id,
                      char (**ids)[UUID_STR_LEN], size_t *n, struct err *e);
/* intake_store_service_get: the replica's service with its organisation;
 * *found false when unknown. Release svc->taxonomy_terms with free(). */
int intake_store_service_get(struct db *db, const char *id,
                             struct intake_service *svc, bool *found,
                             struct err *e);
/* intake_store_service_put: upsert from a directory snapshot (text
 * fields may be NULL); deleted marks a tombstone. */
int intake_store_service_put(struct db *db, const char *id, const char *org_id,
                             const char *name, const char *status, bool accepts,
                             const char *notice_email, const char *terms,
                             bool deleted, struct err *e);
/* intake_store_org_put: upsert; key NULL keeps no key. *key_added is set
 * when the organisation had no usable key before and has one now. */
int intake_store_org_put(struct db *db, const char *id, const char *name,
                         const char *key, bool deleted, bool *key_added,
                         struct err *e);
/* intake_store_org_key: the partner public key of a live organisation
 * into key; *found false when it has none. */
int intake_store_org_key(struct db *db, const char *id, char *key, size_t keysz,
                         bool *found, struct err *e);
/* intake_store_list: one page of referrals; returns new PGresult with a
 * total column, free with PQclear(). f: org, status, service, from, to
 * (each NULL = any), per_page, offset as text. */
PGresult *intake_store_list(struct db *db, const char *const f[7],
                            struct err *e);
/* intake_store_history: returns new PGresult of a referral's history. */
PGresult *intake_store_history(struct db *db, const char *id, struct err *e);
/* An open referral nobody has contacted yet (intake_store_stale). */
struct intake_stale_row {
        char id[UUID_STR_LEN];
        char reference[32];
        char service_id[UUID_STR_LEN];
        char organisation_id[UUID_STR_LEN]; /* "" when none */
        time_t received;
        bool reminded, escalated; /* reminded_at, escalated_at set */
};
/* intake_store_stale: *rows is a new (free()) array of the *n (at most
 * limit) open, uncontacted referrals received at or before cutoff (epoch
 * seconds) missing a reminder or an escalation, oldest first. */
int intake_store_stale(struct db *db, long long cutoff, int limit,
                       struct intake_stale_row **rows, size_t *n,
                       struct err *e);
/* intake_store_stale_mark: sets reminded_at (escalation false) or
 * escalated_at once; *marked false when another sweep got there first. */
int intake_store_stale_mark(struct db *db, const char *id, bool escalation,
                            bool *marked, struct err *e);

#endif
