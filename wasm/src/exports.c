/*
 * The marshaling shim between the core and JavaScript: every function the .wasm exports is
 * defined here, and only here (PNW_EXPORT). It exists so that JavaScript never needs the core's
 * struct layouts beyond the few asserted below, never passes 64-bit integers (timestamps travel as
 * doubles, exact up to 2^53), and never holds a pointer to a pointer.
 *
 * Ownership follows the core: every *_new / *_load result is released by the matching *_free;
 * strings returned by accessors are borrowed from their snapshot. Errors go to a caller-provided
 * pn_error, as in the core: the shim keeps no state of its own.
 */
#include <emscripten.h>
#include <malloc.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "personae/audience.h"
#include "personae/profiles.h"
#include "personae/snapshot.h"

#define PNW_EXPORT EMSCRIPTEN_KEEPALIVE

/* personae.mjs reads these records at fixed offsets; fail the build, not the scores, if the
 * layout ever moves. */
_Static_assert(offsetof(pn_error, code) == 0 && offsetof(pn_error, message) == 4, "pn_error layout");
_Static_assert(offsetof(pn_classification, persona) == 0, "layout");
_Static_assert(offsetof(pn_classification, score) == 8, "layout");
_Static_assert(offsetof(pn_classification, confidence) == 16, "layout");
_Static_assert(offsetof(pn_classification, used_traits) == 24, "layout");
_Static_assert(offsetof(pn_classification, persona_count) == 28, "layout");
_Static_assert(offsetof(pn_classification, scores) == 32, "layout");
_Static_assert(offsetof(pn_classification, probabilities) == 32 + 8 * PN_MAX_PERSONAS, "layout");
_Static_assert(offsetof(pn_classification, driver_count) == 32 + 16 * PN_MAX_PERSONAS, "layout");
_Static_assert(offsetof(pn_classification, drivers) == 40 + 16 * PN_MAX_PERSONAS, "layout");
_Static_assert(sizeof(pn_driver) == 16 && offsetof(pn_driver, contribution) == 8, "layout");
_Static_assert(PN_MAX_PERSONAS == 50 && PN_MAX_DRIVERS == 5, "personae.mjs assumes these bounds");

/* Section - Memory */

PNW_EXPORT void *pnw_malloc(size_t n) { return malloc(n ? n : 1); }
PNW_EXPORT void pnw_free(void *p) { free(p); }
/* Bytes the allocator has handed out and not taken back: the memory test compares it before
 * and after a million classifications. */
PNW_EXPORT size_t pnw_heap_in_use(void) { return mallinfo().uordblks; }
PNW_EXPORT size_t pnw_sizeof_error(void) { return sizeof(pn_error); }
PNW_EXPORT size_t pnw_sizeof_classification(void) { return sizeof(pn_classification); }

/* Section - Snapshots */

PNW_EXPORT pn_snapshot *pnw_snapshot_load(const void *bytes, size_t len, pn_error *err)
{
    pn_snapshot *s = NULL;
    return pn_snapshot_load(bytes, len, &s, err) == PN_OK ? s : NULL;
}

PNW_EXPORT void pnw_snapshot_free(pn_snapshot *s) { pn_snapshot_free(s); }

/* The snapshot's bytes (all traits, or only those with at least min_support training visitors
 * when public is nonzero); *len gets their length; the caller frees them with pnw_free. */
PNW_EXPORT void *pnw_snapshot_save(const pn_snapshot *s, int public, uint32_t min_support, size_t *len, pn_error *err)
{
    void *bytes = NULL;
    pn_status st = public ? pn_snapshot_save_public(s, min_support, &bytes, len, err) : pn_snapshot_save(s, &bytes, len, err);
    return st == PN_OK ? bytes : NULL;
}

