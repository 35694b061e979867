/*
 * db_pool: lends each connection to one thread at a time and makes a
 * borrower wait until one is given back.
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

int
main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_never_lends_more_than_it_has),
            cmocka_unit_test(test_each_connection_lent_once),
        };

        log_init("test_db_pool", LOG_ERROR);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
