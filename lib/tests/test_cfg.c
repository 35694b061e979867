/*
 * test_cfg: config table loading, typed getters and the shared -n/-h
 * command line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cfg.h"
#include "testenv.h"

static const struct cfg_entry table[] = {
    {"SIGNPOST_T_DB", CFG_STR, NULL, true, "PostgreSQL conninfo"},
    {"SIGNPOST_T_THREADS", CFG_INT, "4", false, "HTTP threads"},
    {"SIGNPOST_T_DEBUG", CFG_BOOL, "false", false, "debug mode"},
    {"SIGNPOST_T_KEY", CFG_PATH, NULL, false, "key file"},
    {"SIGNPOST_T_TIMEOUT", CFG_DURATION_MS, "5s", false, "timeout"},
    {NULL},
};

static int
setup(void **state)
{
        (void)state;
        unsetenv("SIGNPOST_T_DB");
        unsetenv("SIGNPOST_T_THREADS");
        unsetenv("SIGNPOST_T_DEBUG");
        unsetenv("SIGNPOST_T_KEY");
        unsetenv("SIGNPOST_T_TIMEOUT");
        setenv("SIGNPOST_T_DB", "host=db", 1);
        return 0;
}

static void
test_defaults_apply(void **state)
{
        struct err e = {0};
        struct cfg *c = cfg_load(table, &e);

        (void)state;
        assert_non_null(c);
        assert_string_equal(cfg_str(c, "SIGNPOST_T_DB"), "host=db");
        assert_int_equal(cfg_int(c, "SIGNPOST_T_THREADS"), 4);
        assert_false(cfg_bool(c, "SIGNPOST_T_DEBUG"));
        assert_int_equal(cfg_int(c, "SIGNPOST_T_TIMEOUT"), 5000);
        assert_null(cfg_str(c, "SIGNPOST_T_KEY"));
        assert_false(cfg_isset(c, "SIGNPOST_T_KEY"));
        cfg_free(c);
}

static void
test_environment_overrides_defaults(void **state)
{
        struct err e = {0};
        struct cfg *c;

        (void)state;
        setenv("SIGNPOST_T_THREADS", "16", 1);
        setenv("SIGNPOST_T_DEBUG", "YES", 1);
        setenv("SIGNPOST_T_KEY", "/run/secrets/key", 1);
        setenv("SIGNPOST_T_TIMEOUT", "250ms", 1);
        c = cfg_load(table, &e);
        assert_non_null(c);
        assert_int_equal(cfg_int(c, "SIGNPOST_T_THREADS"), 16);
        assert_true(cfg_bool(c, "SIGNPOST_T_DEBUG"));
        assert_string_equal(cfg_str(c, "SIGNPOST_T_KEY"), "/run/secrets/key");
        assert_int_equal(cfg_int(c, "SIGNPOST_T_TIMEOUT"), 250);
        cfg_free(c);
}

static void
test_duration_units(void **state)
{
        static const struct {
                const char *text;
                int64_t ms;
        } cases[] = {{"0", 0},
                     {"1500", 1500},
                     {"2s", 2000},
                     {"3m", 180000},
                     {"1h", 3600000}};
        struct err e = {0};

        (void)state;
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                struct cfg *c;

                setenv("SIGNPOST_T_TIMEOUT", cases[i].text, 1);
                c = cfg_load(table, &e);
                assert_non_null(c);
                assert_int_equal(cfg_int(c, "SIGNPOST_T_TIMEOUT"), cases[i].ms);
                cfg_free(c);
        }
}

static void
expect_bad(const char *name, const char *value, const char *why)
{
        struct err e = {0};
        struct cfg *c;

        setenv(name, value, 1);
        c = cfg_load(table, &e);
        assert_null(c);
        assert_int_equal(e.kind, ERR_INVALID);
        assert_string_equal(e.field, name);
        assert_non_null(strstr(e.msg, name));
        assert_non_null(strstr(e.msg, why));
        unsetenv(name);
}

static void
test_bad_values_name_the_variable(void **state)
{
        (void)state;
        expect_bad("SIGNPOST_T_THREADS", "abc", "not an integer");
        expect_bad("SIGNPOST_T_THREADS", "12x", "not an integer");
        expect_bad("SIGNPOST_T_THREADS", "99999999999999999999",
                   "out of range");
        expect_bad("SIGNPOST_T_DEBUG", "maybe", "not a boolean");
        expect_bad("SIGNPOST_T_TIMEOUT", "5 weeks", "not a duration");
        expect_bad("SIGNPOST_T_TIMEOUT", "-5s", "not a duration");
}

static void
test_missing_required_fails(void **state)
{
        struct err e = {0};

        (void)state;
        unsetenv("SIGNPOST_T_DB");
        assert_null(cfg_load(table, &e));
        assert_string_equal(e.field, "SIGNPOST_T_DB");
        assert_string_equal(e.msg, "SIGNPOST_T_DB: required but not set");
        setenv("SIGNPOST_T_DB", "", 1); /* empty counts as unset */
        assert_null(cfg_load(table, &e));
        assert_string_equal(e.field, "SIGNPOST_T_DB");
}

