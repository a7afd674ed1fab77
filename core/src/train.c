/* Training: visitor selection, features, the length-normalized Complement NB fit, holdout
 * quality and calibration (see personae/train.h for the method and its reasons). */
#include "personae/audience.h"
#include "personae/train.h"
#include "alloc.h"
#include "catalog_internal.h"
#include "error_internal.h"
#include "profiles_internal.h"
#include "snapshot_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>

#define XXH_INLINE_ALL
#include "xxhash.h"

void pn_train_options_init(pn_train_options *o)
{
    memset(o, 0, sizeof *o);
    o->holdout_fraction = 0.2;
    o->seed = 1;
    o->model_version = 1;
    o->min_support = 1;
    o->advised_persona_visitors = 200;
    o->advised_traits_per_visitor = 3.0;
}

/* The training set: one row per visitor who qualifies for a baseline. */
typedef struct trainset {
    size_t n, cap;
    uint32_t *visitor;
    uint64_t *labels;     /* baseline bit set */
    uint8_t *primary;     /* the baseline realized last: the persona holdout metrics expect */
    uint8_t *holdout;
    uint64_t *off;        /* features of row i: feat[off[i] .. off[i + 1]) */
    size_t off_cap;
    uint32_t *feat;       /* store trait indices, then compact feature ids */
    size_t feat_len, feat_cap;
} trainset;

typedef struct fit {
    double *w;            /* P x F, persona-major: the weights in use (c + mix * m) */
    double *c, *m;        /* the complement and the multinomial weights, centered */
    int eligible[PN_MAX_BASELINES];
} fit;

static void fit_free(fit *f)
{
    pn__free(f->w);
    pn__free(f->c);
    pn__free(f->m);
    f->w = f->c = f->m = NULL; /* freed again at the end of pn_train after a failed fit */
}

/* Centers each trait's weights across eligible personas: only differences between personas
 * decide, and centering makes the sign say "raises" or "lowers". */
static void center(double *w, size_t P, size_t F, const int *eligible)
{
    size_t neligible = 0;
    for (size_t p = 0; p < P; p++)
        neligible += eligible[p] != 0;
    for (size_t f = 0; f < F && neligible; f++) {
        double mean = 0;
        for (size_t p = 0; p < P; p++)
            if (eligible[p])
                mean += w[p * F + f];
        mean /= (double)neligible;
        for (size_t p = 0; p < P; p++)
            w[p * F + f] = eligible[p] ? w[p * F + f] - mean : 0.0;
    }
}

/* w = c + mix * m: the multinomial part sharpens personas among many (the complement of one
 * persona among fifty is almost everyone), the complement part steadies rare personas. */
static void blend(fit *f, size_t P, size_t F, double mix)
{
    for (size_t i = 0; i < P * F; i++)
        f->w[i] = f->c[i] + mix * f->m[i];
}

static void trainset_free(trainset *ts)
{
    pn__free(ts->visitor);
    pn__free(ts->labels);
    pn__free(ts->primary);
    pn__free(ts->holdout);
    pn__free(ts->off);
    pn__free(ts->feat);
}

static void progress(const pn_train_options *o, const char *stage, double f)
{
    if (o->progress)
        o->progress(o->progress_ctx, stage, f);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static double median_u32(uint32_t *v, size_t n)
{
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof *v, cmp_u32);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + (double)v[n / 2]) / 2.0;
}

static pn_status add_reason(pn_snapshot *s, pn_error *err, const char *fmt, ...) PN__PRINTF(3, 4);

static pn_status add_reason(pn_snapshot *s, pn_error *err, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (s->reason_count >= 64)
        return PN_OK;
    char **r = pn__realloc(s->reasons, (s->reason_count + 1) * sizeof *r);
    if (!r)
        return pn__oom(err);
    s->reasons = r;
    if (!(r[s->reason_count] = pn__strdup(buf)))
        return pn__oom(err);
    s->reason_count++;
    return PN_OK;
}

