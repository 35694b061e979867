/*
 * sbuf: a growing, always NUL-terminated string. Running out of memory
 * only sets oom (later appends are ignored), so a caller checks once at
 * the end. Zero-initialise to start; free p when done.
 */
#ifndef SIGNPOST_SBUF_H
#define SIGNPOST_SBUF_H

#include <stdbool.h>
#include <stddef.h>

struct sbuf {
        char *p; /* NULL until the first append */
        size_t len, cap;
        bool oom;
};

/* sbuf_put: appends n bytes of s. */
void sbuf_put(struct sbuf *b, const char *s, size_t n);
/* sbuf_puts: appends the string s. */
void sbuf_puts(struct sbuf *b, const char *s);

#endif
