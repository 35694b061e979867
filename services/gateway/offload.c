/*
 * offload: a few worker threads for the gateway's blocking upstream calls
 * (libcurl to the daemons), so the HTTP threads only parse, check and
 * answer: a handler defers its answer, queues the call here, and the
 * worker resumes the request when the upstream answered. Owns the
 * threads and the queue; not what the jobs do.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "gateway.h"

struct job {
        void (*fn)(void *);
        void *arg;
        struct job *next;
};

struct gw_offload {
        pthread_mutex_t mu;
        pthread_cond_t cv;
        struct job *head, *tail;
        bool stop;
        int n;
        pthread_t *threads;
};

static void *
work(void *arg)
{
        struct gw_offload *o = arg;

        for (;;) {
                struct job *j;

                pthread_mutex_lock(&o->mu);
                while (o->head == NULL && !o->stop)
                        pthread_cond_wait(&o->cv, &o->mu);
                j = o->head;
                if (j != NULL) {
                        o->head = j->next;
                        if (o->head == NULL)
                                o->tail = NULL;
                }
                pthread_mutex_unlock(&o->mu);
                if (j == NULL) /* stopping and nothing left */
                        return NULL;
                j->fn(j->arg);
                free(j);
        }
}

struct gw_offload *
gw_offload_new(int workers)
{
        struct gw_offload *o = calloc(1, sizeof(*o));

        if (o == NULL)
                return NULL;
        pthread_mutex_init(&o->mu, NULL);
        pthread_cond_init(&o->cv, NULL);
        o->threads =
            calloc((size_t)(workers > 0 ? workers : 0) + 1, sizeof(pthread_t));
        for (int i = 0; o->threads != NULL && i < workers; i++) {
                if (pthread_create(&o->threads[i], NULL, work, o) != 0)
                        break;
                o->n++;
        }
        if (o->n == 0) {
                gw_offload_free(o);
                return NULL;
        }
        return o;
}

int
gw_offload_run(struct gw_offload *o, void (*fn)(void *), void *arg)
{
        struct job *j = malloc(sizeof(*j));
        int rc = -1;

        if (j == NULL)
                return -1;
        *j = (struct job){.fn = fn, .arg = arg};
        pthread_mutex_lock(&o->mu);
        if (!o->stop) {
                if (o->tail != NULL)
                        o->tail->next = j;
                else
                        o->head = j;
                o->tail = j;
                pthread_cond_signal(&o->cv);
                rc = 0;
        }
        pthread_mutex_unlock(&o->mu);
        if (rc < 0)
                free(j);
        return rc;
}

void
gw_offload_free(struct gw_offload *o)
{
        if (o == NULL)
                return;
        pthread_mutex_lock(&o->mu);
        o->stop = true; /* the queue is still drained */
        pthread_cond_broadcast(&o->cv);
        pthread_mutex_unlock(&o->mu);
        for (int i = 0; i < o->n; i++)
                pthread_join(o->threads[i], NULL);
        free(o->threads);
        pthread_cond_destroy(&o->cv);
        pthread_mutex_destroy(&o->mu);
        free(o);
}
