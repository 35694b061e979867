/*
 * testhttp: libcurl requests and response-header look-ups for tests.
 * Owns nothing between calls (each request uses its own curl handle).
 */
#include "testhttp.h"

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static size_t
append(char *dst, size_t cap, size_t *len, const char *p, size_t n)
{
        size_t take = n;

        if (*len + take >= cap)
                take = cap - *len - 1;
        memcpy(dst + *len, p, take);
        *len += take;
        dst[*len] = '\0';
        return n;
}

size_t
testhttp_body_sink(char *p, size_t sz, size_t n, void *reply)
{
        struct testhttp_reply *r = reply;

        return append(r->body, sizeof(r->body), &r->len, p, sz * n);
}

static size_t
header_sink(char *p, size_t sz, size_t n, void *reply)
{
        struct testhttp_reply *r = reply;

        return append(r->headers, sizeof(r->headers), &r->hlen, p, sz * n);
}

long
testhttp_request(const char *base, const char *method, const char *path,
                 const char *const *hdrs, const char *body, size_t bodylen,
                 struct testhttp_reply *r)
{
        CURL *c = curl_easy_init();
        struct curl_slist *sl = NULL;
        char url[1024];

        memset(r, 0, sizeof(*r));
        if (c == NULL)
                return 0;
        snprintf(url, sizeof(url), "%s%s", base, path);
        curl_easy_setopt(c, CURLOPT_URL, url);
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (strcmp(method, "HEAD") == 0)
                curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        if (body != NULL) {
                curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
                curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)bodylen);
        }
        for (; hdrs != NULL && *hdrs != NULL; hdrs++)
                sl = curl_slist_append(sl, *hdrs);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, sl);
        curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, testhttp_body_sink);
        curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
        curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_sink);
        curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
        curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
        if (curl_easy_perform(c) == CURLE_OK)
                curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
        curl_slist_free_all(sl);
        curl_easy_cleanup(c);
        return r->status;
}

const char *
testhttp_header(const struct testhttp_reply *r, const char *name, char *out,
                size_t outsz)
{
        size_t n = strlen(name);

        for (const char *p = r->headers; p != NULL && *p != '\0';
             p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
                const char *v;

                if (strncasecmp(p, name, n) != 0 || p[n] != ':')
                        continue;
                v = p + n + 1;
                while (*v == ' ')
                        v++;
                snprintf(out, outsz, "%.*s", (int)strcspn(v, "\r\n"), v);
                return out;
        }
        return NULL;
}
