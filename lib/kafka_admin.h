/*
 * kafka_admin: puts proto/'s broker table (proto/broker.json, the one
 * table of who may do what on the broker) onto an Apache Kafka cluster, as
 * the admin user whose certificate SIGNPOST_KAFKA_TLS_DIR names (lib/kafka.h).
 * tools/kafka-admin and signpost-admin's partner registration use it.
 *
 *   kafka_admin_setup    every topic of PROTO_DIR/topics and its .dlq twin,
 *                        with its settings, then each daemon principal's
 *                        ACLs (User:<daemon>)
 *   kafka_admin_partner  a registered organisation's topic
 *                        partner.<org>.referrals and its user's ACLs
 *                        (User:partner-<org>)
 *
 * Replication: SIGNPOST_KAFKA_REPLICAS (default 1) copies of every topic,
 * and SIGNPOST_KAFKA_MIN_ISR (default: none set) as min.insync.replicas.
 * Every call returns 0, or -1 with the reason in e.
 */
#ifndef SIGNPOST_KAFKA_ADMIN_H
#define SIGNPOST_KAFKA_ADMIN_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

struct kafka_admin;

/* kafka_admin_new: a client of brokers reading PROTO_DIR/broker.json
 * (proto_dir NULL: no table, for kafka_admin_wait only). quiet: connection
 * errors are not logged (while waiting for a broker to start). */
struct kafka_admin *kafka_admin_new(const char *brokers, const char *proto_dir,
                                    bool quiet, struct err *e);
void kafka_admin_free(struct kafka_admin *ka);

/* kafka_admin_wait: 0 once the cluster answers metadata as this user,
 * within seconds. */
int kafka_admin_wait(struct kafka_admin *ka, int seconds, struct err *e);

/* What kafka_admin_setup did. */
struct kafka_admin_counts {
        int listed;  /* topics in PROTO_DIR/topics, .dlq twins included */
        int created; /* of them, new */
        int acls;    /* ACLs set */
};

/* kafka_admin_setup: the topics (a topic that exists has its settings set
 * again) and the daemons' ACLs, waiting until the broker has them in force.
 * n (may be NULL) receives the counts. */
int kafka_admin_setup(struct kafka_admin *ka, const char *proto_dir,
                      struct kafka_admin_counts *n, struct err *e);

/* kafka_admin_tune: sets topic's settings from the table again, with
 * extra ("name=value" strings, n of them) on top; for tests that need a
 * broker to act sooner (a compaction within seconds). */
int kafka_admin_tune(struct kafka_admin *ka, const char *topic,
                     char *const *extra, int n, struct err *e);

/* kafka_admin_forget_group: deletes consumer group (it must have no
 * member), so its next member starts from each topic's beginning: how a
 * replica whose database was lost is rebuilt from the topics. */
int kafka_admin_forget_group(struct kafka_admin *ka, const char *group,
                             struct err *e);

/* kafka_admin_partner_name_ok: whether org may name a partner's topic and
 * user: the organisation's id, a UUID. */
bool kafka_admin_partner_name_ok(const char *org);

/* kafka_admin_partner: the partner's topic partner.<org>.referrals (made
 * if missing, as intake would on first routing) and its user's ACLs: Read
 * and Describe on topics and groups under partner.<org>., Write and
 * Describe on referral.updates (broker.json "partner"). user (n bytes,
 * may be NULL) receives the broker user's name, partner-<org>. */
int kafka_admin_partner(struct kafka_admin *ka, const char *org, char *user,
                        size_t n, struct err *e);

#endif
