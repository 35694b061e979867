/*
 * test_log: a reason logged with log_err, log_why or log_kafka stays one
 * value of one line, whatever it holds: each line is read back with a
 * strict logfmt parser (below), which must find exactly the keys the
 * caller wrote and the reason unchanged once unescaped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "log.h"

/* A reason that tries everything: ends the value, starts keys of its own,
 * ends the line and starts a forged one, and carries control bytes. */
static const char evil[] = "bad \"x\" \\ lvl=info admin=yes\" forged=1\n"
                           "ts=2026-01-01T00:00:00.000Z lvl=info msg=\"ok\""
                           "\r\ttab\x01\x1f\x7f caf\xc3\xa9";

#define MAXPAIRS 16

struct pair {
        char key[32];
        char val[4096];
};

/* parse: one logfmt line (key=value or key="escaped value", one space
 * between pairs, ending in a single newline) into p. Returns the pair
 * count, or -1 when line is not exactly that. */
static int
parse(const char *line, struct pair *p)
{
        const char *s = line;
        int n = 0;

        for (;;) {
                size_t k = 0, v = 0;

                if (n == MAXPAIRS)
                        return -1;
                while (*s != '=' && *s != ' ' && *s != '"' && *s != '\n' &&
                       *s != '\0' && k + 1 < sizeof(p[n].key))
                        p[n].key[k++] = *s++;
                p[n].key[k] = '\0';
                if (k == 0 || *s++ != '=')
                        return -1;
                if (*s == '"') {
                        for (s++; *s != '"'; s++) {
                                if (*s == '\0' || *s == '\n' ||
                                    (unsigned char)*s < 0x20 ||
                                    v + 2 >= sizeof(p[n].val))
                                        return -1;
                                if (*s != '\\') {
                                        p[n].val[v++] = *s;
                                        continue;
                                }
                                s++;
                                if (*s == '\\' || *s == '"')
                                        p[n].val[v++] = *s;
                                else if (*s == 'n')
                                        p[n].val[v++] = '\n';
                                else if (*s == 'r')
                                        p[n].val[v++] = '\r';
                                else if (*s == 't')
                                        p[n].val[v++] = '\t';
                                else if (*s == 'u' &&
                                         strncmp(s, "u00", 3) == 0 &&
                                         s[3] != '\0' && s[4] != '\0') {
                                        char hex[3] = {s[3], s[4], 0};

                                        p[n].val[v++] =
                                            (char)strtol(hex, NULL, 16);
                                        s += 4;
                                } else
                                        return -1;
                        }
                        s++;
                } else {
                        while (*s != ' ' && *s != '\n' && *s != '\0' &&
                               *s != '"' && v + 1 < sizeof(p[n].val))
                                p[n].val[v++] = *s++;
                }
                p[n++].val[v] = '\0';
                if (*s == '\n')
                        return s[1] == '\0' ? n : -1;
                if (*s++ != ' ')
                        return -1;
        }
}

/* value: the value of key in p, or NULL. */
static const char *
value(const struct pair *p, int n, const char *key)
{
        for (int i = 0; i < n; i++)
                if (strcmp(p[i].key, key) == 0)
                        return p[i].val;
        return NULL;
}

/* keys: the keys of p, space-separated, into out. */
static void
keys(const struct pair *p, int n, char *out, size_t outsz)
{
        size_t o = 0;

        out[0] = '\0';
        for (int i = 0; i < n; i++)
                o += (size_t)snprintf(out + o, outsz - o, "%s%s", i ? " " : "",
                                      p[i].key);
}

static char *buf;
static size_t buflen;
static FILE *stream;

static int
setup(void **state)
{
        (void)state;
        stream = open_memstream(&buf, &buflen);
        assert_non_null(stream);
        log_init("test", LOG_DEBUG);
        log_set_stream(stream);
        return 0;
}

static int
teardown(void **state)
{
        (void)state;
        log_set_stream(NULL);
        fclose(stream);
        free(buf);
        buf = NULL;
        return 0;
}

/* written: what the log wrote since setup, parsed; asserts it is exactly
 * one well-formed line. */
static int
written(struct pair *p)
{
        int n;

        fflush(stream);
        assert_non_null(buf);
        assert_non_null(strchr(buf, '\n'));
        assert_int_equal(strchr(buf, '\n') - buf, (ptrdiff_t)buflen - 1);
        n = parse(buf, p);
        assert_true(n > 0);
        return n;
}

