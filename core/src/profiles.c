/* The profile store: realizations grouped per visitor and trait (see profiles.h). */
#include "profiles_internal.h"
#include "alloc.h"
#include "error_internal.h"

#include <stdlib.h>
#include <string.h>

pn_status pn_profiles_new(pn_profiles **out, pn_error *err)
{
    *out = NULL;
    pn_profiles *p = pn__calloc(1, sizeof *p);
    if (!p)
        return pn__oom(err);
    pn__dict_init(&p->visitors);
    pn__dict_init(&p->traits);
    p->last_visitor = PN_NONE;
    *out = p;
    return PN_OK;
}

void pn_profiles_free(pn_profiles *p)
{
    if (!p)
        return;
    pn__dict_fini(&p->visitors);
    pn__dict_fini(&p->traits);
    pn__free(p->runs);
    pn__free(p->ev_key);
    pn__free(p->keys);
    pn__free(p->key_off);
    pn__free(p->real);
    pn__free(p->real_len);
    pn__free(p);
}

pn_status pn_profiles_add(pn_profiles *p, const char *uuid, size_t uuid_len, const char *trait, size_t trait_len,
                          int64_t ts, pn_error *err)
{
    if (p->sealed)
        return pn__fail(err, PN_EINVAL, "the profile store is already sealed");
    if (uuid_len == 0 || uuid_len > PN_ID_MAX)
        return pn__fail(err, PN_EPARSE, "uuid must be 1 to %d bytes", PN_ID_MAX);
    if (trait_len == 0 || trait_len > PN_ID_MAX)
        return pn__fail(err, PN_EPARSE, "trait id must be 1 to %d bytes", PN_ID_MAX);
    if (ts < 0 || ts > PN_TS_MAX)
        return pn__fail(err, PN_EPARSE, "timestamp %lld is outside 0 to %lld", (long long)ts, (long long)PN_TS_MAX);
    if (pn__grow((void **)&p->ev_key, &p->ev_key_cap, p->ev_len + 1, sizeof *p->ev_key))
        return pn__oom(err);
    uint32_t v = p->last_visitor, t;
    size_t lastlen = 0;
    const char *last = v == PN_NONE ? NULL : pn__dict_str(&p->visitors, v, &lastlen);
    int same_run = last && lastlen == uuid_len && pn__eq_bytes(last, uuid, uuid_len) && p->runs[p->run_len - 1].len < UINT32_MAX;
    if (!same_run) {
        if (pn__grow((void **)&p->runs, &p->run_cap, p->run_len + 1, sizeof *p->runs) ||
            pn__dict_intern(&p->visitors, uuid, uuid_len, &v))
            return pn__oom(err);
    }
    if (pn__dict_intern(&p->traits, trait, trait_len, &t))
        return pn__oom(err);
    if (!same_run)
        p->runs[p->run_len++] = (struct pn_run){v, 0};
    p->runs[p->run_len - 1].len++;
    p->last_visitor = v;
    p->ev_key[p->ev_len] = (uint64_t)t << 32 | (uint64_t)ts;
    p->ev_len++;
    if (ts > p->max_ts)
        p->max_ts = ts;
    return PN_OK;
}

/* The first byte in [q, end) that is a control character (below 0x20, which includes TAB and
 * LF, or 0x7f): the end of a field and its validation in one scan, eight bytes at a time where
 * the byte order allows (the classic "has a byte less than n" bit trick; the lowest flagged
 * byte is always exact). */
static const char *find_control(const char *q, const char *end)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && (defined(__GNUC__) || defined(__clang__))
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    while (end - q >= 8) {
        uint64_t x, y;
        memcpy(&x, q, 8);
        y = x ^ (0x7f * ones);
        uint64_t m = ((x - 0x20 * ones) & ~x & highs) | ((y - ones) & ~y & highs);
        if (m)
            return q + (__builtin_ctzll(m) >> 3);
        q += 8;
    }
#endif
    while (q < end && (unsigned char)*q >= 0x20 && *q != 0x7f)
        q++;
    return q;
}

