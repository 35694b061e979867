/*
 * metrics: owns the process-wide registry of metric families and their
 * series, and renders them as Prometheus text. Does not serve HTTP (the
 * http module's GET /metrics calls metrics_render()).
 */
#include "metrics.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double bucket_bounds[METRICS_NBUCKETS] = {
    .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10};

enum mtype { M_COUNTER, M_GAUGE, M_HISTOGRAM };

static const char *const mtype_names[] = {"counter", "gauge", "histogram"};

struct metrics_counter {
        atomic_uint_fast64_t v;
};

struct metrics_gauge {
        _Atomic uint64_t bits; /* the double's bit pattern */
        metrics_gauge_fn fn;   /* under reg_mu */
        void *arg;
};

struct metrics_histogram {
        atomic_uint_fast64_t b[METRICS_NBUCKETS + 1]; /* last: +Inf */
        _Atomic uint64_t sum_bits;
};

struct series {
        char *labels; /* rendered: k="v",k2="v2"; "" for none */
        struct series *next;
        union {
                struct metrics_counter c;
                struct metrics_gauge g;
                struct metrics_histogram h;
        } u;
};

struct family {
        char *name;
        char *help;
        enum mtype type;
        struct series *first, **last;
        struct family *next;
};

static pthread_mutex_t reg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct family *families, **families_last = &families;

/* A growable string for rendering. */
struct sbuf {
        char *s;
        size_t len, cap;
        bool oom;
};

static void sbuf_printf(struct sbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
        va_list ap;
        int n;

        if (b->oom)
                return;
        if (b->cap == 0) {
                b->s = malloc(256);
                if (b->s == NULL) {
                        b->oom = true;
                        return;
                }
                b->cap = 256;
        }
        for (;;) {
                va_start(ap, fmt);
                n = vsnprintf(b->s + b->len, b->cap - b->len, fmt, ap);
                va_end(ap);
                if (n < 0) {
                        b->oom = true;
                        return;
                }
                if ((size_t)n < b->cap - b->len)
                        break;
                size_t cap = (b->cap + (size_t)n + 1) * 2;
                char *s = realloc(b->s, cap);
                if (s == NULL) {
                        b->oom = true;
                        return;
                }
                b->s = s;
                b->cap = cap;
        }
        b->len += (size_t)n;
}

static _Noreturn void
die(const char *what, const char *name)
{
        fprintf(stderr, "metrics: %s: %s (programming error)\n", what, name);
        abort();
}

static bool
valid_name(const char *s, bool colon_ok)
{
        if (s == NULL || *s == '\0' || (*s >= '0' && *s <= '9'))
                return false;
        for (; *s; s++) {
                char c = *s;
                if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '_' ||
                      (colon_ok && c == ':')))
                        return false;
        }
        return true;
}

/* render_labels: key, value pairs from ap -> new k="v",... text. */
static char *
render_labels(const char *metric, va_list ap)
{
        struct sbuf b = {0};
        const char *k, *v;

        sbuf_printf(&b, "%s", "");
        while ((k = va_arg(ap, const char *)) != NULL) {
                if (!valid_name(k, false))
                        die("bad label name", metric);
                v = va_arg(ap, const char *);
                if (v == NULL)
                        die("label without value", metric);
                sbuf_printf(&b, "%s%s=\"", b.len ? "," : "", k);
                for (; *v; v++) {
                        if (*v == '\\' || *v == '"')
                                sbuf_printf(&b, "\\%c", *v);
                        else if (*v == '\n')
                                sbuf_printf(&b, "\\n");
                        else
                                sbuf_printf(&b, "%c", *v);
                }
                sbuf_printf(&b, "\"");
        }
        if (b.oom)
                die("out of memory registering", metric);
        return b.s;
}

static struct family *
family_get(const char *name, const char *help, enum mtype type)
{
        struct family *f;

        for (f = families; f != NULL; f = f->next) {
                if (strcmp(f->name, name) != 0)
                        continue;
                if (f->type != type)
                        die("registered again with another type", name);
                return f;
        }
        f = calloc(1, sizeof(*f));
        if (f == NULL || (f->name = strdup(name)) == NULL ||
            (f->help = strdup(help ? help : "")) == NULL)
                die("out of memory registering", name);
        f->type = type;
        f->last = &f->first;
        *families_last = f;
        families_last = &f->next;
        return f;
}

