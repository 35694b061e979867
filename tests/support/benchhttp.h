/*
 * benchhttp: the lean HTTP/1.1 client of the load generators (bench/load,
 * bench/gwload). A request is prepared once as bytes and written as is on
 * a kept-alive connection; an answer is recognised in the bytes read so
 * far (Content-Length or chunked). Two or three system calls a request,
 * as lean as pgbench's: the load generators share two cores with the
 * servers they measure, and libcurl spent about as much CPU per request
 * as the server did.
 *
 *   struct benchhttp_target t;
 *   struct benchhttp_conn c = {.fd = -1};
 *   long status;
 *   benchhttp_target_init(&t, "GET", "http://127.0.0.1:8081/x", NULL, 0,
 *                         NULL, 0);
 *   benchhttp_exchange(&c, &t, &status, NULL);   (again and again)
 *
 * An event loop instead connects with benchhttp_connect(&t, true), writes
 * t.req and feeds what it reads to benchhttp_answer().
 */
#ifndef SIGNPOST_BENCHHTTP_H
#define SIGNPOST_BENCHHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct benchhttp_target {
        char host[256], port[16];
        char *req; /* the whole request */
        size_t reqlen;
};

/* benchhttp_target_init: parses http://host[:port]/path and prepares the
 * request with the given "Name: value" headers and body (may be NULL).
 * Returns -1 for a URL it does not take. */
int benchhttp_target_init(struct benchhttp_target *t, const char *method,
                          const char *url, const char *const *headers,
                          int nheaders, const char *body, size_t bodylen);
void benchhttp_target_fini(struct benchhttp_target *t);

/* benchhttp_connect: a connected TCP socket to t (TCP_NODELAY; 30 s
 * receive timeout when blocking), or -1. */
int benchhttp_connect(const struct benchhttp_target *t, bool nonblocking);

/* benchhttp_conn: a blocking kept-alive connection (fd -1: none yet). */
struct benchhttp_conn {
        int fd;
        char *buf; /* what was read; the last answer first */
        size_t len, cap, used;
};

/* benchhttp_exchange: writes t's request on c (connecting first if need
 * be) and reads the answer. Returns its length with *status its code and
 * *body (may be NULL) where its body starts, valid until the next call;
 * -1 when it failed (c is closed). A kept-alive connection that the
 * server closed before answering is replaced once. */
long benchhttp_exchange(struct benchhttp_conn *c,
                        const struct benchhttp_target *t, long *status,
                        const char **body);
/* benchhttp_read: one read() of what has come after the buffered bytes
 * (the buffer grows when full); read()'s result, -1 when out of memory. */
ssize_t benchhttp_read(struct benchhttp_conn *c);
/* benchhttp_consume: drops the first n buffered bytes (an answer read). */
void benchhttp_consume(struct benchhttp_conn *c, size_t n);
/* benchhttp_conn_close: closes the socket (the buffer stays for reuse);
 * benchhttp_conn_fini also frees the buffer. */
void benchhttp_conn_close(struct benchhttp_conn *c);
void benchhttp_conn_fini(struct benchhttp_conn *c);

/* benchhttp_answer: if buf starts with a whole answer, its length, with
 * *status its code and *close whether the server closes the connection;
 * 0 if more is to come; -1 if it is not an answer this client reads (no
 * length). */
long benchhttp_answer(const char *buf, size_t len, long *status, bool *close);

#endif