pn_status pn_profiles_add_lines(pn_profiles *p, const char *buf, size_t len, uint64_t *lines, pn_error *err)
{
    const char *s = buf, *end = buf + len;
    uint64_t n = 0;
    while (s < end) {
        n++;
        /* One pass per line: the uuid up to a tab, the trait up to a tab, then digits up to the
         * line's end. Anything unusual (JSON, CR, a control character, a bad number) takes the
         * general parser, which also words the error. */
        const char *line = s, *q = find_control(s, end);
        const char *t1 = q;
        if (q < end && *q == '\t') {
            const char *trait = ++q;
            q = find_control(q, end);
            const char *t2 = q;
            if (q < end && *q == '\t') {
                uint64_t ts = 0;
                const char *digits = ++q;
                while (q < end && *q >= '0' && *q <= '9' && q - digits < 10)
                    ts = ts * 10 + (uint64_t)(*q++ - '0');
                size_t ulen = (size_t)(t1 - line), tlen = (size_t)(t2 - trait);
                if ((q == end || *q == '\n') && q > digits && ts <= PN_TS_MAX && ulen && tlen && ulen <= PN_ID_MAX &&
                    tlen <= PN_ID_MAX && *line != '{' && *line != ' ') {
                    pn_status st = pn_profiles_add(p, line, ulen, trait, tlen, (int64_t)ts, err);
                    if (st) {
                        *lines = n;
                        return st;
                    }
                    s = q < end ? q + 1 : end;
                    continue;
                }
            }
        }
        const char *nl = memchr(line, '\n', (size_t)(end - line));
        const char *le = nl ? nl : end;
        pn_status st = pn_profiles_add_line(p, line, (size_t)(le - line), err);
        if (st) {
            *lines = n;
            return st;
        }
        s = nl ? nl + 1 : end;
    }
    *lines = n;
    return PN_OK;
}

pn_status pn_profiles_reserve(pn_profiles *p, uint64_t events, pn_error *err)
{
    if (p->sealed || events <= p->ev_key_cap)
        return PN_OK;
    if (events > (uint64_t)SIZE_MAX / sizeof(uint64_t))
        return pn__oom(err);
    if (pn__grow((void **)&p->ev_key, &p->ev_key_cap, (size_t)events, sizeof *p->ev_key))
        return pn__oom(err);
    return PN_OK;
}

/* Interns every id of src into dst in src's order (first appearance), map[i] getting the id of
 * src's i-th. -1 when out of memory. */
static int intern_all(pn_dict *dst, const pn_dict *src, uint32_t *map)
{
    for (uint32_t i = 0; i < pn__dict_count(src); i++) {
        size_t len;
        const char *s = pn__dict_str(src, i, &len);
        if (pn__dict_intern(dst, s, len, &map[i]))
            return -1;
    }
    return 0;
}

pn_status pn_profiles_merge(pn_profiles *dst, pn_profiles *src, pn_error *err)
{
    if (dst->sealed || src->sealed)
        return pn__fail(err, PN_EINVAL, "profile stores can only be merged before they are sealed");
    uint32_t nv = pn__dict_count(&src->visitors), nt = pn__dict_count(&src->traits);
    uint32_t *vmap = pn__malloc(((size_t)nv + 1) * sizeof *vmap), *tmap = pn__malloc(((size_t)nt + 1) * sizeof *tmap);
    pn_status st = PN_OK;
    if (!vmap || !tmap ||
        pn__grow((void **)&dst->ev_key, &dst->ev_key_cap, dst->ev_len + src->ev_len, sizeof *dst->ev_key) ||
        pn__grow((void **)&dst->runs, &dst->run_cap, dst->run_len + src->run_len, sizeof *dst->runs)) {
        st = pn__oom(err);
        goto done;
    }
    /* src's ids are in its first-appearance order; interning them in that order after dst's
     * gives exactly the ids one store would have given the concatenated input. */
    if (intern_all(&dst->visitors, &src->visitors, vmap) || intern_all(&dst->traits, &src->traits, tmap)) {
        st = pn__oom(err);
        goto done;
    }
    for (size_t i = 0; i < src->ev_len; i++) {
        uint64_t k = src->ev_key[i];
        dst->ev_key[dst->ev_len + i] = (uint64_t)tmap[k >> 32] << 32 | (k & 0xffffffffu);
    }
    /* A run split by the cut between the two parts becomes two runs of one visitor: grouping
     * treats them as one visitor's realizations, in order, like any repeated visitor. */
    for (size_t r = 0; r < src->run_len; r++)
        dst->runs[dst->run_len + r] = (struct pn_run){vmap[src->runs[r].visitor], src->runs[r].len};
    dst->run_len += src->run_len;
    dst->ev_len += src->ev_len;
    if (src->max_ts > dst->max_ts)
        dst->max_ts = src->max_ts;
    dst->last_visitor = PN_NONE;
    src->ev_len = 0;
    src->run_len = 0;
    src->last_visitor = PN_NONE;
done:
    pn__free(vmap);
    pn__free(tmap);
    return st;
}

