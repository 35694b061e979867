/*
 * setup: intake's own part of the start-up (svc_run's hooks): the keys,
 * the bank holidays and the reminder settings, the consumer threads'
 * write queues, and the stale-referral timer as a worker. The shared
 * settings, the principal key and the order of the start belong to
 * lib/svc_run.c.
 */
#include "intake.h"
#include "svc_run.h"

int
intake_setup_init(void *arg, struct svc_run *r, struct err *e)
{
        struct intake *in = arg;
        const struct cfg *cfg = r->cfg;

        if (intake_keys_load(&in->keys, cfg_str(cfg, "SIGNPOST_SECRETS_DIR"),
                             e) < 0 ||
            intake_holidays_load(
                &in->holidays, cfg_str(cfg, "SIGNPOST_INTAKE_HOLIDAYS"), e) < 0)
                return -1;
        in->remind_days = (int)cfg_int(cfg, "SIGNPOST_INTAKE_REMIND_DAYS");
        in->escalate_days = (int)cfg_int(cfg, "SIGNPOST_INTAKE_ESCALATE_DAYS");
        in->admin_email = cfg_str(cfg, "SIGNPOST_INTAKE_ADMIN_EMAIL");
        if (in->remind_days < 1 || in->escalate_days < in->remind_days)
                return err_set(e, ERR_FATAL, "SIGNPOST_INTAKE_ESCALATE_DAYS",
                               "need 1 <= remind days <= escalate days");
        in->principal_key = r->principal_key;
        r->consumer.batch = (size_t)cfg_int(cfg, "SIGNPOST_INTAKE_BATCH");
        r->consumer.threads = (int)cfg_int(cfg, "SIGNPOST_INTAKE_CONSUMERS");
        return 0;
}

void
intake_setup_fini(void *arg)
{
        struct intake *in = arg;

        intake_holidays_fini(&in->holidays);
        intake_keys_fini(&in->keys);
        in->principal_key = NULL;
}

/* The consumer threads' write queues (emit.c) and prepared batches
 * (submit_batch.c), one per thread. */
void
intake_setup_thread_start(void *arg, struct db *db)
{
        (void)arg;
        (void)db;
        intake_outq_start(); /* events go out once per batch */
}

void
intake_setup_thread_end(void *arg)
{
        (void)arg;
        intake_submit_end();
        intake_outq_stop();
}

void *
intake_setup_stale_start(void *arg, const struct cfg *cfg, struct err *e)
{
        return intake_stale_start(
            arg, cfg_str(cfg, "SIGNPOST_DB"),
            cfg_int(cfg, "SIGNPOST_INTAKE_STALE_INTERVAL"), e);
}

void
intake_setup_stale_stop(void *stale)
{
        intake_stale_stop(stale);
}
