/*
 * directory: the community directory daemon. Owns schema `directory`
 * (HSDS 3.0 / Open Referral UK data, postcodes, update requests), serves
 * the ORUK 3.0 read API, applies commands from directory.commands and
 * publishes catalogue snapshots on directory.services and
 * directory.organisations through the outbox.
 *
 * Data flow: routes.c (HTTP) -> oruk.c (answers; oruk_params.c checks
 * the parameters) -> store.c (SQL) -> render.c (JSON). consume.c (Kafka) ->
 * store.c -> emit.c (outbox events).
 */
#ifndef SIGNPOST_DIRECTORY_H
#define SIGNPOST_DIRECTORY_H

#include <jansson.h>
#include <libpq-fe.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "catalogue.h"
#include "db.h"
#include "db_pool.h"
#include "err.h"
#include "kafka.h"
#include "uuid.h"

#define DIR_SCHEMA "directory"
#define DIR_TOPIC_COMMANDS "directory.commands"
#define DIR_TOPIC_SERVICES CATALOGUE_TOPIC_SERVICES
#define DIR_TOPIC_ORGS CATALOGUE_TOPIC_ORGS
#define DIR_PER_PAGE_DEFAULT 50
#define DIR_PER_PAGE_MAX 100
#define DIR_SEARCH_MAX 200
#define DIR_PROXIMITY_MAX 200000 /* metres */

/* A list query: every field optional (NULL / false = no filter). Strings
 * are borrowed from the caller and already validated by oruk.c. */
struct dir_query {
        const char *search;
        int page;     /* 1-based */
        int per_page; /* 1..DIR_PER_PAGE_MAX */
        const char *taxonomy_term_id;
        const char *taxonomy_id;
        const char *organization_id;
        const char *minimum_age; /* decimal text */
        const char *maximum_age;
        const char *age;            /* extension: min <= age <= max */
        const char *modified_after; /* timestamp text */
        const char *day;            /* MO .. SU */
        const char *start_time;     /* HH:MM[:SS] */
        const char *end_time;
        bool has_point; /* lat/lng given or resolved from postcode */
        char lat[32];
        char lng[32];
        const char *proximity; /* metres text */
        bool sort_distance;
        /* taxonomy terms */
        const char *parent_id;
        bool top_only;
};

/* One page of ids in order plus the total. */
struct dir_page {
        long total;
        int n;
        char (*ids)[UUID_STR_LEN];
        double *distance; /* metres, or -1 when no point was given */
        char **briefs; /* stored list documents (store_docs.c), NULL if none */
        bool briefs_all; /* every service of the page has one */
};

/* A nearest-service answer for one candidate service. */
struct dir_nearest {
        char service_id[UUID_STR_LEN];
        char location_id[UUID_STR_LEN]; /* "" when the service has none */
        double distance;                /* metres, -1 unknown */
        int covered; /* 1 yes, 0 no, -1 unknown (no service areas) */
        char area[64];
};

/* ---- store.c, store_search.c: reads (store*.c hold the only SQL) ---- */
/* Every PGresult returned is new, free with PQclear(). */
int dir_store_services_page(struct db *db, const struct dir_query *q,
                            bool at_locations, struct dir_page *out,
                            struct err *e);
void dir_page_fini(struct dir_page *p);
/* dir_store_services: the list columns (with organization.*) of ids. */
PGresult *dir_store_services(struct db *db, const char *ids_array,
                             struct err *e);
/* dir_store_sal: service_at_location rows (with location.*) of ids. */
PGresult *dir_store_sal(struct db *db, const char *ids_array, struct err *e);
/* dir_store_children: rows of kind (see DIR_CHILD_*) whose parent is in
 * ids_array; column _parent first. */
enum dir_child {
        DIR_CHILD_SCHEDULES,
        DIR_CHILD_AREAS,
        DIR_CHILD_LANGUAGES,
        DIR_CHILD_FUNDING,
        DIR_CHILD_COSTS,
        DIR_CHILD_CONTACTS,
        DIR_CHILD_PHONES, /* parent = contact */
        DIR_CHILD_ATTRIBUTES,
        DIR_CHILD_SAL,           /* service_at_locations with location.* */
        DIR_CHILD_ADDRESSES,     /* parent = location */
        DIR_CHILD_ACCESSIBILITY, /* parent = location */
        DIR_CHILD_ORG_IDS,       /* parent = organization */
        DIR_CHILD_ORG_SERVICES,  /* ids of an organization's services */
        DIR_CHILD_TERMS,         /* terms of a taxonomy */
        DIR_CHILD_COUNT
};
PGresult *dir_store_children(struct db *db, enum dir_child kind,
                             const char *ids_array, struct err *e);
