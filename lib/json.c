/*
 * json: strict request-body parsing and typed field access over jansson.
 * Owns no state; every json_t it returns belongs to the caller. It does not
 * validate against schemas (that is the caller's business) and never copies
 * input text into an error message.
 */
#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sbuf.h"

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

/* The writer behind jsonx_dump: jansson's json_dumps decodes every UTF-8
 * character of every string and hands the text out piece by piece, which
 * made it a fifth of intake's time (sealed payloads and encrypted blobs
 * are long base64 strings). This one copies each run of plain characters
 * at once; its output is byte for byte what json_dumps(JSON_COMPACT)
 * gives (tested). */
static void
out_string(struct sbuf *o, const char *s, size_t len)
{
        static const char hex[] = "0123456789ABCDEF";
        size_t from = 0;

        sbuf_put(o, "\"", 1);
        for (size_t i = 0; i < len; i++) {
                unsigned char c = (unsigned char)s[i];
                char esc[7] = {'\\', 0, 0, 0, 0, 0, 0};
                size_t n = 2;

                if (c >= 0x20 && c != '"' && c != '\\')
                        continue;
                sbuf_put(o, s + from, i - from);
                from = i + 1;
                switch (c) {
                case '"':
                case '\\':
                        esc[1] = (char)c;
                        break;
                case '\b':
                        esc[1] = 'b';
                        break;
                case '\f':
                        esc[1] = 'f';
                        break;
                case '\n':
                        esc[1] = 'n';
                        break;
                case '\r':
                        esc[1] = 'r';
                        break;
                case '\t':
                        esc[1] = 't';
                        break;
                default:
                        memcpy(esc + 1, "u00", 3);
                        esc[4] = hex[c >> 4];
                        esc[5] = hex[c & 15];
                        n = 6;
                }
                sbuf_put(o, esc, n);
        }
        sbuf_put(o, s + from, len - from);
        sbuf_put(o, "\"", 1);
}

static void
out_value(struct sbuf *o, const json_t *j)
{
        char num[32];
        const char *key;
        size_t i;
        json_t *v;
        bool first = true;

        switch (json_typeof(j)) {
        case JSON_OBJECT:
                sbuf_put(o, "{", 1);
                json_object_foreach((json_t *)j, key, v)
                {
                        if (!first)
                                sbuf_put(o, ",", 1);
                        first = false;
                        out_string(o, key, strlen(key));
                        sbuf_put(o, ":", 1);
                        out_value(o, v);
                }
                sbuf_put(o, "}", 1);
                break;
        case JSON_ARRAY:
                sbuf_put(o, "[", 1);
                json_array_foreach(j, i, v)
                {
                        if (i > 0)
                                sbuf_put(o, ",", 1);
                        out_value(o, v);
                }
                sbuf_put(o, "]", 1);
                break;
        case JSON_STRING:
                out_string(o, json_string_value(j), json_string_length(j));
                break;
        case JSON_INTEGER:
                sbuf_put(o, num,
                         (size_t)snprintf(num, sizeof(num),
                                          "%" JSON_INTEGER_FORMAT,
                                          json_integer_value(j)));
                break;
        case JSON_REAL: { /* jansson's own formatting of reals */
                char *t = json_dumps(j, JSON_ENCODE_ANY);
                if (t == NULL)
                        o->oom = true;
                else
                        sbuf_put(o, t, strlen(t));
                free(t);
                break;
        }
        case JSON_TRUE:
                sbuf_put(o, "true", 4);
                break;
        case JSON_FALSE:
                sbuf_put(o, "false", 5);
                break;
        case JSON_NULL:
                sbuf_put(o, "null", 4);
                break;
        }
}

char *
jsonx_dump(const json_t *j)
{
        struct sbuf o = {0};

        if (j == NULL)
                return NULL;
        out_value(&o, j);
        if (o.oom) {
                free(o.p);
                return NULL;
        }
        return o.p;
}
