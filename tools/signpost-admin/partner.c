/*
 * signpost-admin partner register ORG --out DIR
 *
 * Registers an organisation as a partner on the broker: its topic
 * partner.<org>.referrals, its broker user partner-<org> with only the
 * rights proto/broker.json gives a partner (lib/kafka_admin.h), and that
 * user's TLS client certificate, signed by the platform's Kafka CA.
 *
 * The private key and certificate are written once into DIR (made here,
 * mode 0700; files 0600), with the CA certificate: user.key, user.crt and
 * ca.crt, what signpost-partner's SIGNPOST_KAFKA_TLS_DIR names. The
 * platform keeps no copy of the key: hand DIR to the partner securely and
 * delete it. Registering again issues a new certificate (the old one stays
 * valid until it expires: the CA issues, it does not revoke).
 *
 * Environment: SIGNPOST_KAFKA (bootstrap), SIGNPOST_KAFKA_TLS_DIR (the
 * admin user's certificate), SIGNPOST_KAFKA_CA_DIR (ca.crt and ca.key;
 * default SIGNPOST_SECRETS_DIR/kafka, then .run/secrets/kafka),
 * SIGNPOST_PROTO_DIR (default proto).
 *
 * On Kubernetes the Strimzi User Operator issues the certificate from a
 * KafkaUser (deploy/partners/example) instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "admin.h"
#include "kafka.h"
#include "kafka_admin.h"

#define CERT_DAYS 365

/* read_ca: the CA's certificate and key from ca_dir into *cert and *key
 * (both NULL on entry; the caller frees what was read); -1 unless both
 * were read. */
static int
read_ca(const char *ca_dir, X509 **cert, EVP_PKEY **key)
{
        char path[1200];
        FILE *f;

        snprintf(path, sizeof(path), "%s/ca.crt", ca_dir);
        if ((f = fopen(path, "r")) != NULL) {
                *cert = PEM_read_X509(f, NULL, NULL, NULL);
                fclose(f);
        }
        snprintf(path, sizeof(path), "%s/ca.key", ca_dir);
        if ((f = fopen(path, "r")) != NULL) {
                *key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
                fclose(f);
        }
        return *cert != NULL && *key != NULL ? 0 : -1;
}

/* write_pem: DIR/name, new, mode 0600: key (PKCS#8) if not NULL, else
 * cert. */
static int
write_pem(const char *dir, const char *name, EVP_PKEY *key, X509 *cert,
          struct err *e)
{
        char path[1200];
        FILE *f;
        int fd, ok;

        snprintf(path, sizeof(path), "%s/%s", dir, name);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
        if (fd < 0 || (f = fdopen(fd, "w")) == NULL)
                return err_set(e, ERR_FATAL, NULL, "%s: %s", path,
                               strerror(errno));
        ok = key != NULL
                 ? PEM_write_PKCS8PrivateKey(f, key, NULL, NULL, 0, NULL, NULL)
                 : PEM_write_X509(f, cert);
        if (fclose(f) != 0 || !ok)
                return err_set(e, ERR_FATAL, NULL, "%s: not written", path);
        return 0;
}

/* issue: a new P-256 key and a client certificate CN=user signed by the
 * CA in ca_dir, written into out. */
