/*
 * cfg: one configuration table per daemon, read from the environment.
 *
 * Each daemon declares its settings once, Redis style:
 *
 *   static const struct cfg_entry intake_cfg[] = {
 *           {"SIGNPOST_DB", CFG_STR, NULL, true, "PostgreSQL conninfo"},
 *           {"SIGNPOST_HTTP_THREADS", CFG_INT, "4", false, "HTTP threads"},
 *           {NULL},
 *   };
 *
 * and main() starts with
 *
 *   struct cfg *cfg = NULL;
 *   int rc = cfg_main_check(argc, argv, intake_cfg, NULL, &cfg);
 *   if (rc != CFG_MAIN_RUN)
 *           return rc;
 *
 * Value syntax by type (an empty variable counts as unset):
 *   CFG_STR          any text
 *   CFG_PATH         non-empty text without newlines (not checked on disk)
 *   CFG_INT          decimal integer fitting in int64_t
 *   CFG_BOOL         true/false, yes/no, on/off, 1/0 (any case)
 *   CFG_DURATION_MS  integer >= 0 with optional unit ms, s, m or h
 *                    (no unit = milliseconds); read as milliseconds
 *   CFG_PREFIX       the entry's name is a prefix ("SIGNPOST_RDKAFKA_"):
 *                    every variable that starts with it and names
 *                    something after it, any text; read with cfg_list
 *                    (default and required do not apply)
 */
#ifndef SIGNPOST_CFG_H
#define SIGNPOST_CFG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"

enum cfg_type {
        CFG_STR,
        CFG_INT,
        CFG_BOOL,
        CFG_PATH,
        CFG_DURATION_MS,
        CFG_PREFIX
};

struct cfg_entry {
        const char *name; /* environment variable, e.g. "SIGNPOST_DB" */
        enum cfg_type type;
        const char *def; /* default as text, NULL for none */
        bool required;   /* unset (and no default) is an error */
        const char *help;
};

struct cfg;

/* cfg_load: reads every entry of table (terminated by {NULL}) from the
 * environment and checks it. The table must outlive the cfg. Returns new
 * cfg, free with cfg_free(); NULL on a missing required or malformed
 * value, with e->kind ERR_INVALID, e->field the variable name and e->msg
 * "NAME: why". */
struct cfg *cfg_load(const struct cfg_entry *table, struct err *e);
void cfg_free(struct cfg *cfg);

/* Getters. Asking for a name that is not in the table, or cfg_int /
 * cfg_bool on an entry of another type, is a programming error: the
 * process prints why and aborts. */

/* cfg_str: returns borrowed text of any entry (as given, or the default),
 * valid until cfg_free(); NULL when unset without default. */
const char *cfg_str(const struct cfg *cfg, const char *name);
/* cfg_int: CFG_INT value, or CFG_DURATION_MS in milliseconds; 0 when
 * unset without default. */
int64_t cfg_int(const struct cfg *cfg, const char *name);
/* cfg_bool: CFG_BOOL value; false when unset without default. */
bool cfg_bool(const struct cfg *cfg, const char *name);
/* cfg_isset: true when the entry has a value (given or default). */
bool cfg_isset(const struct cfg *cfg, const char *name);
/* cfg_list: a CFG_PREFIX entry's variables: returns borrowed
 * NULL-terminated list of full variable name, value pairs (in the
 * environment's order; empty when none), valid until cfg_free(). */
const char *const *cfg_list(const struct cfg *cfg, const char *name);

/* cfg_print_help: writes the table (name, type, default, required, help)
 * to f. */
void cfg_print_help(FILE *f, const char *prog, const struct cfg_entry *table);

/* cfg_check_fn: a check of what the table's types cannot say (a value
 * another library must accept); 0, or -1 with e->msg "NAME: why". */
typedef int (*cfg_check_fn)(const struct cfg *cfg, struct err *e);

/* cfg_main_check: the command line every daemon shares (svc_run). check,
 * if not NULL, runs on the loaded config in every mode but -h.
 *   (none)  load the config; on success return CFG_MAIN_RUN with *out set
 *           to a new cfg (free with cfg_free()): the daemon goes on.
 *   -n      load and check; print "config OK" to stdout; return 0.
 *   -h      print the table to stdout; return 0.
 *   -m      load the config and return CFG_MAIN_MIGRATE with *out set:
 *           the daemon applies its migrations and exits
 *           (svc_migrate_main).
 * A config error prints "config error: SIGNPOST_X: why" to stderr and
 * returns 1; an unknown argument prints usage to stderr and returns 2.
 * Whenever the return is not CFG_MAIN_RUN or CFG_MAIN_MIGRATE, *out is
 * NULL and the caller exits with the returned status. */
#define CFG_MAIN_RUN (-1)
#define CFG_MAIN_MIGRATE (-2)
int cfg_main_check(int argc, char **argv, const struct cfg_entry *table,
                   cfg_check_fn check, struct cfg **out);

#endif
