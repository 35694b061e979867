/*
 * intake-load: referral submissions produced as the gateway produces them
 * (signpost.referral.submitted.v1 on referral.submissions, the personal
 * payload sealed to intake), for tests and the benchmark.
 *
 *   intake-load submit --brokers B --pk INTAKE_PK --service ID --count N
 *       [--rate R/s] [--canary TAG] [--out FILE] [--bad] [--same-person]
 *       [--twice]
 *       every personal field carries TAG (unique canaries); kinds rotate
 *       self, on_behalf, professional; FILE gets one JSON line per
 *       referral: {referral_id, reference, secret, kind, payload};
 *       --bad seals garbage (intake must dead-letter it) and marks it
 *       planted bad input (ce_source /signpost/test/bad-input);
 *       --same-person gives every referral the first one's email and
 *       phone (one person referred several times); --twice produces each
 *       submission twice under new event ids, as a retried produce would
 *   intake-load bench --brokers B --pk INTAKE_PK --service ID --org ORG
 *       --rate R --seconds S
 *       steady R/s (0 = as fast as possible, S*1000 referrals) while
 *       reading partner.ORG.referrals; prints referrals/s end to end and
 *       p50/p99 latency from produce to the sealed message on its topic
 *   intake-load bench ... --http URL
 *       the same, but each referral is POSTed to the gateway at URL
 *       (its /v1/referrals) on 64 connections, so the figures run from
 *       the HTTP POST to the sealed message on the partner's topic
 *   intake-load principal KEYFILE ROLE SUB [ORG [REASON]]
 *       prints an X-Signpost-Principal value (valid 10 minutes), as the
 *       gateway would sign it, for calling intake's HTTP API in tests
 */
#include <getopt.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "event.h"
#include "http_post.h"
#include "pace.h"
#include "http.h"
#include "kafka.h"
#include "log.h"
#include "secret.h"

struct opts {
        const char *brokers, *pk, *service, *org, *canary, *out, *http;
        long count, rate, seconds;
        bool bad, same_person, twice;
};

static unsigned char intake_pk[SECRET_BOX_PK_BYTES];
static struct secret_sender *to_intake; /* boxes as the gateway makes them */
/* References are "SP-TTTT-NNNN" in the gateway's alphabet: TTTT a
 * random tag of this run, NNNN the referral's index. */
static const char ref_alphabet[] = "23456789ABCDEFGHJKMNPQRSTVWXYZ";
static char run_tag[5];

static void
ref_make(long i, char out[32])
{
        char n[5];
        int k;

        for (k = 3; k >= 0; k--, i /= 30)
                n[k] = ref_alphabet[i % 30];
        n[4] = '\0';
        snprintf(out, 32, "SP-%s-%s", run_tag, n);
}

/* ref_index: the index of one of this run's references, else -1. */
static long
ref_index(const char *ref)
{
        long i = 0;
        int k;

        if (ref == NULL || strlen(ref) != 12 || strncmp(ref, "SP-", 3) != 0 ||
            strncmp(ref + 3, run_tag, 4) != 0)
                return -1;
        for (k = 8; k < 12; k++) {
                const char *c = strchr(ref_alphabet, ref[k]);
                if (c == NULL || *c == '\0')
                        return -1;
                i = i * 30 + (c - ref_alphabet);
        }
        return i;
}
static atomic_long acked, failed;

/* pk_read: intake's public key (secret_pk_load) and a sender to it. */
static int
pk_read(const char *path)
{
        struct err e = {0};

        if (secret_pk_load(path, intake_pk, &e) < 0) {
                fprintf(stderr, "intake-load: %s\n", e.msg);
                return -1;
        }
        return secret_sender_new(intake_pk, 0, &to_intake, NULL);
}