/* Fits weights on the rows with holdout[i] == use_holdout_value ... or on all rows (rows < 0). */
static pn_status fit_weights(const trainset *ts, size_t P, size_t F, int which, fit *out, pn_error *err)
{
    double *cnt = pn__calloc(P * (F ? F : 1), sizeof *cnt);
    double *g = pn__calloc(F ? F : 1, sizeof *g);
    out->c = pn__malloc(P * (F ? F : 1) * sizeof *out->c);
    out->m = pn__malloc(P * (F ? F : 1) * sizeof *out->m);
    out->w = pn__malloc(P * (F ? F : 1) * sizeof *out->w);
    if (!cnt || !g || !out->c || !out->m || !out->w) {
        pn__free(cnt);
        pn__free(g);
        fit_free(out);
        return pn__oom(err);
    }
    double mass_n = 0, mass_x = 0;
    uint32_t members[PN_MAX_BASELINES] = {0};
    for (size_t i = 0; i < ts->n; i++) {
        if (which >= 0 && ts->holdout[i] != which)
            continue;
        size_t n = (size_t)(ts->off[i + 1] - ts->off[i]);
        if (n == 0)
            continue;
        int k = 0;
        for (uint64_t b = ts->labels[i]; b; b &= b - 1)
            k++;
        double x = 1.0 / sqrt((double)n);
        mass_n += (double)n;
        mass_x += (double)n * x;
        for (size_t p = 0; p < P; p++) {
            if (!(ts->labels[i] >> p & 1))
                continue;
            members[p]++;
            double y = x / k;
            double *cp = cnt + p * F;
            for (uint64_t j = ts->off[i]; j < ts->off[i + 1]; j++)
                cp[ts->feat[j]] += y;
        }
    }
    /* Smoothing: half the mean weight of one realization, so it scales with the data. */
    double alpha = mass_n > 0 ? 0.5 * mass_x / mass_n : 1.0;
    double total = 0;
    for (size_t p = 0; p < P; p++)
        for (size_t f = 0; f < F; f++)
            g[f] += cnt[p * F + f];
    for (size_t f = 0; f < F; f++)
        total += g[f];
    for (size_t p = 0; p < P; p++) {
        out->eligible[p] = members[p] > 0;
        double mass_p = 0;
        for (size_t f = 0; f < F; f++)
            mass_p += cnt[p * F + f];
        double cdenom = total - mass_p + alpha * (double)F, mdenom = mass_p + alpha * (double)F;
        for (size_t f = 0; f < F; f++) {
            double own = cnt[p * F + f];
            out->c[p * F + f] = -log((g[f] - own + alpha) / cdenom);
            out->m[p * F + f] = log((own + alpha) / mdenom);
        }
    }
    center(out->c, P, F, out->eligible);
    center(out->m, P, F, out->eligible);
    blend(out, P, F, 0.0);
    pn__free(cnt);
    pn__free(g);
    return PN_OK;
}

/* Scores row i with a fit; returns the winner or -1. */
static int score_row(const trainset *ts, size_t i, const fit *f, size_t P, size_t F, double *scores)
{
    for (size_t p = 0; p < P; p++)
        scores[p] = 0;
    if (ts->off[i + 1] == ts->off[i])
        return -1;
    for (uint64_t j = ts->off[i]; j < ts->off[i + 1]; j++)
        for (size_t p = 0; p < P; p++)
            scores[p] += f->w[p * F + ts->feat[j]];
    int best = -1;
    for (size_t p = 0; p < P; p++)
        if (f->eligible[p] && (best < 0 || scores[p] > scores[best]))
            best = (int)p;
    return best;
}

