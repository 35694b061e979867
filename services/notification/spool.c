/*
 * spool: the file channel (the embedded default and the tests). Writes
 * <dir>/<message_id>.eml for email and .json for SMS so a person can read
 * what would have been sent. The spool is a development channel only
 * (SIGNPOST_NOTIFY_CHANNEL=spool, never chosen by "auto"): it holds the
 * address and the body in plaintext, so files older than
 * SIGNPOST_NOTIFY_SPOOL_MAX_AGE seconds are deleted, at start and at most
 * once a minute while it sends.
 *
 * A file appears whole under its final name or not at all, and never
 * replaces one already there, so delivering an id twice has no second
 * effect: an existing file counts as delivered. Without fsync, a message
 * is written to an unnamed file (O_TMPFILE) and linked under its name
 * (where O_TMPFILE is not supported: a named temporary file and a
 * rename that does not replace). With fsync, send only stages the named
 * temporary file; flush, which the sender calls before recording the
 * batch as sent, makes the batch durable with one syncfs() of the
 * spool's file system, renames each staged file into place and fsyncs
 * the directory once, instead of one fsync per file.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "json.h"
#include "notification.h"

#define NAME_LEN (UUID_STR_LEN + 8) /* "<id>.json" */

struct spool {
        char dir[1024];
        int dirfd;
        bool fsync;
        bool tmpfile;             /* O_TMPFILE + linkat work here */
        long max_age_s;           /* files older than this are deleted */
        time_t pruned_at;         /* the last sweep */
        char (*staged)[NAME_LEN]; /* fsync: names waiting for flush */
        size_t nstaged, cap;
};

static char *
sms_json(const struct notify_msg *m)
{
        json_t *j =
            json_pack("{s:s, s:s, s:s, s:s}", "message_id", m->message_id,
                      "template", m->kind, "to", m->to, "text", m->body->text);
        char *s = jsonx_dump(j);

        json_decref(j);
        return s;
}

static int
write_all(int fd, const char *text, struct err *e)
{
        size_t len = strlen(text), off = 0;

        while (off < len) {
                ssize_t w = write(fd, text + off, len - off);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w < 0)
                        return err_set(e, ERR_TRANSIENT, NULL,
                                       "spool write: %s", strerror(errno));
                off += (size_t)w;
        }
        return 0;
}

static void
tmp_name(const char *name, char out[NAME_LEN + 8])
{
        snprintf(out, NAME_LEN + 8, ".%s.tmp", name);
}

/* stage: writes the named temporary file for name. */
static int
stage(struct spool *s, const char *name, const char *text, struct err *e)
{
        char tmp[NAME_LEN + 8];
        int fd, rc;

        tmp_name(name, tmp);
        fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
                    0600);
        if (fd < 0)
                return err_set(e, ERR_TRANSIENT, NULL, "spool open: %s",
                               strerror(errno));
        rc = write_all(fd, text, e);
        if (close(fd) != 0 && rc == 0)
                rc = err_set(e, ERR_TRANSIENT, NULL, "spool close: %s",
                             strerror(errno));
        return rc;
}

/* place: renames the staged file to name unless name exists (delivered
 * before: the staged copy is dropped). */
static int
place(struct spool *s, const char *name, struct err *e)
{
        char tmp[NAME_LEN + 8];

        tmp_name(name, tmp);
        if (renameat2(s->dirfd, tmp, s->dirfd, name, RENAME_NOREPLACE) == 0)
                return 0;
        if (errno == EINVAL || errno == ENOSYS) { /* no NOREPLACE here */
                if (faccessat(s->dirfd, name, F_OK, 0) != 0 &&
                    renameat(s->dirfd, tmp, s->dirfd, name) == 0)
                        return 0;
        }
        if (errno == EEXIST || faccessat(s->dirfd, name, F_OK, 0) == 0) {
                unlinkat(s->dirfd, tmp, 0);
                return 0;
        }
        return err_set(e, ERR_TRANSIENT, NULL, "spool rename: %s",
                       strerror(errno));
}

/* publish: writes an unnamed file and links it as name. Returns 0 (also
 * when name exists: delivered before), 1 when O_TMPFILE or linking it is
 * not supported here, -1 on error. */
