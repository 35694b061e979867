/*
 * kafka_admin: proto/broker.json onto an Apache Kafka cluster
 * (kafka_admin.h).
 */
#include "kafka_admin.h"

#include <jansson.h>
#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kafka.h"
#include "uuid.h"

#define TIMEOUT_MS 30000
#define MAX_TOPICS 128
#define MAX_ACLS 1024
/* a partner's topic, as the broker would make it on intake's first record
 * (scripts/kafka.sh num.partitions) */
#define PARTNER_PARTITIONS 8

struct kafka_admin {
        rd_kafka_t *rk;
        json_t *table;
        const char *dlq_retention, *default_retention;
        int replicas;
        const char *min_isr;
        rd_kafka_AclBinding_t *acls[MAX_ACLS];
        size_t nacl;
};

struct topic {
        char name[256];
        int partitions;
};

static int
load_table(struct kafka_admin *ka, const char *dir, struct err *e)
{
        char path[1024];
        json_error_t je;

        snprintf(path, sizeof(path), "%s/broker.json", dir);
        ka->table = json_load_file(path, 0, &je);
        if (ka->table == NULL)
                return err_set(e, ERR_INVALID, NULL, "%s: %s", path, je.text);
        ka->dlq_retention =
            json_string_value(json_object_get(ka->table, "dlq_retention_ms"));
        ka->default_retention = json_string_value(
            json_object_get(ka->table, "default_retention_ms"));
        if (ka->dlq_retention == NULL || ka->default_retention == NULL)
                return err_set(e, ERR_INVALID, NULL,
                               "%s: dlq_retention_ms and default_retention_ms"
                               " are required",
                               path);
        return 0;
}

struct kafka_admin *
kafka_admin_new(const char *brokers, const char *proto_dir, bool quiet,
                struct err *e)
{
        char errstr[256];
        /* waiting, a refused connection is expected: not logged */
        const char *const set[] = {"log_level", quiet ? "0" : "3", NULL};
        const char *r = getenv("SIGNPOST_KAFKA_REPLICAS");
        const char *isr = getenv("SIGNPOST_KAFKA_MIN_ISR");
        struct kafka_admin *ka = calloc(1, sizeof(*ka));
        rd_kafka_conf_t *conf;

        if (ka == NULL) {
                err_set(e, ERR_FATAL, NULL, "out of memory");
                return NULL;
        }
        ka->replicas = r != NULL && atoi(r) > 0 ? atoi(r) : 1;
        ka->min_isr = isr != NULL && atoi(isr) > 0 ? isr : NULL;
        if (proto_dir != NULL && load_table(ka, proto_dir, e) < 0)
                goto fail;
        if ((conf = kafka_conf_new(brokers, set, NULL, e)) == NULL)
                goto fail;
        ka->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        if (ka->rk == NULL) {
                err_set(e, ERR_FATAL, NULL, "%s", errstr);
                goto fail;
        }
        return ka;
fail:
        kafka_admin_free(ka);
        return NULL;
}

void
kafka_admin_free(struct kafka_admin *ka)
{
        if (ka == NULL)
                return;
        for (size_t i = 0; i < ka->nacl; i++)
                rd_kafka_AclBinding_destroy(ka->acls[i]);
        if (ka->rk != NULL)
                rd_kafka_destroy(ka->rk);
        json_decref(ka->table);
        free(ka);
}

int
kafka_admin_wait(struct kafka_admin *ka, int seconds, struct err *e)
{
        for (int i = 0; i < seconds * 4; i++) {
                if (kafka_reachable(ka->rk, 250))
                        return 0;
                usleep(250 * 1000);
        }
        return err_set(e, ERR_TRANSIENT, NULL,
                       "the cluster did not answer in %d s", seconds);
}

