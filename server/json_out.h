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
void jw_key_plain(jw *w, const char *key, size_t len);
#define JW_KEY(w, literal) jw_key_plain((w), "\"" literal "\":", sizeof(literal) + 2)
void jw_string(jw *w, const char *s);
void jw_string_n(jw *w, const char *s, size_t len);
void jw_int(jw *w, int64_t v);
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

/* Writes v as printf("%.6f") would into out (at least 32 bytes; beyond 1e24 as "%.17g" so that
 * it fits); returns the length. */
size_t jw_format_fixed6(double v, char *out);

#endif
