/*
 * Fuzz target for event lines (pn_event_parse) and the profile store they fill. The input is
 * split into lines. Beyond "no crash, no leak, no undefined behaviour" it checks:
 *   - a parsed event keeps the documented bounds (ids of 1 to PN_ID_MAX bytes without control
 *     characters, timestamps in [0, PN_TS_MAX]) and survives a round trip through TSV;
 *   - a failure is PN_EPARSE (PN_EINVAL "blank line" for blank lines) with a matching record;
 *   - pn_profiles_add_line agrees with pn_event_parse, and the sealed store is consistent:
 *     counts add up, realizations are sorted, first <= last, window counts match;
 *   - pn_profiles_add_lines (the one-pass fast path) gives exactly what add_line line by line
 *     gives, up to the same first bad line with the same error; and two stores fed the halves
 *     of the input, merged and sealed in parts, equal one store fed all of it.
 * Built with -DPN_FUZZ_STANDALONE it has a main() that runs each file named on the command
 * line once, for regression runs without libFuzzer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "personae/audience.h"
#include "personae/profiles.h"

#include "fuzz_check.h"

static int clean_id(const char *s, size_t n)
{
    if (n == 0 || n > PN_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return 0;
    return 1;
}

static void check_line(pn_profiles *p, const char *line, size_t len)
{
    char *scratch = malloc(len + 1);
    pn_event ev;
    pn_error err;
    CHECK(scratch);
    pn_status st = pn_event_parse(line, len, &ev, scratch, &err);
    uint64_t before = pn_profiles_event_count(p);
    pn_error err2;
    pn_status added = pn_profiles_add_line(p, line, len, &err2);
    if (st == PN_OK) {
        CHECK(clean_id(ev.uuid, ev.uuid_len) && clean_id(ev.trait, ev.trait_len));
        CHECK(ev.ts >= 0 && ev.ts <= PN_TS_MAX);
        /* the views point into the line (TSV) or the scratch (JSON) */
        int in_line = ev.uuid >= line && ev.uuid + ev.uuid_len <= line + len;
        int in_scratch = ev.uuid >= scratch && ev.uuid + ev.uuid_len <= scratch + len + 1;
        CHECK(in_line || in_scratch);
        /* a TSV rendering parses back to the same event */
        char *tsv = malloc(ev.uuid_len + ev.trait_len + 32);
        CHECK(tsv);
        int n = snprintf(tsv, ev.uuid_len + ev.trait_len + 32, "%.*s\t%.*s\t%lld", (int)ev.uuid_len, ev.uuid,
                         (int)ev.trait_len, ev.trait, (long long)ev.ts);
        pn_event again;
        CHECK(pn_event_parse(tsv, (size_t)n, &again, NULL, NULL) == PN_OK);
        CHECK(again.uuid_len == ev.uuid_len && !memcmp(again.uuid, ev.uuid, ev.uuid_len));
        CHECK(again.trait_len == ev.trait_len && !memcmp(again.trait, ev.trait, ev.trait_len));
        CHECK(again.ts == ev.ts);
        free(tsv);
        CHECK(added == PN_OK && pn_profiles_event_count(p) == before + 1);
    } else {
        CHECK(err.code == st && err.message[0] != '\0');
        CHECK(st == PN_EPARSE || (st == PN_EINVAL && strcmp(err.message, "blank line") == 0));
        CHECK(pn_profiles_event_count(p) == before);
        CHECK(st == PN_EINVAL ? added == PN_OK : added == st);
    }
    free(scratch);
}

static void check_store(pn_profiles *p)
{
    uint64_t events = pn_profiles_event_count(p);
    CHECK(pn_profiles_finish(p, NULL) == PN_OK);
    CHECK(pn_profiles_event_count(p) == events);
    uint64_t total = 0;
    int64_t max_ts = 0;
    size_t T = pn_profiles_trait_count(p);
    for (uint32_t v = 0; v < pn_profiles_visitor_count(p); v++) {
        size_t len, n;
        const char *u = pn_profiles_visitor_uuid(p, v, &len);
        CHECK(pn_profiles_visitor_find(p, u, len) == v);
        const pn_realization *r = pn_profiles_visitor_traits(p, v, &n);
        for (size_t i = 0; i < n; i++) {
            CHECK(r[i].trait < T && r[i].count > 0 && r[i].first_seen <= r[i].last_seen);
            CHECK(i == 0 || r[i - 1].trait < r[i].trait);
            CHECK(pn_profiles_count_since(p, v, r[i].trait, INT64_MIN) == r[i].count);
            CHECK(pn_profiles_count_since(p, v, r[i].trait, (int64_t)r[i].last_seen) >= 1);
            CHECK(pn_profiles_count_since(p, v, r[i].trait, (int64_t)r[i].last_seen + 1) == 0);
            uint32_t early = pn_profiles_count_between(p, v, r[i].trait, NULL, INT64_MIN, (int64_t)r[i].first_seen);
            uint32_t rest = pn_profiles_count_between(p, v, r[i].trait, NULL, (int64_t)r[i].first_seen + 1, INT64_MAX);
            CHECK(early >= 1 && early + rest == r[i].count);
            total += r[i].count;
            if ((int64_t)r[i].last_seen > max_ts)
                max_ts = r[i].last_seen;
        }
    }
    CHECK(total == events);
    CHECK(pn_profiles_max_ts(p) == max_ts);
    for (uint32_t t = 0; t < T; t++) {
        size_t len;
        const char *id = pn_profiles_trait_id(p, t, &len);
        CHECK(pn_profiles_trait_find(p, id, len) == t);
    }
}

