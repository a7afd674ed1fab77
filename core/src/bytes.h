/*
 * Internal little-endian byte writer and bounds-checked reader for the snapshot format.
 * The reader never reads past its end: every get returns 0 and sets `bad` instead, so a
 * truncated or hostile file can only produce an error, never a crash.
 */
#ifndef PN_BYTES_H
#define PN_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"

typedef struct pn_writer {
    uint8_t *buf;
    size_t len, cap;
    int oom;
} pn_writer;

static inline void pn__w_bytes(pn_writer *w, const void *p, size_t n)
{
    if (w->oom)
        return;
    if (pn__grow((void **)&w->buf, &w->cap, w->len + n, 1)) {
        w->oom = 1;
        return;
    }
    if (n)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

static inline void pn__w_u32(pn_writer *w, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    pn__w_bytes(w, b, 4);
}

static inline void pn__w_u64(pn_writer *w, uint64_t v)
{
    pn__w_u32(w, (uint32_t)v);
    pn__w_u32(w, (uint32_t)(v >> 32));
}

static inline void pn__w_f64(pn_writer *w, double d)
{
    uint64_t v;
    memcpy(&v, &d, 8);
    pn__w_u64(w, v);
}

/* A string: u32 byte length, then the bytes (no NUL). */
static inline void pn__w_str(pn_writer *w, const char *s, size_t n)
{
    pn__w_u32(w, (uint32_t)n);
    pn__w_bytes(w, s, n);
}

typedef struct pn_reader {
    const uint8_t *p, *end;
    int bad;
} pn_reader;

static inline const uint8_t *pn__r_take(pn_reader *r, size_t n)
{
    if (r->bad || (size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return NULL;
    }
    const uint8_t *q = r->p;
    r->p += n;
    return q;
}

static inline uint32_t pn__r_u32(pn_reader *r)
{
    const uint8_t *b = pn__r_take(r, 4);
    return b ? (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24 : 0;
}

static inline uint64_t pn__r_u64(pn_reader *r)
{
    uint64_t lo = pn__r_u32(r);
    return lo | (uint64_t)pn__r_u32(r) << 32;
}

static inline double pn__r_f64(pn_reader *r)
{
    uint64_t v = pn__r_u64(r);
    double d;
    memcpy(&d, &v, 8);
    return d;
}

/* A string view into the reader's buffer (not NUL-terminated); NULL when bad. */
static inline const char *pn__r_str(pn_reader *r, size_t *len)
{
    uint32_t n = pn__r_u32(r);
    const uint8_t *b = pn__r_take(r, n);
    *len = b ? n : 0;
    return (const char *)b;
}

#endif
