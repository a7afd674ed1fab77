/* Baseline and target membership of visitors (see personae/audience.h). */
#include "personae/audience.h"
#include "personae/rule.h"
#include "alloc.h"
#include "error_internal.h"
#include "profiles_internal.h"

typedef struct qualifier {
    uint32_t trait;           /* store trait index for a trait baseline (PN_NONE: never seen) */
    pn_segment_rule *rule;    /* or a compiled segment */
    uint32_t *refs;           /* the rule's trait refs resolved to store trait indices */
} qualifier;

struct pn_audience {
    const pn_profiles *p;
    size_t count;
    qualifier q[PN_MAX_BASELINES];
    qualifier target;
    int has_target;
    uint8_t *defines;         /* per store trait */
};

static void qualifier_free(qualifier *q)
{
    pn_segment_rule_free(q->rule);
    pn__free(q->refs);
}

void pn_audience_free(pn_audience *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->count; i++)
        qualifier_free(&a->q[i]);
    qualifier_free(&a->target);
    pn__free(a->defines);
    pn__free(a);
}

static pn_status compile(pn_audience *a, qualifier *q, const char *id, const char *rule, pn_error *err)
{
    const pn_profiles *p = a->p;
    if (!rule) {
        q->trait = pn_profiles_trait_find(p, id, strlen(id));
        if (q->trait != PN_NONE)
            a->defines[q->trait] = 1;
        return PN_OK;
    }
    size_t off;
    pn_error e;
    if (pn_segment_rule_parse(rule, strlen(rule), &q->rule, &off, &e))
        return pn__fail(err, e.code, "segment '%s': %s", id, e.message);
    size_t n = pn_segment_rule_trait_count(q->rule);
    q->trait = PN_NONE;
    q->refs = pn__malloc((n ? n : 1) * sizeof *q->refs);
    if (!q->refs)
        return pn__oom(err);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *t = pn_segment_rule_trait(q->rule, i, &len);
        q->refs[i] = pn_profiles_trait_find(p, t, len);
        if (q->refs[i] != PN_NONE)
            a->defines[q->refs[i]] = 1;
    }
    return PN_OK;
}

static pn_status make(const pn_profiles *p, size_t count, pn_audience **out, pn_error *err)
{
    *out = NULL;
    if (!p->sealed)
        return pn__fail(err, PN_EINVAL, "the profile store must be sealed (pn_profiles_finish) first");
    if (count > PN_MAX_BASELINES)
        return pn__fail(err, PN_ERULE, "a model has at most %d baselines", PN_MAX_BASELINES);
    pn_audience *a = pn__calloc(1, sizeof *a);
    size_t T = pn_profiles_trait_count(p);
    if (!a || !(a->defines = pn__calloc(T ? T : 1, 1))) {
        pn__free(a);
        return pn__oom(err);
    }
    a->p = p;
    a->target.trait = PN_NONE;
    *out = a;
    return PN_OK;
}

pn_status pn_audience_from_model(const pn_model_def *m, const pn_profiles *p, pn_audience **out, pn_error *err)
{
    pn_audience *a;
    *out = NULL;
    size_t n = pn_model_def_baseline_count(m);
    pn_status st = make(p, n, &a, err);
    for (size_t i = 0; st == PN_OK && i < n; i++) {
        const char *id = pn_model_def_baseline(m, i);
        a->count++;
        st = compile(a, &a->q[i], id, pn_model_def_baselines_are_segments(m) ? pn_model_def_segment_rule(m, id) : NULL, err);
    }
    const char *t = pn_model_def_target(m);
    if (st == PN_OK && t) {
        a->has_target = 1;
        st = compile(a, &a->target, t, pn_model_def_target_is_segment(m) ? pn_model_def_segment_rule(m, t) : NULL, err);
    }
    if (st) {
        pn_audience_free(a);
        return st;
    }
    *out = a;
    return PN_OK;
}

