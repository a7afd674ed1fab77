/* Histograms of durations (server/histogram.h): quantiles against a sort of the same values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "histogram.h"

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The exact q-quantile of sorted v[n]: the smallest value with at least q n values at or below. */
static int64_t exact(const int64_t *v, size_t n, double q)
{
    size_t rank = 1;
    while ((double)rank < q * (double)n)
        rank++;
    return v[rank - 1];
}

/* For values spread over every range the buckets have (exact ones, the power-of-two ones, past
 * the top), each quantile is at or above the exact one and at most one bucket (~3%) above it. */
static void quantiles_bound_the_exact_ones(void **state)
{
    (void)state;
    enum { N = 200000 };
    int64_t *v = malloc(N * sizeof *v);
    srv_hist *h = calloc(1, sizeof *h);
    assert_non_null(v);
    assert_non_null(h);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < N; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        int shift = (int)(x % 36);                /* 0 .. 2^35 µs: some past the last bucket's start */
        v[i] = (int64_t)((x >> 20) & (((uint64_t)1 << shift) - 1));
        srv_hist_add(h, v[i]);
    }
    qsort(v, N, sizeof *v, cmp64);
    assert_int_equal(h->n, N);
    assert_int_equal(srv_hist_quantile(h, 1.0), v[N - 1]);
    const double qs[] = {0.0001, 0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99, 0.999, 0.9999};
    for (size_t i = 0; i < sizeof qs / sizeof *qs; i++) {
        int64_t want = exact(v, N, qs[i]), got = srv_hist_quantile(h, qs[i]);
        if (got < want)
            fail_msg("q %g: %lld below the exact %lld", qs[i], (long long)got, (long long)want);
        if (want < ((int64_t)1 << 32) && got > want + want / 32 + 1)
            fail_msg("q %g: %lld more than a bucket above the exact %lld", qs[i], (long long)got, (long long)want);
    }
    free(h);
    free(v);
}

/* Below 64 µs every duration has a bucket of its own; negative ones count as 0. */
static void small_durations_are_exact(void **state)
{
    (void)state;
    srv_hist h;
    memset(&h, 0, sizeof h);
    for (int64_t us = -5; us < 64; us++)
        srv_hist_add(&h, us);
    assert_int_equal(srv_hist_quantile(&h, 0.01), 0);          /* the 6 values at or below 0 */
    assert_int_equal(srv_hist_quantile(&h, 10.0 / 69.0), 4);  /* rank 10: -5..0 (6 values), then 1..4 */
    assert_int_equal(srv_hist_quantile(&h, 0.5), 29);         /* rank 35 */
    assert_int_equal(srv_hist_quantile(&h, 1.0), 63);
}

static void merge_adds_counts(void **state)
{
    (void)state;
    srv_hist *a = calloc(1, sizeof *a), *b = calloc(1, sizeof *b), *both = calloc(1, sizeof *both);
    assert_true(a && b && both);
    for (int64_t us = 0; us < 1000; us++) {
        srv_hist_add(us % 2 ? a : b, us * 7);
        srv_hist_add(both, us * 7);
    }
    srv_hist_merge(a, b);
    assert_int_equal(a->n, 1000);
    assert_int_equal(a->max, 999 * 7);
    assert_memory_equal(a->count, both->count, sizeof a->count);
    free(a), free(b), free(both);
}

static void format_reads_well(void **state)
{
    (void)state;
    srv_hist *h = calloc(1, sizeof *h);
    assert_non_null(h);
    char out[200];
    srv_hist_format(h, out, sizeof out);
    assert_string_equal(out, "p50 0 µs, p99 0 µs, p99.9 0 µs, max 0 µs");
    for (int i = 0; i < 998; i++)
        srv_hist_add(h, 40);
    srv_hist_add(h, 4000);
    srv_hist_add(h, 2500000);
    srv_hist_format(h, out, sizeof out);
    assert_string_equal(out, "p50 40 µs, p99 40 µs, p99.9 4.03 ms, max 2.50 s");
    char small[12]; /* cut short, still a string */
    srv_hist_format(h, small, sizeof small);
    assert_true(strlen(small) < sizeof small);
    free(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(quantiles_bound_the_exact_ones),
        cmocka_unit_test(small_durations_are_exact),
        cmocka_unit_test(merge_adds_counts),
        cmocka_unit_test(format_reads_well),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
