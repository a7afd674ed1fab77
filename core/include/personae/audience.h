/*
 * personae — who is in a model's personas and target audience.
 *
 * An audience compiles a model's baselines (traits or segments) and target against one profile
 * store, so that membership can be asked per visitor and time window. Training uses it to find
 * the visitors who belong to a persona; classification uses it to skip visitors who already do
 * and to keep to the target audience.
 *
 * Ownership: *_new returns an audience the caller frees with pn_audience_free (NULL is a no-op);
 * it borrows the profile store, which must outlive it. Read-only after creation: safe to query
 * from several threads.
 */
#ifndef PERSONAE_AUDIENCE_H
#define PERSONAE_AUDIENCE_H

#include <stdint.h>

#include "personae/model.h"
#include "personae/profiles.h"
#include "personae/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pn_audience pn_audience;

/* From a model definition (training). The store must be sealed. */
pn_status pn_audience_from_model(const pn_model_def *m, const pn_profiles *p, pn_audience **out, pn_error *err);
/* From the baselines and target a snapshot carries (classification). */
pn_status pn_audience_from_snapshot(const pn_snapshot *s, const pn_profiles *p, pn_audience **out, pn_error *err);
void pn_audience_free(pn_audience *a);

/* The set of baselines visitor v qualifies for (bit i = baseline i), counting only realizations
 * in [since, until] (unix seconds, inclusive). */
uint64_t pn_audience_baselines(const pn_audience *a, uint32_t v, int64_t since, int64_t until);
/* Of the baselines in `set` (from pn_audience_baselines), the one v realized last: for trait
 * baselines the latest realization up to `until`, ties and segment baselines by lowest index. */
int pn_audience_primary(const pn_audience *a, uint32_t v, uint64_t set, int64_t since, int64_t until);
/* Nonzero when v is in the target audience (always, for a model whose target is everyone). */
int pn_audience_in_target(const pn_audience *a, uint32_t v, int64_t since, int64_t until);
/* Nonzero when the store's trait t defines a baseline or the target (a baseline or target
 * trait, or a trait a baseline or target segment names): such traits are never features. */
int pn_audience_defines(const pn_audience *a, uint32_t t);

#ifdef __cplusplus
}
#endif
#endif
