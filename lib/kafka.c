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

/* The deployment's settings: the daemon's config (kafka_env_set), or, in
 * a tool that has no config table, the environment itself. */
static const struct kafka_env *installed;

void
kafka_env_set(const struct kafka_env *env)
{
        installed = env;
}

const char *
kafka_env_tls_dir(void)
{
        const char *dir = installed != NULL ? installed->tls_dir
                                            : getenv("SIGNPOST_KAFKA_TLS_DIR");

        return dir != NULL && dir[0] != '\0' ? dir : NULL;
}

const char *
kafka_env_fetch_wait(void)
{
        const char *ms = installed != NULL
                             ? installed->fetch_wait_ms
                             : getenv("SIGNPOST_KAFKA_FETCH_WAIT_MS");

        return ms != NULL && ms[0] != '\0' ? ms : NULL;
}

/* prop_apply: one SIGNPOST_RDKAFKA_ variable as the librdkafka property
 * it names: SIGNPOST_RDKAFKA_SECURITY_PROTOCOL=ssl sets security.protocol,
 * SIGNPOST_RDKAFKA_SSL_CA_LOCATION sets ssl.ca.location, and so on
 * (lower-cased, '_' -> '.'). var is the variable's name, len bytes. */
static int
prop_apply(rd_kafka_conf_t *conf, const char *var, size_t len,
           const char *value, struct err *e)
{
        size_t plen = strlen(KAFKA_ENV_PREFIX), n, i;
        char name[128], errstr[256];

        if (len <= plen || strncmp(var, KAFKA_ENV_PREFIX, plen) != 0)
                return 0;
        n = len - plen;
        if (n >= sizeof(name))
                return err_set(e, ERR_FATAL, NULL, "%.*s: name too long",
                               (int)len, var);
        for (i = 0; i < n; i++) {
                char c = var[plen + i];

                name[i] = c == '_' ? '.' : (char)tolower((unsigned char)c);
        }
        name[n] = '\0';
        if (rd_kafka_conf_set(conf, name, value, errstr, sizeof(errstr)) !=
            RD_KAFKA_CONF_OK)
                return err_set(e, ERR_FATAL, name, "%.*s: %.*s", (int)len, var,
                               (int)strcspn(errstr, "\n"), errstr);
        return 0;
}

/* props_apply: the SIGNPOST_RDKAFKA_* pass-through, for what differs
 * between deployments (TLS, SASL). Applied before the caller's
 * extra_conf, so code can still override. */
static int
props_apply(rd_kafka_conf_t *conf, struct err *e)
{
        extern char **environ;

        if (installed != NULL) {
                for (const char *const *p = installed->props;
                     p != NULL && p[0] != NULL; p += 2)
                        if (prop_apply(conf, p[0], strlen(p[0]), p[1], e) < 0)
                                return -1;
                return 0;
        }
        for (char **ev = environ; ev != NULL && *ev != NULL; ev++) {
                const char *eq = strchr(*ev, '=');

                if (eq != NULL &&
                    prop_apply(conf, *ev, (size_t)(eq - *ev), eq + 1, e) < 0)
                        return -1;
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
        const char *dir = kafka_env_tls_dir();
        char ca[1024], crt[1024], key[1024], errstr[256];
        int rc = 0;

        if (dir == NULL)
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
                                     "SIGNPOST_KAFKA_TLS_DIR: %s: %s", tls[i],
                                     errstr);
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
            props_apply(conf, e) < 0 || conf_apply(conf, extra_conf, e) < 0)
                goto out;
        ret = conf;
        conf = NULL;
out:
        if (conf != NULL)
                rd_kafka_conf_destroy(conf);
        return ret;
}

int
kafka_env_check(const struct kafka_env *env, struct err *e)
{
        const struct kafka_env *was = installed;
        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        const char *ms = env->fetch_wait_ms;
        char errstr[256];
        int rc = 0;

        installed = env;
        if (ms != NULL && ms[0] != '\0' &&
            rd_kafka_conf_set(conf, "fetch.wait.max.ms", ms, errstr,
                              sizeof(errstr)) != RD_KAFKA_CONF_OK)
                rc = err_set(e, ERR_FATAL, "SIGNPOST_KAFKA_FETCH_WAIT_MS",
                             "SIGNPOST_KAFKA_FETCH_WAIT_MS: %.*s",
                             (int)strcspn(errstr, "\n"), errstr);
        if (rc == 0 && auth_apply(conf, e) < 0)
                rc = -1; /* e names SIGNPOST_KAFKA_TLS_DIR */
        if (rc == 0)
                rc = props_apply(conf, e);
        installed = was;
        rd_kafka_conf_destroy(conf);
        return rc;
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