/* dir_store_children_batch: the n child queries kinds[i] over ids[i] in
 * one round trip (libpq pipeline mode); on success out[i] are new results
 * (PQclear each), on failure all stay NULL. n <= DIR_CHILD_COUNT. */
int dir_store_children_batch(struct db *db, const enum dir_child *kinds,
                             char *const *ids, int n, PGresult **out,
                             struct err *e);
PGresult *dir_store_organizations_page(struct db *db, const struct dir_query *q,
                                       struct err *e);
PGresult *dir_store_organization(struct db *db, const char *id, struct err *e);
PGresult *dir_store_taxonomies_page(struct db *db, const struct dir_query *q,
                                    struct err *e);
PGresult *dir_store_taxonomy(struct db *db, const char *id, struct err *e);
PGresult *dir_store_terms_page(struct db *db, const struct dir_query *q,
                               struct err *e);
PGresult *dir_store_term(struct db *db, const char *id, struct err *e);
/* dir_store_exists: true if a row of table ("taxonomies",
 * "taxonomy_terms", "organizations", "services") has id. */
int dir_store_exists(struct db *db, const char *table, const char *id,
                     bool *found, struct err *e);
/* dir_store_postcode: looks up a normalised postcode; 0 and *found. */
int dir_store_postcode(struct db *db, const char *postcode, char lat[32],
                       char lng[32], bool *found, struct err *e);
/* dir_store_nearest: one answer per candidate service id. */
int dir_store_nearest(struct db *db, const char *ids_array, const char *lat,
                      const char *lng, const char *outward,
                      struct dir_nearest **out, int *n, struct err *e);
PGresult *dir_store_service_snapshot(struct db *db, const char *id,
                                     struct err *e);
PGresult *dir_store_org_snapshot(struct db *db, const char *id, struct err *e);
PGresult *dir_store_update_requests(struct db *db, const char *status,
                                    const char *id, struct err *e);

/* ---- store_write.c: writes, inside the caller's transaction ---- */
/* `obj` is HSDS JSON. */
/* dir_store_catalogue_ids: returns new result, one row: the text arrays of
 * every organisation id and every service id. Free with PQclear(). */
PGresult *dir_store_catalogue_ids(struct db *db, struct err *e);
/* dir_store_put: upsert of an organization, service, location, taxonomy
 * or taxonomy_term row from obj (fields absent keep their value; create
 * requires the row not to exist, update requires it to exist). */
enum dir_entity {
        DIR_ORGANIZATION,
        DIR_SERVICE,
        DIR_LOCATION,
        DIR_TAXONOMY,
        DIR_TERM,
};
enum dir_put_mode { DIR_PUT_CREATE, DIR_PUT_UPDATE, DIR_PUT_UPSERT };
int dir_store_put(struct db *db, enum dir_entity ent, enum dir_put_mode mode,
                  const json_t *obj, struct err *e);
/* dir_store_replace_children: replaces the child rows of parent_id of the
 * given kind with the array arr (HSDS objects). */
int dir_store_replace_children(struct db *db, enum dir_child kind,
                               const char *parent_id, const json_t *arr,
                               struct err *e);
/* dir_store_put_many: dir_store_put (DIR_PUT_UPSERT) of an array of
 * objects with distinct ids, in one statement. */
int dir_store_put_many(struct db *db, enum dir_entity ent, const json_t *arr,
                       struct err *e);
/* dir_store_replace_many: replaces the kind rows of every parent in the
 * array literal parents with items (objects that carry their parent
 * column, id and ord), in two statements. */
int dir_store_replace_many(struct db *db, enum dir_child kind,
                           const char *parents, const json_t *items,
                           struct err *e);
int dir_store_attribute_add(struct db *db, const char *link_id,
                            const char *entity, const json_t *attr, int ord,
                            struct err *e);
int dir_store_delete(struct db *db, enum dir_entity ent, const char *id,
                     struct err *e);
/* dir_store_reindex: recomputes the search documents of services. */
int dir_store_reindex(struct db *db, const char *ids_array, struct err *e);
/* dir_store_affected: ids (as an array literal, new string, free()) of
 * services touched by a change to the given entity. */
