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
 * the id as uuid) of traits of that id's data source. */
#include "event.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personae/audience.h"
#include "personae/rule.h"

#define DAY 86400
#define MAX_PARAMS 256
#define MAX_KEY 128
#define MAX_VALUE 4096
#define MAX_UUID 128
#define MAX_CIDS 8
#define MAX_GRAPH 100
#define COOKIE "pn_uuid"

enum { CROSS_NONE, CROSS_CURRENT, CROSS_LAST, CROSS_ALL };
enum { DEV_NONE, DEV_THIS, DEV_GRAPH };

/* ---- the account's runtime view, rebuilt when the generation moves ------------------------ */

typedef struct rt_trait {
    int64_t id, ds;
    pn_signal_rule *rule; /* NULL unless rule-based */
} rt_trait;

typedef struct rt_segment {
    int64_t id;
    pn_segment_rule *rule;
} rt_segment;

typedef struct rt_pred {
    int64_t baseline, trait, segment;
} rt_pred;

typedef struct rt_model {
    int64_t id;
    int cross, device;
    pn_snapshot *snap; /* NULL until trained */
    int64_t version;
    int lookback;
    rt_pred pred[PN_MAX_BASELINES];
    size_t npred;
} rt_model;

typedef struct rt_account {
    int64_t id;
    uint64_t generation;
    int refs;
    int cross, device; /* the default merge rule */
    rt_trait *traits;  /* sorted by id */
    size_t ntraits;
    rt_segment *segments;
    size_t nsegments;
    rt_model models[SRV_MAX_MODELS];
    size_t nmodels;
    int64_t *cross_sources; /* data sources of type cross_device */
    size_t ncross;
} rt_account;

/* ---- the call ------------------------------------------------------------------------------ */

typedef struct kv {
    char *key, *value;
} kv;

typedef struct cid {
    int64_t ds;
    char id[MAX_UUID + 1];
} cid;

typedef struct cls_write {
    int64_t model, baseline, version; /* baseline 0: the visitor left the predictive segment */
} cls_write;

typedef struct edge_write {
    int64_t model, reported, server, version;
} edge_write;

struct ev_call {
    ev_call *next; /* in the writer's queue */
    struct MHD_Connection *conn;
    int status;
    char *body;            /* JSON answer (owned) */
    char cookie[MAX_UUID + 1];
    int set_cookie;
    /* what to store */
    int64_t account, now;
    char uuid[MAX_UUID + 1];
    int64_t *realized;
    size_t nrealized;
    kv *attrs;
    size_t nattrs;
    cid cids[MAX_CIDS];
    size_t ncids;
    cls_write cls[SRV_MAX_MODELS];
    size_t ncls;
    edge_write edge[SRV_MAX_MODELS];
    size_t nedge;
    int done;
};

/* ---- runtime: readers, caches, writer ------------------------------------------------------ */

typedef struct reader {
    sqlite3 *db;
    sqlite3_stmt *rows, *links, *graph, *by_cid, *cls;
    struct reader *next;
} reader;

struct ev_runtime {
    char *db_path;
    srv_config *cfg;
    pthread_mutex_t mu; /* readers and accounts */
    reader *free_readers;
    rt_account *accounts[64];
    size_t naccounts;
    /* writer */
    pthread_t thread;
    pthread_mutex_t wmu;
    pthread_cond_t wcv;
    ev_call *queue, *queue_tail;
    int stop;
    sqlite3 *wdb;
};

static void account_free(rt_account *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->ntraits; i++)
        pn_signal_rule_free(a->traits[i].rule);
    for (size_t i = 0; i < a->nsegments; i++)
        pn_segment_rule_free(a->segments[i].rule);
    for (size_t i = 0; i < a->nmodels; i++)
        pn_snapshot_free(a->models[i].snap);
    free(a->traits);
    free(a->segments);
    free(a->cross_sources);
    free(a);
}

static int64_t num(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : 0;
}

static const char *str(const cJSON *o, const char *k, const char *def)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : def;
}

static int cmp_trait(const void *a, const void *b)
{
    int64_t x = ((const rt_trait *)a)->id, y = ((const rt_trait *)b)->id;
    return x < y ? -1 : x > y;
}

static void merge_of(const cJSON *rule, int *cross, int *device)
{
    const char *c = str(rule, "cross_device", "none"), *d = str(rule, "device", "this_device");
    *cross = strcmp(c, "current_authenticated") == 0 ? CROSS_CURRENT
             : strcmp(c, "last_authenticated") == 0  ? CROSS_LAST
             : strcmp(c, "all_cross_device") == 0    ? CROSS_ALL
                                                     : CROSS_NONE;
    *device = strcmp(d, "none") == 0 ? DEV_NONE : strcmp(d, "device_graph") == 0 ? DEV_GRAPH : DEV_THIS;
}

