/*
 * event: the CloudEvents 1.0 envelope in Kafka binary mode.
 *
 * Headers ce_specversion ("1.0"), ce_id (UUIDv7), ce_source
 * (/signpost/<daemon>), ce_type (signpost.<noun>.<verb>.v1), ce_time
 * (RFC 3339, UTC), ce_subject (optional), content-type (application/json).
 * The record value is the event data; the record key is the entity id.
 */
#ifndef SIGNPOST_EVENT_H
#define SIGNPOST_EVENT_H

#include <librdkafka/rdkafka.h>
#include <stddef.h>

#include "err.h"
#include "uuid.h"

struct event {
        char id[UUID_STR_LEN];
        char source[64];
        char type[96];
        char time[40];
        char subject[128];
};

/* event_init: fills id (new UUIDv7), time (now), source ("intake" becomes
 * "/signpost/intake"; one starting with '/' is kept; NULL gives
 * "/signpost/unknown"), type as given, subject (NULL ok). */
void event_init(struct event *ev, const char *source, const char *type,
                const char *subject);
/* event_now: writes the current UTC time in RFC 3339 with milliseconds. */
void event_now(char out[40]);
/* event_type_valid: true for signpost.<noun>.<verb>.vN. */
int event_type_valid(const char *type);

/* event_headers_new: returns new headers, free with
 * rd_kafka_headers_destroy() (or hand to rd_kafka_producev, which takes
 * ownership on success). */
rd_kafka_headers_t *event_headers_new(const struct event *ev);
/* event_from_message: reads and checks the ce_* headers of msg. Missing,
 * empty or malformed headers -> ERR_INVALID naming the header. */
int event_from_message(const rd_kafka_message_t *msg, struct event *ev,
                       struct err *e);

#endif
