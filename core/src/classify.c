/* Scoring a visitor against every persona of a loaded snapshot. */
#include "snapshot_internal.h"
#include "alloc.h"
#include "error_internal.h"
#include "numeric.h"

#include <math.h>
#include <stdio.h>

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Keeps the strongest drivers (largest contribution to the winner) in descending order; ties
 * keep the lower trait index first so the order is the same on every platform. */
static void push_driver(pn_classification *out, uint32_t t, double c)
{
    if (!(c > 0))
        return;
    uint32_t n = out->driver_count;
    if (n == PN_MAX_DRIVERS && !(c > out->drivers[n - 1].contribution ||
                                 (c == out->drivers[n - 1].contribution && t < out->drivers[n - 1].trait)))
        return;
    uint32_t i = n < PN_MAX_DRIVERS ? n++ : PN_MAX_DRIVERS - 1;
    while (i > 0 && (out->drivers[i - 1].contribution < c ||
                     (out->drivers[i - 1].contribution == c && out->drivers[i - 1].trait > t))) {
        out->drivers[i] = out->drivers[i - 1];
        i--;
    }
    out->drivers[i] = (pn_driver){t, c};
    out->driver_count = n;
}

pn_status pn_snapshot_classify(const pn_snapshot *s, const uint32_t *traits, size_t n, pn_classification *out,
                               pn_error *err)
{
    const size_t P = s->persona_count, T = pn__dict_count(&s->traits);
    uint32_t stack[4096];
    uint32_t *list = stack;
    if (n > 4096 && !(list = pn__malloc(n * sizeof *list)))
        return pn__oom(err);

    /* Distinct known traits, in ascending order: the sum below then runs in one fixed order,
     * which is what makes scores bit-identical across builds and across input orders. */
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (traits[i] < T)
            list[m++] = traits[i];
    if (m > 1) {
        if (m <= 32) {
            for (size_t i = 1; i < m; i++) {
                uint32_t x = list[i];
                size_t j = i;
                while (j && list[j - 1] > x) {
                    list[j] = list[j - 1];
                    j--;
                }
                list[j] = x;
            }
        } else {
            qsort(list, m, sizeof *list, cmp_u32);
        }
        size_t u = 1;
        for (size_t i = 1; i < m; i++)
            if (list[i] != list[u - 1])
                list[u++] = list[i];
        m = u;
    }

    out->persona = -1;
    out->score = 0.0;
    out->confidence = 0.0;
    out->used_traits = (uint32_t)m;
    out->persona_count = (uint32_t)P;
    out->driver_count = 0;
    for (size_t p = 0; p < P; p++) {
        out->scores[p] = 0.0;
        out->probabilities[p] = 0.0;
    }
    for (size_t i = 0; i < m; i++) {
        const float *w = s->weights + (size_t)list[i] * P;
        for (size_t p = 0; p < P; p++)
            out->scores[p] += (double)w[p];
    }
    if (m == 0)
        goto done;

    int best = -1;
    for (size_t p = 0; p < P; p++) {
        if (s->personas[p].info.status != PN_PERSONA_SUCCEEDED)
            continue;
        if (best < 0 || out->scores[p] > out->scores[best])
            best = (int)p;
    }
    if (best < 0)
        goto done;
    out->persona = best;
    out->score = out->scores[best];

    /* Calibrated probabilities: a softmax of the length-normalized scores at the temperature
     * fitted on the holdout; the same monotone map for all, so the winner is the most likely. */
    double scale = s->quality.temperature / sqrt((double)m), total = 0.0;
    for (size_t p = 0; p < P; p++) {
        if (s->personas[p].info.status != PN_PERSONA_SUCCEEDED)
            continue;
        double e = pn__exp_nonpos((out->scores[p] - out->scores[best]) * scale);
        out->probabilities[p] = e;
        total += e;
    }
    for (size_t p = 0; p < P; p++)
        out->probabilities[p] /= total;
    out->confidence = out->probabilities[best];
    for (size_t i = 0; i < m; i++)
        push_driver(out, list[i], (double)s->weights[(size_t)list[i] * P + (size_t)best]);
done:
    if (list != stack)
        pn__free(list);
    return PN_OK;
}

pn_status pn_snapshot_classify_ids(const pn_snapshot *s, const char *const *ids, const size_t *lens, size_t n,
                                   pn_classification *out, pn_error *err)
{
    uint32_t stack[1024];
    uint32_t *idx = n <= 1024 ? stack : pn__malloc(n * sizeof *idx);
    if (n == 0)
        return pn_snapshot_classify(s, NULL, 0, out, err);
    if (!idx)
        return pn__oom(err);
    for (size_t i = 0; i < n; i++)
        idx[i] = pn_snapshot_trait_find(s, ids[i], lens ? lens[i] : strlen(ids[i]));
    pn_status st = pn_snapshot_classify(s, idx, n, out, err);
    if (idx != stack)
        pn__free(idx);
    return st;
}

size_t pn_prediction_format(const pn_snapshot *s, const char *uuid, size_t uuid_len, const pn_classification *c,
                            char *buf, size_t cap)
{
    const char *persona = c->persona >= 0 ? pn_snapshot_persona_id(s, (size_t)c->persona) : "-";
    /* -0.0 would print as "-0.000000"; a score of nothing is 0. */
    double score = c->score == 0.0 ? 0.0 : c->score, conf = c->confidence == 0.0 ? 0.0 : c->confidence;
    int n = snprintf(buf, cap, "%.*s\t%s\t%.6f\t%.6f\n", (int)uuid_len, uuid, persona, score, conf);
    return n < 0 ? 0 : (size_t)n;
}
