/* /event (GET and POST): the call a page or an edge worker makes for each visitor action.
 *
 * Parameters follow Audience Manager's DCS conventions:
 *   d_account   the account id (public, not a secret: it only names where events go; an /event
 *               call can do nothing but add realizations to that account)
 *   d_uuid      the device id; without it the first-party cookie pn_uuid; without both a new id,
 *               set in that cookie
 *   d_cid       an authenticated id with its cross-device data source: "<data source id>%01<id>"
 *               (repeatable)
 *   d_persona   a persona computed at the edge: "<model id>:<baseline id>" or "<model id>:-"
 *               (repeatable); recorded as reported, re-scored by the server, never exported
 *   c_*         visitor attributes: evaluated by trait rules and stored (last value per key)
 *   p_*         private: evaluated by trait rules, never stored
 *   other keys  evaluated by trait rules, not stored; unknown d_ keys are ignored
 * GET takes them from the query string; POST also from a form-encoded or JSON-object body.
 *
 * Merge rules (DESIGN §1) all run here: device part none / this_device / device_graph (this
 * device and every device seen with one of its authenticated ids), cross-device part none /
 * current_authenticated (the ids of this call) / last_authenticated (this call's ids, else the
 * one this device was last seen with) / all_cross_device (every id ever seen with this device).
 * A cross-device profile is the realizations stored under the authenticated id (onboarded with
 * the id as uuid) of traits of that id's data source.
 *
 * A call is computed on the polling loop that received it (http_loop.h), from the account's view
 * (event_view.h) and the visitor cache (visitor_cache.h), with no disk access for a visitor seen
 * before; its writes go to the event log (event_log.c), which answers it after the commit. */
#include "event_internal.h"
#include "json_out.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
#define COOKIE "pn_uuid"
#define DEFAULT_CACHE_MB 256
/* after a training, the classifications of the 64 most recently used visitors of each of the
 * cache's 64 shards are read again at once (ev_store_changed), the others when they call */
#define REFRESH_PER_SHARD 64

/* ---- merged profiles ------------------------------------------------------------------------ */

/* One distinct trait of a profile: its rows are rows[first .. first + count), by time. */
typedef struct dtrait {
    int64_t trait, last;
    size_t first, count;
    size_t pos; /* in the view's traits, or EV_NOT_FOUND */
} dtrait;

typedef struct prof {
    vc_row *rows; /* sorted by trait, then time */
    size_t n, cap;
    dtrait *d;    /* sorted by trait */
    size_t nd, capd;
} prof;

static int prof_append(prof *p, const vc_row *rows, size_t n)
{
    if (vc_grow((void **)&p->rows, &p->cap, p->n + n, sizeof *p->rows))
        return -1;
    if (n)
        memcpy(p->rows + p->n, rows, n * sizeof *rows);
    p->n += n;
    return 0;
}

/* Rows appended out of order are put in order here; then the distinct traits are listed. */
static int prof_finish(prof *p, const ev_view *v, int sorted)
{
    if (!sorted && p->n > 1)
        qsort(p->rows, p->n, sizeof *p->rows, vc_row_cmp);
    p->nd = 0;
    size_t from = 0; /* the traits come in ascending order: each search starts where the last ended */
    for (size_t i = 0; i < p->n; i++) {
        if (p->nd && p->d[p->nd - 1].trait == p->rows[i].trait) {
            dtrait *t = &p->d[p->nd - 1];
            t->count++;
            t->last = p->rows[i].ts;
            continue;
        }
        if (vc_grow((void **)&p->d, &p->capd, p->nd + 1, sizeof *p->d))
            return -1;
        p->d[p->nd++] = (dtrait){p->rows[i].trait, p->rows[i].ts, i, 1, ev_view_trait_from(v, p->rows[i].trait, &from)};
    }
    return 0;
}

/* Realizations of `trait` with since <= ts <= until. */
static uint32_t prof_count(const prof *p, int64_t trait, int64_t since, int64_t until)
{
    size_t lo = 0, hi = p->nd;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->d[mid].trait < trait)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == p->nd || p->d[lo].trait != trait)
        return 0;
    const dtrait *t = &p->d[lo];
    uint32_t n = 0;
    for (size_t i = t->first; i < t->first + t->count; i++)
        n += p->rows[i].ts >= since && p->rows[i].ts <= until;
    return n;
}

typedef struct count_ctx {
    const prof *p;
    const int64_t *refs;
    int64_t since, until;
} count_ctx;

static uint32_t count_ref(void *vctx, size_t ref, int64_t rule_since)
{
    const count_ctx *c = vctx;
    return prof_count(c->p, c->refs[ref], rule_since > c->since ? rule_since : c->since, c->until);
}

