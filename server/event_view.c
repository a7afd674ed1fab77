/* Account views for /event (event_view.h): built from the catalog and the current snapshots. */
#include "event_view.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VIEWS 64

/* A trait id of the catalog's form (digits) as a number; 0 for anything else. */
static int64_t id_of(const char *s, size_t len)
{
    if (len == 0 || len > 18)
        return 0;
    int64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int cmp_trait(const void *a, const void *b)
{
    int64_t x = ((const ev_trait *)a)->id, y = ((const ev_trait *)b)->id;
    return x < y ? -1 : x > y;
}

/* The first position in [lo, hi) whose id is not below `id` (hi when none is). */
static size_t first_not_below(const ev_view *v, int64_t id, size_t lo, size_t hi)
{
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v->traits[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

size_t ev_view_trait(const ev_view *v, int64_t id)
{
    size_t at = first_not_below(v, id, 0, v->ntraits);
    return at < v->ntraits && v->traits[at].id == id ? at : EV_NOT_FOUND;
}

size_t ev_view_trait_from(const ev_view *v, int64_t id, size_t *from)
{
    size_t lo = *from, hi = lo, step = 1, n = v->ntraits;
    while (hi < n && v->traits[hi].id < id) { /* everything before hi + 1 is smaller */
        lo = hi + 1;
        hi = lo + step;
        step *= 2;
    }
    if (hi > n)
        hi = n;
    lo = first_not_below(v, id, lo, hi); /* the first id >= id is in [lo, hi] */
    *from = lo;
    return lo < n && v->traits[lo].id == id ? lo : EV_NOT_FOUND;
}

int ev_view_is_cross_source(const ev_view *v, int64_t ds)
{
    for (size_t i = 0; i < v->ncross; i++)
        if (v->cross_sources[i] == ds)
            return 1;
    return 0;
}

const ev_model *ev_view_model(const ev_view *v, int64_t id)
{
    for (size_t i = 0; i < v->nmodels; i++)
        if (v->models[i].id == id)
            return &v->models[i];
    return NULL;
}

/* ---- building ------------------------------------------------------------------------------ */

static void rule_free(ev_rule *r)
{
    pn_segment_rule_free(r->rule);
    free(r->refs);
    r->rule = NULL;
    r->refs = NULL;
}

static int rule_compile(const char *code, ev_rule *out)
{
    if (pn_segment_rule_parse(code, strlen(code), &out->rule, NULL, NULL) != PN_OK)
        return -1;
    size_t n = pn_segment_rule_trait_count(out->rule);
    out->refs = calloc(n ? n : 1, sizeof *out->refs);
    if (!out->refs) {
        rule_free(out);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const char *t = pn_segment_rule_trait(out->rule, i, &len);
        out->refs[i] = id_of(t, len);
    }
    return 0;
}

void ev_merge_of(const cJSON *rule, int *cross, int *device)
{
    const char *c = srv_str(rule, "cross_device", "none"), *d = srv_str(rule, "device", "this_device");
    *cross = strcmp(c, "current_authenticated") == 0 ? EV_CROSS_CURRENT
             : strcmp(c, "last_authenticated") == 0  ? EV_CROSS_LAST
             : strcmp(c, "all_cross_device") == 0    ? EV_CROSS_ALL
                                                     : EV_CROSS_NONE;
    *device = strcmp(d, "none") == 0 ? EV_DEV_NONE : strcmp(d, "device_graph") == 0 ? EV_DEV_GRAPH : EV_DEV_THIS;
}

static void view_free(ev_view *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->ntraits; i++)
        pn_signal_rule_free(v->traits[i].rule);
    for (size_t i = 0; i < v->nsegments; i++)
        rule_free(&v->segments[i].r);
    for (size_t i = 0; i < v->nmodels; i++) {
        ev_model *m = &v->models[i];
        for (size_t p = 0; p < m->npersonas; p++)
            rule_free(&m->base[p].r);
        rule_free(&m->target.r);
        free(m->snap_index);
        free(m->snap_trait_id);
        pn_snapshot_free(m->snap);
    }
    ri_free(v->rules);
    free(v->traits);
    free(v->rule_traits);
    free(v->segments);
    free(v->cross_sources);
    free(v);
}

/* Compiles what scoring needs from the model's snapshot. */
static int model_compile(ev_view *v, ev_model *m)
{
    const pn_snapshot *s = m->snap;
    m->npersonas = pn_snapshot_persona_count(s);
    for (size_t p = 0; p < m->npersonas; p++) {
        const char *id = pn_snapshot_persona_id(s, p), *rule = pn_snapshot_persona_rule(s, p);
        m->persona[p] = id_of(id, strlen(id));
        m->base[p].trait = m->persona[p];
        if (rule && rule_compile(rule, &m->base[p].r))
            return -1;
    }
    const char *rule = NULL, *target = pn_snapshot_target(s, &rule);
    if (target) {
        m->has_target = 1;
        m->target.trait = id_of(target, strlen(target));
        if (rule && rule_compile(rule, &m->target.r))
            return -1;
    }
    size_t T = pn_snapshot_trait_count(s);
    m->snap_index = malloc((v->ntraits ? v->ntraits : 1) * sizeof *m->snap_index);
    m->snap_trait_id = malloc((T ? T : 1) * sizeof *m->snap_trait_id);
    if (!m->snap_index || !m->snap_trait_id)
        return -1;
    for (size_t i = 0; i < v->ntraits; i++) {
        char id[24];
        int n = snprintf(id, sizeof id, "%lld", (long long)v->traits[i].id);
        m->snap_index[i] = pn_snapshot_trait_find(s, id, (size_t)n);
    }
    for (size_t t = 0; t < T; t++) {
        size_t len;
        const char *id = pn_snapshot_trait_id(s, (uint32_t)t, &len);
        m->snap_trait_id[t] = id_of(id, len);
    }
    return 0;
}

static ev_view *view_build(sqlite3 *db, int64_t id, uint64_t generation)
{
    sqlite3_stmt *st = store_prepare(db, "SELECT 1 FROM accounts WHERE id = ?");
    int exists = st && (sqlite3_bind_int64(st, 1, id), sqlite3_step(st) == SQLITE_ROW);
    sqlite3_finalize(st);
    if (!exists)
        return NULL;
    ev_view *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->account = id;
    v->generation = generation;
    v->cross = EV_CROSS_NONE;
    v->device = EV_DEV_THIS;
    int ok = 1;
    cJSON *rules = obj_list(db, id, "merge_rule"), *sources = obj_list(db, id, "data_source"),
          *traits = obj_list(db, id, "trait"), *segs = obj_list(db, id, "segment"), *models = obj_list(db, id, "model");
    ok = rules && sources && traits && segs && models;
    for (const cJSON *o = ok ? rules->child : NULL; o; o = o->next)
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "default")))
            ev_merge_of(o, &v->cross, &v->device);

    v->cross_sources = ok ? calloc((size_t)cJSON_GetArraySize(sources) + 1, sizeof *v->cross_sources) : NULL;
    ok = ok && v->cross_sources;
    for (const cJSON *o = ok ? sources->child : NULL; o; o = o->next)
        if (strcmp(srv_str(o, "id_type", "device"), "cross_device") == 0)
            v->cross_sources[v->ncross++] = srv_num(o, "id");

    size_t nt = ok ? (size_t)cJSON_GetArraySize(traits) : 0;
    v->traits = ok ? calloc(nt + 1, sizeof *v->traits) : NULL;
    v->rule_traits = ok ? calloc(nt + 1, sizeof *v->rule_traits) : NULL;
    ok = ok && v->traits && v->rule_traits;
    for (const cJSON *o = ok ? traits->child : NULL; o; o = o->next) {
        ev_trait *t = &v->traits[v->ntraits++];
        t->id = srv_num(o, "id");
        t->ds = srv_num(o, "data_source_id");
        const char *rule = srv_str(o, "rule", NULL);
        if (rule && strcmp(srv_str(o, "kind", ""), "rule") == 0)
            pn_signal_rule_parse(rule, strlen(rule), &t->rule, NULL, NULL);
    }
    if (ok) {
        qsort(v->traits, v->ntraits, sizeof *v->traits, cmp_trait);
        for (size_t i = 0; i < v->ntraits; i++)
            if (v->traits[i].rule)
                v->rule_traits[v->nrule_traits++] = i;
        const pn_signal_rule **list = malloc((v->nrule_traits + 1) * sizeof *list);
        for (size_t i = 0; list && i < v->nrule_traits; i++)
            list[i] = v->traits[v->rule_traits[i]].rule;
        v->rules = list ? ri_new(list, v->nrule_traits) : NULL;
        ok = v->rules != NULL;
        free(list);
    }

    v->segments = ok ? calloc((size_t)cJSON_GetArraySize(segs) + 1, sizeof *v->segments) : NULL;
    ok = ok && v->segments;
    for (const cJSON *o = ok ? segs->child : NULL; o; o = o->next) {
        const char *rule = srv_str(o, "rule", NULL);
        if (srv_num(o, "model_id") || !rule)
            continue; /* predictive segments: membership is the classification */
        ev_segment *s = &v->segments[v->nsegments];
        if (rule_compile(rule, &s->r) == 0) {
            s->id = srv_num(o, "id");
            v->nsegments++;
        }
    }

    st = ok ? store_prepare(db, "SELECT m.version, s.bytes FROM model_state m JOIN snapshots s ON s.model_id = "
                                "m.model_id AND s.version = m.version WHERE m.model_id = ?")
            : NULL;
    ok = ok && st;
    uint64_t epoch = 1469598103934665603ull;
    for (const cJSON *o = ok ? models->child : NULL; ok && o && v->nmodels < SRV_MAX_MODELS; o = o->next) {
        ev_model *m = &v->models[v->nmodels++];
        m->id = srv_num(o, "id");
        m->cross = v->cross;
        m->device = v->device;
        for (const cJSON *r = rules->child; r; r = r->next)
            if (srv_num(r, "id") == srv_num(o, "merge_rule_id"))
                ev_merge_of(r, &m->cross, &m->device);
        const cJSON *pred = cJSON_GetObjectItemCaseSensitive(o, "predictive");
        for (const cJSON *e = pred ? pred->child : NULL; e && m->npred < PN_MAX_BASELINES; e = e->next)
            m->pred[m->npred++] = (ev_pred){srv_num(e, "baseline_id"), srv_num(e, "trait_id"), srv_num(e, "segment_id")};
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, m->id);
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            pn_error err;
            if (pn_snapshot_load(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &m->snap, &err) ==
                PN_OK) {
                m->version = sqlite3_column_int64(st, 0);
                m->lookback = pn_snapshot_lookback_days(m->snap);
                ok = model_compile(v, m) == 0;
            }
        } else if (rc != SQLITE_DONE) {
            ok = 0;
        }
        /* FNV-1a over (model, version): the epoch of the classifications the view agrees with */
        int64_t mix[2] = {m->id, m->version};
        const unsigned char *b = (const unsigned char *)mix;
        for (size_t i = 0; i < sizeof mix; i++)
            epoch = (epoch ^ b[i]) * 1099511628211ull;
    }
    v->cls_epoch = epoch;
    sqlite3_finalize(st);
    cJSON_Delete(rules), cJSON_Delete(sources), cJSON_Delete(traits), cJSON_Delete(segs), cJSON_Delete(models);
    if (!ok) {
        view_free(v);
        return NULL;
    }
    return v;
}

