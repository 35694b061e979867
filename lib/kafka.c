/*
 * kafka: what the producer and the consumer share: building a librdkafka
 * configuration (bootstrap, defaults, overrides), routing librdkafka's own
 * log and error lines into log.h, and the reachability probe used by
 * /readyz. The producer is in kafka_producer.c, the consumer in
 * kafka_consumer.c.
 */
#include "kafka.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

static void
log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
        enum log_level lvl = LOG_DEBUG;

        (void)rk;
        if (level <= 3)
                lvl = LOG_ERROR;
        else if (level == 4)
                lvl = LOG_WARN;
        else if (level <= 6)
                lvl = LOG_INFO;
        log_why(lvl, "librdkafka", buf, "fac=%s", fac);
}

static void
error_cb(rd_kafka_t *rk, int err, const char *reason, void *opaque)
{
        (void)rk;
        (void)opaque;
        log_why(err == RD_KAFKA_RESP_ERR__FATAL ? LOG_ERROR : LOG_WARN,
                "kafka error", reason, "err=%s",
                rd_kafka_err2name((rd_kafka_resp_err_t)err));
}

/* conf_apply: sets each name, value pair of list (may be NULL). */
static int
conf_apply(rd_kafka_conf_t *conf, const char *const *list, struct err *e)
{
        char errstr[256];

        for (size_t i = 0; list != NULL && list[i] != NULL; i += 2) {
                if (list[i + 1] == NULL)
                        return err_set(e, ERR_FATAL, list[i],
                                       "kafka setting %s has no value",
                                       list[i]);
                if (rd_kafka_conf_set(conf, list[i], list[i + 1], errstr,
                                      sizeof(errstr)) != RD_KAFKA_CONF_OK)
                        return err_set(e, ERR_FATAL, list[i],
                                       "kafka setting %s: %s", list[i], errstr);
        }
        return 0;
}

/* env_apply: librdkafka properties from the environment, for what differs
 * between deployments (TLS, SASL): SIGNPOST_RDKAFKA_SECURITY_PROTOCOL=ssl
 * sets security.protocol, SIGNPOST_RDKAFKA_SSL_CA_LOCATION sets
 * ssl.ca.location, and so on (lower-cased, '_' -> '.'). Applied before the
 * caller's extra_conf, so code can still override. */
static int
env_apply(rd_kafka_conf_t *conf, struct err *e)
{
        static const char prefix[] = "SIGNPOST_RDKAFKA_";
        extern char **environ;
        char name[128], errstr[256];

        for (char **ev = environ; ev != NULL && *ev != NULL; ev++) {
                const char *eq = strchr(*ev, '=');
                size_t n, i;

                if (strncmp(*ev, prefix, sizeof(prefix) - 1) != 0 || eq == NULL)
                        continue;
                n = (size_t)(eq - *ev) - (sizeof(prefix) - 1);
                if (n == 0 || n >= sizeof(name))
                        continue;
                for (i = 0; i < n; i++) {
                        char c = (*ev)[sizeof(prefix) - 1 + i];

                        name[i] =
                            c == '_' ? '.' : (char)tolower((unsigned char)c);
                }
                name[n] = '\0';
                if (rd_kafka_conf_set(conf, name, eq + 1, errstr,
                                      sizeof(errstr)) != RD_KAFKA_CONF_OK)
                        return err_set(e, ERR_FATAL, name, "%s", errstr);
        }
        return 0;
}

/* auth_apply: mutual TLS as the broker user whose certificate is in
 * SIGNPOST_KAFKA_TLS_DIR (user.crt, user.key, and ca.crt, the CA the
 * broker's certificate is checked against; the layout the Kubernetes
 * manifests mount at /run/secrets/kafka), when it is set. The broker
 * takes the certificate's CN as the user name its ACLs name. */
