/*
 * kafka-admin: puts proto/'s broker table onto an Apache Kafka cluster,
 * as its admin user (the certificate in SIGNPOST_KAFKA_TLS_DIR, lib/kafka.h).
 * What each command does is lib/kafka_admin.h's.
 *
 *   kafka-admin BOOTSTRAP setup PROTO_DIR
 *       every topic of PROTO_DIR/topics and its .dlq twin (partitions as
 *       listed, replication SIGNPOST_KAFKA_REPLICAS, default 1, and
 *       SIGNPOST_KAFKA_MIN_ISR), with the settings of PROTO_DIR/broker.json
 *       (compaction, retention.ms), then each daemon's ACLs
 *   kafka-admin BOOTSTRAP partner ORG [PROTO_DIR]
 *       the partner's topic and its user's ACLs (User:partner-<org>); ORG
 *       must be the organisation's id. signpost-admin partner register
 *       does this and issues the partner's certificate.
 *   kafka-admin BOOTSTRAP tune TOPIC NAME=VALUE...
 *       the topic's settings again (the table in SIGNPOST_PROTO_DIR,
 *       default proto), with these on top (tests)
 *   kafka-admin BOOTSTRAP forget-group GROUP
 *       deletes a consumer group with no members: its next member reads
 *       every topic from the beginning (rebuilding a lost replica)
 *   kafka-admin BOOTSTRAP wait SECONDS
 *       exits 0 once the cluster answers metadata as this user.
 *
 * Exit 0 on success; 1 with the reason on stderr; 2 on a usage error.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kafka_admin.h"

int
main(int argc, char **argv)
{
        const char *cmd = argc > 2 ? argv[2] : "";
        const char *proto = getenv("SIGNPOST_PROTO_DIR");
        bool wait = strcmp(cmd, "wait") == 0;
        struct kafka_admin_counts n = {0};
        struct kafka_admin *ka;
        struct err e = {0};
        int rc;

        if (!((strcmp(cmd, "setup") == 0 && argc == 4) || (wait && argc == 4) ||
              (strcmp(cmd, "tune") == 0 && argc >= 5) ||
              (strcmp(cmd, "forget-group") == 0 && argc == 4) ||
              (strcmp(cmd, "partner") == 0 && (argc == 4 || argc == 5)))) {
                fprintf(stderr,
                        "usage: kafka-admin BOOTSTRAP setup PROTO_DIR"
                        " | partner ORG [PROTO_DIR] | tune TOPIC NAME=VALUE..."
                        " | forget-group GROUP | wait SECONDS\n");
                return 2;
        }
        /* the broker table: setup's argument, partner's optional one,
         * else SIGNPOST_PROTO_DIR or proto; wait and forget-group need none */
        if (strcmp(cmd, "setup") == 0)
                proto = argv[3];
        else if (strcmp(cmd, "partner") == 0 && argc == 5)
                proto = argv[4];
        else if (wait || strcmp(cmd, "forget-group") == 0)
                proto = NULL;
        else if (proto == NULL || *proto == '\0')
                proto = "proto";
        ka = kafka_admin_new(argv[1], proto, wait, &e);
        if (ka == NULL)
                rc = -1;
        else if (wait)
                rc = kafka_admin_wait(ka, atoi(argv[3]), &e);
        else if (strcmp(cmd, "setup") == 0) {
                rc = kafka_admin_setup(ka, argv[3], &n, &e);
                if (rc == 0)
                        printf("topics: %d listed, %d created\nacls: %d\n",
                               n.listed, n.created, n.acls);
        } else if (strcmp(cmd, "tune") == 0)
                rc = kafka_admin_tune(ka, argv[3], argv + 4, argc - 4, &e);
        else if (strcmp(cmd, "forget-group") == 0)
                rc = kafka_admin_forget_group(ka, argv[3], &e);
        else
                rc = kafka_admin_partner(ka, argv[3], NULL, 0, &e);
        kafka_admin_free(ka);
        if (rc < 0)
                fprintf(stderr, "kafka-admin: %s\n", e.msg);
        return rc < 0 ? 1 : 0;
}
