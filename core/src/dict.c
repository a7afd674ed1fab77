/* String interning for uuids and trait ids; see dict.h. */
#include "dict.h"
#include "alloc.h"

#define XXH_INLINE_ALL
#include "xxhash.h"

void pn__dict_init(pn_dict *d)
{
    memset(d, 0, sizeof *d);
}

void pn__dict_fini(pn_dict *d)
{
    if (!d)
        return;
    pn__free(d->slots);
    pn__free(d->hashes);
    pn__free(d->offsets);
    pn__free(d->arena);
    memset(d, 0, sizeof *d);
}

static uint32_t hash_bytes(const char *s, size_t len)
{
    return (uint32_t)XXH3_64bits(s, len);
}

static int same(const pn_dict *d, uint32_t id, uint32_t h, const char *s, size_t len)
{
    if (d->hashes[id] != h)
        return 0;
    size_t n = (size_t)(d->offsets[id + 1] - d->offsets[id] - 1);
    return n == len && pn__eq_bytes(d->arena + d->offsets[id], s, len);
}

static int rehash(pn_dict *d, size_t nslots)
{
    uint32_t *slots = pn__calloc(nslots, sizeof *slots);
    if (!slots)
        return -1;
    size_t mask = nslots - 1;
    for (uint32_t id = 0; id < d->n; id++) {
        size_t i = d->hashes[id] & mask;
        while (slots[i])
            i = (i + 1) & mask;
        slots[i] = id + 1;
    }
    pn__free(d->slots);
    d->slots = slots;
    d->slot_mask = mask;
    return 0;
}

uint32_t pn__dict_find(const pn_dict *d, const char *s, size_t len)
{
    if (!d->slots)
        return PN_DICT_NONE;
    uint32_t h = hash_bytes(s, len);
    for (size_t i = h & d->slot_mask;; i = (i + 1) & d->slot_mask) {
        uint32_t v = d->slots[i];
        if (!v)
            return PN_DICT_NONE;
        if (same(d, v - 1, h, s, len))
            return v - 1;
    }
}

int pn__dict_intern(pn_dict *d, const char *s, size_t len, uint32_t *id)
{
    uint32_t h = hash_bytes(s, len);
    if (d->slots) {
        for (size_t i = h & d->slot_mask;; i = (i + 1) & d->slot_mask) {
            uint32_t v = d->slots[i];
            if (!v)
                break;
            if (same(d, v - 1, h, s, len)) {
                *id = v - 1;
                return 0;
            }
        }
    }
    if (d->n >= UINT32_MAX - 2)
        return -1;
    /* Keep the load factor under one half so that probes stay short. */
    if (!d->slots || (size_t)(d->n + 1) * 2 > d->slot_mask + 1) {
        size_t nslots = d->slots ? (d->slot_mask + 1) * 2 : 64;
        if (rehash(d, nslots))
            return -1;
    }
    if (pn__grow((void **)&d->hashes, &d->hashes_cap, (size_t)d->n + 1, sizeof *d->hashes) ||
        pn__grow((void **)&d->offsets, &d->offsets_cap, (size_t)d->n + 2, sizeof *d->offsets) ||
        pn__grow((void **)&d->arena, &d->arena_cap, d->arena_len + len + 1, 1))
        return -1;
    if (d->n == 0)
        d->offsets[0] = 0;
    memcpy(d->arena + d->arena_len, s, len);
    d->arena[d->arena_len + len] = '\0';
    d->arena_len += len + 1;
    d->offsets[d->n + 1] = d->arena_len;
    d->hashes[d->n] = h;
    size_t i = h & d->slot_mask;
    while (d->slots[i])
        i = (i + 1) & d->slot_mask;
    d->slots[i] = d->n + 1;
    *id = d->n++;
    return 0;
}
