/* Model definitions and the rules DESIGN §1 puts on them. */
#include "catalog_internal.h"
#include "alloc.h"
#include "error_internal.h"
#include "json_doc.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>

struct pn_model_def {
    char *id, *name, *target, *data_source;
    char **baselines;
    char **rules;          /* segment code per baseline (segments only), else NULL entries */
    char *target_rule;     /* segment code of the target when it is a segment */
    size_t baseline_count;
    int segments, target_segment, lookback_days;
    uint32_t dec_union;
};

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = pn__malloc(n);
    if (d)
        memcpy(d, s, n);
    return d;
}

void pn_model_def_free(pn_model_def *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->baseline_count; i++) {
        pn__free(m->baselines ? m->baselines[i] : NULL);
        pn__free(m->rules ? m->rules[i] : NULL);
    }
    pn__free(m->baselines);
    pn__free(m->rules);
    pn__free(m->id);
    pn__free(m->name);
    pn__free(m->target);
    pn__free(m->target_rule);
    pn__free(m->data_source);
    pn__free(m);
}

/* Checks one baseline or target id against the catalog; *is_segment and *labels describe it. */
static pn_status check_ref(const pn_catalog *c, const char *role, const char *id, int *is_segment, uint32_t *labels,
                           const char **rule, pn_error *err)
{
    size_t n = strlen(id);
    *is_segment = 0;
    *labels = 0;
    *rule = NULL;
    if (!c)
        return PN_OK;
    uint32_t k = pn__dict_find(&c->traits, id, n);
    if (k != PN_DICT_NONE) {
        const pn_cat_trait *t = &c->trait_info[k];
        if (t->kind == PN_TRAIT_PREDICTIVE)
            return pn__fail(err, PN_ERULE, "%s '%s' is a predictive trait; predictive traits cannot be baselines or targets", role, id);
        if (t->kind == PN_TRAIT_ALGORITHMIC)
            return pn__fail(err, PN_ERULE, "%s '%s' is an algorithmic trait; algorithmic traits cannot be baselines or targets", role, id);
        if (t->third_party)
            return pn__fail(err, PN_ERULE, "%s '%s' is a third-party trait; only first-party traits can be baselines or targets", role, id);
        if (t->shared)
            return pn__fail(err, PN_ERULE, "%s '%s' is shared into the account from outside; it cannot be a baseline or target", role, id);
        *labels = c->source_labels[t->data_source];
        return PN_OK;
    }
    k = pn__dict_find(&c->segments, id, n);
    if (k != PN_DICT_NONE) {
        const pn_cat_segment *s = &c->segment_info[k];
        if (s->predictive)
            return pn__fail(err, PN_ERULE, "%s '%s' is a predictive segment; predictive segments cannot be baselines or targets", role, id);
        if (s->shared)
            return pn__fail(err, PN_ERULE, "%s '%s' is shared into the account from outside; it cannot be a baseline or target", role, id);
        *is_segment = 1;
        *labels = s->dec_labels;
        *rule = s->rule;
        return PN_OK;
    }
    return pn__fail(err, PN_EUNKNOWN, "%s '%s' is neither a trait nor a segment of the catalog", role, id);
}

