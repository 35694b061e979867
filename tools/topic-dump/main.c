/*
 * topic-dump: every record of some (or all) topics, from the beginning to
 * the current end, as one JSON line each:
 *   {"topic","partition","offset","timestamp_ms","key","headers":{..},
 *    "value"|"value_b64"}
 * (timestamp_ms: the record's own timestamp, the producer's clock at
 * produce unless the topic uses log-append time)
 * For tests (schema validation, canary scans) and for operators looking
 * at a development broker. Reads with assign(), so it joins no group and
 * commits nothing.
 *
 *   topic-dump BOOTSTRAP [TOPIC ...]    (no topic: all but __internal)
 *
 * As the broker user of SIGNPOST_KAFKA_TLS_DIR when set (lib/kafka.h
 * kafka_conf_new).
 */
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "kafka.h"

static rd_kafka_t *
open_consumer(const char *brokers)
{
        /* it reads by assign() from the start and commits nothing; the
         * group (SIGNPOST_TOPIC_DUMP_GROUP, default topic-dump) must be
         * one the broker user may use */
        const char *group = getenv("SIGNPOST_TOPIC_DUMP_GROUP");
        const char *const set[] = {"group.id",
                                   group ? group : "topic-dump",
                                   "enable.auto.commit",
                                   "false",
                                   "enable.partition.eof",
                                   "true",
                                   "log_level",
                                   "3",
                                   NULL};
        char errstr[256];
        struct err e = {0};
        /* the broker user from the environment, like every daemon */
        rd_kafka_conf_t *conf = kafka_conf_new(brokers, set, NULL, &e);

        if (conf == NULL) {
                fprintf(stderr, "topic-dump: %s\n", e.msg);
                return NULL;
        }
        return rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr));
}

static json_t *
bytes_json(const void *p, size_t len)
{
        char *b64;
        json_t *j;

        if (p == NULL)
                return json_null();
        j = json_stringn(p, len); /* NULL unless valid UTF-8 */
        if (j != NULL)
                return j;
        b64 = malloc(sodium_base64_ENCODED_LEN(len, 1));
        sodium_bin2base64(b64, sodium_base64_ENCODED_LEN(len, 1), p, len, 1);
        j = json_pack("{ss}", "base64", b64);
        free(b64);
        return j;
}

static void
print_record(const rd_kafka_message_t *m)
{
        rd_kafka_headers_t *hdrs = NULL;
        json_t *o = json_object(), *h = json_object();
        const char *name;
        const void *val;
        size_t len;
        char *line;
        int64_t ts;

        json_object_set_new(o, "topic",
                            json_string(rd_kafka_topic_name(m->rkt)));
        json_object_set_new(o, "partition", json_integer(m->partition));
        json_object_set_new(o, "offset", json_integer(m->offset));
        ts = rd_kafka_message_timestamp(m, NULL);
        if (ts >= 0)
                json_object_set_new(o, "timestamp_ms", json_integer(ts));
        json_object_set_new(o, "key", bytes_json(m->key, m->key_len));
        if (rd_kafka_message_headers(m, &hdrs) == RD_KAFKA_RESP_ERR_NO_ERROR)
                for (size_t i = 0;
                     rd_kafka_header_get_all(hdrs, i, &name, &val, &len) ==
                     RD_KAFKA_RESP_ERR_NO_ERROR;
                     i++)
                        json_object_set_new(h, name, bytes_json(val, len));
        json_object_set_new(o, "headers", h);
        json_object_set_new(o, "value", bytes_json(m->payload, m->len));
        line = json_dumps(o, JSON_COMPACT);
        puts(line);
        free(line);
        json_decref(o);
}

static int refused; /* a named topic the broker would not give us */

/* wanted: the partitions to read (all of the listed topics, or all). A
 * listed topic the broker refuses (an ACL) is reported on stderr and
 * makes the exit status 1. */
static rd_kafka_topic_partition_list_t *
wanted(rd_kafka_t *rk, int ntopics, char **topics)
{
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_partition_list_t *l =
            rd_kafka_topic_partition_list_new(64);

        rd_kafka_resp_err_t err = rd_kafka_metadata(rk, 1, NULL, &md, 10000);

        if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                fprintf(stderr, "topic-dump: no metadata from the broker: %s\n",
                        rd_kafka_err2str(err));
                refused = 1;
                return l;
        }
        for (int t = 0; t < md->topic_cnt; t++) {
                const char *name = md->topics[t].topic;
                int keep = ntopics == 0 && name[0] != '_';

                for (int i = 0; i < ntopics; i++)
                        keep = keep || strcmp(topics[i], name) == 0;
                if (keep && md->topics[t].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
                        fprintf(stderr, "topic-dump: %s: %s\n", name,
                                rd_kafka_err2str(md->topics[t].err));
                        refused = 1;
                        continue;
                }
                for (int p = 0; keep && p < md->topics[t].partition_cnt; p++) {
                        int64_t lo = 0, hi = 0;

                        rd_kafka_query_watermark_offsets(rk, name, p, &lo, &hi,
                                                         5000);
                        if (hi > lo)
                                rd_kafka_topic_partition_list_add(l, name, p)
                                    ->offset = lo;
                }
        }
        for (int i = 0; i < ntopics; i++) {
                int found = 0;

                for (int t = 0; t < md->topic_cnt && !found; t++)
                        found = strcmp(topics[i], md->topics[t].topic) == 0;
                if (!found) {
                        fprintf(stderr,
                                "topic-dump: %s: no such topic, or not one "
                                "this user may describe\n",
                                topics[i]);
                        refused = 1;
                }
        }
        rd_kafka_metadata_destroy(md);
        return l;
}

int
main(int argc, char **argv)
{
        rd_kafka_t *rk;
        rd_kafka_topic_partition_list_t *parts;
        int left, idle = 0;

        if (argc < 2 || sodium_init() < 0) {
                fprintf(stderr, "usage: topic-dump BOOTSTRAP [TOPIC ...]\n");
                return 2;
        }
        if ((rk = open_consumer(argv[1])) == NULL)
                return 1;
        parts = wanted(rk, argc - 2, argv + 2);
        left = parts->cnt;
        rd_kafka_assign(rk, parts);
        while (left > 0 && idle < 100) {
                rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);

                if (m == NULL) {
                        idle++;
                        continue;
                }
                idle = 0;
                if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF)
                        left--;
                else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR)
                        print_record(m);
                else {
                        fprintf(stderr, "topic-dump: %s\n",
                                rd_kafka_message_errstr(m));
                        refused = 1;
                        left = 0;
                }
                rd_kafka_message_destroy(m);
        }
        rd_kafka_topic_partition_list_destroy(parts);
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        return left == 0 && !refused ? 0 : 1;
}
