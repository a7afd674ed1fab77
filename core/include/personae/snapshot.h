/*
 * personae — model snapshots and scoring.
 *
 * A snapshot is what training produces and what every scorer (native, wasm, the server's
 * real-time endpoint) loads: personas, the trait table with per-persona weights, calibration,
 * holdout quality, status and DEC labels. Its byte layout is documented in
 * docs/snapshot-format.md and versioned (PN_SNAPSHOT_FORMAT_VERSION).
 *
 * Ownership: pn_snapshot_load() returns a snapshot the caller frees with pn_snapshot_free();
 * pn_snapshot_save() returns bytes the caller frees with pn_bytes_free(). Strings returned by
 * accessors are borrowed from the snapshot. A loaded snapshot is read-only: any number of
 * threads may classify with it at once without locking.
 */
#ifndef PERSONAE_SNAPSHOT_H
#define PERSONAE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

#include "personae/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PN_SNAPSHOT_FORMAT_VERSION 1u
#define PN_MAX_PERSONAS 50
#define PN_MAX_DRIVERS 5
#define PN_NO_TRAIT UINT32_MAX

/* Section - Loading and saving */

typedef struct pn_snapshot pn_snapshot;

/* Loads a snapshot from `len` bytes (borrowed for the call only: everything is copied).
 * A truncated file fails with PN_ETRUNCATED, a foreign one with PN_EFOREIGN, a newer format
 * with PN_EVERSION, a damaged one (checksum, impossible counts, non-finite weights, duplicate
 * trait ids) with PN_ECORRUPT; never a crash, whatever the bytes. */
pn_status pn_snapshot_load(const void *bytes, size_t len, pn_snapshot **out, pn_error *err);

/* Serializes the snapshot (the same bytes for the same snapshot, on every platform). *bytes is
 * freed by the caller with pn_bytes_free. Fails only with PN_ENOMEM. */
pn_status pn_snapshot_save(const pn_snapshot *s, void **bytes, size_t *len, pn_error *err);

/* Like pn_snapshot_save, but leaves out every trait realized by fewer than `min_support`
 * training visitors: what the server hands to edge destinations, so that a downloaded file
 * reveals nothing about an individual. Scores of the remaining traits are unchanged. */
pn_status pn_snapshot_save_public(const pn_snapshot *s, uint32_t min_support, void **bytes, size_t *len, pn_error *err);

void pn_bytes_free(void *bytes);
/* Frees the snapshot. NULL is a no-op. */
void pn_snapshot_free(pn_snapshot *s);

/* Section - What a snapshot describes (all borrowed) */

typedef enum pn_model_status { PN_STATUS_ACTIVE = 0, PN_STATUS_WARNING = 1 } pn_model_status;
typedef enum pn_persona_status { PN_PERSONA_SUCCEEDED = 0, PN_PERSONA_INSUFFICIENT_DATA = 1 } pn_persona_status;

const char *pn_snapshot_model_id(const pn_snapshot *s);
const char *pn_snapshot_model_name(const pn_snapshot *s);
uint32_t pn_snapshot_model_version(const pn_snapshot *s);
int64_t pn_snapshot_created_at(const pn_snapshot *s);
/* The model's DEC union: labels the predictive segments inherit. */
uint32_t pn_snapshot_dec_labels(const pn_snapshot *s);
int pn_snapshot_lookback_days(const pn_snapshot *s);

pn_model_status pn_snapshot_status(const pn_snapshot *s);
size_t pn_snapshot_reason_count(const pn_snapshot *s);
const char *pn_snapshot_reason(const pn_snapshot *s, size_t i);

size_t pn_snapshot_persona_count(const pn_snapshot *s);
/* The baseline trait or segment id of persona i. */
const char *pn_snapshot_persona_id(const pn_snapshot *s, size_t i);
/* The segment code of persona i when baselines are segments, else NULL. */
const char *pn_snapshot_persona_rule(const pn_snapshot *s, size_t i);

typedef struct pn_persona_info {
    pn_persona_status status;
    uint32_t training_visitors;   /* visitors who qualified for this baseline */
    uint32_t holdout_visitors;    /* held-out visitors whose persona this is */
    double precision, recall, f1; /* on the holdout; 0 when it had none */
} pn_persona_info;
pn_status pn_snapshot_persona_info(const pn_snapshot *s, size_t i, pn_persona_info *out);

/* The target audience: NULL for everyone; *rule gets its segment code when it is a segment. */
const char *pn_snapshot_target(const pn_snapshot *s, const char **rule);