pn_status pn_model_def_new(const char *id, const char *name, const char *const *baselines, size_t baseline_count,
                           const char *target, const char *data_source, int lookback_days, const pn_catalog *catalog,
                           pn_model_def **out, pn_error *err)
{
    *out = NULL;
    if (!name || !*name || strlen(name) > 255)
        return pn__fail(err, PN_EINVAL, "model name must be 1 to 255 characters");
    if (id && (!*id || strlen(id) > 255))
        return pn__fail(err, PN_EINVAL, "model id must be 1 to 255 characters");
    if (baseline_count < PN_MIN_BASELINES || baseline_count > PN_MAX_BASELINES)
        return pn__fail(err, PN_ERULE, "a model needs %d to %d baselines; this one has %zu", PN_MIN_BASELINES,
                        PN_MAX_BASELINES, baseline_count);
    if (lookback_days < 0 || lookback_days > PN_MAX_LOOKBACK_DAYS)
        return pn__fail(err, PN_EINVAL, "lookback_days must be from 0 (all history) to %d; got %d", PN_MAX_LOOKBACK_DAYS,
                        lookback_days);
    uint32_t dec = 0;
    if (data_source && catalog) {
        uint32_t k = pn__dict_find(&catalog->sources, data_source, strlen(data_source));
        if (k == PN_DICT_NONE)
            return pn__fail(err, PN_EUNKNOWN, "data_source '%s' is not in the catalog", data_source);
        dec |= catalog->source_labels[k];
    }
    pn_status st;
    int first_kind = -1;
    for (size_t i = 0; i < baseline_count; i++) {
        const char *b = baselines[i];
        if (!b || !*b || strlen(b) > 256)
            return pn__fail(err, PN_EINVAL, "baseline %zu is empty or longer than 256 characters", i + 1);
        for (size_t j = 0; j < i; j++)
            if (strcmp(baselines[j], b) == 0)
                return pn__fail(err, PN_ERULE, "baseline '%s' is listed twice", b);
        int seg;
        uint32_t labels;
        const char *rule;
        if ((st = check_ref(catalog, "baseline", b, &seg, &labels, &rule, err)))
            return st;
        if (first_kind >= 0 && seg != first_kind)
            return pn__fail(err, PN_ERULE, "baselines must be all traits or all segments; '%s' is a %s but '%s' is a %s", b,
                            seg ? "segment" : "trait", baselines[0], first_kind ? "segment" : "trait");
        first_kind = seg;
        dec |= labels;
    }
    int tseg = 0;
    const char *trule = NULL;
    if (target) {
        uint32_t labels;
        if (!*target || strlen(target) > 256)
            return pn__fail(err, PN_EINVAL, "target is empty or longer than 256 characters");
        for (size_t j = 0; j < baseline_count; j++)
            if (strcmp(baselines[j], target) == 0)
                return pn__fail(err, PN_ERULE, "target '%s' is also a baseline; its visitors would never be classified", target);
        if ((st = check_ref(catalog, "target", target, &tseg, &labels, &trule, err)))
            return st;
        dec |= labels;
    }

    pn_model_def *m = pn__calloc(1, sizeof *m);
    if (!m)
        return pn__oom(err);
    m->baselines = pn__calloc(baseline_count, sizeof *m->baselines);
    m->rules = pn__calloc(baseline_count, sizeof *m->rules);
    m->name = dup_str(name);
    m->id = dup_str(id ? id : name);
    m->target = target ? dup_str(target) : NULL;
    m->target_rule = trule ? dup_str(trule) : NULL;
    m->data_source = data_source ? dup_str(data_source) : NULL;
    int oom = !m->baselines || !m->rules || !m->name || !m->id || (target && !m->target) || (trule && !m->target_rule) ||
              (data_source && !m->data_source);
    m->baseline_count = oom ? 0 : baseline_count;
    for (size_t i = 0; !oom && i < baseline_count; i++) {
        int seg;
        uint32_t labels;
        const char *rule;
        check_ref(catalog, "baseline", baselines[i], &seg, &labels, &rule, NULL);
        m->baselines[i] = dup_str(baselines[i]);
        m->rules[i] = rule ? dup_str(rule) : NULL;
        oom = !m->baselines[i] || (rule && !m->rules[i]);
    }
    if (oom) {
        pn_model_def_free(m);
        return pn__oom(err);
    }
    m->segments = first_kind == 1;
    m->target_segment = tseg;
    m->lookback_days = lookback_days;
    m->dec_union = dec;
    *out = m;
    return PN_OK;
}

