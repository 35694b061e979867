/*
 * pace: intake-load's clock: milliseconds on CLOCK_MONOTONIC, and waiting
 * (asleep, not spinning: the figures share the machine's cores) until the
 * i-th of a steady rate is due.
 */
#ifndef INTAKE_LOAD_PACE_H
#define INTAKE_LOAD_PACE_H

/* pace_now_ms: CLOCK_MONOTONIC in milliseconds. */
double pace_now_ms(void);
/* pace_wait: sleeps until start_ms + i / rate seconds; returns at once
 * when rate <= 0 (as fast as possible). */
void pace_wait(double start_ms, long i, long rate);

#endif