/* wait_result: the admin result event of type want, or NULL. */
static rd_kafka_event_t *
wait_result(rd_kafka_queue_t *q, rd_kafka_event_type_t want, struct err *e)
{
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, TIMEOUT_MS + 5000);

        if (ev == NULL) {
                err_set(e, ERR_TRANSIENT, NULL, "no answer from the cluster");
                return NULL;
        }
        if (rd_kafka_event_type(ev) != want || rd_kafka_event_error(ev)) {
                err_set(e, ERR_TRANSIENT, NULL, "%s",
                        rd_kafka_event_error_string(ev));
                rd_kafka_event_destroy(ev);
                return NULL;
        }
        return ev;
}

/* config_of: the settings of topic name as name, value pairs into kv
 * (room for max pairs); returns how many. A .dlq twin keeps its dead
 * letters dlq_retention_ms; a topic broker.json lists (partner.<org>.*
 * under "partner.*") gets its settings, and default_retention_ms unless
 * it is compacted or says otherwise; min.insync.replicas as set. */
static int
config_of(const struct kafka_admin *ka, const char *name, const char **kv,
          int max)
{
        const json_t *topics = json_object_get(ka->table, "topics");
        const json_t *cfg = NULL;
        size_t len = strlen(name);
        const char *k;
        json_t *v;
        int n = 0, compact = 0;

        if (len > 4 && strcmp(name + len - 4, ".dlq") == 0) {
                kv[2 * n] = "retention.ms", kv[2 * n + 1] = ka->dlq_retention,
                       n++;
        } else {
                cfg = json_object_get(topics, strncmp(name, "partner.", 8) == 0
                                                  ? "partner.*"
                                                  : name);
                json_object_foreach((json_t *)cfg, k, v)
                {
                        if (n + 2 >= max)
                                break;
                        kv[2 * n] = k, kv[2 * n + 1] = json_string_value(v);
                        compact |= strcmp(k, "cleanup.policy") == 0 &&
                                   strcmp(json_string_value(v), "compact") == 0;
                        n++;
                }
                if (!compact && json_object_get(cfg, "retention.ms") == NULL)
                        kv[2 * n] = "retention.ms",
                               kv[2 * n + 1] = ka->default_retention, n++;
        }
        if (ka->min_isr != NULL)
                kv[2 * n] = "min.insync.replicas", kv[2 * n + 1] = ka->min_isr,
                       n++;
        return n;
}

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

/* alter_configs: sets each resource's settings (the whole set: a setting
 * not named goes back to the broker's default). */
static int
alter_configs(struct kafka_admin *ka, rd_kafka_ConfigResource_t **cr, int n,
              struct err *e)
{
        rd_kafka_queue_t *q = rd_kafka_queue_new(ka->rk);
        rd_kafka_AdminOptions_t *o =
            rd_kafka_AdminOptions_new(ka->rk, RD_KAFKA_ADMIN_OP_ANY);
        const rd_kafka_ConfigResource_t **res;
        rd_kafka_event_t *ev;
        size_t cnt;
        int rc = 0;

        rd_kafka_AdminOptions_set_request_timeout(o, TIMEOUT_MS, NULL, 0);
        rd_kafka_AlterConfigs(ka->rk, cr, (size_t)n, o, q);
        if ((ev = wait_result(q, RD_KAFKA_EVENT_ALTERCONFIGS_RESULT, e)) ==
            NULL)
                rc = -1;
        else {
                res = rd_kafka_AlterConfigs_result_resources(
                    rd_kafka_event_AlterConfigs_result(ev), &cnt);
                for (size_t i = 0; i < cnt; i++)
                        if (rd_kafka_ConfigResource_error(res[i]))
                                rc = err_set(
                                    e, ERR_TRANSIENT, NULL,
                                    "settings of %s: %s",
                                    rd_kafka_ConfigResource_name(res[i]),
                                    rd_kafka_ConfigResource_error_string(
                                        res[i]));
                rd_kafka_event_destroy(ev);
        }
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
        return rc;
}

/* create_topics: each topic with its settings; one that exists has its
 * settings set again. */