/* payload: returns new personal payload for referral i. */
static json_t *
payload(const char *tag, long i, const char *kind, bool same_person)
{
        long who = same_person ? 0 : i;
        unsigned long h = 0; /* phones differ between tags too */

        for (const char *c = tag; *c != '\0'; c++)
                h = h * 31 + (unsigned char)*c;
        h %= 100000;
        char b[14][96];
        int k;
        json_t *p;

        for (k = 0; k < 14; k++)
                snprintf(b[k], sizeof(b[k]), "%s-f%d-n%ld", tag, k, i);
        char email[128], phone[32], remail[128], rphone[32], pc[16];
        snprintf(email, sizeof(email), "%s-mail-%ld@example.org", tag, who);
        snprintf(remail, sizeof(remail), "%s-rmail-%ld@example.org", tag, i);
        snprintf(phone, sizeof(phone), "07700 %06ld",
                 900000 + (long)((h + (unsigned long)who) % 100000));
        snprintf(rphone, sizeof(rphone), "07911 %06ld",
                 100000 + (long)((h + (unsigned long)i) % 100000));
        snprintf(pc, sizeof(pc), "KT1 %ld%c%c", i % 10,
                 'A' + (int)(i / 10 % 26), 'A' + (int)(i / 260 % 26));
        p = json_pack("{s{ss ss ss ss ss} s{ss ss ss ss ss ss ss} s[ss] ss}",
                      "person", "name", b[0], "email", email, "phone", phone,
                      "address", b[1], "postcode", pc, "special_category",
                      "health", b[2], "ethnicity", b[3], "gender", b[4],
                      "marital_status", b[5], "education", b[6], "housing",
                      b[7], "employment", b[8], "share_special_category",
                      "health", "housing", "notes", b[9]);
        if (strcmp(kind, "self") != 0) {
                json_t *r = json_pack("{ss ss ss}", "name", b[10], "email",
                                      remail, "phone", rphone);
                if (strcmp(kind, "on_behalf") == 0)
                        json_object_set_new(r, "relationship",
                                            json_string(b[11]));
                else {
                        json_object_set_new(r, "organisation",
                                            json_string(b[12]));
                        json_object_set_new(r, "role", json_string(b[13]));
                }
                json_object_set_new(p, "referrer", r);
        }
        return p;
}

static void
on_delivery(void *opaque, enum kafka_delivery d, const char *reason)
{
        (void)opaque;
        (void)reason;
        if (d == KAFKA_DELIVERED)
                atomic_fetch_add(&acked, 1);
        else
                atomic_fetch_add(&failed, 1);
}

