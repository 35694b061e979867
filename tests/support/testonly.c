/*
 * testonly: testenv_only, a cmocka program's test filter from its command
 * line (see testenv.h). Apart from testenv.c so that the programs that
 * link the support library without cmocka (benches, intake-load) do not
 * need it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "testenv.h"

void
testenv_only(int argc, char **argv)
{
        if (argc > 1 && argv[1][0] != '\0')
                cmocka_set_test_filter(argv[1]);
}