static rt_account *account_build(sqlite3 *db, int64_t id, uint64_t generation)
{
    sqlite3_stmt *st = store_prepare(db, "SELECT 1 FROM accounts WHERE id = ?");
    int exists = st && (sqlite3_bind_int64(st, 1, id), sqlite3_step(st) == SQLITE_ROW);
    sqlite3_finalize(st);
    if (!exists)
        return NULL;
    rt_account *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->id = id;
    a->generation = generation;
    a->refs = 1;
    a->cross = CROSS_NONE;
    a->device = DEV_THIS;
    cJSON *rules = obj_list(db, id, "merge_rule");
    for (const cJSON *o = rules->child; o; o = o->next)
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "default")))
            merge_of(o, &a->cross, &a->device);

    cJSON *sources = obj_list(db, id, "data_source");
    a->cross_sources = calloc((size_t)cJSON_GetArraySize(sources) + 1, sizeof *a->cross_sources);
    for (const cJSON *o = sources->child; a->cross_sources && o; o = o->next)
        if (strcmp(str(o, "id_type", "device"), "cross_device") == 0)
            a->cross_sources[a->ncross++] = num(o, "id");
    cJSON_Delete(sources);

    cJSON *traits = obj_list(db, id, "trait");
    a->traits = calloc((size_t)cJSON_GetArraySize(traits) + 1, sizeof *a->traits);
    for (const cJSON *o = traits->child; a->traits && o; o = o->next) {
        rt_trait *t = &a->traits[a->ntraits++];
        t->id = num(o, "id");
        t->ds = num(o, "data_source_id");
        const char *rule = str(o, "rule", NULL);
        if (rule && strcmp(str(o, "kind", ""), "rule") == 0)
            pn_signal_rule_parse(rule, strlen(rule), &t->rule, NULL, NULL);
    }
    cJSON_Delete(traits);
    if (a->traits)
        qsort(a->traits, a->ntraits, sizeof *a->traits, cmp_trait);

    cJSON *segs = obj_list(db, id, "segment");
    a->segments = calloc((size_t)cJSON_GetArraySize(segs) + 1, sizeof *a->segments);
    for (const cJSON *o = segs->child; a->segments && o; o = o->next) {
        const char *rule = str(o, "rule", NULL);
        if (num(o, "model_id") || !rule)
            continue; /* predictive segments: membership is the classification */
        rt_segment *s = &a->segments[a->nsegments];
        if (pn_segment_rule_parse(rule, strlen(rule), &s->rule, NULL, NULL) == PN_OK) {
            s->id = num(o, "id");
            a->nsegments++;
        }
    }
    cJSON_Delete(segs);

    cJSON *models = obj_list(db, id, "model");
    st = store_prepare(db, "SELECT m.version, s.bytes FROM model_state m JOIN snapshots s ON s.model_id = m.model_id AND "
                           "s.version = m.version WHERE m.model_id = ?");
    for (const cJSON *o = models->child; o && a->nmodels < SRV_MAX_MODELS; o = o->next) {
        rt_model *m = &a->models[a->nmodels++];
        m->id = num(o, "id");
        m->cross = a->cross;
        m->device = a->device;
        for (const cJSON *r = rules->child; r; r = r->next)
            if (num(r, "id") == num(o, "merge_rule_id"))
                merge_of(r, &m->cross, &m->device);
        const cJSON *pred = cJSON_GetObjectItemCaseSensitive(o, "predictive");
        for (const cJSON *e = pred ? pred->child : NULL; e && m->npred < PN_MAX_BASELINES; e = e->next)
            m->pred[m->npred++] = (rt_pred){num(e, "baseline_id"), num(e, "trait_id"), num(e, "segment_id")};
        if (st) {
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, m->id);
            pn_error err;
            if (sqlite3_step(st) == SQLITE_ROW &&
                pn_snapshot_load(sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &m->snap, &err) ==
                    PN_OK) {
                m->version = sqlite3_column_int64(st, 0);
                m->lookback = pn_snapshot_lookback_days(m->snap);
            }
        }
    }
    sqlite3_finalize(st);
    cJSON_Delete(models);
    cJSON_Delete(rules);
    return a;
}

static reader *reader_get(ev_runtime *rt)
{
    pthread_mutex_lock(&rt->mu);
    reader *r = rt->free_readers;
    if (r)
        rt->free_readers = r->next;
    pthread_mutex_unlock(&rt->mu);
    if (r)
        return r;
    r = calloc(1, sizeof *r);
    char err[256];
    if (!r || store_open(rt->db_path, 0, &r->db, err, sizeof err)) {
        free(r);
        return NULL;
    }
    r->rows = store_prepare(r->db, "SELECT trait_id, ts FROM realizations WHERE account_id = ? AND uuid = ?");
    r->links = store_prepare(r->db, "SELECT data_source_id, cid, last_ts FROM device_links WHERE account_id = ? AND "
                                    "uuid = ? ORDER BY last_ts DESC");
    r->graph = store_prepare(r->db, "SELECT DISTINCT uuid FROM device_links WHERE account_id = ? AND "
                                    "data_source_id = ? AND cid = ? LIMIT 100");
    r->by_cid = r->rows;
    r->cls = store_prepare(r->db, "SELECT model_id, baseline_id, version FROM classifications WHERE uuid = ?");
    if (!r->rows || !r->links || !r->graph || !r->cls) {
        sqlite3_finalize(r->rows), sqlite3_finalize(r->links), sqlite3_finalize(r->graph), sqlite3_finalize(r->cls);
        store_close(r->db);
        free(r);
        return NULL;
    }
    return r;
}

static void reader_put(ev_runtime *rt, reader *r)
{
    pthread_mutex_lock(&rt->mu);
    r->next = rt->free_readers;
    rt->free_readers = r;
    pthread_mutex_unlock(&rt->mu);
}

static void account_release(ev_runtime *rt, rt_account *a)
{
    pthread_mutex_lock(&rt->mu);
    int last = --a->refs == 0;
    pthread_mutex_unlock(&rt->mu);
    if (last)
        account_free(a);
}

/* The account's current view (a reference the caller releases), or NULL for no such account. */
static rt_account *account_get(ev_runtime *rt, reader *rd, int64_t id)
{
    uint64_t gen = atomic_load(&rt->cfg->generation);
    pthread_mutex_lock(&rt->mu);
    size_t slot = rt->naccounts;
    for (size_t i = 0; i < rt->naccounts; i++)
        if (rt->accounts[i]->id == id) {
            slot = i;
            if (rt->accounts[i]->generation == gen) {
                rt_account *a = rt->accounts[i];
                a->refs++;
                pthread_mutex_unlock(&rt->mu);
                return a;
            }
        }
    /* rebuilt under the lock: other calls of any account wait for it, which happens only after
     * a write to the catalog or a training */
    rt_account *a = account_build(rd->db, id, gen);
    if (a && slot < sizeof rt->accounts / sizeof *rt->accounts) {
        if (slot < rt->naccounts) {
            rt_account *old = rt->accounts[slot];
            if (--old->refs == 0)
                account_free(old);
        } else {
            rt->naccounts++;
        }
        rt->accounts[slot] = a;
        a->refs++;
    }
    pthread_mutex_unlock(&rt->mu);
    return a;
}

/* ---- parameters ---------------------------------------------------------------------------- */

typedef struct params {
    kv items[MAX_PARAMS];
    size_t n;
    int too_many;
} params;

