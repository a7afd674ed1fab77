/* srv_format_i64 (server/api.c) writes what snprintf("%lld") writes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "srv.h"

static void check(int64_t v)
{
    char want[32], got[21];
    int n = snprintf(want, sizeof want, "%lld", (long long)v);
    memset(got, 'x', sizeof got);
    assert_int_equal(srv_format_i64(v, got), (size_t)n);
    assert_string_equal(got, want);
}

static void like_snprintf(void **state)
{
    (void)state;
    check(0), check(1), check(-1), check(9), check(10), check(-10);
    check(INT64_MAX), check(INT64_MIN), check(INT64_MIN + 1);
    for (int64_t p = 1; p <= INT64_MAX / 10; p *= 10) /* every length, at and around each power of ten */
        check(p), check(p - 1), check(p + 1), check(-p), check(-p + 1), check(-p - 1);
    uint64_t x = 88172645463325252ull; /* and xorshift's values, of every sign and size */
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        check((int64_t)(x >> (i % 64)));
        check((int64_t)x);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(like_snprintf)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
