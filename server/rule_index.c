/* The index of signal rules (rule_index.h): a chained hash table of the plain string equalities
 * by (key, value), and the list of the other rules. */
#include "rule_index.h"

#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

typedef struct ri_eq {
    uint64_t hash;
    const char *key, *value;
    size_t key_len, value_len;
    uint32_t pos;  /* the rule's position */
    uint32_t next; /* the next entry of its bucket, UINT32_MAX at the end */
} ri_eq;

typedef struct ri_other {
    const pn_signal_rule *rule;
    uint32_t pos;
} ri_other;

struct ri_index {
    ri_eq *eqs; /* in ascending position */
    size_t neqs;
    uint32_t *buckets; /* first entry of each bucket, UINT32_MAX when empty */
    size_t mask;       /* buckets - 1 */
    ri_other *others;  /* the rules evaluated one by one, in ascending position */
    size_t nothers;
};

static uint64_t hash(const char *key, size_t key_len, const char *value, size_t value_len)
{
    return XXH3_64bits_withSeed(value, value_len, XXH3_64bits(key, key_len));
}

ri_index *ri_new(const pn_signal_rule *const *rules, size_t n)
{
    if (n >= UINT32_MAX)
        return NULL;
    ri_index *x = calloc(1, sizeof *x);
    size_t nb = 16;
    while (nb < 2 * n)
        nb *= 2;
    if (x) {
        x->eqs = malloc((n + 1) * sizeof *x->eqs);
        x->others = malloc((n + 1) * sizeof *x->others);
        x->buckets = malloc(nb * sizeof *x->buckets);
    }
    if (!x || !x->eqs || !x->others || !x->buckets) {
        ri_free(x);
        return NULL;
    }
    x->mask = nb - 1;
    memset(x->buckets, 0xff, nb * sizeof *x->buckets);
    for (size_t i = 0; i < n; i++) {
        ri_eq e = {0};
        if (!rules[i])
            continue;
        if (!pn_signal_rule_as_equality(rules[i], &e.key, &e.key_len, &e.value, &e.value_len)) {
            x->others[x->nothers++] = (ri_other){rules[i], (uint32_t)i};
            continue;
        }
        e.hash = hash(e.key, e.key_len, e.value, e.value_len);
        e.pos = (uint32_t)i;
        /* appended at the bucket's end, so a chain lists its rules in ascending position */
        e.next = UINT32_MAX;
        uint32_t *link = &x->buckets[e.hash & x->mask];
        while (*link != UINT32_MAX)
            link = &x->eqs[*link].next;
        *link = (uint32_t)x->neqs;
        x->eqs[x->neqs++] = e;
    }
    return x;
}

void ri_free(ri_index *x)
{
    if (!x)
        return;
    free(x->eqs);
    free(x->others);
    free(x->buckets);
    free(x);
}

/* Inserts pos into out[0..*n), kept ascending and without repeats (a call realizes few traits:
 * insertion is cheaper than a sort). */
static void add(uint32_t *out, size_t *n, uint32_t pos)
{
    size_t i = *n;
    while (i > 0 && out[i - 1] > pos)
        i--;
    if (i > 0 && out[i - 1] == pos)
        return;
    memmove(out + i + 1, out + i, (*n - i) * sizeof *out);
    out[i] = pos;
    (*n)++;
}

size_t ri_match(const ri_index *x, const pn_signal *sig, size_t nsig, uint32_t *out)
{
    size_t n = 0;
    if (!x)
        return 0;
    for (size_t s = 0; x->neqs && s < nsig; s++) {
        const pn_signal *g = &sig[s];
        if (!g->key || (!g->value && g->value_len))
            continue; /* a broken view: absent, as pn_signal_rule_eval has it */
        const char *value = g->value ? g->value : "";
        uint64_t h = hash(g->key, g->key_len, value, g->value_len);
        for (uint32_t e = x->buckets[h & x->mask]; e != UINT32_MAX; e = x->eqs[e].next) {
            const ri_eq *q = &x->eqs[e];
            if (q->hash == h && q->key_len == g->key_len && q->value_len == g->value_len &&
                !memcmp(q->key, g->key, g->key_len) && (!g->value_len || !memcmp(q->value, value, g->value_len)))
                add(out, &n, q->pos);
        }
    }
    for (size_t i = 0; i < x->nothers; i++)
        if (pn_signal_rule_eval(x->others[i].rule, sig, nsig))
            add(out, &n, x->others[i].pos);
    return n;
}