/* submit_one: produces referral i; writes its line to out (may be NULL). */
static int
submit_one(struct kafka_producer *prod, const struct opts *o, long i, FILE *out)
{
        static const char *const kinds[] = {"self", "on_behalf",
                                            "professional"};
        const char *kind = kinds[i % 3];
        /* as the gateway; bad input says it was planted on purpose, so
         * the message-schema check (tests/scripts/zz_message_schemas.py)
         * expects it dead-lettered instead of valid */
        const char *source =
            o->bad ? "/signpost/test/bad-input" : "/signpost/gateway";
        char id[UUID_STR_LEN], ref[32], secret[33], hash[65];
        unsigned char raw[16], h[32];
        json_t *p = payload(o->canary ? o->canary : "bench", i, kind,
                            o->same_person),
               *env;
        char *text = NULL, *sealed = NULL, *b = NULL;
        unsigned char *box = NULL;
        size_t boxlen = 0;
        struct event ev;
        struct err e = {0};
        int rc = -1;

        uuid_v7(id);
        ref_make(i, ref);
        randombytes_buf(raw, sizeof(raw));
        sodium_bin2hex(secret, sizeof(secret), raw, sizeof(raw));
        crypto_generichash(h, sizeof(h), (unsigned char *)secret,
                           strlen(secret), NULL, 0);
        sodium_bin2hex(hash, sizeof(hash), h, sizeof(h));
        text = json_dumps(p, JSON_COMPACT);
        if (secret_sender_seal(to_intake, (unsigned char *)text, strlen(text),
                               &box, &boxlen, &e) < 0)
                goto out;
        if (o->bad) /* a payload that will not open */
                randombytes_buf(box, boxlen);
        sealed = secret_b64_encode(box, boxlen);
        env = json_pack(
            "{ss ss ss ss s{sb sb sb sb} ss ss ss ss}", "referral_id", id,
            "reference", ref, "service_id", o->service, "kind", kind,
            "consents", "share_with_provider", 1, "contact_about_service", 1,
            "feedback_requests", (int)(i % 2), "terms_change_notices", 0,
            "privacy_notice_version", "2026-11-01", "status_secret_hash", hash,
            "submitted_at", "2026-11-24T10:00:00.000Z", "sealed", sealed);
        b = json_dumps(env, JSON_COMPACT);
        json_decref(env);
        event_init(&ev, source, "signpost.referral.submitted.v1", id);
        struct kafka_out m = {.topic = "referral.submissions",
                              .key = id,
                              .key_len = strlen(id),
                              .value = b,
                              .value_len = strlen(b),
                              .ev = &ev,
                              .on_delivery = on_delivery};
        for (int copy = 0; copy < (o->twice ? 2 : 1); copy++) {
                if (copy > 0) /* the same submission, a new event id */
                        event_init(&ev, source,
                                   "signpost.referral.submitted.v1", id);
                while ((rc = kafka_produce(prod, &m, &e)) < 0 &&
                       e.kind == ERR_TRANSIENT)
                        kafka_producer_poll(prod, 50);
                if (rc < 0)
                        break;
        }
        if (rc == 0 && out != NULL)
                fprintf(out,
                        "{\"referral_id\":\"%s\",\"reference\":\"%s\","
                        "\"secret\":\"%s\",\"kind\":\"%s\",\"payload\":%s}\n",
                        id, ref, secret, kind, text);
out:
        free(text);
        free(box);
        free(sealed);
        free(b);
        json_decref(p);
        return rc;
}

static int
submit_all(const struct opts *o, double *sent_at)
{
        struct err e = {0};
        struct kafka_producer *prod = kafka_producer_new(o->brokers, NULL, &e);
        FILE *out = NULL;
        double start = pace_now_ms();
        long i;

        if (prod == NULL) {
                fprintf(stderr, "producer: %s\n", e.msg);
                return 1;
        }
        if (o->out != NULL && (out = fopen(o->out, "w")) == NULL) {
                perror(o->out);
                return 1;
        }
        for (i = 0; i < o->count; i++) {
                pace_wait(start, i, o->rate);
                if (sent_at != NULL)
                        sent_at[i] = pace_now_ms();
                if (submit_one(prod, o, i, out) < 0)
                        break;
                kafka_producer_poll(prod, 0);
        }
        kafka_producer_flush(prod, 30000);
        kafka_producer_free(prod);
        if (out != NULL)
                fclose(out);
        fprintf(stderr, "submitted=%ld acked=%ld failed=%ld\n", i,
                atomic_load(&acked), atomic_load(&failed));
        return atomic_load(&acked) == o->count * (o->twice ? 2 : 1) ? 0 : 1;
}

/* ---- bench: the partner side ---- */

struct watch {
        const struct opts *o;
        double *sent_at, *seen_at;
        atomic_long seen;
        atomic_bool stop;
        _Atomic(struct kafka_consumer *) kc; /* set while it runs */
        /* HTTP mode: references are the gateway's, so what is seen is
         * logged and matched to the POSTs afterwards */
        char (*log_ref)[HTTP_POST_REF_LEN];
        double *log_at;
        long log_cap; /* older runs' messages on the topic are logged too */
};

/* seen_http: logs one routed reference (HTTP mode). */
static void
seen_http(struct watch *w, const char *ref)
{
        long k = atomic_load(&w->seen);

        if (k < w->log_cap) { /* the only writer: the watcher thread */
                snprintf(w->log_ref[k], HTTP_POST_REF_LEN, "%s", ref);
                w->log_at[k] = pace_now_ms();
                atomic_store(&w->seen, k + 1);
        }
}

