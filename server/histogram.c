/* Histograms of durations (histogram.h). */
#include "histogram.h"

#include <stdio.h>

#define TOP ((int64_t)1 << 32) /* durations from here on count in the last bucket */

static size_t bucket(int64_t us)
{
    if (us < 64)
        return us < 0 ? 0 : (size_t)us;
    uint64_t v = us < TOP ? (uint64_t)us : (uint64_t)TOP - 1;
    int e = 63 - __builtin_clzll(v);          /* 6 .. 31 */
    size_t sub = (size_t)(v >> (e - 5)) - 32; /* the 5 bits after the leading one */
    return 64 + (size_t)(e - 6) * 32 + sub;
}

/* The largest duration bucket i holds. */
static int64_t upper(size_t i)
{
    if (i < 64)
        return (int64_t)i;
    int e = 6 + (int)((i - 64) / 32);
    int64_t low = (int64_t)(32 + (i - 64) % 32) << (e - 5);
    return low + ((int64_t)1 << (e - 5)) - 1;
}

void srv_hist_add(srv_hist *h, int64_t us)
{
    h->count[bucket(us)]++;
    h->n++;
    if (us > h->max)
        h->max = us;
}

void srv_hist_merge(srv_hist *into, const srv_hist *from)
{
    for (size_t i = 0; i < SRV_HIST_BUCKETS; i++)
        into->count[i] += from->count[i];
    into->n += from->n;
    if (from->max > into->max)
        into->max = from->max;
}

int64_t srv_hist_quantile(const srv_hist *h, double q)
{
    if (!h->n)
        return 0;
    double want = q * (double)h->n;
    uint64_t rank = want <= 1 ? 1 : (uint64_t)want;
    if ((double)rank < want) /* the smallest rank r with r >= q n */
        rank++;
    uint64_t seen = 0;
    for (size_t i = 0; i < SRV_HIST_BUCKETS; i++) {
        seen += h->count[i];
        if (seen >= rank) {
            int64_t u = upper(i); /* (the last bucket's values go up to the largest seen) */
            return u < h->max && i + 1 < SRV_HIST_BUCKETS ? u : h->max;
        }
    }
    return h->max;
}

static int duration(char *out, size_t cap, int64_t us)
{
    if (us < 1000)
        return snprintf(out, cap, "%lld µs", (long long)us);
    if (us < 10000)
        return snprintf(out, cap, "%.2f ms", (double)us / 1e3);
    if (us < 1000000)
        return snprintf(out, cap, "%.1f ms", (double)us / 1e3);
    return snprintf(out, cap, "%.2f s", (double)us / 1e6);
}

void srv_hist_format(const srv_hist *h, char *out, size_t cap)
{
    static const struct {
        const char *name;
        double q;
    } shown[] = {{"p50", 0.5}, {"p99", 0.99}, {"p99.9", 0.999}, {"max", 1.0}};
    size_t len = 0;
    if (cap)
        out[0] = '\0';
    for (size_t i = 0; i < sizeof shown / sizeof *shown; i++) { /* (each step returns when out is full) */
        int n = snprintf(out + len, cap - len, "%s%s ", i ? ", " : "", shown[i].name);
        if (n < 0 || (size_t)n >= cap - len)
            return;
        len += (size_t)n;
        n = duration(out + len, cap - len, srv_hist_quantile(h, shown[i].q));
        if (n < 0 || (size_t)n >= cap - len)
            return;
        len += (size_t)n;
    }
}