static int
auth_apply(rd_kafka_conf_t *conf, struct err *e)
{
        const char *dir = getenv("SIGNPOST_KAFKA_TLS_DIR");
        char ca[1024], crt[1024], key[1024], errstr[256];
        int rc = 0;

        if (dir == NULL || dir[0] == '\0')
                return 0;
        snprintf(ca, sizeof(ca), "%s/ca.crt", dir);
        snprintf(crt, sizeof(crt), "%s/user.crt", dir);
        snprintf(key, sizeof(key), "%s/user.key", dir);
        const char *const tls[] = {"security.protocol",
                                   "ssl",
                                   "ssl.ca.location",
                                   ca,
                                   "ssl.certificate.location",
                                   crt,
                                   "ssl.key.location",
                                   key,
                                   NULL};
        for (size_t i = 0; tls[i] != NULL && rc == 0; i += 2)
                if (rd_kafka_conf_set(conf, tls[i], tls[i + 1], errstr,
                                      sizeof(errstr)) != RD_KAFKA_CONF_OK)
                        rc = err_set(e, ERR_FATAL, "SIGNPOST_KAFKA_TLS_DIR",
                                     "%s: %s", tls[i], errstr);
        return rc;
}

/* topic_name_ok: what Kafka accepts in a topic name, 1-240 of them. */
static int
topic_name_ok(const char *s)
{
        size_t n = strlen(s);

        if (n == 0 || n > 240)
                return 0;
        for (; *s; s++)
                if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' &&
                    *s != '-')
                        return 0;
        return 1;
}

int
kafka_topics_each(const char *path, int dflt, kafka_topic_fn fn, void *arg,
                  struct err *e)
{
        FILE *f = fopen(path, "r");
        char line[512];
        int lineno = 0, rc = 0;

        if (f == NULL)
                return err_set(e, ERR_NOT_FOUND, path,
                               "cannot open topics file %s", path);
        while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
                char *hash = strchr(line, '#'), *name, *num, *end = NULL;
                char *save;
                long parts = dflt;

                lineno++;
                if (hash != NULL)
                        *hash = '\0';
                name = strtok_r(line, " \t\r\n", &save);
                if (name == NULL)
                        continue;
                num = strtok_r(NULL, " \t\r\n", &save);
                if (num != NULL)
                        parts = strtol(num, &end, 10);
                if (!topic_name_ok(name) || parts < 1 || parts > 1000 ||
                    (num != NULL && *end != '\0') ||
                    strtok_r(NULL, " \t\r\n", &save) != NULL)
                        rc = err_set(e, ERR_INVALID, path,
                                     "%s line %d: want \"name [partitions]\"",
                                     path, lineno);
                else
                        rc = fn(name, (int)parts, arg);
        }
        fclose(f);
        return rc;
}

rd_kafka_conf_t *
kafka_conf_new(const char *brokers, const char *const *defaults,
               const char *const *extra_conf, struct err *e)
{
        const char *base[] = {"bootstrap.servers", brokers, NULL};
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_t *ret = NULL;

        rd_kafka_conf_set_log_cb(conf, log_cb);
        rd_kafka_conf_set_error_cb(conf, error_cb);
        if (brokers == NULL || brokers[0] == '\0') {
                err_set(e, ERR_FATAL, "bootstrap.servers",
                        "no kafka brokers given");
                goto out;
        }
        if (conf_apply(conf, base, e) < 0 ||
            conf_apply(conf, defaults, e) < 0 || auth_apply(conf, e) < 0 ||
            env_apply(conf, e) < 0 || conf_apply(conf, extra_conf, e) < 0)
                goto out;
        ret = conf;
        conf = NULL;
out:
        if (conf != NULL)
                rd_kafka_conf_destroy(conf);
        return ret;
}

void
kafka_partner_topic(const char *org, char *out, size_t n)
{
        snprintf(out, n, "partner.%s.referrals", org);
}

bool
kafka_reachable(rd_kafka_t *rk, int timeout_ms)
{
        const struct rd_kafka_metadata *md = NULL;
        bool ok;

        if (rk == NULL)
                return false;
        ok = rd_kafka_metadata(rk, 0, NULL, &md, timeout_ms) ==
                 RD_KAFKA_RESP_ERR_NO_ERROR &&
             md != NULL && md->broker_cnt > 0;
        if (md != NULL)
                rd_kafka_metadata_destroy(md);
        return ok;
}
