/*
 * log: formats and writes logfmt lines. Owns the process-wide log settings;
 * does not own what callers choose to put in key=value pairs (see log.h).
 */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

static char log_svc[32] = "signpost";
static enum log_level log_min = LOG_INFO;
static FILE *log_stream;
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {"debug", "info", "warn", "error"};

void
log_init(const char *svc, enum log_level min)
{
        snprintf(log_svc, sizeof(log_svc), "%s", svc);
        log_min = min;
}

int
log_level_parse(const char *s, enum log_level *out)
{
        for (int i = 0; i < 4; i++) {
                if (strcmp(s, level_names[i]) == 0) {
                        *out = (enum log_level)i;
                        return 0;
                }
        }
        return -1;
}

void
log_set_stream(FILE *f)
{
        log_stream = f;
}

/* quote: copies s into out as a logfmt value, escaping quotes. */
static void
quote(char *out, size_t outsz, const char *s)
{
        size_t o = 0;

        out[o++] = '"';
        for (; *s && o + 3 < outsz; s++) {
                if (*s == '"' || *s == '\\')
                        out[o++] = '\\';
                out[o++] = (*s == '\n') ? ' ' : *s;
        }
        out[o++] = '"';
        out[o] = '\0';
}

static void
emit(enum log_level lvl, const char *msg, const char *kv)
{
        char ts[40], q[320];
        struct timeval tv;
        struct tm tm;
        FILE *f = log_stream ? log_stream : stderr;

        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        quote(q, sizeof(q), msg);
        pthread_mutex_lock(&log_mu);
        fprintf(f, "ts=%s.%03ldZ lvl=%s svc=%s msg=%s%s%s\n", ts,
                (long)(tv.tv_usec / 1000), level_names[lvl], log_svc, q,
                kv[0] ? " " : "", kv);
        fflush(f);
        pthread_mutex_unlock(&log_mu);
}

void
log_line(enum log_level lvl, const char *msg, const char *kvfmt, ...)
{
        char kv[768] = "";
        va_list ap;

        if (lvl < log_min)
                return;
        if (kvfmt != NULL) {
                va_start(ap, kvfmt);
                vsnprintf(kv, sizeof(kv), kvfmt, ap);
                va_end(ap);
        }
        emit(lvl, msg, kv);
}

void
log_kafka(enum log_level lvl, const char *msg, const char *topic,
          int32_t partition, int64_t offset, const char *why)
{
        char w[300] = "";

        if (why != NULL)
                quote(w, sizeof(w), why);
        log_line(lvl, msg, "topic=%s partition=%d offset=%lld%s%s", topic,
                 (int)partition, (long long)offset, why ? " why=" : "", w);
}
