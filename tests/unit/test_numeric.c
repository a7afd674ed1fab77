/* The scorer's deterministic exp (numeric.h) against the C library's over a dense grid of its
 * domain: at most 2 ulp (relative error under 4.5e-16), exact at 0, 0 below -700, and the
 * documented treatment of NaN and positive arguments. */
#include "test_util.h"

#include <float.h>
#include <math.h>

#include "numeric.h"

/* Distance in units in the last place between two positive finite doubles. */
static uint64_t ulps(double a, double b)
{
    int64_t x, y;
    memcpy(&x, &a, 8);
    memcpy(&y, &b, 8);
    return x > y ? (uint64_t)(x - y) : (uint64_t)(y - x);
}

static void matches_libm_within_two_ulp_on_a_dense_grid(void **state)
{
    (void)state;
    uint64_t worst = 0;
    double worst_x = 0, worst_rel = 0;
    size_t n = 0;
    /* 4 million points over [-700, 0], plus the neighbourhood of every k ln2 boundary */
    for (long i = 0; i <= 4000000; i++) {
        double x = -700.0 * (double)i / 4000000.0;
        double got = pn__exp_nonpos(x), want = exp(x);
        uint64_t u = ulps(got, want);
        double rel = fabs(got - want) / want;
        if (u > worst) {
            worst = u;
            worst_x = x;
        }
        if (rel > worst_rel)
            worst_rel = rel;
        n++;
    }
    for (int k = 0; k <= 1009; k++) {
        double c = -(k + 0.5) * 0.69314718055994530942;
        for (int d = -3; d <= 3; d++) {
            double x = nextafter(c, d < 0 ? -INFINITY : 0.0);
            for (int j = 1; j < abs(d); j++)
                x = nextafter(x, d < 0 ? -INFINITY : 0.0);
            if (x > 0 || x < -700)
                continue;
            uint64_t u = ulps(pn__exp_nonpos(x), exp(x));
            if (u > worst) {
                worst = u;
                worst_x = x;
            }
        }
    }
    print_message("exp_nonpos: %zu points, worst %llu ulp at %.17g, worst relative error %.3g\n", n,
                  (unsigned long long)worst, worst_x, worst_rel);
    assert_true(worst <= 2);
    assert_true(worst_rel < 4.5e-16);
}

static void small_arguments_are_accurate(void **state)
{
    (void)state;
    /* near zero the result is 1 - |x|: relative accuracy matters most here */
    for (int e = -1074; e <= -1; e += 1) {
        double x = -ldexp(1.0, e);
        assert_true(ulps(pn__exp_nonpos(x), exp(x)) <= 1);
        assert_true(ulps(pn__exp_nonpos(x * 1.37), exp(x * 1.37)) <= 1);
    }
}

static void exact_at_zero_and_zero_below_minus_700(void **state)
{
    (void)state;
    assert_true(pn__exp_nonpos(0.0) == 1.0);
    assert_true(pn__exp_nonpos(-0.0) == 1.0);
    assert_true(pn__exp_nonpos(-700.0) > 0.0);
    assert_true(pn__exp_nonpos(nextafter(-700.0, -INFINITY)) == 0.0);
    assert_true(pn__exp_nonpos(-700.5) == 0.0);
    assert_true(pn__exp_nonpos(-745.2) == 0.0);
    assert_true(pn__exp_nonpos(-1e300) == 0.0);
    assert_true(pn__exp_nonpos(-INFINITY) == 0.0);
    assert_true(pn__exp_nonpos(-DBL_MAX) == 0.0);
    for (double x = -745.0; x < -700.0; x += 0.001) /* where libm is still positive */
        assert_true(pn__exp_nonpos(x) == 0.0);
}

static void nan_and_positive_arguments_count_as_the_maximum(void **state)
{
    (void)state;
    assert_true(pn__exp_nonpos(NAN) == 1.0);
    assert_true(pn__exp_nonpos(-NAN) == 1.0);
    assert_true(pn__exp_nonpos(1e-300) == 1.0);
    assert_true(pn__exp_nonpos(5.0) == 1.0);
    assert_true(pn__exp_nonpos(INFINITY) == 1.0);
}

static void monotone_non_decreasing(void **state)
{
    (void)state;
    double prev = 0.0;
    for (long i = 700000; i >= 0; i--) {
        double x = -(double)i / 1000.0;
        double y = pn__exp_nonpos(x);
        assert_true(y >= prev);
        assert_true(y <= 1.0);
        prev = y;
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_libm_within_two_ulp_on_a_dense_grid),
        cmocka_unit_test(small_arguments_are_accurate),
        cmocka_unit_test(exact_at_zero_and_zero_below_minus_700),
        cmocka_unit_test(nan_and_positive_arguments_count_as_the_maximum),
        cmocka_unit_test(monotone_non_decreasing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
