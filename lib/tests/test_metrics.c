/*
 * test_metrics: registry behaviour and the rendered Prometheus text.
 * Each test uses its own metric names (the registry is process-wide).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdbool.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "metrics.h"

/* has_line: true when text contains line as a whole line. */
static bool
has_line(const char *text, const char *line)
{
        size_t n = strlen(line);

        for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
                if ((p == text || p[-1] == '\n') && p[n] == '\n')
                        return true;
        return false;
}

static void
assert_rendered(const char *line)
{
        char *text = metrics_render();

        assert_non_null(text);
        if (!has_line(text, line))
                fail_msg("missing line: %s\nin:\n%s", line, text);
        free(text);
}

static void
test_counter_renders_help_type_and_value(void **state)
{
        struct metrics_counter *c =
            metrics_counter_register("t_jobs_total", "Jobs done.", METRICS_END);

        (void)state;
        metrics_counter_inc(c);
        metrics_counter_add(c, 41);
        assert_rendered("# HELP t_jobs_total Jobs done.");
        assert_rendered("# TYPE t_jobs_total counter");
        assert_rendered("t_jobs_total 42");
}

static void
test_labelled_series_share_one_family(void **state)
{
        struct metrics_counter *a, *b, *again;
        char *text;

        (void)state;
        a = metrics_counter_register("t_recs_total", "Records.", "topic", "a",
                                     "result", "ok", METRICS_END);
        b = metrics_counter_register("t_recs_total", "Records.", "topic", "b",
                                     "result", "ok", METRICS_END);
        again = metrics_counter_register("t_recs_total", "Records.", "topic",
                                         "a", "result", "ok", METRICS_END);
        assert_ptr_equal(a, again);
        assert_ptr_not_equal(a, b);
        metrics_counter_inc(a);
        metrics_counter_add(b, 3);
        assert_rendered("t_recs_total{topic=\"a\",result=\"ok\"} 1");
        assert_rendered("t_recs_total{topic=\"b\",result=\"ok\"} 3");
        text = metrics_render();
        assert_non_null(text);
        /* one HELP line for the family, however many series */
        {
                const char *p = strstr(text, "# HELP t_recs_total");
                assert_non_null(p);
                assert_null(strstr(p + 1, "# HELP t_recs_total"));
        }
        free(text);
}

static void
test_label_values_are_escaped(void **state)
{
        struct metrics_gauge *g;

        (void)state;
        g = metrics_gauge_register("t_escaped", "Escaping.", "v", "a\"b\\c\nd",
                                   METRICS_END);
        metrics_gauge_set(g, 1);
        assert_rendered("t_escaped{v=\"a\\\"b\\\\c\\nd\"} 1");
}

static void
test_gauge_set_and_add(void **state)
{
        struct metrics_gauge *g =
            metrics_gauge_register("t_inflight", "In flight.", METRICS_END);

        (void)state;
        metrics_gauge_set(g, 10);
        metrics_gauge_add(g, -2.5);
        assert_true(metrics_gauge_value(g) == 7.5);
        assert_rendered("t_inflight 7.5");
}

static double
read_lag(void *arg)
{
        return (double)*(int *)arg;
}

static void
test_gauge_callback_is_read_at_scrape_time(void **state)
{
        static int lag = 5; /* read by every later render */

        (void)state;
        metrics_gauge_callback("t_lag", "Consumer lag.", read_lag, &lag,
                               "group", "intake", METRICS_END);
        assert_rendered("t_lag{group=\"intake\"} 5");
        lag = 1234;
        assert_rendered("# TYPE t_lag gauge");
        assert_rendered("t_lag{group=\"intake\"} 1234");
}