/* Holdout quality of a fit into the snapshot's quality fields (s may be a scratch copy). */
static void evaluate(const trainset *ts, size_t P, size_t F, const fit *f, pn_snapshot *s)
{
    uint32_t tp[PN_MAX_BASELINES] = {0}, fp[PN_MAX_BASELINES] = {0}, fn[PN_MAX_BASELINES] = {0};
    uint32_t total = 0, correct = 0;
    double scores[PN_MAX_BASELINES];
    for (size_t i = 0; i < ts->n; i++) {
        if (!ts->holdout[i])
            continue;
        int truth = ts->primary[i], got = score_row(ts, i, f, P, F, scores);
        total++;
        if (got == truth) {
            correct++;
            tp[truth]++;
        } else {
            fn[truth]++;
            if (got >= 0)
                fp[got]++;
        }
    }
    s->quality.holdout_visitors = total;
    s->quality.accuracy = total ? (double)correct / total : 0.0;
    double f1sum = 0;
    size_t present = 0;
    for (size_t p = 0; p < P; p++) {
        pn_persona_info *in = &s->personas[p].info;
        in->holdout_visitors = tp[p] + fn[p];
        in->precision = tp[p] + fp[p] ? (double)tp[p] / (tp[p] + fp[p]) : 0.0;
        in->recall = tp[p] + fn[p] ? (double)tp[p] / (tp[p] + fn[p]) : 0.0;
        in->f1 = tp[p] ? 2.0 * tp[p] / (2.0 * tp[p] + fp[p] + fn[p]) : 0.0;
        if (tp[p] + fn[p]) {
            f1sum += in->f1;
            present++;
        }
    }
    s->quality.macro_f1 = present ? f1sum / (double)present : 0.0;
}

/* Calibration data: each scored row's length-normalized scores and its expected persona,
 * computed once so that the temperature search only redoes the softmax. */
typedef struct calib {
    double *z;     /* rows x P */
    uint8_t *truth;
    size_t rows;
} calib;

static pn_status calib_build(const trainset *ts, int which, size_t P, size_t F, const fit *f, calib *c, pn_error *err)
{
    c->rows = 0;
    c->z = pn__malloc((ts->n ? ts->n : 1) * P * sizeof *c->z);
    c->truth = pn__malloc(ts->n ? ts->n : 1);
    if (!c->z || !c->truth)
        return pn__oom(err);
    /* One temperature is all there is to fit: a few thousand rows pin it down, and the search
     * evaluates the likelihood some seventy times, so more rows only cost time. */
    enum { CALIB_ROWS = 5000 };
    for (size_t i = 0; i < ts->n && c->rows < CALIB_ROWS; i++) {
        size_t n = (size_t)(ts->off[i + 1] - ts->off[i]);
        double *z = c->z + c->rows * P;
        if (ts->holdout[i] != which || n == 0 || !f->eligible[ts->primary[i]] || score_row(ts, i, f, P, F, z) < 0)
            continue;
        double k = 1.0 / sqrt((double)n);
        for (size_t p = 0; p < P; p++)
            z[p] *= k;
        c->truth[c->rows++] = ts->primary[i];
    }
    return PN_OK;
}

/* Negative log-likelihood of the expected personas under softmax(t * z). */
static double nll(const calib *c, size_t P, const fit *f, double t)
{
    double sum = 0;
    for (size_t i = 0; i < c->rows; i++) {
        const double *z = c->z + i * P;
        double mx = -INFINITY, e = 0;
        for (size_t p = 0; p < P; p++)
            if (f->eligible[p] && z[p] * t > mx)
                mx = z[p] * t;
        for (size_t p = 0; p < P; p++)
            if (f->eligible[p])
                e += exp(z[p] * t - mx);
        sum += -(z[c->truth[i]] * t - mx - log(e));
    }
    return sum;
}