pn_status pn_audience_from_snapshot(const pn_snapshot *s, const pn_profiles *p, pn_audience **out, pn_error *err)
{
    pn_audience *a;
    *out = NULL;
    size_t n = pn_snapshot_persona_count(s);
    pn_status st = make(p, n, &a, err);
    for (size_t i = 0; st == PN_OK && i < n; i++) {
        a->count++;
        st = compile(a, &a->q[i], pn_snapshot_persona_id(s, i), pn_snapshot_persona_rule(s, i), err);
    }
    const char *rule = NULL;
    const char *t = pn_snapshot_target(s, &rule);
    if (st == PN_OK && t) {
        a->has_target = 1;
        st = compile(a, &a->target, t, rule, err);
    }
    if (st) {
        pn_audience_free(a);
        return st;
    }
    *out = a;
    return PN_OK;
}

typedef struct eval_ctx {
    const pn_profiles *p;
    const qualifier *q;
    uint32_t v;
    int64_t since, until;
} eval_ctx;

static uint32_t count_ref(void *vctx, size_t ref, int64_t rule_since)
{
    const eval_ctx *c = vctx;
    uint32_t t = c->q->refs[ref];
    if (t == PN_NONE)
        return 0;
    int64_t since = rule_since > c->since ? rule_since : c->since;
    return pn_profiles_count_between(c->p, c->v, t, NULL, since, c->until);
}

static int qualifies(const pn_audience *a, const qualifier *q, uint32_t v, int64_t since, int64_t until)
{
    if (!q->rule)
        return q->trait != PN_NONE && pn_profiles_count_between(a->p, v, q->trait, NULL, since, until) > 0;
    eval_ctx c = {a->p, q, v, since, until};
    return pn_segment_rule_eval_refs(q->rule, count_ref, &c, until);
}

uint64_t pn_audience_baselines(const pn_audience *a, uint32_t v, int64_t since, int64_t until)
{
    uint64_t set = 0;
    for (size_t i = 0; i < a->count; i++)
        if (qualifies(a, &a->q[i], v, since, until))
            set |= (uint64_t)1 << i;
    return set;
}

int pn_audience_in_target(const pn_audience *a, uint32_t v, int64_t since, int64_t until)
{
    return !a->has_target || qualifies(a, &a->target, v, since, until);
}

int pn_audience_defines(const pn_audience *a, uint32_t t)
{
    return t < pn_profiles_trait_count(a->p) && a->defines[t];
}

/* The time of v's latest realization of store trait t at or before `until`, or -1. The summary
 * only has the last one overall, so search the visitor's (trait, ts) keys. */
static int64_t last_until(const pn_profiles *p, uint32_t v, uint32_t t, int64_t until)
{
    if (until < 0)
        return -1;
    const uint64_t *k = p->keys + p->key_off[v];
    uint64_t key = (uint64_t)t << 32 | (uint64_t)(until > PN_TS_MAX ? PN_TS_MAX : until);
    size_t lo = 0, hi = (size_t)(p->key_off[v + 1] - p->key_off[v]);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k[mid] <= key) lo = mid + 1; else hi = mid;
    }
    return lo > 0 && (uint32_t)(k[lo - 1] >> 32) == t ? (int64_t)(uint32_t)k[lo - 1] : -1;
}

int pn_audience_primary(const pn_audience *a, uint32_t v, uint64_t set, int64_t since, int64_t until)
{
    int best = -1;
    int64_t latest = INT64_MIN;
    for (size_t i = 0; i < a->count; i++) {
        if (!(set >> i & 1))
            continue;
        int64_t seen = INT64_MIN + 1;
        const pn_realization *r = a->q[i].rule || a->q[i].trait == PN_NONE ? NULL : pn__profiles_find(a->p, v, a->q[i].trait);
        if (r) {
            seen = (int64_t)r->last_seen <= until ? (int64_t)r->last_seen : last_until(a->p, v, a->q[i].trait, until);
            if (seen < since)
                seen = since;
        }
        if (best < 0 || seen > latest) {
            best = (int)i;
            latest = seen;
        }
    }
    return best;
}