/* ---- the set of views ----------------------------------------------------------------------- */

typedef struct holder {
    ev_view v; /* first: a view pointer is its holder's */
    int refs;
} holder;

typedef struct slot {
    int64_t account;
    holder *h;
    int building;
} slot;

struct ev_views {
    pthread_mutex_t refresh; /* one ev_views_refresh at a time */
    pthread_mutex_t mu;
    pthread_cond_t built;
    slot slots[MAX_VIEWS];
    size_t nslots;
};

ev_views *ev_views_new(void)
{
    ev_views *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    pthread_mutex_init(&s->refresh, NULL);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->built, NULL);
    return s;
}

static void unref(holder *h) /* under the lock */
{
    if (h && --h->refs == 0)
        view_free(&h->v);
}

void ev_views_free(ev_views *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nslots; i++)
        unref(s->slots[i].h);
    pthread_cond_destroy(&s->built);
    pthread_mutex_destroy(&s->mu);
    pthread_mutex_destroy(&s->refresh);
    free(s);
}

static holder *build(sqlite3 *(*db)(void *ctx), void *ctx, int64_t account, uint64_t generation)
{
    sqlite3 *conn = db(ctx);
    ev_view *v = conn ? view_build(conn, account, generation) : NULL;
    if (!v)
        return NULL;
    holder *h = realloc(v, sizeof *h); /* the view's own allocation grows into its holder */
    if (!h) {
        view_free(v);
        return NULL;
    }
    h->refs = 1;
    return h;
}