/* The NLL is convex in t, so a golden-section search on log t finds its minimum. */
static pn_status fit_temperature(const trainset *ts, int which, size_t P, size_t F, const fit *f, double *t,
                                 pn_error *err)
{
    calib c = {0};
    pn_status st = calib_build(ts, which, P, F, f, &c, err);
    *t = 1.0;
    if (st == PN_OK && c.rows > 0) {
        const double g = 0.6180339887498949;
        double lo = log(0.01), hi = log(1000.0);
        double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
        double fa = nll(&c, P, f, exp(a)), fb = nll(&c, P, f, exp(b));
        for (int it = 0; it < 32; it++) { /* the bracket shrinks to 1e-6 of itself */
            if (fa <= fb) {
                hi = b; b = a; fb = fa;
                a = hi - g * (hi - lo);
                fa = nll(&c, P, f, exp(a));
            } else {
                lo = a; a = b; fa = fb;
                b = lo + g * (hi - lo);
                fb = nll(&c, P, f, exp(b));
            }
        }
        *t = exp((lo + hi) / 2);
    }
    pn__free(c.z);
    pn__free(c.truth);
    return st;
}

/* Makes room for one more training row in every per-row array. */
static int grow_rows(trainset *ts)
{
    if (ts->n + 1 <= ts->cap)
        return 0;
    size_t cap = ts->cap ? ts->cap * 2 : 1024;
    uint32_t *v = pn__realloc(ts->visitor, cap * sizeof *v);
    if (v)
        ts->visitor = v;
    uint64_t *l = pn__realloc(ts->labels, cap * sizeof *l);
    if (l)
        ts->labels = l;
    uint8_t *pm = pn__realloc(ts->primary, cap);
    if (pm)
        ts->primary = pm;
    uint64_t *off = pn__realloc(ts->off, (cap + 1) * sizeof *off);
    if (off)
        ts->off = off;
    if (!v || !l || !pm || !off)
        return -1;
    ts->cap = cap;
    return 0;
}

static pn_status collect(const pn_profiles *pr, const pn_audience *aud, const uint8_t *usable, int64_t since,
                         int64_t until, const pn_train_options *o, trainset *ts, uint32_t **target_n,
                         size_t *target_count, pn_error *err)
{
    size_t V = pn_profiles_visitor_count(pr), tcap = 0;
    *target_n = NULL;
    *target_count = 0;
    for (uint32_t v = 0; v < V; v++) {
        if ((v & 0xffff) == 0)
            progress(o, "selecting visitors", (double)v / (double)(V ? V : 1));
        size_t nr;
        const pn_realization *r = pn_profiles_visitor_traits(pr, v, &nr);
        int active = 0;
        size_t start = ts->feat_len;
        for (size_t j = 0; j < nr; j++) {
            if (!pn_profiles_count_between(pr, v, r[j].trait, &r[j], since, until))
                continue;
            active = 1;
            if (!usable[r[j].trait])
                continue;
            if (pn__grow((void **)&ts->feat, &ts->feat_cap, ts->feat_len + 1, sizeof *ts->feat))
                return pn__oom(err);
            ts->feat[ts->feat_len++] = r[j].trait;
        }
        if (!active)
            continue;
        uint64_t set = pn_audience_baselines(aud, v, since, until);
        if (!set) {
            if (pn_audience_in_target(aud, v, since, until)) {
                if (pn__grow((void **)target_n, &tcap, *target_count + 1, sizeof **target_n))
                    return pn__oom(err);
                (*target_n)[(*target_count)++] = (uint32_t)(ts->feat_len - start);
            }
            ts->feat_len = start;
            continue;
        }
        if (grow_rows(ts))
            return pn__oom(err);
        size_t i = ts->n++;
        ts->visitor[i] = v;
        ts->labels[i] = set;
        ts->primary[i] = (uint8_t)pn_audience_primary(aud, v, set, since, until);
        ts->off[i] = start;
        ts->off[i + 1] = ts->feat_len;
    }
    progress(o, "selecting visitors", 1.0);
    return PN_OK;
}

