/*
 * sbuf: see sbuf.h. Doubles its room as it grows (from 256 bytes).
 */
#include "sbuf.h"

#include <stdlib.h>
#include <string.h>

void
sbuf_put(struct sbuf *b, const char *s, size_t n)
{
        if (b->oom)
                return;
        if (b->len + n + 1 > b->cap) {
                size_t cap = b->cap ? b->cap : 256;
                char *p;

                while (cap < b->len + n + 1)
                        cap *= 2;
                if ((p = realloc(b->p, cap)) == NULL) {
                        b->oom = true;
                        return;
                }
                b->p = p;
                b->cap = cap;
        }
        memcpy(b->p + b->len, s, n);
        b->len += n;
        b->p[b->len] = '\0';
}

void
sbuf_puts(struct sbuf *b, const char *s)
{
        sbuf_put(b, s, strlen(s));
}