const ev_view *ev_views_get(ev_views *s, sqlite3 *(*db)(void *ctx), void *ctx, int64_t account,
                            uint64_t generation)
{
    pthread_mutex_lock(&s->mu);
    slot *sl = NULL;
    for (size_t i = 0; i < s->nslots; i++)
        if (s->slots[i].account == account)
            sl = &s->slots[i];
    for (;;) {
        if (sl && sl->h && (sl->h->v.generation >= generation || sl->building)) {
            /* current (or newer: refreshed after this call read the generation), or being
             * rebuilt by another call: this one goes on with what there is. The holder is read
             * under the lock: once it is released a refresh may put another in the slot, which
             * this call holds no reference to */
            holder *h = sl->h;
            h->refs++;
            pthread_mutex_unlock(&s->mu);
            return &h->v;
        }
        if (!(sl && sl->building))
            break;
        pthread_cond_wait(&s->built, &s->mu); /* the first view of the account is being built */
    }
    if (!sl && s->nslots < MAX_VIEWS) {
        sl = &s->slots[s->nslots++];
        *sl = (slot){account, NULL, 0};
    }
    if (!sl) { /* more accounts than slots: a view for this call alone */
        pthread_mutex_unlock(&s->mu);
        holder *h = build(db, ctx, account, generation);
        return h ? &h->v : NULL;
    }
    sl->building = 1;
    pthread_mutex_unlock(&s->mu);
    holder *h = build(db, ctx, account, generation);
    pthread_mutex_lock(&s->mu);
    sl->building = 0;
    if (h && sl->h && sl->h->v.generation > generation) {
        /* a refresh installed a newer view meanwhile: it stays, this one serves this call */
    } else if (h) {
        unref(sl->h);
        sl->h = h;
        h->refs++;
    } else if (sl->h) { /* the store could not be read: the previous view is still the best there is */
        h = sl->h;
        h->refs++;
    }
    pthread_cond_broadcast(&s->built);
    pthread_mutex_unlock(&s->mu);
    return h ? &h->v : NULL;
}

