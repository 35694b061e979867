/*
 * topic-produce: writes CloudEvents records to a topic, for tests and
 * benchmarks that play the part of another daemon.
 *
 *   topic-produce BOOTSTRAP TOPIC CE_TYPE [SEAL_PK_FILE] < lines
 *
 * Each input line is "KEY<TAB>JSON". With SEAL_PK_FILE (base64 public key,
 * as signpost-keygen writes it), a "sealed" member that is a JSON object
 * is replaced by base64url(crypto_box_seal(its compact text)) as the
 * contracts describe. Prints "produced N" once the broker acknowledged
 * every record; exits 1 on any failure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event.h"
#include "kafka.h"
#include "log.h"
#include "secret.h"

/* seal_member: replaces obj.sealed (an object) by its sealed text. */
static int
seal_member(json_t *obj, const unsigned char *pk)
{
        json_t *s = json_object_get(obj, "sealed");
        unsigned char *box = NULL;
        size_t len = 0;
        char *text, *b64;

        if (!json_is_object(s))
                return 0;
        text = json_dumps(s, JSON_COMPACT);
        if (text == NULL || secret_seal(pk, (unsigned char *)text, strlen(text),
                                        &box, &len, NULL) != 0) {
                free(text);
                return -1;
        }
        b64 = secret_b64_encode(box, len);
        json_object_set_new(obj, "sealed", json_string(b64));
        free(b64);
        free(box);
        free(text);
        return 0;
}

static long failed;

static void
on_delivery(void *opaque, enum kafka_delivery d, const char *reason)
{
        (void)opaque;
        if (d != KAFKA_DELIVERED) {
                /* e.g. the broker's refusal: an ACL, an unknown topic */
                if (failed++ == 0)
                        fprintf(stderr, "topic-produce: not delivered: %s\n",
                                reason ? reason : "(no reason)");
        }
}

static int
produce_line(struct kafka_producer *p, const char *topic, const char *type,
             char *line, const unsigned char *pk)
{
        char *tab = strchr(line, '\t'), *value;
        struct kafka_out m = {.topic = topic};
        struct event ev;
        json_t *j;
        int rc;

        if (tab == NULL)
                return -1;
        *tab = '\0';
        j = json_loads(tab + 1, 0, NULL);
        if (j == NULL || (pk != NULL && seal_member(j, pk) != 0)) {
                json_decref(j);
                return -1;
        }
        value = json_dumps(j, JSON_COMPACT);
        json_decref(j);
        event_init(&ev, "/signpost/test", type, line);
        m.key = line;
        m.key_len = strlen(line);
        m.value = value;
        m.value_len = strlen(value);
        m.ev = &ev;
        m.on_delivery = on_delivery;
        while ((rc = kafka_produce(p, &m, NULL)) != 0)
                kafka_producer_poll(p, 100); /* queue full: drain */
        free(value);
        return 0;
}

int
main(int argc, char **argv)
{
        unsigned char pk[SECRET_BOX_PK_BYTES];
        struct kafka_producer *p;
        struct err e = {0};
        char *line = NULL;
        size_t cap = 0;
        ssize_t len;
        long n = 0;

        if (argc < 4) {
                fprintf(stderr,
                        "usage: %s BOOTSTRAP TOPIC CE_TYPE "
                        "[SEAL_PK_FILE] < KEY<TAB>JSON lines\n",
                        argv[0]);
                return 2;
        }
        log_init("topic-produce", LOG_WARN);
        if (argc > 4 && secret_pk_load(argv[4], pk, &e) != 0) {
                fprintf(stderr, "%s\n", e.msg);
                return 1;
        }
        p = kafka_producer_new(argv[1], NULL, &e);
        if (p == NULL) {
                fprintf(stderr, "producer: %s\n", e.msg);
                return 1;
        }
        while ((len = getline(&line, &cap, stdin)) > 0) {
                line[strcspn(line, "\r\n")] = '\0';
                if (line[0] == '\0')
                        continue;
                if (produce_line(p, argv[2], argv[3], line,
                                 argc > 4 ? pk : NULL) != 0) {
                        fprintf(stderr, "bad line %ld\n", n + 1);
                        return 1;
                }
                n++;
        }
        free(line);
        if (kafka_producer_flush(p, 30000) != 0 || failed > 0) {
                fprintf(stderr, "not all records acknowledged\n");
                kafka_producer_free(p);
                return 1;
        }
        kafka_producer_free(p);
        printf("produced %ld\n", n);
        return 0;
}
