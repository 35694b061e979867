/*
 * html: a growing string for server-rendered pages where text is escaped
 * by default. gw_html_raw takes markup written in this program;
 * gw_html_text and every %s of gw_html_f escape & < > " ' so a value
 * from a request, the directory or the database can never become markup.
 * gw_html_f understands %s, %d, %ld and %% only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway.h"

static void
put(struct gw_html *h, const char *s, size_t n)
{
        sbuf_put(&h->s, s, n);
}

void
gw_html_raw(struct gw_html *h, const char *s)
{
        if (s != NULL)
                put(h, s, strlen(s));
}

void
gw_html_text(struct gw_html *h, const char *s)
{
        for (; s != NULL && *s; s++) {
                size_t run = strcspn(s, "&<>\"'");
                put(h, s, run);
                s += run;
                switch (*s) {
                case '&':
                        put(h, "&amp;", 5);
                        break;
                case '<':
                        put(h, "&lt;", 4);
                        break;
                case '>':
                        put(h, "&gt;", 4);
                        break;
                case '"':
                        put(h, "&quot;", 6);
                        break;
                case '\'':
                        put(h, "&#39;", 5);
                        break;
                default:
                        return;
                }
        }
}

void
gw_html_f(struct gw_html *h, const char *fmt, ...)
{
        va_list ap;
        char num[32];

        va_start(ap, fmt);
        while (*fmt) {
                size_t run = strcspn(fmt, "%");
                put(h, fmt, run);
                fmt += run;
                if (*fmt == '\0')
                        break;
                if (fmt[1] == 's') {
                        gw_html_text(h, va_arg(ap, const char *));
                        fmt += 2;
                } else if (fmt[1] == 'd') {
                        snprintf(num, sizeof(num), "%d", va_arg(ap, int));
                        gw_html_raw(h, num);
                        fmt += 2;
                } else if (fmt[1] == 'l' && fmt[2] == 'd') {
                        snprintf(num, sizeof(num), "%ld", va_arg(ap, long));
                        gw_html_raw(h, num);
                        fmt += 3;
                } else {
                        put(h, "%", 1);
                        fmt += fmt[1] == '%' ? 2 : 1;
                }
        }
        va_end(ap);
}

char *
gw_html_take(struct gw_html *h, size_t *len)
{
        char *b = h->s.oom ? NULL : h->s.p;

        if (h->s.oom)
                free(h->s.p);
        if (b == NULL && !h->s.oom)
                b = calloc(1, 1);
        if (len != NULL)
                *len = b ? h->s.len : 0;
        memset(h, 0, sizeof(*h));
        return b;
}

void
gw_html_fini(struct gw_html *h)
{
        free(h->s.p);
        memset(h, 0, sizeof(*h));
}
