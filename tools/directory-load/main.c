/*
 * directory-load: produces directory commands from NDJSON onto
 * directory.commands, as the gateway would. Each input line is
 *   {"type": "signpost.directory.hsds_import.v1", "key": "<id>",
 *    "data": {...}}
 * usage: directory-load BOOTSTRAP [FILE|-]
 * Waits for every delivery report; exits 1 if any record was not
 * acknowledged. Used by `make run` (demo data) and the benchmark.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "event.h"
#include "kafka.h"
#include "log.h"

static long acked, failed;

static void
on_delivery(void *opaque, enum kafka_delivery d, const char *reason)
{
        (void)opaque;
        (void)reason;
        if (d == KAFKA_DELIVERED)
                acked++;
        else
                failed++;
}

static int
produce_line(struct kafka_producer *p, const char *line, long lineno)
{
        json_error_t je;
        json_t *j = json_loads(line, 0, &je);
        const char *type = json_string_value(json_object_get(j, "type"));
        const char *key = json_string_value(json_object_get(j, "key"));
        json_t *data = json_object_get(j, "data");
        struct err e = {0};
        struct event ev;
        char *value = NULL;
        int rc = -1;

        if (type == NULL || key == NULL || !json_is_object(data)) {
                fprintf(stderr, "line %ld: needs type, key, data\n", lineno);
                goto out;
        }
        event_init(&ev, "/signpost/directory-load", type, key);
        value = json_dumps(data, JSON_COMPACT);
        struct kafka_out m = {.topic = "directory.commands",
                              .key = key,
                              .key_len = strlen(key),
                              .value = value,
                              .value_len = strlen(value),
                              .ev = &ev,
                              .on_delivery = on_delivery};
        while ((rc = kafka_produce(p, &m, &e)) < 0 && e.kind == ERR_TRANSIENT)
                kafka_producer_poll(p, 100);
        if (rc < 0)
                fprintf(stderr, "line %ld: %s\n", lineno, e.msg);
        kafka_producer_poll(p, 0);
out:
        free(value);
        json_decref(j);
        return rc;
}

int
main(int argc, char **argv)
{
        struct kafka_producer *p;
        struct err e = {0};
        FILE *in = stdin;
        char *line = NULL;
        size_t cap = 0;
        long lineno = 0, sent = 0;

        if (argc < 2 || argc > 3) {
                fprintf(stderr, "usage: directory-load BOOTSTRAP [FILE|-]\n");
                return 2;
        }
        log_init("directory-load", LOG_WARN);
        if (argc == 3 && strcmp(argv[2], "-") != 0 &&
            (in = fopen(argv[2], "r")) == NULL) {
                perror(argv[2]);
                return 1;
        }
        const char *conf[] = {"message.max.bytes", "10000000", NULL};
        p = kafka_producer_new(argv[1], conf, &e);
        if (p == NULL) {
                fprintf(stderr, "producer: %s\n", e.msg);
                if (in != stdin)
                        fclose(in);
                return 1;
        }
        while (getline(&line, &cap, in) > 0) {
                lineno++;
                if (line[0] == '\n' || line[0] == '\0')
                        continue;
                if (produce_line(p, line, lineno) == 0)
                        sent++;
        }
        while (acked + failed < sent)
                kafka_producer_poll(p, 100);
        kafka_producer_free(p);
        free(line);
        if (in != stdin)
                fclose(in);
        fprintf(stderr, "directory-load: %ld sent, %ld acknowledged\n", sent,
                acked);
        return failed == 0 ? 0 : 1;
}