static int
publish(struct spool *s, const char *name, const char *text, struct err *e)
{
        char proc[64];
        int fd = openat(s->dirfd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
        int rc;

        if (fd < 0)
                return errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL
                           ? 1
                           : err_set(e, ERR_TRANSIENT, NULL, "spool open: %s",
                                     strerror(errno));
        rc = write_all(fd, text, e);
        snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
        if (rc == 0 &&
            linkat(AT_FDCWD, proc, s->dirfd, name, AT_SYMLINK_FOLLOW) != 0 &&
            errno != EEXIST)
                rc = errno == ENOENT
                         ? 1 /* no /proc */
                         : err_set(e, ERR_TRANSIENT, NULL, "spool link: %s",
                                   strerror(errno));
        close(fd);
        return rc;
}

static int
remember(struct spool *s, const char *name, struct err *e)
{
        if (s->nstaged == s->cap) {
                size_t cap = s->cap ? s->cap * 2 : 64;
                char(*p)[NAME_LEN] = realloc(s->staged, cap * sizeof(*p));
                if (p == NULL)
                        return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
                s->staged = p;
                s->cap = cap;
        }
        snprintf(s->staged[s->nstaged++], NAME_LEN, "%s", name);
        return 0;
}

int
notify_spool_prune(struct notify_channel *ch, time_t now)
{
        struct spool *s = ch->state;
        int fd = dup(s->dirfd), n = 0;
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        struct dirent *de;
        struct stat st;

        s->pruned_at = now;
        if (d == NULL) {
                if (fd >= 0)
                        close(fd);
                return -1;
        }
        rewinddir(d);
        while ((de = readdir(d)) != NULL) {
                const char *dot = strrchr(de->d_name, '.');
                if (dot == NULL ||
                    (strcmp(dot, ".eml") != 0 && strcmp(dot, ".json") != 0 &&
                     strcmp(dot, ".tmp") != 0))
                        continue;
                if (fstatat(s->dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
                        0 &&
                    S_ISREG(st.st_mode) && st.st_mtime < now - s->max_age_s &&
                    unlinkat(s->dirfd, de->d_name, 0) == 0)
                        n++;
        }
        closedir(d);
        return n;
}

static int
spool_send(struct notify_channel *ch, const struct notify_msg *m,
           notify_commit_fn commit, void *arg, struct err *e)
{
        struct spool *s = ch->state;
        time_t now = time(NULL);

        if (now - s->pruned_at >= 60)
                notify_spool_prune(ch, now);
        bool sms = strcmp(m->channel, "sms") == 0;
        char name[NAME_LEN];
        char *text;
        int rc;

        (void)commit; /* idempotent: no point of no return */
        (void)arg;
        snprintf(name, sizeof(name), "%s.%s", m->message_id,
                 sms ? "json" : "eml");
        text = sms ? sms_json(m) : notify_mime(m);
        if (text == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        if (s->fsync)
                rc = stage(s, name, text, e) < 0 ? -1 : remember(s, name, e);
        else {
                rc = s->tmpfile ? publish(s, name, text, e) : 1;
                if (rc == 1) {
                        s->tmpfile = false;
                        rc = stage(s, name, text, e) < 0 ? -1
                                                         : place(s, name, e);
                }
        }
        free(text);
        return rc;
}

static int
spool_flush(struct notify_channel *ch, struct err *e)
{
        struct spool *s = ch->state;
        size_t i, n = s->nstaged;

        if (n == 0)
                return 0;
        s->nstaged = 0; /* on failure the batch is sent again: staged anew */
        if (syncfs(s->dirfd) != 0)
                return err_set(e, ERR_TRANSIENT, NULL, "spool sync: %s",
                               strerror(errno));
        for (i = 0; i < n; i++)
                if (place(s, s->staged[i], e) < 0)
                        return -1;
        if (fsync(s->dirfd) != 0)
                return err_set(e, ERR_TRANSIENT, NULL, "spool dir sync: %s",
                               strerror(errno));
        return 0;
}

static int
spool_reconcile(struct notify_channel *ch, const char *id, struct err *e)
{
        struct spool *s = ch->state;
        char name[NAME_LEN];

        (void)e;
        snprintf(name, sizeof(name), "%s.eml", id);
        if (faccessat(s->dirfd, name, F_OK, 0) == 0)
                return 1;
        snprintf(name, sizeof(name), "%s.json", id);
        return faccessat(s->dirfd, name, F_OK, 0) == 0 ? 1 : 0;
}

static void
spool_free(struct notify_channel *ch)
{
        struct spool *s;

        if (ch == NULL)
                return;
        s = ch->state;
        if (s != NULL && s->dirfd >= 0)
                close(s->dirfd);
        if (s != NULL)
                free(s->staged);
        free(s);
        free(ch);
}

struct notify_channel *
notify_channel_spool(const char *dir, bool fsync, long max_age_s, struct err *e)
{
        struct notify_channel *ch = calloc(1, sizeof(*ch));
        struct spool *s = calloc(1, sizeof(*s));

        if (ch == NULL || s == NULL) {
                free(ch);
                free(s);
                err_set(e, ERR_FATAL, NULL, "out of memory");
                return NULL;
        }
        ch->state = s;
        ch->free = spool_free;
        s->dirfd = -1;
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
                err_set(e, ERR_FATAL, "SIGNPOST_NOTIFY_SPOOL_DIR",
                        "cannot create spool directory: %s", strerror(errno));
                spool_free(ch);
                return NULL;
        }
        s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (s->dirfd < 0) {
                err_set(e, ERR_FATAL, "SIGNPOST_NOTIFY_SPOOL_DIR",
                        "cannot open spool directory: %s", strerror(errno));
                spool_free(ch);
                return NULL;
        }
        snprintf(s->dir, sizeof(s->dir), "%s", dir);
        s->fsync = fsync;
        s->tmpfile = true;
        s->max_age_s = max_age_s > 0 ? max_age_s : NOTIFY_SPOOL_MAX_AGE_S;
        ch->name = "spool";
        ch->idempotent = true;
        ch->send = spool_send;
        ch->reconcile = spool_reconcile;
        ch->flush = spool_flush;
        notify_spool_prune(ch, time(NULL));
        return ch;
}
