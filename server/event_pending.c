/* Pending events (event_internal.h): the logged events the store's tables may not have yet,
 * kept in memory in sequence order and by visitor, for the readers of /event's visitors and for
 * the ingester, until the store has them. */
#include "event_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PENDING_BUCKETS 4096

typedef struct pending {
    struct pending *next;  /* in sequence order */
    struct pending *hnext; /* in its bucket */
    uint64_t hash;
    ev_logged e;
} pending;

struct ev_pending {
    pthread_mutex_t mu;
    pending *head, *ptail;
    pending *buckets[PENDING_BUCKETS];
    int64_t last; /* the highest sequence number committed */
};

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
    pending *p = calloc(1, sizeof *p);
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
    p->hash = vc_key_hash(account, uuid);
    pthread_mutex_lock(&l->mu);
    pending **b = &l->buckets[p->hash % PENDING_BUCKETS];
    p->hnext = *b;
    *b = p;
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

int ev_pending_visitor(ev_pending *l, int64_t account, const char *uuid, ev_logged **out, size_t *n, int64_t *upto)
{
    uint64_t h = vc_key_hash(account, uuid);
    size_t cap = 0;
    int ok = 1;
    *out = NULL;
    *n = 0;
    pthread_mutex_lock(&l->mu);
    *upto = l->last;
    for (const pending *p = l->buckets[h % PENDING_BUCKETS]; ok && p; p = p->hnext) {
        if (p->hash != h || p->e.account != account || strcmp(p->e.uuid, uuid))
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
    if (!ok)
        ev_logged_free(*out, *n), *out = NULL, *n = 0;
    return ok ? 0 : -1;
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
    pthread_mutex_lock(&l->mu);
    for (const pending *p = l->head; p && *n < cap; p = p->next) {
        if (p->e.account != account || strcmp(p->e.uuid, self) == 0)
            continue;
        int match = 0;
        for (size_t i = 0; i < p->e.ncids; i++)
            match |= p->e.cids[i].ds == ds && strcmp(p->e.cids[i].cid, cid) == 0;
        int seen = 0;
        for (size_t i = 0; match && !seen && i < *n; i++)
            seen = strcmp(out[i], p->e.uuid) == 0;
        if (match && !seen)
            snprintf(out[(*n)++], EV_MAX_UUID + 1, "%s", p->e.uuid);
    }
    pthread_mutex_unlock(&l->mu);
    return 0;
}

size_t ev_pending_take(ev_pending *l, int64_t after, const ev_logged **out, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&l->mu);
    for (const pending *p = l->head; p && n < cap; p = p->next)
        if (p->e.seq > after)
            out[n++] = &p->e;
    pthread_mutex_unlock(&l->mu);
    return n;
}

int64_t ev_pending_last(ev_pending *l)
{
    pthread_mutex_lock(&l->mu);
    int64_t last = l->last;
    pthread_mutex_unlock(&l->mu);
    return last;
}

void ev_pending_forget(ev_pending *l, int64_t seq)
{
    pthread_mutex_lock(&l->mu);
    while (l->head && l->head->e.seq <= seq) {
        pending *p = l->head;
        l->head = p->next;
        if (!l->head)
            l->ptail = NULL;
        pending **b = &l->buckets[p->hash % PENDING_BUCKETS];
        while (*b != p)
            b = &(*b)->hnext;
        *b = p->hnext;
        pending_free(p);
    }
    if (seq > l->last)
        l->last = seq;
    pthread_mutex_unlock(&l->mu);
}

void ev_pending_free(ev_pending *l)
{
    if (!l)
        return;
    for (pending *p = l->head, *next; p; p = next) {
        next = p->next;
        pending_free(p);
    }
    pthread_mutex_destroy(&l->mu);
    free(l);
}
