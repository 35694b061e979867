/*
 * err: filling and naming error values. Owns nothing else.
 */
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int
err_set(struct err *e, enum err_kind kind, const char *field, const char *fmt,
        ...)
{
        va_list ap;

        if (e == NULL)
                return -1;
        e->kind = kind;
        snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
        va_end(ap);
        return -1;
}

void
err_clear(struct err *e)
{
        if (e == NULL)
                return;
        e->kind = ERR_NONE;
        e->field[0] = '\0';
        e->msg[0] = '\0';
}

const char *
err_kind_name(enum err_kind kind)
{
        switch (kind) {
        case ERR_NONE:
                return "none";
        case ERR_TRANSIENT:
                return "transient";
        case ERR_INVALID:
                return "invalid";
        case ERR_FATAL:
                return "fatal";
        case ERR_NOT_FOUND:
                return "not_found";
        case ERR_CONFLICT:
                return "conflict";
        }
        return "unknown";
}
