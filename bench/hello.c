/*
 * hello: the ceiling of this HTTP stack. A bare libmicrohttpd server with
 * the same threading as lib/http (internal thread pool) answering "hello"
 * to every request, to compare the gateway against in the same run.
 *
 *   hello PORT [THREADS]     (runs until SIGTERM or SIGINT)
 */
#include <microhttpd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

static enum MHD_Result
answer(void *cls, struct MHD_Connection *c, const char *url, const char *method,
       const char *version, const char *data, size_t *data_size, void **state)
{
        static const char body[] = "hello\n";
        struct MHD_Response *r;
        enum MHD_Result rc;

        (void)cls, (void)url, (void)method, (void)version, (void)data;
        if (*state == NULL) { /* first call: headers only */
                *state = (void *)1;
                return MHD_YES;
        }
        if (*data_size != 0) { /* drain a body */
                *data_size = 0;
                return MHD_YES;
        }
        r = MHD_create_response_from_buffer(sizeof(body) - 1, (void *)body,
                                            MHD_RESPMEM_PERSISTENT);
        MHD_add_response_header(r, "Content-Type", "text/plain");
        rc = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        return rc;
}

int
main(int argc, char **argv)
{
        struct MHD_Daemon *d;
        unsigned threads = argc > 2 ? (unsigned)atoi(argv[2]) : 4;

        if (argc < 2) {
                fprintf(stderr, "usage: hello PORT [THREADS]\n");
                return 2;
        }
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        d = MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC,
                             (uint16_t)atoi(argv[1]), NULL, NULL, answer, NULL,
                             MHD_OPTION_THREAD_POOL_SIZE, threads,
                             MHD_OPTION_END);
        if (d == NULL) {
                fprintf(stderr, "hello: cannot listen\n");
                return 1;
        }
        while (!stop)
                usleep(100 * 1000);
        MHD_stop_daemon(d);
        return 0;
}