static int
on_routed(void *arg, struct kafka_record *recs, size_t n, struct err *e)
{
        struct watch *w = arg;
        size_t k;

        (void)e;
        for (k = 0; k < n; k++) {
                json_t *m =
                    json_loadb(recs[k].value, recs[k].value_len, 0, NULL);
                const char *ref =
                    json_string_value(json_object_get(m, "reference"));
                long i = w->log_ref != NULL ? -1 : ref_index(ref);
                if (w->log_ref != NULL && ref != NULL)
                        seen_http(w, ref);
                else if (i >= 0 && i < w->o->count && w->seen_at[i] == 0) {
                        w->seen_at[i] = pace_now_ms();
                        if (atomic_fetch_add(&w->seen, 1) + 1 == w->o->count)
                                atomic_store(&w->stop, true);
                }
                json_decref(m);
                recs[k].result = ERR_NONE;
        }
        return 0;
}

static void *
watch_run(void *arg)
{
        struct watch *w = arg;
        char topic[128], group[64];
        const char *topics[] = {topic, NULL};
        /* fetch.wait.max.ms: the development broker answers an empty
         * fetch only when this runs out (Apache Kafka answers as soon as
         * data comes), so the watcher would add up to 500 ms it should
         * not measure. auto.offset.reset latest: the watcher starts at
         * the end of the topic, not at earlier runs' messages, which it
         * would still be reading (and timing late) while this run's
         * arrived. */
        const char *conf[] = {"topic.metadata.refresh.interval.ms",
                              "1000",
                              "allow.auto.create.topics",
                              "true",
                              "fetch.wait.max.ms",
                              "5",
                              "auto.offset.reset",
                              "latest",
                              NULL};
        struct err e = {0};
        struct kafka_consumer *kc;

        kafka_partner_topic(w->o->org, topic, sizeof(topic));
        snprintf(group, sizeof(group), "intake-bench-%d", (int)getpid());
        kc = kafka_consumer_new(w->o->brokers, group, topics, conf, &e);
        if (kc == NULL) {
                fprintf(stderr, "consumer: %s\n", e.msg);
                return NULL;
        }
        atomic_store(&w->kc, kc);
        kafka_consumer_run(kc, on_routed, w, 500, &w->stop, &e);
        atomic_store(&w->kc, NULL);
        kafka_consumer_free(kc);
        return NULL;
}

static int
dbl_cmp(const void *a, const void *b)
{
        double x = *(const double *)a, y = *(const double *)b;

        return (x > y) - (x < y);
}

/* trace_write: with INTAKE_LOAD_TRACE=FILE, one line per referral: its
 * index, ms from the start when produced and when seen (0 = never). */
static void
trace_write(const struct opts *o, const struct watch *w, double t0)
{
        const char *path = getenv("INTAKE_LOAD_TRACE");
        FILE *f = path != NULL ? fopen(path, "w") : NULL;

        if (f == NULL)
                return;
        for (long i = 0; i < o->count; i++)
                fprintf(f, "%ld %.1f %.1f\n", i, w->sent_at[i] - t0,
                        w->seen_at[i] > 0 ? w->seen_at[i] - t0 : 0);
        fclose(f);
}

struct refidx {
        const char *ref;
        long i;
};

static int
refidx_cmp(const void *a, const void *b)
{
        return strcmp(((const struct refidx *)a)->ref,
                      ((const struct refidx *)b)->ref);
}

/* match_http: seen_at[i] from the log, through the references the
 * gateway gave each POST. Returns how many POSTs have been seen. */
static long
match_http(const struct opts *o, struct watch *w,
           char (*refs)[HTTP_POST_REF_LEN])
{
        struct refidx *x = calloc((size_t)o->count, sizeof(*x));
        long n = 0, seen = atomic_load(&w->seen), matched = 0;

        for (long i = 0; i < o->count; i++)
                if (refs[i][0] != '\0')
                        x[n++] = (struct refidx){refs[i], i};
        qsort(x, (size_t)n, sizeof(*x), refidx_cmp);
        for (long k = 0; k < seen; k++) {
                struct refidx key = {w->log_ref[k], 0}, *hit;
                hit = bsearch(&key, x, (size_t)n, sizeof(*x), refidx_cmp);
                if (hit != NULL && w->seen_at[hit->i] == 0) {
                        w->seen_at[hit->i] = w->log_at[k];
                        matched++;
                }
        }
        free(x);
        return matched;
}

