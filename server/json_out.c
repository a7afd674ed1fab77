/* The streaming JSON writer (json_out.h). */
#include "json_out.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int jw_init(jw *w, size_t cap)
{
    memset(w, 0, sizeof *w);
    w->buf = malloc(cap ? cap : 1);
    w->cap = cap ? cap : 1;
    w->oom = !w->buf;
    return w->oom ? -1 : 0;
}

/* The buffer grown to take n more bytes and the NUL jw_take ends the text with; NULL (and oom set)
 * when memory runs out. */
static char *grow(jw *w, size_t n)
{
    if (w->oom)
        return NULL;
    size_t cap = w->cap ? w->cap : 8192; /* an /event answer fits */
    while (cap < w->len + n + 1)
        cap *= 2;
    char *b = realloc(w->buf, cap);
    if (!b) {
        w->oom = 1;
        return NULL;
    }
    w->buf = b;
    w->cap = cap;
    return b + w->len;
}

/* Where n more bytes go (the writer then moves len past what it wrote): every value is written
 * in place, without a copy through a scratch buffer. */
static inline char *room(jw *w, size_t n)
{
    if (w->buf && w->len + n + 1 <= w->cap && !w->oom)
        return w->buf + w->len;
    return grow(w, n);
}

static inline void put(jw *w, const char *s, size_t n)
{
    char *p = room(w, n);
    if (p) {
        memcpy(p, s, n);
        w->len += n;
    }
}

/* Whether a comma goes before the next value or key (and that one is there now). */
static inline int comma(jw *w)
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

/* Room for a value of at most `max` bytes with its separator, the separator written. */
static inline char *value_at(jw *w, size_t max)
{
    int c = comma(w);
    char *p = room(w, max + 1);
    if (p && c)
        *p++ = ',';
    return p;
}

static inline void value_end(jw *w, char *end)
{
    w->len = (size_t)(end - w->buf);
}

/* The separator before a value or a key. */
static void item(jw *w)
{
    if (comma(w))
        put(w, ",", 1);
}

static void open_container(jw *w, char c)
{
    char *p = value_at(w, 1);
    if (p) {
        *p++ = c;
        value_end(w, p);
    }
    if (++w->depth <= JW_MAX_DEPTH)
        w->has_items[w->depth - 1] = 0;
    else
        w->oom = 1; /* deeper than any answer we write: a bug, reported as a failure */
}

static void close_container(jw *w, char c)
{
    put(w, &c, 1);
    if (w->depth-- <= 0)
        w->oom = 1;
}

void jw_object_begin(jw *w) { open_container(w, '{'); }
void jw_object_end(jw *w) { close_container(w, '}'); }
void jw_array_begin(jw *w) { open_container(w, '['); }
void jw_array_end(jw *w) { close_container(w, ']'); }

static void escaped(jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    put(w, "\"", 1);
    size_t run = 0; /* characters that need no escape are copied in runs */
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        put(w, s + run, i - run);
        run = i + 1;
        char e[6] = {'\\', (char)c, 0, 0, 0, 0};
        size_t len = 2;
        if (c == '\n')
            e[1] = 'n';
        else if (c == '\r')
            e[1] = 'r';
        else if (c == '\t')
            e[1] = 't';
        else if (c < 0x20) {
            e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = hex[c >> 4], e[5] = hex[c & 15];
            len = 6;
        }
        put(w, e, len);
    }
    put(w, s + run, n - run);
    put(w, "\"", 1);
}

void jw_key(jw *w, const char *key)
{
    item(w);
    escaped(w, key, strlen(key));
    put(w, ":", 1);
    w->after_key = 1;
}

void jw_key_plain(jw *w, const char *key, size_t len)
{
    char *p = value_at(w, len);
    if (p) {
        memcpy(p, key, len);
        value_end(w, p + len);
    }
    w->after_key = 1;
}

void jw_string(jw *w, const char *s)
{
    jw_string_n(w, s, strlen(s));
}

void jw_string_n(jw *w, const char *s, size_t len)
{
    item(w);
    escaped(w, s, len);
}

static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                     "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                     "8081828384858687888990919293949596979899";

/* v in decimal at out; the end. Two digits a step: half the divisions of one at a time. */
static char *put_u64(char *out, uint64_t v)
{
    char tmp[20], *q = tmp + sizeof tmp;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        q -= 2;
        memcpy(q, digit_pairs + 2 * r, 2);
    }
    if (v >= 10) {
        q -= 2;
        memcpy(q, digit_pairs + 2 * v, 2);
    } else {
        *--q = (char)('0' + v);
    }
    size_t n = (size_t)(tmp + sizeof tmp - q);
    memcpy(out, q, n);
    return out + n;
}

void jw_int(jw *w, int64_t v)
{
    char *p = value_at(w, 20);
    if (!p)
        return;
    if (v < 0)
        *p++ = '-';
    value_end(w, put_u64(p, v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v));
}

size_t jw_format_fixed6(double v, char *out)
{
    /* v * 1e6 is exact to within half an ulp, which for |x| < 2^33 is under 2^-21: unless x is
     * that close to a half, rounding it to the nearest integer (ties to even, like printf)
     * gives the same digits as printf's exact decimal expansion. The rest goes to printf. */
    double a = fabs(v), x = a * 1e6;
    if (isfinite(v) && x < 8589934592.0) {
        double frac = x - floor(x);
        if (fabs(frac - 0.5) > 1e-6) {
            uint64_t r = (uint64_t)nearbyint(x);
            char *p = out;
            if (signbit(v))
                *p++ = '-';
            p = put_u64(p, r / 1000000);
            *p++ = '.';
            unsigned f = (unsigned)(r % 1000000);
            memcpy(p, digit_pairs + 2 * (f / 10000), 2);
            memcpy(p + 2, digit_pairs + 2 * (f / 100 % 100), 2);
            memcpy(p + 4, digit_pairs + 2 * (f % 100), 2);
            p[6] = '\0';
            return (size_t)(p + 6 - out);
        }
    }
    int n = snprintf(out, 32, "%.6f", v);
    if (n <= 0 || n >= 32) /* |v| >= 1e24: no answer has such numbers, but stay valid JSON */
        n = snprintf(out, 32, "%.17g", v);
    return (size_t)n;
}

void jw_fixed6(jw *w, double v)
{
    if (!isfinite(v)) {
        jw_null(w);
        return;
    }
    char *p = value_at(w, 32); /* jw_format_fixed6 writes at most 31 and a NUL */
    if (p)
        value_end(w, p + jw_format_fixed6(v, p));
}

void jw_bool(jw *w, int v)
{
    item(w);
    put(w, v ? "true" : "false", v ? 4 : 5);
}

void jw_null(jw *w)
{
    item(w);
    put(w, "null", 4);
}

void jw_raw_value(jw *w, const char *s, size_t len)
{
    item(w);
    put(w, s, len);
}

char *jw_take(jw *w, size_t *len)
{
    char *b = w->oom || w->depth != 0 ? NULL : w->buf;
    if (b)
        b[w->len] = '\0'; /* room() always leaves a byte for it */
    if (!b)
        free(w->buf);
    if (len)
        *len = b ? w->len : 0;
    memset(w, 0, sizeof *w);
    return b;
}

void jw_free(jw *w)
{
    free(w->buf);
    memset(w, 0, sizeof *w);
}