static int
issue(const char *ca_dir, const char *user, const char *out, struct err *e)
{
        X509 *ca = NULL, *x = NULL;
        EVP_PKEY *ca_key = NULL, *key = NULL;
        BIGNUM *serial = NULL;
        X509_EXTENSION *ext = NULL;
        X509V3_CTX ctx;
        int rc = -1;

        if (read_ca(ca_dir, &ca, &ca_key) < 0) {
                err_set(e, ERR_FATAL, NULL,
                        "no Kafka CA (ca.crt, ca.key) readable in %s", ca_dir);
                goto out;
        }
        key = EVP_EC_gen("P-256");
        x = X509_new();
        serial = BN_new();
        if (key == NULL || x == NULL || serial == NULL ||
            !BN_rand(serial, 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
            !BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)) ||
            !X509_set_version(x, X509_VERSION_3) ||
            !X509_gmtime_adj(X509_getm_notBefore(x), 0) ||
            !X509_gmtime_adj(X509_getm_notAfter(x), 86400L * CERT_DAYS) ||
            !X509_set_pubkey(x, key) ||
            !X509_NAME_add_entry_by_txt(
                X509_get_subject_name(x), "CN", MBSTRING_ASC,
                (const unsigned char *)user, -1, -1, 0) ||
            !X509_set_issuer_name(x, X509_get_subject_name(ca))) {
                err_set(e, ERR_FATAL, NULL, "certificate not made");
                goto out;
        }
        X509V3_set_ctx(&ctx, ca, x, NULL, NULL, 0);
        ext = X509V3_EXT_conf_nid(NULL, &ctx, NID_ext_key_usage, "clientAuth");
        if (ext == NULL || !X509_add_ext(x, ext, -1) ||
            !X509_sign(x, ca_key, EVP_sha256())) {
                err_set(e, ERR_FATAL, NULL, "certificate not signed");
                goto out;
        }
        if (mkdir(out, 0700) < 0) {
                err_set(e, ERR_INVALID, "out", "%s: %s", out, strerror(errno));
                goto out;
        }
        if (write_pem(out, "user.key", key, NULL, e) < 0 ||
            write_pem(out, "user.crt", NULL, x, e) < 0 ||
            write_pem(out, "ca.crt", NULL, ca, e) < 0)
                goto out;
        rc = 0;
out:
        X509_EXTENSION_free(ext);
        BN_free(serial);
        X509_free(x);
        X509_free(ca);
        EVP_PKEY_free(key);
        EVP_PKEY_free(ca_key);
        return rc;
}

static const char *
env_or(const char *name, const char *dflt)
{
        const char *v = getenv(name);

        return v != NULL && *v != '\0' ? v : dflt;
}

int
partner_register(const char *org, const char *out, struct err *e)
{
        const char *secrets = env_or("SIGNPOST_SECRETS_DIR", ".run/secrets");
        const char *brokers = env_or("SIGNPOST_KAFKA", NULL);
        char ca_dir[1024], user[128], topic[KAFKA_PARTNER_TOPIC_LEN];
        struct kafka_admin *ka = NULL;
        struct stat st;
        int rc = -1;

        snprintf(ca_dir, sizeof(ca_dir), "%s/kafka", secrets);
        if (!kafka_admin_partner_name_ok(org))
                return err_set(e, ERR_INVALID, "org",
                               "partner %s: not an organisation id (a "
                               "UUID); it names the partner's topic and "
                               "broker user, so nothing else is accepted",
                               org);
        if (out == NULL)
                return err_set(e, ERR_INVALID, "out",
                               "--out DIR is required: where the partner's "
                               "key and certificate are written, once");
        if (stat(out, &st) == 0)
                return err_set(e, ERR_CONFLICT, "out",
                               "%s exists: name a new directory", out);
        if (brokers == NULL)
                return err_set(e, ERR_INVALID, "SIGNPOST_KAFKA",
                               "SIGNPOST_KAFKA (the broker) is not set");
        ka = kafka_admin_new(brokers, env_or("SIGNPOST_PROTO_DIR", "proto"),
                             false, e);
        if (ka == NULL ||
            kafka_admin_partner(ka, org, user, sizeof(user), e) < 0 ||
            issue(env_or("SIGNPOST_KAFKA_CA_DIR", ca_dir), user, out, e) < 0)
                goto out;
        kafka_partner_topic(org, topic, sizeof(topic));
        printf("partner: %s\nbroker user: %s\nreads: %s\n"
               "credentials: %s/user.key, %s/user.crt, %s/ca.crt\n",
               org, user, topic, out, out, out);
        fprintf(stderr,
                "The key is written only now and kept nowhere else: "
                "give %s to the partner securely, then delete it.\n",
                out);
        rc = 0;
out:
        kafka_admin_free(ka);
        return rc;
}
