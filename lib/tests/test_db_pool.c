/*
 * db_pool: lends each connection to one thread at a time, makes a
 * borrower wait until one is given back, and serves waiting borrowers in
 * the order they came.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "db_pool.h"
#include "log.h"

static struct db_pool pool;
static atomic_int in_use, most;

static void *
borrower(void *arg)
{
        (void)arg;
        for (int i = 0; i < 200; i++) {
                struct db *db = db_pool_get(&pool);
                int now = atomic_fetch_add(&in_use, 1) + 1;
                int seen = atomic_load(&most);

                while (now > seen &&
                       !atomic_compare_exchange_weak(&most, &seen, now))
                        ;
                usleep(100);
                atomic_fetch_sub(&in_use, 1);
                db_pool_put(&pool, db);
        }
        return NULL;
}

static void
test_never_lends_more_than_it_has(void **state)
{
        struct err e = {0};
        pthread_t t[6];

        (void)state;
        /* no database needed: connections open lazily */
        assert_int_equal(db_pool_init(&pool, "host=127.0.0.1 port=1", 2, &e),
                         0);
        for (int i = 0; i < 6; i++)
                pthread_create(&t[i], NULL, borrower, NULL);
        for (int i = 0; i < 6; i++)
                pthread_join(t[i], NULL);
        assert_true(atomic_load(&most) <= 2);
        assert_int_equal(atomic_load(&most), 2);
        db_pool_fini(&pool);
        db_pool_fini(&pool); /* twice is fine */
}

static void
test_each_connection_lent_once(void **state)
{
        struct err e = {0};
        struct db *a, *b;

        (void)state;
        assert_int_equal(db_pool_init(&pool, "host=127.0.0.1 port=1", 2, &e),
                         0);
        a = db_pool_get(&pool);
        b = db_pool_get(&pool);
        assert_ptr_not_equal(a, b);
        db_pool_put(&pool, a);
        assert_ptr_equal(db_pool_get(&pool), a);
        db_pool_fini(&pool);
}

static pthread_mutex_t order_mu = PTHREAD_MUTEX_INITIALIZER;
static int order[4], ordered;

static void *
queued(void *arg)
{
        struct db *db = db_pool_get(&pool);

        pthread_mutex_lock(&order_mu);
        order[ordered++] = (int)(intptr_t)arg;
        pthread_mutex_unlock(&order_mu);
        usleep(1000);
        db_pool_put(&pool, db);
        return NULL;
}

/* waiting: how many borrowers hold a ticket and have no connection yet */
static unsigned long
waiting(void)
{
        unsigned long n;

        pthread_mutex_lock(&pool.mu);
        n = pool.next_ticket - pool.serving;
        pthread_mutex_unlock(&pool.mu);
        return n;
}

static void
test_waiters_served_in_arrival_order(void **state)
{
        struct err e = {0};
        pthread_t t[4];
        struct db *db;

        (void)state;
        assert_int_equal(db_pool_init(&pool, "host=127.0.0.1 port=1", 1, &e),
                         0);
        db = db_pool_get(&pool);
        for (int i = 0; i < 4; i++) {
                pthread_create(&t[i], NULL, queued, (void *)(intptr_t)i);
                while (waiting() < (unsigned long)i + 1)
                        usleep(100);
        }
        /* giving it back and asking again at once: the four waiting
         * borrowers come first */
        db_pool_put(&pool, db);
        db = db_pool_get(&pool);
        pthread_mutex_lock(&order_mu);
        assert_int_equal(ordered, 4);
        pthread_mutex_unlock(&order_mu);
        for (int i = 0; i < 4; i++) {
                pthread_join(t[i], NULL);
                assert_int_equal(order[i], i);
        }
        db_pool_put(&pool, db);
        db_pool_fini(&pool);
}

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_never_lends_more_than_it_has),
            cmocka_unit_test(test_each_connection_lent_once),
            cmocka_unit_test(test_waiters_served_in_arrival_order),
        };

        log_init("test_db_pool", LOG_ERROR);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
