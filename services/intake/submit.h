/*
 * submit.h: what submit.c and submit_batch.c share (intake-private): one
 * submission while it is being stored, and its steps.
 */
#ifndef SIGNPOST_INTAKE_SUBMIT_H
#define SIGNPOST_INTAKE_SUBMIT_H

#include "intake.h"

struct sub {
        json_t *doc;     /* the envelope (new) */
        json_t *payload; /* the opened personal payload (new) */
        const char *id, *kind, *service_id;
        struct intake_service svc;
        bool svc_known;
        bool dup;      /* the referral is stored, or queued, already */
        json_t *terms; /* svc's taxonomy term ids (new) */
        char subject_id[UUID_STR_LEN];
        char *wrapped; /* the subject's wrapped data key (new) */
        struct secret_key *dek;
        char email_idx[SECRET_HEX_LEN], phone_idx[SECRET_HEX_LEN];
        char ref_email_idx[SECRET_HEX_LEN], ref_phone_idx[SECRET_HEX_LEN];
        char received_at[40];
        char district[16];
        const char *flag; /* why it is held (static), NULL: routed */
};

/* intake_sub_parse: the envelope, validated; sets id, kind, service_id. */
int intake_sub_parse(struct sub *s, const char *value, size_t len,
                     struct err *e);
/* intake_sub_open: opens and validates the personal payload; sets the
 * postcode district and the blind indexes. No SQL. */
int intake_sub_open(struct intake *in, struct sub *s, struct err *e);
/* intake_subs_look_up: for each sub, whether its referral is stored or
 * queued already (dup) and its service (svc, svc_known, terms). One
 * statement. */
int intake_subs_look_up(struct db *db, struct sub *const *subs, size_t n,
                        struct err *e);
/* intake_subjects_resolve: each sub's subject found through its email or
 * phone index, or made new (subs of one call sharing an index share one
 * subject); fills subject_id and wrapped. One statement. */
int intake_subjects_resolve(struct intake *in, struct db *db,
                            struct sub *const *subs, size_t n, struct err *e);
void intake_sub_fini(struct sub *s);

/* intake_submit_prefetched: moves the calling thread's prefetched sub for
 * rec (opened, looked up, not a duplicate, service known, subject
 * resolved) into s; false when there is none. */
bool intake_submit_prefetched(const struct kafka_record *rec, struct sub *s);

#endif