static void params_add(params *p, const char *k, size_t klen, const char *v, size_t vlen)
{
    if (p->n == MAX_PARAMS) {
        p->too_many = 1;
        return;
    }
    if (klen == 0 || klen > MAX_KEY || vlen > MAX_VALUE)
        return;
    char *key = malloc(klen + 1), *value = malloc(vlen + 1);
    if (!key || !value) {
        free(key);
        free(value);
        return;
    }
    memcpy(key, k, klen), key[klen] = '\0';
    memcpy(value, v, vlen), value[vlen] = '\0';
    p->items[p->n++] = (kv){key, value};
}

static void params_free(params *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->items[i].key), free(p->items[i].value);
    p->n = 0;
}

static enum MHD_Result on_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    params *p = cls;
    params_add(p, key, strlen(key), value ? value : "", value ? strlen(value) : 0);
    return MHD_YES;
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Decodes application/x-www-form-urlencoded text in place; returns the new length. */
static size_t form_decode(char *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '+')
            s[o++] = ' ';
        else if (s[i] == '%' && i + 2 < n + 0 && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
            s[o++] = (char)(hexval(s[i + 1]) * 16 + hexval(s[i + 2]));
            i += 2;
        } else
            s[o++] = s[i];
    }
    return o;
}

static int parse_body(params *p, const char *body, size_t len, const char **why)
{
    size_t i = 0;
    while (i < len && (body[i] == ' ' || body[i] == '\n' || body[i] == '\r' || body[i] == '\t'))
        i++;
    if (i == len)
        return 0;
    if (body[i] == '{') {
        const char *end = NULL;
        cJSON *j = cJSON_ParseWithLengthOpts(body, len, &end, 0);
        if (!cJSON_IsObject(j)) {
            cJSON_Delete(j);
            return *why = "the request body is neither a JSON object nor form-encoded signals", -1;
        }
        for (const cJSON *f = j->child; f; f = f->next) {
            char buf[64];
            if (cJSON_IsString(f))
                params_add(p, f->string, strlen(f->string), f->valuestring, strlen(f->valuestring));
            else if (cJSON_IsNumber(f)) {
                int n = f->valuedouble == (double)(int64_t)f->valuedouble
                            ? snprintf(buf, sizeof buf, "%lld", (long long)f->valuedouble)
                            : snprintf(buf, sizeof buf, "%.17g", f->valuedouble);
                params_add(p, f->string, strlen(f->string), buf, (size_t)n);
            } else if (cJSON_IsBool(f))
                params_add(p, f->string, strlen(f->string), cJSON_IsTrue(f) ? "true" : "false", cJSON_IsTrue(f) ? 4 : 5);
            else {
                cJSON_Delete(j);
                return *why = "signal values in a JSON body must be strings, numbers or booleans", -1;
            }
        }
        cJSON_Delete(j);
        return 0;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return *why = "out of memory", -1;
    memcpy(copy, body, len);
    copy[len] = '\0';
    for (char *part = copy, *next; part && *part; part = next) {
        next = strchr(part, '&');
        if (next)
            *next++ = '\0';
        char *eq = strchr(part, '=');
        size_t klen = eq ? (size_t)(eq - part) : strlen(part);
        klen = form_decode(part, klen);
        size_t vlen = eq ? form_decode(eq + 1, strlen(eq + 1)) : 0;
        params_add(p, part, klen, eq ? eq + 1 : "", vlen);
    }
    free(copy);
    return 0;
}

static int valid_id(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_UUID)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.' || c == ':' || c == '@'))
            return 0;
    }
    return 1;
}

static void new_uuid(char out[MAX_UUID + 1])
{
    uint8_t raw[16];
    if (srv_random(raw, sizeof raw))
        abort(); /* no entropy: a guessable device id would merge strangers' profiles */
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(out + 2 * i, 3, "%02x", raw[i]);
}

/* ---- profiles ------------------------------------------------------------------------------ */

typedef struct row {
    int64_t trait, ts;
} row;

typedef struct rows {
    row *r;
    size_t n, cap;
} rows;

static int rows_add(rows *rs, int64_t trait, int64_t ts)
{
    if (rs->n == rs->cap) {
        size_t cap = rs->cap ? rs->cap * 2 : 64;
        row *g = realloc(rs->r, cap * sizeof *g);
        if (!g)
            return -1;
        rs->r = g;
        rs->cap = cap;
    }
    rs->r[rs->n++] = (row){trait, ts};
    return 0;
}

static const rt_trait *trait_of(const rt_account *a, int64_t id)
{
    rt_trait key = {id, 0, NULL};
    return bsearch(&key, a->traits, a->ntraits, sizeof *a->traits, cmp_trait);
}

/* Appends the realizations stored under `uuid`; with ds > 0 only those of traits of that data
 * source (a cross-device profile). */
static int fetch(reader *rd, const rt_account *a, const char *uuid, int64_t ds, rows *out)
{
    sqlite3_stmt *st = rd->rows;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_text(st, 2, uuid, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t t = sqlite3_column_int64(st, 0);
        if (ds) {
            const rt_trait *tr = trait_of(a, t);
            if (!tr || tr->ds != ds)
                continue;
        }
        if (rows_add(out, t, sqlite3_column_int64(st, 1)))
            return -1;
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* What the store knows about this device besides its own realizations. */
typedef struct device_view {
    cid links[64]; /* authenticated ids seen with the device, most recent first */
    size_t nlinks;
    char (*graph)[MAX_UUID + 1]; /* other devices of the device graph */
    size_t ngraph;
    int loaded_links, loaded_graph;
} device_view;

static int load_links(reader *rd, const rt_account *a, const char *uuid, device_view *dv)
{
    if (dv->loaded_links)
        return 0;
    dv->loaded_links = 1;
    sqlite3_stmt *st = rd->links;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, a->id);
    sqlite3_bind_text(st, 2, uuid, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW && dv->nlinks < 64) {
        cid *c = &dv->links[dv->nlinks++];
        c->ds = sqlite3_column_int64(st, 0);
        snprintf(c->id, sizeof c->id, "%s", (const char *)sqlite3_column_text(st, 1));
    }
    sqlite3_reset(st);
    return 0;
}

static int in_graph(const device_view *dv, const char *uuid, const char *self)
{
    if (strcmp(uuid, self) == 0)
        return 1;
    for (size_t i = 0; i < dv->ngraph; i++)
        if (strcmp(dv->graph[i], uuid) == 0)
            return 1;
    return 0;
}

static int load_graph(reader *rd, const rt_account *a, const ev_call *c, device_view *dv)
{
    if (dv->loaded_graph)
        return 0;
    dv->loaded_graph = 1;
    load_links(rd, a, c->uuid, dv);
    dv->graph = calloc(MAX_GRAPH, sizeof *dv->graph);
    if (!dv->graph)
        return -1;
    for (size_t pass = 0; pass < 2; pass++) {
        size_t n = pass ? c->ncids : dv->nlinks;
        for (size_t i = 0; i < n; i++) {
            const cid *k = pass ? &c->cids[i] : &dv->links[i];
            sqlite3_stmt *st = rd->graph;
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, a->id);
            sqlite3_bind_int64(st, 2, k->ds);
            sqlite3_bind_text(st, 3, k->id, -1, SQLITE_STATIC);
            while (sqlite3_step(st) == SQLITE_ROW && dv->ngraph < MAX_GRAPH) {
                const char *u = (const char *)sqlite3_column_text(st, 0);
                if (!in_graph(dv, u, c->uuid))
                    snprintf(dv->graph[dv->ngraph++], MAX_UUID + 1, "%s", u);
            }
            sqlite3_reset(st);
        }
    }
    return 0;
}