static int rule_holds(const ev_rule *r, const prof *p, int64_t since, int64_t until, int64_t now)
{
    count_ctx c = {p, r->refs, since, until};
    return pn_segment_rule_eval_refs(r->rule, count_ref, &c, now);
}

/* A baseline or target, as pn_audience decides it (personae/audience.h): a trait realized in
 * [since, until], or a segment whose counts are taken within that window. */
static int qualifies(const ev_qual *q, const prof *p, int64_t since, int64_t until)
{
    if (!q->r.rule)
        return q->trait && prof_count(p, q->trait, since, until) > 0;
    return rule_holds(&q->r, p, since, until, until);
}

/* ---- one evaluation --------------------------------------------------------------------------- */

typedef struct lazy_reader {
    ev_readers *rs;
    ev_reader *r;
} lazy_reader;

static ev_reader *reader_of(lazy_reader *l)
{
    if (!l->r)
        l->r = ev_reader_get(l->rs);
    return l->r;
}

static int load(void *ctx, int64_t account, const char *uuid, unsigned what, vc_visitor *out)
{
    ev_reader *r = reader_of(ctx);
    return r ? ev_reader_load(r, account, uuid, what, out) : -1;
}

static sqlite3 *view_db(void *ctx)
{
    ev_reader *r = reader_of(ctx);
    return r ? ev_reader_db(r) : NULL;
}

/* The buffers of an evaluation, kept between calls in a list of the runtime (ev_scratch): they
 * reach their usual size once, instead of through a dozen reallocations and frees every call
 * (malloc was a tenth of the HTTP threads' time). There are as many as calls ever evaluated at
 * once: one set an HTTP thread. */
typedef struct eval_buffers {
    vc_visitor own;   /* this device, as cached */
    vc_visitor other; /* scratch: another device or an authenticated id */
    prof prof[4][3];  /* per merge rule [cross][device] */
    jw models;        /* the models' part of the answer, written before the segments it adds */
} eval_buffers;

struct ev_scratch {
    ev_scratch *next;
    eval_buffers b;
};

typedef struct eval {
    ev_runtime *rt;
    const ev_view *v;
    ev_call *c;
    lazy_reader lr;
    eval_buffers b;
    unsigned char built[4][3];
    char (*graph)[EV_MAX_UUID + 1]; /* other devices of the device graph */
    size_t ngraph;
    int graph_loaded;
    ev_scratch *spare; /* where b goes back to the runtime */
} eval;

/* An unusual visitor's buffer grown past this is freed rather than kept. */
#define SCRATCH_KEEP_BYTES (256u << 10)

static void eval_begin(eval *e, ev_runtime *rt)
{
    memset(e, 0, sizeof *e);
    e->rt = rt;
    pthread_mutex_lock(&rt->scratch_mu);
    ev_scratch *s = rt->scratch;
    if (s)
        rt->scratch = s->next;
    pthread_mutex_unlock(&rt->scratch_mu);
    if (s)
        e->b = s->b;
    e->spare = s;
}

static void keep_or_free(void **arr, size_t *cap, size_t size)
{
    if (*cap * size > SCRATCH_KEEP_BYTES) {
        free(*arr);
        *arr = NULL;
        *cap = 0;
    }
}

static void buffers_free(eval_buffers *b)
{
    vc_visitor_free(&b->own);
    vc_visitor_free(&b->other);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            free(b->prof[i][j].rows), free(b->prof[i][j].d);
    jw_free(&b->models);
}

static void eval_free(eval *e)
{
    free(e->graph);
    ev_reader_put(e->rt->readers, e->lr.r);
    ev_scratch *s = e->spare ? e->spare : malloc(sizeof *s);
    if (!s) { /* out of memory: nothing is kept */
        buffers_free(&e->b);
        return;
    }
    eval_buffers *b = &s->b;
    *b = e->b;
    if (b->models.cap > SCRATCH_KEEP_BYTES)
        jw_free(&b->models);
    vc_visitor *vs[2] = {&b->own, &b->other};
    for (int i = 0; i < 2; i++) {
        keep_or_free((void **)&vs[i]->rows, &vs[i]->caprows, sizeof *vs[i]->rows);
        keep_or_free((void **)&vs[i]->links, &vs[i]->caplinks, sizeof *vs[i]->links);
        keep_or_free((void **)&vs[i]->cls, &vs[i]->capcls, sizeof *vs[i]->cls);
        vs[i]->nrows = vs[i]->nlinks = vs[i]->ncls = 0;
    }
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++) {
            prof *p = &b->prof[i][j];
            keep_or_free((void **)&p->rows, &p->cap, sizeof *p->rows);
            keep_or_free((void **)&p->d, &p->capd, sizeof *p->d);
            p->n = p->nd = 0;
        }
    pthread_mutex_lock(&e->rt->scratch_mu);
    s->next = e->rt->scratch;
    e->rt->scratch = s;
    pthread_mutex_unlock(&e->rt->scratch_mu);
}

