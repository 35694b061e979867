/*
 * signpost-admin's commands beyond the gateway's tokens (main.c).
 */
#ifndef SIGNPOST_ADMIN_H
#define SIGNPOST_ADMIN_H

#include "err.h"

/* partner_register: ORG's topic, broker user and ACLs, and its
 * certificate written into the new directory out (partner.c). */
int partner_register(const char *org, const char *out, struct err *e);

#endif
