/*
 * test_svc: stop signals and component readiness. Signal behaviour is
 * tested in forked children so each starts from a fresh stop flag.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "svc.h"

/* in_child: runs fn in a child process; returns its wait status. The
 * child exits with fn's return value. */
static int
in_child(int (*fn)(void))
{
        int status = -1;
        pid_t pid = fork();

        if (pid == 0)
                _exit(fn());
        waitpid(pid, &status, 0);
        return status;
}

static int
child_first_sigterm_sets_flag(void)
{
        if (svc_signals_install() < 0 || svc_stopping())
                return 10;
        raise(SIGTERM);
        if (!svc_stopping() || !atomic_load(svc_stop_flag()))
                return 11;
        if (svc_stop_signal() != SIGTERM)
                return 12;
        return 0;
}

static void
test_first_sigterm_sets_stop_flag(void **state)
{
        int status = in_child(child_first_sigterm_sets_flag);

        (void)state;
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static int
child_second_signal_exits(void)
{
        svc_signals_install();
        raise(SIGINT);
        if (!svc_stopping())
                return 10;
        raise(SIGTERM);
        return 0; /* not reached when the second signal exits */
}

static void
test_second_signal_exits_1_at_once(void **state)
{
        int status = in_child(child_second_signal_exits);

        (void)state;
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 1);
}

static int
child_request_stop(void)
{
        svc_signals_install();
        svc_request_stop();
        if (!svc_stopping() || svc_stop_signal() != 0)
                return 10;
        raise(SIGTERM); /* still the first signal: must not exit */
        return svc_stop_signal() == SIGTERM ? 0 : 11;
}

static void
test_request_stop_sets_flag_without_counting_as_signal(void **state)
{
        int status = in_child(child_request_stop);

        (void)state;
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static int
child_sigpipe(void)
{
        svc_signals_install();
        raise(SIGPIPE);
        return svc_stopping() ? 10 : 0;
}

static void
test_sigpipe_is_ignored(void **state)
{
        int status = in_child(child_sigpipe);

        (void)state;
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_ready_with_no_components(void **state)
{
        (void)state;
        svc_ready_reset();
        assert_true(svc_ready(NULL, 0));
}

static void
test_ready_names_first_unready_component(void **state)
{
        char why[64] = "";

        (void)state;
        svc_ready_reset();
        svc_ready_set("db", false);
        svc_ready_set("kafka", false);
        svc_ready_set("migrations", true);
        assert_false(svc_ready(why, sizeof(why)));
        assert_string_equal(why, "db not ready");
        svc_ready_set("db", true);
        assert_false(svc_ready(why, sizeof(why)));
        assert_string_equal(why, "kafka not ready");
        svc_ready_set("kafka", true);
        assert_true(svc_ready(why, sizeof(why)));
}

static void
test_component_can_become_unready_again(void **state)
{
        char why[64] = "";

        (void)state;
        svc_ready_reset();
        svc_ready_set("db", true);
        assert_true(svc_ready(why, sizeof(why)));
        svc_ready_set("db", false);
        assert_false(svc_ready(why, sizeof(why)));
        assert_string_equal(why, "db not ready");
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_first_sigterm_sets_stop_flag),
            cmocka_unit_test(test_second_signal_exits_1_at_once),
            cmocka_unit_test(
                test_request_stop_sets_flag_without_counting_as_signal),
            cmocka_unit_test(test_sigpipe_is_ignored),
            cmocka_unit_test(test_ready_with_no_components),
            cmocka_unit_test(test_ready_names_first_unready_component),
            cmocka_unit_test(test_component_can_become_unready_again),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
