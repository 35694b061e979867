/*
 * signpost-partner: the client a partner organisation runs.
 *
 *   signpost-partner keygen PREFIX
 *       makes PREFIX.pk (0644) and PREFIX.sk (0600) and prints the public
 *       key (standard base64) to register with the directory
 *   signpost-partner receive --brokers B --org ORG --sk FILE --pk FILE
 *       [--out FILE | --post URL] [--group G] [--count N] [--timeout S]
 *       [--ack --intake-pk FILE]
 *       reads partner.ORG.referrals in its own consumer group, opens each
 *       message with the organisation's key and writes it as one JSON line
 *       (or POSTs it), and passes on signpost.referral.consent_changed.v1
 *       (the person withdrew sharing or opted out: stop using what was
 *       received) as it is; --ack sends "delivered" for each referral; stops
 * after N messages or S seconds (default: until SIGTERM) signpost-partner
 * status --brokers B --org ORG --sk FILE
 *       --intake-pk FILE --referral ID --status S [--reason R] [--sub SUB]
 *       sends a status update on referral.updates, boxed with the
 *       organisation's key to intake's public key (intake accepts it only
 *       from the organisation the referral was routed to)
 *
 * The offset of a message is committed only after its line is written
 * (flushed) or its POST answered 2xx: at least once, so a partner system
 * dedupes on referral_id. Never prints personal data to stderr.
 */
#include <curl/curl.h>
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "event.h"
#include "kafka.h"
#include "log.h"
#include "secret.h"
#include "svc.h"

struct opts {
        const char *brokers, *org, *sk, *pk, *intake_pk, *out, *post, *group;
        const char *referral, *status, *reason, *sub;
        long count, timeout;
        bool ack;
};

/* The ce_ids this run has delivered: Kafka delivery is at least once, so
 * a record can arrive again after the platform recovers from a crash; the
 * partner's output gets each referral message once. */
struct seen {
        char (*ids)[UUID_STR_LEN];
        size_t cap, n;
};

/* The keys a status update is boxed with: the organisation's own secret
 * key to intake's public key, so intake knows it came from this
 * organisation and nobody on the way reads the reason. */
struct updater {
        struct kafka_producer *prod;
        unsigned char intake_pk[SECRET_BOX_PK_BYTES];
        const struct secret_key *sk; /* borrowed */
};

struct receiver {
        struct seen seen;
        struct opts *o;
        unsigned char pk[SECRET_BOX_PK_BYTES];
        struct secret_key *sk;
        FILE *out;
        CURL *curl;
        struct updater up; /* --ack: up.prod is NULL without it */
        long received;
};

static int
usage(void)
{
        fprintf(stderr,
                "usage: signpost-partner keygen PREFIX\n"
                "       signpost-partner receive --brokers B --org ORG --sk F "
                "--pk F [--out F | --post URL] [--group G] [--count N] "
                "[--timeout S] [--ack --intake-pk F]\n"
                "       signpost-partner status --brokers B --org ORG --sk F "
                "--intake-pk F --referral ID --status S [--reason R] "
                "[--sub SUB]\n");
        return 2;
}

/* std_b64: URL-safe unpadded base64 as standard padded base64 (what the
 * directory expects for partner_public_key), in place; buf must have room
 * for the padding. */
static void
std_b64(char *buf, size_t bufsz)
{
        size_t i, n = strlen(buf);

        for (i = 0; i < n; i++)
                buf[i] = buf[i] == '-' ? '+' : buf[i] == '_' ? '/' : buf[i];
        while (n % 4 != 0 && n + 1 < bufsz)
                buf[n++] = '=';
        buf[n] = '\0';
}

/* write_file: text and a newline to a new file (never overwrites). */
static int
write_file(const char *path, const char *text, mode_t mode)
{
        mode_t old = umask(mode == 0600 ? 077 : 022);
        FILE *f = fopen(path, "wx");
        int rc = 0;

        umask(old);
        if (f == NULL || fprintf(f, "%s\n", text) < 0)
                rc = -1;
        if (f != NULL && fclose(f) != 0)
                rc = -1;
        if (rc < 0)
                perror(path);
        return rc;
}

