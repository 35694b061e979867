/*
 * kafka-admin: puts proto/'s broker table onto an Apache Kafka cluster,
 * as its admin user (the certificate in SIGNPOST_KAFKA_TLS_DIR, lib/kafka.h).
 *
 *   kafka-admin BOOTSTRAP setup PROTO_DIR
 *       every topic of PROTO_DIR/topics and its .dlq twin (partitions as
 *       listed, replication SIGNPOST_KAFKA_REPLICAS, default 1), with the
 *       settings of PROTO_DIR/broker.json (compaction, retention.ms); a
 *       topic that exists has its settings set again. Then each daemon
 *       principal's ACLs (User:<daemon>): Read and Describe on what it
 *       consumes, Write and Describe on what it produces and on the .dlq
 *       twin of each topic it consumes, Write, Describe and Create on its
 *       produce prefixes (intake's partner.<org>.referrals, made as it
 *       first routes to one), Read on its own consumer group.
 *   kafka-admin BOOTSTRAP partner ORG
 *       the partner's ACLs (User:partner-<org>): Read and Describe on
 *       topics and groups under partner.<org>., Write and Describe on
 *       referral.updates. ORG must be a safe topic component.
 *   kafka-admin BOOTSTRAP wait SECONDS
 *       exits 0 once the cluster answers metadata as this user.
 *
 * Exit 0 on success; 1 with the reason on stderr.
 */
#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "kafka.h"

#define TIMEOUT_MS 30000

static rd_kafka_t *
admin_connect(const char *brokers, bool quiet)
{
        char errstr[256];
        struct err e = {0};
        /* waiting, a refused connection is expected: not logged */
        const char *const set[] = {"log_level", quiet ? "0" : "3", NULL};
        rd_kafka_conf_t *conf = kafka_conf_new(brokers, set, NULL, &e);
        rd_kafka_t *rk;

        if (conf == NULL) {
                fprintf(stderr, "kafka-admin: %s\n", e.msg);
                return NULL;
        }
        rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (rk == NULL)
                fprintf(stderr, "kafka-admin: %s\n", errstr);
        return rk;
}

/* wait_result: the admin result event of type want, or NULL. */
static rd_kafka_event_t *
wait_result(rd_kafka_queue_t *q, rd_kafka_event_type_t want)
{
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, TIMEOUT_MS + 5000);

        if (ev == NULL) {
                fprintf(stderr, "kafka-admin: no answer from the cluster\n");
                return NULL;
        }
        if (rd_kafka_event_type(ev) != want || rd_kafka_event_error(ev)) {
                fprintf(stderr, "kafka-admin: %s\n",
                        rd_kafka_event_error_string(ev));
                rd_kafka_event_destroy(ev);
                return NULL;
        }
        return ev;
}

static json_t *broker_table;
static const char *dlq_retention, *default_retention;

/* config_of: the settings of topic name as name, value pairs into kv
 * (room for max pairs); returns how many. A .dlq twin keeps its dead
 * letters dlq_retention_ms; a topic broker.json lists (partner.<org>.*
 * under "partner.*") gets its settings, and default_retention_ms unless
 * it is compacted or says otherwise. */
static int
config_of(const char *name, const char **kv, int max)
{
        const json_t *topics = json_object_get(broker_table, "topics");
        const json_t *cfg;
        size_t len = strlen(name);
        const char *k;
        json_t *v;
        int n = 0, compact = 0;

        if (len > 4 && strcmp(name + len - 4, ".dlq") == 0) {
                kv[0] = "retention.ms", kv[1] = dlq_retention;
                return 1;
        }
        cfg = json_object_get(
            topics, strncmp(name, "partner.", 8) == 0 ? "partner.*" : name);
        json_object_foreach((json_t *)cfg, k, v)
        {
                if (n + 1 >= max)
                        break;
                kv[2 * n] = k, kv[2 * n + 1] = json_string_value(v);
                compact |= strcmp(k, "cleanup.policy") == 0 &&
                           strcmp(json_string_value(v), "compact") == 0;
                n++;
        }
        if (!compact && json_object_get(cfg, "retention.ms") == NULL)
                kv[2 * n] = "retention.ms", kv[2 * n + 1] = default_retention,
                       n++;
        return n;
}

struct topic {
        char name[256];
        int partitions;
};

struct topics {
        struct topic *t;
        int n, max;
};

