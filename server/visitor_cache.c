/* The visitor cache of /event (visitor_cache.h): 64 shards, each a chained hash table with an
 * LRU list and its part of the memory budget. */
#include "visitor_cache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#define SHARDS 64

typedef struct rec {
    struct rec *hnext;       /* hash chain */
    struct rec *prev, *next; /* LRU list: head is the most recently used */
    uint64_t hash;
    int64_t account;
    size_t bytes;   /* what the record counts against the budget */
    uint64_t stamp; /* the shard's stamp when the record was made or last changed */
    /* the highest event sequence number the record's classifications may hold something of: its
     * reads' `upto` and the seq of its writes that set a classification (v.upto stays its first
     * read's: writes may land out of order) */
    int64_t cls_seq;
    vc_visitor v;
    char uuid[];
} rec;

typedef struct shard {
    pthread_mutex_t mu;
    rec **buckets;
    size_t nbuckets, count, bytes;
    rec *head, *tail;
    uint64_t hits, misses, evictions;
    uint64_t stamp; /* counts the changes of its records; never goes back, even when it is flushed */
} shard;

struct vc_cache {
    shard shards[SHARDS];
    size_t budget; /* per shard */
    _Atomic uint64_t flushes;
    /* the last vc_refresh_cls: the epoch it brought the account's records to, ahead of the view
     * that /event calls still use until the refresh is done */
    _Atomic int64_t ahead_account;
    _Atomic uint64_t ahead_epoch;
};

/* ---- visitor buffers ------------------------------------------------------------------------ */

int vc_grow(void **arr, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return 0;
    size_t c = *cap ? *cap : size >= 64 ? 1 : 16; /* links are large and few */
    while (c < need)
        c *= 2;
    void *g = realloc(*arr, c * size);
    if (!g)
        return -1;
    *arr = g;
    *cap = c;
    return 0;
}

int vc_row_cmp(const void *a, const void *b)
{
    const vc_row *x = a, *y = b;
    return x->trait != y->trait ? (x->trait < y->trait ? -1 : 1) : (x->ts > y->ts) - (x->ts < y->ts);
}

int vc_visitor_add_row(vc_visitor *v, int64_t trait, int64_t ts)
{
    if (vc_grow((void **)&v->rows, &v->caprows, v->nrows + 1, sizeof *v->rows))
        return -1;
    v->rows[v->nrows++] = (vc_row){trait, ts};
    return 0;
}

/* Rows arrive mostly in time order, so the place is near the end of the trait's run and the
 * move is short. */
