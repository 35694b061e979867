/*
 * policy: the two pure rules of delivery: whether consent lets a message
 * go now (checked at send time against the consent.state replica), and
 * how long to wait before retrying a transient failure. No I/O.
 */
#include <string.h>

#include "notification.h"

static bool
personal(const char *audience)
{
        return strcmp(audience, "person") == 0 ||
               strcmp(audience, "referrer") == 0;
}

/* referrer_receipt: a referrer without a subject of their own gets only
 * the acknowledgement of what they just submitted. */
static enum notify_verdict
referrer_without_subject(const struct notify_view *v, const char **reason)
{
        if (v->purpose != NULL &&
            strcmp(v->purpose, "contact_about_service") == 0)
                return NOTIFY_SEND;
        *reason = "no subject to check consent against";
        return NOTIFY_SUPPRESS;
}

enum notify_verdict
notify_policy_decide(const struct notify_view *v, const char **reason)
{
        *reason = NULL;
        if (!personal(v->audience))
                return NOTIFY_SEND; /* provider and admin notices */
        if (strcmp(v->template, NOTIFY_CODE_TEMPLATE) == 0)
                return NOTIFY_SEND; /* the person just asked for it */
        if (!v->has_subject) {
                if (strcmp(v->audience, "referrer") == 0)
                        return referrer_without_subject(v, reason);
                *reason = "person message without subject_id";
                return NOTIFY_FAIL;
        }
        if (!v->state_known) {
                if (v->waited_ms < v->wait_limit_ms)
                        return NOTIFY_WAIT;
                *reason = "consent state never arrived";
                return NOTIFY_FAIL;
        }
        if (v->opted_out) {
                *reason = "opted out of all contact";
                return NOTIFY_SUPPRESS;
        }
        if (v->purpose == NULL) {
                *reason = "personal message without purpose";
                return NOTIFY_SUPPRESS;
        }
        if (v->standing == NULL) {
                *reason = "consent absent";
                return NOTIFY_SUPPRESS;
        }
        if (strcmp(v->standing, "granted") != 0) {
                *reason = "consent withdrawn";
                return NOTIFY_SUPPRESS;
        }
        return NOTIFY_SEND;
}

int64_t
notify_backoff_ms(int attempt, int64_t base_ms, int64_t cap_ms, double jitter)
{
        int64_t d = base_ms;
        int i;

        for (i = 1; i < attempt && d < cap_ms; i++)
                d *= 2;
        if (d > cap_ms)
                d = cap_ms;
        if (jitter < 0)
                jitter = 0;
        if (jitter >= 1)
                jitter = 0.999999;
        return d / 2 + (int64_t)((double)(d - d / 2) * jitter);
}