/* The merged profile of the call's visitor under one merge rule, as a one-visitor store. */
static pn_profiles *merged_profile(reader *rd, const rt_account *a, const ev_call *c, const rows *own,
                                   device_view *dv, int cross, int device)
{
    rows all = {0};
    int ok = 1;
    if (device != DEV_NONE) {
        for (size_t i = 0; ok && i < own->n; i++)
            ok = rows_add(&all, own->r[i].trait, own->r[i].ts) == 0;
        if (device == DEV_GRAPH && ok && load_graph(rd, a, c, dv) == 0)
            for (size_t i = 0; ok && i < dv->ngraph; i++)
                ok = fetch(rd, a, dv->graph[i], 0, &all) == 0;
    }
    if (cross != CROSS_NONE && ok) {
        const cid *use[MAX_CIDS + 64];
        size_t nuse = 0;
        for (size_t i = 0; i < c->ncids; i++)
            use[nuse++] = &c->cids[i];
        if (cross == CROSS_LAST && nuse == 0) {
            load_links(rd, a, c->uuid, dv);
            if (dv->nlinks)
                use[nuse++] = &dv->links[0];
        } else if (cross == CROSS_ALL) {
            load_links(rd, a, c->uuid, dv);
            for (size_t i = 0; i < dv->nlinks; i++) {
                int dup = 0;
                for (size_t j = 0; j < nuse; j++)
                    dup |= use[j]->ds == dv->links[i].ds && strcmp(use[j]->id, dv->links[i].id) == 0;
                if (!dup)
                    use[nuse++] = &dv->links[i];
            }
        }
        for (size_t i = 0; ok && i < nuse; i++)
            ok = fetch(rd, a, use[i]->id, use[i]->ds, &all) == 0;
    }
    pn_profiles *p = NULL;
    pn_error err;
    if (ok && pn_profiles_new(&p, &err) == PN_OK) {
        for (size_t i = 0; ok && i < all.n; i++) {
            char tid[24];
            int n = snprintf(tid, sizeof tid, "%lld", (long long)all.r[i].trait);
            ok = pn_profiles_add(p, "v", 1, tid, (size_t)n, all.r[i].ts, &err) == PN_OK;
        }
        if (!ok || pn_profiles_finish(p, &err) != PN_OK) {
            pn_profiles_free(p);
            p = NULL;
        }
    }
    free(all.r);
    return p;
}

typedef struct count_ctx {
    const pn_profiles *p;
} count_ctx;

static uint32_t count_fn(void *ctx, const char *trait, size_t len, int64_t since)
{
    const pn_profiles *p = ((count_ctx *)ctx)->p;
    if (pn_profiles_visitor_count(p) == 0)
        return 0;
    uint32_t t = pn_profiles_trait_find(p, trait, len);
    return t == PN_NONE ? 0 : pn_profiles_count_since(p, 0, t, since);
}

/* ---- the call ------------------------------------------------------------------------------ */

static ev_call *fail(ev_call *c, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    free(c->body);
    c->body = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    c->status = status;
    return c;
}

static int is_cross_source(const rt_account *a, int64_t ds)
{
    for (size_t i = 0; i < a->ncross; i++)
        if (a->cross_sources[i] == ds)
            return 1;
    return 0;
}

/* Top contributions towards persona p among the snapshot traits in idx (for a kept persona). */
static void drivers_for(const pn_snapshot *s, const uint32_t *idx, size_t n, size_t p, cJSON *out)
{
    pn_driver top[PN_MAX_DRIVERS];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (idx[i] == PN_NO_TRAIT)
            continue;
        int dup = 0;
        for (size_t j = 0; j < i; j++)
            dup |= idx[j] == idx[i];
        double w = pn_snapshot_weight(s, idx[i], p);
        if (dup || w <= 0)
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
    for (size_t i = 0; i < k; i++) {
        size_t len;
        const char *id = pn_snapshot_trait_id(s, top[i].trait, &len);
        cJSON *d = cJSON_CreateObject();
        cJSON_AddNumberToObject(d, "trait_id", (double)strtoll(id, NULL, 10));
        cJSON_AddNumberToObject(d, "contribution", top[i].contribution);
        cJSON_AddItemToArray(out, d);
    }
}

typedef struct stored_cls {
    int64_t model, baseline, version;
} stored_cls;

