/* Pending events (event_internal.h): the logged events the store's tables may not have yet,
 * kept in memory in sequence order, by visitor and by authenticated id, for the readers of
 * /event's visitors and for the ingester, until the store has them.
 *
 * Every operation costs the same however many events are pending: the two indexes are hash
 * tables that grow with the count, and an event leaves its chains in constant time. That matters
 * when the ingester falls behind (a long checkpoint, a store busy with a training): the calls
 * that read a visitor or a device graph meanwhile must not slow down with the backlog, nor hold
 * the lock the event log's writer takes for every commit. */
#include "event_internal.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIN_BUCKETS 1024

/* A chain link of a hash table: pprev points at the pointer to it (a bucket or the previous
 * node's next), so that a node leaves its chain without walking it. */
typedef struct hnode {
    struct hnode *next, **pprev;
    uint64_t hash;
} hnode;

typedef struct htab {
    hnode **b;
    size_t cap; /* a power of two, or 0 before the first insertion */
    size_t n;
} htab;

typedef struct pending pending;

/* One authenticated id of a pending event, in the by-id index. */
typedef struct link_node {
    hnode h;
    pending *owner;
} link_node;

struct pending {
    pending *next; /* in sequence order */
    hnode h;       /* in the by-visitor index */
    ev_logged e;
    link_node links[]; /* e.ncids of them, e.cids[i] for links[i] */
};

struct ev_pending {
    pthread_mutex_t mu;
    pending *head, *ptail;
    htab visitors, ids;
    int64_t last; /* the highest sequence number committed */
};

#define OWNER(node, type, member) ((type *)(void *)((char *)(node) - offsetof(type, member)))

static void chain_push(hnode **bucket, hnode *x)
{
    x->next = *bucket;
    x->pprev = bucket;
    if (*bucket)
        (*bucket)->pprev = &x->next;
    *bucket = x;
}

/* -1 when the table cannot grow: it keeps working, with longer chains. */
static int htab_grow(htab *t)
{
    size_t cap = t->cap ? t->cap * 2 : MIN_BUCKETS;
    hnode **b = calloc(cap, sizeof *b);
    if (!b)
        return -1;
    for (size_t i = 0; i < t->cap; i++)
        for (hnode *x = t->b[i], *next; x; x = next) {
            next = x->next;
            chain_push(&b[x->hash & (cap - 1)], x);
        }
    free(t->b);
    t->b = b;
    t->cap = cap;
    return 0;
}

static int htab_insert(htab *t, hnode *x)
{
    if (t->n >= t->cap && htab_grow(t) && !t->cap)
        return -1;
    chain_push(&t->b[x->hash & (t->cap - 1)], x);
    t->n++;
    return 0;
}

static void htab_remove(htab *t, hnode *x)
{
    *x->pprev = x->next;
    if (x->next)
        x->next->pprev = x->pprev;
    t->n--;
}

static hnode *htab_chain(const htab *t, uint64_t hash)
{
    return t->cap ? t->b[hash & (t->cap - 1)] : NULL;
}

static uint64_t id_hash(int64_t account, int64_t ds, const char *cid)
{
    return vc_key_hash(account ^ (int64_t)((uint64_t)ds * 0x9E3779B97F4A7C15u), cid);
}

ev_pending *ev_pending_new(void)
{
    ev_pending *l = calloc(1, sizeof *l);
    if (l)
        pthread_mutex_init(&l->mu, NULL);
    return l;
}

static void pending_free(pending *p)
{
    free(p->e.payload);
    free(p->e.cids);
    free(p);
}

int ev_pending_add(ev_pending *l, int64_t seq, int64_t account, const char *uuid, int64_t ts, const char *payload,
                   size_t len, char **take, const vc_link *cids, size_t ncids)
{
    int taken = take && *take;
    pending *p = calloc(1, sizeof *p + ncids * sizeof p->links[0]);
    char *text = taken ? *take : malloc(len + 1);
    vc_link *ids = ncids ? malloc(ncids * sizeof *ids) : NULL;
    if (!p || !text || (ncids && !ids)) {
        free(p), free(ids);
        if (!taken)
            free(text);
        return -1;
    }
    if (taken) {
        *take = NULL;
    } else {
        memcpy(text, payload, len);
        text[len] = '\0';
    }
    if (ncids)
        memcpy(ids, cids, ncids * sizeof *cids);
    p->e = (ev_logged){seq, account, ts, "", text, len, ids, ncids};
    snprintf(p->e.uuid, sizeof p->e.uuid, "%s", uuid);
    p->h.hash = vc_key_hash(account, uuid);
    for (size_t i = 0; i < ncids; i++)
        p->links[i] = (link_node){{NULL, NULL, id_hash(account, ids[i].ds, ids[i].cid)}, p};
    pthread_mutex_lock(&l->mu);
    int ok = htab_insert(&l->visitors, &p->h) == 0;
    size_t linked = 0;
    for (; ok && linked < ncids; linked++)
        ok = htab_insert(&l->ids, &p->links[linked].h) == 0;
    if (!ok) {
        while (linked-- > 0)
            htab_remove(&l->ids, &p->links[linked].h);
        if (p->h.pprev)
            htab_remove(&l->visitors, &p->h);
        pthread_mutex_unlock(&l->mu);
        if (taken)
            *take = text, p->e.payload = NULL; /* the caller keeps what it handed over */
        pending_free(p);
        return -1;
    }
    if (l->ptail)
        l->ptail->next = p;
    else
        l->head = p;
    l->ptail = p;
    if (seq > l->last)
        l->last = seq;
    pthread_mutex_unlock(&l->mu);
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    int64_t x = ((const ev_logged *)a)->seq, y = ((const ev_logged *)b)->seq;
    return (x > y) - (x < y);
}