static int
create_topics(struct kafka_admin *ka, const struct topic *t, int n,
              int *created, struct err *e)
{
        rd_kafka_t *rk = ka->rk;
        rd_kafka_NewTopic_t *nt[MAX_TOPICS];
        rd_kafka_ConfigResource_t *cr[MAX_TOPICS];
        rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
        rd_kafka_AdminOptions_t *o =
            rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_ANY);
        rd_kafka_event_t *ev;
        const rd_kafka_topic_result_t **res;
        size_t cnt;
        char errstr[256];
        int rc = -1, made = 0;

        rd_kafka_AdminOptions_set_request_timeout(o, TIMEOUT_MS, NULL, 0);
        memset(nt, 0, sizeof(nt));
        memset(cr, 0, sizeof(cr));
        for (int i = 0; i < n; i++) {
                const char *kv[32];
                int nkv = config_of(ka, t[i].name, kv, 16), bad = 0;

                nt[i] =
                    rd_kafka_NewTopic_new(t[i].name, t[i].partitions,
                                          ka->replicas, errstr, sizeof(errstr));
                cr[i] = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC,
                                                    t[i].name);
                for (int j = 0; nt[i] != NULL && j < nkv; j++)
                        bad |= rd_kafka_NewTopic_set_config(nt[i], kv[2 * j],
                                                            kv[2 * j + 1]) ||
                               rd_kafka_ConfigResource_set_config(
                                   cr[i], kv[2 * j], kv[2 * j + 1]);
                if (nt[i] == NULL || bad) {
                        err_set(e, ERR_INVALID, NULL, "%s: bad settings",
                                t[i].name);
                        goto out;
                }
        }
        rd_kafka_CreateTopics(rk, nt, (size_t)n, o, q);
        if ((ev = wait_result(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT, e)) ==
            NULL)
                goto out;
        res = rd_kafka_CreateTopics_result_topics(
            rd_kafka_event_CreateTopics_result(ev), &cnt);
        rc = 0;
        for (size_t i = 0; i < cnt; i++) {
                rd_kafka_resp_err_t err = rd_kafka_topic_result_error(res[i]);

                if (err == RD_KAFKA_RESP_ERR_NO_ERROR)
                        made++;
                else if (err != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS)
                        rc =
                            err_set(e, ERR_TRANSIENT, NULL, "topic %s: %s",
                                    rd_kafka_topic_result_name(res[i]),
                                    rd_kafka_topic_result_error_string(res[i]));
        }
        rd_kafka_event_destroy(ev);
        /* the settings again, for topics that were there already */
        if (alter_configs(ka, cr, n, e) < 0) {
                rc = -1;
                goto out;
        }
        if (created != NULL)
                *created = made;
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

static int
allow(struct kafka_admin *ka, rd_kafka_ResourceType_t type, const char *name,
      rd_kafka_ResourcePatternType_t pattern, const char *user,
      rd_kafka_AclOperation_t op, struct err *e)
{
        char principal[300], errstr[256];

        if (ka->nacl == MAX_ACLS)
                return err_set(e, ERR_INVALID, NULL, "more than %d ACLs",
                               MAX_ACLS);
        snprintf(principal, sizeof(principal), "User:%s", user);
        ka->acls[ka->nacl] = rd_kafka_AclBinding_new(
            type, name, pattern, principal, "*", op,
            RD_KAFKA_ACL_PERMISSION_TYPE_ALLOW, errstr, sizeof(errstr));
        if (ka->acls[ka->nacl] == NULL)
                return err_set(e, ERR_INVALID, NULL, "acl %s: %s", name,
                               errstr);
        ka->nacl++;
        return 0;
}

/* topic_ops: op and Describe on a topic (or prefix). */
static int
topic_ops(struct kafka_admin *ka, const char *topic,
          rd_kafka_ResourcePatternType_t pattern, const char *user,
          rd_kafka_AclOperation_t op, struct err *e)
{
        return allow(ka, RD_KAFKA_RESOURCE_TOPIC, topic, pattern, user, op,
                     e) ||
               allow(ka, RD_KAFKA_RESOURCE_TOPIC, topic, pattern, user,
                     RD_KAFKA_ACL_OPERATION_DESCRIBE, e);
}

/* principal_acls: a daemon's: Read and Describe on what it consumes,
 * Write and Describe on what it produces and on the .dlq twin of each
 * topic it consumes, Write, Describe and Create on its produce prefixes
 * (intake's partner.<org>.referrals, made as it first routes to one),
 * Read on its own consumer group. */
