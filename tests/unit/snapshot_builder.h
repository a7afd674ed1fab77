/* Builds a snapshot in memory with chosen weights, for the scorer and snapshot tests: training
 * cannot be steered to exact weights, ties or extreme values. Uses the internal layout
 * (snapshot_internal.h) through this one file, so a layout change is fixed in one place. */
#ifndef PN_SNAPSHOT_BUILDER_H
#define PN_SNAPSHOT_BUILDER_H

#include <math.h>

#include "alloc.h"
#include "snapshot_internal.h"

typedef struct snap_spec {
    size_t personas, traits;
    const char *const *persona_ids;    /* NULL: "p0", "p1", … */
    const char *const *persona_rules;  /* NULL: trait baselines */
    const int *insufficient;           /* per persona, NULL: all succeeded */
    const char *const *trait_ids;      /* NULL: "t0", "t1", … */
    const double *weights;             /* traits x personas, trait-major; NULL: all 0 */
    const uint32_t *support;           /* NULL: all 10 */
    double temperature;                /* 0: 1 */
    const char *target, *target_rule;
    const char *const *reasons;
    size_t reason_count;
} snap_spec;

static inline void snap_set_weight(pn_snapshot *s, uint32_t t, size_t p, double w)
{
#ifdef PN_WEIGHT_ONE
    s->weights[(size_t)t * s->persona_count + p] = (int32_t)lround(w * PN_WEIGHT_ONE);
#else
    s->weights[(size_t)t * s->persona_count + p] = (float)w;
#endif
}

static inline pn_snapshot *snap_build(const snap_spec *sp)
{
    pn_snapshot *s = pn__snapshot_alloc();
    assert_non_null(s);
    char buf[64];
    s->model_id = pn__strdup("model-1");
    s->model_name = pn__strdup("Laptop buyers");
    s->model_version = 3;
    s->created_at = 1700000000;
    s->dec_labels = 1u | 8u; /* pii, onsite_personalization */
    s->lookback_days = 30;
    s->status = sp->reason_count ? PN_STATUS_WARNING : PN_STATUS_ACTIVE;
    s->persona_count = sp->personas;
    s->personas = pn__calloc(sp->personas, sizeof *s->personas);
    assert_non_null(s->personas);
    for (size_t p = 0; p < sp->personas; p++) {
        snprintf(buf, sizeof buf, "p%zu", p);
        s->personas[p].id = pn__strdup(sp->persona_ids ? sp->persona_ids[p] : buf);
        s->personas[p].rule = sp->persona_rules ? pn__strdup(sp->persona_rules[p]) : NULL;
        int bad = sp->insufficient && sp->insufficient[p];
        s->personas[p].info = (pn_persona_info){.status = bad ? PN_PERSONA_INSUFFICIENT_DATA : PN_PERSONA_SUCCEEDED,
                                                .training_visitors = bad ? 0 : 100 + (uint32_t)p,
                                                .holdout_visitors = bad ? 0 : 20,
                                                .precision = 0.5,
                                                .recall = 0.25,
                                                .f1 = 1.0 / 3.0};
    }
    if (sp->target)
        s->target = pn__strdup(sp->target);
    if (sp->target_rule)
        s->target_rule = pn__strdup(sp->target_rule);
    if (sp->reason_count) {
        s->reasons = pn__calloc(sp->reason_count, sizeof *s->reasons);
        for (size_t i = 0; i < sp->reason_count; i++)
            s->reasons[i] = pn__strdup(sp->reasons[i]);
        s->reason_count = sp->reason_count;
    }
    s->quality = (pn_quality){.training_visitors = 1000,
                              .holdout_visitors = 200,
                              .target_visitors = 5000,
                              .accuracy = 0.75,
                              .macro_f1 = 0.625,
                              .temperature = sp->temperature > 0 ? sp->temperature : 1.0,
                              .median_traits_training = 7.5,
                              .median_traits_target = 4};
    s->support = pn__malloc((sp->traits ? sp->traits : 1) * sizeof *s->support);
    s->weights = pn__calloc((sp->traits ? sp->traits : 1) * (sp->personas ? sp->personas : 1), sizeof *s->weights);
    assert_non_null(s->support);
    assert_non_null(s->weights);
    for (uint32_t t = 0; t < sp->traits; t++) {
        snprintf(buf, sizeof buf, "t%u", t);
        const char *id = sp->trait_ids ? sp->trait_ids[t] : buf;
        uint32_t k;
        assert_int_equal(pn__dict_intern(&s->traits, id, strlen(id), &k), 0);
        assert_int_equal(k, t);
        s->support[t] = sp->support ? sp->support[t] : 10;
        for (size_t p = 0; p < sp->personas; p++)
            snap_set_weight(s, t, p, sp->weights ? sp->weights[(size_t)t * sp->personas + p] : 0.0);
    }
    return s;
}

#endif
