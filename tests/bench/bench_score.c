/* Scoring throughput from a loaded snapshot: classifies every target visitor of an events file
 * `rounds` times on one thread and prints visitors per second (median of the rounds), plus the
 * snapshot load time. Used by tests/bench/run.py; not a test (no thresholds here). */
#define _POSIX_C_SOURCE 200809L
#include "personae/audience.h"
#include "personae/profiles.h"
#include "personae/snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)n + 1);
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = (size_t)n;
    return b;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_score SNAPSHOT EVENTS [ROUNDS]\n");
        return 2;
    }
    int rounds = argc > 3 ? atoi(argv[3]) : 5;
    size_t len;
    char *bytes = slurp(argv[1], &len);
    pn_error err;
    pn_snapshot *s = NULL;
    double loads[9];
    for (int i = 0; i < 9; i++) {
        pn_snapshot_free(s);
        double t0 = now();
        if (!bytes || pn_snapshot_load(bytes, len, &s, &err)) {
            fprintf(stderr, "bench_score: %s: cannot load\n", argv[1]);
            return 1;
        }
        loads[i] = now() - t0;
    }
    qsort(loads, 9, sizeof *loads, cmp_d);

    /* Visitors as arrays of snapshot trait indices, prepared outside the timed loop the way a
     * server holds a visitor's traits; the timed part is pn_snapshot_classify alone. */
    size_t elen;
    char *ev = slurp(argv[2], &elen);
    pn_profiles *p;
    if (!ev || pn_profiles_new(&p, &err))
        return 1;
    for (char *line = ev, *end = ev + elen; line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        size_t n = nl ? (size_t)(nl - line) : (size_t)(end - line);
        if (pn_profiles_add_line(p, line, n, &err))
            return 1;
        line += n + 1;
    }
    pn_profiles_finish(p, &err);
    pn_audience *a;
    if (pn_audience_from_snapshot(s, p, &a, &err))
        return 1;
    size_t V = pn_profiles_visitor_count(p), T = pn_profiles_trait_count(p);
    uint32_t *map = malloc(T * sizeof *map);
    for (uint32_t t = 0; t < T; t++) {
        size_t l;
        const char *id = pn_profiles_trait_id(p, t, &l);
        map[t] = pn_snapshot_trait_find(s, id, l);
    }
    uint64_t *off = malloc((V + 1) * sizeof *off);
    uint32_t *idx = malloc(pn_profiles_event_count(p) * sizeof *idx + 4);
    size_t nv = 0, ni = 0;
    off[0] = 0;
    for (uint32_t v = 0; v < V; v++) {
        if (pn_audience_baselines(a, v, 0, pn_profiles_max_ts(p)))
            continue;
        size_t n;
        const pn_realization *r = pn_profiles_visitor_traits(p, v, &n);
        for (size_t j = 0; j < n; j++)
            idx[ni++] = map[r[j].trait];
        off[++nv] = ni;
    }
    double *rates = malloc(rounds * sizeof *rates), checksum = 0;
    pn_classification c;
    for (int r = 0; r < rounds; r++) {
        double t0 = now();
        for (size_t i = 0; i < nv; i++) {
            pn_snapshot_classify(s, idx + off[i], (size_t)(off[i + 1] - off[i]), &c, &err);
            checksum += c.confidence;
        }
        rates[r] = (double)nv / (now() - t0);
    }
    qsort(rates, rounds, sizeof *rates, cmp_d);
    printf("{\"visitors\": %zu, \"traits_per_visitor\": %.1f, \"rounds\": %d, \"visitors_per_second\": %.0f, "
           "\"load_ms\": %.3f, \"snapshot_traits\": %zu, \"personas\": %zu, \"checksum\": %.6f}\n",
           nv, nv ? (double)ni / nv : 0.0, rounds, rates[rounds / 2], loads[4] * 1e3, pn_snapshot_trait_count(s),
           pn_snapshot_persona_count(s), checksum);
    free(rates);
    free(off);
    free(idx);
    free(map);
    free(ev);
    free(bytes);
    pn_audience_free(a);
    pn_profiles_free(p);
    pn_snapshot_free(s);
    return 0;
}