pn_status pn_profiles_reopen(pn_profiles *p, pn_error *err)
{
    if (!p->sealed)
        return PN_OK;
    /* One run per visitor over the sealed keys, which are grouped by visitor already: sealing
     * again copies nothing for them, and finds each visitor's old keys sorted. */
    size_t nv = pn__dict_count(&p->visitors), nruns = 0;
    for (size_t v = 0; v < nv; v++)
        nruns += (size_t)((p->key_off[v + 1] - p->key_off[v] + UINT32_MAX - 1) / UINT32_MAX);
    struct pn_run *runs = pn__malloc((nruns ? nruns : 1) * sizeof *runs);
    if (!runs)
        return pn__oom(err); /* still sealed, as it was */
    size_t r = 0;
    for (size_t v = 0; v < nv; v++)
        for (uint64_t left = p->key_off[v + 1] - p->key_off[v]; left; r++) {
            uint32_t len = left > UINT32_MAX ? UINT32_MAX : (uint32_t)left;
            runs[r] = (struct pn_run){(uint32_t)v, len};
            left -= len;
        }
    p->runs = runs;
    p->run_len = p->run_cap = nruns;
    p->last_visitor = nruns ? runs[nruns - 1].visitor : PN_NONE;
    p->ev_key = p->keys; /* ev_key_cap is the keys' capacity: see pn_profiles_finish_begin */
    p->keys = NULL;
    p->ev_len = p->events;
    pn__free(p->key_off);
    pn__free(p->real);
    pn__free(p->real_len);
    p->key_off = NULL;
    p->real = NULL;
    p->real_len = NULL;
    p->sealed = 0;
    return PN_OK;
}

pn_status pn_profiles_add_line(pn_profiles *p, const char *line, size_t len, pn_error *err)
{
    pn_event ev;
    char stack[1024];
    char *scratch = len < sizeof stack ? stack : NULL;
    int heap = 0;
    if (len && line[0] == '{' && !scratch) {
        scratch = pn__malloc(len + 1);
        if (!scratch)
            return pn__oom(err);
        heap = 1;
    }
    pn_status st = pn_event_parse(line, len, &ev, scratch, err);
    if (st == PN_OK)
        st = pn_profiles_add(p, ev.uuid, ev.uuid_len, ev.trait, ev.trait_len, ev.ts, err);
    else if (st == PN_EINVAL) { /* blank line */
        pn_error_clear(err);
        st = PN_OK;
    }
    if (heap)
        pn__free(scratch);
    return st;
}

/* Sorts a visitor's keys: insertion sort for short runs, an in-place quicksort (median of
 * three, smaller side first so the stack stays shallow) for long ones. Inlined comparisons:
 * this runs over every event of the file. */
static void sort_u64(uint64_t *a, size_t n)
{
    while (n > 24) {
        uint64_t x = a[0], y = a[n / 2], z = a[n - 1];
        uint64_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        size_t i = 0, j = n - 1;
        for (;;) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            uint64_t t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        size_t left = j + 1;
        if (left < n - left) {
            sort_u64(a, left);
            a += left;
            n -= left;
        } else {
            sort_u64(a + left, n - left);
            n = left;
        }
    }
    for (size_t i = 1; i < n; i++) {
        uint64_t x = a[i];
        size_t j = i;
        while (j && a[j - 1] > x) {
            a[j] = a[j - 1];
            j--;
        }
        a[j] = x;
    }
}

/* Sorts a visitor's keys, which are often sorted up to a few new ones at the end: a store sealed,
 * reopened and added to (pn_profiles_reopen) has each visitor's old keys sorted and its new
 * ones after them. Those few are inserted into place, rather than sorting everything again. */