/* submit_http: the HTTP leg; returns referrals accepted. */
static long
submit_http(struct opts *o, struct watch *w, char (*refs)[HTTP_POST_REF_LEN])
{
        char url[512];
        long accepted;

        snprintf(url, sizeof(url), "%s/v1/referrals", o->http);
        accepted = http_post_all(url, o->service, o->count, o->rate, 64,
                                 w->sent_at, refs);
        fprintf(stderr, "posted=%ld accepted=%ld\n", o->count, accepted);
        for (int k = 0; k < 1200; k++) { /* up to 120 s to drain */
                memset(w->seen_at, 0, (size_t)o->count * sizeof(double));
                if (match_http(o, w, refs) >= accepted)
                        break;
                usleep(100 * 1000);
        }
        atomic_store(&w->stop, true);
        return accepted;
}

/* watch_joined: waits (up to 60 s) until the watcher holds its
 * partitions, so the clock never runs while its group is still forming
 * (which took from one to over ten seconds on the development broker). */
static void
watch_joined(struct watch *w)
{
        for (int k = 0; k < 600; k++) {
                struct kafka_consumer *kc = atomic_load(&w->kc);
                if (kc != NULL && kafka_consumer_assigned(kc) > 0) {
                        usleep(500 * 1000); /* its first fetch positions */
                        return;
                }
                usleep(100 * 1000);
        }
        fprintf(stderr, "watcher: no partitions after 60 s\n");
}

static int
bench(struct opts *o)
{
        struct watch w = {.o = o};
        double t0, last = 0, *lat;
        char(*refs)[HTTP_POST_REF_LEN] = NULL;
        pthread_t t;
        long i, n = 0;

        o->count = o->rate > 0 ? o->rate * o->seconds : o->seconds * 1000;
        w.sent_at = calloc((size_t)o->count, sizeof(double));
        w.seen_at = calloc((size_t)o->count, sizeof(double));
        lat = calloc((size_t)o->count, sizeof(double));
        if (o->http != NULL) {
                w.log_cap = o->count * 8 + 10000;
                refs = calloc((size_t)o->count, sizeof(*refs));
                w.log_ref = calloc((size_t)w.log_cap, sizeof(*w.log_ref));
                w.log_at = calloc((size_t)w.log_cap, sizeof(double));
        }
        pthread_create(&t, NULL, watch_run, &w);
        watch_joined(&w);
        t0 = pace_now_ms();
        if (o->http != NULL)
                submit_http(o, &w, refs);
        else
                submit_all(o, w.sent_at);
        for (i = 0; i < 1200 && !atomic_load(&w.stop); i++)
                usleep(100 * 1000); /* up to 120 s to drain */
        atomic_store(&w.stop, true);
        pthread_join(t, NULL);
        if (o->http != NULL) {
                memset(w.seen_at, 0, (size_t)o->count * sizeof(double));
                match_http(o, &w, refs);
        }
        for (i = 0; i < o->count; i++) {
                if (w.seen_at[i] == 0)
                        continue;
                lat[n++] = w.seen_at[i] - w.sent_at[i];
                if (w.seen_at[i] > last)
                        last = w.seen_at[i];
        }
        trace_write(o, &w, t0);
        qsort(lat, (size_t)n, sizeof(double), dbl_cmp);
        printf("intake_offered_rate=%s from=%s\n",
               o->rate > 0 ? "steady" : "burst",
               o->http != NULL ? "http_post" : "kafka_produce");
        printf("intake_referrals=%ld routed=%ld\n", o->count, n);
        if (n > 0) {
                printf("intake_end_to_end_referrals_per_s=%.0f\n",
                       (double)n * 1000.0 / (last - t0));
                printf("intake_latency_p50_ms=%.1f\n", lat[n / 2]);
                printf("intake_latency_p99_ms=%.1f\n",
                       lat[(size_t)((double)n * 0.99)]);
        }
        free(w.sent_at);
        free(w.seen_at);
        free(w.log_ref);
        free(w.log_at);
        free(refs);
        free(lat);
        return n == o->count ? 0 : 1;
}

