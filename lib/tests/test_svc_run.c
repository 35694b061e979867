/*
 * test_svc_run: the daemon skeleton's config: the shared entries it
 * adds to a daemon's own, an own entry replacing a shared one, and what
 * -n checks beyond the types (the Kafka settings librdkafka must
 * accept). Start and stop order are covered by the scripts that run
 * every daemon (tests/scripts).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "svc_run.h"
#include "testenv.h"

static const struct cfg_entry own[] = {
    {"SIGNPOST_SECRETS_DIR", CFG_PATH, NULL, true, "demo's key files"},
    {"SIGNPOST_DEMO_WIDGETS", CFG_INT, "3", false, "widgets"},
    {NULL},
};

static const struct svc_desc demo = {
    .name = "demo",
    .schema = "demo",
    .listen = "127.0.0.1:8199",
    .cfg = own,
};

static const char *const vars[] = {"SIGNPOST_DB",
                                   "SIGNPOST_KAFKA",
                                   "SIGNPOST_SECRETS_DIR",
                                   "SIGNPOST_PRINCIPAL_KEY_FILE",
                                   "SIGNPOST_KAFKA_FETCH_WAIT_MS",
                                   "SIGNPOST_RDKAFKA_NO_SUCH_THING",
                                   "SIGNPOST_RDKAFKA_SOCKET_TIMEOUT_MS",
                                   "SIGNPOST_KAFKA_TLS_DIR",
                                   "SIGNPOST_DEMO_WIDGETS",
                                   NULL};

static int
setup(void **state)
{
        (void)state;
        for (size_t i = 0; vars[i] != NULL; i++)
                unsetenv(vars[i]);
        setenv("SIGNPOST_DB", "host=db", 1);
        setenv("SIGNPOST_KAFKA", "127.0.0.1:1", 1);
        setenv("SIGNPOST_SECRETS_DIR", "/nonexistent", 1);
        setenv("SIGNPOST_PRINCIPAL_KEY_FILE", "/nonexistent/p.key", 1);
        return 0;
}

static int
run_demo(void *flag)
{
        char *argv[] = {"signpost-demo", flag, NULL};

        return svc_run(&demo, 2, argv);
}

/* run: svc_run(&demo, flag) with what it prints captured. */
static int
run(const char *flag, char *out, char *errtext, size_t sz)
{
        return testenv_capture(run_demo, (void *)flag, out, errtext, sz);
}

/* line: the -h line of name (up to its newline) into buf, or "". */
static const char *
line(const char *out, const char *name, char *buf, size_t sz)
{
        const char *p = strstr(out, name);
        size_t n = p != NULL ? strcspn(p, "\n") : 0;

        snprintf(buf, sz, "%.*s", (int)n, p != NULL ? p : "");
        return buf;
}

static void
test_help_lists_shared_then_own(void **state)
{
        static char out[16384], errtext[4096];
        char buf[512];

        (void)state;
        assert_int_equal(run("-h", out, errtext, sizeof(out)), 0);
        assert_non_null(
            strstr(line(out, "SIGNPOST_DEMO_LISTEN", buf, sizeof(buf)),
                   "127.0.0.1:8199"));
        assert_non_null(
            strstr(line(out, "SIGNPOST_MIGRATIONS_DIR", buf, sizeof(buf)),
                   "services/demo/migrations"));
        assert_non_null(strstr(out, "SIGNPOST_KAFKA_FETCH_WAIT_MS"));
        assert_non_null(strstr(out, "SIGNPOST_KAFKA_TLS_DIR"));
        assert_non_null(strstr(out, "SIGNPOST_RDKAFKA_*"));
        assert_non_null(strstr(out, "SIGNPOST_DEMO_WIDGETS"));
        /* the own SIGNPOST_SECRETS_DIR replaced the shared one */
        assert_non_null(
            strstr(line(out, "SIGNPOST_SECRETS_DIR", buf, sizeof(buf)),
                   "demo's key files"));
        assert_null(strstr(strstr(out, "SIGNPOST_SECRETS_DIR") + 1,
                           "SIGNPOST_SECRETS_DIR"));
        assert_true(strstr(out, "SIGNPOST_LOG_LEVEL") <
                    strstr(out, "SIGNPOST_DEMO_WIDGETS"));
}

static void
test_check_names_the_missing_setting(void **state)
{
        char out[4096], errtext[4096];

        (void)state;
        assert_int_equal(run("-n", out, errtext, sizeof(out)), 0);
        assert_string_equal(out, "config OK\n");
        unsetenv("SIGNPOST_SECRETS_DIR"); /* required by demo's own entry */
        assert_int_equal(run("-n", out, errtext, sizeof(out)), 1);
        assert_string_equal(errtext, "config error: SIGNPOST_SECRETS_DIR: "
                                     "required but not set\n");
}

static void
test_check_asks_librdkafka(void **state)
{
        char out[4096], errtext[4096];

        (void)state;
        setenv("SIGNPOST_RDKAFKA_SOCKET_TIMEOUT_MS", "5000", 1);
        setenv("SIGNPOST_KAFKA_FETCH_WAIT_MS", "10", 1);
        assert_int_equal(run("-n", out, errtext, sizeof(out)), 0);
        setenv("SIGNPOST_RDKAFKA_NO_SUCH_THING", "1", 1);
        assert_int_equal(run("-n", out, errtext, sizeof(out)), 1);
        assert_non_null(strstr(errtext, "config error: "
                                        "SIGNPOST_RDKAFKA_NO_SUCH_THING: "));
        unsetenv("SIGNPOST_RDKAFKA_NO_SUCH_THING");
        setenv("SIGNPOST_KAFKA_FETCH_WAIT_MS", "999999999", 1);
        assert_int_equal(run("-n", out, errtext, sizeof(out)), 1);
        assert_non_null(
            strstr(errtext, "config error: SIGNPOST_KAFKA_FETCH_WAIT_MS: "));
        setenv("SIGNPOST_KAFKA_FETCH_WAIT_MS", "soon", 1);
        assert_int_equal(run("-n", out, errtext, sizeof(out)), 1);
        assert_string_equal(errtext, "config error: "
                                     "SIGNPOST_KAFKA_FETCH_WAIT_MS: not an "
                                     "integer\n");
}

static void
test_kafka_env_set_wins_over_the_environment(void **state)
{
        const struct kafka_env env = {.tls_dir = "/from/config",
                                      .fetch_wait_ms = "25"};

        (void)state;
        setenv("SIGNPOST_KAFKA_TLS_DIR", "/from/environment", 1);
        assert_string_equal(kafka_env_tls_dir(), "/from/environment");
        assert_null(kafka_env_fetch_wait());
        kafka_env_set(&env);
        assert_string_equal(kafka_env_tls_dir(), "/from/config");
        assert_string_equal(kafka_env_fetch_wait(), "25");
        kafka_env_set(NULL);
        assert_string_equal(kafka_env_tls_dir(), "/from/environment");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup(test_help_lists_shared_then_own, setup),
            cmocka_unit_test_setup(test_check_names_the_missing_setting, setup),
            cmocka_unit_test_setup(test_check_asks_librdkafka, setup),
            cmocka_unit_test_setup(test_kafka_env_set_wins_over_the_environment,
                                   setup),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