static void sort_keys(uint64_t *a, size_t n)
{
    if (n < 2)
        return;
    size_t sorted = 1;
    while (sorted < n && a[sorted - 1] <= a[sorted])
        sorted++;
    if (n - sorted > 16 || sorted < n / 2) {
        sort_u64(a, n);
        return;
    }
    for (size_t i = sorted; i < n; i++) {
        uint64_t x = a[i];
        size_t lo = 0, hi = i; /* the first of a[0, i) above x */
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (a[mid] <= x)
                lo = mid + 1;
            else
                hi = mid;
        }
        memmove(a + lo + 1, a + lo, (i - lo) * sizeof *a);
        a[lo] = x;
    }
}

pn_status pn_profiles_finish_begin(pn_profiles *p, pn_error *err)
{
    if (p->sealed)
        return PN_OK;
    size_t nv = pn__dict_count(&p->visitors);
    pn__free(p->key_off); /* from an earlier call that ran out of memory */
    pn__free(p->real_len);
    pn__free(p->real);
    p->key_off = pn__calloc(nv + 1, sizeof *p->key_off);
    p->real_len = pn__calloc(nv + 1, sizeof *p->real_len);
    p->real = pn__malloc((p->ev_len ? p->ev_len : 1) * sizeof *p->real);
    if (!p->key_off || !p->real_len || !p->real)
        return pn__oom(err);
    /* Group by visitor. Visitor ids follow first appearance, so a file already grouped by
     * visitor (most batch exports) has runs with increasing visitors and needs no copy at all;
     * otherwise each run is copied whole to its visitor's place. */
    for (size_t r = 0; r < p->run_len; r++)
        p->key_off[p->runs[r].visitor + 1] += p->runs[r].len;
    for (size_t v = 0; v < nv; v++)
        p->key_off[v + 1] += p->key_off[v];
    int grouped = 1;
    for (size_t r = 1; r < p->run_len && grouped; r++)
        grouped = p->runs[r].visitor >= p->runs[r - 1].visitor; /* equal: a run cut in two by a merge */
    if (grouped) {
        p->keys = p->ev_key;
    } else {
        if (!(p->keys = pn__malloc((p->ev_len ? p->ev_len : 1) * sizeof *p->keys)))
            return pn__oom(err);
        uint64_t *fill = pn__malloc((nv ? nv : 1) * sizeof *fill);
        if (!fill)
            return pn__oom(err);
        for (size_t v = 0; v < nv; v++)
            fill[v] = p->key_off[v];
        const uint64_t *src = p->ev_key;
        for (size_t r = 0; r < p->run_len; r++) {
            uint32_t v = p->runs[r].visitor, n = p->runs[r].len;
            memcpy(p->keys + fill[v], src, n * sizeof *src);
            fill[v] += n;
            src += n;
        }
        pn__free(fill);
        pn__free(p->ev_key);
        p->ev_key_cap = p->ev_len ? p->ev_len : 1; /* now keys' capacity, for pn_profiles_reopen */
    }
    pn__free(p->runs);
    p->runs = NULL;
    p->run_len = p->run_cap = 0;
    p->ev_key = NULL;
    p->events = p->ev_len;
    return PN_OK;
}

/* The first visitor of slice i of n, slices balanced by realizations rather than visitors. */
static size_t slice_start(const pn_profiles *p, size_t i, size_t n)
{
    size_t nv = pn__dict_count(&p->visitors);
    if (i >= n)
        return nv;
    uint64_t target = p->events / n * i;
    size_t lo = 0, hi = nv;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (p->key_off[mid] < target) lo = mid + 1; else hi = mid;
    }
    return i == 0 ? 0 : lo;
}

void pn_profiles_finish_part(pn_profiles *p, size_t i, size_t n)
{
    if (p->sealed || n == 0)
        return;
    size_t v0 = slice_start(p, i, n), v1 = slice_start(p, i + 1, n);
    for (size_t v = v0; v < v1; v++) {
        uint64_t *k = p->keys + p->key_off[v];
        size_t len = (size_t)(p->key_off[v + 1] - p->key_off[v]);
        sort_keys(k, len);
        pn_realization *r = p->real + p->key_off[v] - 1;
        for (size_t j = 0; j < len; j++) {
            uint32_t t = (uint32_t)(k[j] >> 32), ts = (uint32_t)k[j];
            if (j == 0 || (uint32_t)(k[j - 1] >> 32) != t) {
                *++r = (pn_realization){.trait = t, .count = 1, .first_seen = ts, .last_seen = ts};
            } else {
                if (r->count < UINT32_MAX)
                    r->count++;
                r->last_seen = ts; /* sorted by ts within the trait */
            }
        }
        p->real_len[v] = (uint32_t)(r + 1 - (p->real + p->key_off[v]));
    }
}