PNW_EXPORT const char *pnw_snapshot_model_id(const pn_snapshot *s) { return pn_snapshot_model_id(s); }
PNW_EXPORT const char *pnw_snapshot_model_name(const pn_snapshot *s) { return pn_snapshot_model_name(s); }
PNW_EXPORT uint32_t pnw_snapshot_model_version(const pn_snapshot *s) { return pn_snapshot_model_version(s); }
PNW_EXPORT double pnw_snapshot_created_at(const pn_snapshot *s) { return (double)pn_snapshot_created_at(s); }
PNW_EXPORT uint32_t pnw_snapshot_dec_labels(const pn_snapshot *s) { return pn_snapshot_dec_labels(s); }
PNW_EXPORT int pnw_snapshot_lookback_days(const pn_snapshot *s) { return pn_snapshot_lookback_days(s); }
PNW_EXPORT int pnw_snapshot_status(const pn_snapshot *s) { return (int)pn_snapshot_status(s); }
PNW_EXPORT size_t pnw_snapshot_reason_count(const pn_snapshot *s) { return pn_snapshot_reason_count(s); }
PNW_EXPORT const char *pnw_snapshot_reason(const pn_snapshot *s, size_t i) { return pn_snapshot_reason(s, i); }
PNW_EXPORT size_t pnw_snapshot_persona_count(const pn_snapshot *s) { return pn_snapshot_persona_count(s); }
PNW_EXPORT const char *pnw_snapshot_persona_id(const pn_snapshot *s, size_t i) { return pn_snapshot_persona_id(s, i); }
PNW_EXPORT const char *pnw_snapshot_persona_rule(const pn_snapshot *s, size_t i) { return pn_snapshot_persona_rule(s, i); }

/* Persona i's record as 6 doubles: status, training and holdout visitors, precision, recall, F1
 * (doubles so that JavaScript reads one Float64Array). */
PNW_EXPORT int pnw_snapshot_persona_info(const pn_snapshot *s, size_t i, double *out)
{
    pn_persona_info in;
    if (pn_snapshot_persona_info(s, i, &in) != PN_OK)
        return -1;
    out[0] = (double)in.status;
    out[1] = in.training_visitors;
    out[2] = in.holdout_visitors;
    out[3] = in.precision;
    out[4] = in.recall;
    out[5] = in.f1;
    return 0;
}

/* The target id (NULL: everyone); its segment code, if any, goes to *rule. */
PNW_EXPORT const char *pnw_snapshot_target(const pn_snapshot *s, const char **rule) { return pn_snapshot_target(s, rule); }

/* The quality record as 8 doubles, in pn_quality's order. */
PNW_EXPORT void pnw_snapshot_quality(const pn_snapshot *s, double *out)
{
    pn_quality q;
    pn_snapshot_quality(s, &q);
    out[0] = q.training_visitors;
    out[1] = q.holdout_visitors;
    out[2] = q.target_visitors;
    out[3] = q.accuracy;
    out[4] = q.macro_f1;
    out[5] = q.temperature;
    out[6] = q.median_traits_training;
    out[7] = q.median_traits_target;
}

PNW_EXPORT size_t pnw_snapshot_trait_count(const pn_snapshot *s) { return pn_snapshot_trait_count(s); }
PNW_EXPORT const char *pnw_snapshot_trait_id(const pn_snapshot *s, uint32_t t, size_t *len) { return pn_snapshot_trait_id(s, t, len); }
PNW_EXPORT uint32_t pnw_snapshot_trait_find(const pn_snapshot *s, const char *id, size_t len) { return pn_snapshot_trait_find(s, id, len); }
PNW_EXPORT uint32_t pnw_snapshot_trait_support(const pn_snapshot *s, uint32_t t) { return pn_snapshot_trait_support(s, t); }
PNW_EXPORT double pnw_snapshot_weight(const pn_snapshot *s, uint32_t t, size_t p) { return pn_snapshot_weight(s, t, p); }
PNW_EXPORT size_t pnw_snapshot_influential(const pn_snapshot *s, size_t p, int positive, uint32_t *traits, size_t k)
{
    return pn_snapshot_influential(s, p, positive, traits, k);
}

/* Section - Scoring */

PNW_EXPORT int pnw_snapshot_classify(const pn_snapshot *s, const uint32_t *traits, size_t n, pn_classification *out,
                                     pn_error *err)
{
    return (int)pn_snapshot_classify(s, traits, n, out, err);
}

/* Classifies from trait ids packed as one UTF-8 buffer with n byte lengths: one call instead of
 * one per id. Resolves into a stack array up to 1024 ids, as pn_snapshot_classify_ids does. */
PNW_EXPORT int pnw_snapshot_classify_packed(const pn_snapshot *s, const char *ids, const uint32_t *lens, size_t n,
                                            pn_classification *out, pn_error *err)
{
    uint32_t stack[1024];
    uint32_t *idx = n <= 1024 ? stack : malloc(n * sizeof *idx);
    if (!idx) {
        err->code = PN_ENOMEM;
        strcpy(err->message, "out of memory");
        return PN_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        idx[i] = pn_snapshot_trait_find(s, ids, lens[i]);
        ids += lens[i];
    }
    pn_status st = pn_snapshot_classify(s, idx, n, out, err);
    if (idx != stack)
        free(idx);
    return (int)st;
}

