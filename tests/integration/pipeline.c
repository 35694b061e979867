/*
 * The pipeline proof (issue: foundation, item 6): 10,000 events committed
 * through the outbox, published by the relay, applied by a consumer group
 * of two through the inbox. Mid-way the relay and one consumer are killed
 * with SIGKILL and restarted. At the end every event's effect is applied
 * exactly once (count and checksum) and the outbox is empty.
 *
 * The same program plays every part: `it_pipeline relay CONNINFO BROKERS`
 * and `it_pipeline consumer CONNINFO BROKERS TOPIC GROUP` run as child
 * processes; with no arguments it runs the cmocka test that drives them.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "inbox.h"
#include "kafka.h"
#include "log.h"
#include "outbox.h"
#include "testenv.h"

#define EVENTS 10000
#define SCHEMA "pipe"

static atomic_bool child_stop;

static void
on_term(int sig)
{
        (void)sig;
        atomic_store(&child_stop, true);
}

/* apply: the effect is deliberately not idempotent (a counter and an
 * append-only log), so only the inbox stands between a redelivery and a
 * double count. */
static int
apply(void *arg, struct db *db, const struct kafka_record *rec, struct err *e)
{
        json_t *j = json_loadb(rec->value, rec->value_len, 0, NULL);
        char n[24], v[24];
        const char *p[2] = {n, v};
        int rc;

        (void)arg;
        if (j == NULL || !json_is_integer(json_object_get(j, "n"))) {
                json_decref(j);
                return err_set(e, ERR_INVALID, "n", "not an event of ours");
        }
        snprintf(n, sizeof(n), "%lld",
                 (long long)json_integer_value(json_object_get(j, "n")));
        snprintf(v, sizeof(v), "%lld",
                 (long long)json_integer_value(json_object_get(j, "v")));
        json_decref(j);
        rc = db_exec(db,
                     "WITH t AS (UPDATE totals SET n = n + 1,"
                     " sum = sum + $2::bigint)"
                     " INSERT INTO effects (event_no) VALUES ($1::int)",
                     2, p, NULL, e);
        return rc;
}

static int
run_consumer(const char *conninfo, const char *brokers, const char *topic,
             const char *group)
{
        const char *topics[] = {topic, NULL};
        struct err e = {0};
        struct db *db = db_open(conninfo);
        struct inbox in = {.db = db, .consumer = group, .apply = apply};
        static const char *const conf[] = {
            "session.timeout.ms", "6000", "heartbeat.interval.ms", "500", NULL};
        struct kafka_consumer *c;
        struct sigaction sa = {.sa_handler = on_term};

        sigaction(SIGTERM, &sa, NULL);
        db_set_schema(db, SCHEMA);
        if (db_ensure(db, 10000, &e) != 0)
                return 1;
        c = kafka_consumer_new(brokers, group, topics, conf, &e);
        if (c == NULL)
                return 1;
        kafka_consumer_run(c, inbox_handle_batch, &in, 500, &child_stop, &e);
        kafka_consumer_free(c);
        db_free(db);
        return 0;
}

static int
run_relay(const char *conninfo, const char *brokers)
{
        struct err e = {0};
        struct sigaction sa = {.sa_handler = on_term};
        struct outbox_relay *r;

        sigaction(SIGTERM, &sa, NULL);
        r = outbox_relay_start(conninfo, SCHEMA, brokers, &e);
        if (r == NULL)
                return 1;
        while (!atomic_load(&child_stop))
                usleep(50000);
        outbox_relay_stop(r);
        return 0;
}

/* ---- the driver ---- */

struct world {
        char conninfo[512];
        char topic[64];
        char group[64];
        const char *brokers;
        struct db *db;
        pid_t relay, consumer[2];
};

static struct world w;

static pid_t
spawn(const char *role)
{
        pid_t pid = fork();

        if (pid == 0) {
                if (strcmp(role, "relay") == 0)
                        execl("/proc/self/exe", "it_pipeline", "relay",
                              w.conninfo, w.brokers, (char *)NULL);
                else
                        execl("/proc/self/exe", "it_pipeline", "consumer",
                              w.conninfo, w.brokers, w.topic, w.group,
                              (char *)NULL);
                _exit(127);
        }
        return pid;
}

static long
scalar(const char *sql)
{
        struct err e = {0};
        PGresult *r = db_query(w.db, sql, 0, NULL, &e);
        long v = -1;

        if (r != NULL && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0))
                v = atol(PQgetvalue(r, 0, 0));
        PQclear(r);
        return v;
}

