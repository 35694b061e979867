/*
 * signpost-directory: the community directory daemon. main() describes
 * it to svc_run (lib/svc_run.h), which reads the config, migrates schema
 * `directory`, starts the outbox relay, the directory.commands consumer
 * (consume.c) and the HTTP server (routes.c), waits for SIGTERM and stops
 * them in reverse order. Its own settings are below; its pools are
 * setup.c's; everything else lives in the files named in directory.h.
 */
#include "directory.h"
#include "svc_run.h"

static const struct cfg_entry directory_cfg[] = {
    {"SIGNPOST_DIRECTORY_DB_POOL", CFG_INT, "8", false,
     "database connections for HTTP lookups by id and small lists"},
    {"SIGNPOST_DIRECTORY_SEARCH_POOL", CFG_INT, "0", false,
     "searches run at once, the rest queue in order (0: one per core)"},
    {"SIGNPOST_DIRECTORY_MISSING_REF_WAIT_S", CFG_INT, "600", false,
     "seconds a command waits for the entity it refers to"},
    {NULL, 0, NULL, false, NULL},
};

static const char *const topics[] = {DIR_TOPIC_COMMANDS, NULL};

int
main(int argc, char **argv)
{
        static struct dir_pools pools;
        static struct dir_commands commands;
        const struct svc_desc d = {
            .name = "directory",
            .schema = DIR_SCHEMA,
            .listen = "127.0.0.1:8092",
            .cfg = directory_cfg,
            .outbox = true,
            .pool = &pools.reads,
            .pool_size = "SIGNPOST_DIRECTORY_DB_POOL",
            .ctx = &pools,
            .init = dir_setup_init,
            .start = dir_setup_start,
            .fini = dir_setup_fini,
            .consumer = {.group = "directory",
                         .topics = topics,
                         .apply = dir_commands_apply,
                         .arg = &commands,
                         .batch = 100,
                         .threads = 1,
                         .thread_start = dir_setup_backfill},
            .routes = dir_routes(),
        };

        return svc_run(&d, argc, argv);
}
