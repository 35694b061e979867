/*
 * json: small helpers over jansson for request bodies and records.
 *
 * Parsing is strict: the body must be one JSON object, valid UTF-8, with no
 * duplicate keys. Getters name the field in err->field so an HTTP handler
 * can answer 400 with it. Error messages never quote the input (it may hold
 * personal data); they give line and column instead.
 */
#ifndef SIGNPOST_JSON_H
#define SIGNPOST_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "err.h"

/* jsonx_parse_object: parses len bytes of buf (need not be NUL-terminated).
 * Rejects anything but a single object, invalid UTF-8, "\u0000" and
 * duplicate keys with ERR_INVALID ("... at line L column C").
 * Returns new object, free with json_decref(); NULL on error. */
json_t *jsonx_parse_object(const char *buf, size_t len, struct err *e);

/*
 * Typed getters. When the field is absent (or JSON null):
 *   required -> -1, ERR_INVALID, e->field = name, msg "missing required field";
 *   optional -> 0 and *out is left untouched (preset your default).
 * A present field of the wrong type is always -1, ERR_INVALID.
 */

/* jsonx_get_string: *out is a borrowed string, valid while obj holds the
 * field. */
int jsonx_get_string(const json_t *obj, const char *name, bool required,
                     const char **out, struct err *e);
/* jsonx_get_int: integers only (1.0 is rejected). */
int jsonx_get_int(const json_t *obj, const char *name, bool required,
                  long long *out, struct err *e);
int jsonx_get_bool(const json_t *obj, const char *name, bool required,
                   bool *out, struct err *e);

/* jsonx_reject_unknown: allowed is a NULL-terminated list of field names.
 * Returns -1 (ERR_INVALID, e->field = the first unknown key in document
 * order) when obj has any other key, else 0. */
int jsonx_reject_unknown(const json_t *obj, const char *const allowed[],
                         struct err *e);

/* jsonx_dump: compact text of any JSON value, keys in insertion order.
 * Returns new string, free with free() (jansson's default allocator);
 * NULL when j is NULL or out of memory. */
char *jsonx_dump(const json_t *j);

#endif
