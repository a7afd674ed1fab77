/*
 * Histograms of durations, for the server's own account of where an /event call's time goes
 * (http.c) and of the event log's commits (event_log.c): printed to the server's log when it
 * stops, and read by tests/bench/bench_event.sh beside wrk's figures, so that the time a call
 * spends inside the server is told apart from the time the load generator and the host add.
 *
 * Microseconds, exact below 64 µs, then 32 buckets for each power of two (each at most ~3% wide)
 * up to 2^32 µs, 71 minutes (longer durations count in the last bucket). Adding is a few
 * instructions and no allocation. Not thread-safe: each thread keeps its own, and they are merged
 * once it has stopped.
 */
#ifndef PN_SERVER_HISTOGRAM_H
#define PN_SERVER_HISTOGRAM_H

#include <stddef.h>
#include <stdint.h>

#define SRV_HIST_BUCKETS (64 + 26 * 32)

typedef struct srv_hist {
    uint64_t n;
    int64_t max;
    uint64_t count[SRV_HIST_BUCKETS];
} srv_hist;

/* Counts one duration (negative ones as 0). h must have been zeroed. */
void srv_hist_add(srv_hist *h, int64_t us);
/* Adds the counts of `from` into `into`. */
void srv_hist_merge(srv_hist *into, const srv_hist *from);
/* The duration at or below which a fraction q (0 < q <= 1) of the values lie: the upper end of
 * the bucket that holds it, so never below the true value and at most ~3% above it; the largest
 * value for q = 1; 0 when the histogram is empty. */
int64_t srv_hist_quantile(const srv_hist *h, double q);
/* "p50 930 µs, p99 3.58 ms, p99.9 5.91 ms, max 12.0 ms" into out (always NUL-terminated). */
void srv_hist_format(const srv_hist *h, char *out, size_t cap);

#endif
