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

/* quote: s as a quoted logfmt value in out (outsz >= 3): \ and " are
 * backslashed, \n \r \t written as such, other control characters as
 * \u00XX; bytes from 0x80 up (UTF-8) pass. A value too long for out is cut
 * between escapes, so the closing quote is always there. */
static void
quote(char *out, size_t outsz, const char *s)
{
        static const char hex[] = "0123456789abcdef";
        size_t o = 0;

        out[o++] = '"';
        for (; s != NULL && *s != '\0'; s++) {
                unsigned char c = (unsigned char)*s;
                char esc[7];
                size_t n = 0;

                if (c == '"' || c == '\\') {
                        esc[n++] = '\\';
                        esc[n++] = (char)c;
                } else if (c == '\n' || c == '\r' || c == '\t') {
                        esc[n++] = '\\';
                        esc[n++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
                } else if (c < 0x20 || c == 0x7f) {
                        memcpy(esc, "\\u00", 4);
                        n = 4;
                        esc[n++] = hex[c >> 4];
                        esc[n++] = hex[c & 15];
                } else {
                        esc[n++] = (char)c;
                }
                if (o + n + 2 > outsz) /* the escape, the quote, the NUL */
                        break;
                memcpy(out + o, esc, n);
                o += n;
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

/* vlog: kvfmt's pairs, then tail (pairs already quoted), as one line.
 * The pairs are cut to leave room for all of tail. */
static void __attribute__((format(printf, 3, 0)))
vlog(enum log_level lvl, const char *msg, const char *kvfmt, va_list ap,
     const char *tail)
{
        char kv[1536] = "";
        size_t t = strlen(tail), n = 0;

        if (kvfmt != NULL) {
                vsnprintf(kv, sizeof(kv) - t - 1, kvfmt, ap);
                n = strlen(kv);
        }
        if (t > 0)
                snprintf(kv + n, sizeof(kv) - n, "%s%s", n > 0 ? " " : "",
                         tail);
        emit(lvl, msg, kv);
}

void
log_line(enum log_level lvl, const char *msg, const char *kvfmt, ...)
{
        va_list ap;

        if (lvl < log_min)
                return;
        va_start(ap, kvfmt);
        vlog(lvl, msg, kvfmt, ap, "");
        va_end(ap);
}

void
log_err(enum log_level lvl, const char *msg, const struct err *e,
        const char *kvfmt, ...)
{
        char field[160] = "", why[600], tail[800];
        va_list ap;

        if (lvl < log_min)
                return;
        if (e != NULL && e->field[0] != '\0') {
                memcpy(field, " field=", 7);
                quote(field + 7, sizeof(field) - 7, e->field);
        }
        quote(why, sizeof(why), e != NULL ? e->msg : "");
        snprintf(tail, sizeof(tail), "kind=%s%s why=%s",
                 e != NULL ? err_kind_name(e->kind) : "none", field, why);
        va_start(ap, kvfmt);
        vlog(lvl, msg, kvfmt, ap, tail);
        va_end(ap);
}

void
log_why(enum log_level lvl, const char *msg, const char *why, const char *kvfmt,
        ...)
{
        char tail[610] = "";
        va_list ap;

        if (lvl < log_min)
                return;
        if (why != NULL) {
                memcpy(tail, "why=", 4);
                quote(tail + 4, sizeof(tail) - 4, why);
        }
        va_start(ap, kvfmt);
        vlog(lvl, msg, kvfmt, ap, tail);
        va_end(ap);
}

void
log_kafka(enum log_level lvl, const char *msg, const char *topic,
          int32_t partition, int64_t offset, const char *why)
{
        log_why(lvl, msg, why, "topic=%s partition=%d offset=%lld", topic,
                (int)partition, (long long)offset);
}
