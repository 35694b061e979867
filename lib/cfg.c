/*
 * cfg: parses and checks a daemon's environment against its config table
 * and answers typed look-ups. Owns copies of the values it read; does not
 * own the table (the daemon's static array) and never reads files.
 */
#include "cfg.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct cfg_value {
        const struct cfg_entry *ent;
        char *text; /* NULL when unset without default */
        int64_t num;
        bool flag;
        char **list; /* CFG_PREFIX: name, value pairs, NULL-terminated */
};

struct cfg {
        size_t n;
        struct cfg_value *v;
};

static const char *const type_names[] = {"str",  "int",      "bool",
                                         "path", "duration", "prefix"};

static int
parse_int(const char *s, int64_t *out)
{
        char *end;
        long long v;

        errno = 0;
        v = strtoll(s, &end, 10);
        if (end == s || *end != '\0' || isspace((unsigned char)*s))
                return -1;
        if (errno == ERANGE)
                return -2;
        *out = v;
        return 0;
}

static int
parse_bool(const char *s, bool *out)
{
        static const char *const yes[] = {"true", "yes", "on", "1"};
        static const char *const no[] = {"false", "no", "off", "0"};

        for (size_t i = 0; i < 4; i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return *out = true, 0;
                if (strcasecmp(s, no[i]) == 0)
                        return *out = false, 0;
        }
        return -1;
}

