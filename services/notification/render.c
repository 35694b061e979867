/*
 * render: templates with {{name}} and {{name|fallback}} placeholders
 * filled from a request's values. A placeholder with no value and no
 * fallback is an error the sender records as the message's failure, never
 * a crash. HTML bodies get HTML-escaped values; subjects lose CR and LF so
 * a value cannot add a mail header. No I/O.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notification.h"
#include "sbuf.h"

static void
put_value(struct sbuf *b, const char *v, bool html)
{
        for (; *v != '\0'; v++) {
                const char *rep = NULL;
                if (html) {
                        switch (*v) {
                        case '&':
                                rep = "&amp;";
                                break;
                        case '<':
                                rep = "&lt;";
                                break;
                        case '>':
                                rep = "&gt;";
                                break;
                        case '"':
                                rep = "&quot;";
                                break;
                        case '\'':
                                rep = "&#39;";
                                break;
                        default:
                                break;
                        }
                }
                if (rep != NULL)
                        sbuf_put(b, rep, strlen(rep));
                else
                        sbuf_put(b, v, 1);
        }
}

/* lookup: the value of placeholder name[0..n) as text into out, or NULL
 * when values lacks it (numbers are printed; other types count as
 * absent). */
static const char *
lookup(const json_t *values, const char *name, size_t n, char *num,
       size_t numsz)
{
        char key[65];
        json_t *v;

        if (n >= sizeof(key))
                return NULL;
        memcpy(key, name, n);
        key[n] = '\0';
        v = json_object_get(values, key);
        if (json_is_string(v))
                return json_string_value(v);
        if (json_is_integer(v)) {
                snprintf(num, numsz, "%lld", (long long)json_integer_value(v));
                return num;
        }
        return NULL;
}

/* one: handles the placeholder at p ("{{" already seen at p); returns the
 * position after it, or NULL with e set. */
static const char *
one(const char *p, const json_t *values, bool html, struct sbuf *b,
    struct err *e)
{
        const char *end = strstr(p + 2, "}}");
        const char *name = p + 2, *bar, *v;
        size_t n;
        char num[32];

        if (end == NULL) {
                err_set(e, ERR_INVALID, NULL, "unterminated placeholder");
                return NULL;
        }
        bar = memchr(name, '|', (size_t)(end - name));
        n = (size_t)((bar ? bar : end) - name);
        if (n == 0 || n > 64 ||
            strspn(name, "abcdefghijklmnopqrstuvwxyz"
                         "0123456789_") < n) {
                err_set(e, ERR_INVALID, NULL, "malformed placeholder");
                return NULL;
        }
        v = values ? lookup(values, name, n, num, sizeof(num)) : NULL;
        if (v != NULL)
                put_value(b, v, html);
        else if (bar != NULL)
                sbuf_put(b, bar + 1, (size_t)(end - bar - 1));
        else {
                err_set(e, ERR_INVALID, "values", "missing placeholder %.*s",
                        (int)n, name);
                return NULL;
        }
        return end + 2;
}

char *
notify_render_one(const char *tpl, const json_t *values, bool html,
                  struct err *e)
{
        struct sbuf b = {0};
        const char *p = tpl, *q;

        sbuf_put(&b, "", 0);
        while ((q = strstr(p, "{{")) != NULL) {
                sbuf_put(&b, p, (size_t)(q - p));
                p = one(q, values, html, &b, e);
                if (p == NULL) {
                        free(b.p);
                        return NULL;
                }
        }
        sbuf_put(&b, p, strlen(p));
        if (b.oom) {
                free(b.p);
                err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                return NULL;
        }
        return b.p;
}

int
notify_template_check(const char *text, struct err *e)
{
        char *out;

        if (text == NULL)
                return 0;
        /* with no values every placeholder without fallback is "missing":
         * only syntax errors count here */
        out = notify_render_one(text, NULL, false, e);
        if (out == NULL && e != NULL &&
            strncmp(e->msg, "missing placeholder", 19) == 0) {
                err_clear(e);
                return 0;
        }
        free(out);
        return out == NULL ? -1 : 0;
}

int
notify_render(const struct notify_template *t, const json_t *values,
              struct notify_rendered *out, struct err *e)
{
        char *c;

        memset(out, 0, sizeof(*out));
        if (t->subject != NULL) {
                out->subject = notify_render_one(t->subject, values, false, e);
                if (out->subject == NULL)
                        goto fail;
                for (c = out->subject; *c != '\0'; c++)
                        if (*c == '\r' || *c == '\n')
                                *c = ' ';
        }
        out->text = notify_render_one(t->text, values, false, e);
        if (out->text == NULL)
                goto fail;
        if (t->html != NULL) {
                out->html = notify_render_one(t->html, values, true, e);
                if (out->html == NULL)
                        goto fail;
        }
        return 0;
fail:
        notify_rendered_fini(out);
        return -1;
}

void
notify_rendered_fini(struct notify_rendered *r)
{
        free(r->subject);
        free(r->text);
        free(r->html);
        memset(r, 0, sizeof(*r));
}

void
notify_template_fini(struct notify_template *t)
{
        free(t->subject);
        free(t->text);
        free(t->html);
        memset(t, 0, sizeof(*t));
}
