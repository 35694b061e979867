/*
 * consent: the consent ledger daemon. Owns schema `consent`: an
 * append-only, hash-chained ledger of consent events per subject (a
 * pseudonymous person id), the current state per subject computed from it,
 * and the privacy-notice versions consents were given under. Publishes the
 * full state of a subject on consent.state (key = subject id) through the
 * outbox whenever it changes.
 *
 * Data flow: consume.c (referral.events, consent.commands) and routes.c
 * (HTTP) -> record.c (append, recompute, publish) -> store.c (SQL) and
 * ledger.c (hashes, state; no I/O).
 */
#ifndef SIGNPOST_CONSENT_H
#define SIGNPOST_CONSENT_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>

#include "db.h"
#include "db_pool.h"
#include "err.h"
#include "kafka.h"
#include "secret.h"
#include "uuid.h"

#define CONSENT_SCHEMA "consent"
#define CONSENT_TOPIC_COMMANDS "consent.commands"
#define CONSENT_TOPIC_STATE "consent.state"
#define CONSENT_TOPIC_REFERRALS "referral.events"
#define CONSENT_SOURCE "/signpost/consent"
#define CONSENT_TYPE_STATE "signpost.consent.state.v1"
#define CONSENT_TYPE_GRANTED "signpost.consent.granted.v1"
#define CONSENT_TYPE_WITHDRAWN "signpost.consent.withdrawn.v1"
#define CONSENT_TYPE_NOTICE "signpost.privacy_notice.published.v1"
#define CONSENT_TYPE_RECEIVED "signpost.referral.received.v1"
#define CONSENT_GENESIS                                                        \
        "0000000000000000000000000000000000000000000000000000000000000000"
#define CONSENT_HASH_DOMAIN "signpost:consent-ledger:v1:"
#define CONSENT_OPT_OUT "all_contact"

/* One ledger row. Text fields are "" when absent. */
struct consent_entry {
        char id[UUID_STR_LEN];
        char subject_id[UUID_STR_LEN];
        char blind_index[SECRET_HEX_LEN];
        char purpose[40];
        char action[16];        /* granted | withdrawn */
        char expressed_via[16]; /* web_form | api | partner | admin */
        char notice_version[65];
        char recorded_by[160];
        char at[40]; /* UTC, YYYY-MM-DDTHH:MM:SS.ffffffZ once stored */
        int n;       /* position in the subject's chain, from 1 */
        char prev_hash[SECRET_HEX_LEN];
        char hash[SECRET_HEX_LEN];
};

/* What the HTTP routes and the consumer share (borrowed pointers). */
struct consent_ctx {
        struct db_pool *pool;
        const struct secret_key *chain_key; /* keys the ledger hashes */
};

/* ---- ledger.c (pure: no I/O) ---- */
/* consent_purpose_valid: one of the five purposes or "all_contact". */
bool consent_purpose_valid(const char *purpose);
bool consent_via_valid(const char *via);
/* consent_ledger_hash: hash of entry (all fields but hash) chained on
 * entry->prev_hash, hex into out. */
int consent_ledger_hash(const struct secret_key *key,
                        const struct consent_entry *entry,
                        char out[SECRET_HEX_LEN], struct err *e);
/* consent_ledger_verify: checks that rows[0..n) (one subject, in chain
 * order) link from CONSENT_GENESIS and that every hash matches. Returns
 * true, or false with *bad set to the index of the first broken row. */
bool consent_ledger_verify(const struct secret_key *key,
                           const struct consent_entry *rows, int n, int *bad);
/* consent_state_compute: the state rows[0..n) lead to: the last action
 * per purpose; opted_out when the last all_contact action is withdrawn.
 * Returns new object {"purposes": {...}, "opted_out": bool}, free with
 * json_decref(). */
json_t *consent_state_compute(const struct consent_entry *rows, int n);
/* consent_entry_json: returns new object describing one ledger row (the
 * history as the admin sees it). */
json_t *consent_entry_json(const struct consent_entry *entry);

