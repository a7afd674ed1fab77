/*
 * Internal string interning: maps byte strings to dense ids 0, 1, 2 … in insertion order.
 * Used for visitor uuids, trait ids and a snapshot's trait table. Open addressing with linear
 * probing over xxHash3; the strings live in one arena so that a million uuids cost one block.
 */
#ifndef PN_DICT_H
#define PN_DICT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define PN_DICT_NONE UINT32_MAX

typedef struct pn_dict {
    uint32_t *slots;     /* id + 1, 0 when empty */
    size_t slot_mask;    /* slot count - 1 (a power of two) */
    uint32_t *hashes;    /* low 32 bits of each id's hash, to compare and rehash cheaply */
    uint64_t *offsets;   /* n + 1 arena offsets */
    char *arena;
    size_t arena_len, arena_cap, offsets_cap, hashes_cap;
    uint32_t n;
} pn_dict;

void pn__dict_init(pn_dict *d);
void pn__dict_fini(pn_dict *d);

/* Interns `s`; *id gets its id (new or existing). Returns 0, or -1 out of memory or past
 * UINT32_MAX - 1 entries (then the dict is unchanged). */
int pn__dict_intern(pn_dict *d, const char *s, size_t len, uint32_t *id);

/* The id of `s`, or PN_DICT_NONE. */
uint32_t pn__dict_find(const pn_dict *d, const char *s, size_t len);

/* Equality of two byte strings of length n: ids are mostly under 24 bytes, where a call to
 * memcmp costs more than the comparison (this runs twice per line of an events file). */
static inline int pn__eq_bytes(const char *a, const char *b, size_t n)
{
    if (n >= 8 && n <= 16) {
        uint64_t x0, y0, x1, y1;
        memcpy(&x0, a, 8);
        memcpy(&y0, b, 8);
        memcpy(&x1, a + n - 8, 8);
        memcpy(&y1, b + n - 8, 8);
        return ((x0 ^ y0) | (x1 ^ y1)) == 0;
    }
    return memcmp(a, b, n) == 0;
}

/* The bytes of id (NUL-terminated in the arena); borrowed, valid until the next intern. */
static inline const char *pn__dict_str(const pn_dict *d, uint32_t id, size_t *len)
{
    if (len)
        *len = (size_t)(d->offsets[id + 1] - d->offsets[id] - 1);
    return d->arena + d->offsets[id];
}

static inline uint32_t pn__dict_count(const pn_dict *d) { return d->n; }

#endif
