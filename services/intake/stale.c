/*
 * stale: referrals nobody has contacted yet. A sweep (timer thread, or a
 * direct call in tests) asks for a reminder to the provider once a
 * referral has waited remind_days working days without contact, and an
 * escalation to admins after escalate_days; each is sent once per
 * threshold (reminded_at / escalated_at), never daily. Does not own SQL.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "intake.h"
#include "log.h"
#include "svc.h"

#define SWEEP_LIMIT 500

struct intake_stale {
        struct intake *in;
        char *conninfo;
        int64_t interval_ms;
        pthread_t thread;
        atomic_bool stop;
};

static int
request(struct intake *in, struct db *db, const struct intake_stale_row *w,
        bool escalation, int days, struct err *e)
{
        struct intake_service svc;
        bool known = false;
        json_t *c;
        int rc;

        if (intake_store_service_get(db, w->service_id, &svc, &known, e) < 0)
                return -1;
        free(svc.taxonomy_terms);
        c = json_pack("{s{ss ss ss si}}", "values", "reference", w->reference,
                      "service_name", known ? svc.name : "", "organisation_id",
                      w->organisation_id, "working_days", days);
        if (escalation) {
                if (in->admin_email != NULL && in->admin_email[0] != '\0')
                        json_object_set_new(c, "email",
                                            json_string(in->admin_email));
                rc = intake_emit_notify(in, db, "referral_escalation_admin",
                                        "admin", NULL, NULL, w->id,
                                        w->service_id, c, e);
        } else if (known && svc.notice_email[0] != '\0') {
                json_object_set_new(c, "email", json_string(svc.notice_email));
                rc = intake_emit_notify(in, db, "referral_reminder_provider",
                                        "provider", NULL, NULL, w->id,
                                        w->service_id, c, e);
        } else {
                json_decref(c);
                rc = 0; /* nowhere to send it; the admin escalation follows */
        }
        if (rc == 0)
                log_info(escalation ? "stale referral escalated"
                                    : "stale referral reminder",
                         "referral_id=%s working_days=%d", w->id, days);
        return rc;
}

/* one: a referral's due requests in one transaction. */
static int
one(struct intake *in, struct db *db, const struct intake_stale_row *w,
    time_t now, int *sent, struct err *e)
{
        int days = intake_workdays(&in->holidays, intake_day_of(w->received),
                                   intake_day_of(now));
        bool marked = false;
        int stage;

        if (db_begin(db, e) < 0)
                return -1;
        for (stage = 0; stage < 2; stage++) {
                bool esc = stage == 1;
                if ((esc ? w->escalated : w->reminded) ||
                    days < (esc ? in->escalate_days : in->remind_days))
                        continue;
                if (intake_store_stale_mark(db, w->id, esc, &marked, e) < 0)
                        goto fail;
                if (!marked)
                        continue;
                if (request(in, db, w, esc, days, e) < 0)
                        goto fail;
                (*sent)++;
        }
        return db_commit(db, e);
fail:
        db_rollback(db);
        return -1;
}

int
intake_stale_run(struct intake *in, struct db *db, time_t now, int *sent,
                 struct err *e)
{
        long long cutoff = (long long)now - (long long)in->remind_days * 86400;
        struct intake_stale_row *rows;
        size_t i, n;
        int done = 0, rc = 0;

        if (intake_store_stale(db, cutoff, SWEEP_LIMIT, &rows, &n, e) < 0)
                return -1;
        for (i = 0; i < n && rc == 0; i++)
                rc = one(in, db, &rows[i], now, &done, e);
        free(rows);
        if (sent != NULL)
                *sent = done;
        return rc;
}

static void *
sweep(void *arg)
{
        struct intake_stale *s = arg;
        struct db *db = db_open(s->conninfo);
        int64_t waited = s->interval_ms; /* first sweep soon after start */

        while (db != NULL && !atomic_load(&s->stop) && !svc_stopping()) {
                struct err e = {0};
                int sent = 0;
                if (waited < s->interval_ms) {
                        usleep(100 * 1000);
                        waited += 100;
                        continue;
                }
                waited = 0;
                if (intake_stale_run(s->in, db, time(NULL), &sent, &e) < 0)
                        log_err(LOG_WARN, "stale sweep failed", &e, NULL);
                else if (sent > 0)
                        log_info("stale sweep", "requests=%d", sent);
        }
        db_free(db);
        return NULL;
}

struct intake_stale *
intake_stale_start(struct intake *in, const char *conninfo, int64_t interval_ms,
                   struct err *e)
{
        struct intake_stale *s = calloc(1, sizeof(*s));

        if (s == NULL || (s->conninfo = strdup(conninfo)) == NULL) {
                free(s);
                err_set(e, ERR_FATAL, NULL, "out of memory");
                return NULL;
        }
        s->in = in;
        s->interval_ms = interval_ms > 0 ? interval_ms : 60000;
        atomic_init(&s->stop, false);
        if (pthread_create(&s->thread, NULL, sweep, s) != 0) {
                free(s->conninfo);
                free(s);
                err_set(e, ERR_FATAL, NULL, "cannot start the stale thread");
                return NULL;
        }
        return s;
}

void
intake_stale_stop(struct intake_stale *s)
{
        if (s == NULL)
                return;
        atomic_store(&s->stop, true);
        pthread_join(s->thread, NULL);
        free(s->conninfo);
        free(s);
}