static int
principal_acls(struct kafka_admin *ka, const char *user, const json_t *p,
               struct err *e)
{
        const rd_kafka_ResourcePatternType_t lit =
            RD_KAFKA_RESOURCE_PATTERN_LITERAL;
        const rd_kafka_ResourcePatternType_t pfx =
            RD_KAFKA_RESOURCE_PATTERN_PREFIXED;
        const json_t *v, *group = json_object_get(p, "group");
        size_t i;
        char dlq[300];

        json_array_foreach(json_object_get(p, "consumes"), i, v)
        {
                snprintf(dlq, sizeof(dlq), "%s.dlq", json_string_value(v));
                if (topic_ops(ka, json_string_value(v), lit, user,
                              RD_KAFKA_ACL_OPERATION_READ, e) ||
                    topic_ops(ka, dlq, lit, user, RD_KAFKA_ACL_OPERATION_WRITE,
                              e))
                        return -1;
        }
        json_array_foreach(json_object_get(p, "produces"), i, v)
        {
                if (topic_ops(ka, json_string_value(v), lit, user,
                              RD_KAFKA_ACL_OPERATION_WRITE, e))
                        return -1;
        }
        json_array_foreach(json_object_get(p, "produces_prefixes"), i, v)
        {
                const char *pre = json_string_value(v);

                if (topic_ops(ka, pre, pfx, user, RD_KAFKA_ACL_OPERATION_WRITE,
                              e) ||
                    allow(ka, RD_KAFKA_RESOURCE_TOPIC, pre, pfx, user,
                          RD_KAFKA_ACL_OPERATION_CREATE, e))
                        return -1;
        }
        if (group != NULL &&
            allow(ka, RD_KAFKA_RESOURCE_GROUP, json_string_value(group), lit,
                  user, RD_KAFKA_ACL_OPERATION_READ, e))
                return -1;
        return 0;
}

/* acl_count: how many ACLs the broker answers with now (-1: no answer).
 * The broker authorises from the same metadata it answers this from. */
