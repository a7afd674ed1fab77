/*
 * The visitor cache of /event: what the store knows about recently seen visitors (their
 * realizations, the authenticated ids seen with their device, their real-time classifications),
 * kept in memory so that an event costs no disk read for a visitor seen before.
 *
 * Consistency rules (why the cache never disagrees with the store for long):
 *   - a visitor missing from the cache is read from the store by the caller's loader, which
 *     says up to which event sequence number (the event log's ids, event_log.c) the read
 *     includes everything of that visitor (`upto`);
 *   - only durable writes enter the cache: each /event call applies its own after the event
 *     log's commit (vc_apply). A write is applied only when its sequence number is above the
 *     record's `upto`, so a record read just after a commit does not count that commit twice,
 *     and a record read just before it gets it applied;
 *   - writes from elsewhere (onboarding through the API or the command line) flush the cache
 *     (vc_flush);
 *   - classifications carry the epoch of the trainings they were read under: a record read
 *     before a training has its classifications read again (vc_get with a new epoch), or the
 *     training's applied to them when nothing newer reached them (vc_refresh_cls).
 * The cache keeps to a memory budget, evicting the least recently used visitors of a shard.
 *
 * Threads: every function may be called from any thread; 64 shards, each with its own lock, so
 * that calls for different visitors rarely wait for each other. vc_get's loader runs under its
 * shard's lock (calls for the same shard wait meanwhile); vc_refresh_cls's does not, and may
 * call the cache.
 *
 * Ownership: vc_visitor is a caller-owned buffer filled by vc_get (reused across calls: its
 * arrays grow and are kept); free it with vc_visitor_free.
 */
#ifndef PN_SERVER_VISITOR_CACHE_H
#define PN_SERVER_VISITOR_CACHE_H

#include <stddef.h>
#include <stdint.h>

#define VC_MAX_ID 128

typedef struct vc_row {
    int64_t trait, ts;
} vc_row;

typedef struct vc_link {
    int64_t ds, last_ts;
    char cid[VC_MAX_ID + 1];
} vc_link;

typedef struct vc_cls {
    int64_t model, baseline, version;
} vc_cls;

typedef struct vc_visitor {
    vc_row *rows; /* sorted by trait, then time */
    size_t nrows, caprows;
    int64_t upto; /* every event of this visitor with a sequence number <= upto is included */
    vc_link *links; /* authenticated ids seen with this device, most recent first */
    size_t nlinks, caplinks;
    vc_cls *cls; /* real-time and training classifications, one per model */
    size_t ncls, capcls;
    uint64_t cls_epoch; /* the training epoch cls was read under */
} vc_visitor;

enum { VC_ROWS = 1, VC_LINKS = 2, VC_CLS = 4 };

/* Reads what `what` names (VC_ROWS | VC_LINKS | VC_CLS) of one visitor from the store into out,
 * whose arrays are empty (n = 0) and may be grown with the vc_visitor_add_* functions. Returns 0,
 * or -1 when the store cannot be read. */
typedef int (*vc_loader)(void *ctx, int64_t account, const char *uuid, unsigned what, vc_visitor *out);

int vc_visitor_add_row(vc_visitor *v, int64_t trait, int64_t ts); /* appends: vc_get sorts after a load */
/* Orders rows by trait, then time (a qsort comparator). */
int vc_row_cmp(const void *a, const void *b);
/* Inserts r in that order into rows[0..*n) (capacity *cap, grown as needed). -1: out of memory. */
int vc_rows_insert(vc_row **rows, size_t *n, size_t *cap, vc_row r);
/* Grows *arr to room for `need` items of `size` bytes, doubling its capacity *cap. -1: out of
 * memory (*arr unchanged). */
int vc_grow(void **arr, size_t *cap, size_t need, size_t size);
/* The hash of a visitor (account, device or authenticated id) the cache and the event log's
 * pending events share. */
uint64_t vc_key_hash(int64_t account, const char *uuid);
int vc_visitor_add_link(vc_visitor *v, int64_t ds, const char *cid, int64_t ts); /* most recent first */
int vc_visitor_set_cls(vc_visitor *v, int64_t model, int64_t baseline, int64_t version); /* baseline 0 removes */
void vc_visitor_free(vc_visitor *v);

typedef struct vc_cache vc_cache;

/* A cache that keeps to about budget_bytes (at least one visitor per shard). NULL: no memory. */
vc_cache *vc_new(size_t budget_bytes);
void vc_free(vc_cache *c);

/* Copies the visitor into *out, loading it first when absent (and its classifications again when
 * cls_epoch differs from theirs). Returns 0, or -1 when the loader failed (nothing is cached). */
int vc_get(vc_cache *c, int64_t account, const char *uuid, uint64_t cls_epoch, vc_loader load, void *ctx,
           vc_visitor *out);

/* What a training changed in the store's classifications, so that a refresh can apply it to the
 * cached records in memory instead of reading them again: it replaced every classification of
 * `model` by its own, at `version` (baseline(ctx, uuid): the visitor's, 0 for none), in a commit
 * after which the store held every event up to sequence number `applied`. It applies to a record
 * whose classifications are those of the view before the training (epoch from_epoch) and were
 * neither read nor written past `applied`: a call's classification written after the commit lands
 * after it, as in the store (see vc_refresh_cls). Writes of realizations alone do not count. */
typedef struct vc_trained {
    uint64_t from_epoch;
    int64_t applied;
    int64_t model, version;
    int64_t (*baseline)(void *ctx, const char *uuid);
    void *ctx;
    size_t applied_to; /* set by vc_refresh_cls: how many records it was applied to */
} vc_trained;

/* After a training: brings the cached visitors of `account` whose epoch is not cls_epoch to it,
 * among the per_shard most recently used records of each shard (those likely to call again soon;
 * the others are read by their next vc_get, as before), so that the endpoint's calls do not wait
 * for store reads. A record `trained` (may be NULL) applies to is changed in memory; the others
 * have their classifications read again, each read made with the shard unlocked and kept only if
 * the record did not change meanwhile. Until the next refresh, vc_get does not read a record of
 * that account at that epoch again for a caller still at an older one. Callers serialize their
 * refreshes. Returns how many records were brought to cls_epoch. */
size_t vc_refresh_cls(vc_cache *c, int64_t account, uint64_t cls_epoch, size_t per_shard, vc_trained *trained,
                      vc_loader load, void *ctx);

/* One durable write, applied to the visitor's record if it is cached and the record does not
 * include it yet (seq > upto). */
typedef struct vc_write {
    int64_t seq;             /* the event's sequence number */
    const vc_row *rows;      /* new realizations */
    size_t nrows;
    const vc_link *links;    /* authenticated ids seen now (last_ts = now) */
    size_t nlinks;
    const vc_cls *cls;       /* classifications set (baseline 0: removed) */
    size_t ncls;
} vc_write;
void vc_apply(vc_cache *c, int64_t account, const char *uuid, const vc_write *w);

/* Drops every visitor (after writes the cache did not see). */
void vc_flush(vc_cache *c);

typedef struct vc_stats {
    uint64_t hits, misses, evictions, flushes;
    size_t visitors, bytes;
} vc_stats;
void vc_get_stats(vc_cache *c, vc_stats *out);

#endif