static int load_graph(eval *e)
{
    if (e->graph_loaded)
        return 0;
    e->graph_loaded = 1;
    e->graph = calloc(EV_MAX_GRAPH, sizeof *e->graph);
    ev_reader *r = reader_of(&e->lr);
    if (!e->graph || !r)
        return -1;
    for (size_t pass = 0; pass < 2; pass++) {
        size_t n = pass ? e->c->ncids : e->b.own.nlinks;
        for (size_t i = 0; i < n; i++) {
            const vc_link *k = pass ? &e->c->cids[i] : &e->b.own.links[i];
            if (ev_reader_graph(r, e->v->account, k->ds, k->cid, e->c->uuid, e->graph, &e->ngraph, EV_MAX_GRAPH))
                return -1;
        }
    }
    return 0;
}

/* Appends the realizations stored under `uuid`; with ds > 0 only those of traits of that data
 * source (a cross-device profile). */
static int add_visitor(eval *e, prof *p, const char *uuid, int64_t ds)
{
    if (vc_get(e->rt->cache, e->v->account, uuid, e->v->cls_epoch, load, &e->lr, &e->b.other))
        return -1;
    if (!ds)
        return prof_append(p, e->b.other.rows, e->b.other.nrows);
    size_t from = 0; /* rows are sorted by trait */
    for (size_t i = 0; i < e->b.other.nrows; i++) {
        size_t t = ev_view_trait_from(e->v, e->b.other.rows[i].trait, &from);
        if (t != EV_NOT_FOUND && e->v->traits[t].ds == ds && prof_append(p, &e->b.other.rows[i], 1))
            return -1;
    }
    return 0;
}

/* The call's visitor under one merge rule. */
static const prof *profile(eval *e, int cross, int device)
{
    prof *p = &e->b.prof[cross][device];
    if (e->built[cross][device])
        return p;
    const ev_call *c = e->c;
    int ok = 1, sorted = 1;
    if (device != EV_DEV_NONE) {
        ok = prof_append(p, e->b.own.rows, e->b.own.nrows) == 0;
        for (size_t i = 0; ok && i < c->nrealized; i++) /* the cached rows are in order: keep them so */
            ok = vc_rows_insert(&p->rows, &p->n, &p->cap, c->realized[i]) == 0;
        if (ok && device == EV_DEV_GRAPH && (ok = load_graph(e) == 0))
            for (size_t i = 0; ok && i < e->ngraph; i++)
                ok = add_visitor(e, p, e->graph[i], 0) == 0, sorted = 0;
    }
    if (cross != EV_CROSS_NONE && ok) {
        const vc_link *use[EV_MAX_CIDS + 64];
        size_t nuse = 0;
        for (size_t i = 0; i < c->ncids; i++)
            use[nuse++] = &c->cids[i];
        if (cross == EV_CROSS_LAST && nuse == 0 && e->b.own.nlinks) {
            use[nuse++] = &e->b.own.links[0];
        } else if (cross == EV_CROSS_ALL) {
            for (size_t i = 0; i < e->b.own.nlinks && nuse < sizeof use / sizeof *use; i++) {
                int dup = 0;
                for (size_t j = 0; j < nuse; j++)
                    dup |= use[j]->ds == e->b.own.links[i].ds && strcmp(use[j]->cid, e->b.own.links[i].cid) == 0;
                if (!dup)
                    use[nuse++] = &e->b.own.links[i];
            }
        }
        for (size_t i = 0; ok && i < nuse; i++)
            ok = add_visitor(e, p, use[i]->cid, use[i]->ds) == 0, sorted = 0;
    }
    if (!ok || prof_finish(p, e->v, sorted))
        return NULL;
    e->built[cross][device] = 1;
    return p;
}

/* Top contributions towards persona p among the snapshot traits in idx (for a kept persona). */
static size_t drivers_for(const pn_snapshot *s, const uint32_t *idx, size_t n, size_t p, pn_driver *top)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (idx[i] == PN_NO_TRAIT)
            continue;
        double w = pn_snapshot_weight(s, idx[i], p);
        if (w <= 0)
            continue;
        size_t at = k < PN_MAX_DRIVERS ? k++ : PN_MAX_DRIVERS - 1;
        if (at == PN_MAX_DRIVERS - 1 && k == PN_MAX_DRIVERS && top[at].contribution >= w)
            continue;
        top[at] = (pn_driver){idx[i], w};
        while (at > 0 && top[at - 1].contribution < top[at].contribution) {
            pn_driver t = top[at - 1];
            top[at - 1] = top[at];
            top[at] = t;
            at--;
        }
    }
    return k;
}

