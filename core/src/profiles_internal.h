/* The profile store's layout, shared with the trainer, which walks it directly for speed. */
#ifndef PN_PROFILES_INTERNAL_H
#define PN_PROFILES_INTERNAL_H

#include "dict.h"
#include "personae/profiles.h"

struct pn_profiles {
    pn_dict visitors, traits;
    /* While filling: one visitor index and one (trait << 32 | ts) key per realization. */
    uint32_t *ev_visitor;
    uint64_t *ev_key;
    size_t ev_len, ev_cap, ev_key_cap;
    uint32_t last_visitor; /* consecutive lines are often the same visitor: skip the lookup */
    int64_t max_ts;
    int sealed;
    /* Once sealed: keys sorted by (visitor, trait, ts) with per-visitor ranges, and the
     * per-(visitor, trait) summaries. */
    uint64_t *keys;
    uint64_t *key_off;       /* visitor v's keys are [key_off[v], key_off[v + 1]) */
    pn_realization *real;
    uint64_t *real_off;      /* visitor v's realizations are [real_off[v], real_off[v + 1]) */
    uint64_t events;
};

#endif