static void
test_histogram_buckets_are_cumulative(void **state)
{
        struct metrics_histogram *h = metrics_histogram_register(
            "t_latency_seconds", "Latency.", "route", "/x", METRICS_END);

        (void)state;
        metrics_histogram_observe(h, 0.0005); /* <= .001 */
        metrics_histogram_observe(h, 0.003);  /* <= .005 */
        metrics_histogram_observe(h, 0.2);    /* <= .25 */
        metrics_histogram_observe(h, 60);     /* +Inf only */
        assert_int_equal(metrics_histogram_count(h), 4);
        assert_rendered("# TYPE t_latency_seconds histogram");
        assert_rendered("t_latency_seconds_bucket{route=\"/x\",le=\"0.001\"} "
                        "1");
        assert_rendered("t_latency_seconds_bucket{route=\"/x\",le=\"0.0025\"} "
                        "1");
        assert_rendered("t_latency_seconds_bucket{route=\"/x\",le=\"0.005\"} "
                        "2");
        assert_rendered("t_latency_seconds_bucket{route=\"/x\",le=\"0.25\"} 3");
        assert_rendered("t_latency_seconds_bucket{route=\"/x\",le=\"10\"} 3");
        assert_rendered("t_latency_seconds_bucket{route=\"/x\",le=\"+Inf\"} 4");
        assert_rendered("t_latency_seconds_sum{route=\"/x\"} 60.2035");
        assert_rendered("t_latency_seconds_count{route=\"/x\"} 4");
}

static void
test_histogram_without_labels(void **state)
{
        struct metrics_histogram *h = metrics_histogram_register(
            "t_plain_seconds", "Plain.", METRICS_END);

        (void)state;
        metrics_histogram_observe(h, 1);
        assert_rendered("t_plain_seconds_bucket{le=\"1\"} 1");
        assert_rendered("t_plain_seconds_bucket{le=\"0.5\"} 0");
        assert_rendered("t_plain_seconds_count 1");
        assert_rendered("t_plain_seconds_sum 1");
}

#define NTHREADS 4
#define PER_THREAD 100000

static void *
hammer(void *arg)
{
        struct metrics_counter *c = metrics_counter_register(
            "t_hammer_total", "Concurrent.", METRICS_END);
        struct metrics_histogram *h = metrics_histogram_register(
            "t_hammer_seconds", "Concurrent.", METRICS_END);

        (void)arg;
        for (int i = 0; i < PER_THREAD; i++) {
                metrics_counter_inc(c);
                metrics_histogram_observe(h, 0.5);
        }
        return NULL;
}

static void
test_concurrent_updates_are_not_lost(void **state)
{
        pthread_t th[NTHREADS];
        char line[128];

        (void)state;
        for (int i = 0; i < NTHREADS; i++)
                pthread_create(&th[i], NULL, hammer, NULL);
        for (int i = 0; i < NTHREADS; i++)
                pthread_join(th[i], NULL);
        snprintf(line, sizeof(line), "t_hammer_total %d",
                 NTHREADS * PER_THREAD);
        assert_rendered(line);
        snprintf(line, sizeof(line), "t_hammer_seconds_sum %d",
                 NTHREADS * PER_THREAD / 2);
        assert_rendered(line);
}

static void
test_type_conflict_aborts(void **state)
{
        int status = 0;
        pid_t pid;

        (void)state;
        metrics_counter_register("t_conflict", "A counter.", METRICS_END);
        pid = fork();
        if (pid == 0) {
                if (freopen("/dev/null", "w", stderr) == NULL)
                        _exit(99);
                metrics_gauge_register("t_conflict", "Now a gauge.",
                                       METRICS_END);
                _exit(0);
        }
        waitpid(pid, &status, 0);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGABRT);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_counter_renders_help_type_and_value),
            cmocka_unit_test(test_labelled_series_share_one_family),
            cmocka_unit_test(test_label_values_are_escaped),
            cmocka_unit_test(test_gauge_set_and_add),
            cmocka_unit_test(test_gauge_callback_is_read_at_scrape_time),
            cmocka_unit_test(test_histogram_buckets_are_cumulative),
            cmocka_unit_test(test_histogram_without_labels),
            cmocka_unit_test(test_concurrent_updates_are_not_lost),
            cmocka_unit_test(test_type_conflict_aborts),
        };

        return cmocka_run_group_tests(tests, NULL, NULL);
}