char *dir_store_affected(struct db *db, enum dir_entity ent, const char *id,
                         struct err *e);
int dir_store_sal_put(struct db *db, const char *id, const char *service_id,
                      const char *location_id, struct err *e);
/* dir_store_postcodes_load: inserts or replaces arrays of postcodes. */
int dir_store_postcodes_load(struct db *db, const char *pcs, const char *lats,
                             const char *lngs, long *n, struct err *e);
/* dir_store_entity_json: returns new jsonb text of the row, or NULL. */
char *dir_store_entity_json(struct db *db, enum dir_entity ent, const char *id,
                            struct err *e);
int dir_store_request_add(struct db *db, const char *id, const char *type,
                          const char *entity_id, const char *by,
                          const char *changes, struct err *e);
/* dir_store_request_decide: pending -> approved/rejected; returns new
 * jsonb text {entity_type, entity_id, changes} via *out (approve). */
int dir_store_request_decide(struct db *db, const char *id, bool approve,
                             const char *by, const char *reason, char **out,
                             struct err *e);

/* ---- render.c ---- */
/* dir_render_row: returns new object from row of r: NULL columns are
 * omitted, columns starting with '_' are skipped, "a.b" nests. */
json_t *dir_render_row(const PGresult *r, int row);
/* dir_render_attach: appends each row of r to the array `field` of the
 * object in `parents` (id -> object) named by column _parent. */
void dir_render_attach(json_t *parents, const PGresult *r, const char *field);
json_t *dir_render_page(const struct dir_query *q, long total,
                        json_t *contents);
/* dir_render_services_full: returns new array of fully nested services in
 * the order of ids_array (with service_at_locations unless nested). */
json_t *dir_render_services_full(struct db *db, const char *ids_array,
                                 bool with_sal, struct err *e);
/* dir_render_services_brief: returns new array of the list form of the
 * services in ids_array (one-to-one fields and the nested organization
 * with its identifiers), in that order; two queries. */
json_t *dir_render_services_brief(struct db *db, const char *ids_array,
                                  struct err *e);
json_t *dir_render_organization_full(struct db *db, const char *id,
                                     struct err *e);
json_t *dir_render_sal_full(struct db *db, const char *id, struct err *e);
json_t *dir_render_taxonomy_full(struct db *db, const char *id, struct err *e);
/* dir_render_dump: returns new compact text, free with free(). */
char *dir_render_dump(const json_t *j);
/* dir_ids_array: returns new "{a,b}" literal of n ids, free with free(). */
char *dir_ids_array(char (*ids)[UUID_STR_LEN], int n);

/* ---- oruk.c ---- */
/* A request as oruk.c sees it: a query-string getter. */
typedef const char *(*dir_param_fn)(void *req, const char *name);
struct dir_answer {
        int status;
        char *body; /* new, free() */
};
/* dir_oruk_get: answers GET path (after any prefix) with params. */
void dir_oruk_get(struct db *db, const char *path, dir_param_fn param,
                  void *req, struct dir_answer *out);

/* ---- oruk_params.c ---- */
/* One ORUK request while it is answered: the getter, a borrowed db, the
 * query being built and the first error (ERR_INVALID names the
 * parameter). */
struct dir_req {
        dir_param_fn get;
        void *arg;
        struct db *db;
        struct dir_query q;
        char postcode[16];
        struct err e;
        char *body; /* new: an answer already rendered (stored documents) */
};
/* dir_param_bad: records a 400 naming param; returns -1. */
int dir_param_bad(struct dir_req *rq, const char *param, const char *why);
/* dir_param: returns borrowed value of name (NULL when absent, empty or
 * after an earlier error); non-UTF-8 fails the request. */
const char *dir_param(struct dir_req *rq, const char *name);
/* dir_param_uuid: a UUID parameter; with table, it must exist there. */
const char *dir_param_uuid(struct dir_req *rq, const char *name,
                           const char *table);
/* dir_param_point: postcode or lat/lng, proximity and sort. */
void dir_param_point(struct dir_req *rq);
void dir_param_paging(struct dir_req *rq);
/* dir_param_services: every filter of /services and
 * /service_at_locations. */
void dir_param_services(struct dir_req *rq, bool at_locations);
/* dir_postcode_normalise: "sw1a 1aa" -> "SW1A1AA"; false if malformed. */
bool dir_postcode_normalise(const char *in, char out[16]);