/* add_topic: a kafka_topic_fn listing the topic and its .dlq twin. */
static int
add_topic(const char *name, int parts, void *arg)
{
        struct topics *l = arg;

        if (l->n + 2 > l->max)
                return -1;
        snprintf(l->t[l->n].name, sizeof(l->t[l->n].name), "%s", name);
        l->t[l->n++].partitions = parts;
        snprintf(l->t[l->n].name, sizeof(l->t[l->n].name), "%s.dlq", name);
        l->t[l->n++].partitions = parts;
        return 0;
}

/* read_topics: PROTO_DIR/topics, each with its .dlq twin. */
static int
read_topics(const char *dir, struct topic *t, int max)
{
        char path[1024];
        struct topics l = {.t = t, .max = max};
        struct err e = {0};

        snprintf(path, sizeof(path), "%s/topics", dir);
        if (kafka_topics_each(path, 8, add_topic, &l, &e) < 0) {
                fprintf(stderr, "kafka-admin: %s\n",
                        e.msg[0] ? e.msg : "too many topics");
                return -1;
        }
        return l.n;
}

static int
create_topics(rd_kafka_t *rk, const struct topic *t, int n, int replicas)
{
        rd_kafka_NewTopic_t *nt[128];
        rd_kafka_ConfigResource_t *cr[128];
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *o =
            rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
        rd_kafka_event_t *ev;
        const rd_kafka_topic_result_t **res;
        const rd_kafka_ConfigResource_t **cres;
        size_t cnt;
        char errstr[256];
        int rc = -1, created = 0;

        rd_kafka_AdminOptions_set_request_timeout(o, TIMEOUT_MS, NULL, 0);
        memset(nt, 0, sizeof(nt));
        memset(cr, 0, sizeof(cr));
        for (int i = 0; i < n; i++) {
                const char *kv[32];
                int nkv = config_of(t[i].name, kv, 16), bad = 0;

                nt[i] = rd_kafka_NewTopic_new(t[i].name, t[i].partitions,
                                              replicas, errstr, sizeof(errstr));
                cr[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC,
                                                    t[i].name);
                for (int j = 0; nt[i] != NULL && j < nkv; j++)
                        bad |= rd_kafka_NewTopic_set_config(nt[i], kv[2 * j],
                                                            kv[2 * j + 1]) ||
                               rd_kafka_ConfigResource_set_config(
                                   cr[i], kv[2 * j], kv[2 * j + 1]);
                if (nt[i] == NULL || bad) {
                        fprintf(stderr, "kafka-admin: %s: bad settings\n",
                                t[i].name);
                        goto out;
                }
        }
        rd_kafka_CreateTopics(rk, nt, (size_t)n, o, q);
        if ((ev = wait_result(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT)) == NULL)
                goto out;
        res = rd_kafka_CreateTopics_result_topics(
            rd_kafka_event_CreateTopics_result(ev), &cnt);
        rc = 0;
        for (size_t i = 0; i < cnt; i++) {
                rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);

                if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                        created++;
                else if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
                        fprintf(stderr, "kafka-admin: topic %s: %s\n",
                                rd_kafka_topic_result_name(res[i]),
                                rd_kafka_topic_result_error_string(res[i]));
                        rc = -1;
                }
        }
        rd_kafka_event_destroy(ev);
        /* the settings again, for topics that were there already */
        rd_kafka_AlterConfigs(rk, cr, (size_t)n, o, q);
        if ((ev = wait_result(q, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT)) == NULL) {
                rc = -1;
                goto out;
        }
        cres = rd_kafka_AlterConfigs_result_resources(
            rd_kafka_event_AlterConfigs_result(ev), &cnt);
        for (size_t i = 0; i < cnt; i++)
                if (rd_kafka_ConfigResource_error(cres[i])) {
                        fprintf(stderr, "kafka-admin: settings of %s: %s\n",
                                rd_kafka_ConfigResource_name(cres[i]),
                                rd_kafka_ConfigResource_error_string(cres[i]));
                        rc = -1;
                }
        rd_kafka_event_destroy(ev);
        if (rc == 0)
                printf("topics: %d listed, %d created\n", n, created);
out:
        for (int i = 0; i < n; i++) {
                if (nt[i] != NULL)
                        rd_kafka_NewTopic_destroy(nt[i]);
                if (cr[i] != NULL)
                        rd_kafka_ConfigResource_destroy(cr[i]);
        }
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
        return rc;
}

/* The ACLs being gathered. */
static rd_kafka_AclBinding_t *acls[1024];
static size_t nacl;

