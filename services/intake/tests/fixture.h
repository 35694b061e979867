/*
 * fixture: the shared set-up and helpers of intake's database tests
 * (test_catalogue.c, test_submit.c, test_subjects.c, test_privileges.c,
 * test_lifecycle.c, test_stale.c, test_updates.c, test_consent.c). See
 * fixture.c.
 */
#ifndef SIGNPOST_INTAKE_TEST_FIXTURE_H
#define SIGNPOST_INTAKE_TEST_FIXTURE_H

#include <jansson.h>

#include "../intake.h"

/* the test database (search_path intake), the daemon's state, the keys
 * of the partner organisation and of notification, the organisation and
 * service fixture_setup put in intake's replica, the superuser conninfo */
extern struct db *db;
extern struct intake in;
extern unsigned char partner_pk[SECRET_BOX_PK_BYTES];
extern struct secret_key *partner_sk;
extern unsigned char notify_pk[SECRET_BOX_PK_BYTES];
extern struct secret_key *notify_sk;
extern char org_id[UUID_STR_LEN], svc_id[UUID_STR_LEN];
extern char partner_b64[96];
extern unsigned char principal_key[HTTP_PRINCIPAL_KEY_BYTES];
extern char admin_ci[512];

/* apply: one record of topic, as the consumer applies it, in its own
 * transaction; the error kind (ERR_NONE when applied). */
enum err_kind apply(const char *topic, const char *type, const char *key,
                    const char *value);

/* service: a directory.services snapshot for a service of org. */
void service(const char *sid, const char *oid, const char *key,
             const char *status, bool accepts);

/* personal: a person's submitted payload, its values marked with tag. */
json_t *personal(const char *tag);

/* submit_as: seals p (takes ownership) to seal_to and applies a submission
 * of kind; writes the referral id into id. */
enum err_kind submit_as(json_t *p, const char *kind, const char *sid,
                        char id[UUID_STR_LEN], const unsigned char *seal_to);

/* submit: submit_as for a self referral sealed to intake. */
enum err_kind submit(json_t *p, const char *sid, char id[UUID_STR_LEN]);

/* count: the number one query with at most one argument returns. */
long count(const char *sql, const char *arg);

/* outbox: rows waiting for topic (a LIKE pattern) under key. */
long outbox(const char *topic, const char *key);

/* outbox_json: returns new JSON value of the newest row for topic whose
 * value mentions needle. */
json_t *outbox_json(const char *topic, const char *needle);

/* open_sealed: a message's "sealed" member opened with pk/sk (new). */
json_t *open_sealed(const json_t *msg, const unsigned char *pk,
                    const struct secret_key *sk);

/* change: a status change of referral id by role (of org). */
enum err_kind change(const char *id, const char *to, const char *reason,
                     const char *role, const char *org);

/* fixture_setup: a fresh database dbname, schema intake migrated, keys,
 * bank holidays, and the service svc_id of organisation org_id (partner
 * key partner_b64) in the replica; 0 or -1. */
int fixture_setup(const char *dbname);
int fixture_teardown(void **state);

#endif
