/* GET /api/v1/destinations/{id}/export: the visitors of every segment mapped to the destination,
 * leaving out (and naming, with the reason) each segment whose DEC labels share one with the
 * destination's. A rule-based segment lists the devices that qualify for it under the account's
 * default merge rule, as /event's answers do: the device's own profile or, with the device graph,
 * those of the devices it shares an authenticated id with, plus the authenticated profiles the
 * rule takes (the last one seen, or all; an export is no call, so "current" means the last one
 * seen), each of those only with the traits of its own cross-device data source. Predictive
 * segments list the visitors the server itself classified (at training or on an /event call);
 * personas reported by edge scorers are kept apart (edge_reports) and never exported as such.
 * Visitors are listed in byte order of their ids: ?limit= pages them, ?after= starts after an id
 * (a segment's next_after), ?segment_id= takes one mapped segment. The listing reads the store on
 * a connection of its own, without the API's lock (list_unlocked). */
#include "srv.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_view.h"
#include "personae/rule.h"

/* A device's link to an authenticated id (device_links). */
typedef struct link {
    char *uuid, *cid;
    int64_t ds;
} link;

/* A profile a device's merged profile takes: all of it (ds 0), or only the traits of data source
 * ds (an authenticated profile). */
typedef struct source {
    uint32_t v;
    int64_t ds;
} source;

/* What evaluating the account's rule segments for its devices needs, loaded once per export. */
typedef struct audience {
    pn_profiles *p;
    int64_t *trait_ds; /* per trait of p: its data source */
    int cross, device; /* the default merge rule */
    link *links;       /* by device, the most recent first */
    size_t nlinks;
    link **by_cid;     /* the same, by (data source, authenticated id) */
    char **devices;    /* what is listed: devices with a realization of a device trait, or a link */
    size_t ndevices;
    source *srcs;      /* the profiles each device's merged profile takes, device after device */
    size_t *src_at;    /* device d's are srcs[src_at[d] .. src_at[d + 1]) */
} audience;

typedef struct eval_ctx {
    const audience *a;
    const source *src;
    size_t n;
} eval_ctx;

static uint32_t count(void *ctx, const char *trait, size_t len, int64_t since)
{
    eval_ctx *e = ctx;
    uint32_t t = pn_profiles_trait_find(e->a->p, trait, len), c = 0;
    for (size_t i = 0; t != PN_NONE && i < e->n; i++)
        if (!e->src[i].ds || e->a->trait_ds[t] == e->src[i].ds)
            c += pn_profiles_count_since(e->a->p, e->src[i].v, t, since);
    return c;
}

static pn_profiles *load_all(sqlite3 *db, int64_t account)
{
    pn_profiles *p = NULL;
    pn_error err;
    if (pn_profiles_new(&p, &err) != PN_OK)
        return NULL;
    sqlite3_stmt *st = store_prepare(db, "SELECT uuid, trait_id, ts FROM realizations WHERE account_id = ? ORDER BY rowid");
    int ok = st != NULL, rc = SQLITE_ERROR;
    if (st) {
        sqlite3_bind_int64(st, 1, account);
        while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            char tid[21];
            size_t n = srv_format_i64(sqlite3_column_int64(st, 1), tid);
            ok = pn_profiles_add(p, (const char *)sqlite3_column_text(st, 0), (size_t)sqlite3_column_bytes(st, 0), tid, n,
                                 sqlite3_column_int64(st, 2), &err) == PN_OK;
        }
        ok = ok && rc == SQLITE_DONE; /* (not a read error taken for the end) */
        sqlite3_finalize(st);
    }
    if (!ok || pn_profiles_finish(p, &err) != PN_OK) {
        pn_profiles_free(p);
        return NULL;
    }
    return p;
}

/* By authenticated id (what bsearch looks for: a key has no device). */
static int cmp_cid_only(const void *x, const void *y)
{
    const link *a = *(link *const *)x, *b = *(link *const *)y;
    return a->ds != b->ds ? (a->ds < b->ds ? -1 : 1) : strcmp(a->cid, b->cid);
}

