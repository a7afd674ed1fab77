/*
 * personae — visitor profiles built from trait realizations.
 *
 * Ownership: pn_profiles_new() returns a store the caller frees with pn_profiles_free().
 * Strings and arrays returned by accessors are borrowed from the store and stay valid until it
 * is freed or reopened. A store is filled (pn_profiles_add*), then sealed (pn_profiles_finish);
 * after that it is read-only and may be read from several threads at once, until
 * pn_profiles_reopen makes it fillable again. Not thread-safe while being filled.
 */
#ifndef PERSONAE_PROFILES_H
#define PERSONAE_PROFILES_H

#include <stddef.h>
#include <stdint.h>

#include "personae/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PN_NONE UINT32_MAX /* "no such index" for every index-returning lookup */

/* Section - Event lines */

/* Longest uuid or trait id accepted, in bytes. */
#define PN_ID_MAX 256
/* Timestamps are unix seconds in [0, 2^32 - 1]. */
#define PN_TS_MAX 4294967295LL

/* One parsed event: views into the caller's line (borrowed, not NUL-terminated). */
typedef struct pn_event {
    const char *uuid;
    size_t uuid_len;
    const char *trait;
    size_t trait_len;
    int64_t ts;
} pn_event;

/* Parses one line of an events file: `uuid<TAB>trait_id<TAB>unix_seconds` (a trailing CR is
 * ignored), or a JSON object `{"uuid":…,"trait":…,"ts":…}` when the line starts with '{'
 * (trait may be a string or an integer; other keys are ignored). Returns PN_OK, or PN_EPARSE
 * with a message naming the field at fault (the caller adds file and line). A blank line is
 * PN_EINVAL with the message "blank line" so that callers may choose to skip it.
 * For a JSON line the views point into an internal copy only valid until the next call with
 * the same `scratch`: pass a char buffer of at least `len` + 1 bytes (JSON strings are unescaped
 * into it), or NULL for TSV-only input. */
pn_status pn_event_parse(const char *line, size_t len, pn_event *ev, char *scratch, pn_error *err);

/* Section - Profile store */

typedef struct pn_profiles pn_profiles;

/* One visitor's realizations of one trait (16 bytes: a store holds tens of millions). */
typedef struct pn_realization {
    uint32_t trait;      /* index into the store's trait table */
    uint32_t count;      /* number of realizations */
    uint32_t first_seen; /* unix seconds */
    uint32_t last_seen;
} pn_realization;

/* Creates an empty store in *out (caller frees with pn_profiles_free). Fails only with
 * PN_ENOMEM. */
pn_status pn_profiles_new(pn_profiles **out, pn_error *err);

/* Frees the store and everything borrowed from it. NULL is a no-op. */
void pn_profiles_free(pn_profiles *p);

/* Adds one realization. Borrows the strings (they are copied). Fails with PN_EINVAL after
 * pn_profiles_finish, PN_EPARSE for an empty or over-long id or a timestamp out of range,
 * PN_ENOMEM (no realization is added then). */
pn_status pn_profiles_add(pn_profiles *p, const char *uuid, size_t uuid_len, const char *trait, size_t trait_len,
                          int64_t ts, pn_error *err);

/* Parses one event line (see pn_event_parse) and adds it. Blank lines are skipped (PN_OK). */
pn_status pn_profiles_add_line(pn_profiles *p, const char *line, size_t len, pn_error *err);

/* Parses and adds every line of `buf` (lines end with LF; the last may lack it), in one pass
 * over the bytes: the fast path for whole files. On the first bad line it stops and returns its
 * error, with *lines set to that line's number (1-based, counted from the start of buf); on
 * success *lines gets the number of lines read. Lines before the bad one are kept. */
pn_status pn_profiles_add_lines(pn_profiles *p, const char *buf, size_t len, uint64_t *lines, pn_error *err);

