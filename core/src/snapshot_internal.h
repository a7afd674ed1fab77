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
    int32_t *weights;      /* trait-major: weights[t * persona_count + p], fixed point */
};

/* Weights are fixed point with 20 fractional bits. Integer sums are exact in any order, so a
 * visitor's scores are the same bits whatever order their traits come in, natively and in
 * wasm, without sorting; 2^-20 (about 1e-6) is far below any difference that matters. */
#define PN_WEIGHT_ONE 1048576.0
#define PN_WEIGHT_MAX 2000 /* |weight| bound, so that 2000 * 2^20 fits an int32 */

/* Allocates an empty snapshot (all zero, dict initialized); NULL on out of memory. */
pn_snapshot *pn__snapshot_alloc(void);
char *pn__strdup(const char *s);
char *pn__strndup(const char *s, size_t n);

#endif
