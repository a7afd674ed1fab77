/* The in-memory snapshot, shared by the loader, the saver, the scorer and the trainer. */
#ifndef PN_SNAPSHOT_INTERNAL_H
#define PN_SNAPSHOT_INTERNAL_H

#include "dict.h"
#include "personae/snapshot.h"

typedef struct pn_persona {
    char *id;
    char *rule; /* NULL for trait baselines */
    pn_persona_info info;
} pn_persona;

struct pn_snapshot {
    char *model_id, *model_name, *target, *target_rule;
    uint32_t model_version, dec_labels, status;
    int64_t created_at;
    int32_t lookback_days;
    char **reasons;
    size_t reason_count;
    pn_persona *personas;
    size_t persona_count;
    pn_quality quality;
    pn_dict traits;        /* trait ids, index = trait index */
    uint32_t *support;     /* per trait */
    float *weights;        /* trait-major: weights[t * persona_count + p] */
};

/* Allocates an empty snapshot (all zero, dict initialized); NULL on out of memory. */
pn_snapshot *pn__snapshot_alloc(void);
char *pn__strdup(const char *s);
char *pn__strndup(const char *s, size_t n);

#endif
