/*
 * channel_smtp: email through an SMTP server with libcurl, one message per
 * transaction on a reused connection, Message-ID <message_id@signpost>.
 *
 * SMTP has no idempotency key, so the message is marked 'sending' (the
 * commit callback) just before curl sends the final "." of DATA: a crash
 * before that leaves the message pending and the server has discarded the
 * unfinished DATA, so sending again is safe; a crash after it leaves the
 * row 'sending', which reconcile reports as unknown, and the sender counts
 * it as delivered (at most once). The window where a message is counted as
 * delivered but was not is the time between that commit and the server
 * reading the final "." (one write on an open connection); a receiving
 * system that deduplicates on Message-ID closes the opposite window. SMS is
 * not carried by this channel (a recorded failure).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "notification.h"

struct smtp {
        CURL *curl;
        char url[512];
};

struct upload {
        const char *text;
        size_t len, off;
        notify_commit_fn commit;
        void *arg;
        const char *message_id;
        bool committed;
        struct err err;
};

static size_t
read_cb(char *buf, size_t size, size_t nitems, void *userp)
{
        struct upload *u = userp;
        size_t room = size * nitems, n = u->len - u->off;

        if (n == 0) {
                /* everything but the final "." is with the server */
                if (!u->committed && u->commit != NULL &&
                    u->commit(u->arg, u->message_id, &u->err) != 0)
                        return CURL_READFUNC_ABORT;
                u->committed = true;
                return 0;
        }
        if (n > room)
                n = room;
        memcpy(buf, u->text + u->off, n);
        u->off += n;
        return n;
}

/* bare_address: "Name <a@b>" -> "<a@b>"; "a@b" -> "<a@b>". */
static void
bare_address(const char *in, char *out, size_t outsz)
{
        const char *lt = strchr(in, '<'), *gt = lt ? strchr(lt, '>') : NULL;

        if (lt != NULL && gt != NULL)
                snprintf(out, outsz, "%.*s", (int)(gt - lt + 1), lt);
        else
                snprintf(out, outsz, "<%s>", in);
}

static int
outcome(struct smtp *s, CURLcode cc, struct upload *u, struct err *e)
{
        long code = 0;

        if (cc == CURLE_OK)
                return 0;
        if (cc == CURLE_ABORTED_BY_CALLBACK) {
                if (e != NULL)
                        *e = u->err;
                return -1;
        }
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
        if (code >= 500)
                return err_set(e, ERR_INVALID, NULL, "smtp rejected: %ld",
                               code);
        if (code >= 400)
                return err_set(e, ERR_TRANSIENT, NULL, "smtp deferred: %ld",
                               code);
        if (u->committed) {
                /* past the point of no return with no answer: at most
                 * once means counting it as delivered */
                log_why(LOG_WARN, "smtp outcome unknown",
                        curl_easy_strerror(cc), "message_id=%s", u->message_id);
                return 0;
        }
        return err_set(e, ERR_TRANSIENT, NULL, "smtp: %s",
                       curl_easy_strerror(cc));
}

static int
smtp_send(struct notify_channel *ch, const struct notify_msg *m,
          notify_commit_fn commit, void *arg, struct err *e)
{
        struct smtp *s = ch->state;
        struct upload u = {
            .commit = commit, .arg = arg, .message_id = m->message_id};
        struct curl_slist *rcpt = NULL;
        char from[300], to[300];
        char *text = NULL;
        CURLcode cc;
        int rc;

        if (strcmp(m->channel, "email") != 0)
                return err_set(e, ERR_INVALID, NULL,
                               "sms is not carried by the smtp channel");
        text = notify_mime(m);
        if (text == NULL)
                return err_set(e, ERR_TRANSIENT, NULL, "out of memory");
        u.text = text;
        u.len = strlen(text);
        bare_address(m->from, from, sizeof(from));
        bare_address(m->to, to, sizeof(to));
        rcpt = curl_slist_append(NULL, to);
        curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
        curl_easy_setopt(s->curl, CURLOPT_MAIL_FROM, from);
        curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, rcpt);
        curl_easy_setopt(s->curl, CURLOPT_READFUNCTION, read_cb);
        curl_easy_setopt(s->curl, CURLOPT_READDATA, &u);
        curl_easy_setopt(s->curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
        curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, 30000L);
        curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
        cc = curl_easy_perform(s->curl);
        rc = outcome(s, cc, &u, e);
        curl_easy_setopt(s->curl, CURLOPT_MAIL_RCPT, NULL);
        curl_slist_free_all(rcpt);
        free(text);
        return rc;
}

static int
smtp_reconcile(struct notify_channel *ch, const char *message_id, struct err *e)
{
        (void)ch;
        (void)message_id;
        (void)e;
        return -1; /* SMTP cannot be asked: unknown */
}

static int
smtp_flush(struct notify_channel *ch, struct err *e)
{
        (void)ch;
        (void)e;
        return 0;
}

static void
smtp_free(struct notify_channel *ch)
{
        struct smtp *s;

        if (ch == NULL)
                return;
        s = ch->state;
        if (s != NULL)
                curl_easy_cleanup(s->curl);
        free(s);
        free(ch);
}

struct notify_channel *
notify_channel_smtp(const char *url, struct err *e)
{
        struct notify_channel *ch = calloc(1, sizeof(*ch));
        struct smtp *s = calloc(1, sizeof(*s));

        if (ch == NULL || s == NULL || curl_global_init(CURL_GLOBAL_DEFAULT) ||
            (s->curl = curl_easy_init()) == NULL) {
                free(ch);
                free(s);
                err_set(e, ERR_FATAL, NULL, "curl init failed");
                return NULL;
        }
        snprintf(s->url, sizeof(s->url), "%s", url);
        ch->name = "smtp";
        ch->idempotent = false;
        ch->send = smtp_send;
        ch->reconcile = smtp_reconcile;
        ch->flush = smtp_flush;
        ch->free = smtp_free;
        ch->state = s;
        return ch;
}