/* Fills the snapshot's descriptive parts from the model definition. */
static pn_status describe(pn_snapshot *s, const pn_model_def *m, const pn_train_options *o, int64_t as_of, pn_error *err)
{
    size_t P = pn_model_def_baseline_count(m);
    s->model_id = pn__strdup(pn_model_def_id(m));
    s->model_name = pn__strdup(pn_model_def_name(m));
    s->model_version = o->model_version;
    s->created_at = o->created_at ? o->created_at : as_of;
    s->dec_labels = pn_model_def_dec_union(m);
    s->lookback_days = pn_model_def_lookback_days(m);
    s->personas = pn__calloc(P, sizeof *s->personas);
    if (!s->model_id || !s->model_name || !s->personas)
        return pn__oom(err);
    s->persona_count = P;
    for (size_t p = 0; p < P; p++) {
        const char *id = pn_model_def_baseline(m, p);
        const char *rule = pn_model_def_baselines_are_segments(m) ? pn_model_def_segment_rule(m, id) : NULL;
        if (!(s->personas[p].id = pn__strdup(id)) || (rule && !(s->personas[p].rule = pn__strdup(rule))))
            return pn__oom(err);
    }
    const char *t = pn_model_def_target(m);
    if (t) {
        const char *rule = pn_model_def_target_is_segment(m) ? pn_model_def_segment_rule(m, t) : NULL;
        if (!(s->target = pn__strdup(t)) || (rule && !(s->target_rule = pn__strdup(rule))))
            return pn__oom(err);
    }
    return PN_OK;
}

/* Keeps only features with enough support, renumbered 0..F-1 in store order; returns F. */
static size_t compact_features(trainset *ts, size_t T, uint32_t min_support, uint32_t *fid, uint32_t *support)
{
    for (size_t j = 0; j < ts->feat_len; j++)
        support[ts->feat[j]]++;
    size_t F = 0;
    for (size_t t = 0; t < T; t++)
        fid[t] = support[t] >= min_support && support[t] > 0 ? (uint32_t)F++ : PN_NONE;
    size_t w = 0;
    for (size_t i = 0; i < ts->n; i++) {
        uint64_t a = ts->off[i], b = ts->off[i + 1];
        ts->off[i] = w;
        for (uint64_t j = a; j < b; j++)
            if (fid[ts->feat[j]] != PN_NONE)
                ts->feat[w++] = fid[ts->feat[j]];
    }
    ts->off[ts->n] = w;
    ts->feat_len = w;
    return F;
}

