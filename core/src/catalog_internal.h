/* Catalog lookups used by model validation and the trainer. */
#ifndef PN_CATALOG_INTERNAL_H
#define PN_CATALOG_INTERNAL_H

#include "dict.h"
#include "personae/model.h"

typedef struct pn_cat_trait {
    uint32_t data_source; /* index into data sources */
    pn_trait_kind kind;
    int third_party, shared;
} pn_cat_trait;

typedef struct pn_cat_segment {
    char *rule;
    uint32_t data_source;  /* PN_DICT_NONE when not given */
    uint32_t dec_labels;   /* its own data source's and those of every trait its rule names */
    int predictive, shared;
} pn_cat_segment;

struct pn_catalog {
    pn_dict sources, traits, segments, destinations;
    uint32_t *source_labels;
    size_t source_labels_cap;
    pn_cat_trait *trait_info;
    size_t trait_info_cap;
    pn_cat_segment *segment_info;
    size_t segment_info_cap;
    uint32_t *destination_labels;
    size_t destination_labels_cap;
};

/* Why a trait may not be a feature of a model whose DEC union is `dec_union` (0: it may). */
enum {
    PN_EXCLUDE_NONE = 0,
    PN_EXCLUDE_UNCATALOGUED,
    PN_EXCLUDE_PREDICTIVE,
    PN_EXCLUDE_THIRD_PARTY,
    PN_EXCLUDE_DEC
};
int pn__catalog_trait_exclusion(const pn_catalog *c, const char *id, size_t len, uint32_t dec_union);

#endif