/* series_get: the series of name with labels from ap, created if new.
 * Called with reg_mu held. */
static struct series *
series_get(const char *name, const char *help, enum mtype type, va_list ap)
{
        struct family *f;
        struct series *s;
        char *labels;

        if (!valid_name(name, true))
                die("bad metric name", name ? name : "(null)");
        labels = render_labels(name, ap);
        f = family_get(name, help, type);
        for (s = f->first; s != NULL; s = s->next) {
                if (strcmp(s->labels, labels) == 0) {
                        free(labels);
                        return s;
                }
        }
        s = calloc(1, sizeof(*s));
        if (s == NULL)
                die("out of memory registering", name);
        s->labels = labels;
        *f->last = s;
        f->last = &s->next;
        return s;
}

#define REGISTER(type, last, out)                                              \
        do {                                                                   \
                va_list ap;                                                    \
                pthread_mutex_lock(&reg_mu);                                   \
                va_start(ap, last);                                            \
                out = series_get(name, help, type, ap);                        \
                va_end(ap);                                                    \
                pthread_mutex_unlock(&reg_mu);                                 \
        } while (0)

struct metrics_counter *
metrics_counter_register(const char *name, const char *help, ...)
{
        struct series *s;

        REGISTER(M_COUNTER, help, s);
        return &s->u.c;
}

void
metrics_counter_inc(struct metrics_counter *c)
{
        atomic_fetch_add_explicit(&c->v, 1, memory_order_relaxed);
}

void
metrics_counter_add(struct metrics_counter *c, uint64_t n)
{
        atomic_fetch_add_explicit(&c->v, n, memory_order_relaxed);
}

uint64_t
metrics_counter_value(const struct metrics_counter *c)
{
        return atomic_load_explicit(&c->v, memory_order_relaxed);
}

static uint64_t
dbl_bits(double d)
{
        uint64_t u;

        memcpy(&u, &d, sizeof(u));
        return u;
}

static double
bits_dbl(uint64_t u)
{
        double d;

        memcpy(&d, &u, sizeof(d));
        return d;
}

/* add_double: *bits += delta, as doubles, lock-free. */
static void
add_double(_Atomic uint64_t *bits, double delta)
{
        uint64_t old = atomic_load(bits);

        while (!atomic_compare_exchange_weak(bits, &old,
                                             dbl_bits(bits_dbl(old) + delta)))
                ;
}

struct metrics_gauge *
metrics_gauge_register(const char *name, const char *help, ...)
{
        struct series *s;

        REGISTER(M_GAUGE, help, s);
        return &s->u.g;
}

void
metrics_gauge_set(struct metrics_gauge *g, double v)
{
        atomic_store(&g->bits, dbl_bits(v));
}

void
metrics_gauge_add(struct metrics_gauge *g, double delta)
{
        add_double(&g->bits, delta);
}

double
metrics_gauge_value(const struct metrics_gauge *g)
{
        return bits_dbl(atomic_load(&g->bits));
}

void
metrics_gauge_callback(const char *name, const char *help, metrics_gauge_fn fn,
                       void *arg, ...)
{
        struct series *s;
        va_list ap;

        pthread_mutex_lock(&reg_mu);
        va_start(ap, arg);
        s = series_get(name, help, M_GAUGE, ap);
        va_end(ap);
        s->u.g.fn = fn;
        s->u.g.arg = arg;
        pthread_mutex_unlock(&reg_mu);
}

struct metrics_histogram *
metrics_histogram_register(const char *name, const char *help, ...)
{
        struct series *s;

        REGISTER(M_HISTOGRAM, help, s);
        return &s->u.h;
}

void
metrics_histogram_observe(struct metrics_histogram *h, double seconds)
{
        size_t i = 0;

        while (i < METRICS_NBUCKETS && !(seconds <= bucket_bounds[i]))
                i++;
        atomic_fetch_add_explicit(&h->b[i], 1, memory_order_relaxed);
        add_double(&h->sum_bits, seconds);
}