/* Evaluates everything for the call; fills the answer and what to store. */
static int evaluate(ev_runtime *rt, reader *rd, rt_account *a, ev_call *c, const pn_signal *sig, size_t nsig,
                    const int64_t (*reports)[2], size_t nreports, cJSON *ans)
{
    /* rule-based traits realized by the signals */
    c->realized = malloc((a->ntraits + 1) * sizeof *c->realized);
    if (!c->realized)
        return -1;
    cJSON *realized = cJSON_AddArrayToObject(ans, "realized");
    for (size_t i = 0; i < a->ntraits; i++)
        if (a->traits[i].rule && pn_signal_rule_eval(a->traits[i].rule, sig, nsig)) {
            c->realized[c->nrealized++] = a->traits[i].id;
            cJSON_AddItemToArray(realized, cJSON_CreateNumber((double)a->traits[i].id));
        }
    /* this device's own profile, with this call's realizations */
    rows own = {0};
    if (fetch(rd, a, c->uuid, 0, &own))
        return free(own.r), -1;
    for (size_t i = 0; i < c->nrealized; i++)
        if (rows_add(&own, c->realized[i], c->now))
            return free(own.r), -1;
    stored_cls stored[64];
    size_t nstored = 0;
    sqlite3_reset(rd->cls);
    sqlite3_bind_text(rd->cls, 1, c->uuid, -1, SQLITE_STATIC);
    while (sqlite3_step(rd->cls) == SQLITE_ROW && nstored < 64)
        stored[nstored++] = (stored_cls){sqlite3_column_int64(rd->cls, 0), sqlite3_column_int64(rd->cls, 1),
                                         sqlite3_column_int64(rd->cls, 2)};
    sqlite3_reset(rd->cls);

    device_view dv = {0};
    /* one merged profile per distinct merge rule: [cross][device] */
    pn_profiles *prof[4][3] = {{NULL}};
    int rc = 0;
#define PROFILE(cr, de)                                                                                               \
    (prof[cr][de] ? prof[cr][de] : (prof[cr][de] = merged_profile(rd, a, c, &own, &dv, cr, de)))

    pn_profiles *dp = PROFILE(a->cross, a->device);
    if (!dp) {
        rc = -1;
        goto done;
    }
    cJSON *traits = cJSON_AddArrayToObject(ans, "traits");
    if (pn_profiles_visitor_count(dp))
        for (uint32_t t = 0; t < pn_profiles_trait_count(dp); t++) {
            size_t len;
            cJSON_AddItemToArray(traits, cJSON_CreateNumber((double)strtoll(pn_profiles_trait_id(dp, t, &len), NULL, 10)));
        }
    cJSON *segments = cJSON_AddArrayToObject(ans, "segments");
    count_ctx cc = {dp};
    for (size_t i = 0; i < a->nsegments; i++)
        if (pn_segment_rule_eval(a->segments[i].rule, count_fn, &cc, c->now))
            cJSON_AddItemToArray(segments, cJSON_CreateNumber((double)a->segments[i].id));

    cJSON *models = cJSON_AddArrayToObject(ans, "models");
    for (size_t mi = 0; mi < a->nmodels; mi++) {
        rt_model *m = &a->models[mi];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddItemToArray(models, o);
        cJSON_AddNumberToObject(o, "model_id", (double)m->id);
        const stored_cls *prev = NULL;
        for (size_t i = 0; i < nstored; i++)
            if (stored[i].model == m->id)
                prev = &stored[i];
        int64_t reported = -1;
        for (size_t i = 0; i < nreports; i++)
            if (reports[i][0] == m->id)
                reported = reports[i][1];
        int64_t server_persona = 0;
        if (!m->snap) {
            cJSON_AddStringToObject(o, "status", "not_trained");
            cJSON_AddNullToObject(o, "persona");
            goto next;
        }
        cJSON_AddNumberToObject(o, "version", (double)m->version);
        pn_profiles *p = PROFILE(m->cross, m->device);
        pn_audience *au = NULL;
        pn_error err;
        if (!p || pn_audience_from_snapshot(m->snap, p, &au, &err) != PN_OK) {
            rc = -1;
            goto done;
        }
        int64_t since = m->lookback ? c->now - (int64_t)m->lookback * DAY : INT64_MIN;
        int has = pn_profiles_visitor_count(p) > 0;
        uint64_t in_base = has ? pn_audience_baselines(au, 0, since, c->now) : 0;
        int in_target = has ? pn_audience_in_target(au, 0, since, c->now) : !pn_snapshot_target(m->snap, &(const char *){NULL});
        pn_audience_free(au);
        if (in_base) {
            cJSON_AddStringToObject(o, "status", "in_baseline");
            cJSON_AddNullToObject(o, "persona");
            if (prev && c->ncls < SRV_MAX_MODELS)
                c->cls[c->ncls++] = (cls_write){m->id, 0, m->version};
            goto next;
        }
        if (!in_target) {
            cJSON_AddStringToObject(o, "status", "not_in_target");
            cJSON_AddNullToObject(o, "persona");
            goto next;
        }
        /* the visitor's traits within the model's lookback, as snapshot indices */
        size_t nr = 0;
        const pn_realization *r = has ? pn_profiles_visitor_traits(p, 0, &nr) : NULL;
        uint32_t idx[1024];
        size_t k = 0;
        for (size_t i = 0; i < nr && k < 1024; i++)
            if ((int64_t)r[i].last_seen >= since) {
                size_t len;
                const char *id = pn_profiles_trait_id(p, r[i].trait, &len);
                idx[k++] = pn_snapshot_trait_find(m->snap, id, len);
            }
        pn_classification cl;
        if (pn_snapshot_classify(m->snap, idx, k, &cl, &err) != PN_OK) {
            rc = -1;
            goto done;
        }
        cJSON *scores = cJSON_AddObjectToObject(o, "scores");
        for (size_t i = 0; i < cl.persona_count; i++)
            cJSON_AddNumberToObject(scores, pn_snapshot_persona_id(m->snap, i), cl.scores[i]);
        cJSON_AddNumberToObject(o, "used_traits", cl.used_traits);
        /* a visitor classified under this version keeps their persona until the next training */
        int32_t persona = cl.persona;
        int kept = 0;
        if (prev && prev->version == m->version) {
            for (size_t i = 0; i < pn_snapshot_persona_count(m->snap); i++)
                if (strtoll(pn_snapshot_persona_id(m->snap, i), NULL, 10) == prev->baseline && (int32_t)i != cl.persona) {
                    persona = (int32_t)i;
                    kept = 1;
                }
        }
        if (persona < 0) {
            cJSON_AddStringToObject(o, "status", cl.used_traits ? "unclassified" : "no_usable_traits");
            cJSON_AddNullToObject(o, "persona");
            if (prev && c->ncls < SRV_MAX_MODELS)
                c->cls[c->ncls++] = (cls_write){m->id, 0, m->version};
            goto next;
        }
        server_persona = strtoll(pn_snapshot_persona_id(m->snap, (size_t)persona), NULL, 10);
        cJSON_AddStringToObject(o, "status", "classified");
        cJSON_AddNumberToObject(o, "persona", (double)server_persona);
        cJSON_AddNumberToObject(o, "score", cl.scores[persona]);
        cJSON_AddNumberToObject(o, "confidence", cl.probabilities[persona]);
        cJSON_AddBoolToObject(o, "kept", kept);
        cJSON *drivers = cJSON_AddArrayToObject(o, "drivers");
        if (kept) {
            drivers_for(m->snap, idx, k, (size_t)persona, drivers);
        } else {
            for (size_t i = 0; i < cl.driver_count; i++) {
                size_t len;
                const char *id = pn_snapshot_trait_id(m->snap, cl.drivers[i].trait, &len);
                cJSON *d = cJSON_CreateObject();
                cJSON_AddNumberToObject(d, "trait_id", (double)strtoll(id, NULL, 10));
                cJSON_AddNumberToObject(d, "contribution", cl.drivers[i].contribution);
                cJSON_AddItemToArray(drivers, d);
            }
        }
        for (size_t i = 0; i < m->npred; i++)
            if (m->pred[i].baseline == server_persona) {
                cJSON_AddNumberToObject(o, "predictive_trait_id", (double)m->pred[i].trait);
                cJSON_AddNumberToObject(o, "predictive_segment_id", (double)m->pred[i].segment);
                cJSON_AddItemToArray(segments, cJSON_CreateNumber((double)m->pred[i].segment));
            }
        if ((!prev || prev->version != m->version || prev->baseline != server_persona) && c->ncls < SRV_MAX_MODELS)
            c->cls[c->ncls++] = (cls_write){m->id, server_persona, m->version};
    next:
        if (reported >= 0 && c->nedge < SRV_MAX_MODELS) {
            c->edge[c->nedge++] = (edge_write){m->id, reported, server_persona, m->version};
            cJSON *e = cJSON_AddObjectToObject(o, "edge_report");
            if (reported)
                cJSON_AddNumberToObject(e, "reported", (double)reported);
            else
                cJSON_AddNullToObject(e, "reported");
            cJSON_AddBoolToObject(e, "agrees", reported == server_persona);
        }
    }
done:
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 3; j++)
            pn_profiles_free(prof[i][j]);
    free(dv.graph);
    free(own.r);
    return rc;
