/* Deterministic exp for the scorer; see numeric.h for why it is not the C library's. */
#include "numeric.h"

double pn__exp_nonpos(double x)
{
    if (!(x <= 0.0))
        return 1.0; /* callers pass x - max <= 0; NaN and positives are treated as the maximum */
    if (x < -700.0)
        return 0.0;
    /* x = k ln2 + r with |r| <= ln2 / 2, ln2 split in two parts so that k * ln2 is exact enough. */
    const double ln2_hi = 6.93147180369123816490e-01, ln2_lo = 1.90821492927058770002e-10;
    const double inv_ln2 = 1.44269504088896338700e+00;
    double kd = x * inv_ln2;
    int k = (int)(kd < 0 ? kd - 0.5 : kd + 0.5);
    double hi = x - (double)k * ln2_hi;
    double lo = (double)k * ln2_lo;
    double r = hi - lo;
    /* Taylor series to degree 13 on |r| <= 0.347: truncation error below 2^-60. */
    double p = 1.0 / 6227020800.0;
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r + 1.0;
    p = p * r + 1.0;
    /* Scale by 2^k with exact multiplications (k is in [-1010, 0]). */
    double scale = 1.0;
    double two = k < 0 ? 0.5 : 2.0;
    int n = k < 0 ? -k : k;
    double b = two;
    while (n) {
        if (n & 1)
            scale *= b;
        b *= b;
        n >>= 1;
    }
    return p * scale;
}