/* parse_duration: "250", "250ms", "5s", "2m", "1h" -> milliseconds. */
static int
parse_duration(const char *s, int64_t *out)
{
        static const struct {
                const char *unit;
                int64_t ms;
        } units[] = {
            {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
        char *end;
        long long v;

        if (!isdigit((unsigned char)*s))
                return -1;
        errno = 0;
        v = strtoll(s, &end, 10);
        if (errno == ERANGE)
                return -2;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
                if (strcmp(end, units[i].unit) != 0)
                        continue;
                if (v > INT64_MAX / units[i].ms)
                        return -2;
                *out = v * units[i].ms;
                return 0;
        }
        return -1;
}

/* check_value: parses text by type into v; fills e on a bad value. */
static int
check_value(struct cfg_value *v, const char *text, struct err *e)
{
        const char *name = v->ent->name;
        int rc = 0;

        switch (v->ent->type) {
        case CFG_STR:
        case CFG_PREFIX:
                break;
        case CFG_PATH:
                if (strchr(text, '\n') != NULL)
                        return err_set(e, ERR_INVALID, name,
                                       "%s: path contains a newline", name);
                break;
        case CFG_INT:
                rc = parse_int(text, &v->num);
                if (rc == -2)
                        return err_set(e, ERR_INVALID, name,
                                       "%s: integer out of range", name);
                if (rc < 0)
                        return err_set(e, ERR_INVALID, name,
                                       "%s: not an integer", name);
                break;
        case CFG_BOOL:
                if (parse_bool(text, &v->flag) < 0)
                        return err_set(e, ERR_INVALID, name,
                                       "%s: not a boolean (want true or "
                                       "false)",
                                       name);
                break;
        case CFG_DURATION_MS:
                rc = parse_duration(text, &v->num);
                if (rc == -2)
                        return err_set(e, ERR_INVALID, name,
                                       "%s: duration out of range", name);
                if (rc < 0)
                        return err_set(e, ERR_INVALID, name,
                                       "%s: not a duration (e.g. 500ms, "
                                       "5s, 2m)",
                                       name);
                break;
        }
        return 0;
}

/* load_prefix: every set variable that starts with ent->name, as pairs
 * in v->list. A bare prefix names no setting: an error, not a skip, so a
 * typo is seen. */
static int
load_prefix(struct cfg_value *v, const struct cfg_entry *ent, struct err *e)
{
        extern char **environ;
        size_t plen = strlen(ent->name), n = 0, cap = 0;

        for (char **ev = environ; ev != NULL && *ev != NULL; ev++) {
                const char *eq = strchr(*ev, '=');
                size_t len = eq != NULL ? (size_t)(eq - *ev) : 0;

                if (eq == NULL || eq[1] == '\0' ||
                    strncmp(*ev, ent->name, plen) != 0)
                        continue;
                if (len == plen)
                        return err_set(e, ERR_INVALID, ent->name,
                                       "%s: names no setting after the "
                                       "prefix",
                                       ent->name);
                if (n + 3 > cap) {
                        char **l = realloc(v->list, (cap + 8) * sizeof(*l));

                        if (l == NULL)
                                goto oom;
                        v->list = l;
                        cap += 8;
                }
                v->list[n] = strndup(*ev, len);
                v->list[n + 1] = strdup(eq + 1);
                v->list[n + 2] = NULL;
                if (v->list[n] == NULL || v->list[n + 1] == NULL)
                        goto oom;
                n += 2;
        }
        if (v->list == NULL && (v->list = calloc(1, sizeof(*v->list))) == NULL)
                goto oom;
        return 0;
oom:
        return err_set(e, ERR_FATAL, ent->name, "%s: out of memory", ent->name);
}

static int
load_one(struct cfg_value *v, const struct cfg_entry *ent, struct err *e)
{
        const char *text = getenv(ent->name);

        v->ent = ent;
        if (ent->type == CFG_PREFIX)
                return load_prefix(v, ent, e);
        if (text == NULL || text[0] == '\0')
                text = ent->def;
        if (text == NULL) {
                if (ent->required)
                        return err_set(e, ERR_INVALID, ent->name,
                                       "%s: required but not set", ent->name);
                return 0;
        }
        if (check_value(v, text, e) < 0)
                return -1;
        v->text = strdup(text);
        if (v->text == NULL)
                return err_set(e, ERR_FATAL, ent->name, "%s: out of memory",
                               ent->name);
        return 0;
}

struct cfg *
cfg_load(const struct cfg_entry *table, struct err *e)
{
        struct cfg *cfg = NULL;
        size_t n = 0;

        while (table[n].name != NULL)
                n++;
        cfg = calloc(1, sizeof(*cfg));
        if (cfg == NULL || (cfg->v = calloc(n + 1, sizeof(*cfg->v))) == NULL)
                goto oom;
        cfg->n = n;
        for (size_t i = 0; i < n; i++) {
                if (load_one(&cfg->v[i], &table[i], e) < 0) {
                        cfg_free(cfg);
                        return NULL;
                }
        }
        return cfg;
oom:
        cfg_free(cfg);
        err_set(e, ERR_FATAL, NULL, "config: out of memory");
        return NULL;
}

void
cfg_free(struct cfg *cfg)
{
        if (cfg == NULL)
                return;
        for (size_t i = 0; cfg->v != NULL && i < cfg->n; i++) {
                free(cfg->v[i].text);
                for (char **l = cfg->v[i].list; l != NULL && *l != NULL; l++)
                        free(*l);
                free(cfg->v[i].list);
        }
        free(cfg->v);
        free(cfg);
}

/* find: the value for name, or abort: asking for an undeclared setting
 * is a bug in the daemon, not a runtime condition. */
static const struct cfg_value *
find(const struct cfg *cfg, const char *name, int want_type)
{
        for (size_t i = 0; i < cfg->n; i++) {
                const struct cfg_value *v = &cfg->v[i];

                if (strcmp(v->ent->name, name) != 0)
                        continue;
                if (want_type >= 0 && (int)v->ent->type != want_type &&
                    !(want_type == CFG_INT &&
                      v->ent->type == CFG_DURATION_MS)) {
                        fprintf(stderr,
                                "cfg: %s is %s, asked as %s (programming "
                                "error)\n",
                                name, type_names[v->ent->type],
                                type_names[want_type]);
                        abort();
                }
                return v;
        }
        fprintf(stderr,
                "cfg: %s is not in the config table (programming "
                "error)\n",
                name);
        abort();
}

const char *
cfg_str(const struct cfg *cfg, const char *name)
{
        return find(cfg, name, -1)->text;
}

int64_t
cfg_int(const struct cfg *cfg, const char *name)
{
        return find(cfg, name, CFG_INT)->num;
}

bool
cfg_bool(const struct cfg *cfg, const char *name)
{
        return find(cfg, name, CFG_BOOL)->flag;
}

bool
cfg_isset(const struct cfg *cfg, const char *name)
{
        return find(cfg, name, -1)->text != NULL;
}

/* name_shown: a prefix entry is shown as "PREFIX*". */
static const char *
name_shown(const struct cfg_entry *t)
{
        static char buf[128];

        if (t->type != CFG_PREFIX)
                return t->name;
        snprintf(buf, sizeof(buf), "%s*", t->name);
        return buf;
}

const char *const *
cfg_list(const struct cfg *cfg, const char *name)
{
        return (const char *const *)find(cfg, name, CFG_PREFIX)->list;
}

void
cfg_print_help(FILE *f, const char *prog, const struct cfg_entry *table)
{
        fprintf(f,
                "usage: %s [-n] [-h]\n"
                "  -n  check the configuration and exit\n"
                "  -h  print this help and exit\n\n"
                "environment:\n"
                "%-32s %-8s %-16s %-8s %s\n",
                prog, "NAME", "TYPE", "DEFAULT", "REQUIRED", "HELP");
        for (const struct cfg_entry *t = table; t->name != NULL; t++)
                fprintf(f, "%-32s %-8s %-16s %-8s %s\n", name_shown(t),
                        type_names[t->type], t->def ? t->def : "-",
                        t->required ? "yes" : "no", t->help ? t->help : "");
}

int
cfg_main_check(int argc, char **argv, const struct cfg_entry *table,
               cfg_check_fn check, struct cfg **out)
{
        const char *prog = argc > 0 ? argv[0] : "signpost";
        bool check_only = false, migrate = false;
        struct err e = {0};

        *out = NULL;
        for (int i = 1; i < argc; i++) {
                if (strcmp(argv[i], "-n") == 0) {
                        check_only = true;
                } else if (strcmp(argv[i], "-m") == 0) {
                        migrate = true;
                } else if (strcmp(argv[i], "-h") == 0) {
                        cfg_print_help(stdout, prog, table);
                        return 0;
                } else {
                        fprintf(stderr, "%s: unknown argument %s\n", prog,
                                argv[i]);
                        fprintf(stderr, "usage: %s [-n] [-m] [-h]\n", prog);
                        return 2;
                }
        }
        *out = cfg_load(table, &e);
        if (*out != NULL && check != NULL && check(*out, &e) < 0) {
                cfg_free(*out);
                *out = NULL;
        }
        if (*out == NULL) {
                fprintf(stderr, "config error: %s\n", e.msg);
                return 1;
        }
        if (check_only) {
                cfg_free(*out);
                *out = NULL;
                printf("config OK\n");
                fflush(stdout);
                return 0;
        }
        return migrate ? CFG_MAIN_MIGRATE : CFG_MAIN_RUN;
}
