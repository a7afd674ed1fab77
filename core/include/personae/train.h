/*
 * personae — training a model: from profiles and a model definition to a snapshot.
 *
 * The learner is a length-normalized Complement Naive Bayes (Rennie et al., 2003): each
 * training visitor's usable traits count 1/sqrt(n) each, so heavy visitors do not drown light
 * ones; a trait's weight for persona p is how rarely it is seen outside p. Weights are centered
 * per trait across personas, so that a visitor's score for a persona is a plain sum of signed
 * per-trait contributions (+ raises, − lowers its likelihood) and a visitor with no usable trait
 * scores 0 everywhere. Smoothing is set from the data (half the mean weight of one
 * realization), so there is no knob for a marketer to tune. When the holdout has at least 500
 * visitors, it also chooses how much of the multinomial (own-persona) weights to blend in
 * (0, 0.25 or 0.5): the complement of one persona among many is almost everyone, and the blend
 * separates many personas better; a smaller holdout is too noisy to overrule the complement.
 *
 * Visitors who qualify for several baselines train every one of them with weight 1/k each; for
 * the holdout metrics their persona is the baseline they realized last.
 *
 * Quality: a seeded, deterministic share of the training visitors (holdout_fraction) is held
 * out; a first fit on the rest gives accuracy, macro-F1, per-persona precision and recall, and
 * the calibration temperature; the snapshot's weights come from a second fit on everyone.
 *
 * Ownership: pn_train returns a snapshot the caller frees with pn_snapshot_free. The inputs are
 * borrowed for the call. pn_train is reentrant (no shared state).
 */
#ifndef PERSONAE_TRAIN_H
#define PERSONAE_TRAIN_H

#include <stdint.h>

#include "personae/model.h"
#include "personae/profiles.h"
#include "personae/snapshot.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct pn_train_options {
    int64_t as_of;                       /* "now" in unix seconds; 0: the store's latest timestamp */
    double holdout_fraction;             /* share of training visitors held out; default 0.2 */
    uint64_t seed;                       /* of the holdout split; default 1 */
    uint32_t model_version;              /* written into the snapshot; default 1 */
    int64_t created_at;                  /* written into the snapshot; 0: as_of */
    uint32_t min_support;                /* traits seen on fewer training visitors are left out; default 1 */
    uint32_t advised_persona_visitors;   /* fewer training visitors in a persona warn; default 200 */
    double advised_traits_per_visitor;   /* a lower median of usable traits warns; default 3 */
    /* Called with a stage name and the fraction done (0..1), when not NULL; may be called from
     * the training thread only. */
    void (*progress)(void *ctx, const char *stage, double fraction);
    void *progress_ctx;
} pn_train_options;

/* Fills `o` with the defaults above. */
void pn_train_options_init(pn_train_options *o);

/* Trains `model` on the sealed store `profiles`. `catalog` may be NULL (every trait first-party
 * from one unrestricted data source); with a catalog, traits it does not list, predictive and
 * third-party traits, and traits whose data source carries a DEC label outside the model's DEC
 * union are left out. Baseline and target traits, and the traits their segments name, are never
 * features. `options` may be NULL for the defaults.
 * Fails with PN_ETRAIN and a sentence a user can act on when training cannot run (no visitor
 * qualifies for a baseline, fewer than two personas have visitors, no usable trait). */
pn_status pn_train(const pn_profiles *profiles, const pn_model_def *model, const pn_catalog *catalog,
                   const pn_train_options *options, pn_snapshot **out, pn_error *err);

#ifdef __cplusplus
}
#endif
#endif
