/*
 * channel: the file spool channel (the embedded default and the tests)
 * and the RFC 5322 message every email channel sends.
 *
 * The spool writes <dir>/<message_id>.eml for email and .json for SMS so
 * a person can read what would have been sent. The file name is the
 * message id and appears by rename, so delivering an id twice has no
 * second effect: an existing file counts as delivered. The spool is a
 * delivery sink, like a mail server: it holds the address in plaintext
 * and is outside the delivery log's no-plaintext rule. Does not decide
 * what is sent (sender.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "notification.h"

struct spool {
        char dir[1024];
        bool fsync;
};

/* crlf: appends s to f with every line ending as CRLF. */
static void
crlf(FILE *f, const char *s)
{
        for (; *s != '\0'; s++) {
                if (*s == '\r')
                        continue;
                if (*s == '\n')
                        fputc('\r', f);
                fputc(*s, f);
        }
}

static void
subject_header(FILE *f, const char *subject)
{
        const char *c;
        char *b64;

        for (c = subject; *c != '\0' && (unsigned char)*c < 0x80; c++)
                ;
        if (*c == '\0') {
                fprintf(f, "Subject: %s\r\n", subject);
                return;
        }
        b64 =
            secret_b64_encode((const unsigned char *)subject, strlen(subject));
        /* RFC 2047 wants standard base64: map the URL-safe alphabet */
        for (char *q = b64; q != NULL && *q != '\0'; q++)
                if (*q == '-' || *q == '_')
                        *q = *q == '-' ? '+' : '/';
        fprintf(f, "Subject: =?UTF-8?B?%s", b64 ? b64 : "");
        for (size_t pad = b64 ? strlen(b64) % 4 : 0; pad && pad < 4; pad++)
                fputc('=', f);
        fprintf(f, "?=\r\n");
        free(b64);
}

char *
notify_mime(const struct notify_msg *m)
{
        char *out = NULL, date[64];
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        time_t now = time(NULL);
        struct tm tm;

        if (f == NULL)
                return NULL;
        gmtime_r(&now, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
        fprintf(f, "Message-ID: <%s@signpost>\r\nDate: %s\r\n", m->message_id,
                date);
        fprintf(f, "From: %s\r\nTo: %s\r\n", m->from, m->to);
        subject_header(f, m->body->subject ? m->body->subject : "");
        fprintf(f, "X-Signpost-Template: %s\r\nMIME-Version: 1.0\r\n", m->kind);
        if (m->body->html == NULL) {
                fprintf(f, "Content-Type: text/plain; charset=UTF-8\r\n"
                           "Content-Transfer-Encoding: 8bit\r\n\r\n");
                crlf(f, m->body->text);
        } else {
                fprintf(f,
                        "Content-Type: multipart/alternative; "
                        "boundary=\"sp-%s\"\r\n\r\n--sp-%s\r\n"
                        "Content-Type: text/plain; charset=UTF-8\r\n"
                        "Content-Transfer-Encoding: 8bit\r\n\r\n",
                        m->message_id, m->message_id);
                crlf(f, m->body->text);
                fprintf(f,
                        "\r\n--sp-%s\r\nContent-Type: text/html; "
                        "charset=UTF-8\r\nContent-Transfer-Encoding: "
                        "8bit\r\n\r\n",
                        m->message_id);
                crlf(f, m->body->html);
                fprintf(f, "\r\n--sp-%s--\r\n", m->message_id);
        }
        if (fclose(f) != 0) {
                free(out);
                return NULL;
        }
        return out;
}

static char *
sms_json(const struct notify_msg *m)
{
        json_t *j =
            json_pack("{s:s, s:s, s:s, s:s}", "message_id", m->message_id,
                      "template", m->kind, "to", m->to, "text", m->body->text);
        char *s = json_dumps(j, JSON_COMPACT);

        json_decref(j);
        return s;
}

static int
write_file(const char *path, const char *text, bool sync, struct err *e)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        size_t len = strlen(text), off = 0;

        if (fd < 0)
                return err_set(e, ERR_TRANSIENT, NULL, "spool open: %s",
                               strerror(errno));
        while (off < len) {
                ssize_t w = write(fd, text + off, len - off);
                if (w < 0) {
                        close(fd);
                        return err_set(e, ERR_TRANSIENT, NULL,
                                       "spool write: %s", strerror(errno));
                }
                off += (size_t)w;
        }
        if ((sync && fdatasync(fd) != 0) || close(fd) != 0)
                return err_set(e, ERR_TRANSIENT, NULL, "spool sync: %s",
                               strerror(errno));
        return 0;
}

static void
spool_path(const struct spool *s, const char *id, const char *ext, char *out,
           size_t outsz)
{
        snprintf(out, outsz, "%s/%s.%s", s->dir, id, ext);
}

static int
spool_send(struct notify_channel *ch, const struct notify_msg *m,
           notify_commit_fn commit, void *arg, struct err *e)
{
        struct spool *s = ch->state;
        bool sms = strcmp(m->channel, "sms") == 0;
        char path[1200], tmp[1300];
        char *text = NULL;
        int rc = -1;

        (void)commit; /* idempotent: no point of no return */
        (void)arg;
        spool_path(s, m->message_id, sms ? "json" : "eml", path, sizeof(path));
        if (access(path, F_OK) == 0)
                return 0; /* delivered before a crash */
        text = sms ? sms_json(m) : notify_mime(m);
        if (text == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", s->dir, m->message_id);
        if (write_file(tmp, text, s->fsync, e) == 0) {
                if (rename(tmp, path) == 0)
                        rc = 0;
                else
                        err_set(e, ERR_TRANSIENT, NULL, "spool rename: %s",
                                strerror(errno));
        }
        free(text);
        return rc;
}

static int
spool_reconcile(struct notify_channel *ch, const char *id, struct err *e)
{
        struct spool *s = ch->state;
        char path[1200];

        (void)e;
        spool_path(s, id, "eml", path, sizeof(path));
        if (access(path, F_OK) == 0)
                return 1;
        spool_path(s, id, "json", path, sizeof(path));
        return access(path, F_OK) == 0 ? 1 : 0;
}

static int
spool_flush(struct notify_channel *ch, struct err *e)
{
        struct spool *s = ch->state;
        int fd;

        if (!s->fsync)
                return 0;
        fd = open(s->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0) {
                if (fd >= 0)
                        close(fd);
                return err_set(e, ERR_TRANSIENT, NULL, "spool dir sync: %s",
                               strerror(errno));
        }
        close(fd);
        return 0;
}

static void
spool_free(struct notify_channel *ch)
{
        if (ch == NULL)
                return;
        free(ch->state);
        free(ch);
}

struct notify_channel *
notify_channel_spool(const char *dir, bool fsync, struct err *e)
{
        struct notify_channel *ch = calloc(1, sizeof(*ch));
        struct spool *s = calloc(1, sizeof(*s));

        if (ch == NULL || s == NULL) {
                free(ch);
                free(s);
                err_set(e, ERR_FATAL, NULL, "out of memory");
                return NULL;
        }
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
                err_set(e, ERR_FATAL, "SIGNPOST_NOTIFY_SPOOL_DIR",
                        "cannot create spool directory: %s", strerror(errno));
                free(ch);
                free(s);
                return NULL;
        }
        snprintf(s->dir, sizeof(s->dir), "%s", dir);
        s->fsync = fsync;
        ch->name = "spool";
        ch->idempotent = true;
        ch->send = spool_send;
        ch->reconcile = spool_reconcile;
        ch->flush = spool_flush;
        ch->free = spool_free;
        ch->state = s;
        return ch;
}
