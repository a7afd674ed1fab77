/* Helpers shared by the core unit tests: building stores from event text and checking that a
 * call failed with the expected code and a message naming the input at fault. Header-only so
 * that every tests/unit/test_*.c stays one self-contained cmocka executable. */
#ifndef PN_TEST_UTIL_H
#define PN_TEST_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personae/profiles.h"
#include "personae/status.h"

#define N_ELEMS(a) (sizeof(a) / sizeof *(a))

/* Fails the test unless `st` is `want` and, for failures, err carries the same code and a
 * message containing `needle` (NULL: any non-empty message). */
#define assert_status(st, want, err, needle) pn_test_assert_status_((st), (want), (err), (needle), __FILE__, __LINE__)

static inline void pn_test_assert_status_(pn_status st, pn_status want, const pn_error *err, const char *needle,
                                          const char *file, int line)
{
    if (st != want)
        fail_msg("%s:%d: got %s (%s), want %s", file, line, pn_status_name(st), err ? err->message : "",
                 pn_status_name(want));
    if (want == PN_OK || !err)
        return;
    if (err->code != want)
        fail_msg("%s:%d: err->code is %s, want %s", file, line, pn_status_name(err->code), pn_status_name(want));
    if (err->message[0] == '\0')
        fail_msg("%s:%d: empty error message", file, line);
    if (needle && !strstr(err->message, needle))
        fail_msg("%s:%d: message \"%s\" does not contain \"%s\"", file, line, err->message, needle);
}

/* A sealed store from newline-separated event lines (TSV or JSON). */
static inline pn_profiles *pn_test_profiles(const char *text)
{
    pn_profiles *p = NULL;
    pn_error err;
    if (pn_profiles_new(&p, &err))
        fail_msg("pn_profiles_new: %s", err.message);
    const char *s = text;
    int line = 1;
    while (*s) {
        const char *e = strchr(s, '\n');
        size_t n = e ? (size_t)(e - s) : strlen(s);
        if (pn_profiles_add_line(p, s, n, &err))
            fail_msg("event line %d '%.*s': %s", line, (int)n, s, err.message);
        s += n + (e ? 1 : 0);
        line++;
    }
    if (pn_profiles_finish(p, &err))
        fail_msg("pn_profiles_finish: %s", err.message);
    return p;
}

/* A small deterministic xorshift generator for test data. */
static inline uint64_t pn_test_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Synthetic events with known structure, as TSV text (caller frees with free()):
 *   - visitors "u<i>", persona i % personas, realize baseline trait "b<persona>";
 *   - each realizes each of its persona's 4 telltale traits "p<persona>_<k>" with probability
 *     0.7, each of 6 shared noise traits "n<k>" with probability 0.3, and "tgt" when i % 4 == 0;
 *   - `targets` more visitors "x<i>" have "tgt" and the telltales of persona i % personas, and
 *     no baseline.
 * Timestamps lie in [t0, t0 + 20 days). */
static inline char *pn_test_synthetic(int visitors, int personas, int targets, int64_t t0, uint64_t seed)
{
    size_t cap = 4096 + (size_t)(visitors + targets) * 16 * 48, at = 0;
    char *text = malloc(cap);
    uint64_t r = seed * 2654435761u + 88172645463325252ull;
    for (int i = 0; i < visitors + targets; i++) {
        int target = i >= visitors, k = (target ? i - visitors : i) % personas;
        char uuid[32];
        snprintf(uuid, sizeof uuid, "%s%d", target ? "x" : "u", target ? i - visitors : i);
#define PN_TEST_TS (long long)(t0 + (int64_t)(pn_test_rand(&r) % (20 * 86400)))
        if (!target)
            at += (size_t)snprintf(text + at, cap - at, "%s\tb%d\t%lld\n", uuid, k, PN_TEST_TS);
        for (int j = 0; j < 4; j++)
            if (pn_test_rand(&r) % 10 < 7)
                at += (size_t)snprintf(text + at, cap - at, "%s\tp%d_%d\t%lld\n", uuid, k, j, PN_TEST_TS);
        for (int j = 0; j < 6; j++)
            if (pn_test_rand(&r) % 10 < 3)
                at += (size_t)snprintf(text + at, cap - at, "%s\tn%d\t%lld\n", uuid, j, PN_TEST_TS);
        if (target || i % 4 == 0)
            at += (size_t)snprintf(text + at, cap - at, "%s\ttgt\t%lld\n", uuid, PN_TEST_TS);
#undef PN_TEST_TS
    }
    return text;
}

#endif