/* The same, then an id's devices in byte order, as /event's graph query reads them. */
static int cmp_cid(const void *x, const void *y)
{
    int c = cmp_cid_only(x, y);
    return c ? c : strcmp((*(link *const *)x)->uuid, (*(link *const *)y)->uuid);
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static void audience_free(audience *a)
{
    pn_profiles_free(a->p);
    free(a->trait_ds);
    for (size_t i = 0; i < a->nlinks; i++)
        free(a->links[i].uuid), free(a->links[i].cid);
    free(a->links);
    free(a->by_cid);
    for (size_t i = 0; i < a->ndevices; i++)
        free(a->devices[i]);
    free(a->devices);
    free(a->srcs);
    free(a->src_at);
    memset(a, 0, sizeof *a);
}

static int merge_all(audience *a);

static int audience_load(sqlite3 *db, int64_t account, audience *a)
{
    memset(a, 0, sizeof *a);
    a->device = EV_DEV_THIS;
    cJSON *rules = obj_list(db, account, "merge_rule"), *sources = obj_list(db, account, "data_source"),
          *traits = obj_list(db, account, "trait");
    int ok = rules && sources && traits && (a->p = load_all(db, account)) != NULL;
    for (const cJSON *o = ok ? rules->child : NULL; o; o = o->next)
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "default")))
            ev_merge_of(o, &a->cross, &a->device);
    size_t nt = ok ? pn_profiles_trait_count(a->p) : 0, nv = ok ? pn_profiles_visitor_count(a->p) : 0;
    ok = ok && (a->trait_ds = calloc(nt + 1, sizeof *a->trait_ds)) != NULL;
    for (const cJSON *o = ok ? traits->child : NULL; o; o = o->next) {
        char id[32];
        int n = snprintf(id, sizeof id, "%lld", (long long)srv_num(o, "id"));
        uint32_t t = pn_profiles_trait_find(a->p, id, (size_t)n);
        if (t != PN_NONE)
            a->trait_ds[t] = srv_num(o, "data_source_id");
    }

    sqlite3_stmt *st = ok ? store_prepare(db, "SELECT uuid, data_source_id, cid FROM device_links WHERE "
                                              "account_id = ? ORDER BY uuid, last_ts DESC, first_ts DESC, data_source_id, cid")
                          : NULL;
    ok = ok && st;
    size_t cap = 0;
    int rc = SQLITE_ERROR;
    if (ok)
        sqlite3_bind_int64(st, 1, account);
    while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (a->nlinks == cap) {
            link *g = realloc(a->links, (cap = cap ? 2 * cap : 64) * sizeof *g);
            if (!(ok = g != NULL))
                break;
            a->links = g;
        }
        link *k = &a->links[a->nlinks];
        k->uuid = strdup((const char *)sqlite3_column_text(st, 0));
        k->ds = sqlite3_column_int64(st, 1);
        k->cid = strdup((const char *)sqlite3_column_text(st, 2));
        a->nlinks++;
        ok = k->uuid && k->cid;
    }
    ok = ok && rc == SQLITE_DONE;
    sqlite3_finalize(st);
    ok = ok && (a->by_cid = malloc((a->nlinks + 1) * sizeof *a->by_cid)) != NULL;
    for (size_t i = 0; ok && i < a->nlinks; i++)
        a->by_cid[i] = &a->links[i];
    if (ok)
        qsort(a->by_cid, a->nlinks, sizeof *a->by_cid, cmp_cid);

    /* the devices: every profile with a realization of a trait of a device data source (the
     * others are authenticated profiles), and every device seen with an authenticated id */
    int64_t *cross = NULL;
    size_t ncross = 0;
    ok = ok && (cross = calloc((size_t)cJSON_GetArraySize(sources) + 1, sizeof *cross)) != NULL;
    for (const cJSON *o = ok ? sources->child : NULL; o; o = o->next)
        if (strcmp(srv_str(o, "id_type", "device"), "cross_device") == 0)
            cross[ncross++] = srv_num(o, "id");
    ok = ok && (a->devices = calloc(nv + a->nlinks + 1, sizeof *a->devices)) != NULL;
    for (uint32_t v = 0; ok && v < nv; v++) {
        size_t n, ulen;
        const pn_realization *r = pn_profiles_visitor_traits(a->p, v, &n);
        int device = 0;
        for (size_t i = 0; i < n && !device; i++) {
            device = 1;
            for (size_t j = 0; j < ncross; j++)
                device &= a->trait_ds[r[i].trait] != cross[j];
        }
        const char *u = pn_profiles_visitor_uuid(a->p, v, &ulen);
        if (device)
            ok = (a->devices[a->ndevices++] = strndup(u, ulen)) != NULL;
    }
    for (size_t i = 0; ok && i < a->nlinks; i++)
        if (i == 0 || strcmp(a->links[i].uuid, a->links[i - 1].uuid))
            ok = (a->devices[a->ndevices++] = strdup(a->links[i].uuid)) != NULL;
    if (ok) { /* sorted, each once */
        qsort(a->devices, a->ndevices, sizeof *a->devices, cmp_str);
        size_t w = 0;
        for (size_t i = 0; i < a->ndevices; i++) {
            if (w && strcmp(a->devices[w - 1], a->devices[i]) == 0)
                free(a->devices[i]);
            else
                a->devices[w++] = a->devices[i];
        }
        a->ndevices = w;
    }
    free(cross);
    cJSON_Delete(rules), cJSON_Delete(sources), cJSON_Delete(traits);
    ok = ok && merge_all(a) == 0;
    if (!ok)
        audience_free(a);
    return ok ? 0 : -1;
}