static sqlite3 *given_db(void *ctx)
{
    return ctx;
}

void ev_views_refresh(ev_views *s, sqlite3 *db, int64_t account, _Atomic uint64_t *generation,
                      void (*fresh)(void *ctx, const ev_view *prev, const ev_view *v), void *ctx)
{
    pthread_mutex_lock(&s->refresh);
    uint64_t now = atomic_load(generation);
    holder *prev = NULL;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->nslots && !prev; i++) /* (an account has one slot) */
        if (s->slots[i].account == account && s->slots[i].h)
            (prev = s->slots[i].h)->refs++;
    pthread_mutex_unlock(&s->mu);
    /* built at the generation to come: it reads the store after the commit that moves it on */
    holder *h = prev ? build(given_db, db, account, now + 1) : NULL;
    if (h && fresh)
        fresh(ctx, &prev->v, &h->v);
    pthread_mutex_lock(&s->mu);
    unref(prev);
    /* the generation moves only here (srv_store_changed), one refresh at a time: nothing moved
     * it since `now` was read, and this view is the one for now + 1 */
    for (size_t i = 0; h && i < s->nslots; i++)
        if (s->slots[i].account == account && s->slots[i].h && s->slots[i].h->v.generation < now + 1) {
            unref(s->slots[i].h);
            s->slots[i].h = h;
            h = NULL;
        }
    atomic_store(generation, now + 1);
    unref(h); /* not installed: the slot went meanwhile */
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->refresh);
}

void ev_views_release(ev_views *s, const ev_view *v)
{
    if (!v)
        return;
    pthread_mutex_lock(&s->mu);
    unref((holder *)(void *)v);
    pthread_mutex_unlock(&s->mu);
}