/* run_aborts: true when fn aborts the (forked) process. */
static bool
run_aborts(void (*fn)(struct cfg *), struct cfg *c)
{
        int status = 0;
        pid_t pid = fork();

        if (pid == 0) {
                if (freopen("/dev/null", "w", stderr) == NULL)
                        _exit(99);
                fn(c);
                _exit(0);
        }
        waitpid(pid, &status, 0);
        return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

static void
ask_unknown(struct cfg *c)
{
        (void)cfg_str(c, "SIGNPOST_T_NOPE");
}

static void
ask_wrong_type(struct cfg *c)
{
        (void)cfg_bool(c, "SIGNPOST_T_THREADS");
}

static void
ask_known(struct cfg *c)
{
        (void)cfg_int(c, "SIGNPOST_T_THREADS");
}

static void
test_unknown_name_aborts(void **state)
{
        struct err e = {0};
        struct cfg *c = cfg_load(table, &e);

        (void)state;
        assert_non_null(c);
        assert_true(run_aborts(ask_unknown, c));
        assert_true(run_aborts(ask_wrong_type, c));
        assert_false(run_aborts(ask_known, c));
        cfg_free(c);
}

static cfg_check_fn check_fn; /* what capture hands cfg_main_check */

struct main_args {
        char **argv;
        int argc;
        struct cfg **cfg;
};

static int
main_check(void *arg)
{
        struct main_args *m = arg;

        return cfg_main_check(m->argc, m->argv, table, check_fn, m->cfg);
}

/* capture: runs cfg_main_check with what it prints captured into
 * out/errtext. */
static int
capture(char **argv, int argc, struct cfg **cfg, char *out, char *errtext,
        size_t sz)
{
        struct main_args m = {argv, argc, cfg};

        return testenv_capture(main_check, &m, out, errtext, sz);
}

static void
test_main_check_n_prints_config_ok(void **state)
{
        char *argv[] = {"signpost-test", "-n", NULL};
        char out[4096], errtext[4096];
        struct cfg *c = (struct cfg *)1;

        (void)state;
        assert_int_equal(capture(argv, 2, &c, out, errtext, sizeof(out)), 0);
        assert_null(c);
        assert_string_equal(out, "config OK\n");
}

static void
test_main_check_error_exits_1(void **state)
{
        char *argv[] = {"signpost-test", "-n", NULL};
        char out[4096], errtext[4096];
        struct cfg *c = NULL;

        (void)state;
        setenv("SIGNPOST_T_THREADS", "abc", 1);
        assert_int_equal(capture(argv, 2, &c, out, errtext, sizeof(out)), 1);
        assert_null(c);
        assert_string_equal(errtext, "config error: SIGNPOST_T_THREADS: not an "
                                     "integer\n");
        assert_null(strstr(out, "config OK"));
}

static void
test_main_check_run_returns_cfg(void **state)
{
        char *argv[] = {"signpost-test", NULL};
        char out[4096], errtext[4096];
        struct cfg *c = NULL;

        (void)state;
        assert_int_equal(capture(argv, 1, &c, out, errtext, sizeof(out)),
                         CFG_MAIN_RUN);
        assert_non_null(c);
        assert_string_equal(cfg_str(c, "SIGNPOST_T_DB"), "host=db");
        cfg_free(c);
}

static void
test_main_check_m_returns_cfg_to_migrate(void **state)
{
        char *argv[] = {"signpost-test", "-m", NULL};
        char out[4096], errtext[4096];
        struct cfg *c = NULL;

        (void)state;
        assert_int_equal(capture(argv, 2, &c, out, errtext, sizeof(out)),
                         CFG_MAIN_MIGRATE);
        assert_non_null(c);
        assert_string_equal(cfg_str(c, "SIGNPOST_T_DB"), "host=db");
        cfg_free(c);
}

static void
test_main_check_h_prints_table(void **state)
{
        char *argv[] = {"signpost-test", "-h", NULL};
        char out[4096], errtext[4096];
        struct cfg *c = NULL;

        (void)state;
        unsetenv("SIGNPOST_T_DB"); /* help works without a valid config */
        assert_int_equal(capture(argv, 2, &c, out, errtext, sizeof(out)), 0);
        assert_null(c);
        assert_non_null(strstr(out, "SIGNPOST_T_DB"));
        assert_non_null(strstr(out, "PostgreSQL conninfo"));
        assert_non_null(strstr(out, "duration"));
        assert_non_null(strstr(out, "5s"));
        assert_non_null(strstr(out, "yes"));
}

static void
test_main_check_unknown_argument(void **state)
{
        char *argv[] = {"signpost-test", "--frobnicate", NULL};
        char out[4096], errtext[4096];
        struct cfg *c = NULL;

        (void)state;
        assert_int_equal(capture(argv, 2, &c, out, errtext, sizeof(out)), 2);
        assert_null(c);
        assert_non_null(strstr(errtext, "--frobnicate"));
}

static const struct cfg_entry prefixed[] = {
    {"SIGNPOST_T_DB", CFG_STR, NULL, true, "PostgreSQL conninfo"},
    {"SIGNPOST_T_LIB_", CFG_PREFIX, NULL, false, "passed to a library"},
    {NULL},
};

static void
test_prefix_entry_lists_its_variables(void **state)
{
        struct err e = {0};
        struct cfg *c;
        const char *const *l;
        int a = 0, b = 0, n = 0;

        (void)state;
        setenv("SIGNPOST_T_LIB_A", "1", 1);
        setenv("SIGNPOST_T_LIB_B_C", "two", 1);
        setenv("SIGNPOST_T_LIB_EMPTY", "", 1); /* empty counts as unset */
        c = cfg_load(prefixed, &e);
        assert_non_null(c);
        for (l = cfg_list(c, "SIGNPOST_T_LIB_"); *l != NULL; l += 2, n++) {
                a += strcmp(l[0], "SIGNPOST_T_LIB_A") == 0 &&
                     strcmp(l[1], "1") == 0;
                b += strcmp(l[0], "SIGNPOST_T_LIB_B_C") == 0 &&
                     strcmp(l[1], "two") == 0;
        }
        assert_int_equal(n, 2);
        assert_int_equal(a + b, 2);
        cfg_free(c);
        unsetenv("SIGNPOST_T_LIB_A");
        unsetenv("SIGNPOST_T_LIB_B_C");
        unsetenv("SIGNPOST_T_LIB_EMPTY");
        c = cfg_load(prefixed, &e);
        assert_non_null(c);
        assert_null(cfg_list(c, "SIGNPOST_T_LIB_")[0]);
        cfg_free(c);
}

static void
test_bare_prefix_is_an_error(void **state)
{
        struct err e = {0};

        (void)state;
        setenv("SIGNPOST_T_LIB_", "1", 1);
        assert_null(cfg_load(prefixed, &e));
        unsetenv("SIGNPOST_T_LIB_");
        assert_string_equal(e.field, "SIGNPOST_T_LIB_");
        assert_non_null(strstr(e.msg, "names no setting"));
}

static int
refuse_threads_5(const struct cfg *c, struct err *e)
{
        if (cfg_int(c, "SIGNPOST_T_THREADS") == 5)
                return err_set(e, ERR_INVALID, "SIGNPOST_T_THREADS",
                               "SIGNPOST_T_THREADS: 5 is refused");
        return 0;
}

static void
test_main_check_runs_the_check(void **state)
{
        char *argv[] = {"signpost-test", "-n", NULL};
        char out[4096], errtext[4096];
        struct cfg *c = NULL;

        (void)state;
        check_fn = refuse_threads_5;
        assert_int_equal(capture(argv, 2, &c, out, errtext, sizeof(out)), 0);
        assert_string_equal(out, "config OK\n");
        setenv("SIGNPOST_T_THREADS", "5", 1);
        assert_int_equal(capture(argv, 2, &c, out, errtext, sizeof(out)), 1);
        assert_null(c);
        assert_string_equal(errtext,
                            "config error: SIGNPOST_T_THREADS: 5 is refused\n");
        argv[1] = NULL; /* the run is refused too, not only -n */
        assert_int_equal(capture(argv, 1, &c, out, errtext, sizeof(out)), 1);
        assert_null(c);
        check_fn = NULL;
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup(test_defaults_apply, setup),
            cmocka_unit_test_setup(test_environment_overrides_defaults, setup),
            cmocka_unit_test_setup(test_duration_units, setup),
            cmocka_unit_test_setup(test_bad_values_name_the_variable, setup),
            cmocka_unit_test_setup(test_missing_required_fails, setup),
            cmocka_unit_test_setup(test_unknown_name_aborts, setup),
            cmocka_unit_test_setup(test_main_check_n_prints_config_ok, setup),
            cmocka_unit_test_setup(test_main_check_error_exits_1, setup),
            cmocka_unit_test_setup(test_main_check_run_returns_cfg, setup),
            cmocka_unit_test_setup(test_main_check_m_returns_cfg_to_migrate,
                                   setup),
            cmocka_unit_test_setup(test_main_check_h_prints_table, setup),
            cmocka_unit_test_setup(test_main_check_unknown_argument, setup),
            cmocka_unit_test_setup(test_prefix_entry_lists_its_variables,
                                   setup),
            cmocka_unit_test_setup(test_bare_prefix_is_an_error, setup),
            cmocka_unit_test_setup(test_main_check_runs_the_check, setup),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