/* The links of `uuid`: a range of a->links, the most recent first. */
static const link *links_of(const audience *a, const char *uuid, size_t *n)
{
    size_t lo = 0, hi = a->nlinks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(a->links[mid].uuid, uuid) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    size_t end = lo;
    while (end < a->nlinks && strcmp(a->links[end].uuid, uuid) == 0)
        end++;
    *n = end - lo;
    return a->links + lo;
}

static void add_source(source *src, size_t *n, uint32_t v, int64_t ds)
{
    if (v == PN_NONE)
        return;
    for (size_t i = 0; i < *n; i++)
        if (src[i].v == v && src[i].ds == ds)
            return;
    src[(*n)++] = (source){v, ds};
}

/* The profiles the merge rule takes for `uuid`, into src (room for 1 + EV_MAX_GRAPH +
 * EV_MAX_LINKS). With /event's limits, so that both list the same visitors: a device's
 * EV_MAX_LINKS most recent authenticated ids, and at most EV_MAX_GRAPH other devices of its
 * graph, taken id after id, each id's devices in byte order. Without them an authenticated id
 * many devices share (a "guest" login) would make every export quadratic in their number. */
static size_t sources_of(const audience *a, const char *uuid, source *src)
{
    size_t n = 0, nl, ngraph = 0;
    const link *own = links_of(a, uuid, &nl);
    const char *graph[EV_MAX_GRAPH];
    if (nl > EV_MAX_LINKS)
        nl = EV_MAX_LINKS;
    if (a->device != EV_DEV_NONE)
        add_source(src, &n, pn_profiles_visitor_find(a->p, uuid, strlen(uuid)), 0);
    if (a->device == EV_DEV_GRAPH)
        for (size_t i = 0; i < nl && ngraph < EV_MAX_GRAPH; i++) { /* devices seen with its ids */
            link key = {NULL, own[i].cid, own[i].ds}, *kp = &key;
            link **at = bsearch(&kp, a->by_cid, a->nlinks, sizeof *a->by_cid, cmp_cid_only);
            while (at && at > a->by_cid && cmp_cid_only(at - 1, &kp) == 0)
                at--;
            for (; at && at < a->by_cid + a->nlinks && cmp_cid_only(at, &kp) == 0 && ngraph < EV_MAX_GRAPH; at++) {
                const char *u = (*at)->uuid;
                int seen = strcmp(u, uuid) == 0;
                for (size_t g = 0; g < ngraph && !seen; g++)
                    seen = strcmp(graph[g], u) == 0;
                if (seen)
                    continue;
                graph[ngraph++] = u;
                add_source(src, &n, pn_profiles_visitor_find(a->p, u, strlen(u)), 0);
            }
        }
    size_t take = a->cross == EV_CROSS_NONE ? 0 : a->cross == EV_CROSS_ALL ? nl : nl > 0;
    for (size_t i = 0; i < take; i++)
        add_source(src, &n, pn_profiles_visitor_find(a->p, own[i].cid, strlen(own[i].cid)), own[i].ds);
    return n;
}

