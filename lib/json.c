/*
 * json: strict request-body parsing and typed field access over jansson.
 * Owns no state; every json_t it returns belongs to the caller. It does not
 * validate against schemas (that is the caller's business) and never copies
 * input text into an error message.
 */
#include "json.h"

#include <stdlib.h>
#include <string.h>

/* jsonx_error_text: copies jansson's message without the " near '...'"
 * quote of the input, which may hold personal data. */
static void
jsonx_error_text(const char *text, char *out, size_t outsz)
{
        const char *near = strstr(text, " near '");
        size_t n = near ? (size_t)(near - text) : strlen(text);

        if (n >= outsz)
                n = outsz - 1;
        memcpy(out, text, n);
        out[n] = '\0';
}

json_t *
jsonx_parse_object(const char *buf, size_t len, struct err *e)
{
        json_error_t jerr;
        json_t *j = NULL;
        char why[JSON_ERROR_TEXT_LENGTH];

        if (buf == NULL) {
                err_set(e, ERR_INVALID, NULL, "empty body");
                return NULL;
        }
        j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                       &jerr);
        if (j == NULL) {
                jsonx_error_text(jerr.text, why, sizeof(why));
                err_set(e, ERR_INVALID, NULL,
                        "invalid JSON at line %d column %d: %s", jerr.line,
                        jerr.column, why);
                return NULL;
        }
        if (!json_is_object(j)) {
                json_decref(j);
                err_set(e, ERR_INVALID, NULL,
                        "body must be a JSON object at line 1 column 1");
                return NULL;
        }
        return j;
}

/* jsonx_field: finds name in obj. Returns 1 with *v set when present and
 * not null, 0 when absent and optional, -1 (err set) when absent and
 * required or obj is not an object. */
static int
jsonx_field(const json_t *obj, const char *name, bool required, json_t **v,
            struct err *e)
{
        if (!json_is_object(obj))
                return err_set(e, ERR_INVALID, name, "not inside an object");
        *v = json_object_get(obj, name);
        if (*v != NULL && !json_is_null(*v))
                return 1;
        if (required)
                return err_set(e, ERR_INVALID, name, "missing required field");
        return 0;
}

int
jsonx_get_string(const json_t *obj, const char *name, bool required,
                 const char **out, struct err *e)
{
        json_t *v = NULL;
        int rc = jsonx_field(obj, name, required, &v, e);

        if (rc <= 0)
                return rc;
        if (!json_is_string(v))
                return err_set(e, ERR_INVALID, name, "must be a string");
        *out = json_string_value(v);
        return 0;
}

int
jsonx_get_int(const json_t *obj, const char *name, bool required,
              long long *out, struct err *e)
{
        json_t *v = NULL;
        int rc = jsonx_field(obj, name, required, &v, e);

        if (rc <= 0)
                return rc;
        if (!json_is_integer(v))
                return err_set(e, ERR_INVALID, name, "must be an integer");
        *out = (long long)json_integer_value(v);
        return 0;
}

int
jsonx_get_bool(const json_t *obj, const char *name, bool required, bool *out,
               struct err *e)
{
        json_t *v = NULL;
        int rc = jsonx_field(obj, name, required, &v, e);

        if (rc <= 0)
                return rc;
        if (!json_is_boolean(v))
                return err_set(e, ERR_INVALID, name, "must be true or false");
        *out = json_is_true(v);
        return 0;
}

static bool
jsonx_allowed(const char *key, const char *const allowed[])
{
        for (size_t i = 0; allowed != NULL && allowed[i] != NULL; i++) {
                if (strcmp(key, allowed[i]) == 0)
                        return true;
        }
        return false;
}

int
jsonx_reject_unknown(const json_t *obj, const char *const allowed[],
                     struct err *e)
{
        /* jansson's iterator API takes a non-const object; it does not
         * modify it. */
        json_t *o = (json_t *)obj;
        void *it;

        if (!json_is_object(obj))
                return err_set(e, ERR_INVALID, NULL, "not an object");
        for (it = json_object_iter(o); it != NULL;
             it = json_object_iter_next(o, it)) {
                const char *key = json_object_iter_key(it);

                if (!jsonx_allowed(key, allowed))
                        return err_set(e, ERR_INVALID, key,
                                       "unknown field \"%.64s\"", key);
        }
        return 0;
}

char *
jsonx_dump(const json_t *j)
{
        if (j == NULL)
                return NULL;
        return json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
}
