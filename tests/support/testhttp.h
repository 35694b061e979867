/*
 * testhttp: a blocking HTTP client (libcurl) for tests that drive a
 * server on loopback.
 *
 *   struct testhttp_reply r;
 *   const char *hdrs[] = {"X-Request-Id: t-1", NULL};
 *   testhttp_request("http://127.0.0.1:8081", "GET", "/healthz", hdrs,
 *                    NULL, 0, &r);
 *   char v[64];
 *   testhttp_header(&r, "X-Request-Id", v, sizeof(v));
 */
#ifndef SIGNPOST_TESTHTTP_H
#define SIGNPOST_TESTHTTP_H

#include <stddef.h>

struct testhttp_reply {
        long status; /* 0 when no response (refused, timed out) */
        char body[65536];
        size_t len;
        char headers[8192]; /* raw response header block */
        size_t hlen;
};

/* testhttp_request: one request to base + path (10 s timeout). hdrs is a
 * NULL-terminated list of "Name: value" (may be NULL); body may be NULL.
 * Returns r->status. Bodies longer than r->body are cut. */
long testhttp_request(const char *base, const char *method, const char *path,
                      const char *const *hdrs, const char *body, size_t bodylen,
                      struct testhttp_reply *r);
/* testhttp_header: copies the value of response header name into out and
 * returns out, or NULL when the response has no such header. */
const char *testhttp_header(const struct testhttp_reply *r, const char *name,
                            char *out, size_t outsz);
/* testhttp_body_sink: a CURLOPT_WRITEFUNCTION appending to a
 * struct testhttp_reply (CURLOPT_WRITEDATA), for tests that reuse one
 * curl handle. */
size_t testhttp_body_sink(char *p, size_t sz, size_t n, void *reply);

#endif