int ev_pending_visitor(ev_pending *l, int64_t account, const char *uuid, ev_logged **out, size_t *n, int64_t *upto)
{
    uint64_t h = vc_key_hash(account, uuid);
    size_t cap = 0;
    int ok = 1;
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&l->mu);
    *upto = l->last;
    for (const hnode *x = htab_chain(&l->visitors, h); ok && x; x = x->next) {
        const pending *p = OWNER(x, pending, h);
        if (x->hash != h || p->e.account != account || strcmp(p->e.uuid, uuid))
            continue;
        if (vc_grow((void **)out, &cap, *n + 1, sizeof **out)) {
            ok = 0;
            break;
        }
        ev_logged *e = &(*out)[*n];
        *e = p->e;
        e->cids = NULL, e->ncids = 0;
        e->payload = malloc(p->e.len + 1);
        if (e->payload)
            memcpy(e->payload, p->e.payload, p->e.len + 1), (*n)++;
        else
            ok = 0;
    }
    pthread_mutex_unlock(&l->mu);
    if (!ok) {
        ev_logged_free(*out, *n), *out = NULL, *n = 0;
        return -1;
    }
    /* a chain holds the newest first; readers apply events in the order they happened */
    if (*n > 1)
        qsort(*out, *n, sizeof **out, by_seq);
    return 0;
}

void ev_logged_free(ev_logged *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].payload);
    free(e);
}

int ev_pending_graph(ev_pending *l, int64_t account, int64_t ds, const char *cid, const char *self,
                     char (*out)[EV_MAX_UUID + 1], size_t *n, size_t cap)
{
    uint64_t h = id_hash(account, ds, cid);
    pthread_mutex_lock(&l->mu);
    for (const hnode *x = htab_chain(&l->ids, h); x && *n < cap; x = x->next) {
        const link_node *k = OWNER(x, link_node, h);
        const ev_logged *e = &k->owner->e;
        const vc_link *id = &e->cids[k - k->owner->links];
        if (x->hash != h || e->account != account || id->ds != ds || strcmp(id->cid, cid) ||
            strcmp(e->uuid, self) == 0)
            continue;
        int seen = 0;
        for (size_t i = 0; !seen && i < *n; i++)
            seen = strcmp(out[i], e->uuid) == 0;
        if (!seen)
            snprintf(out[(*n)++], EV_MAX_UUID + 1, "%s", e->uuid);
    }
    pthread_mutex_unlock(&l->mu);
    return 0;
}

size_t ev_pending_take(ev_pending *l, int64_t after, const ev_logged **out, size_t cap)
{
    /* A batch is thousands of events, and the event log's writer takes this lock for every commit:
     * the walk is done after it. Only the ingester (the caller) removes events and the writer
     * only appends after the tail, so the events from the head to the tail seen under the lock
     * stay, links included, until the caller forgets them. */
    pthread_mutex_lock(&l->mu);
    const pending *p = l->head, *last = l->ptail;
    pthread_mutex_unlock(&l->mu);
    size_t n = 0;
    for (; p && n < cap; p = p == last ? NULL : p->next)
        if (p->e.seq > after)
            out[n++] = &p->e;
    return n;
}

int64_t ev_pending_last(ev_pending *l)
{
    pthread_mutex_lock(&l->mu);
    int64_t last = l->last;
    pthread_mutex_unlock(&l->mu);
    return last;
}

/* Events leave the list and the indexes FORGET_CHUNK at a time under the lock, and are freed
 * after it: a drain forgets thousands of events (thousands of frees), while the event log's
 * writer needs the lock at every commit and /event's readers for every visitor they load. */
#define FORGET_CHUNK 256

void ev_pending_forget(ev_pending *l, int64_t seq)
{
    for (int more = 1; more;) {
        pending *gone = NULL, **end = &gone;
        pthread_mutex_lock(&l->mu);
        size_t n = 0;
        while (l->head && l->head->e.seq <= seq && n++ < FORGET_CHUNK) {
            pending *p = l->head;
            l->head = p->next;
            if (!l->head)
                l->ptail = NULL;
            htab_remove(&l->visitors, &p->h);
            for (size_t i = 0; i < p->e.ncids; i++)
                htab_remove(&l->ids, &p->links[i].h);
            p->next = NULL;
            *end = p;
            end = &p->next;
        }
        more = l->head && l->head->e.seq <= seq;
        if (!more && seq > l->last)
            l->last = seq;
        pthread_mutex_unlock(&l->mu);
        for (pending *p = gone, *next; p; p = next) {
            next = p->next;
            pending_free(p);
        }
    }
}

void ev_pending_free(ev_pending *l)
{
    if (!l)
        return;
    for (pending *p = l->head, *next; p; p = next) {
        next = p->next;
        pending_free(p);
    }
    free(l->visitors.b);
    free(l->ids.b);
    pthread_mutex_destroy(&l->mu);
    free(l);
}