#undef PROFILE
}

ev_call *ev_begin(ev_runtime *rt, struct MHD_Connection *conn, const char *method, const char *body, size_t len,
                  int *suspended)
{
    *suspended = 0;
    ev_call *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->conn = conn;
    c->now = srv_now();
    if (strcmp(method, "GET") && strcmp(method, "POST"))
        return fail(c, 405, "method not allowed on /event (allowed: GET, POST)");
    params *p = calloc(1, sizeof *p);
    if (!p)
        return fail(c, 500, "out of memory");
    const char *why = NULL;
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, on_arg, p);
    if (strcmp(method, "POST") == 0 && parse_body(p, body, len, &why)) {
        params_free(p), free(p);
        return fail(c, 400, why);
    }
    if (p->too_many) {
        params_free(p), free(p);
        return fail(c, 400, "too many parameters: an /event call takes at most 256");
    }
    const char *account = NULL, *uuid = NULL;
    pn_signal sig[MAX_PARAMS];
    size_t nsig = 0;
    int64_t reports[SRV_MAX_MODELS][2];
    size_t nreports = 0;
    char msg[300];
    c->attrs = calloc(p->n + 1, sizeof *c->attrs);
    for (size_t i = 0; i < p->n; i++) {
        kv *e = &p->items[i];
        if (strncmp(e->key, "d_", 2) == 0) {
            if (strcmp(e->key, "d_account") == 0)
                account = e->value;
            else if (strcmp(e->key, "d_uuid") == 0)
                uuid = e->value;
            else if (strcmp(e->key, "d_cid") == 0) {
                char *sep = strchr(e->value, '\x01'), *end = NULL;
                long long ds = sep ? strtoll(e->value, &end, 10) : 0;
                if (!sep || end != sep || ds <= 0 || !valid_id(sep + 1) || c->ncids == MAX_CIDS) {
                    params_free(p), free(p);
                    return fail(c, 400, "d_cid must be '<data source id>%01<authenticated id>' (at most 8 per call)");
                }
                c->cids[c->ncids].ds = ds;
                snprintf(c->cids[c->ncids++].id, MAX_UUID + 1, "%s", sep + 1);
            } else if (strcmp(e->key, "d_persona") == 0) {
                char *colon = strchr(e->value, ':'), *end = NULL;
                long long m = colon ? strtoll(e->value, &end, 10) : 0;
                long long b = colon && strcmp(colon + 1, "-") == 0 ? 0 : colon ? strtoll(colon + 1, &end, 10) : -1;
                if (!colon || m <= 0 || b < 0 || (b && *end) || nreports == SRV_MAX_MODELS) {
                    params_free(p), free(p);
                    return fail(c, 400, "d_persona must be '<model id>:<baseline id>' or '<model id>:-'");
                }
                reports[nreports][0] = m;
                reports[nreports++][1] = b;
            }
            continue;
        }
        sig[nsig++] = (pn_signal){e->key, strlen(e->key), e->value, strlen(e->value)};
        if (strncmp(e->key, "c_", 2) == 0 && c->attrs) /* p_ and other keys are never stored */
            c->attrs[c->nattrs++] = (kv){strdup(e->key), strdup(e->value)};
    }
    char *end = NULL;
    long long acc = account ? strtoll(account, &end, 10) : 0;
    if (!account || *end || acc <= 0) {
        params_free(p), free(p);
        return fail(c, 400, "d_account is required: the id of the account the event belongs to");
    }
    c->account = acc;
    const char *cookie = MHD_lookup_connection_value(conn, MHD_COOKIE_KIND, COOKIE);
    if (uuid && !valid_id(uuid)) {
        params_free(p), free(p);
        return fail(c, 400, "d_uuid must have 1 to 128 characters among letters, digits and - _ . : @");
    }
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

    reader *rd = reader_get(rt);
    rt_account *a = rd ? account_get(rt, rd, acc) : NULL;
    int rc = 0;
    cJSON *ans = NULL;
    if (!rd) {
        rc = 503;
        snprintf(msg, sizeof msg, "the store cannot be read now");
    } else if (!a) {
        rc = 404;
        snprintf(msg, sizeof msg, "no account with id %lld", acc);
    } else {
        for (size_t i = 0; i < c->ncids && !rc; i++)
            if (!is_cross_source(a, c->cids[i].ds)) {
                rc = 400;
                snprintf(msg, sizeof msg, "d_cid names data source %lld, which is not a cross-device data source of "
                                          "account %lld", (long long)c->cids[i].ds, acc);
            }
        for (size_t i = 0; i < nreports && !rc; i++) {
            int known = 0;
            for (size_t j = 0; j < a->nmodels; j++)
                known |= a->models[j].id == reports[i][0];
            if (!known) {
                rc = 400;
                snprintf(msg, sizeof msg, "d_persona names model %lld, which is not a model of account %lld",
                         (long long)reports[i][0], acc);
            }
        }
        if (!rc) {
            ans = cJSON_CreateObject();
            cJSON_AddStringToObject(ans, "uuid", c->uuid);
            cJSON_AddNumberToObject(ans, "account", (double)acc);
            cJSON_AddNumberToObject(ans, "ts", (double)c->now);
            if (evaluate(rt, rd, a, c, sig, nsig, (const int64_t(*)[2])reports, nreports, ans)) {
                rc = 500;
                snprintf(msg, sizeof msg, "the event could not be evaluated");
            }
        }
    }
    params_free(p);
    free(p);
    if (a)
        account_release(rt, a);
    if (rd)
        reader_put(rt, rd);
    if (rc) {
        cJSON_Delete(ans);
        return fail(c, rc, msg);
    }
    c->body = cJSON_PrintUnformatted(ans);
    cJSON_Delete(ans);
    c->status = 200;
    /* queue the writes; the connection waits, suspended, for their commit */
    pthread_mutex_lock(&rt->wmu);
    if (rt->stop) {
        pthread_mutex_unlock(&rt->wmu);
        return fail(c, 503, "the server is stopping: the event was not stored");
    }
    if (rt->queue_tail)
        rt->queue_tail->next = c;
    else
        rt->queue = c;
    rt->queue_tail = c;
    MHD_suspend_connection(conn);
    *suspended = 1;
    pthread_cond_signal(&rt->wcv);
    pthread_mutex_unlock(&rt->wmu);
    return c;
}