pn_status pn_train(const pn_profiles *pr, const pn_model_def *m, const pn_catalog *cat, const pn_train_options *options,
                   pn_snapshot **out, pn_error *err)
{
    pn_train_options defaults;
    if (!options) {
        pn_train_options_init(&defaults);
        options = &defaults;
    }
    const pn_train_options *o = options;
    *out = NULL;
    if (!pr->sealed)
        return pn__fail(err, PN_EINVAL, "the profile store must be sealed (pn_profiles_finish) before training");
    if (!(o->holdout_fraction >= 0 && o->holdout_fraction < 1))
        return pn__fail(err, PN_EINVAL, "holdout_fraction must be in [0, 1)");
    const size_t P = pn_model_def_baseline_count(m), T = pn_profiles_trait_count(pr);
    const int64_t as_of = o->as_of ? o->as_of : pn_profiles_max_ts(pr);
    const int lookback = pn_model_def_lookback_days(m);
    const int64_t since = lookback ? as_of - (int64_t)lookback * 86400 : 0;

    pn_status st;
    pn_audience *aud = NULL;
    pn_snapshot *s = NULL;
    trainset ts = {0};
    fit holdfit = {0}, full = {0};
    uint32_t *target_n = NULL, *fid = NULL, *support = NULL, *row_n = NULL;
    size_t target_count = 0;
    uint8_t *usable = pn__calloc(T ? T : 1, 1);
    fid = pn__malloc((T ? T : 1) * sizeof *fid);
    support = pn__calloc(T ? T : 1, sizeof *support);
    if (!usable || !fid || !support) {
        st = pn__oom(err);
        goto done;
    }
    if ((st = pn_audience_from_model(m, pr, &aud, err)))
        goto done;
    for (uint32_t t = 0; t < T; t++) {
        if (pn_audience_defines(aud, t))
            continue;
        size_t len;
        const char *id = pn_profiles_trait_id(pr, t, &len);
        usable[t] = pn__catalog_trait_exclusion(cat, id, len, pn_model_def_dec_union(m)) == PN_EXCLUDE_NONE;
    }
    if ((st = collect(pr, aud, usable, since, as_of, o, &ts, &target_n, &target_count, err)))
        goto done;
    if (ts.n == 0) {
        st = lookback ? pn__fail(err, PN_ETRAIN,
                                 "no visitor active in the %d days before %lld qualifies for any baseline: check the "
                                 "baseline ids against the events, or widen lookback_days",
                                 lookback, (long long)as_of)
                      : pn__fail(err, PN_ETRAIN,
                                 "no visitor qualifies for any baseline: check the baseline ids against the events");
        goto done;
    }
    const size_t F = compact_features(&ts, T, o->min_support ? o->min_support : 1, fid, support);
    /* A persona learns only from its visitors who have a usable trait: one without any has
     * insufficient training data, however many visitors qualify for its baseline. */
    uint32_t members[PN_MAX_BASELINES] = {0}, learners[PN_MAX_BASELINES] = {0};
    for (size_t i = 0; i < ts.n; i++)
        for (size_t p = 0; p < P; p++) {
            members[p] += ts.labels[i] >> p & 1;
            learners[p] += (ts.labels[i] >> p & 1) && ts.off[i + 1] > ts.off[i];
        }
    size_t with_members = 0;
    for (size_t p = 0; p < P; p++)
        with_members += learners[p] > 0;
    if (F == 0) {
        st = pn__fail(err, PN_ETRAIN,
                      "the training visitors have no usable trait (baseline and target traits, and traits left out "
                      "by the catalog or data export controls, are not features)");
        goto done;
    }
    if (with_members < 2) {
        st = pn__fail(err, PN_ETRAIN,
                      "only %zu of the %zu baselines has visitors with usable traits in the training window; at "
                      "least two personas need them to learn what tells them apart",
                      with_members, P);
        goto done;
    }
    progress(o, "training", 0.0);

    /* Holdout split: a hash of the uuid, so a visitor stays on the same side across retrainings. */
    if (!(ts.holdout = pn__calloc(ts.n, 1))) {
        st = pn__oom(err);
        goto done;
    }
    size_t nhold = 0;
    for (size_t i = 0; i < ts.n && ts.n >= 20; i++) {
        size_t len;
        const char *u = pn_profiles_visitor_uuid(pr, ts.visitor[i], &len);
        double x = (double)(XXH64(u, len, o->seed) >> 11) * (1.0 / 9007199254740992.0);
        ts.holdout[i] = x < o->holdout_fraction;
        nhold += ts.holdout[i];
    }
    if (!(s = pn__snapshot_alloc())) {
        st = pn__oom(err);
        goto done;
    }
    if ((st = describe(s, m, o, as_of, err)))
        goto done;
    double temperature = 1.0;
    double mix = 0.0;
    if (nhold > 0) {
        if ((st = fit_weights(&ts, P, F, 0, &holdfit, err)))
            goto done;
        /* With a holdout big enough to tell them apart (a few hundred visitors), pick the blend
         * that does best on it; a small holdout is too noisy to overrule the complement model. */
        static const double mixes[] = {0.0, 0.25, 0.5};
        double best = -1.0;
        for (size_t k = 0; k < (nhold >= 500 ? 3u : 1u); k++) {
            blend(&holdfit, P, F, mixes[k]);
            evaluate(&ts, P, F, &holdfit, s);
            if (s->quality.accuracy + s->quality.macro_f1 > best + 1e-12) {
                best = s->quality.accuracy + s->quality.macro_f1;
                mix = mixes[k];
            }
        }
        blend(&holdfit, P, F, mix);
        evaluate(&ts, P, F, &holdfit, s);
        progress(o, "training", 0.5);
    }
    if ((st = fit_weights(&ts, P, F, -1, &full, err)))
        goto done;
    blend(&full, P, F, mix);
    if (nhold >= 20) {
        st = fit_temperature(&ts, 1, P, F, &holdfit, &temperature, err);
    } else {
        for (size_t i = 0; i < ts.n; i++)
            ts.holdout[i] = 0;
        st = fit_temperature(&ts, 0, P, F, &full, &temperature, err);
    }
    if (st)
        goto done;
    progress(o, "training", 0.9);

    /* The trait table: features in store order, weights trait-major as the scorer reads them. */
    s->support = pn__malloc(F * sizeof *s->support);
    s->weights = pn__malloc(F * P * sizeof *s->weights);
    if (!s->support || !s->weights) {
        st = pn__oom(err);
        goto done;
    }
    for (uint32_t t = 0; t < T; t++) {
        if (fid[t] == PN_NONE)
            continue;
        size_t len, f = fid[t];
        uint32_t k;
        const char *id = pn_profiles_trait_id(pr, t, &len);
        if (pn__dict_intern(&s->traits, id, len, &k)) {
            st = pn__oom(err);
            goto done;
        }
        s->support[f] = support[t];
        for (size_t p = 0; p < P; p++) {
            double w = full.w[p * F + f] * PN_WEIGHT_ONE;
            double lim = PN_WEIGHT_MAX * PN_WEIGHT_ONE;
            w = w > lim ? lim : w < -lim ? -lim : w;
            s->weights[f * P + p] = (int32_t)(w < 0 ? w - 0.5 : w + 0.5);
        }
    }
    s->quality.temperature = temperature;
    s->quality.training_visitors = (uint32_t)ts.n;
    s->quality.target_visitors = (uint32_t)target_count;
    if (!(row_n = pn__malloc(ts.n * sizeof *row_n))) {
        st = pn__oom(err);
        goto done;
    }
    for (size_t i = 0; i < ts.n; i++)
        row_n[i] = (uint32_t)(ts.off[i + 1] - ts.off[i]);
    s->quality.median_traits_training = median_u32(row_n, ts.n);
    s->quality.median_traits_target = median_u32(target_n, target_count);

    /* Status reasons, each naming its cause and what to do (DESIGN §1). */
    for (size_t p = 0; p < P && !st; p++) {
        s->personas[p].info.training_visitors = members[p];
        s->personas[p].info.status = learners[p] ? PN_PERSONA_SUCCEEDED : PN_PERSONA_INSUFFICIENT_DATA;
        if (learners[p] == 0)
            st = add_reason(s, err, "persona '%s' has no visitor with usable traits in the training window: its "
                                    "predictive segment has insufficient training data", s->personas[p].id);
        else if (members[p] < o->advised_persona_visitors)
            st = add_reason(s, err, "persona '%s' has only %u training visitors; a few hundred are advised",
                            s->personas[p].id, members[p]);
    }
    if (!st && s->quality.median_traits_training < o->advised_traits_per_visitor)
        st = add_reason(s, err, "training visitors have a median of %.1f usable traits; at least %.0f are advised",
                        s->quality.median_traits_training, o->advised_traits_per_visitor);
    if (!st && target_count == 0)
        st = add_reason(s, err, "no active visitor of the target audience is outside every baseline: nobody to classify");
    else if (!st && s->quality.median_traits_target < o->advised_traits_per_visitor)
        st = add_reason(s, err, "target visitors have a median of %.1f usable traits; at least %.0f are advised",
                        s->quality.median_traits_target, o->advised_traits_per_visitor);
    if (st)
        goto done;
    s->status = s->reason_count ? PN_STATUS_WARNING : PN_STATUS_ACTIVE;
    progress(o, "training", 1.0);
    *out = s;
    s = NULL;
done:
    pn_snapshot_free(s);
    pn_audience_free(aud);
    trainset_free(&ts);
    fit_free(&holdfit);
    fit_free(&full);
    pn__free(target_n);
    pn__free(fid);
    pn__free(support);
    pn__free(row_n);
    pn__free(usable);
    return st;
}
