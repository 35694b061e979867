/*
 * clock: the monotonic milliseconds and the sleep that timeouts, back-offs
 * and relays measure and wait with.
 */
#ifndef SIGNPOST_CLOCK_H
#define SIGNPOST_CLOCK_H

#include <stdint.h>

/* clock_ms: milliseconds on the monotonic clock (not wall time). */
int64_t clock_ms(void);
/* clock_sleep_ms: sleeps ms milliseconds, resuming after a signal. */
void clock_sleep_ms(int ms);

#endif