static int
allow(rd_kafka_ResourceType_t type, const char *name,
      rd_kafka_ResourcePatternType_t pattern, const char *user,
      rd_kafka_AclOperation_t op)
{
        char principal[300], errstr[256];

        if (nacl == sizeof(acls) / sizeof(acls[0]))
                return -1;
        snprintf(principal, sizeof(principal), "User:%s", user);
        acls[nacl] = rd_kafka_AclBinding_new(
            type, name, pattern, principal, "*", op,
            RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, errstr, sizeof(errstr));
        if (acls[nacl] == NULL) {
                fprintf(stderr, "kafka-admin: acl %s: %s\n", name, errstr);
                return -1;
        }
        nacl++;
        return 0;
}

static int
topic_ops(const char *topic, rd_kafka_ResourcePatternType_t pattern,
          const char *user, rd_kafka_AclOperation_t op)
{
        return allow(RD_KAFKA_RESOURCE_TOPIC, topic, pattern, user, op) ||
               allow(RD_KAFKA_RESOURCE_TOPIC, topic, pattern, user,
                     RD_KAFKA_ACL_OPERATION_DESCRIBE);
}

static int
principal_acls(const char *user, const json_t *p)
{
        const json_t *v;
        size_t i;
        char dlq[300];
        const rd_kafka_ResourcePatternType_t lit =
            RD_KAFKA_RESOURCE_PATTERN_LITERAL;

        json_array_foreach(json_object_get(p, "consumes"), i, v)
        {
                snprintf(dlq, sizeof(dlq), "%s.dlq", json_string_value(v));
                if (topic_ops(json_string_value(v), lit, user,
                              RD_KAFKA_ACL_OPERATION_READ) ||
                    topic_ops(dlq, lit, user, RD_KAFKA_ACL_OPERATION_WRITE))
                        return -1;
        }
        json_array_foreach(json_object_get(p, "produces"), i, v)
        {
                if (topic_ops(json_string_value(v), lit, user,
                              RD_KAFKA_ACL_OPERATION_WRITE))
                        return -1;
        }
        json_array_foreach(json_object_get(p, "produces_prefixes"), i, v)
        {
                const char *pre = json_string_value(v);
                const rd_kafka_ResourcePatternType_t pfx =
                    RD_KAFKA_RESOURCE_PATTERN_PREFIXED;

                if (topic_ops(pre, pfx, user, RD_KAFKA_ACL_OPERATION_WRITE) ||
                    allow(RD_KAFKA_RESOURCE_TOPIC, pre, pfx, user,
                          RD_KAFKA_ACL_OPERATION_CREATE))
                        return -1;
        }
        if (json_object_get(p, "group") != NULL &&
            allow(RD_KAFKA_RESOURCE_GROUP,
                  json_string_value(json_object_get(p, "group")), lit, user,
                  RD_KAFKA_ACL_OPERATION_READ))
                return -1;
        return 0;
}

/* acl_count: how many ACLs the broker answers with now (-1: no answer).
 * The broker authorises from the same metadata it answers this from. */
static int
acl_count(rd_kafka_t *rk)
{
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *o =
            rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
        rd_kafka_AclBindingFilter_t *f = rd_kafka_AclBindingFilter_new(
            RD_KAFKA_RESOURCE_ANY, NULL, RD_KAFKA_RESOURCE_PATTERN_ANY, NULL,
            NULL, RD_KAFKA_ACL_OPERATION_ANY, RD_KAFKA_ACL_PERMISSION_TYPE_ANY,
            NULL, 0);
        rd_kafka_event_t *ev;
        size_t cnt = 0;
        int n = -1;

        rd_kafka_DescribeAcls(rk, f, o, q);
        if ((ev = wait_result(q, RD_KAFKA_EVENT_DESCRIBEACLS_RESULT)) != NULL) {
                rd_kafka_DescribeAcls_result_acls(
                    rd_kafka_event_DescribeAcls_result(ev), &cnt);
                n = (int)cnt;
                rd_kafka_event_destroy(ev);
        }
        rd_kafka_AclBinding_destroy(f);
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
        return n;
}

static int
create_acls(rd_kafka_t *rk)
{
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *o =
            rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
        rd_kafka_event_t *ev;
        const rd_kafka_acl_result_t **res;
        size_t cnt;
        int rc = -1;

        rd_kafka_AdminOptions_set_request_timeout(o, TIMEOUT_MS, NULL, 0);
        rd_kafka_CreateAcls(rk, acls, nacl, o, q);
        if ((ev = wait_result(q, RD_KAFKA_EVENT_CREATEACLS_RESULT)) != NULL) {
                rc = 0;
                res = rd_kafka_CreateAcls_result_acls(
                    rd_kafka_event_CreateAcls_result(ev), &cnt);
                for (size_t i = 0; i < cnt; i++) {
                        const rd_kafka_error_t *err =
                            rd_kafka_acl_result_error(res[i]);
                        if (err != NULL) {
                                fprintf(stderr, "kafka-admin: acl: %s\n",
                                        rd_kafka_error_string(err));
                                rc = -1;
                        }
                }
                rd_kafka_event_destroy(ev);
        }
        /* in force before a daemon starts: a producer refused its
         * idempotence id stays refused */
        for (int i = 0; rc == 0 && i < 100; i++) {
                int have = acl_count(rk);
                if (have >= (int)nacl)
                        break;
                usleep(100 * 1000);
        }
        if (rc == 0)
                printf("acls: %zu\n", nacl);
        for (size_t i = 0; i < nacl; i++)
                rd_kafka_AclBinding_destroy(acls[i]);
        nacl = 0;
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
        return rc;
}