static int
acl_count(struct kafka_admin *ka)
{
        rd_kafka_queue_t *q = rd_kafka_queue_new(ka->rk);
        rd_kafka_AdminOptions_t *o =
            rd_kafka_AdminOptions_new(ka->rk, RD_KAFKA_ADMIN_OP_ANY);
        rd_kafka_AclBindingFilter_t *f = rd_kafka_AclBindingFilter_new(
            RD_KAFKA_RESOURCE_ANY, NULL, RD_KAFKA_RESOURCE_PATTERN_ANY, NULL,
            NULL, RD_KAFKA_ACL_OPERATION_ANY, RD_KAFKA_ACL_PERMISSION_TYPE_ANY,
            NULL, 0);
        rd_kafka_event_t *ev;
        size_t cnt = 0;
        int n = -1;

        rd_kafka_DescribeAcls(ka->rk, f, o, q);
        if ((ev = wait_result(q, RD_KAFKA_EVENT_DESCRIBEACLS_RESULT, NULL)) !=
            NULL) {
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

/* create_acls: the ACLs gathered, then waits until the broker answers
 * with at least as many (in force before a daemon starts: a producer
 * refused its idempotence id stays refused). */
static int
create_acls(struct kafka_admin *ka, struct err *e)
{
        rd_kafka_queue_t *q = rd_kafka_queue_new(ka->rk);
        rd_kafka_AdminOptions_t *o =
            rd_kafka_AdminOptions_new(ka->rk, RD_KAFKA_ADMIN_OP_ANY);
        rd_kafka_event_t *ev;
        const rd_kafka_acl_result_t **res;
        size_t cnt;
        int rc = -1;

        rd_kafka_AdminOptions_set_request_timeout(o, TIMEOUT_MS, NULL, 0);
        rd_kafka_CreateAcls(ka->rk, ka->acls, ka->nacl, o, q);
        if ((ev = wait_result(q, RD_KAFKA_EVENT_CREATEACLS_RESULT, e)) !=
            NULL) {
                rc = 0;
                res = rd_kafka_CreateAcls_result_acls(
                    rd_kafka_event_CreateAcls_result(ev), &cnt);
                for (size_t i = 0; i < cnt; i++) {
                        const rd_kafka_error_t *err =
                            rd_kafka_acl_result_error(res[i]);
                        if (err != NULL)
                                rc = err_set(e, ERR_TRANSIENT, NULL, "acl: %s",
                                             rd_kafka_error_string(err));
                }
                rd_kafka_event_destroy(ev);
        }
        for (int i = 0; rc == 0 && i < 100; i++) {
                if (acl_count(ka) >= (int)ka->nacl)
                        break;
                usleep(100 * 1000);
        }
        for (size_t i = 0; i < ka->nacl; i++)
                rd_kafka_AclBinding_destroy(ka->acls[i]);
        ka->nacl = 0;
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
        return rc;
}

static int
need_table(const struct kafka_admin *ka, struct err *e)
{
        return ka->table != NULL
                   ? 0
                   : err_set(e, ERR_INVALID, NULL, "no broker table loaded");
}

int
kafka_admin_setup(struct kafka_admin *ka, const char *proto_dir,
                  struct kafka_admin_counts *n, struct err *e)
{
        struct kafka_admin_counts c = {0};
        struct topic t[MAX_TOPICS];
        struct topics l = {.t = t, .max = MAX_TOPICS};
        char path[1024];
        const char *name;
        json_t *p;

        if (need_table(ka, e) < 0)
                return -1;
        snprintf(path, sizeof(path), "%s/topics", proto_dir);
        if (kafka_topics_each(path, 8, add_topic, &l, e) < 0)
                return e != NULL && e->msg[0]
                           ? -1
                           : err_set(e, ERR_INVALID, NULL, "too many topics");
        c.listed = l.n;
        if (create_topics(ka, t, l.n, &c.created, e) < 0)
                return -1;
        json_object_foreach(json_object_get(ka->table, "principals"), name, p)
        {
                if (principal_acls(ka, name, p, e) < 0)
                        return -1;
        }
        c.acls = (int)ka->nacl;
        if (create_acls(ka, e) < 0)
                return -1;
        if (n != NULL)
                *n = c;
        return 0;
}

int
kafka_admin_tune(struct kafka_admin *ka, const char *topic, char *const *extra,
                 int n, struct err *e)
{
        const char *kv[32];
        rd_kafka_ConfigResource_t *cr;
        int nkv, rc = 0;

        if (need_table(ka, e) < 0)
                return -1;
        nkv = config_of(ka, topic, kv, 16);
        cr = rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic);
        for (int i = 0; i < nkv; i++)
                rd_kafka_ConfigResource_set_config(cr, kv[2 * i],
                                                   kv[2 * i + 1]);
        for (int i = 0; i < n && rc == 0; i++) {
                char name[128];
                const char *eq = strchr(extra[i], '=');

                if (eq == NULL || eq == extra[i] ||
                    (size_t)(eq - extra[i]) >= sizeof(name))
                        rc = err_set(e, ERR_INVALID, NULL,
                                     "%s: want name=value", extra[i]);
                else {
                        snprintf(name, sizeof(name), "%.*s",
                                 (int)(eq - extra[i]), extra[i]);
                        rd_kafka_ConfigResource_set_config(cr, name, eq + 1);
                }
        }
        if (rc == 0)
                rc = alter_configs(ka, &cr, 1, e);
        rd_kafka_ConfigResource_destroy(cr);
        return rc;
}

/* kafka_admin_forget_group: deletes a consumer group (no member may be
 * in it), so the next member starts from each topic's beginning. */
int
kafka_admin_forget_group(struct kafka_admin *ka, const char *group,
                         struct err *e)
{
        rd_kafka_DeleteGroup_t *g = rd_kafka_DeleteGroup_new(group);
        rd_kafka_queue_t *q = rd_kafka_queue_new(ka->rk);
        rd_kafka_AdminOptions_t *o =
            rd_kafka_AdminOptions_new(ka->rk, RD_KAFKA_ADMIN_OP_ANY);
        rd_kafka_event_t *ev;
        const rd_kafka_group_result_t **res;
        size_t cnt;
        int rc = 0;

        rd_kafka_DeleteGroups(ka->rk, &g, 1, o, q);
        if ((ev = wait_result(q, RD_KAFKA_EVENT_DELETEGROUPS_RESULT, e)) ==
            NULL)
                rc = -1;
        else {
                res = rd_kafka_DeleteGroups_result_groups(
                    rd_kafka_event_DeleteGroups_result(ev), &cnt);
                for (size_t i = 0; i < cnt; i++) {
                        const rd_kafka_error_t *err =
                            rd_kafka_group_result_error(res[i]);
                        if (err != NULL)
                                rc = err_set(e, ERR_CONFLICT, NULL,
                                             "group %s: %s", group,
                                             rd_kafka_error_string(err));
                }
                rd_kafka_event_destroy(ev);
        }
        rd_kafka_DeleteGroup_destroy(g);
        rd_kafka_AdminOptions_destroy(o);
        rd_kafka_queue_destroy(q);
        return rc;
}

bool
kafka_admin_partner_name_ok(const char *org)
{
        return org != NULL && uuid_valid(org);
}

/* fill: tmpl with each "{org}" replaced by org. */
static int
fill(const char *tmpl, const char *org, char *out, size_t n, struct err *e)
{
        const char *at = tmpl != NULL ? strstr(tmpl, "{org}") : NULL;

        if (at == NULL)
                return err_set(e, ERR_INVALID, "partner",
                               "broker.json partner: %s has no {org}",
                               tmpl ? tmpl : "(missing)");
        if ((size_t)snprintf(out, n, "%.*s%s%s", (int)(at - tmpl), tmpl, org,
                             at + 5) >= n)
                return err_set(e, ERR_INVALID, "partner", "name too long");
        return 0;
}

int
kafka_admin_partner(struct kafka_admin *ka, const char *org, char *user_out,
                    size_t n, struct err *e)
{
        const json_t *pt, *v;
        struct topic t = {.partitions = PARTNER_PARTITIONS};
        char user[128], reads[128], groups[128];
        size_t i;

        if (need_table(ka, e) < 0)
                return -1;
        if (!kafka_admin_partner_name_ok(org))
                return err_set(e, ERR_INVALID, "org",
                               "%s is not an organisation id (a UUID): it "
                               "names the partner's topic and broker user",
                               org ? org : "(none)");
        pt = json_object_get(ka->table, "partner");
        if (fill(json_string_value(json_object_get(pt, "user")), org, user,
                 sizeof(user), e) < 0 ||
            fill(json_string_value(json_object_get(pt, "reads_prefix")), org,
                 reads, sizeof(reads), e) < 0 ||
            fill(json_string_value(json_object_get(pt, "groups_prefix")), org,
                 groups, sizeof(groups), e) < 0)
                return -1;
        kafka_partner_topic(org, t.name, sizeof(t.name));
        if (create_topics(ka, &t, 1, NULL, e) < 0)
                return -1;
        if (topic_ops(ka, reads, RD_KAFKA_RESOURCE_PATTERN_PREFIXED, user,
                      RD_KAFKA_ACL_OPERATION_READ, e) ||
            allow(ka, RD_KAFKA_RESOURCE_GROUP, groups,
                  RD_KAFKA_RESOURCE_PATTERN_PREFIXED, user,
                  RD_KAFKA_ACL_OPERATION_READ, e))
                return -1;
        json_array_foreach(json_object_get(pt, "writes"), i, v)
        {
                if (topic_ops(ka, json_string_value(v),
                              RD_KAFKA_RESOURCE_PATTERN_LITERAL, user,
                              RD_KAFKA_ACL_OPERATION_WRITE, e))
                        return -1;
        }
        if (create_acls(ka, e) < 0)
                return -1;
        if (user_out != NULL)
                snprintf(user_out, n, "%s", user);
        return 0;
}