PNW_EXPORT size_t pnw_prediction_format(const pn_snapshot *s, const char *uuid, size_t uuid_len,
                                        const pn_classification *c, char *buf, size_t cap)
{
    return pn_prediction_format(s, uuid, uuid_len, c, buf, cap);
}

/* Section - Profile stores (the command-line twin, and audience checks of one visitor) */

PNW_EXPORT pn_profiles *pnw_profiles_new(pn_error *err)
{
    pn_profiles *p = NULL;
    return pn_profiles_new(&p, err) == PN_OK ? p : NULL;
}

PNW_EXPORT void pnw_profiles_free(pn_profiles *p) { pn_profiles_free(p); }

PNW_EXPORT int pnw_profiles_reserve(pn_profiles *p, double events, pn_error *err)
{
    return (int)pn_profiles_reserve(p, (uint64_t)events, err);
}

PNW_EXPORT int pnw_profiles_add(pn_profiles *p, const char *uuid, size_t uuid_len, const char *trait, size_t trait_len,
                                double ts, pn_error *err)
{
    /* JSON.parse has already checked that ts is an integer in range; the cast is exact. */
    return (int)pn_profiles_add(p, uuid, uuid_len, trait, trait_len, (int64_t)ts, err);
}

PNW_EXPORT int pnw_profiles_finish(pn_profiles *p, pn_error *err) { return (int)pn_profiles_finish(p, err); }
PNW_EXPORT size_t pnw_profiles_visitor_count(const pn_profiles *p) { return pn_profiles_visitor_count(p); }

/* Where pnw_profiles_add_lines stopped; personae.mjs reads it as 4 uint32s. */
typedef struct pnw_lines {
    uint32_t consumed; /* bytes of the buffer used up: complete lines, plus a JSON line if any */
    uint32_t lines;    /* lines read so far (the number of a failing or JSON line) */
    uint32_t json_at;  /* the JSON line handed back to JavaScript: offset and length */
    uint32_t json_len;
} pnw_lines;

/* Adds every complete line of buf[0, len) to the store, exactly as the native events reader does
 * (split at '\n'; a last line without one only when `final`). A line whose first non-blank
 * byte is '{' is JSON: the call stops there and returns -1 with the line in st->json_at/len,
 * for personae.mjs to parse and add with pnw_profiles_add before calling again from
 * st->consumed. Otherwise returns PN_OK (st->consumed marks the incomplete tail) or the failing
 * line's status, st->lines being its number. */
PNW_EXPORT int pnw_profiles_add_lines(pn_profiles *p, const char *buf, size_t len, int final, pnw_lines *st, pn_error *err)
{
    size_t start = 0;
    for (;;) {
        const char *nl = memchr(buf + start, '\n', len - start);
        if (!nl && (!final || start == len))
            break;
        size_t end = nl ? (size_t)(nl - buf) : len, i = start;
        st->lines++;
        while (i < end && (buf[i] == ' ' || buf[i] == '\t'))
            i++;
        if (i < end && buf[i] == '{') {
            st->json_at = (uint32_t)start;
            st->json_len = (uint32_t)(end - start);
            st->consumed = (uint32_t)(nl ? end + 1 : len);
            return -1;
        }
        pn_status rc = pn_profiles_add_line(p, buf + start, end - start, err);
        if (rc != PN_OK) {
            st->consumed = (uint32_t)start;
            return (int)rc;
        }
        start = nl ? end + 1 : len;
    }
    st->consumed = (uint32_t)start;
    return PN_OK;
}

/* Section - Classifying a whole store, as `personae classify` does (native/cmd_classify.c) */

typedef struct pnw_job {
    const pn_snapshot *s;
    const pn_profiles *p;
    pn_audience *aud;
    uint32_t *map; /* store trait -> snapshot trait, resolved once */
    uint32_t *idx;
    size_t idx_cap;
    uint32_t next; /* next visitor */
} pnw_job;

PNW_EXPORT void pnw_job_free(pnw_job *j)
{
    if (!j)
        return;
    pn_audience_free(j->aud);
    free(j->map);
    free(j->idx);
    free(j);
}

/* A job over a sealed store; both are borrowed and must outlive it. */
PNW_EXPORT pnw_job *pnw_job_new(const pn_snapshot *s, const pn_profiles *p, pn_error *err)
{
    pnw_job *j = calloc(1, sizeof *j);
    size_t T = pn_profiles_trait_count(p);
    if (!j || !(j->map = malloc((T ? T : 1) * sizeof *j->map))) {
        free(j);
        err->code = PN_ENOMEM;
        strcpy(err->message, "out of memory");
        return NULL;
    }
    j->s = s;
    j->p = p;
    if (pn_audience_from_snapshot(s, p, &j->aud, err) != PN_OK) {
        pnw_job_free(j);
        return NULL;
    }
    for (uint32_t t = 0; t < T; t++) {
        size_t len;
        const char *id = pn_profiles_trait_id(p, t, &len);
        j->map[t] = pn_snapshot_trait_find(s, id, len);
    }
    return j;
}