/* ---- store.c (the only file with SQL) ---- */
/* consent_store_append: appends entry (id, subject_id, purpose, action,
 * expressed_via, recorded_by required; at "" = now) to the subject's
 * chain inside the caller's transaction, registering an unknown notice
 * version as first seen. Fills entry->n, at (normalised), prev_hash and
 * hash. A duplicate id -> ERR_CONFLICT. */
int consent_store_append(struct db *db, const struct secret_key *key,
                         struct consent_entry *entry, struct err *e);
/* consent_store_history: the subject's rows in chain order. Returns new
 * array in *out (free with free()), count in *n (0: unknown subject). */
int consent_store_history(struct db *db, const char *subject_id,
                          struct consent_entry **out, int *n, struct err *e);
/* consent_store_state_put: upserts the state row; seq = chain length. */
int consent_store_state_put(struct db *db, const char *subject_id,
                            const json_t *state, int seq, char updated_at[40],
                            struct err *e);
/* consent_store_state_get: returns new object (subject_id, purposes,
 * opted_out, seq, updated_at) or NULL with ERR_NOT_FOUND. */
json_t *consent_store_state_get(struct db *db, const char *subject_id,
                                struct err *e);
/* consent_store_erase: deletes the subject's ledger rows and state (the
 * one path the append-only trigger lets through). *rows = rows erased. */
int consent_store_erase(struct db *db, const char *subject_id, long *rows,
                        struct err *e);
/* consent_store_notice_put: records a published notice version (an
 * earlier "first seen" row gains its published_at, url and summary). */
int consent_store_notice_put(struct db *db, const char *version,
                             const char *published_at, const char *url,
                             const char *summary, struct err *e);
/* consent_store_notices: returns new array of notice versions, newest
 * first, or NULL. */
json_t *consent_store_notices(struct db *db, struct err *e);

/* ---- record.c ---- */
/* consent_record: appends entry, recomputes the subject's state, stores
 * it and queues it on consent.state, all inside the caller's transaction.
 * *state_out (if not NULL) gets the new published state (new object). */
int consent_record(struct db *db, const struct secret_key *key,
                   struct consent_entry *entry, json_t **state_out,
                   struct err *e);
/* consent_touch: makes sure a subject without rows has a (seq 0) state,
 * published once, so consumers know the subject and need not wait. */
int consent_touch(struct db *db, const char *subject_id, struct err *e);
/* consent_erase: erases the subject and publishes a tombstone. */
int consent_erase(struct db *db, const char *subject_id, struct err *e);
/* consent_receipt: returns new receipt object for a recorded entry. */
json_t *consent_receipt(const struct consent_entry *entry, const json_t *state);
/* consent_entry_from_json: fills entry from a command / request body
 * {subject_id, purpose, action?, expressed_via, privacy_notice_version,
 * recorded_by, at, blind_index}; action_type (may be NULL) overrides
 * action. id is left "" for the caller. */
int consent_entry_from_json(const json_t *obj, const char *action,
                            struct consent_entry *entry, struct err *e);

/* ---- consume.c ---- */
/* consent_commands_apply: an inbox_apply_fn for referral.events and
 * consent.commands; arg is a struct consent_ctx *. */
int consent_commands_apply(void *arg, struct db *db,
                           const struct kafka_record *rec, struct err *e);

/* ---- setup.c ---- */
struct svc_run;
/* consent_setup_init, consent_setup_fini: svc_run's init and fini hooks
 * (arg: the struct consent_ctx): load the chain key
 * (SIGNPOST_CONSENT_LEDGER_KEY_FILE) into ctx->chain_key, and free it. */
int consent_setup_init(void *arg, struct svc_run *r, struct err *e);
void consent_setup_fini(void *arg);

/* ---- routes.c ---- */
struct http_route;
/* consent_routes: returns the borrowed static route table; the server's
 * arg is a struct consent_ctx *. */
const struct http_route *consent_routes(void);

#endif
