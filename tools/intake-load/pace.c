/*
 * pace: see pace.h.
 */
#include "pace.h"

#include <errno.h>
#include <time.h>

double
pace_now_ms(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

void
pace_wait(double start_ms, long i, long rate)
{
        double due;
        struct timespec ts;

        if (rate <= 0)
                return;
        due = start_ms + (double)i * 1000.0 / (double)rate;
        ts.tv_sec = (time_t)(due / 1000.0);
        ts.tv_nsec = (long)((due - (double)ts.tv_sec * 1000.0) * 1e6);
        if (ts.tv_nsec > 999999999L)
                ts.tv_nsec = 999999999L;
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) ==
               EINTR)
                ;
}
