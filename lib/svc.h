/*
 * svc: process lifecycle shared by every daemon: stop on SIGTERM/SIGINT,
 * and readiness of named components for GET /readyz.
 *
 *   svc_signals_install();
 *   svc_ready_set("db", false);  ... connect ...  svc_ready_set("db", true);
 *   while (!svc_stopping()) ...
 *   kafka_consumer_run(..., svc_stop_flag());
 *
 * The first SIGTERM or SIGINT sets the stop flag (the handler does nothing
 * else); a second one ends the process at once with _exit(1), for an
 * operator whose clean stop is stuck. SIGPIPE is ignored.
 */
#ifndef SIGNPOST_SVC_H
#define SIGNPOST_SVC_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

/* svc_signals_install: installs the handlers above. Returns 0, or -1 if
 * sigaction failed (errno set). */
int svc_signals_install(void);
/* svc_stopping: true once a stop was asked for (signal or call). */
bool svc_stopping(void);
/* svc_request_stop: asks the process to stop, as SIGTERM would (counts
 * as no signal: a later SIGTERM is still the "first"). */
void svc_request_stop(void);
/* svc_stop_flag: returns borrowed flag, valid for the process lifetime,
 * for loops that take an atomic_bool * (kafka_consumer_run). */
atomic_bool *svc_stop_flag(void);
/* svc_stop_signal: the signal that asked for the stop, 0 if none. */
int svc_stop_signal(void);

/* Readiness. A component is registered by its first svc_ready_set();
 * at most SVC_READY_MAX components; name is copied (up to 31 bytes). */
#define SVC_READY_MAX 32
void svc_ready_set(const char *name, bool ready);
/* svc_ready: true when every registered component is ready (also when
 * none is registered). Otherwise writes "NAME not ready" for the first
 * component (in registration order) that is not into why (if not NULL)
 * and returns false. */
bool svc_ready(char *why, size_t whysz);
/* svc_ready_reset: forgets every component (tests). */
void svc_ready_reset(void);

#endif
