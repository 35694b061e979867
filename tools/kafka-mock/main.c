/*
 * kafka-mock: the development broker. Wraps librdkafka's in-process mock
 * cluster (one broker) in a process: creates the topics listed in a topics
 * file plus each one's ".dlq" twin, publishes the bootstrap address (stdout
 * and, atomically, a file), and runs until SIGTERM or SIGINT. Owns nothing
 * durable: data lives in memory, a limited amount per partition, and is
 * gone on exit. Topics not listed are auto-created on first use.
 *
 *   kafka-mock [-t topics-file] [-p partitions] [-o bootstrap-file]
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/socket.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "err.h"
#include "kafka.h"
#include "log.h"

#define DEFAULT_TOPICS "proto/topics"
#define DEFAULT_PARTITIONS 8

static volatile sig_atomic_t stopping;

struct opts {
        const char *topics;
        int topics_given;
        int partitions;
        const char *out;
};

static void
on_signal(int sig)
{
        (void)sig;
        stopping = 1;
}

/* topic_create: creates name and name.dlq with parts partitions. */
static int
topic_create(rd_kafka_mock_cluster_t *mc, const char *name, int parts)
{
        char dlq[256];
        rd_kafka_resp_err_t rc;

        snprintf(dlq, sizeof(dlq), "%s.dlq", name);
        rc = rd_kafka_mock_topic_create(mc, name, parts, 1);
        if (rc == RD_KAFKA_RESP_ERR_NO_ERROR)
                rc = rd_kafka_mock_topic_create(mc, dlq, parts, 1);
        if (rc != RD_KAFKA_RESP_ERR_NO_ERROR) {
                log_why(LOG_ERROR, "topic not created", rd_kafka_err2str(rc),
                        "topic=%s", name);
                return -1;
        }
        return 0;
}

struct made {
        rd_kafka_mock_cluster_t *mc;
        int n;
};

/* topic_made: a kafka_topic_fn creating the topic in the cluster. */
static int
topic_made(const char *name, int parts, void *arg)
{
        struct made *m = arg;

        if (topic_create(m->mc, name, parts) < 0)
                return -1;
        m->n++;
        return 0;
}

static int
topics_load(rd_kafka_mock_cluster_t *mc, const struct opts *o)
{
        struct err e = {0};
        struct made m = {.mc = mc};

        if (kafka_topics_each(o->topics, o->partitions, topic_made, &m, &e) <
            0) {
                if (e.kind == ERR_NOT_FOUND && !o->topics_given) {
                        log_warnx("no topics file, topics made on first use",
                                  "file=%s", o->topics);
                        return 0;
                }
                log_err(LOG_ERROR, "topics not created", &e, NULL);
                return -1;
        }
        log_info("topics created", "file=%s topics=%d", o->topics, m.n);
        return 0;
}

/* out_write: writes s and a newline to path via a temporary file and
 * rename, so a reader never sees half an address. */
static int
out_write(const char *path, const char *s)
{
        char tmp[4096];
        FILE *f;

        snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid());
        f = fopen(tmp, "w");
        if (f == NULL)
                return -1;
        if (fprintf(f, "%s\n", s) < 0 || fclose(f) != 0) {
                unlink(tmp);
                return -1;
        }
        if (rename(tmp, path) != 0) {
                unlink(tmp);
                return -1;
        }
        return 0;
}

static int
opts_parse(int argc, char **argv, struct opts *o)
{
        int ch;

        o->topics = DEFAULT_TOPICS;
        o->topics_given = 0;
        o->partitions = DEFAULT_PARTITIONS;
        o->out = NULL;
        while ((ch = getopt(argc, argv, "t:p:o:")) != -1) {
                switch (ch) {
                case 't':
                        o->topics = optarg;
                        o->topics_given = 1;
                        break;
                case 'p':
                        o->partitions = atoi(optarg);
                        break;
                case 'o':
                        o->out = optarg;
                        break;
                default:
                        return -1;
                }
        }
        if (optind != argc || o->partitions < 1 || o->partitions > 1000)
                return -1;
        return 0;
}

static void
signals_init(void)
{
        struct sigaction sa;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
}

/* nodelay_all: turns Nagle's algorithm off on every TCP socket of the
 * process. Apache Kafka's brokers do (socket option TCP_NODELAY); the mock
 * cluster does not, so a response it writes in two parts waited for the
 * client's delayed ACK: 40 ms for each request naming three or more
 * partitions. The cluster opens its sockets itself, so they are found
 * here, each within one pass of the serve loop. */
static void
nodelay_all(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *ent;
        int one = 1;

        if (d == NULL)
                return;
        while ((ent = readdir(d)) != NULL) {
                int fd = atoi(ent->d_name), type = 0;
                socklen_t len = sizeof(type);

                if (fd <= 2 || fd == dirfd(d) ||
                    getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0 ||
                    type != SOCK_STREAM)
                        continue;
                setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        closedir(d);
}

/* serve: runs the cluster on rk until a signal. */
static int
serve(rd_kafka_t *rk, const struct opts *o)
{
        struct timespec nap = {0, 20 * 1000000L};
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, 1);
        const char *boot;
        int rc = 1;

        if (mc == NULL) {
                log_error("mock cluster not created", NULL);
                return 1;
        }
        boot = rd_kafka_mock_cluster_bootstraps(mc);
        if (topics_load(mc, o) < 0)
                goto out;
        if (o->out != NULL && out_write(o->out, boot) < 0) {
                log_error("cannot write bootstrap file", "file=%s errno=%d",
                          o->out, errno);
                goto out;
        }
        printf("%s\n", boot);
        fflush(stdout);
        log_info("kafka-mock ready", "bootstrap=%s", boot);
        while (!stopping) {
                nodelay_all();
                nanosleep(&nap, NULL);
        }
        log_info("kafka-mock stopping", NULL);
        if (o->out != NULL)
                unlink(o->out);
        rc = 0;
out:
        rd_kafka_mock_cluster_destroy(mc);
        return rc;
}

int
main(int argc, char **argv)
{
        struct opts o;
        rd_kafka_conf_t *conf;
        rd_kafka_t *rk;
        char errstr[256];
        int rc;

        log_init("kafka-mock", LOG_INFO);
        if (opts_parse(argc, argv, &o) < 0) {
                fprintf(stderr, "usage: kafka-mock [-t topics-file] "
                                "[-p partitions] [-o bootstrap-file]\n");
                return 2;
        }
        signals_init();
        conf = rd_kafka_conf_new();
        /* The handle only hosts the cluster: no bootstrap warning. */
        rd_kafka_conf_set(conf, "log_level", "4", errstr, sizeof(errstr));
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (rk == NULL) {
                rd_kafka_conf_destroy(conf);
                log_why(LOG_ERROR, "kafka handle not created", errstr, NULL);
                return 1;
        }
        rc = serve(rk, &o);
        rd_kafka_destroy(rk);
        return rc;
}
