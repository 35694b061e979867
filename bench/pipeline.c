/*
 * bench/pipeline: outbox -> Kafka -> inbox throughput.
 *
 * A writer commits N events through the outbox (100 per transaction, as a
 * busy daemon would); the relay publishes them; a consumer group of two
 * applies each one through the inbox (one row inserted per event). The
 * figure is N divided by the time from the first commit to the last
 * effect applied, after one untimed event has gone through (the topic
 * made, the group joined). Prints "pipeline_events_per_s=<n>".
 *
 *   pipeline N    (needs SIGNPOST_TEST_PG and SIGNPOST_TEST_KAFKA)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "inbox.h"
#include "kafka.h"
#include "log.h"
#include "outbox.h"
#include "testenv.h"

static char conninfo[512];
static char topic[64], group[64];
static atomic_bool stop;

static int
apply(void *arg, struct db *db, const struct kafka_record *rec, struct err *e)
{
        const char *p[1] = {rec->ev.id};

        (void)arg;
        return db_exec(db, "INSERT INTO effects (ce_id) VALUES ($1)", 1, p,
                       NULL, e);
}

static void *
consumer_main(void *arg)
{
        const char *topics[] = {topic, NULL};
        struct err e = {0};
        struct db *db = db_open(conninfo);
        struct inbox in = {.db = db, .consumer = group, .apply = apply};
        struct kafka_consumer *c;

        (void)arg;
        db_set_schema(db, "bench");
        c = kafka_consumer_new(testenv_kafka(), group, topics, NULL, &e);
        if (c == NULL) {
                fprintf(stderr, "consumer: %s\n", e.msg);
                return NULL;
        }
        kafka_consumer_run(c, inbox_handle_batch, &in, 1000, &stop, &e);
        kafka_consumer_free(c);
        db_free(db);
        return NULL;
}

static double
now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
count(struct db *db, const char *sql)
{
        PGresult *r = db_query(db, sql, 0, NULL, NULL);
        long n = r ? atol(PQgetvalue(r, 0, 0)) : -1;

        PQclear(r);
        return n;
}

static int
write_events(struct db *db, int n)
{
        struct err e = {0};
        struct event ev;
        char key[16], val[64];

        for (int i = 0; i < n; i++) {
                if (i % 100 == 0 && db_begin(db, &e) != 0)
                        return -1;
                snprintf(key, sizeof(key), "k%d", i % 256);
                snprintf(val, sizeof(val), "{\"n\":%d}", i);
                event_init(&ev, "/signpost/bench", "signpost.bench.done.v1",
                           NULL);
                if (outbox_add(db, topic, key, &ev, val, strlen(val), &e) != 0)
                        return -1;
                if ((i % 100 == 99 || i == n - 1) && db_commit(db, &e) != 0)
                        return -1;
        }
        return 0;
}

int
main(int argc, char **argv)
{
        int n = argc > 1 ? atoi(argv[1]) : 50000;
        struct err e = {0};
        struct db *db;
        struct outbox_relay *relay;
        pthread_t th[2];
        double t0, t1;
        long applied;

        log_init("bench", LOG_WARN);
        if (testenv_kafka() == NULL ||
            testenv_db("bench_pipeline", conninfo, sizeof(conninfo)) != 0)
                return 1;
        testenv_unique("bench-pipeline", topic, sizeof(topic));
        testenv_unique("bench-pipeline-g", group, sizeof(group));
        db = db_open(conninfo);
        if (db_exec(db, "CREATE SCHEMA bench", 0, NULL, NULL, &e) != 0 ||
            db_migrate(db, "bench", "/nonexistent", &e) != 0 ||
            db_exec(db, "CREATE TABLE effects (ce_id uuid NOT NULL)", 0, NULL,
                    NULL, &e) != 0) {
                fprintf(stderr, "setup: %s\n", e.msg);
                return 1;
        }
        for (int i = 0; i < 2; i++)
                pthread_create(&th[i], NULL, consumer_main, NULL);
        relay = outbox_relay_start(conninfo, "bench", testenv_kafka(), &e);
        /* one event first, not timed: the topic exists (Apache Kafka makes
         * it as the relay first produces to it, and a consumer subscribed
         * before that only finds it at a metadata refresh) and the group
         * has its partitions before the clock starts */
        if (write_events(db, 1) != 0)
                return 1;
        t0 = now_s();
        while (count(db, "SELECT count(*) FROM effects") < 1 &&
               now_s() - t0 < 120)
                usleep(20000);
        sleep(1); /* let the group settle */
        if (db_exec(db, "DELETE FROM effects", 0, NULL, NULL, &e) != 0) {
                fprintf(stderr, "setup: %s\n", e.msg);
                return 1;
        }
        t0 = now_s();
        if (write_events(db, n) != 0)
                return 1;
        while (count(db, "SELECT count(*) FROM effects") < n &&
               now_s() - t0 < 300)
                usleep(20000);
        t1 = now_s();
        applied = count(db, "SELECT count(*) FROM effects");
        atomic_store(&stop, true);
        for (int i = 0; i < 2; i++)
                pthread_join(th[i], NULL);
        outbox_relay_stop(relay);
        db_free(db);
        if (applied != n) {
                fprintf(stderr, "pipeline: %ld of %d applied\n", applied, n);
                return 1;
        }
        printf("pipeline_events=%d seconds=%.2f\n", n, t1 - t0);
        printf("pipeline_events_per_s=%.0f\n", n / (t1 - t0));
        return 0;
}
