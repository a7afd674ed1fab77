/* The profile store's layout, shared with the trainer, which walks it directly for speed. */
#ifndef PN_PROFILES_INTERNAL_H
#define PN_PROFILES_INTERNAL_H

#include "dict.h"
#include "personae/profiles.h"

struct pn_profiles {
    pn_dict visitors, traits;
    /* While filling: one (trait << 32 | ts) key per realization, and the visitor of each run of
     * consecutive realizations (files are mostly grouped by visitor, so a run per visitor
     * instead of an index per line). */
    uint64_t *ev_key;
    size_t ev_len, ev_key_cap;
    struct pn_run {
        uint32_t visitor, len;
    } *runs;
    size_t run_len, run_cap;
    uint32_t last_visitor; /* the visitor of the open run, PN_NONE before the first */
    int64_t max_ts;
    int sealed;
    /* Once sealed: keys sorted by (visitor, trait, ts) with per-visitor ranges, and the
     * per-(visitor, trait) summaries. */
    uint64_t *keys;
    uint64_t *key_off;       /* visitor v's keys are [key_off[v], key_off[v + 1]) */
    /* Visitor v's realizations start at real + key_off[v] (a visitor has no more realizations
     * than events, so each slice of visitors can fill its own without waiting for the others)
     * and number real_len[v]. */
    pn_realization *real;
    uint32_t *real_len;
    uint64_t events;
};

/* Visitor v's summary of store trait t, or NULL (a binary search: summaries are sorted). */
const pn_realization *pn__profiles_find(const pn_profiles *p, uint32_t v, uint32_t t);

#endif