static int
keygen(const char *prefix)
{
        unsigned char pk[SECRET_BOX_PK_BYTES];
        struct secret_key *sk = NULL;
        char path[1024], pkt[64];
        char *b = NULL, *skt = NULL;
        int rc = 1;

        if (secret_box_keypair(pk, &sk, NULL) < 0)
                return 1;
        b = secret_b64_encode(pk, sizeof(pk));
        skt = secret_b64_encode(sk->bytes, sk->len);
        if (b == NULL || skt == NULL)
                goto out;
        snprintf(pkt, sizeof(pkt), "%s", b);
        std_b64(pkt, sizeof(pkt));
        snprintf(path, sizeof(path), "%s.sk", prefix);
        if (write_file(path, skt, 0600) < 0)
                goto out;
        snprintf(path, sizeof(path), "%s.pk", prefix);
        if (write_file(path, pkt, 0644) < 0)
                goto out;
        printf("%s\n", pkt);
        rc = 0;
out:
        if (skt != NULL) {
                memset(skt, 0, strlen(skt));
                free(skt);
        }
        free(b);
        secret_key_free(sk);
        return rc;
}

/* update_value: returns new referral.updates value text (see
 * services/intake/updates.c), or NULL. */
static char *
update_value(const struct updater *u, const char *org, const char *sub,
             const char *referral, const char *status, const char *reason)
{
        json_t *inner =
            json_pack("{ss ss s:s* s:s*}", "referral_id", referral, "status",
                      status, "reason", reason, "sub", sub);
        char *text = inner ? json_dumps(inner, JSON_COMPACT) : NULL;
        unsigned char *box = NULL;
        size_t boxlen = 0;
        char *b64 = NULL, *out = NULL;
        json_t *outer;

        json_decref(inner);
        if (text == NULL ||
            secret_box_to(u->intake_pk, u->sk, (const unsigned char *)text,
                          strlen(text), &box, &boxlen, NULL) < 0 ||
            (b64 = secret_b64_encode(box, boxlen)) == NULL)
                goto out;
        outer = json_pack("{ss ss ss}", "referral_id", referral,
                          "organisation_id", org, "boxed", b64);
        out = outer ? json_dumps(outer, JSON_COMPACT) : NULL;
        json_decref(outer);
out:
        if (text != NULL)
                secret_wipe(text, strlen(text));
        free(text);
        free(box);
        free(b64);
        return out;
}

/* update_send: one status update on referral.updates. */
static int
update_send(const struct updater *u, const char *org, const char *sub,
            const char *referral, const char *status, const char *reason)
{
        struct event ev;
        struct err e = {0};
        char *text = update_value(u, org, sub, referral, status, reason);
        int rc;

        if (text == NULL) {
                fprintf(stderr, "status not sent: cannot box the update\n");
                return -1;
        }
        event_init(&ev, "/signpost/partner",
                   "signpost.referral.status_update.v1", referral);
        struct kafka_out m = {.topic = "referral.updates",
                              .key = referral,
                              .key_len = strlen(referral),
                              .value = text,
                              .value_len = strlen(text),
                              .ev = &ev};
        rc = kafka_produce_wait(u->prod, &m, 10000, &e);
        if (rc < 0)
                fprintf(stderr, "status not sent: %s\n", e.msg);
        free(text);
        return rc;
}

/* updater_init: the producer and keys of --intake-pk and --sk (loaded
 * into *sk, which the caller frees); -1 with a message. */