typedef struct pn_quality {
    uint32_t training_visitors;    /* visitors who qualified for at least one baseline */
    uint32_t holdout_visitors;     /* of which held out to measure quality */
    uint32_t target_visitors;      /* active target visitors who qualify for no baseline */
    double accuracy, macro_f1;     /* on the holdout */
    double temperature;            /* calibration: probabilities are softmax(temperature * score / sqrt(traits)) */
    double median_traits_training; /* usable traits per training visitor */
    double median_traits_target;   /* usable traits per target visitor */
} pn_quality;
void pn_snapshot_quality(const pn_snapshot *s, pn_quality *out);

size_t pn_snapshot_trait_count(const pn_snapshot *s);
const char *pn_snapshot_trait_id(const pn_snapshot *s, uint32_t t, size_t *len);
/* The index of a trait id in the snapshot, or PN_NO_TRAIT. */
uint32_t pn_snapshot_trait_find(const pn_snapshot *s, const char *id, size_t len);
/* Training visitors who had trait t. */
uint32_t pn_snapshot_trait_support(const pn_snapshot *s, uint32_t t);
/* The signed weight of trait t for persona p: + raises, − lowers the persona's likelihood. */
double pn_snapshot_weight(const pn_snapshot *s, uint32_t t, size_t p);

/* Fills `traits` with up to `k` of persona p's most influential traits, strongest first:
 * positive = 1 for those that raise its likelihood most, 0 for those that lower it most.
 * Traits with little support are passed over. Returns how many were written. */
size_t pn_snapshot_influential(const pn_snapshot *s, size_t p, int positive, uint32_t *traits, size_t k);

/* Section - Scoring */

typedef struct pn_driver {
    uint32_t trait;       /* snapshot trait index */
    double contribution;  /* its weight for the winning persona */
} pn_driver;

/* The outcome of classifying one visitor. A plain record the caller owns (stack is fine). */
typedef struct pn_classification {
    int32_t persona;          /* winning persona index, or -1 when unclassified */
    double score;             /* the winner's score (0 when unclassified) */
    double confidence;        /* the winner's calibrated probability (0 when unclassified) */
    uint32_t used_traits;     /* distinct traits of the visitor that the snapshot knows */
    uint32_t persona_count;
    double scores[PN_MAX_PERSONAS];        /* sum of the visitor's trait weights, per persona */
    double probabilities[PN_MAX_PERSONAS]; /* calibrated, summing to 1 over eligible personas */
    uint32_t driver_count;
    pn_driver drivers[PN_MAX_DRIVERS];     /* the traits that pushed most towards the winner */
} pn_classification;

/* Classifies a visitor given the snapshot indices of their traits (duplicates and PN_NO_TRAIT
 * entries are ignored). A visitor with no known trait scores 0 everywhere and is unclassified.
 * The highest score wins (ties go to the lower index); personas with insufficient training
 * data never win. Scores are exact sums of fixed-point weights, so they are the same bits in any
 * input order and in every build. Allocation-free for up to 512 traits; PN_ENOMEM only beyond. */
pn_status pn_snapshot_classify(const pn_snapshot *s, const uint32_t *traits, size_t n, pn_classification *out,
                               pn_error *err);

/* The same for a caller whose indices are already distinct (PN_NO_TRAIT entries may repeat):
 * skips the duplicate check, the part of the work that grows with the visitor rather than with
 * the personas. Repeated indices would count more than once: the result is then not a
 * classification of anyone. Allocation-free for up to 512 traits. */
pn_status pn_snapshot_classify_distinct(const pn_snapshot *s, const uint32_t *traits, size_t n,
                                        pn_classification *out, pn_error *err);

/* The same from trait ids (borrowed; unknown ids are ignored). */
pn_status pn_snapshot_classify_ids(const pn_snapshot *s, const char *const *ids, const size_t *lens, size_t n,
                                   pn_classification *out, pn_error *err);

/* Writes one line of a predictions file (DESIGN §3) for `c` into buf, NUL-terminated:
 * "uuid<TAB>persona baseline id or -<TAB>score<TAB>confidence\n", numbers with 6 decimals.
 * Every scorer formats through this one function, so native and wasm files are byte-identical.
 * Returns the line's length; when that is >= cap the line was cut (call again with more room). */
size_t pn_prediction_format(const pn_snapshot *s, const char *uuid, size_t uuid_len, const pn_classification *c,
                            char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif
