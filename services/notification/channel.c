/*
 * channel: which channel the configuration names, and the RFC 5322
 * message every email channel sends (the spool, SMTP). The channels
 * themselves are in spool.c, channel_smtp.c and channel_api.c. Does not
 * decide what is sent (sender.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "notification.h"

const char *
notify_channel_kind(const char *kind, const char *smtp_url, const char *api_url)
{
        static const char *const kinds[] = {"spool", "smtp", "api", NULL};

        if (strcmp(kind, "auto") == 0)
                return smtp_url != NULL  ? "smtp"
                       : api_url != NULL ? "api"
                                         : NULL;
        for (int i = 0; kinds[i] != NULL; i++)
                if (strcmp(kinds[i], kind) == 0)
                        return kinds[i];
        return NULL;
}

/* crlf: appends s to f with every line ending as CRLF. */
static void
crlf(FILE *f, const char *s)
{
        while (*s != '\0') {
                size_t n = strcspn(s, "\r\n");

                fwrite(s, 1, n, f);
                s += n;
                if (*s == '\n')
                        fputs("\r\n", f);
                if (*s != '\0')
                        s++;
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