uint64_t
metrics_histogram_count(const struct metrics_histogram *h)
{
        uint64_t n = 0;

        for (size_t i = 0; i <= METRICS_NBUCKETS; i++)
                n += atomic_load_explicit(&h->b[i], memory_order_relaxed);
        return n;
}

static const char *
fmt_g(char *buf, size_t sz, int prec, double v)
{
        snprintf(buf, sz, "%.*g", prec, v);
        return buf;
}

/* put_double: shortest of %.15g / %.17g that reads back as v. */
static void
put_double(struct sbuf *b, double v)
{
        char buf[40];

        if (isnan(v))
                sbuf_printf(b, "NaN");
        else if (isinf(v))
                sbuf_printf(b, "%sInf", v > 0 ? "+" : "-");
        else if (strtod(fmt_g(buf, sizeof(buf), 15, v), NULL) == v)
                sbuf_printf(b, "%s", buf);
        else
                sbuf_printf(b, "%s", fmt_g(buf, sizeof(buf), 17, v));
}

static void
render_histogram(struct sbuf *b, const char *name, const struct series *s)
{
        const struct metrics_histogram *h = &s->u.h;
        const char *sep = s->labels[0] ? "," : "";
        uint64_t cum = 0;

        for (size_t i = 0; i <= METRICS_NBUCKETS; i++) {
                cum += atomic_load_explicit(&h->b[i], memory_order_relaxed);
                sbuf_printf(b, "%s_bucket{%s%sle=\"", name, s->labels, sep);
                if (i < METRICS_NBUCKETS)
                        sbuf_printf(b, "%g", bucket_bounds[i]);
                else
                        sbuf_printf(b, "+Inf");
                sbuf_printf(b, "\"} %llu\n", (unsigned long long)cum);
        }
        sbuf_printf(b, "%s_sum%s%s%s ", name, s->labels[0] ? "{" : "",
                    s->labels, s->labels[0] ? "}" : "");
        put_double(b, bits_dbl(atomic_load(&h->sum_bits)));
        sbuf_printf(b, "\n%s_count%s%s%s %llu\n", name, s->labels[0] ? "{" : "",
                    s->labels, s->labels[0] ? "}" : "",
                    (unsigned long long)cum);
}

static void
render_series(struct sbuf *b, const struct family *f, const struct series *s)
{
        double v;

        if (f->type == M_HISTOGRAM) {
                render_histogram(b, f->name, s);
                return;
        }
        sbuf_printf(b, "%s%s%s%s ", f->name, s->labels[0] ? "{" : "", s->labels,
                    s->labels[0] ? "}" : "");
        if (f->type == M_COUNTER) {
                sbuf_printf(b, "%llu\n",
                            (unsigned long long)metrics_counter_value(&s->u.c));
                return;
        }
        v = s->u.g.fn ? s->u.g.fn(s->u.g.arg) : metrics_gauge_value(&s->u.g);
        put_double(b, v);
        sbuf_printf(b, "\n");
}

static void
render_help(struct sbuf *b, const struct family *f)
{
        sbuf_printf(b, "# HELP %s ", f->name);
        for (const char *p = f->help; *p; p++) {
                if (*p == '\\')
                        sbuf_printf(b, "\\\\");
                else if (*p == '\n')
                        sbuf_printf(b, "\\n");
                else
                        sbuf_printf(b, "%c", *p);
        }
        sbuf_printf(b, "\n# TYPE %s %s\n", f->name, mtype_names[f->type]);
}

char *
metrics_render(void)
{
        struct sbuf b = {0};

        sbuf_printf(&b, "%s", "");
        pthread_mutex_lock(&reg_mu);
        for (const struct family *f = families; f != NULL; f = f->next) {
                render_help(&b, f);
                for (const struct series *s = f->first; s; s = s->next)
                        render_series(&b, f, s);
        }
        pthread_mutex_unlock(&reg_mu);
        if (b.oom) {
                free(b.s);
                return NULL;
        }
        return b.s;
}