/* Model m's part of the answer into w; the predictive segment joined, if any, into *segment. */
static int eval_model(eval *e, const ev_model *m, const int64_t (*reports)[2], size_t nreports, jw *w,
                      int64_t *segment)
{
    ev_call *c = e->c;
    const vc_cls *prev = NULL;
    for (size_t i = 0; i < e->b.own.ncls; i++)
        if (e->b.own.cls[i].model == m->id)
            prev = &e->b.own.cls[i];
    int64_t reported = -1, server_persona = 0;
    for (size_t i = 0; i < nreports; i++)
        if (reports[i][0] == m->id)
            reported = reports[i][1];
    jw_object_begin(w);
    JW_KEY(w, "model_id"), jw_int(w, m->id);
    if (!m->snap) {
        JW_KEY(w, "status"), jw_string(w, "not_trained");
        JW_KEY(w, "persona"), jw_null(w);
        goto edge;
    }
    JW_KEY(w, "version"), jw_int(w, m->version);
    const prof *p = profile(e, m->cross, m->device);
    if (!p)
        return -1;
    int64_t since = m->lookback ? c->now - (int64_t)m->lookback * DAY : INT64_MIN;
    int has = p->n > 0, in_base = 0;
    for (size_t i = 0; has && !in_base && i < m->npersonas; i++)
        in_base = qualifies(&m->base[i], p, since, c->now);
    int in_target = has ? !m->has_target || qualifies(&m->target, p, since, c->now) : !m->has_target;
    if (in_base) {
        JW_KEY(w, "status"), jw_string(w, "in_baseline");
        JW_KEY(w, "persona"), jw_null(w);
        if (prev && c->ncls < SRV_MAX_MODELS)
            c->cls[c->ncls++] = (vc_cls){m->id, 0, m->version};
        goto edge;
    }
    if (!in_target) {
        JW_KEY(w, "status"), jw_string(w, "not_in_target");
        JW_KEY(w, "persona"), jw_null(w);
        goto edge;
    }
    /* the visitor's traits within the model's lookback, as snapshot indices */
    uint32_t stack[1024], *idx = p->nd <= 1024 ? stack : malloc(p->nd * sizeof *idx);
    if (!idx)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < p->nd; i++) {
        const dtrait *t = &p->d[i];
        if (t->last < since)
            continue;
        if (t->pos != EV_NOT_FOUND) {
            idx[k++] = m->snap_index[t->pos];
        } else { /* a trait no longer in the catalog may still be in the snapshot */
            char id[24];
            int n = snprintf(id, sizeof id, "%lld", (long long)t->trait);
            idx[k++] = pn_snapshot_trait_find(m->snap, id, (size_t)n);
        }
    }
    pn_classification cl;
    pn_error err;
    /* the profile's traits are distinct, and so are their snapshot indices */
    if (pn_snapshot_classify_distinct(m->snap, idx, k, &cl, &err) != PN_OK) {
        if (idx != stack)
            free(idx);
        return -1;
    }
    JW_KEY(w, "scores");
    jw_object_begin(w);
    for (size_t i = 0; i < cl.persona_count; i++)
        jw_key(w, pn_snapshot_persona_id(m->snap, i)), jw_fixed6(w, cl.scores[i]);
    jw_object_end(w);
    JW_KEY(w, "used_traits"), jw_int(w, cl.used_traits);
    /* a visitor classified under this version keeps their persona until the next training */
    int32_t persona = cl.persona;
    int kept = 0;
    if (prev && prev->version == m->version)
        for (size_t i = 0; i < m->npersonas; i++)
            if (m->persona[i] == prev->baseline && (int32_t)i != cl.persona) {
                persona = (int32_t)i;
                kept = 1;
            }
    if (persona < 0) {
        if (idx != stack)
            free(idx);
        JW_KEY(w, "status"), jw_string(w, cl.used_traits ? "unclassified" : "no_usable_traits");
        JW_KEY(w, "persona"), jw_null(w);
        if (prev && c->ncls < SRV_MAX_MODELS)
            c->cls[c->ncls++] = (vc_cls){m->id, 0, m->version};
        goto edge;
    }
    server_persona = m->persona[persona];
    JW_KEY(w, "status"), jw_string(w, "classified");
    JW_KEY(w, "persona"), jw_int(w, server_persona);
    JW_KEY(w, "score"), jw_fixed6(w, cl.scores[persona]);
    JW_KEY(w, "confidence"), jw_fixed6(w, cl.probabilities[persona]);
    JW_KEY(w, "kept"), jw_bool(w, kept);
    pn_driver kept_drivers[PN_MAX_DRIVERS];
    size_t nd = kept ? drivers_for(m->snap, idx, k, (size_t)persona, kept_drivers) : cl.driver_count;
    const pn_driver *d = kept ? kept_drivers : cl.drivers;
    if (idx != stack)
        free(idx);
    JW_KEY(w, "drivers");
    jw_array_begin(w);
    for (size_t i = 0; i < nd; i++) {
        jw_object_begin(w);
        JW_KEY(w, "trait_id"), jw_int(w, m->snap_trait_id[d[i].trait]);
        JW_KEY(w, "contribution"), jw_fixed6(w, d[i].contribution);
        jw_object_end(w);
    }
    jw_array_end(w);
    for (size_t i = 0; i < m->npred; i++)
        if (m->pred[i].baseline == server_persona) {
            JW_KEY(w, "predictive_trait_id"), jw_int(w, m->pred[i].trait);
            JW_KEY(w, "predictive_segment_id"), jw_int(w, m->pred[i].segment);
            *segment = m->pred[i].segment;
        }
    if ((!prev || prev->version != m->version || prev->baseline != server_persona) && c->ncls < SRV_MAX_MODELS)
        c->cls[c->ncls++] = (vc_cls){m->id, server_persona, m->version};
