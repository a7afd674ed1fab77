/*
 * A small JSON writer for answers that are written thousands of times a second (/event): it
 * appends to one growing buffer instead of building a cJSON tree, and prints fractions with a
 * fixed six decimals through an exact integer fast path instead of printf's multi-precision
 * code. The digits are those printf("%.6f") gives, so an answer agrees with the predictions
 * file of `personae classify` character for character.
 *
 * Ownership: jw_take hands the buffer to the caller (free()); jw_free releases it otherwise.
 * Errors: an allocation failure sets `oom` and turns every later call into a no-op, so callers
 * check once at the end.
 */
#ifndef PN_SERVER_JSON_OUT_H
#define PN_SERVER_JSON_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define JW_MAX_DEPTH 16

typedef struct jw {
    char *buf;
    size_t len, cap;
    int oom;
    int depth;
    int after_key;                /* the next value follows "key": and takes no comma */
    unsigned char has_items[JW_MAX_DEPTH]; /* per open container: a comma goes before the next item */
} jw;

/* A writer whose buffer starts at `cap` bytes (it grows as needed); a zeroed jw starts at 8 KiB.
 * -1 (and oom set) when out of memory. */
int jw_init(jw *w, size_t cap);

void jw_object_begin(jw *w);
void jw_object_end(jw *w);
void jw_array_begin(jw *w);
void jw_array_end(jw *w);
/* An object key (escaped like a string). */
void jw_key(jw *w, const char *key);
/* A key known to need no escaping (a literal of letters, digits and _): written as is. */
static inline void jw_key_plain(jw *w, const char *key, size_t len);
#define JW_KEY(w, literal) jw_key_plain((w), "\"" literal "\":", sizeof(literal) + 2)
void jw_string(jw *w, const char *s);
void jw_string_n(jw *w, const char *s, size_t len);
static inline void jw_int(jw *w, int64_t v);
/* Six decimals, as printf("%.6f") prints them; NaN and infinities become null. */
void jw_fixed6(jw *w, double v);
void jw_bool(jw *w, int v);
void jw_null(jw *w);
/* Text written as is, as one value (for example a number already formatted). */
void jw_raw_value(jw *w, const char *s, size_t len);

/* The text (NUL-terminated) and its length; NULL after an allocation failure or an unbalanced
 * document. The writer is left empty. */
char *jw_take(jw *w, size_t *len);
void jw_free(jw *w);
/* Empties the writer for a new document, keeping its buffer (and its oom state cleared). */
void jw_reset(jw *w);
/* Whether the document is whole: balanced and written without an allocation failure. */
int jw_complete(const jw *w);

/* Writes v as printf("%.6f") would into out (at least 32 bytes; beyond 1e24 as "%.17g" so that
 * it fits); returns the length. */
size_t jw_format_fixed6(double v, char *out);

/* ---- the inline part: the keys and integers an /event answer is mostly made of ------------- */

/* Where n more bytes go, past the buffer's end (and the NUL jw_take adds), grown: NULL (and oom
 * set) when memory runs out. */
char *jw__grow(jw *w, size_t n);

/* Whether a comma goes before the next value or key (and that one is there now). */
static inline int jw__comma(jw *w)
{
    if (w->after_key) {
        w->after_key = 0;
        return 0;
    }
    if (w->depth <= 0 || w->depth > JW_MAX_DEPTH)
        return 0;
    int c = w->has_items[w->depth - 1];
    w->has_items[w->depth - 1] = 1;
    return c;
}

/* Where n more bytes go (the writer then moves len past what it wrote), with room left for the
 * NUL jw_take adds. */
static inline char *jw__room(jw *w, size_t n)
{
    return w->buf && w->len + n + 1 <= w->cap && !w->oom ? w->buf + w->len : jw__grow(w, n);
}

/* Room for a value of at most `max` bytes with its separator, the separator written: values are
 * written in place, without a copy through a scratch buffer. */
static inline char *jw__value_at(jw *w, size_t max)
{
    int c = jw__comma(w);
    char *p = jw__room(w, max + 1);
    if (p && c)
        *p++ = ',';
    return p;
}

/* Inline with the literal of JW_KEY, the copy is of a known length: a few moves, no call. */
static inline void jw_key_plain(jw *w, const char *key, size_t len)
{
    char *p = jw__value_at(w, len);
    if (p) {
        memcpy(p, key, len);
        w->len = (size_t)(p + len - w->buf);
    }
    w->after_key = 1;
}

/* The decimal digits of v end at `end`; returns where they start. Two digits a step: half the
 * divisions of one at a time. */
static inline char *jw__u64_before(char *end, uint64_t v)
{
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                   "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                   "8081828384858687888990919293949596979899";
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        end -= 2;
        end[0] = pairs[2 * r], end[1] = pairs[2 * r + 1];
    }
    if (v >= 10) {
        end -= 2;
        end[0] = pairs[2 * v], end[1] = pairs[2 * v + 1];
    } else {
        *--end = (char)('0' + v);
    }
    return end;
}

/* How many decimal digits v has. */
static inline size_t jw__digits(uint64_t v)
{
    size_t n = 1;
    for (; v >= 10000; v /= 10000)
        n += 4;
    return n + (v >= 10) + (v >= 100) + (v >= 1000);
}

/* v in decimal at out (at most 20 bytes, no NUL); returns the end. */
static inline char *jw__put_u64(char *out, uint64_t v)
{
    char *end = out + jw__digits(v);
    jw__u64_before(end, v);
    return end;
}

static inline void jw_int(jw *w, int64_t v)
{
    char *p = jw__value_at(w, 20);
    if (!p)
        return;
    if (v < 0)
        *p++ = '-';
    w->len = (size_t)(jw__put_u64(p, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v) - w->buf);
}

#endif
