/*
 * What /event evaluates for one account, parsed and loaded once: its rule-based traits, its
 * segments, its merge rules and its models with their current snapshots, baselines and target
 * compiled for one-visitor evaluation, and each model's map from the account's traits to
 * snapshot indices (so that scoring a visitor costs no string lookup).
 *
 * A view is immutable once built and shared by the calls that use it (reference counted). The
 * set of views (ev_views) rebuilds an account's view when srv_config.generation has moved; the
 * rebuild runs outside the set's lock, and calls keep using the previous view meanwhile, so a
 * catalog write or a retraining never stalls the endpoint.
 */
#ifndef PN_SERVER_EVENT_VIEW_H
#define PN_SERVER_EVENT_VIEW_H

#include <stdatomic.h>
#include <stdint.h>

#include "personae/rule.h"
#include "personae/snapshot.h"
#include "personae/model.h"
#include "rule_index.h"
#include "srv.h"

enum { EV_CROSS_NONE, EV_CROSS_CURRENT, EV_CROSS_LAST, EV_CROSS_ALL };
enum { EV_DEV_NONE, EV_DEV_THIS, EV_DEV_GRAPH };
/* What a merged profile takes at most, in /event and in exports alike: a device's most recent
 * authenticated ids, and the other devices of its graph. */
#define EV_MAX_LINKS 64
#define EV_MAX_GRAPH 100

#define EV_NOT_FOUND SIZE_MAX

/* A merge rule object's cross-device and device parts (EV_CROSS_*, EV_DEV_*). */
void ev_merge_of(const cJSON *rule, int *cross, int *device);

typedef struct ev_trait {
    int64_t id, ds;
    pn_signal_rule *rule; /* NULL unless rule-based */
} ev_trait;

/* A segment rule whose trait refs are resolved to ids (0: a ref that names no numeric id). */
typedef struct ev_rule {
    pn_segment_rule *rule;
    int64_t *refs;
} ev_rule;

typedef struct ev_segment {
    int64_t id;
    ev_rule r;
} ev_segment;

/* A baseline or target: a trait, or a segment rule. */
typedef struct ev_qual {
    int64_t trait;
    ev_rule r; /* r.rule NULL for a trait */
} ev_qual;

typedef struct ev_pred {
    int64_t baseline, trait, segment; /* a persona's predictive trait and segment */
} ev_pred;

typedef struct ev_model {
    int64_t id;
    int cross, device; /* its merge rule */
    pn_snapshot *snap; /* NULL until trained */
    int64_t version;
    int lookback;               /* days, 0: no limit */
    size_t npersonas;
    int64_t persona[PN_MAX_PERSONAS]; /* baseline id of each snapshot persona */
    ev_qual base[PN_MAX_PERSONAS];
    ev_qual target;
    int has_target;
    uint32_t *snap_index;       /* per view trait (position in traits): snapshot index or PN_NO_TRAIT */
    int64_t *snap_trait_id;     /* per snapshot trait: its id */
    ev_pred pred[PN_MAX_BASELINES];
    size_t npred;
} ev_model;

typedef struct ev_view {
    int64_t account;
    uint64_t generation;
    uint64_t cls_epoch; /* changes whenever a model's version does */
    int cross, device;  /* the account's default merge rule */
    ev_trait *traits;   /* sorted by id */
    size_t ntraits;
    size_t *rule_traits; /* positions of the rule-based traits */
    size_t nrule_traits;
    ri_index *rules;     /* their rules, in rule_traits order: what a call's signals realize */
    ev_segment *segments; /* rule-based segments (predictive ones are classifications) */
    size_t nsegments;
    ev_model models[SRV_MAX_MODELS];
    size_t nmodels;
    int64_t *cross_sources; /* data sources whose ids are authenticated (cross-device) ids */
    size_t ncross;
} ev_view;

/* The position of trait `id` in v->traits, or EV_NOT_FOUND. */
size_t ev_view_trait(const ev_view *v, int64_t id);
/* The same for ids asked in ascending order (a profile's distinct traits): the search starts at
 * *from, where the previous one stopped, and gallops, so a profile of d traits costs about
 * d log(gap) steps instead of d log(ntraits), and the steps are the short predictable ones.
 * *from starts at 0; an id smaller than the previous one is not found (EV_NOT_FOUND). */
size_t ev_view_trait_from(const ev_view *v, int64_t id, size_t *from);
int ev_view_is_cross_source(const ev_view *v, int64_t ds);
const ev_model *ev_view_model(const ev_view *v, int64_t id); /* NULL when not a model of it */

typedef struct ev_views ev_views;

ev_views *ev_views_new(void);
void ev_views_free(ev_views *s); /* every view must have been released */

/* The current view of `account` (a reference released with ev_views_release), or NULL when
 * there is no such account or it cannot be read. When the view must be built, db(ctx) gives a
 * connection of the caller's (NULL: the store cannot be read). */
const ev_view *ev_views_get(ev_views *s, sqlite3 *(*db)(void *ctx), void *ctx, int64_t account,
                            uint64_t generation);
void ev_views_release(ev_views *s, const ev_view *v);

/* After a commit on `db` that may change what /event evaluates for `account` (an API write, a
 * training): builds that account's view again from db on the calling thread, if it has one,
 * calls fresh(ctx, prev, view) with it and the view it replaces (fresh may be NULL), and only
 * then installs it and moves *generation on, so that no /event call pays for the rebuild (other
 * accounts' views are rebuilt by their next call, as ev_views_get does). Refreshes are
 * serialized: each sees the store as the previous one left it. */
void ev_views_refresh(ev_views *s, sqlite3 *db, int64_t account, _Atomic uint64_t *generation,
                      void (*fresh)(void *ctx, const ev_view *prev, const ev_view *v), void *ctx);

#endif