/* The sources of every device, computed once for all the segments of the export. */
static int merge_all(audience *a)
{
    source *scratch = malloc((1 + EV_MAX_GRAPH + EV_MAX_LINKS) * sizeof *scratch);
    size_t cap = 0;
    int ok = scratch && (a->src_at = malloc((a->ndevices + 1) * sizeof *a->src_at)) != NULL;
    if (ok)
        a->src_at[0] = 0;
    for (size_t d = 0; ok && d < a->ndevices; d++) {
        size_t n = sources_of(a, a->devices[d], scratch), at = a->src_at[d];
        if (at + n > cap) {
            size_t c = cap ? cap : 64;
            while (c < at + n)
                c *= 2;
            source *g = realloc(a->srcs, c * sizeof *g);
            if (!(ok = g != NULL))
                break;
            a->srcs = g;
            cap = c;
        }
        if (n)
            memcpy(a->srcs + at, scratch, n * sizeof *scratch);
        a->src_at[d + 1] = at + n;
    }
    free(scratch);
    return ok ? 0 : -1;
}

/* One segment's page of visitors: those after `after` (byte order; NULL: from the first), at most
 * `limit` of them; every qualifying visitor is counted in the population. */
typedef struct page {
    const char *after;
    long long limit;
    cJSON *visitors;
    long long listed, population;
    const char *last; /* the last visitor listed (in `visitors`) */
    int more;         /* a qualifying visitor was left for the next page */
    int failed;       /* out of memory: a visitor could not be listed */
} page;

static void page_add(page *pg, const char *uuid)
{
    pg->population++;
    if (pg->after && strcmp(uuid, pg->after) <= 0)
        return;
    if (pg->listed >= pg->limit) {
        pg->more = 1;
        return;
    }
    cJSON *v = cJSON_CreateString(uuid);
    if (!v || !cJSON_AddItemToArray(pg->visitors, v)) {
        cJSON_Delete(v);
        pg->failed = 1;
        return;
    }
    pg->listed++;
    pg->last = v->valuestring;
}

/* A mapped segment the export lists: read under the API's lock, listed after it. */
typedef struct wanted {
    int64_t id;
    cJSON *entry;            /* its item of "segments" (segment_id, name), visitors added when listed */
    int64_t model, baseline; /* a predictive segment's; model 0 for a rule segment */
    char *rule;              /* a rule segment's rule (owned) */
} wanted;

/* Lists one segment's visitors from db into its entry. 0, or -1 with *why saying what failed:
 * never a partial list, which a destination would take for the segment's members. */