/* ---- routes.c ---- */
struct http_route;
/* The HTTP handlers' connections. A search (the lists: /services,
 * /service_at_locations, /nearest) is CPU-bound in PostgreSQL, so
 * searches run at most `searches.n` at once (one per core by default),
 * the rest waiting first come, first served: more at once would only
 * share the cores out, and every search would take as long as the
 * slowest. Lookups by id and the small lists take `reads`. */
struct dir_pools {
        struct db_pool reads;
        struct db_pool searches;
};
/* dir_routes: returns the borrowed static route table; the server's arg
 * is a struct dir_pools *. */
const struct http_route *dir_routes(void);

/* ---- emit.c ---- */
/* dir_emit_services: outbox snapshots (or tombstones) of services. */
int dir_emit_services(struct db *db, const char *ids_array, struct err *e);
int dir_emit_service_tombstone(struct db *db, const char *id, struct err *e);
/* dir_emit_catalogue: a fresh snapshot of every organisation and service,
 * for replicas that start from an empty topic (e.g. a new broker). */
int dir_emit_catalogue(struct db *db, struct err *e);
int dir_emit_organization(struct db *db, const char *id, bool deleted,
                          struct err *e);

/* ---- store_docs.c ---- */
/* dir_docs_refresh: renders the services in ids_array and stores their
 * full and list documents (inside the caller's transaction, after the
 * writes that changed them). */
int dir_docs_refresh(struct db *db, const char *ids_array, struct err *e);
/* dir_docs_backfill: stores the documents of every service that has none,
 * a batch per transaction, until done or *stop; *done counts them. */
int dir_docs_backfill(struct db *db, const atomic_bool *stop, long *done,
                      struct err *e);
/* dir_docs_get: *full is the new (free()) stored full record of service
 * id, or NULL when it has none stored. */
int dir_docs_get(struct db *db, const char *id, char **full, struct err *e);

/* ---- import.c ---- */
/* dir_put: writes obj (and the records nested in it) as ent, reindexes
 * and queues the catalogue events. obj may be modified (ids added). */
int dir_put(struct db *db, enum dir_entity ent, enum dir_put_mode mode,
            json_t *obj, struct err *e);
/* dir_import_hsds: imports one HSDS object (service, organization,
 * taxonomy, taxonomy_term, service_at_location) or a page of them. */
int dir_import_hsds(struct db *db, const json_t *doc, struct err *e);

/* ---- postcodes.c ---- */
/* dir_import_postcodes: loads a postcode CSV (a header line naming the
 * postcode, latitude and longitude columns; a malformed line rejects the
 * whole file with its line number); *n is how many rows it held. */
int dir_import_postcodes(struct db *db, const char *csv, long *n,
                         struct err *e);

/* ---- import_bulk.c ---- */
/* dir_import_bulk: imports an array of HSDS services table by table (the
 * effect of dir_put DIR_PUT_UPSERT on each). Returns 0, -1 with e, or 1
 * when the records need the record-by-record path (nothing written). The
 * records may be modified. */
int dir_import_bulk(struct db *db, json_t *recs, struct err *e);

/* ---- consume.c ---- */
/* What the directory.commands consumer is configured with (the inbox's
 * arg; NULL means no wait). */
struct dir_commands {
        int missing_ref_wait_s; /* how long a command waits for the entity
                                   it refers to, from its ce_time */
};
/* dir_commands_apply: an inbox_apply_fn for directory.commands; arg is a
 * borrowed struct dir_commands *. */
int dir_commands_apply(void *arg, struct db *db, const struct kafka_record *rec,
                       struct err *e);

/* ---- setup.c ---- */
struct svc_run;
/* svc_run's hooks (lib/svc_run.h): dir_setup_init reads the consumer's
 * settings into its struct dir_commands (r->consumer.arg); the others'
 * arg is the struct dir_pools: dir_setup_start opens the search pool
 * beside the reads pool svc_run opened and sets both to prepared
 * statements, dir_setup_fini closes the search pool. */
int dir_setup_init(void *arg, struct svc_run *r, struct err *e);
int dir_setup_start(void *arg, struct svc_run *r, struct err *e);
void dir_setup_fini(void *arg);
/* dir_setup_backfill: the consumer thread's start (struct
 * svc_consumer_spec .thread_start): stores missing service documents. */
void dir_setup_backfill(void *arg, struct db *db);

#endif
