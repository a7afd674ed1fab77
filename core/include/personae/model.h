/*
 * personae — the catalog (data sources, traits, segments, destinations), data export control
 * labels, and model definitions with the rules a model must keep (DESIGN §1).
 *
 * Ownership: every *_new / *_parse returns an object the caller frees with the matching *_free
 * (NULL is a no-op). Strings returned by accessors are borrowed from their object. A catalog or
 * model definition is read-only once built and may then be shared between threads; a catalog
 * must outlive the model definitions validated against it.
 */
#ifndef PERSONAE_MODEL_H
#define PERSONAE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "personae/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Section - Data export control labels (a bit set) */

#define PN_DEC_PII 1u                     /* cannot be tied to personally identifiable information */
#define PN_DEC_ONSITE_ADVERTISING 2u      /* cannot be used for on-site advertising */
#define PN_DEC_OFFSITE_ADVERTISING 4u     /* cannot be used for off-site advertising */
#define PN_DEC_ONSITE_PERSONALIZATION 8u  /* cannot be used for on-site personalization */
#define PN_DEC_ALL 15u

/* The label's name ("pii", "onsite_advertising", …) for a single bit, or NULL. */
const char *pn_dec_label_name(uint32_t bit);
/* The bit of a label name, or 0 when the name is not a label. */
uint32_t pn_dec_label_bit(const char *name, size_t len);

/* Section - Catalog */

typedef struct pn_catalog pn_catalog;

typedef enum pn_trait_kind {
    PN_TRAIT_RULE = 0,
    PN_TRAIT_ONBOARDED = 1,
    PN_TRAIT_ALGORITHMIC = 2,
    PN_TRAIT_PREDICTIVE = 3
} pn_trait_kind;

/* Parses a catalog JSON document:
 *   {"data_sources": [{"id", "name"?, "id_type"?: "device"|"cross_device", "dec_labels"?: [...]}],
 *    "traits":       [{"id", "name"?, "data_source", "kind"?: "rule"|"onboarded"|"algorithmic"|"predictive",
 *                      "party"?: "first"|"third", "origin"?: "account"|"shared", "rule"?}],
 *    "segments":     [{"id", "name"?, "rule", "data_source"?, "predictive"?: bool, "origin"?}],
 *    "destinations": [{"id", "name"?, "type"?: "edge"|"server"|"export", "dec_labels"?: [...]}]}
 * Ids are strings (integers are accepted and written in decimal) and unique across traits and
 * segments. A segment's rule must parse and name only catalogued traits. Unknown keys are an
 * error (a typo must not silently drop a restriction). On failure the message names the entry
 * and field. Caller frees *out with pn_catalog_free. */
pn_status pn_catalog_parse(const char *json, size_t len, pn_catalog **out, pn_error *err);

/* An empty catalog to fill with the pn_catalog_add_* calls (how the server builds one from its
 * store). */
pn_status pn_catalog_new(pn_catalog **out, pn_error *err);
pn_status pn_catalog_add_data_source(pn_catalog *c, const char *id, uint32_t dec_labels, pn_error *err);
/* `data_source` must have been added. third_party / shared: nonzero for a third-party trait or
 * one shared into the account from outside. */
pn_status pn_catalog_add_trait(pn_catalog *c, const char *id, const char *data_source, pn_trait_kind kind,
                               int third_party, int shared, pn_error *err);
/* `rule` is segment code (see personae/rule.h); every trait it names must have been added.
 * `data_source` may be NULL. */
pn_status pn_catalog_add_segment(pn_catalog *c, const char *id, const char *rule, const char *data_source,
                                 int predictive, int shared, pn_error *err);
pn_status pn_catalog_add_destination(pn_catalog *c, const char *id, uint32_t dec_labels, pn_error *err);
void pn_catalog_free(pn_catalog *c);

/* The DEC labels of a destination, or PN_EUNKNOWN. */
pn_status pn_catalog_destination_labels(const pn_catalog *c, const char *id, uint32_t *labels, pn_error *err);

/* Section - Model definitions */

#define PN_MIN_BASELINES 2
#define PN_MAX_BASELINES 50
#define PN_DEFAULT_LOOKBACK_DAYS 30
#define PN_MAX_LOOKBACK_DAYS 3650

typedef struct pn_model_def pn_model_def;

/* Parses and validates {"name", "baselines": [ids], "target": id|null, "data_source"?: id,
 * "lookback_days"?: 0..3650 (default 30; 0 means all history), "id"?: string}.
 * With a catalog (may be NULL: then every id is a first-party trait of one unrestricted data
 * source) it enforces DESIGN §1: 2 to 50 distinct baselines, all traits or all segments, every id
 * known (PN_EUNKNOWN), no predictive, algorithmic, third-party or shared trait or segment as
 * baseline or target (PN_ERULE). Caller frees *out with pn_model_def_free. */
pn_status pn_model_def_parse(const char *json, size_t len, const pn_catalog *catalog, pn_model_def **out, pn_error *err);

/* The same rules for a definition built field by field (the server's path). `target` and
 * `data_source` may be NULL; `id` may be NULL (then the name is the id). */
pn_status pn_model_def_new(const char *id, const char *name, const char *const *baselines, size_t baseline_count,
                           const char *target, const char *data_source, int lookback_days, const pn_catalog *catalog,
                           pn_model_def **out, pn_error *err);
void pn_model_def_free(pn_model_def *m);

const char *pn_model_def_id(const pn_model_def *m);
const char *pn_model_def_name(const pn_model_def *m);
size_t pn_model_def_baseline_count(const pn_model_def *m);
const char *pn_model_def_baseline(const pn_model_def *m, size_t i);
/* Nonzero when the baselines are segments (then pn_model_def_segment_rule gives their code). */
int pn_model_def_baselines_are_segments(const pn_model_def *m);
/* The target id, or NULL for everyone. */
const char *pn_model_def_target(const pn_model_def *m);
int pn_model_def_target_is_segment(const pn_model_def *m);
const char *pn_model_def_data_source(const pn_model_def *m);
int pn_model_def_lookback_days(const pn_model_def *m);
/* The union of the DEC labels of the model's data source, every baseline's and the target's
 * data sources: what the predictive segments inherit. */
uint32_t pn_model_def_dec_union(const pn_model_def *m);
/* The segment code of a segment id of the model (a baseline or the target), or NULL. */
const char *pn_model_def_segment_rule(const pn_model_def *m, const char *id);

#ifdef __cplusplus
}
#endif
#endif