static void check_same(const pn_profiles *a, const pn_profiles *b)
{
    CHECK(pn_profiles_visitor_count(a) == pn_profiles_visitor_count(b));
    CHECK(pn_profiles_trait_count(a) == pn_profiles_trait_count(b));
    CHECK(pn_profiles_event_count(a) == pn_profiles_event_count(b));
    CHECK(pn_profiles_max_ts(a) == pn_profiles_max_ts(b));
    for (uint32_t t = 0; t < pn_profiles_trait_count(a); t++) {
        size_t la, lb;
        const char *x = pn_profiles_trait_id(a, t, &la), *y = pn_profiles_trait_id(b, t, &lb);
        CHECK(la == lb && memcmp(x, y, la) == 0);
    }
    for (uint32_t v = 0; v < pn_profiles_visitor_count(a); v++) {
        size_t la, lb, na, nb;
        const char *x = pn_profiles_visitor_uuid(a, v, &la), *y = pn_profiles_visitor_uuid(b, v, &lb);
        CHECK(la == lb && memcmp(x, y, la) == 0);
        const pn_realization *ra = pn_profiles_visitor_traits(a, v, &na), *rb = pn_profiles_visitor_traits(b, v, &nb);
        CHECK(na == nb && (na == 0 || memcmp(ra, rb, na * sizeof *ra) == 0));
    }
}

/* add_line line by line, stopping at the first error as add_lines does. */
static pn_status add_each(pn_profiles *p, const char *text, size_t size, uint64_t *lines, pn_error *err)
{
    uint64_t n = 0;
    size_t start = 0;
    while (start < size) {
        const char *nl = memchr(text + start, '\n', size - start);
        size_t end = nl ? (size_t)(nl - text) : size;
        n++;
        pn_status st = pn_profiles_add_line(p, text + start, end - start, err);
        if (st) {
            *lines = n;
            return st;
        }
        start = end + 1;
    }
    *lines = n;
    return PN_OK;
}

static void check_fast_path(const char *text, size_t size)
{
    pn_profiles *fast, *slow;
    pn_error ef, es;
    uint64_t lf = 0, ls = 0;
    CHECK(pn_profiles_new(&fast, NULL) == PN_OK && pn_profiles_new(&slow, NULL) == PN_OK);
    pn_status sf = pn_profiles_add_lines(fast, text, size, &lf, &ef);
    pn_status ss = add_each(slow, text, size, &ls, &es);
    CHECK(sf == ss && lf == ls);
    CHECK(sf == PN_OK || (ef.code == es.code && strcmp(ef.message, es.message) == 0));
    CHECK(pn_profiles_event_count(fast) == pn_profiles_event_count(slow));
    CHECK(pn_profiles_finish(fast, NULL) == PN_OK && pn_profiles_finish(slow, NULL) == PN_OK);
    check_same(fast, slow);

    if (sf == PN_OK) {
        /* halves at a line boundary, merged, sealed in three parts */
        size_t cut = size / 2;
        while (cut > 0 && cut < size && text[cut - 1] != '\n')
            cut++;
        pn_profiles *a, *b;
        uint64_t l;
        CHECK(pn_profiles_new(&a, NULL) == PN_OK && pn_profiles_new(&b, NULL) == PN_OK);
        CHECK(pn_profiles_add_lines(a, text, cut, &l, NULL) == PN_OK);
        CHECK(pn_profiles_add_lines(b, text + cut, size - cut, &l, NULL) == PN_OK);
        CHECK(pn_profiles_merge(a, b, NULL) == PN_OK && pn_profiles_event_count(b) == 0);
        CHECK(pn_profiles_finish_begin(a, NULL) == PN_OK);
        for (size_t i = 0; i < 3; i++)
            pn_profiles_finish_part(a, i, 3);
        CHECK(pn_profiles_finish_end(a, NULL) == PN_OK);
        check_same(a, fast);
        pn_profiles_free(a);
        pn_profiles_free(b);
    }
    pn_profiles_free(fast);
    pn_profiles_free(slow);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    pn_profiles *p;
    CHECK(pn_profiles_new(&p, NULL) == PN_OK);
    /* every line, and the whole input as one line (with its newlines inside) */
    size_t start = 0;
    for (size_t i = 0; i <= size; i++) {
        if (i == size || text[i] == '\n') {
            check_line(p, text + start, i - start + (i < size)); /* with its '\n' when it has one */
            start = i + 1;
        }
    }
    check_line(p, text, size);
    check_store(p);
    pn_profiles_free(p);
    check_fast_path(text, size);
    return 0;
}

#include "standalone_main.h"
