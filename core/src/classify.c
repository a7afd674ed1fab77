/* Scoring a visitor against every persona of a loaded snapshot. */
#include "snapshot_internal.h"
#include "alloc.h"
#include "error_internal.h"
#include "numeric.h"

#include <math.h>
#include <stdio.h>

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

/* Distinct known traits of the input, through a small open-addressing set: duplicates must
 * count once, and a read-only snapshot has nowhere to mark what it has seen. */
typedef struct trait_set {
    uint32_t *slots, *list;
    size_t mask, n;
} trait_set;

static int set_add(trait_set *set, uint32_t t)
{
    size_t i = (t * 2654435761u) & set->mask;
    for (;;) {
        uint32_t v = set->slots[i];
        if (v == 0) {
            set->slots[i] = t + 1;
            set->list[set->n++] = t;
            return 1;
        }
        if (v == t + 1)
            return 0;
        i = (i + 1) & set->mask;
    }
}

/* Scores distinct known snapshot indices (every one < the snapshot's trait count). `list` is only
 * read; it is not const because GCC 12 takes a const pointer to a partly filled stack buffer
 * for a read of all of it (-Wmaybe-uninitialized). */
static void score(const pn_snapshot *s, uint32_t *list, size_t m, pn_classification *out)
{
    const size_t P = s->persona_count;
    int64_t acc[PN_MAX_PERSONAS] = {0};
    for (size_t i = 0; i < m; i++) {
        const int32_t *w = s->weights + (size_t)list[i] * P;
        for (size_t p = 0; p < P; p++)
            acc[p] += w[p];
    }
    out->persona = -1;
    out->score = 0.0;
    out->confidence = 0.0;
    out->used_traits = (uint32_t)m;
    out->persona_count = (uint32_t)P;
    out->driver_count = 0;
    for (size_t p = 0; p < P; p++) {
        out->scores[p] = (double)acc[p] / PN_WEIGHT_ONE;
        out->probabilities[p] = 0.0;
    }
    if (m == 0)
        return;

    int best = -1;
    for (size_t p = 0; p < P; p++) {
        if (s->personas[p].info.status != PN_PERSONA_SUCCEEDED)
            continue;
        if (best < 0 || acc[p] > acc[best])
            best = (int)p;
    }
    if (best < 0)
        return;
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
        push_driver(out, list[i], s->weights[(size_t)list[i] * P + (size_t)best] / PN_WEIGHT_ONE);
}

pn_status pn_snapshot_classify(const pn_snapshot *s, const uint32_t *traits, size_t n, pn_classification *out,
                               pn_error *err)
{
    const size_t T = pn__dict_count(&s->traits);
    enum { STACK_LIST = 512, STACK_SLOTS = 1024 };
    uint32_t stack_list[STACK_LIST], stack_slots[STACK_SLOTS];
    trait_set set = {stack_slots, stack_list, STACK_SLOTS - 1, 0};
    uint32_t *heap = NULL;
    if (n > STACK_LIST) {
        size_t slots = 1;
        while (slots < 2 * n)
            slots *= 2;
        if (n > (size_t)1 << 28 || !(heap = pn__malloc((slots + n) * sizeof *heap)))
            return pn__oom(err);
        set = (trait_set){heap, heap + slots, slots - 1, 0};
        memset(set.slots, 0, slots * sizeof *set.slots);
    } else {
        size_t slots = 16;
        while (slots < 2 * n)
            slots *= 2;
        set.mask = slots - 1;
        memset(set.slots, 0, slots * sizeof *set.slots);
    }
    for (size_t i = 0; i < n; i++)
        if (traits[i] < T)
            set_add(&set, traits[i]);
    score(s, set.list, set.n, out);
    pn__free(heap);
    return PN_OK;
}

pn_status pn_snapshot_classify_distinct(const pn_snapshot *s, const uint32_t *traits, size_t n,
                                        pn_classification *out, pn_error *err)
{
    const size_t T = pn__dict_count(&s->traits);
    enum { STACK_LIST = 512 };
    uint32_t stack[STACK_LIST], *list = stack;
    if (n > STACK_LIST && !(list = pn__malloc(n * sizeof *list)))
        return pn__oom(err);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (traits[i] < T)
            list[m++] = traits[i];
    score(s, list, m, out);
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
    /* -0.0, and any negative that rounds to nothing at 6 decimals (-5e-7 is the double below
     * 5e-7 exactly, so it rounds down too), would print as "-0.000000"; a score of nothing is 0. */
    double score = c->score >= -5e-7 && c->score <= 0.0 ? 0.0 : c->score;
    double conf = c->confidence >= -5e-7 && c->confidence <= 0.0 ? 0.0 : c->confidence;
    int n = snprintf(buf, cap, "%.*s\t%s\t%.6f\t%.6f\n", (int)uuid_len, uuid, persona, score, conf);
    return n < 0 ? 0 : (size_t)n;
}
