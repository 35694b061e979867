/*
 * catalogue: the one reader of the directory's catalogue topics
 * (directory.services, directory.organisations) for every daemon that
 * keeps a replica of them. Reads a record; does not store it (each
 * daemon's store*.c does).
 *
 * A record's key is the entity's id (a UUID). A null value is a tombstone:
 * the entity was deleted, and compaction removes it. Nothing else is a
 * deletion: not an empty value, not the record's ce_type. Any other value
 * is the entity's full snapshot, one JSON object of the topic's type
 * (CATALOGUE_TYPE_SERVICE or CATALOGUE_TYPE_ORG, proto/schemas/), whose id
 * is the key. Anything else is ERR_INVALID with a reason, for the consumer
 * to dead-letter. docs/contracts.md describes the snapshots.
 */
#ifndef SIGNPOST_CATALOGUE_H
#define SIGNPOST_CATALOGUE_H

#include <stdbool.h>

#include <jansson.h>

#include "err.h"
#include "kafka.h"
#include "uuid.h"

#define CATALOGUE_TOPIC_SERVICES "directory.services"
#define CATALOGUE_TOPIC_ORGS "directory.organisations"
/* a snapshot's ce_type */
#define CATALOGUE_TYPE_SERVICE "signpost.service.updated.v1"
#define CATALOGUE_TYPE_ORG "signpost.organisation.updated.v1"
/* a tombstone's ce_type (the directory sends it; readers go by the null
 * value alone) */
#define CATALOGUE_TYPE_SERVICE_DELETED "signpost.service.deleted.v1"
#define CATALOGUE_TYPE_ORG_DELETED "signpost.organisation.deleted.v1"

enum catalogue_kind {
        CATALOGUE_SERVICE = 1, /* directory.services */
        CATALOGUE_ORG,         /* directory.organisations */
};

/* One record read. The strings are borrowed from snapshot (NULL when the
 * field is absent, and always when deleted). */
struct catalogue_entry {
        enum catalogue_kind kind;
        char id[UUID_STR_LEN];
        bool deleted;     /* a tombstone: nothing below is set */
        json_t *snapshot; /* the whole value, owned; NULL when deleted */
        const char *name; /* never NULL in a snapshot */
        const char *partner_public_key; /* as sent, not decoded */
        /* services only: */
        const char *org_id; /* a UUID */
        const char *org_name;
        const char *status; /* never NULL in a service snapshot */
        bool accepts_referrals;
        const char *notice_email;     /* referral_notice_email */
        const json_t *taxonomy_terms; /* array of objects with a UUID id */
};

/* catalogue_topic: true for the two catalogue topics. */
bool catalogue_topic(const char *topic);
/* catalogue_read: reads rec (a record of a catalogue topic) into *out,
 * released with catalogue_entry_fini() (also after a failure). Checks the
 * key (a UUID), and of a snapshot: the type, strict JSON (one object, no
 * duplicate keys), an id equal to the key, the required fields (name; for
 * a service status, accepts_referrals and taxonomy_terms) and the type of
 * each field read. Returns 0, or -1 with ERR_INVALID saying why (e->field
 * names the field). */
int catalogue_read(const struct kafka_record *rec, struct catalogue_entry *out,
                   struct err *e);
void catalogue_entry_fini(struct catalogue_entry *c);

#endif
