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

char *jw__grow(jw *w, size_t n)
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

static inline void put(jw *w, const char *s, size_t n)
{
    char *p = jw__room(w, n);
    if (p) {
        memcpy(p, s, n);
        w->len += n;
    }
}

static inline void value_end(jw *w, char *end)
{
    w->len = (size_t)(end - w->buf);
}

/* The separator before a value or a key. */
static void item(jw *w)
{
    if (jw__comma(w))
        put(w, ",", 1);
}

static void open_container(jw *w, char c)
{
    char *p = jw__value_at(w, 1);
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

void jw_string(jw *w, const char *s)
{
    jw_string_n(w, s, strlen(s));
}

void jw_string_n(jw *w, const char *s, size_t len)
{
    item(w);
    escaped(w, s, len);
}

size_t jw_format_fixed6(double v, char *out)
{
    /* v * 1e6 is exact to within half an ulp, which for |x| < 2^33 is under 2^-21: unless x is
     * that close to a half, rounding it to the nearest integer (ties to even, like printf)
     * gives the same digits as printf's exact decimal expansion. The rest goes to printf. */
    double a = fabs(v), x = a * 1e6;
    if (isfinite(v) && x < 8589934592.0) {
        /* x >= 0: truncation is floor, and away from the half the nearest integer is the floor
         * or the next one (integer conversions, not libm's floor and nearbyint calls) */
        uint64_t t = (uint64_t)x;
        double frac = x - (double)t;
        if (fabs(frac - 0.5) > 1e-6) {
            uint64_t r = t + (frac > 0.5);
            char *p = out;
            if (signbit(v))
                *p++ = '-';
            p = jw__put_u64(p, r / 1000000);
            jw__u64_before(p + 7, r % 1000000 + 1000000); /* six digits after a leading 1, */
            *p = '.';                                     /* which the point replaces */
            p[7] = '\0';
            return (size_t)(p + 7 - out);
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
    char *p = jw__value_at(w, 32); /* jw_format_fixed6 writes at most 31 and a NUL */
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
    char *b = jw_complete(w) ? w->buf : NULL;
    if (b)
        b[w->len] = '\0'; /* jw__room() always leaves a byte for it */
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

void jw_reset(jw *w)
{
    char *buf = w->buf;
    size_t cap = w->cap;
    memset(w, 0, sizeof *w);
    w->buf = buf;
    w->cap = cap;
}

int jw_complete(const jw *w)
{
    return !w->oom && w->depth == 0;
}
