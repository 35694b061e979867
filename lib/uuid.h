/*
 * uuid: RFC 9562 version 7 UUIDs (time-ordered), text form.
 */
#ifndef SIGNPOST_UUID_H
#define SIGNPOST_UUID_H

#include <stdbool.h>
#include <stdint.h>

#define UUID_STR_LEN 37 /* 36 characters and the NUL */

/* uuid_v7: writes a new v7 UUID (lower-case, hyphenated) into out.
 * Monotonic within a process: a later call never sorts before an earlier. */
void uuid_v7(char out[UUID_STR_LEN]);
/* uuid_v7_ms: the Unix time in milliseconds a v7 UUID's text carries
 * (when it was made), or -1 when s is not a valid version 7 UUID. */
int64_t uuid_v7_ms(const char *s);
/* uuid_v4: random UUID. */
void uuid_v4(char out[UUID_STR_LEN]);
/* uuid_valid: true for any RFC 4122/9562 hyphenated UUID text. */
bool uuid_valid(const char *s);

#endif