/* safe_org: letters, digits, '-' and '_' only, 1-64 of them. */
static int
safe_org(const char *org)
{
        size_t n = strlen(org);

        if (n == 0 || n > 64)
                return 0;
        return strspn(org, "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") == n;
}

static int
load_table(const char *dir)
{
        char path[1024];
        json_error_t je;

        snprintf(path, sizeof(path), "%s/broker.json", dir);
        broker_table = json_load_file(path, 0, &je);
        if (broker_table == NULL) {
                fprintf(stderr, "kafka-admin: %s: %s\n", path, je.text);
                return -1;
        }
        dlq_retention = json_string_value(
            json_object_get(broker_table, "dlq_retention_ms"));
        default_retention = json_string_value(
            json_object_get(broker_table, "default_retention_ms"));
        return dlq_retention && default_retention ? 0 : -1;
}

static int
setup(rd_kafka_t *rk, const char *dir)
{
        struct topic t[128];
        const char *name;
        json_t *p;
        int n, replicas = 1;

        if (getenv("SIGNPOST_KAFKA_REPLICAS") != NULL)
                replicas = atoi(getenv("SIGNPOST_KAFKA_REPLICAS"));
        if (load_table(dir) < 0 || (n = read_topics(dir, t, 128)) < 0 ||
            create_topics(rk, t, n, replicas) < 0)
                return -1;
        json_object_foreach(json_object_get(broker_table, "principals"), name,
                            p)
        {
                if (principal_acls(name, p) < 0)
                        return -1;
        }
        return create_acls(rk);
}

static int
partner(rd_kafka_t *rk, const char *org)
{
        char user[100], prefix[100];

        if (!safe_org(org)) {
                fprintf(stderr,
                        "kafka-admin: organisation %s is not a safe topic "
                        "name part (letters, digits, - and _, 1-64)\n",
                        org);
                return -1;
        }
        snprintf(user, sizeof(user), "partner-%s", org);
        snprintf(prefix, sizeof(prefix), "partner.%s.", org);
        if (topic_ops(prefix, RD_KAFKA_RESOURCE_PATTERN_PREFIXED, user,
                      RD_KAFKA_ACL_OPERATION_READ) ||
            allow(RD_KAFKA_RESOURCE_GROUP, prefix,
                  RD_KAFKA_RESOURCE_PATTERN_PREFIXED, user,
                  RD_KAFKA_ACL_OPERATION_READ) ||
            topic_ops("referral.updates", RD_KAFKA_RESOURCE_PATTERN_LITERAL,
                      user, RD_KAFKA_ACL_OPERATION_WRITE))
                return -1;
        return create_acls(rk);
}

int
main(int argc, char **argv)
{
        rd_kafka_t *rk;
        int rc = 1;

        if (argc < 3) {
                fprintf(stderr, "usage: kafka-admin BOOTSTRAP setup PROTO_DIR"
                                " | partner ORG | wait SECONDS\n");
                return 2;
        }
        if ((rk = admin_connect(argv[1], strcmp(argv[2], "wait") == 0)) == NULL)
                return 1;
        if (strcmp(argv[2], "wait") == 0 && argc == 4) {
                for (int i = 0; i < atoi(argv[3]) * 4 && rc != 0; i++)
                        if (kafka_reachable(rk, 250))
                                rc = 0;
                        else
                                usleep(250 * 1000);
        } else if (strcmp(argv[2], "setup") == 0 && argc == 4) {
                rc = setup(rk, argv[3]) == 0 ? 0 : 1;
        } else if (strcmp(argv[2], "partner") == 0 && argc == 4) {
                rc = partner(rk, argv[3]) == 0 ? 0 : 1;
        } else {
                fprintf(stderr, "kafka-admin: unknown command %s\n", argv[2]);
                rc = 2;
        }
        rd_kafka_destroy(rk);
        json_decref(broker_table);
        return rc;
}
