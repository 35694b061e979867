/*
 * log: one logfmt line per event on stderr.
 *
 *   ts=2026-11-24T10:00:00.123Z lvl=info svc=intake msg="referral stored" \
 *       referral_id=0193...
 *
 * The message is a fixed phrase; the key=value pairs carry ids only (topic,
 * partition, offset, request id, referral id). Payloads, names and addresses
 * never reach a log line: there is deliberately no helper that takes one.
 *
 * A failure is logged with log_err (a struct err) or log_why (another
 * library's error string), which add kind= and why="..." with the reason
 * escaped: \ " and control characters become \\ \" \n \r \t \u00XX, so
 * a reason cannot end the line or start a key of its own. Never write
 * why="%s" by hand.
 */
#ifndef SIGNPOST_LOG_H
#define SIGNPOST_LOG_H

#include <stdint.h>
#include <stdio.h>

#include "err.h"

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* log_init: svc is copied. Lines below min are dropped. */
void log_init(const char *svc, enum log_level min);
/* log_level_parse: "debug", "info", "warn", "error" -> 0, else -1. */
int log_level_parse(const char *s, enum log_level *out);
/* log_set_stream: write to f instead of stderr (tests); NULL restores. */
void log_set_stream(FILE *f);

/* log_line: kvfmt is a printf format producing space-separated key=value
 * pairs (may be NULL). Values that may contain spaces must be passed
 * through %s only if they are ids or fixed words. */
void log_line(enum log_level lvl, const char *msg, const char *kvfmt, ...)
    __attribute__((format(printf, 3, 4)));

/* log_err: a line about the failure e: kvfmt's pairs (as log_line's; may
 * be NULL), then kind=<err_kind_name>, field="<e->field>" when it names
 * one, and why="<e->msg>", the values escaped. e NULL: kind=none and an
 * empty why. */
void log_err(enum log_level lvl, const char *msg, const struct err *e,
             const char *kvfmt, ...) __attribute__((format(printf, 4, 5)));
/* log_why: the same for a reason that is not a struct err (a library's
 * error string): kvfmt's pairs, then why="<why>" escaped (none when why
 * is NULL). */
void log_why(enum log_level lvl, const char *msg, const char *why,
             const char *kvfmt, ...) __attribute__((format(printf, 4, 5)));

/* log_kafka: a line about one Kafka record (topic/partition/offset), with
 * why escaped as log_why's (why may be NULL). */
void log_kafka(enum log_level lvl, const char *msg, const char *topic,
               int32_t partition, int64_t offset, const char *why);

#define log_debug(msg, ...) log_line(LOG_DEBUG, msg, __VA_ARGS__)
#define log_info(msg, ...) log_line(LOG_INFO, msg, __VA_ARGS__)
#define log_warnx(msg, ...) log_line(LOG_WARN, msg, __VA_ARGS__)
#define log_error(msg, ...) log_line(LOG_ERROR, msg, __VA_ARGS__)

#endif
