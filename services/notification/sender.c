/*
 * sender: the delivery loop. Each round leases a batch of due pending
 * messages, decides each against the consent replica (policy.c), opens
 * the sealed request, renders the template, hands the message to the
 * channel, then records every outcome (and its event) in one transaction.
 *
 * At most once per message_id: an idempotent channel (the spool) may be
 * asked again after a crash and answers "already delivered"; any other
 * channel marks the message 'sending' through the commit callback just
 * before the point of no return, and a message found 'sending' at start
 * is reconciled with the channel (delivered, not delivered, or unknown,
 * which counts as delivered). Leases of a crashed instance are released
 * when it starts again (same SIGNPOST_NOTIFY_INSTANCE) or expire.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "log.h"
#include "metrics.h"
#include "notification.h"

static double
jitter(void)
{
        uint32_t r = 0;

        if (getrandom(&r, sizeof(r), 0) != sizeof(r))
                r = (uint32_t)rand();
        return (double)r / 4294967296.0;
}

static const struct notify_template *
find_template(const struct notify_template *t, int n, const char *kind,
              const char *channel)
{
        int i;

        for (i = 0; i < n; i++)
                if (strcmp(t[i].kind, kind) == 0 &&
                    strcmp(t[i].channel, channel) == 0)
                        return &t[i];
        return NULL;
}

static void
set(struct notify_result *r, enum notify_outcome o, int64_t delay,
    const char *reason)
{
        r->outcome = o;
        r->delay_ms = delay;
        snprintf(r->reason, sizeof(r->reason), "%s", reason ? reason : "");
}

static int
commit_sending(void *arg, const char *message_id, struct err *e)
{
        return notify_store_mark_sending(arg, message_id, e);
}

/* transmit: renders and sends an opened request through the channel. */
static void
transmit(struct notify_ctx *ctx, struct db *db, const struct notify_claim *c,
         const struct notify_template *t, json_t *opened, const char *channel,
         struct notify_result *r)
{
        json_t *values = json_object_get(opened, "values");
        struct notify_rendered body = {0};
        struct err e = {0};
        struct notify_msg m = {.message_id = c->message_id,
                               .kind = c->template,
                               .channel = channel,
                               .from = ctx->from,
                               .body = &body};

        if (!json_is_object(values))
                json_object_set_new(opened, "values", values = json_object());
        if (c->service_name[0] && !json_object_get(values, "service_name"))
                json_object_set_new(values, "service_name",
                                    json_string(c->service_name));
        if (c->organisation_name[0] &&
            !json_object_get(values, "organisation_name"))
                json_object_set_new(values, "organisation_name",
                                    json_string(c->organisation_name));
        if (notify_render(t, values, &body, &e) < 0) {
                set(r, NOTIFY_OUT_FAILED, 0, e.msg);
                return;
        }
        m.to = json_string_value(json_object_get(
            opened, strcmp(channel, "sms") == 0 ? "phone" : "email"));
        if (ctx->channel->send(ctx->channel, &m,
                               ctx->channel->idempotent ? NULL : commit_sending,
                               db, &e) == 0)
                set(r, NOTIFY_OUT_SENT, 0, NULL);
        else if (e.kind == ERR_TRANSIENT && c->attempts + 1 < ctx->max_attempts)
                set(r, NOTIFY_OUT_RETRY,
                    notify_backoff_ms(c->attempts + 1, ctx->backoff_base_ms,
                                      ctx->backoff_cap_ms, jitter()),
                    e.msg);
        else
                set(r, NOTIFY_OUT_FAILED, 0, e.msg);
        notify_rendered_fini(&body);
}

static void
deliver(struct notify_ctx *ctx, struct db *db, const struct notify_claim *c,
        const struct notify_template *tpls, int ntpl, struct notify_result *r)
{
        struct notify_view v = {.template = c->template,
                                .audience = c->audience,
                                .purpose = c->purpose[0] ? c->purpose : NULL,
                                .has_subject = c->has_subject,
                                .state_known = c->state_known,
                                .opted_out = c->opted_out,
                                .standing = c->standing[0] ? c->standing : NULL,
                                .waited_ms = c->age_ms,
                                .wait_limit_ms = ctx->consent_wait_ms};
        const struct notify_template *t;
        const char *reason = NULL, *channel = NULL;
        struct err e = {0};
        json_t *opened;

        switch (notify_policy_decide(&v, &reason)) {
        case NOTIFY_WAIT:
                set(r, NOTIFY_OUT_WAIT, ctx->consent_recheck_ms,
                    "waiting for consent state");
                return;
        case NOTIFY_SUPPRESS:
                set(r, NOTIFY_OUT_SUPPRESSED, 0, reason);
                return;
        case NOTIFY_FAIL:
                set(r, NOTIFY_OUT_FAILED, 0, reason);
                return;
        case NOTIFY_SEND:
                break;
        }
        opened = notify_open(ctx, c->sealed, &channel, NULL, &e);
        if (opened == NULL) {
                set(r, NOTIFY_OUT_FAILED, 0, e.msg);
                return;
        }
        t = find_template(tpls, ntpl, c->template, channel);
        if (t == NULL)
                set(r, NOTIFY_OUT_FAILED, 0, "unknown template");
        else
                transmit(ctx, db, c, t, opened, channel, r);
        json_decref(opened);
}