edge:
    if (reported >= 0 && c->nedge < SRV_MAX_MODELS) {
        c->edge[c->nedge++] = (ev_edge){m->id, reported, server_persona, m->version};
        JW_KEY(w, "edge_report");
        jw_object_begin(w);
        JW_KEY(w, "reported");
        if (reported)
            jw_int(w, reported);
        else
            jw_null(w);
        JW_KEY(w, "agrees"), jw_bool(w, reported == server_persona);
        jw_object_end(w);
    }
    jw_object_end(w);
    return 0;
}

/* Everything the call's visitor is now: the answer into w, what to store into the call. */
static int evaluate(eval *e, const int64_t (*reports)[2], size_t nreports, jw *w)
{
    const ev_view *v = e->v;
    ev_call *c = e->c;
    if (vc_get(e->rt->cache, v->account, c->uuid, v->cls_epoch, load, &e->lr, &e->b.own))
        return -1;
    JW_KEY(w, "realized");
    jw_array_begin(w);
    for (size_t i = 0; i < c->nrealized; i++)
        jw_int(w, c->realized[i].trait);
    jw_array_end(w);

    /* The merged profile itself is not in the answer, only what it qualifies for: /event takes
     * no key, and a device id (or an authenticated id in d_cid) is all a caller needs, so its
     * traits (onboarded ones, an authenticated profile's) would be anyone's to read. */
    const prof *dp = profile(e, v->cross, v->device);
    if (!dp)
        return -1;

    jw *models = &e->b.models; /* a buffer kept between calls (ev_scratch) */
    jw_reset(models);
    int64_t predictive[SRV_MAX_MODELS];
    size_t npredictive = 0;
    jw_array_begin(models);
    for (size_t i = 0; i < v->nmodels; i++) {
        int64_t seg = 0;
        if (eval_model(e, &v->models[i], reports, nreports, models, &seg))
            return -1;
        if (seg)
            predictive[npredictive++] = seg;
    }
    jw_array_end(models);

    JW_KEY(w, "segments");
    jw_array_begin(w);
    for (size_t i = 0; i < v->nsegments; i++)
        if (rule_holds(&v->segments[i].r, dp, INT64_MIN, INT64_MAX, c->now))
            jw_int(w, v->segments[i].id);
    for (size_t i = 0; i < npredictive; i++)
        jw_int(w, predictive[i]);
    jw_array_end(w);
    if (!jw_complete(models))
        return -1;
    JW_KEY(w, "models");
    jw_raw_value(w, models->buf, models->len);
    return 0;
}

/* ---- the call ------------------------------------------------------------------------------ */

ev_call *ev_call_fail(ev_call *c, int status, const char *msg)
{
    jw w = {0};
    jw_object_begin(&w);
    JW_KEY(&w, "error"), jw_string(&w, msg);
    jw_object_end(&w);
    free(c->body);
    c->body = jw_take(&w, &c->body_len);
    c->status = status;
    return c;
}

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > EV_MAX_UUID)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':' || c == '@'))
            return 0;
    }
    return 1;
}

