/*
 * submit_batch: the consumer's begin hook (inbox_begin_fn). Before a
 * batch's records are applied one after another, it opens every new
 * submission and looks up all their referral ids and services with one
 * statement and all their subjects with another, so that applying each
 * record (submit.c) costs no round trip of its own. What it cannot judge
 * (a payload that does not open, a duplicate, an unknown service) it
 * leaves to the record's own apply, which reports it as before.
 * Submissions after a catalogue record in the batch are left alone too:
 * they must see the catalogue as that record leaves it.
 */
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "submit.h"

struct pre {
        const struct kafka_record *rec;
        struct sub s;
        bool ready;
};

static _Thread_local struct {
        struct pre *v;
        size_t n;
} pre;

static void
pre_drop(void)
{
        for (size_t i = 0; i < pre.n; i++)
                intake_sub_fini(&pre.v[i].s);
        free(pre.v);
        pre.v = NULL;
        pre.n = 0;
}

bool
intake_submit_prefetched(const struct kafka_record *rec, struct sub *s)
{
        for (size_t i = 0; i < pre.n; i++) {
                if (pre.v[i].rec != rec || !pre.v[i].ready)
                        continue;
                *s = pre.v[i].s;
                memset(&pre.v[i].s, 0, sizeof(pre.v[i].s));
                pre.v[i].ready = false;
                return true;
        }
        return false;
}

/* unready: leaves pre.v[i] to its record's own apply. */
static void
unready(size_t i)
{
        intake_sub_fini(&pre.v[i].s);
        pre.v[i].ready = false;
}

/* open_all: the submissions among fresh, parsed and opened. */
static void
open_all(struct intake *in, const struct kafka_record *const *fresh, size_t n)
{
        for (size_t i = 0; i < n; i++) {
                const struct kafka_record *r = fresh[i];
                struct err ignored = {0};
                struct pre *p;

                if (strcmp(r->topic, INTAKE_TOPIC_SUBMISSIONS) != 0) {
                        if (strcmp(r->topic, INTAKE_TOPIC_UPDATES) != 0)
                                return; /* catalogue: stop here */
                        continue;
                }
                if (strcmp(r->ev.type, "signpost.referral.submitted.v1") != 0)
                        continue;
                p = &pre.v[pre.n++];
                p->rec = r;
                p->ready = intake_sub_parse(&p->s, r->value, r->value_len,
                                            &ignored) == 0 &&
                           intake_sub_open(in, &p->s, &ignored) == 0;
                if (!p->ready)
                        intake_sub_fini(&p->s);
        }
}

/* look_up_all: drops the duplicates and unknown services. */
static int
look_up_all(struct db *db, struct err *e)
{
        json_t *items = json_array();
        PGresult *r;
        int rc = 0;

        for (size_t i = 0; i < pre.n; i++)
                if (pre.v[i].ready)
                        json_array_append_new(
                            items, json_pack("{sI ss ss}", "i", (json_int_t)i,
                                             "id", pre.v[i].s.id, "service_id",
                                             pre.v[i].s.service_id));
        if (json_array_size(items) == 0) {
                json_decref(items);
                return 0;
        }
        r = intake_store_submit_lookup(db, items, e);
        json_decref(items);
        if (r == NULL)
                return -1;
        for (int row = 0; row < PQntuples(r); row++) {
                size_t i = (size_t)atol(PQgetvalue(r, row, 0));
                bool dup;

                if (i >= pre.n || !pre.v[i].ready) {
                        rc = err_set(e, ERR_FATAL, NULL, "bad lookup row");
                        break;
                }
                intake_store_lookup_row(r, row, &dup, &pre.v[i].s.svc,
                                        &pre.v[i].s.svc_known);
                if (dup || !pre.v[i].s.svc_known)
                        unready(i);
        }
        PQclear(r);
        return rc;
}

static int
resolve_all(struct intake *in, struct db *db, struct err *e)
{
        struct sub **subs = calloc(pre.n + 1, sizeof(*subs));
        size_t k = 0;
        int rc;

        if (subs == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        for (size_t i = 0; i < pre.n; i++)
                if (pre.v[i].ready)
                        subs[k++] = &pre.v[i].s;
        rc = k > 0 ? intake_subjects_resolve(in, db, subs, k, e) : 0;
        free(subs);
        return rc;
}

int
intake_submit_begin(void *arg, struct db *db,
                    const struct kafka_record *const *fresh, size_t n,
                    struct err *e)
{
        pre_drop();
        pre.v = calloc(n, sizeof(*pre.v));
        if (pre.v == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        open_all(arg, fresh, n);
        if (look_up_all(db, e) < 0 || resolve_all(arg, db, e) < 0) {
                pre_drop();
                return -1;
        }
        return 0;
}

int
intake_submit_flush(void *arg, struct db *db, bool keep, struct err *e)
{
        if (!keep)
                pre_drop();
        return intake_outq_flush(arg, db, keep, e);
}

void
intake_submit_end(void)
{
        pre_drop();
}