static int
setup(void **state)
{
        struct err e = {0};

        (void)state;
        w.brokers = testenv_kafka();
        if (w.brokers == NULL ||
            testenv_db("it_pipeline", w.conninfo, sizeof(w.conninfo)) != 0)
                return -1;
        testenv_unique("it-pipeline", w.topic, sizeof(w.topic));
        testenv_unique("it-pipeline-group", w.group, sizeof(w.group));
        w.db = db_open(w.conninfo);
        if (db_exec(w.db, "CREATE SCHEMA " SCHEMA, 0, NULL, NULL, &e) != 0 ||
            db_migrate(w.db, SCHEMA, "/nonexistent", &e) != 0 ||
            db_exec(w.db,
                    "CREATE TABLE totals (n bigint NOT NULL,"
                    " sum bigint NOT NULL)",
                    0, NULL, NULL, &e) != 0 ||
            db_exec(w.db, "INSERT INTO totals VALUES (0, 0)", 0, NULL, NULL,
                    &e) != 0 ||
            db_exec(w.db, "CREATE TABLE effects (event_no int NOT NULL)", 0,
                    NULL, NULL, &e) != 0) {
                fprintf(stderr, "setup: %s\n", e.msg);
                return -1;
        }
        return 0;
}

static int
teardown(void **state)
{
        (void)state;
        db_free(w.db);
        return 0;
}

/* produce: commits events [from, to) through the outbox, 50 a
 * transaction; returns the sum of their values. */
static long long
produce(int from, int to)
{
        struct err e = {0};
        long long sum = 0;
        char buf[64], key[16];
        struct event ev;

        for (int i = from; i < to; i++) {
                long long v = (long long)i * 7 + 3;

                if ((i - from) % 50 == 0)
                        assert_int_equal(db_begin(w.db, &e), 0);
                snprintf(buf, sizeof(buf), "{\"n\":%d,\"v\":%lld}", i, v);
                snprintf(key, sizeof(key), "k%d", i % 64);
                event_init(&ev, "/signpost/test", "signpost.test.happened.v1",
                           key);
                assert_int_equal(
                    outbox_add(w.db, w.topic, key, &ev, buf, strlen(buf), &e),
                    0);
                sum += v;
                if ((i - from) % 50 == 49 || i == to - 1)
                        assert_int_equal(db_commit(w.db, &e), 0);
        }
        return sum;
}

static void
wait_for(long applied, int timeout_s)
{
        for (int i = 0; i < timeout_s * 10; i++) {
                if (scalar("SELECT count(*) FROM effects") >= applied &&
                    scalar("SELECT count(*) FROM outbox") == 0)
                        return;
                usleep(100000);
        }
}

static void
kill_and_wait(pid_t pid, int sig)
{
        kill(pid, sig);
        waitpid(pid, NULL, 0);
}

static void
test_exactly_once_through_crashes(void **state)
{
        long long sum;

        (void)state;
        w.relay = spawn("relay");
        w.consumer[0] = spawn("consumer");
        w.consumer[1] = spawn("consumer");
        sum = produce(0, 4000);
        wait_for(1500, 60);
        /* Mid-way: the relay and one consumer die without warning. */
        kill_and_wait(w.relay, SIGKILL);
        kill_and_wait(w.consumer[0], SIGKILL);
        sum += produce(4000, 7000);
        w.relay = spawn("relay");
        w.consumer[0] = spawn("consumer");
        sum += produce(7000, EVENTS);
        wait_for(EVENTS, 180);
        sleep(2); /* let any late redelivery land before counting */
        assert_int_equal(scalar("SELECT count(*) FROM effects"), EVENTS);
        assert_int_equal(scalar("SELECT count(DISTINCT event_no) FROM effects"),
                         EVENTS);
        assert_int_equal(scalar("SELECT n FROM totals"), EVENTS);
        assert_true(scalar("SELECT sum FROM totals") == sum);
        assert_int_equal(scalar("SELECT count(*) FROM outbox"), 0);
        kill_and_wait(w.relay, SIGTERM);
        kill_and_wait(w.consumer[0], SIGTERM);
        kill_and_wait(w.consumer[1], SIGTERM);
}

int
main(int argc, char **argv)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_exactly_once_through_crashes),
        };

        log_init("it_pipeline", LOG_WARN);
        if (argc == 4 && strcmp(argv[1], "relay") == 0)
                return run_relay(argv[2], argv[3]);
        if (argc == 6 && strcmp(argv[1], "consumer") == 0)
                return run_consumer(argv[2], argv[3], argv[4], argv[5]);
        return cmocka_run_group_tests(tests, setup, teardown);
}