static int
principal(int argc, char **argv)
{
        struct http_principal p = {0};
        struct secret_key *k = NULL;
        char *hdr = NULL;
        int rc = 1;

        if (argc < 5 || http_role_parse(argv[3], &p.role) < 0 ||
            secret_key_load(argv[2], HTTP_PRINCIPAL_KEY_BYTES, NULL, &k, NULL) <
                0)
                return 2;
        snprintf(p.sub, sizeof(p.sub), "%s", argv[4]);
        snprintf(p.org, sizeof(p.org), "%s", argc > 5 ? argv[5] : "");
        snprintf(p.reason, sizeof(p.reason), "%s", argc > 6 ? argv[6] : "");
        p.exp = (int64_t)time(NULL) + 600;
        if (http_principal_sign(k->bytes, &p, &hdr) == 0) {
                printf("%s\n", hdr);
                rc = 0;
        }
        free(hdr);
        secret_key_free(k);
        return rc;
}

int
main(int argc, char **argv)
{
        static const struct option longs[] = {
            {"brokers", required_argument, NULL, 'b'},
            {"pk", required_argument, NULL, 'p'},
            {"service", required_argument, NULL, 's'},
            {"org", required_argument, NULL, 'o'},
            {"count", required_argument, NULL, 'n'},
            {"rate", required_argument, NULL, 'r'},
            {"seconds", required_argument, NULL, 'S'},
            {"canary", required_argument, NULL, 'c'},
            {"out", required_argument, NULL, 'f'},
            {"bad", no_argument, NULL, 'x'},
            {"same-person", no_argument, NULL, 'P'},
            {"twice", no_argument, NULL, 'T'},
            {"http", required_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        struct opts o = {0};
        int c;

        if (argc < 2)
                goto usage;
        if (strcmp(argv[1], "principal") == 0)
                return principal(argc, argv);
        optind = 2;
        while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
                switch (c) {
                case 'b':
                        o.brokers = optarg;
                        break;
                case 'p':
                        o.pk = optarg;
                        break;
                case 's':
                        o.service = optarg;
                        break;
                case 'o':
                        o.org = optarg;
                        break;
                case 'n':
                        o.count = atol(optarg);
                        break;
                case 'r':
                        o.rate = atol(optarg);
                        break;
                case 'S':
                        o.seconds = atol(optarg);
                        break;
                case 'c':
                        o.canary = optarg;
                        break;
                case 'f':
                        o.out = optarg;
                        break;
                case 'x':
                        o.bad = true;
                        break;
                case 'P':
                        o.same_person = true;
                        break;
                case 'T':
                        o.twice = true;
                        break;
                case 'h':
                        o.http = optarg;
                        break;
                default:
                        goto usage;
                }
        }
        if (o.brokers == NULL || o.pk == NULL || o.service == NULL ||
            pk_read(o.pk) < 0)
                goto usage;
        log_init("intake-load", LOG_WARN);
        for (c = 0; c < 4; c++)
                run_tag[c] = ref_alphabet[randombytes_uniform(30)];
        if (strcmp(argv[1], "submit") == 0 && o.count > 0)
                return submit_all(&o, NULL);
        if (strcmp(argv[1], "bench") == 0 && o.org != NULL && o.seconds > 0)
                return bench(&o);
usage:
        fprintf(stderr, "usage: intake-load submit|bench --brokers B --pk F "
                        "--service ID [--count N] [--rate R] [--canary TAG] "
                        "[--out F] [--org ORG --seconds S]\n");
        return 2;
}