pn_status pn_model_def_parse(const char *json, size_t len, const pn_catalog *catalog, pn_model_def **out, pn_error *err)
{
    static const char *const keys[] = {"id", "name", "baselines", "target", "data_source", "lookback_days", NULL};
    *out = NULL;
    cJSON *root = pn__json_doc(json, len, "model", err);
    if (!root)
        return PN_EPARSE;
    pn_status st = PN_OK;
    char idbuf[PN_MAX_BASELINES + 2][32];
    const char *ids[PN_MAX_BASELINES];
    const char *target = NULL, *ds = NULL, *mid = NULL;
    size_t n = 0;
    int lookback = PN_DEFAULT_LOOKBACK_DAYS;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
    const cJSON *bl = cJSON_GetObjectItemCaseSensitive(root, "baselines");
    const cJSON *tg = cJSON_GetObjectItemCaseSensitive(root, "target");
    const cJSON *dsj = cJSON_GetObjectItemCaseSensitive(root, "data_source");
    const cJSON *lb = cJSON_GetObjectItemCaseSensitive(root, "lookback_days");
    const cJSON *idj = cJSON_GetObjectItemCaseSensitive(root, "id");
    if (!cJSON_IsObject(root)) {
        st = pn__fail(err, PN_EPARSE, "model: the document must be a JSON object");
        goto done;
    }
    for (const cJSON *it = root->child; it; it = it->next) {
        int ok = 0;
        for (const char *const *k = keys; *k; k++)
            ok |= it->string && strcmp(it->string, *k) == 0;
        if (!ok) {
            st = pn__fail(err, PN_EPARSE, "model: unknown field \"%s\"", it->string ? it->string : "");
            goto done;
        }
    }
    if (!cJSON_IsString(name)) {
        st = pn__fail(err, PN_EPARSE, "model: \"name\" must be a string");
        goto done;
    }
    if (!cJSON_IsArray(bl)) {
        st = pn__fail(err, PN_EPARSE, "model: \"baselines\" must be an array of trait or segment ids");
        goto done;
    }
    n = (size_t)cJSON_GetArraySize(bl);
    if (n < PN_MIN_BASELINES || n > PN_MAX_BASELINES) {
        st = pn__fail(err, PN_ERULE, "a model needs %d to %d baselines; this one has %zu", PN_MIN_BASELINES, PN_MAX_BASELINES, n);
        goto done;
    }
    size_t i = 0;
    for (const cJSON *it = bl->child; it; it = it->next, i++) {
        if (cJSON_IsString(it)) {
            ids[i] = it->valuestring;
        } else if (cJSON_IsNumber(it) && it->valuedouble >= 0 && it->valuedouble < 9.0e15 &&
                   it->valuedouble == (double)(long long)it->valuedouble) {
            snprintf(idbuf[i], sizeof idbuf[i], "%lld", (long long)it->valuedouble);
            ids[i] = idbuf[i];
        } else {
            st = pn__fail(err, PN_EPARSE, "model: baselines[%zu] must be a trait or segment id", i);
            goto done;
        }
    }
    if (tg && !cJSON_IsNull(tg)) {
        if (cJSON_IsString(tg)) {
            target = tg->valuestring;
        } else if (cJSON_IsNumber(tg) && tg->valuedouble >= 0 && tg->valuedouble < 9.0e15 &&
                   tg->valuedouble == (double)(long long)tg->valuedouble) {
            snprintf(idbuf[PN_MAX_BASELINES], 32, "%lld", (long long)tg->valuedouble);
            target = idbuf[PN_MAX_BASELINES];
        } else {
            st = pn__fail(err, PN_EPARSE, "model: \"target\" must be a trait or segment id, or null for everyone");
            goto done;
        }
    }
    if (dsj && !cJSON_IsNull(dsj)) {
        if (cJSON_IsString(dsj)) {
            ds = dsj->valuestring;
        } else if (cJSON_IsNumber(dsj) && dsj->valuedouble >= 0 && dsj->valuedouble < 9.0e15 &&
                   dsj->valuedouble == (double)(long long)dsj->valuedouble) {
            snprintf(idbuf[PN_MAX_BASELINES + 1], 32, "%lld", (long long)dsj->valuedouble);
            ds = idbuf[PN_MAX_BASELINES + 1];
        } else {
            st = pn__fail(err, PN_EPARSE, "model: \"data_source\" must be a data source id");
            goto done;
        }
    }
    if (lb && !cJSON_IsNull(lb)) {
        if (!cJSON_IsNumber(lb) || lb->valuedouble != floor(lb->valuedouble)) {
            st = pn__fail(err, PN_EPARSE, "model: \"lookback_days\" must be a whole number of days (0 = all history)");
            goto done;
        }
        if (!(lb->valuedouble >= 0 && lb->valuedouble <= PN_MAX_LOOKBACK_DAYS)) { /* before the cast to int */
            st = pn__fail(err, PN_EINVAL, "lookback_days must be from 0 (all history) to %d; got %g", PN_MAX_LOOKBACK_DAYS,
                          lb->valuedouble);
            goto done;
        }
        lookback = (int)lb->valuedouble;
    }
    if (idj && !cJSON_IsNull(idj)) {
        if (!cJSON_IsString(idj)) {
            st = pn__fail(err, PN_EPARSE, "model: \"id\" must be a string");
            goto done;
        }
        mid = idj->valuestring;
    }
    st = pn_model_def_new(mid, name->valuestring, ids, n, target, ds, lookback, catalog, out, err);
done:
    cJSON_Delete(root);
    return st;
}

const char *pn_model_def_id(const pn_model_def *m) { return m->id; }
const char *pn_model_def_name(const pn_model_def *m) { return m->name; }
size_t pn_model_def_baseline_count(const pn_model_def *m) { return m->baseline_count; }
const char *pn_model_def_baseline(const pn_model_def *m, size_t i) { return i < m->baseline_count ? m->baselines[i] : NULL; }
int pn_model_def_baselines_are_segments(const pn_model_def *m) { return m->segments; }
const char *pn_model_def_target(const pn_model_def *m) { return m->target; }
int pn_model_def_target_is_segment(const pn_model_def *m) { return m->target_segment; }
const char *pn_model_def_data_source(const pn_model_def *m) { return m->data_source; }
int pn_model_def_lookback_days(const pn_model_def *m) { return m->lookback_days; }
uint32_t pn_model_def_dec_union(const pn_model_def *m) { return m->dec_union; }

const char *pn_model_def_segment_rule(const pn_model_def *m, const char *id)
{
    if (m->target_segment && m->target && strcmp(m->target, id) == 0)
        return m->target_rule;
    for (size_t i = 0; m->segments && i < m->baseline_count; i++)
        if (strcmp(m->baselines[i], id) == 0)
            return m->rules[i];
    return NULL;
}