static void new_uuid(char out[EV_MAX_UUID + 1])
{
    uint8_t raw[16];
    if (srv_random(raw, sizeof raw))
        abort(); /* no entropy: a guessable device id would merge strangers' profiles */
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* Reads the d_ parameters and the signals; 0, or the call failed with a 400. */
static int read_params(ev_call *c, const ev_params *p, const char **account, const char **uuid, pn_signal *sig,
                       size_t *nsig, int64_t (*reports)[2], size_t *nreports)
{
    c->attrs = calloc(p->n + 1, sizeof *c->attrs);
    if (!c->attrs)
        return ev_call_fail(c, 500, "out of memory"), -1;
    for (size_t i = 0; i < p->n; i++) {
        const ev_param *e = &p->items[i];
        if (strncmp(e->key, "d_", 2) == 0) {
            if (strcmp(e->key, "d_account") == 0)
                *account = e->value;
            else if (strcmp(e->key, "d_uuid") == 0)
                *uuid = e->value;
            else if (strcmp(e->key, "d_cid") == 0) {
                const char *sep = strchr(e->value, '\x01');
                char *end = NULL;
                long long ds = sep ? strtoll(e->value, &end, 10) : 0;
                if (!sep || end != sep || ds <= 0 || !valid_id(sep + 1) || c->ncids == EV_MAX_CIDS)
                    return ev_call_fail(c, 400, "d_cid must be '<data source id>%01<authenticated id>' (at most 8 per call)"), -1;
                c->cids[c->ncids].ds = ds;
                c->cids[c->ncids].last_ts = c->now;
                snprintf(c->cids[c->ncids++].cid, EV_MAX_UUID + 1, "%s", sep + 1);
            } else if (strcmp(e->key, "d_persona") == 0) {
                const char *colon = strchr(e->value, ':');
                char *end = NULL;
                long long m = colon ? strtoll(e->value, &end, 10) : 0;
                long long b = colon && strcmp(colon + 1, "-") == 0 ? 0 : colon ? strtoll(colon + 1, &end, 10) : -1;
                if (!colon || m <= 0 || b < 0 || (b && *end) || *nreports == SRV_MAX_MODELS)
                    return ev_call_fail(c, 400, "d_persona must be '<model id>:<baseline id>' or '<model id>:-'"), -1;
                reports[*nreports][0] = m;
                reports[(*nreports)++][1] = b;
            }
            continue;
        }
        sig[(*nsig)++] = (pn_signal){e->key, e->klen, e->value, e->vlen};
        if (strncmp(e->key, "c_", 2) == 0) { /* p_ and other keys are never stored */
            ev_attr *a = &c->attrs[c->nattrs++];
            a->key = strdup(e->key);
            a->value = strdup(e->value);
            if (!a->key || !a->value)
                return ev_call_fail(c, 500, "out of memory"), -1;
        }
    }
    return 0;
}

ev_call *ev_begin(ev_runtime *rt, void *conn, const http_request_info *req, int *suspended)
{
    const char *method = req->method, *body = req->body;
    size_t len = req->body_len;
    *suspended = 0;
    ev_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->conn = conn;
    c->now = srv_now();
    if (strcmp(method, "GET") && strcmp(method, "POST"))
        return ev_call_fail(c, 405, "method not allowed on /event (allowed: GET, POST)");
    /* on the stack, like the signals below (8 KiB each): a block that size from malloc and back
     * each call is malloc's slow path; items are filled as they come, so nothing is cleared */
    ev_params params, *p = &params;
    p->n = 0, p->too_many = 0, p->text = p->numbers = NULL, p->json = NULL;
    const char *why = NULL;
    ev_params_query(p, req);
    if (strcmp(method, "POST") == 0 && ev_params_body(p, body, len, &why)) {
        ev_params_free(p);
        return ev_call_fail(c, 400, why);
    }
    if (p->too_many) {
        ev_params_free(p);
        return ev_call_fail(c, 400, "too many parameters: an /event call takes at most 256");
    }
    const char *account = NULL, *uuid = NULL;
    pn_signal sig[EV_MAX_PARAMS];
    size_t nsig = 0, nreports = 0;
    int64_t reports[SRV_MAX_MODELS][2];
    if (read_params(c, p, &account, &uuid, sig, &nsig, reports, &nreports)) {
        ev_params_free(p);
        return c;
    }
    char *end = NULL;
    long long acc = account ? strtoll(account, &end, 10) : 0;
    char cookie_buf[EV_MAX_UUID + 2];
    const char *cookie = http_cookie(req->cookie, COOKIE, cookie_buf, sizeof cookie_buf);
    if (!account || *end || acc <= 0)
        why = "d_account is required: the id of the account the event belongs to";
    else if (uuid && !valid_id(uuid))
        why = "d_uuid must have 1 to 128 characters among letters, digits and - _ . : @";
    if (why) {
        ev_params_free(p);
        return ev_call_fail(c, 400, why);
    }
    c->account = acc;
    if (uuid)
        snprintf(c->uuid, sizeof c->uuid, "%s", uuid);
    else if (cookie && valid_id(cookie))
        snprintf(c->uuid, sizeof c->uuid, "%s", cookie);
    else
        new_uuid(c->uuid);
    if (!cookie || !valid_id(cookie)) {
        c->set_cookie = 1;
        snprintf(c->cookie, sizeof c->cookie, "%s", c->uuid);
    }

    /* onboarding through the API since the last call: visitors are read from the store again */
    uint64_t onboarded = atomic_load(&rt->cfg->onboarded), seen = atomic_load(&rt->onboarded_seen);
    if (onboarded != seen && atomic_compare_exchange_strong(&rt->onboarded_seen, &seen, onboarded))
        vc_flush(rt->cache);

    eval e;
    eval_begin(&e, rt);
    e.c = c;
    e.lr.rs = rt->readers;
    e.v = ev_views_get(rt->views, view_db, &e.lr, acc, atomic_load(&rt->cfg->generation));
    int rc = 0;
    char msg[300];
    jw w = {0};
    if (!e.v) {
        rc = e.lr.r ? 404 : 503;
        snprintf(msg, sizeof msg, rc == 404 ? "no account with id %lld" : "the store cannot be read now", acc);
    }
    for (size_t i = 0; !rc && i < c->ncids; i++)
        if (!ev_view_is_cross_source(e.v, c->cids[i].ds)) {
            rc = 400;
            snprintf(msg, sizeof msg, "d_cid names data source %lld, which is not a cross-device data source of "
                                      "account %lld", (long long)c->cids[i].ds, acc);
        }
    for (size_t i = 0; !rc && i < nreports; i++)
        if (!ev_view_model(e.v, reports[i][0])) {
            rc = 400;
            snprintf(msg, sizeof msg, "d_persona names model %lld, which is not a model of account %lld",
                     (long long)reports[i][0], acc);
        }
    if (!rc) {
        /* rule-based traits realized by the signals */
        const ev_view *v = e.v;
        c->realized = malloc((v->nrule_traits + 1) * sizeof *c->realized);
        if (!c->realized) {
            rc = 500;
            snprintf(msg, sizeof msg, "out of memory");
        }
        uint32_t few[256], *pos = v->nrule_traits <= 256 ? few : malloc(v->nrule_traits * sizeof *pos);
        if (!rc && !pos) {
            rc = 500;
            snprintf(msg, sizeof msg, "out of memory");
        }
        size_t n = rc ? 0 : ri_match(v->rules, sig, nsig, pos);
        for (size_t i = 0; i < n; i++)
            c->realized[c->nrealized++] = (vc_row){v->traits[v->rule_traits[pos[i]]].id, c->now};
        if (pos != few)
            free(pos);
    }
    if (!rc) {
        jw_object_begin(&w);
        JW_KEY(&w, "uuid"), jw_string(&w, c->uuid);
        JW_KEY(&w, "account"), jw_int(&w, acc);
        JW_KEY(&w, "ts"), jw_int(&w, c->now);
        if (evaluate(&e, (const int64_t(*)[2])reports, nreports, &w)) {
            rc = e.lr.r ? 500 : 503;
            snprintf(msg, sizeof msg, rc == 500 ? "the event could not be evaluated" : "the store cannot be read now");
        }
        jw_object_end(&w);
    }
    ev_params_free(p);
    ev_views_release(rt->views, e.v);
    eval_free(&e);
    if (rc) {
        jw_free(&w);
        return ev_call_fail(c, rc, msg);
    }
    c->body = jw_take(&w, &c->body_len);
    if (!c->body || ev_payload_encode(c))
        return ev_call_fail(c, 500, "out of memory");
    c->status = 200;
    c->rt = rt;
    /* the connection waits, deferred, for the commit of its writes */
    if (ev_log_queue(rt->log, c))
        return ev_call_fail(c, 503, "the server is stopping: the event was not stored");
    *suspended = 1;
    return c;
}

/* ---- the runtime ---------------------------------------------------------------------------- */

int ev_start(const char *db_path, srv_config *cfg, size_t cache_mb, ev_runtime **out, char *err, size_t errcap)
{
    ev_runtime *rt = calloc(1, sizeof *rt);
    if (!rt)
        return snprintf(err, errcap, "out of memory"), -1;
    rt->cfg = cfg;
    pthread_mutex_init(&rt->scratch_mu, NULL);
    atomic_init(&rt->onboarded_seen, atomic_load(&cfg->onboarded));
    if (ev_log_start(db_path, &rt->log, err, errcap) ||
        ev_ingest_start(db_path, rt->cache = vc_new((cache_mb ? cache_mb : DEFAULT_CACHE_MB) << 20), rt->log,
                        &rt->ingest, err, errcap)) {
        ev_free(rt);
        return -1;
    }
    rt->readers = ev_readers_new(db_path, rt->log);
    rt->views = ev_views_new();
    if (!rt->readers || !rt->views) {
        ev_free(rt);
        return snprintf(err, errcap, "out of memory"), -1;
    }
    ev_log_on_commit(rt->log, ev_ingest_wake, rt->ingest);
    ev_log_on_resume(rt->log, cfg->resuming, cfg->resumed, cfg->http_ctx);
    if (ev_log_run(rt->log, err, errcap)) {
        ev_free(rt);
        return -1;
    }
    *out = rt;
    return 0;
}

void ev_stop(ev_runtime *rt)
{
    if (!rt)
        return;
    ev_log_stop(rt->log);       /* commits and answers every queued event */
    ev_ingest_stop(rt->ingest); /* and moves every logged one into the store */
}

void ev_free(ev_runtime *rt)
{
    if (!rt)
        return;
    ev_stop(rt);
    ev_ingest_free(rt->ingest);
    ev_log_free(rt->log);
    ev_views_free(rt->views);
    ev_readers_free(rt->readers);
    vc_free(rt->cache);
    for (ev_scratch *sc = rt->scratch, *next; sc; sc = next) {
        next = sc->next;
        buffers_free(&sc->b);
        free(sc);
    }
    pthread_mutex_destroy(&rt->scratch_mu);
    free(rt);
}

void ev_sync(void *arg, int urgent)
{
    ev_runtime *rt = arg;
    if (rt && rt->ingest && ev_ingest_sync(rt->ingest, ev_pending_last(ev_log_pending(rt->log)), urgent))
        fprintf(stderr, "personae serve: /event: the store does not have every acknowledged event yet (they are in "
                        "the event log)\n");
}

/* A new view whose models' versions moved (a training): the classifications of the account's
 * recent visitors are brought to it here, before /event calls get the view, rather than by each
 * visitor's next call on a polling thread (some 400 reads of ~100 µs for each of 10 models
 * retrained, in the benchmark). When the view before differs only by the version of the model
 * just trained, what the training stored is applied to them in memory (vc_trained); otherwise,
 * and for visitors it cannot be applied to, their classifications are read again. */
typedef struct refresh {
    ev_runtime *rt;
    const srv_trained *trained;
} refresh;

/* Whether v is prev with the trained model at its new version and nothing else moved. */
static int only_trained_moved(const ev_view *prev, const ev_view *v, const srv_trained *t)
{
    if (prev->nmodels != v->nmodels)
        return 0;
    int found = 0;
    for (size_t i = 0; i < v->nmodels; i++) {
        const ev_model *a = &prev->models[i], *b = &v->models[i];
        if (a->id != b->id)
            return 0;
        if (b->id == t->model)
            found = b->version == t->version && a->version != t->version;
        else if (a->version != b->version)
            return 0;
    }
    return found;
}

static int64_t trained_baseline(void *ctx, const char *uuid)
{
    return srv_trained_baseline(ctx, uuid);
}

static void reload_classifications(void *arg, const ev_view *prev, const ev_view *v)
{
    refresh *x = arg;
    lazy_reader lr = {x->rt->readers, NULL};
    const srv_trained *t = x->trained;
    vc_trained applied = {0}, *apply = NULL;
    if (t && only_trained_moved(prev, v, t)) {
        applied = (vc_trained){prev->cls_epoch, t->applied, t->model, t->version, trained_baseline, (void *)t, 0};
        apply = &applied;
    }
    size_t n = vc_refresh_cls(x->rt->cache, v->account, v->cls_epoch, REFRESH_PER_SHARD, apply, load, &lr);
    ev_reader_put(x->rt->readers, lr.r);
    if (t)
        fprintf(stderr,
                "personae serve: /event: model %lld version %lld: the classifications of %zu recent visitors brought "
                "to it, %zu from the training's result, %zu read again\n",
                (long long)t->model, (long long)t->version, n, apply ? apply->applied_to : 0,
                n - (apply ? apply->applied_to : 0));
}

void ev_store_changed(void *arg, sqlite3 *db, int64_t account, const srv_trained *trained)
{
    ev_runtime *rt = arg;
    refresh x = {rt, trained};
    ev_views_refresh(rt->views, db, account, &rt->cfg->generation, reload_classifications, &x);
}

unsigned ev_answer(ev_call *c, char **body, size_t *len, char *headers, size_t cap)
{
    if (c && c->status == 200 && c->seq && c->rt) {
        /* durable now: the visitor's next call sees it */
        vc_write x = {c->seq, c->realized, c->nrealized, c->cids, c->ncids, c->cls, c->ncls};
        vc_apply(c->rt->cache, c->account, c->uuid, &x);
    }
    unsigned status = c && c->body ? (unsigned)c->status : 500;
    *body = c ? c->body : NULL;
    *len = *body ? c->body_len : 0;
    if (c)
        c->body = NULL; /* the caller's now */
    if (c && c->set_cookie && c->status == 200)
        snprintf(headers, cap,
                 "Cache-Control: no-store\r\nSet-Cookie: " COOKIE "=%s; Max-Age=63072000; Path=/; SameSite=Lax\r\n",
                 c->cookie);
    else
        snprintf(headers, cap, "Cache-Control: no-store\r\n");
    return status;
}

void ev_call_free(ev_call *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nattrs; i++)
        free(c->attrs[i].key), free(c->attrs[i].value);
    free(c->attrs);
    free(c->realized);
    free(c->payload);
    free(c->body);
    free(c);
}
