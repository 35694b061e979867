/*
 * http_post: intake-load's HTTP leg: referrals POSTed to the gateway's
 * JSON API as a partner system would, on several kept-alive connections,
 * paced to a rate.
 */
#ifndef INTAKE_LOAD_HTTP_POST_H
#define INTAKE_LOAD_HTTP_POST_H

#include <stddef.h>

#define HTTP_POST_REF_LEN 16

/* http_post_all: POSTs count self-referrals for service to url (the
 * gateway's /v1/referrals) at rate per second (0 = as fast as conns
 * connections allow). For each i, sent_at[i] is when its POST began (ms,
 * CLOCK_MONOTONIC) and refs[i] the reference of its 202 ("" if refused).
 * Returns how many were accepted. */
long http_post_all(const char *url, const char *service, long count, long rate,
                   int conns, double *sent_at, char (*refs)[HTTP_POST_REF_LEN]);

#endif