pn_status pn_profiles_finish_end(pn_profiles *p, pn_error *err)
{
    (void)err;
    p->sealed = 1;
    return PN_OK;
}

pn_status pn_profiles_finish(pn_profiles *p, pn_error *err)
{
    pn_status st = pn_profiles_finish_begin(p, err);
    if (st || p->sealed)
        return st;
    pn_profiles_finish_part(p, 0, 1);
    return pn_profiles_finish_end(p, err);
}

size_t pn_profiles_visitor_count(const pn_profiles *p) { return pn__dict_count(&p->visitors); }
size_t pn_profiles_trait_count(const pn_profiles *p) { return pn__dict_count(&p->traits); }
uint64_t pn_profiles_event_count(const pn_profiles *p) { return p->sealed ? p->events : p->ev_len; }
int64_t pn_profiles_max_ts(const pn_profiles *p) { return p->max_ts; }

const char *pn_profiles_visitor_uuid(const pn_profiles *p, uint32_t v, size_t *len)
{
    return pn__dict_str(&p->visitors, v, len);
}

uint32_t pn_profiles_visitor_find(const pn_profiles *p, const char *uuid, size_t len)
{
    return pn__dict_find(&p->visitors, uuid, len);
}

const char *pn_profiles_trait_id(const pn_profiles *p, uint32_t t, size_t *len)
{
    return pn__dict_str(&p->traits, t, len);
}

uint32_t pn_profiles_trait_find(const pn_profiles *p, const char *id, size_t len)
{
    return pn__dict_find(&p->traits, id, len);
}

const pn_realization *pn_profiles_visitor_traits(const pn_profiles *p, uint32_t v, size_t *n)
{
    if (!p->sealed || v >= pn__dict_count(&p->visitors)) {
        *n = 0;
        return NULL;
    }
    *n = p->real_len[v];
    return p->real + p->key_off[v];
}

uint32_t pn_profiles_count_since(const pn_profiles *p, uint32_t v, uint32_t t, int64_t since)
{
    if (!p->sealed || v >= pn__dict_count(&p->visitors))
        return 0;
    if (since < 0)
        since = 0;
    if (since > PN_TS_MAX)
        return 0;
    /* Keys of visitor v are sorted by (trait, ts): count those in [t:since, t:max]. */
    const uint64_t *k = p->keys + p->key_off[v];
    size_t n = (size_t)(p->key_off[v + 1] - p->key_off[v]);
    uint64_t lo_key = (uint64_t)t << 32 | (uint64_t)since, hi_key = (uint64_t)t << 32 | 0xffffffffu;
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k[mid] < lo_key) lo = mid + 1; else hi = mid;
    }
    size_t a = lo;
    hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (k[mid] <= hi_key) lo = mid + 1; else hi = mid;
    }
    size_t c = lo - a;
    return c > UINT32_MAX ? UINT32_MAX : (uint32_t)c;
}

/* Visitor v's realization summary of trait t, or NULL (binary search: they are sorted). */
const pn_realization *pn__profiles_find(const pn_profiles *p, uint32_t v, uint32_t t)
{
    size_t n;
    const pn_realization *r = pn_profiles_visitor_traits(p, v, &n);
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (r[mid].trait < t) lo = mid + 1; else hi = mid;
    }
    return lo < n && r[lo].trait == t ? &r[lo] : NULL;
}

uint32_t pn_profiles_count_between(const pn_profiles *p, uint32_t v, uint32_t t, const pn_realization *r, int64_t since,
                                   int64_t until)
{
    if (since > until) /* an empty window: the subtraction below would wrap */
        return 0;
    if (!r && !(r = pn__profiles_find(p, v, t)))
        return 0;
    if ((int64_t)r->last_seen < since || (int64_t)r->first_seen > until)
        return 0;
    if ((int64_t)r->first_seen >= since && (int64_t)r->last_seen <= until)
        return r->count; /* the common case needs no search of the timestamps */
    uint32_t a = pn_profiles_count_since(p, v, t, since);
    uint32_t b = until >= PN_TS_MAX ? 0 : pn_profiles_count_since(p, v, t, until + 1);
    return a - b;
}