/* ---- the writer ---------------------------------------------------------------------------- */

typedef struct wstmts {
    sqlite3_stmt *real, *attr, *link, *cls_set, *cls_del, *edge;
} wstmts;

static int step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int write_call(wstmts *w, const ev_call *c)
{
    for (size_t i = 0; i < c->nrealized; i++) {
        sqlite3_bind_int64(w->real, 1, c->account);
        sqlite3_bind_text(w->real, 2, c->uuid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(w->real, 3, c->realized[i]);
        sqlite3_bind_int64(w->real, 4, c->now);
        if (step(w->real))
            return -1;
    }
    for (size_t i = 0; i < c->nattrs; i++) {
        if (!c->attrs[i].key || !c->attrs[i].value)
            return -1;
        sqlite3_bind_int64(w->attr, 1, c->account);
        sqlite3_bind_text(w->attr, 2, c->uuid, -1, SQLITE_STATIC);
        sqlite3_bind_text(w->attr, 3, c->attrs[i].key, -1, SQLITE_STATIC);
        sqlite3_bind_text(w->attr, 4, c->attrs[i].value, -1, SQLITE_STATIC);
        sqlite3_bind_int64(w->attr, 5, c->now);
        if (step(w->attr))
            return -1;
    }
    for (size_t i = 0; i < c->ncids; i++) {
        sqlite3_bind_int64(w->link, 1, c->account);
        sqlite3_bind_text(w->link, 2, c->uuid, -1, SQLITE_STATIC);
        sqlite3_bind_int64(w->link, 3, c->cids[i].ds);
        sqlite3_bind_text(w->link, 4, c->cids[i].id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(w->link, 5, c->now);
        if (step(w->link))
            return -1;
    }
    for (size_t i = 0; i < c->ncls; i++) {
        sqlite3_stmt *st = c->cls[i].baseline ? w->cls_set : w->cls_del;
        sqlite3_bind_int64(st, 1, c->cls[i].model);
        sqlite3_bind_text(st, 2, c->uuid, -1, SQLITE_STATIC);
        if (c->cls[i].baseline) {
            sqlite3_bind_int64(st, 3, c->cls[i].baseline);
            sqlite3_bind_int64(st, 4, c->now);
            sqlite3_bind_int64(st, 5, c->cls[i].version);
        }
        if (step(st))
            return -1;
    }
    for (size_t i = 0; i < c->nedge; i++) {
        sqlite3_bind_int64(w->edge, 1, c->account);
        sqlite3_bind_int64(w->edge, 2, c->edge[i].model);
        sqlite3_bind_text(w->edge, 3, c->uuid, -1, SQLITE_STATIC);
        if (c->edge[i].reported)
            sqlite3_bind_int64(w->edge, 4, c->edge[i].reported);
        else
            sqlite3_bind_null(w->edge, 4);
        if (c->edge[i].server)
            sqlite3_bind_int64(w->edge, 5, c->edge[i].server);
        else
            sqlite3_bind_null(w->edge, 5);
        sqlite3_bind_int64(w->edge, 6, c->edge[i].version);
        sqlite3_bind_int64(w->edge, 7, c->now);
        if (step(w->edge))
            return -1;
    }
    return 0;
}

static void *writer(void *arg)
{
    ev_runtime *rt = arg;
    wstmts w = {
        store_prepare(rt->wdb, "INSERT INTO realizations(account_id, uuid, trait_id, ts) VALUES(?, ?, ?, ?)"),
        store_prepare(rt->wdb, "INSERT INTO visitor_attributes(account_id, uuid, key, value, ts) VALUES(?, ?, ?, ?, ?) "
                               "ON CONFLICT(account_id, uuid, key) DO UPDATE SET value = excluded.value, ts = excluded.ts"),
        store_prepare(rt->wdb, "INSERT INTO device_links(account_id, uuid, data_source_id, cid, first_ts, last_ts) "
                               "VALUES(?1, ?2, ?3, ?4, ?5, ?5) ON CONFLICT(account_id, uuid, data_source_id, cid) DO "
                               "UPDATE SET last_ts = excluded.last_ts"),
        store_prepare(rt->wdb, "INSERT OR REPLACE INTO classifications(model_id, uuid, baseline_id, ts, version, source) "
                               "VALUES(?, ?, ?, ?, ?, 'event')"),
        store_prepare(rt->wdb, "DELETE FROM classifications WHERE model_id = ? AND uuid = ?"),
        store_prepare(rt->wdb, "INSERT INTO edge_reports(account_id, model_id, uuid, baseline_id, server_baseline_id, "
                               "version, ts) VALUES(?, ?, ?, ?, ?, ?, ?)"),
    };
    int prepared = w.real && w.attr && w.link && w.cls_set && w.cls_del && w.edge;
    pthread_mutex_lock(&rt->wmu);
    for (;;) {
        while (!rt->queue && !rt->stop)
            pthread_cond_wait(&rt->wcv, &rt->wmu);
        if (!rt->queue && rt->stop)
            break;
        ev_call *batch = rt->queue;
        rt->queue = rt->queue_tail = NULL;
        pthread_mutex_unlock(&rt->wmu);
        /* one transaction for the whole batch; if it fails, each call is retried alone so that
         * one bad call cannot fail the others */
        int ok = prepared && store_begin(rt->wdb) == 0;
        for (ev_call *c = batch; ok && c; c = c->next)
            ok = write_call(&w, c) == 0;
        ok = ok && store_commit(rt->wdb) == 0;
        if (!ok) {
            store_rollback(rt->wdb);
            for (ev_call *c = batch; c; c = c->next) {
                int one = prepared && store_begin(rt->wdb) == 0 && write_call(&w, c) == 0 && store_commit(rt->wdb) == 0;
                if (!one) {
                    store_rollback(rt->wdb);
                    fprintf(stderr, "personae serve: /event: the store could not save an event: %s\n",
                            sqlite3_errmsg(rt->wdb));
                    fail(c, 503, "the store could not save the event: nothing was stored, send it again");
                }
            }
        }
        for (ev_call *c = batch, *next; c; c = next) {
            next = c->next;
            c->next = NULL;
            struct MHD_Connection *conn = c->conn;
            c->done = 1;
            MHD_resume_connection(conn);
        }
        pthread_mutex_lock(&rt->wmu);
    }
    pthread_mutex_unlock(&rt->wmu);
    sqlite3_finalize(w.real), sqlite3_finalize(w.attr), sqlite3_finalize(w.link);
    sqlite3_finalize(w.cls_set), sqlite3_finalize(w.cls_del), sqlite3_finalize(w.edge);
    return NULL;
}

int ev_start(const char *db_path, srv_config *cfg, ev_runtime **out, char *err, size_t errcap)
{
    ev_runtime *rt = calloc(1, sizeof *rt);
    if (!rt || !(rt->db_path = strdup(db_path))) {
        free(rt);
        return snprintf(err, errcap, "out of memory"), -1;
    }
    rt->cfg = cfg;
    if (store_open(db_path, 0, &rt->wdb, err, errcap)) {
        free(rt->db_path);
        free(rt);
        return -1;
    }
    pthread_mutex_init(&rt->mu, NULL);
    pthread_mutex_init(&rt->wmu, NULL);
    pthread_cond_init(&rt->wcv, NULL);
    if (pthread_create(&rt->thread, NULL, writer, rt)) {
        store_close(rt->wdb);
        free(rt->db_path);
        free(rt);
        return snprintf(err, errcap, "cannot start the event writer thread"), -1;
    }
    *out = rt;
    return 0;
}

void ev_stop(ev_runtime *rt)
{
    if (!rt)
        return;
    pthread_mutex_lock(&rt->wmu);
    rt->stop = 1;
    pthread_cond_signal(&rt->wcv);
    pthread_mutex_unlock(&rt->wmu);
    pthread_join(rt->thread, NULL);
}

void ev_free(ev_runtime *rt)
{
    if (!rt)
        return;
    store_close(rt->wdb);
    for (reader *r = rt->free_readers, *next; r; r = next) {
        next = r->next;
        sqlite3_finalize(r->rows), sqlite3_finalize(r->links), sqlite3_finalize(r->graph), sqlite3_finalize(r->cls);
        store_close(r->db);
        free(r);
    }
    for (size_t i = 0; i < rt->naccounts; i++)
        account_free(rt->accounts[i]);
    pthread_cond_destroy(&rt->wcv);
    pthread_mutex_destroy(&rt->wmu);
    pthread_mutex_destroy(&rt->mu);
    free(rt->db_path);
    free(rt);
}

int ev_status(const ev_call *c)
{
    return c ? c->status : 500;
}

enum MHD_Result ev_answer(struct MHD_Connection *conn, ev_call *c)
{
    const char *body = c && c->body ? c->body : "{\"error\":\"out of memory\"}\n";
    size_t len = strlen(body);
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    MHD_add_response_header(resp, "Cache-Control", "no-store");
    if (c && c->set_cookie && c->status == 200) {
        char cookie[256];
        snprintf(cookie, sizeof cookie, COOKIE "=%s; Max-Age=63072000; Path=/; SameSite=Lax", c->cookie);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE, cookie);
    }
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)(c ? c->status : 500), resp);
    MHD_destroy_response(resp);
    return ret;
}

void ev_call_free(ev_call *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nattrs; i++)
        free(c->attrs[i].key), free(c->attrs[i].value);
    free(c->attrs);
    free(c->realized);
    free(c->body);
    free(c);
}