static int list_segment(sqlite3 *db, int64_t account, const wanted *w, const char *after, long long limit,
                        audience *aud, int *loaded, int64_t now, const char **why)
{
    static const char unreadable[] = "the store could not be read", oom[] = "memory ran out";
    page pg = {after, limit, cJSON_AddArrayToObject(w->entry, "visitors"), 0, 0, NULL, 0, 0};
    if (!pg.visitors)
        return *why = oom, -1;
    if (w->model) {
        sqlite3_stmt *st = store_prepare(db, "SELECT uuid FROM classifications WHERE model_id = ? AND "
                                             "baseline_id = ? ORDER BY uuid");
        if (!st)
            return *why = unreadable, -1;
        sqlite3_bind_int64(st, 1, w->model);
        sqlite3_bind_int64(st, 2, w->baseline);
        int rc;
        while (!pg.failed && (rc = sqlite3_step(st)) == SQLITE_ROW)
            page_add(&pg, (const char *)sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        if (!pg.failed && rc != SQLITE_DONE)
            return *why = unreadable, -1;
    } else {
        pn_segment_rule *parsed = NULL;
        pn_error err;
        if (!*loaded)
            *loaded = audience_load(db, account, aud) == 0;
        if (!*loaded)
            return *why = "the store's realizations could not be read whole", -1;
        if (!w->rule || pn_segment_rule_parse(w->rule, strlen(w->rule), &parsed, NULL, &err) != PN_OK)
            return *why = "its rule cannot be evaluated", -1;
        for (size_t d = 0; d < aud->ndevices && !pg.failed; d++) {
            eval_ctx ec = {aud, aud->srcs + aud->src_at[d], aud->src_at[d + 1] - aud->src_at[d]};
            if (pn_segment_rule_eval(parsed, count, &ec, now))
                page_add(&pg, aud->devices[d]);
        }
        pn_segment_rule_free(parsed);
    }
    if (pg.failed || !cJSON_AddNumberToObject(w->entry, "population", (double)pg.population) ||
        !(pg.more && pg.last ? cJSON_AddStringToObject(w->entry, "next_after", pg.last)
                             : cJSON_AddNullToObject(w->entry, "next_after")))
        return *why = oom, -1;
    return 0;
}

/* Lists every wanted segment, all from one state of the store. Under `serve` (c->lock) it does so
 * on a connection of its own with the API's lock released: an export reads every realization of
 * the account and evaluates each rule for every device (seconds for a large audience), and the
 * API runs one request at a time under that lock, so every other request of every account
 * (snapshot downloads, tokens, edits) would wait for it. Returns the id of a segment that could
 * not be listed (*why says why), or 0. */
static int64_t list_unlocked(srv_ctx *c, wanted *ws, size_t n, const char *after, long long limit, const char **why)
{
    sqlite3 *db = c->db, *own = NULL;
    if (c->lock) {
        char err[300];
        if (store_open(sqlite3_db_filename(c->db, "main"), 0, &own, err, sizeof err) == 0) {
            db = own;
            pthread_mutex_unlock(c->lock);
        } else {
            fprintf(stderr, "personae serve: export: %s (exporting on the API's connection)\n", err);
        }
    }
    srv_sync_events(c->cfg, 1); /* export every event acknowledged so far */
    audience aud;
    int loaded = 0;
    int64_t failed = 0, now = srv_now();
    (void)sqlite3_exec(db, "BEGIN", NULL, NULL, NULL); /* one read transaction: one state of the store */
    for (size_t i = 0; i < n && !failed; i++)
        if (list_segment(db, c->account, &ws[i], after, limit, &aud, &loaded, now, why))
            failed = ws[i].id;
    (void)sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (loaded)
        audience_free(&aud);
    if (own) {
        store_close(own);
        pthread_mutex_lock(c->lock);
    }
    return failed;
}

int export_destination(srv_ctx *c, int64_t id, const srv_req *q, srv_resp *r)
{
    /* paging: ?limit=N visitors a segment at most, ?after=ID those after it, ?segment_id=S that
     * segment only; each segment says where its next page starts */
    long long limit = LLONG_MAX, only = 0;
    char *end = NULL;
    if (q && q->limit && ((limit = strtoll(q->limit, &end, 10)) < 1 || limit > 1000000 || *end || end == q->limit))
        return srv_fail(r, 400, "the query argument 'limit' must be a number of visitors from 1 to 1000000, got '%.40s'",
                        q->limit);
    if (q && q->segment && ((only = strtoll(q->segment, &end, 10)) < 1 || *end || end == q->segment))
        return srv_fail(r, 400, "the query argument 'segment_id' must be a segment id, got '%.40s'", q->segment);
    const char *after = q ? q->after : NULL;

    cJSON *dst;
    if (res_load(c, &srv_destinations, id, "READ", &dst, r))
        return r->status;
    uint32_t dl = labels_from_json(cJSON_GetObjectItemCaseSensitive(dst, "dec_labels"));
    const cJSON *ids = cJSON_GetObjectItemCaseSensitive(dst, "segment_ids");
    int mapped = !only;
    for (const cJSON *e = cJSON_IsArray(ids) ? ids->child : NULL; e && !mapped; e = e->next)
        mapped = (int64_t)e->valuedouble == only;
    if (!mapped) {
        cJSON_Delete(dst);
        return srv_fail(r, 404, "segment %lld is not mapped to destination %lld", only, (long long)id);
    }
    cJSON *out = cJSON_CreateObject();
    cJSON_AddNumberToObject(out, "destination_id", (double)id);
    cJSON_AddNumberToObject(out, "generated_at", (double)srv_now());
    cJSON *segments = cJSON_AddArrayToObject(out, "segments");
    cJSON *excluded = cJSON_AddArrayToObject(out, "excluded");
    wanted *ws = calloc((size_t)cJSON_GetArraySize(ids) + 1, sizeof *ws);
    size_t n = 0;
    int ok = ws != NULL && out && segments && excluded;
    int64_t unlabelled = 0; /* a segment whose DEC labels could not be read */
    for (const cJSON *e = ok && cJSON_IsArray(ids) ? ids->child : NULL; e; e = e->next) {
        int64_t sid = (int64_t)e->valuedouble;
        if (only && sid != only)
            continue;
        /* a mapped segment cannot be deleted (it is a reference of the destination): not
         * finding it, or its labels, is a failure of the store, and then nothing is exported,
         * as what it may not go to is unknown */
        cJSON *seg = obj_get(c->db, c->account, "segment", sid, NULL, NULL);
        uint32_t sl = 0;
        if (!seg || segment_labels(c->db, c->account, seg, &sl)) {
            cJSON_Delete(seg);
            unlabelled = sid;
            break;
        }
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(seg, "name");
        if (sl & dl) {
            cJSON *x = cJSON_CreateObject();
            cJSON_AddNumberToObject(x, "segment_id", (double)sid);
            cJSON_AddItemToObject(x, "conflicting_labels", srv_labels_json(sl & dl));
            char why[300];
            snprintf(why, sizeof why, "segment %lld carries data export controls that forbid what destination %lld does",
                     (long long)sid, (long long)id);
            cJSON_AddStringToObject(x, "reason", why);
            cJSON_AddItemToArray(excluded, x);
            cJSON_Delete(seg);
            continue;
        }
        wanted *w = &ws[n++];
        w->id = sid;
        w->entry = cJSON_CreateObject();
        cJSON_AddNumberToObject(w->entry, "segment_id", (double)sid);
        cJSON_AddStringToObject(w->entry, "name", cJSON_IsString(name) ? name->valuestring : "");
        cJSON_AddItemToArray(segments, w->entry);
        w->model = srv_num(seg, "model_id");
        w->baseline = srv_num(seg, "baseline_id");
        const char *rule = srv_str(seg, "rule", NULL);
        w->rule = !w->model && rule ? strdup(rule) : NULL;
        ok = ok && (w->model || !rule || w->rule);
        cJSON_Delete(seg);
    }
    cJSON_Delete(dst);
    const char *why = NULL;
    int64_t failed = ok && !unlabelled ? list_unlocked(c, ws, n, after, limit, &why) : 0;
    for (size_t i = 0; i < n; i++)
        free(ws[i].rule);
    free(ws);
    if (!ok || failed || unlabelled) {
        cJSON_Delete(out);
        if (unlabelled)
            return srv_fail(r, 500, "segment %lld or its DEC labels cannot be read from the store: nothing is exported",
                            (long long)unlabelled);
        return !ok ? srv_fail(r, 500, "out of memory")
                   : srv_fail(r, 500, "segment %lld cannot be listed for the export (%s): nothing is exported",
                              (long long)failed, why);
    }
    return srv_ok(r, 200, out);
}