/* Writes the next prediction lines into buf (whole lines only; cap must be at least 1024) and
 * returns their length: 0 when every visitor is done, -1 on failure (err says why). Visitors
 * come in the store's order; those outside the target or inside a baseline, over all history up
 * to the file's latest event, are skipped: the native command's loop, line for line. */
PNW_EXPORT int pnw_job_next(pnw_job *j, char *buf, size_t cap, pn_error *err)
{
    enum { LINE = 1024 }; /* the native command's line buffer: same truncation, same bytes */
    size_t used = 0, V = pn_profiles_visitor_count(j->p);
    while (j->next < V && cap - used >= LINE) {
        uint32_t v = j->next++;
        int64_t now = pn_profiles_max_ts(j->p); /* as native classify: the file's latest event */
        if (!pn_audience_in_target(j->aud, v, 0, now) || pn_audience_baselines(j->aud, v, 0, now))
            continue;
        size_t n;
        const pn_realization *r = pn_profiles_visitor_traits(j->p, v, &n);
        if (n > j->idx_cap) {
            free(j->idx);
            j->idx_cap = n * 2;
            if (!(j->idx = malloc(j->idx_cap * sizeof *j->idx))) {
                j->idx_cap = 0;
                err->code = PN_ENOMEM;
                strcpy(err->message, "out of memory");
                return -1;
            }
        }
        for (size_t k = 0; k < n; k++)
            j->idx[k] = j->map[r[k].trait];
        pn_classification c;
        if (pn_snapshot_classify(j->s, j->idx, n, &c, err) != PN_OK)
            return -1;
        size_t ulen;
        const char *uuid = pn_profiles_visitor_uuid(j->p, v, &ulen);
        char line[LINE];
        size_t len = pn_prediction_format(j->s, uuid, ulen, &c, line, sizeof line);
        len = len < sizeof line ? len : sizeof line - 1;
        memcpy(buf + used, line, len);
        used += len;
    }
    return (int)used;
}

/* Section - Audience of one visitor (the JavaScript classify's `audience` option) */

/* Whether one visitor, given as n traits (packed UTF-8 ids with byte lengths, realization counts
 * and last-seen unix seconds), is in the snapshot's target and which baseline they already
 * qualify for, over [since, until]: the same test native classify applies before scoring. Each
 * trait's `count` realizations are placed at its last-seen time (counts are capped at 65535).
 * Writes {in_target, primary baseline or -1} to out; returns a pn_status. */
PNW_EXPORT int pnw_visitor_audience(const pn_snapshot *s, const char *ids, const uint32_t *lens, const uint32_t *counts,
                                    const double *last_seen, size_t n, double since, double until, int32_t *out,
                                    pn_error *err)
{
    pn_profiles *p = NULL;
    pn_audience *a = NULL;
    pn_status st = pn_profiles_new(&p, err);
    for (size_t i = 0; st == PN_OK && i < n; i++) {
        uint32_t c = counts[i] > 65535 ? 65535 : counts[i];
        for (uint32_t k = 0; st == PN_OK && k < c; k++)
            st = pn_profiles_add(p, "v", 1, ids, lens[i], (int64_t)last_seen[i], err);
        ids += lens[i];
    }
    if (st == PN_OK)
        st = pn_profiles_finish(p, err);
    if (st == PN_OK)
        st = pn_audience_from_snapshot(s, p, &a, err);
    if (st == PN_OK) {
        int64_t lo = (int64_t)since, hi = (int64_t)until;
        int in_store = pn_profiles_visitor_count(p) > 0;
        /* A visitor with no realization at all is in no baseline, and in the target only when it
         * is everyone: evaluate against an empty profile without a store entry. */
        uint64_t set = in_store ? pn_audience_baselines(a, 0, lo, hi) : 0;
        out[0] = in_store ? pn_audience_in_target(a, 0, lo, hi) : pn_snapshot_target(s, NULL) == NULL;
        out[1] = set ? pn_audience_primary(a, 0, set, lo, hi) : -1;
    }
    pn_audience_free(a);
    pn_profiles_free(p);
    return (int)st;
}