int vc_rows_insert(vc_row **rows, size_t *n, size_t *cap, vc_row r)
{
    if (vc_grow((void **)rows, cap, *n + 1, sizeof **rows))
        return -1;
    size_t lo = 0, hi = *n;
    while (lo < hi) { /* the first row after r */
        size_t mid = lo + (hi - lo) / 2;
        if (vc_row_cmp(&(*rows)[mid], &r) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(*rows + lo + 1, *rows + lo, (*n - lo) * sizeof **rows);
    (*rows)[lo] = r;
    (*n)++;
    return 0;
}

int vc_visitor_add_link(vc_visitor *v, int64_t ds, const char *cid, int64_t ts)
{
    size_t at = v->nlinks;
    for (size_t i = 0; i < v->nlinks; i++)
        if (v->links[i].ds == ds && strcmp(v->links[i].cid, cid) == 0)
            at = i;
    if (at == v->nlinks) {
        if (vc_grow((void **)&v->links, &v->caplinks, v->nlinks + 1, sizeof *v->links))
            return -1;
        v->nlinks++;
    } else if (v->links[at].last_ts > ts) {
        return 0;
    }
    vc_link l = {ds, ts, {0}};
    snprintf(l.cid, sizeof l.cid, "%s", cid);
    /* keep most recent first: slide the ones seen later than ts up by one */
    size_t to = 0;
    while (to < at && v->links[to].last_ts >= ts)
        to++;
    memmove(v->links + to + 1, v->links + to, (at - to) * sizeof *v->links);
    v->links[to] = l;
    return 0;
}

int vc_visitor_set_cls(vc_visitor *v, int64_t model, int64_t baseline, int64_t version)
{
    for (size_t i = 0; i < v->ncls; i++)
        if (v->cls[i].model == model) {
            if (baseline)
                v->cls[i] = (vc_cls){model, baseline, version};
            else
                v->cls[i] = v->cls[--v->ncls];
            return 0;
        }
    if (!baseline)
        return 0;
    if (vc_grow((void **)&v->cls, &v->capcls, v->ncls + 1, sizeof *v->cls))
        return -1;
    v->cls[v->ncls++] = (vc_cls){model, baseline, version};
    return 0;
}

void vc_visitor_free(vc_visitor *v)
{
    if (!v)
        return;
    free(v->rows);
    free(v->links);
    free(v->cls);
    memset(v, 0, sizeof *v);
}

static int copy_visitor(vc_visitor *to, const vc_visitor *from)
{
    if (vc_grow((void **)&to->rows, &to->caprows, from->nrows, sizeof *to->rows) ||
        vc_grow((void **)&to->links, &to->caplinks, from->nlinks, sizeof *to->links) ||
        vc_grow((void **)&to->cls, &to->capcls, from->ncls, sizeof *to->cls))
        return -1;
    if (from->nrows)
        memcpy(to->rows, from->rows, from->nrows * sizeof *to->rows);
    if (from->nlinks)
        memcpy(to->links, from->links, from->nlinks * sizeof *to->links);
    if (from->ncls)
        memcpy(to->cls, from->cls, from->ncls * sizeof *to->cls);
    to->nrows = from->nrows;
    to->nlinks = from->nlinks;
    to->ncls = from->ncls;
    to->upto = from->upto;
    to->cls_epoch = from->cls_epoch;
    return 0;
}

/* ---- the cache ------------------------------------------------------------------------------ */

vc_cache *vc_new(size_t budget_bytes)
{
    vc_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->budget = budget_bytes / SHARDS;
    for (size_t i = 0; i < SHARDS; i++)
        pthread_mutex_init(&c->shards[i].mu, NULL);
    return c;
}

static void rec_free(rec *r)
{
    vc_visitor_free(&r->v);
    free(r);
}

static void shard_clear(shard *s)
{
    for (rec *r = s->head, *next; r; r = next) {
        next = r->next;
        rec_free(r);
    }
    free(s->buckets);
    s->buckets = NULL;
    s->nbuckets = s->count = s->bytes = 0;
    s->head = s->tail = NULL;
}

void vc_free(vc_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < SHARDS; i++) {
        shard_clear(&c->shards[i]);
        pthread_mutex_destroy(&c->shards[i].mu);
    }
    free(c);
}

uint64_t vc_key_hash(int64_t account, const char *uuid)
{
    return XXH3_64bits_withSeed(uuid, strlen(uuid), (uint64_t)account);
}

static rec *find(shard *s, uint64_t h, int64_t account, const char *uuid)
{
    if (!s->nbuckets)
        return NULL;
    for (rec *r = s->buckets[(h >> 6) & (s->nbuckets - 1)]; r; r = r->hnext)
        if (r->hash == h && r->account == account && strcmp(r->uuid, uuid) == 0)
            return r;
    return NULL;
}

static void lru_unlink(shard *s, rec *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        s->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        s->tail = r->prev;
    r->prev = r->next = NULL;
}

static void lru_front(shard *s, rec *r)
{
    r->next = s->head;
    r->prev = NULL;
    if (s->head)
        s->head->prev = r;
    s->head = r;
    if (!s->tail)
        s->tail = r;
}

static void hash_unlink(shard *s, rec *r)
{
    rec **p = &s->buckets[(r->hash >> 6) & (s->nbuckets - 1)];
    while (*p != r)
        p = &(*p)->hnext;
    *p = r->hnext;
}

static int hash_insert(shard *s, rec *r)
{
    if (s->count + 1 > s->nbuckets) {
        size_t n = s->nbuckets ? s->nbuckets * 2 : 64;
        rec **b = calloc(n, sizeof *b);
        if (!b)
            return -1;
        for (rec *x = s->head; x; x = x->next) { /* every record is on the LRU list */
            size_t i = (x->hash >> 6) & (n - 1);
            x->hnext = b[i];
            b[i] = x;
        }
        free(s->buckets);
        s->buckets = b;
        s->nbuckets = n;
    }
    size_t i = (r->hash >> 6) & (s->nbuckets - 1);
    r->hnext = s->buckets[i];
    s->buckets[i] = r;
    return 0;
}

static size_t rec_bytes(const rec *r)
{
    return sizeof *r + strlen(r->uuid) + 1 + r->v.caprows * sizeof(vc_row) + r->v.caplinks * sizeof(vc_link) +
           r->v.capcls * sizeof(vc_cls);
}

static void account_bytes(shard *s, rec *r)
{
    size_t b = rec_bytes(r);
    s->bytes = s->bytes - r->bytes + b;
    r->bytes = b;
}

static void evict(vc_cache *c, shard *s, const rec *keep)
{
    while (s->bytes > c->budget && s->tail && s->tail != keep) {
        rec *r = s->tail;
        lru_unlink(s, r);
        hash_unlink(s, r);
        s->count--;
        s->bytes -= r->bytes;
        s->evictions++;
        rec_free(r);
    }
}

/* r's classifications become fresh's (moved: fresh keeps none), read at cls_epoch. */
static void take_cls(rec *r, vc_visitor *fresh, uint64_t cls_epoch)
{
    if (fresh->upto > r->cls_seq)
        r->cls_seq = fresh->upto;
    free(r->v.cls);
    r->v.cls = fresh->cls;
    r->v.ncls = fresh->ncls;
    r->v.capcls = fresh->capcls;
    fresh->cls = NULL;
    r->v.cls_epoch = cls_epoch;
}

/* Reads r's classifications again, under its shard's lock. 0, or -1 when the loader failed. */
static int reload_cls(rec *r, uint64_t cls_epoch, vc_loader load, void *ctx)
{
    vc_visitor fresh = {0};
    int rc = load(ctx, r->account, r->uuid, VC_CLS, &fresh);
    if (rc == 0)
        take_cls(r, &fresh, cls_epoch);
    vc_visitor_free(&fresh);
    return rc;
}

int vc_get(vc_cache *c, int64_t account, const char *uuid, uint64_t cls_epoch, vc_loader load, void *ctx,
           vc_visitor *out)
{
    uint64_t h = vc_key_hash(account, uuid);
    shard *s = &c->shards[h & (SHARDS - 1)];
    int rc = 0;
    pthread_mutex_lock(&s->mu);
    rec *r = find(s, h, account, uuid);
    if (r) {
        s->hits++;
        lru_unlink(s, r);
        lru_front(s, r);
    } else {
        s->misses++;
        size_t len = strlen(uuid);
        r = calloc(1, sizeof *r + len + 1);
        if (r) {
            memcpy(r->uuid, uuid, len + 1);
            r->hash = h;
            r->account = account;
        }
        if (!r || load(ctx, account, uuid, VC_ROWS | VC_LINKS | VC_CLS, &r->v) || hash_insert(s, r)) {
            if (r)
                rec_free(r);
            pthread_mutex_unlock(&s->mu);
            return -1;
        }
        if (r->v.nrows > 1)
            qsort(r->v.rows, r->v.nrows, sizeof *r->v.rows, vc_row_cmp);
        r->v.cls_epoch = cls_epoch;
        r->cls_seq = r->v.upto;
        r->stamp = ++s->stamp;
        s->count++;
        lru_front(s, r);
    }
    /* classified before the latest training: what the training stored replaces it, unless a
     * refresh has already read it for the view to come (reading it back for this call's older
     * view, then again for the new one, would only cost two reads; the call is then like one
     * that raced the training's commit) */
    if (r->v.cls_epoch != cls_epoch &&
        !(r->v.cls_epoch == atomic_load(&c->ahead_epoch) && account == atomic_load(&c->ahead_account))) {
        rc = reload_cls(r, cls_epoch, load, ctx);
        r->stamp = ++s->stamp;
    }
    account_bytes(s, r);
    if (rc == 0)
        rc = copy_visitor(out, &r->v);
    evict(c, s, r);
    pthread_mutex_unlock(&s->mu);
    return rc;
}

/* Whether the training `t` describes can be applied to r in memory: r holds the store's
 * classifications as of the view before it, and none newer than the training's commit (a
 * realization is: the training replaced classifications only). */
static int patchable(const rec *r, const vc_trained *t)
{
    return t && r->v.cls_epoch == t->from_epoch && r->cls_seq <= t->applied;
}

/* The training's classification of r replaces r's for its model, under the shard's lock. */
static int patch(vc_cache *c, shard *s, rec *r, const vc_trained *t, uint64_t cls_epoch)
{
    if (vc_visitor_set_cls(&r->v, t->model, t->baseline(t->ctx, r->uuid), t->version))
        return -1;
    r->v.cls_epoch = cls_epoch;
    r->stamp = ++s->stamp;
    account_bytes(s, r);
    evict(c, s, r);
    return 0;
}

size_t vc_refresh_cls(vc_cache *c, int64_t account, uint64_t cls_epoch, size_t per_shard, vc_trained *trained,
                      vc_loader load, void *ctx)
{
    size_t n = 0;
    if (trained)
        trained->applied_to = 0;
    /* callers serialize their refreshes; the pair may be read half updated by vc_get, which
     * then reads a record once more than needed, or (for an epoch of another account's models
     * that equals this one's) not at all, which hashes of 64 bits make as good as impossible */
    atomic_store(&c->ahead_epoch, cls_epoch);
    atomic_store(&c->ahead_account, account);
    for (size_t i = 0; i < SHARDS; i++) {
        shard *s = &c->shards[i];
        /* each pass looks at the shard's per_shard most recent records only, and there are at
         * most 2 * per_shard passes (calls meanwhile may bring records in at the front). A
         * visitor is read with the shard unlocked: the refresh runs in idle time (scheduler.c),
         * and a thread that held the lock without a processor would stop every call for the
         * shard. What it read is kept only if the record did not change meanwhile (its stamp):
         * a call's write or a read at another epoch is newer, and the visitor is looked at again
         * by a later pass or read by its next call. A record the training can be applied to
         * (patchable) costs no read at all. */
        for (size_t pass = 0; pass < 2 * per_shard; pass++) {
            pthread_mutex_lock(&s->mu);
            rec *r = s->head;
            size_t k = 0;
            for (; r && k < per_shard && (r->account != account || r->v.cls_epoch == cls_epoch); k++)
                r = r->next;
            int found = r && k < per_shard;
            if (found && patchable(r, trained)) {
                int failed = patch(c, s, r, trained, cls_epoch);
                pthread_mutex_unlock(&s->mu);
                if (failed) /* out of memory: left to the visitor's next call */
                    break;
                n++;
                trained->applied_to++;
                continue;
            }
            uint64_t hash = found ? r->hash : 0, stamp = found ? r->stamp : 0;
            char *uuid = found ? strdup(r->uuid) : NULL;
            pthread_mutex_unlock(&s->mu);
            vc_visitor fresh = {0};
            int failed = found && (!uuid || load(ctx, account, uuid, VC_CLS, &fresh));
            if (found && !failed) {
                pthread_mutex_lock(&s->mu);
                r = find(s, hash, account, uuid);
                if (r && r->stamp == stamp) {
                    take_cls(r, &fresh, cls_epoch);
                    r->stamp = ++s->stamp;
                    account_bytes(s, r);
                    evict(c, s, r);
                    n++;
                }
                pthread_mutex_unlock(&s->mu);
            }
            vc_visitor_free(&fresh);
            free(uuid);
            if (!found || failed) /* a failed read is left to the visitor's next call */
                break;
        }
    }
    return n;
}

void vc_apply(vc_cache *c, int64_t account, const char *uuid, const vc_write *w)
{
    uint64_t h = vc_key_hash(account, uuid);
    shard *s = &c->shards[h & (SHARDS - 1)];
    pthread_mutex_lock(&s->mu);
    rec *r = find(s, h, account, uuid);
    int ok = 1;
    if (r && w->seq > r->v.upto) {
        for (size_t i = 0; ok && i < w->nrows; i++)
            ok = vc_rows_insert(&r->v.rows, &r->v.nrows, &r->v.caprows, w->rows[i]) == 0;
        for (size_t i = 0; ok && i < w->nlinks; i++)
            ok = vc_visitor_add_link(&r->v, w->links[i].ds, w->links[i].cid, w->links[i].last_ts) == 0;
        for (size_t i = 0; ok && i < w->ncls; i++)
            ok = vc_visitor_set_cls(&r->v, w->cls[i].model, w->cls[i].baseline, w->cls[i].version) == 0;
        if (w->ncls && w->seq > r->cls_seq)
            r->cls_seq = w->seq;
        r->stamp = ++s->stamp;
        if (ok) {
            account_bytes(s, r);
            evict(c, s, r);
        } else { /* out of memory half-way: forget the visitor, the store has it all */
            lru_unlink(s, r);
            hash_unlink(s, r);
            s->count--;
            s->bytes -= r->bytes;
            rec_free(r);
        }
    }
    pthread_mutex_unlock(&s->mu);
}

void vc_flush(vc_cache *c)
{
    for (size_t i = 0; i < SHARDS; i++) {
        pthread_mutex_lock(&c->shards[i].mu);
        shard_clear(&c->shards[i]);
        pthread_mutex_unlock(&c->shards[i].mu);
    }
    atomic_fetch_add(&c->flushes, 1);
}

void vc_get_stats(vc_cache *c, vc_stats *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < SHARDS; i++) {
        shard *s = &c->shards[i];
        pthread_mutex_lock(&s->mu);
        out->hits += s->hits;
        out->misses += s->misses;
        out->evictions += s->evictions;
        out->visitors += s->count;
        out->bytes += s->bytes;
        pthread_mutex_unlock(&s->mu);
    }
    out->flushes = atomic_load(&c->flushes);
}
