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

/* ready_subs: the subs still prepared, into subs (room for pre.n). */
static size_t
ready_subs(struct sub **subs)
{
        size_t k = 0;

        for (size_t i = 0; i < pre.n; i++)
                if (pre.v[i].ready)
                        subs[k++] = &pre.v[i].s;
        return k;
}

/* look_up_and_resolve: the referral ids and services of the opened
 * submissions (dropping duplicates and unknown services), then the
 * subjects of the rest. */
static int
look_up_and_resolve(struct intake *in, struct db *db, struct err *e)
{
        struct sub **subs = calloc(pre.n + 1, sizeof(*subs));
        size_t k;
        int rc = -1;

        if (subs == NULL)
                return err_set(e, ERR_FATAL, NULL, "out of memory");
        k = ready_subs(subs);
        if (k > 0 && intake_subs_look_up(db, subs, k, e) < 0)
                goto out;
        for (size_t i = 0; i < pre.n; i++)
                if (pre.v[i].ready && (pre.v[i].s.dup || !pre.v[i].s.svc_known))
                        unready(i);
        k = ready_subs(subs);
        rc = k > 0 ? intake_subjects_resolve(in, db, subs, k, e) : 0;
out:
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
        if (look_up_and_resolve(arg, db, e) < 0) {
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
