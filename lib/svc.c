/*
 * svc: the process-wide stop flag, its signal handlers, and the table of
 * component readiness. Owns these globals only; does not decide how a
 * daemon stops (its main loop reads the flag and winds down itself).
 */
#include "svc.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* The handler may touch these only because they are lock-free. */
_Static_assert(ATOMIC_BOOL_LOCK_FREE == 2 && ATOMIC_INT_LOCK_FREE == 2,
               "signal handler needs lock-free atomics");

static atomic_bool stop_flag;
static atomic_int stop_signals; /* signals received so far */
static atomic_int stop_signo;

struct component {
        char name[32];
        bool ready;
};

static pthread_mutex_t ready_mu = PTHREAD_MUTEX_INITIALIZER;
static struct component components[SVC_READY_MAX];
static size_t ncomponents;

/* on_stop_signal: async-signal-safe: lock-free atomics and _exit only. */
static void
on_stop_signal(int signo)
{
        if (atomic_fetch_add(&stop_signals, 1) > 0)
                _exit(1);
        atomic_store(&stop_signo, signo);
        atomic_store(&stop_flag, true);
}

int
svc_signals_install(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sigemptyset(&sa.sa_mask);
        sa.sa_handler = on_stop_signal;
        sa.sa_flags = SA_RESTART;
        if (sigaction(SIGTERM, &sa, NULL) < 0 ||
            sigaction(SIGINT, &sa, NULL) < 0)
                return -1;
        sa.sa_handler = SIG_IGN;
        if (sigaction(SIGPIPE, &sa, NULL) < 0)
                return -1;
        return 0;
}

bool
svc_stopping(void)
{
        return atomic_load(&stop_flag);
}

void
svc_request_stop(void)
{
        atomic_store(&stop_flag, true);
}

atomic_bool *
svc_stop_flag(void)
{
        return &stop_flag;
}

int
svc_stop_signal(void)
{
        return atomic_load(&stop_signo);
}

void
svc_ready_set(const char *name, bool ready)
{
        size_t i;

        pthread_mutex_lock(&ready_mu);
        for (i = 0; i < ncomponents; i++)
                if (strncmp(components[i].name, name,
                            sizeof(components[i].name) - 1) == 0)
                        break;
        if (i == ncomponents) {
                if (ncomponents == SVC_READY_MAX) {
                        fprintf(stderr, "svc: too many readiness components "
                                        "(programming error)\n");
                        pthread_mutex_unlock(&ready_mu);
                        return;
                }
                snprintf(components[i].name, sizeof(components[i].name), "%s",
                         name);
                ncomponents++;
        }
        components[i].ready = ready;
        pthread_mutex_unlock(&ready_mu);
}

bool
svc_ready(char *why, size_t whysz)
{
        bool ok = true;

        pthread_mutex_lock(&ready_mu);
        for (size_t i = 0; i < ncomponents; i++) {
                if (components[i].ready)
                        continue;
                if (why != NULL && whysz > 0)
                        snprintf(why, whysz, "%s not ready",
                                 components[i].name);
                ok = false;
                break;
        }
        pthread_mutex_unlock(&ready_mu);
        return ok;
}

void
svc_ready_reset(void)
{
        pthread_mutex_lock(&ready_mu);
        ncomponents = 0;
        pthread_mutex_unlock(&ready_mu);
}
