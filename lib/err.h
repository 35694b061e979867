/*
 * err: the error value every fallible function fills.
 *
 * Functions return 0 on success, -1 on failure and describe the failure in
 * a caller-supplied, NULL-able struct err. The kind decides what a consumer
 * does with a message: TRANSIENT -> back off and retry; INVALID ->
 * dead-letter and move on; FATAL -> stop cleanly.
 */
#ifndef SIGNPOST_ERR_H
#define SIGNPOST_ERR_H

enum err_kind {
        ERR_NONE = 0,
        ERR_TRANSIENT, /* try again later: network, lock, broker down */
        ERR_INVALID,   /* the input is wrong: retrying will not help */
        ERR_FATAL,     /* the process cannot go on */
        ERR_NOT_FOUND, /* the thing asked for does not exist */
        ERR_CONFLICT,  /* the request clashes with current state */
};

struct err {
        enum err_kind kind;
        char field[64]; /* which input field, "" when none */
        char msg[256];  /* human-readable why; never personal data */
};

/* err_set: fills e (if not NULL); field may be NULL. Returns -1 so callers
 * can write `return err_set(...)`. */
int err_set(struct err *e, enum err_kind kind, const char *field,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void err_clear(struct err *e);
/* err_kind_name: returns borrowed static string ("transient", ...). */
const char *err_kind_name(enum err_kind kind);

#endif