static void
test_err_message_cannot_break_the_line(void **state)
{
        static struct pair p[MAXPAIRS];
        struct err e = {0};
        char k[256];
        int n;

        (void)state;
        err_set(&e, ERR_INVALID, "boxed\"x=1", "%s", evil);
        log_err(LOG_WARN, "referral not accepted", &e, "request_id=%s", "r-1");
        n = written(p);
        keys(p, n, k, sizeof(k));
        assert_string_equal(k, "ts lvl svc msg request_id kind field why");
        assert_string_equal(value(p, n, "lvl"), "warn");
        assert_string_equal(value(p, n, "msg"), "referral not accepted");
        assert_string_equal(value(p, n, "request_id"), "r-1");
        assert_string_equal(value(p, n, "kind"), "invalid");
        assert_string_equal(value(p, n, "field"), "boxed\"x=1");
        assert_string_equal(value(p, n, "why"), evil);
        /* and the control bytes are written as escapes, not as bytes */
        assert_null(strchr(buf, '\r'));
        assert_null(strchr(buf, '\t'));
        assert_null(strchr(buf, '\x01'));
        assert_null(strchr(buf, '\x7f'));
        assert_non_null(strstr(buf, "\\u0001\\u001f\\u007f"));
}

static void
test_err_without_field_or_pairs(void **state)
{
        static struct pair p[MAXPAIRS];
        struct err e = {0};
        char k[256];
        int n;

        (void)state;
        err_set(&e, ERR_FATAL, NULL, "key file /x: empty");
        log_err(LOG_ERROR, "stopping", &e, NULL);
        n = written(p);
        keys(p, n, k, sizeof(k));
        assert_string_equal(k, "ts lvl svc msg kind why");
        assert_string_equal(value(p, n, "kind"), "fatal");
        assert_string_equal(value(p, n, "why"), "key file /x: empty");
}

static void
test_err_null_is_kind_none(void **state)
{
        static struct pair p[MAXPAIRS];
        int n;

        (void)state;
        log_err(LOG_WARN, "audit event not written", NULL, "request_id=%s",
                "r-2");
        n = written(p);
        assert_string_equal(value(p, n, "kind"), "none");
        assert_string_equal(value(p, n, "why"), "");
}

static void
test_why_and_kafka_escape_too(void **state)
{
        static struct pair p[MAXPAIRS];
        char k[256];
        int n;

        (void)state;
        log_why(LOG_WARN, "kafka error", evil, "err=%s", "_TRANSPORT");
        n = written(p);
        keys(p, n, k, sizeof(k));
        assert_string_equal(k, "ts lvl svc msg err why");
        assert_string_equal(value(p, n, "why"), evil);
        teardown(state);
        setup(state);
        log_kafka(LOG_WARN, "dead-lettered", "t", 3, 42, evil);
        n = written(p);
        keys(p, n, k, sizeof(k));
        assert_string_equal(k, "ts lvl svc msg topic partition offset why");
        assert_string_equal(value(p, n, "offset"), "42");
        assert_string_equal(value(p, n, "why"), evil);
        teardown(state);
        setup(state);
        log_why(LOG_WARN, "http server", NULL, NULL); /* no reason: no why */
        n = written(p);
        keys(p, n, k, sizeof(k));
        assert_string_equal(k, "ts lvl svc msg");
}

/* A reason too long for the line is cut between escapes: the value
 * still closes, and the caller's pairs are all there. */
static void
test_long_reason_is_cut_but_closed(void **state)
{
        static struct pair p[MAXPAIRS];
        char why[3000];
        int n;

        (void)state;
        memset(why, '"', sizeof(why) - 1);
        why[sizeof(why) - 1] = '\0';
        log_why(LOG_WARN, "outbox delivery failed", why, "seq=%d", 7);
        n = written(p);
        assert_string_equal(value(p, n, "seq"), "7");
        assert_true(strlen(value(p, n, "why")) > 100);
        assert_true(strspn(value(p, n, "why"), "\"") ==
                    strlen(value(p, n, "why")));
}

static void
test_below_level_is_dropped(void **state)
{
        struct err e = {0};

        (void)state;
        log_init("test", LOG_ERROR);
        err_set(&e, ERR_TRANSIENT, NULL, "later");
        log_err(LOG_WARN, "sender waiting", &e, NULL);
        log_why(LOG_INFO, "librdkafka", "x", NULL);
        fflush(stream);
        assert_true(buflen == 0);
        log_init("test", LOG_DEBUG);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(
                test_err_message_cannot_break_the_line, setup, teardown),
            cmocka_unit_test_setup_teardown(test_err_without_field_or_pairs,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(test_err_null_is_kind_none, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_why_and_kafka_escape_too,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(test_long_reason_is_cut_but_closed,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(test_below_level_is_dropped, setup,
                                            teardown),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