static int
updater_init(struct updater *u, const struct opts *o, struct secret_key **sk)
{
        struct err e = {0};

        if (o->intake_pk == NULL) {
                fprintf(stderr, "status updates need --intake-pk: intake's "
                                "public key file\n");
                return -1;
        }
        if (secret_pk_load(o->intake_pk, u->intake_pk, &e) < 0) {
                fprintf(stderr, "--intake-pk: %s\n", e.msg);
                return -1;
        }
        if (*sk == NULL &&
            secret_key_load(o->sk, SECRET_BOX_SK_BYTES, NULL, sk, &e) < 0) {
                fprintf(stderr, "cannot load the organisation's key %s\n",
                        e.msg);
                return -1;
        }
        u->sk = *sk;
        if ((u->prod = kafka_producer_new(o->brokers, NULL, &e)) == NULL) {
                fprintf(stderr, "status: %s\n", e.msg);
                return -1;
        }
        return 0;
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
        (void)p;
        (void)arg;
        return size * n;
}

/* deliver: the line to the file or the URL; 0 when it is safely there. */
static int
deliver(struct receiver *r, const char *line)
{
        struct curl_slist *h = NULL;
        long code = 0;
        CURLcode cc;

        if (r->curl == NULL)
                return fprintf(r->out, "%s\n", line) < 0 || fflush(r->out) != 0
                           ? -1
                           : 0;
        h = curl_slist_append(h, "Content-Type: application/json");
        curl_easy_setopt(r->curl, CURLOPT_URL, r->o->post);
        curl_easy_setopt(r->curl, CURLOPT_HTTPHEADER, h);
        curl_easy_setopt(r->curl, CURLOPT_POSTFIELDS, line);
        curl_easy_setopt(r->curl, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(r->curl, CURLOPT_TIMEOUT, 10L);
        cc = curl_easy_perform(r->curl);
        curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
        curl_slist_free_all(h);
        return cc == CURLE_OK && code >= 200 && code < 300 ? 0 : -1;
}

/* open_line: returns new JSON line text for a routed message, or NULL
 * when it does not open with the organisation's key. */
static char *
open_line(struct receiver *r, const struct kafka_record *rec,
          char id[UUID_STR_LEN])
{
        json_t *msg = json_loadb(rec->value, rec->value_len, 0, NULL);
        const char *sealed = json_string_value(json_object_get(msg, "sealed"));
        unsigned char *box = NULL, *plain = NULL;
        size_t boxlen = 0, len = 0;
        json_t *opened = NULL;
        char *line = NULL;

        if (sealed == NULL ||
            secret_b64_decode(sealed, &box, &boxlen, NULL) < 0 ||
            secret_unseal(r->pk, r->sk, box, boxlen, &plain, &len, NULL) < 0)
                goto out;
        opened = json_loadb((char *)plain, len, 0, NULL);
        if (opened == NULL)
                goto out;
        snprintf(id, UUID_STR_LEN, "%s",
                 json_string_value(json_object_get(msg, "referral_id"))
                     ? json_string_value(json_object_get(msg, "referral_id"))
                     : "");
        json_object_del(msg, "sealed");
        json_object_set(msg, "referral", opened);
        line = json_dumps(msg, JSON_COMPACT);
out:
        if (plain != NULL)
                memset(plain, 0, len);
        free(plain);
        free(box);
        json_decref(opened);
        json_decref(msg);
        return line;
}

static size_t
slot_of(const struct seen *s, const char *id)
{
        size_t h = 5381;

        for (const char *c = id; *c; c++)
                h = h * 33 + (unsigned char)*c;
        for (h %= s->cap; s->ids[h][0] != '\0' && strcmp(s->ids[h], id) != 0;
             h = (h + 1) % s->cap)
                ;
        return h;
}

static bool
seen_has(const struct seen *s, const char *id)
{
        return s->cap > 0 && s->ids[slot_of(s, id)][0] != '\0';
}

/* seen_add: true if id is new (and now remembered). */
static bool
seen_add(struct seen *s, const char *id)
{
        size_t h;

        if (s->n * 2 >= s->cap) {
                struct seen bigger = {.cap = s->cap ? s->cap * 2 : 1024};

                bigger.ids = calloc(bigger.cap, UUID_STR_LEN);
                if (bigger.ids == NULL)
                        return true; /* forget, rather than drop messages */
                for (size_t i = 0; i < s->cap; i++)
                        if (s->ids[i][0] != '\0')
                                memcpy(bigger.ids[slot_of(&bigger, s->ids[i])],
                                       s->ids[i], UUID_STR_LEN);
                bigger.n = s->n;
                free(s->ids);
                *s = bigger;
        }
        h = slot_of(s, id);
        if (s->ids[h][0] != '\0')
                return false;
        snprintf(s->ids[h], UUID_STR_LEN, "%s", id);
        s->n++;
        return true;
}

static int
on_batch(void *arg, struct kafka_record *recs, size_t n, struct err *e)
{
        struct receiver *r = arg;
        char id[UUID_STR_LEN];
        size_t i;

        for (i = 0; i < n; i++) {
                char *line;

                recs[i].result = ERR_NONE;
                if (seen_has(&r->seen, recs[i].ev.id))
                        continue; /* a redelivery: already written */
                id[0] = '\0';
                /* a consent change carries no personal data: passed on
                 * as it is, and not acknowledged as a delivery */
                line = strcmp(recs[i].ev.type,
                              "signpost.referral.consent_changed.v1") == 0
                           ? strndup(recs[i].value, recs[i].value_len)
                           : open_line(r, &recs[i], id);
                if (line == NULL) {
                        recs[i].result = ERR_INVALID;
                        snprintf(recs[i].reason, sizeof(recs[i].reason),
                                 "does not open with this organisation's key");
                        continue;
                }
                int rc = deliver(r, line);
                memset(line, 0, strlen(line));
                free(line);
                if (rc < 0) {
                        recs[i].result = ERR_TRANSIENT;
                        return 0; /* this one and the rest again later */
                }
                seen_add(&r->seen, recs[i].ev.id);
                if (r->up.prod != NULL && id[0] != '\0')
                        update_send(&r->up, r->o->org, r->o->sub, id,
                                    "delivered", NULL);
                if (++r->received == r->o->count)
                        svc_request_stop();
        }
        (void)e;
        return 0;
}

static void *
timer(void *arg)
{
        long s = *(long *)arg * 10;

        while (s-- > 0 && !svc_stopping())
                usleep(100 * 1000);
        svc_request_stop();
        return NULL;
}

static int
receive(struct opts *o)
{
        char topic[256], group[256];
        const char *topics[] = {topic, NULL};
        const char *conf[] = {"topic.metadata.refresh.interval.ms", "1000",
                              "allow.auto.create.topics", "true", NULL};
        struct receiver r = {.o = o, .out = stdout};
        struct kafka_consumer *kc = NULL;
        struct err e = {0};
        pthread_t t;
        int rc = 1;

        if (secret_pk_load(o->pk, r.pk, &e) < 0 ||
            secret_key_load(o->sk, SECRET_BOX_SK_BYTES, NULL, &r.sk, &e) < 0) {
                fprintf(stderr, "cannot load the organisation's keys %s\n",
                        e.msg);
                return 1;
        }
        if (o->out != NULL && (r.out = fopen(o->out, "a")) == NULL) {
                perror(o->out);
                goto out;
        }
        if (o->post != NULL && (r.curl = curl_easy_init()) == NULL)
                goto out;
        if (o->ack && updater_init(&r.up, o, &r.sk) < 0)
                goto out;
        kafka_partner_topic(o->org, topic, sizeof(topic));
        /* a partner's broker user may use only groups named under its
         * topic prefix (proto/broker.json partner.groups_prefix) */
        if (o->group != NULL)
                snprintf(group, sizeof(group), "%s", o->group);
        else
                snprintf(group, sizeof(group), "partner.%s.signpost-partner",
                         o->org);
        kc = kafka_consumer_new(o->brokers, group, topics, conf, &e);
        if (kc == NULL)
                goto out;
        if (o->timeout > 0)
                pthread_create(&t, NULL, timer, &o->timeout);
        rc = kafka_consumer_run(kc, on_batch, &r, 100, svc_stop_flag(), &e) < 0
                 ? 1
                 : 0;
        if (o->timeout > 0)
                pthread_join(t, NULL);
        fprintf(stderr, "received=%ld\n", r.received);
out:
        if (rc != 0 && e.msg[0] != '\0')
                fprintf(stderr, "receive: %s\n", e.msg);
        kafka_consumer_free(kc);
        kafka_producer_free(r.up.prod);
        if (r.curl != NULL)
                curl_easy_cleanup(r.curl);
        if (r.out != NULL && r.out != stdout)
                fclose(r.out);
        secret_key_free(r.sk);
        free(r.seen.ids);
        return rc;
}

static int
status(struct opts *o)
{
        struct updater u = {0};
        struct secret_key *sk = NULL;
        int rc = 1;

        if (o->referral == NULL || o->status == NULL || o->org == NULL ||
            o->sk == NULL)
                return usage();
        if (updater_init(&u, o, &sk) == 0)
                rc = update_send(&u, o->org, o->sub, o->referral, o->status,
                                 o->reason) < 0
                         ? 1
                         : 0;
        kafka_producer_free(u.prod);
        secret_key_free(sk);
        return rc;
}

int
main(int argc, char **argv)
{
        static const struct option longs[] = {
            {"brokers", required_argument, NULL, 'b'},
            {"org", required_argument, NULL, 'o'},
            {"sk", required_argument, NULL, 's'},
            {"pk", required_argument, NULL, 'p'},
            {"intake-pk", required_argument, NULL, 'I'},
            {"out", required_argument, NULL, 'f'},
            {"post", required_argument, NULL, 'u'},
            {"group", required_argument, NULL, 'g'},
            {"count", required_argument, NULL, 'n'},
            {"timeout", required_argument, NULL, 't'},
            {"ack", no_argument, NULL, 'a'},
            {"referral", required_argument, NULL, 'r'},
            {"status", required_argument, NULL, 'S'},
            {"reason", required_argument, NULL, 'R'},
            {"sub", required_argument, NULL, 'U'},
            {NULL, 0, NULL, 0}};
        struct opts o = {0};
        const char *cmd;
        int c;

        if (argc < 2)
                return usage();
        cmd = argv[1];
        if (strcmp(cmd, "keygen") == 0)
                return argc == 3 ? keygen(argv[2]) : usage();
        optind = 2;
        while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
                switch (c) {
                case 'b':
                        o.brokers = optarg;
                        break;
                case 'o':
                        o.org = optarg;
                        break;
                case 's':
                        o.sk = optarg;
                        break;
                case 'p':
                        o.pk = optarg;
                        break;
                case 'I':
                        o.intake_pk = optarg;
                        break;
                case 'f':
                        o.out = optarg;
                        break;
                case 'u':
                        o.post = optarg;
                        break;
                case 'g':
                        o.group = optarg;
                        break;
                case 'n':
                        o.count = atol(optarg);
                        break;
                case 't':
                        o.timeout = atol(optarg);
                        break;
                case 'a':
                        o.ack = true;
                        break;
                case 'r':
                        o.referral = optarg;
                        break;
                case 'S':
                        o.status = optarg;
                        break;
                case 'R':
                        o.reason = optarg;
                        break;
                case 'U':
                        o.sub = optarg;
                        break;
                default:
                        return usage();
                }
        }
        if (o.brokers == NULL || o.org == NULL || !uuid_valid(o.org))
                return usage();
        log_init("signpost-partner", LOG_WARN);
        svc_signals_install();
        if (strcmp(cmd, "receive") == 0)
                return o.sk && o.pk ? receive(&o) : usage();
        if (strcmp(cmd, "status") == 0)
                return status(&o);
        return usage();
}