/* Hints that about `events` realizations will be added, so that the store can size its arrays
 * once instead of growing them. Optional; PN_ENOMEM leaves the store as it was. */
pn_status pn_profiles_reserve(pn_profiles *p, uint64_t events, pn_error *err);

/* Moves every realization of `src` (not sealed) to the end of `dst` (not sealed), as if src's
 * lines had been added to dst after dst's own: ids, order and the sealed result are exactly
 * those of one store fed both inputs in turn. This lets a caller parse parts of one file on
 * several threads, one store each, and merge them in file order. `src` is left empty. */
pn_status pn_profiles_merge(pn_profiles *dst, pn_profiles *src, pn_error *err);

/* Makes a sealed store fillable again, with every realization it holds, so that a caller can
 * add more and seal it again: a server that trains again and again keeps the realizations it
 * has read, adds only the new ones, and seals the store each time. Adding realizations after
 * reopening gives the same ids and the same sealed result as adding them before the first
 * sealing, and sealing again costs less than the first time (each visitor's earlier
 * realizations are kept sorted). Everything read from the store before is invalid afterwards.
 * A store not sealed is left as it is. PN_ENOMEM leaves the store sealed and as it was. */
pn_status pn_profiles_reopen(pn_profiles *p, pn_error *err);

/* Seals the store: groups realizations per visitor and trait. Idempotent. PN_ENOMEM on
 * failure (the store is then unusable and must be freed). */
pn_status pn_profiles_finish(pn_profiles *p, pn_error *err);

/* pn_profiles_finish in three steps, so that a caller with threads can run the middle one in
 * parallel (the core itself never starts threads): begin groups realizations by visitor;
 * part(i, n) sorts the i-th of n slices of the visitors and builds their per-trait summaries,
 * and may run for different i at the same time on different threads; end seals the store. Calling
 * begin, every part, then end gives exactly the store pn_profiles_finish gives. */
pn_status pn_profiles_finish_begin(pn_profiles *p, pn_error *err);
void pn_profiles_finish_part(pn_profiles *p, size_t i, size_t n);
pn_status pn_profiles_finish_end(pn_profiles *p, pn_error *err);

/* Section - Reading a sealed store (all borrow from the store) */

size_t pn_profiles_visitor_count(const pn_profiles *p);
size_t pn_profiles_trait_count(const pn_profiles *p);
uint64_t pn_profiles_event_count(const pn_profiles *p);
/* Largest timestamp seen (0 for an empty store). */
int64_t pn_profiles_max_ts(const pn_profiles *p);

/* uuid of visitor v (NUL-terminated). */
const char *pn_profiles_visitor_uuid(const pn_profiles *p, uint32_t v, size_t *len);
/* Visitor index of uuid, or PN_NONE. */
uint32_t pn_profiles_visitor_find(const pn_profiles *p, const char *uuid, size_t len);
/* Trait id of trait index t (NUL-terminated). */
const char *pn_profiles_trait_id(const pn_profiles *p, uint32_t t, size_t *len);
/* Trait index of id, or PN_NONE. */
uint32_t pn_profiles_trait_find(const pn_profiles *p, const char *id, size_t len);

/* The realizations of visitor v, sorted by trait index; *n gets their number. */
const pn_realization *pn_profiles_visitor_traits(const pn_profiles *p, uint32_t v, size_t *n);

/* How many times visitor v realized trait t at or after `since` (INT64_MIN: ever). */
uint32_t pn_profiles_count_since(const pn_profiles *p, uint32_t v, uint32_t t, int64_t since);

/* How many realizations of store trait t visitor v has in [since, until] (0 for an empty window).
 * `r` may be v's summary of t from pn_profiles_visitor_traits, which saves a search, or NULL. */
uint32_t pn_profiles_count_between(const pn_profiles *p, uint32_t v, uint32_t t, const pn_realization *r, int64_t since,
                                   int64_t until);

#ifdef __cplusplus
}
#endif
#endif