static void
count(struct notify_ctx *ctx, const struct notify_result *r)
{
        static const char *const names[] = {[NOTIFY_OUT_SENT] = "sent",
                                            [NOTIFY_OUT_SUPPRESSED] =
                                                "suppressed",
                                            [NOTIFY_OUT_FAILED] = "failed",
                                            [NOTIFY_OUT_RETRY] = "retried",
                                            [NOTIFY_OUT_WAIT] = "waiting"};

        metrics_counter_inc(
            metrics_counter_register("signpost_notification_outcomes_total",
                                     "Delivery outcomes by kind.", "outcome",
                                     names[r->outcome], METRICS_END));
        if (r->outcome == NOTIFY_OUT_SENT)
                atomic_fetch_add(&ctx->sent, 1);
        else if (r->outcome == NOTIFY_OUT_SUPPRESSED)
                atomic_fetch_add(&ctx->suppressed, 1);
        else if (r->outcome == NOTIFY_OUT_FAILED)
                atomic_fetch_add(&ctx->failed, 1);
        else if (r->outcome == NOTIFY_OUT_RETRY)
                atomic_fetch_add(&ctx->retried, 1);
}

static int
record_in_tx(struct notify_ctx *ctx, struct db *db, struct notify_claim *c,
             struct notify_result *r, int n, struct err *e)
{
        int *sent = calloc((size_t)n + 1, sizeof(*sent));
        int i, nsent = 0, rc = -1;

        if (sent == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        for (i = 0; i < n; i++) {
                if (r[i].outcome == NOTIFY_OUT_SENT && r[i].reason[0] == '\0')
                        sent[nsent++] = i;
                else if (notify_store_record(db, &c[i], &r[i],
                                             ctx->channel->name, e) < 0)
                        goto out;
        }
        if (nsent > 0 && notify_store_record_sent(db, c, sent, nsent,
                                                  ctx->channel->name, e) < 0)
                goto out;
        rc = 0;
out:
        free(sent);
        return rc;
}

static int
record_all(struct notify_ctx *ctx, struct db *db, struct notify_claim *c,
           struct notify_result *r, int n, struct err *e)
{
        int i;

        if (ctx->channel->flush(ctx->channel, e) < 0 || db_begin(db, e) < 0)
                return -1;
        if (record_in_tx(ctx, db, c, r, n, e) < 0) {
                db_rollback(db);
                return -1;
        }
        if (db_commit(db, e) < 0)
                return -1;
        for (i = 0; i < n; i++) {
                count(ctx, &r[i]);
                if (r[i].outcome == NOTIFY_OUT_FAILED)
                        log_why(LOG_WARN, "message failed", r[i].reason,
                                "message_id=%s template=%s", c[i].message_id,
                                c[i].template);
        }
        return 0;
}

int
notify_sender_once(struct notify_ctx *ctx, struct db *db, struct err *e)
{
        struct notify_template *tpls = NULL;
        struct notify_claim *c = NULL;
        struct notify_result *r = NULL;
        int n = 0, ntpl = 0, i, rc = -1;

        if (db_ensure(db, 0, e) < 0 ||
            notify_store_claim(db, ctx->instance, ctx->batch, &c, &n, e) < 0)
                goto out;
        if (n == 0) {
                rc = 0;
                goto out;
        }
        r = calloc((size_t)n, sizeof(*r));
        if (r == NULL || notify_store_templates(db, &tpls, &ntpl, e) < 0)
                goto out;
        for (i = 0; i < n; i++)
                deliver(ctx, db, &c[i], tpls, ntpl, &r[i]);
        if (record_all(ctx, db, c, r, n, e) == 0)
                rc = n;
out:
        for (i = 0; i < ntpl; i++)
                notify_template_fini(&tpls[i]);
        free(tpls);
        free(r);
        notify_claims_free(c, n);
        return rc;
}

int
notify_sender_reconcile(struct notify_ctx *ctx, struct db *db, struct err *e)
{
        char(*ids)[UUID_STR_LEN] = NULL;
        int n = 0, i, rc = -1;

        if (notify_store_release(db, ctx->instance, &ids, &n, e) < 0)
                return -1;
        for (i = 0; i < n; i++) {
                int d = ctx->channel->reconcile(ctx->channel, ids[i], NULL);
                const char *note =
                    d == 1 ? "reconciled: delivered before a restart"
                           : "delivery unconfirmed: interrupted after the "
                             "point of no return";
                if (db_begin(db, e) < 0)
                        goto out;
                if (notify_store_reconciled(db, ids[i], d != 0, note, e) < 0) {
                        db_rollback(db);
                        goto out;
                }
                if (db_commit(db, e) < 0)
                        goto out;
                log_info("reconciled", "message_id=%s delivered=%d", ids[i], d);
        }
        rc = 0;
out:
        free(ids);
        return rc;
}

int
notify_sender_run(struct notify_ctx *ctx, struct db *db, atomic_bool *stop,
                  struct err *e)
{
        int n, idle;

        while (!atomic_load(stop) &&
               (db_ensure(db, 1000, e) < 0 ||
                notify_sender_reconcile(ctx, db, e) < 0)) {
                log_err(LOG_WARN, "sender waiting", e, NULL);
                sleep(1);
        }
        while (!atomic_load(stop)) {
                n = notify_sender_once(ctx, db, e);
                if (n < 0)
                        log_err(LOG_WARN, "sender round failed", e, NULL);
                if (n > 0)
                        continue;
                for (idle = 0; idle < 4 && !atomic_load(stop); idle++)
                        usleep(50 * 1000);
        }
        return 0;
}
