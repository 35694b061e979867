/*
 * event: builds and reads the CloudEvents 1.0 binary-mode envelope (the
 * ce_* Kafka headers). Owns the header names and their validation; does
 * not own the record value (the event data) or its schema.
 */
#include "event.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#define EVENT_SPECVERSION "1.0"
#define EVENT_CONTENT_TYPE "application/json"

void
event_now(char out[40])
{
        struct timeval tv;
        struct tm tm;
        size_t n;

        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        n = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(out + n, 40 - n, ".%03dZ", (int)(tv.tv_usec / 1000) % 1000);
}

void
event_init(struct event *ev, const char *source, const char *type,
           const char *subject)
{
        memset(ev, 0, sizeof(*ev));
        uuid_v7(ev->id);
        event_now(ev->time);
        if (source == NULL || source[0] == '\0')
                snprintf(ev->source, sizeof(ev->source), "/signpost/unknown");
        else if (source[0] == '/')
                snprintf(ev->source, sizeof(ev->source), "%s", source);
        else
                snprintf(ev->source, sizeof(ev->source), "/signpost/%s",
                         source);
        snprintf(ev->type, sizeof(ev->type), "%s", type ? type : "");
        snprintf(ev->subject, sizeof(ev->subject), "%s",
                 subject ? subject : "");
}

/* word_len: length of a [a-z][a-z0-9_]* run at s, 0 if none. */
static size_t
word_len(const char *s)
{
        size_t n = 0;

        if (!islower((unsigned char)s[0]))
                return 0;
        while (islower((unsigned char)s[n]) || isdigit((unsigned char)s[n]) ||
               s[n] == '_')
                n++;
        return n;
}

int
event_type_valid(const char *type)
{
        const char *p;
        size_t n;

        if (type == NULL || strncmp(type, "signpost.", 9) != 0)
                return 0;
        p = type + 9;
        for (int i = 0; i < 2; i++) { /* noun, verb */
                n = word_len(p);
                if (n == 0 || p[n] != '.')
                        return 0;
                p += n + 1;
        }
        if (p[0] != 'v' || p[1] < '1' || p[1] > '9')
                return 0;
        for (p += 2; *p; p++)
                if (!isdigit((unsigned char)*p))
                        return 0;
        return 1;
}

rd_kafka_headers_t *
event_headers_new(const struct event *ev)
{
        rd_kafka_headers_t *h = rd_kafka_headers_new(7);

        rd_kafka_header_add(h, "ce_specversion", -1, EVENT_SPECVERSION, -1);
        rd_kafka_header_add(h, "ce_id", -1, ev->id, -1);
        rd_kafka_header_add(h, "ce_source", -1, ev->source, -1);
        rd_kafka_header_add(h, "ce_type", -1, ev->type, -1);
        rd_kafka_header_add(h, "ce_time", -1, ev->time, -1);
        if (ev->subject[0] != '\0')
                rd_kafka_header_add(h, "ce_subject", -1, ev->subject, -1);
        rd_kafka_header_add(h, "content-type", -1, EVENT_CONTENT_TYPE, -1);
        return h;
}

/* header_copy: copies header name of hdrs (may be NULL) into out as a
 * string. Returns 1 when present and non-empty, 0 when missing or empty,
 * -1 when too long or containing a NUL. */
static int
header_copy(const rd_kafka_headers_t *hdrs, const char *name, char *out,
            size_t outsz)
{
        const void *val = NULL;
        size_t len = 0;

        out[0] = '\0';
        if (hdrs == NULL ||
            rd_kafka_header_get_last(hdrs, name, &val, &len) !=
                RD_KAFKA_RESP_ERR_NO_ERROR ||
            val == NULL || len == 0)
                return 0;
        if (len >= outsz || memchr(val, '\0', len) != NULL)
                return -1;
        memcpy(out, val, len);
        out[len] = '\0';
        return 1;
}

/* header_required: like header_copy, but missing or bad -> ERR_INVALID. */
static int
header_required(const rd_kafka_headers_t *hdrs, const char *name, char *out,
                size_t outsz, struct err *e)
{
        int r = header_copy(hdrs, name, out, outsz);

        if (r == 0)
                return err_set(e, ERR_INVALID, name, "header %s missing", name);
        if (r < 0)
                return err_set(e, ERR_INVALID, name, "header %s malformed",
                               name);
        return 0;
}

int
event_from_message(const rd_kafka_message_t *msg, struct event *ev,
                   struct err *e)
{
        rd_kafka_headers_t *hdrs = NULL;
        char spec[8];

        memset(ev, 0, sizeof(*ev));
        if (rd_kafka_message_headers(msg, &hdrs) != RD_KAFKA_RESP_ERR_NO_ERROR)
                hdrs = NULL; /* no headers at all: reported per name */
        if (header_required(hdrs, "ce_specversion", spec, sizeof(spec), e) < 0)
                return -1;
        if (strcmp(spec, EVENT_SPECVERSION) != 0)
                return err_set(e, ERR_INVALID, "ce_specversion",
                               "header ce_specversion is not 1.0");
        if (header_required(hdrs, "ce_id", ev->id, sizeof(ev->id), e) < 0)
                return -1;
        if (!uuid_valid(ev->id))
                return err_set(e, ERR_INVALID, "ce_id",
                               "header ce_id is not a UUID");
        if (header_required(hdrs, "ce_source", ev->source, sizeof(ev->source),
                            e) < 0 ||
            header_required(hdrs, "ce_type", ev->type, sizeof(ev->type), e) < 0)
                return -1;
        if (!event_type_valid(ev->type))
                return err_set(e, ERR_INVALID, "ce_type",
                               "header ce_type is not signpost.<noun>."
                               "<verb>.vN");
        if (header_required(hdrs, "ce_time", ev->time, sizeof(ev->time), e) < 0)
                return -1;
        if (header_copy(hdrs, "ce_subject", ev->subject, sizeof(ev->subject)) <
            0)
                return err_set(e, ERR_INVALID, "ce_subject",
                               "header ce_subject malformed");
        return 0;
}
