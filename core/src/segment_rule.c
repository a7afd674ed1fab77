/* Segment rules: parsing into leaves over trait references, evaluation by jump table, and the
 * canonical text form. The grammar and semantics are in personae/rule.h. */
#include "personae/rule.h"

#include <string.h>

#include "alloc.h"
#include "error_internal.h"
#include "rule_lexer.h"

#define LANG "segment rule"
#define EXPECT_PRIMARY "a trait reference (123T or \"id\"), FREQUENCY, NOT or '('"
#define EXPECT_REF "a trait reference (123T or \"id\")"

/* Every leaf is a FREQUENCY: a bare 123T is FREQUENCY([123T]) >= 1 over all history. */
typedef struct seg_leaf {
    uint32_t first_ref, n_refs; /* rule->refs[first_ref ..]: indices of distinct trait ids */
    uint32_t value;             /* what the sum is compared with */
    uint32_t window_n;          /* the window as written (7 in "<= 7D"), for the canonical form */
    int64_t window;             /* the window in seconds, or -1 for all history */
    pn__cmp cmp;
    char unit; /* 'D', 'H', or 0 without a window */
    int bare;  /* written as a bare trait reference */
} seg_leaf;

struct pn_segment_rule {
    pn__bool tree;
    seg_leaf *leaves; /* tree.n_leaves of them */
    size_t cap_leaves;
    uint32_t *refs;
    size_t n_refs, cap_refs;
    pn__arena ids; /* the distinct trait ids */
};

/* Section - Parsing */

/* Reads a trait reference at the current token and appends its id's index to rule->refs. */
static pn_status parse_ref(pn_segment_rule *r, pn__lexer *lx, const char *expected)
{
    const pn__token t = lx->tok;
    size_t digits = 0;
    pn__span s;
    uint32_t index;
    pn_status st;

    if (t.kind == PN__T_NUMBER && t.len == t.num_len + 1 && pn__lower((unsigned char)lx->text[t.start + t.num_len]) == 't') {
        while (digits < t.num_len && lx->text[t.start + digits] >= '0' && lx->text[t.start + digits] <= '9')
            digits++;
    }
    if (t.kind != PN__T_STRING && (digits == 0 || digits != t.num_len))
        return pn__lex_expected(lx, expected);
    if (r->n_refs >= PN__RULE_MAX_REFS)
        return pn__lex_fail(lx, PN_ELIMIT, t.start, t.len, "more than %u trait references", PN__RULE_MAX_REFS);
    if ((st = pn__arena_add(&r->ids, lx, digits, &s)))
        return st;
    if (s.len == 0)
        return pn__lex_fail(lx, PN_EPARSE, t.start, t.len, "a trait id cannot be empty");
    if ((st = pn__arena_intern(&r->ids, lx, s, &index)))
        return st;
    if (pn__grow((void **)&r->refs, &r->cap_refs, r->n_refs + 1, sizeof *r->refs))
        return pn__oom(lx->err);
    r->refs[r->n_refs++] = index;
    pn__lex_next(lx);
    return PN_OK;
}

/* An optional recency window "<= 7D" or "<= 12H" at the current token. */
static pn_status parse_window(pn__lexer *lx, seg_leaf *lf)
{
    uint64_t v;
    if (lx->tok.kind != PN__T_CMP || lx->tok.cmp != PN__CMP_LE)
        return PN_OK;
    pn__lex_next(lx);
    /* Audience Manager refuses a window of 0: nothing is ever that recent. */
    if (pn__lex_uint(lx, "d", UINT32_MAX, &v) && v > 0)
        lf->unit = 'D';
    else if (pn__lex_uint(lx, "h", UINT32_MAX, &v) && v > 0)
        lf->unit = 'H';
    else
        return pn__lex_expected(lx, "a recency window from 1 to 4294967295 days or hours, such as 7D or 12H");
    lf->window_n = (uint32_t)v;
    lf->window = (int64_t)v * (lf->unit == 'D' ? 86400 : 3600);
    pn__lex_next(lx);
    return PN_OK;
}

/* FREQUENCY '(' '[' ref (',' ref)* ']' [ '<=' N (D|H) ] ')' CMP N, after the keyword. */
static pn_status parse_frequency(pn_segment_rule *r, pn__lexer *lx, seg_leaf *lf)
{
    uint64_t v;
    pn_status st;

    if (lx->tok.kind != PN__T_LPAREN)
        return pn__lex_expected(lx, "'(' after FREQUENCY");
    pn__lex_next(lx);
    if (lx->tok.kind != PN__T_LBRACKET)
        return pn__lex_expected(lx, "'[' and a list of trait references");
    pn__lex_next(lx);
    for (;;) {
        pn__token at = lx->tok;
        if ((st = parse_ref(r, lx, EXPECT_REF)))
            return st;
        /* Listing a trait twice would count its realizations twice: surely not meant. */
        for (uint32_t k = lf->first_ref; k < lf->first_ref + lf->n_refs; k++)
            if (r->refs[k] == r->refs[r->n_refs - 1])
                return pn__lex_fail(lx, PN_EPARSE, at.start, at.len, "this trait is already listed in this FREQUENCY");
        lf->n_refs++;
        if (lx->tok.kind != PN__T_COMMA)
            break;
        pn__lex_next(lx);
    }
    /* The window goes after the list, as in Audience Manager ("[1T,2T] <= 7D)"); inside the
     * list ("[1T,2T <= 7D])") is accepted too. */
    if ((st = parse_window(lx, lf)))
        return st;
    if (lx->tok.kind != PN__T_RBRACKET)
        return pn__lex_expected(lx, lf->unit ? "']'" : "',', '<=' or ']'");
    pn__lex_next(lx);
    if (!lf->unit && (st = parse_window(lx, lf)))
        return st;
    if (lx->tok.kind != PN__T_RPAREN)
        return pn__lex_expected(lx, lf->unit ? "')'" : "'<=' or ')'");
    pn__lex_next(lx);
    if (lx->tok.kind != PN__T_CMP)
        return pn__lex_expected(lx, "a comparison (>=, >, <=, <, == or !=)");
    lf->cmp = lx->tok.cmp;
    pn__lex_next(lx);
    if (!pn__lex_uint(lx, "", UINT32_MAX, &v))
        return pn__lex_expected(lx, "a count from 0 to 4294967295");
    lf->value = (uint32_t)v;
    pn__lex_next(lx);
    return PN_OK;
}

static pn_status parse_leaf(void *ctx, pn__lexer *lx)
{
    pn_segment_rule *r = ctx;
    if (pn__grow((void **)&r->leaves, &r->cap_leaves, (size_t)r->tree.n_leaves + 1, sizeof *r->leaves))
        return pn__oom(lx->err);
    seg_leaf *lf = &r->leaves[r->tree.n_leaves];
    memset(lf, 0, sizeof *lf);
    lf->first_ref = (uint32_t)r->n_refs;
    lf->window = -1;
    if (pn__lex_is(lx, "frequency")) {
        pn__lex_next(lx);
        return parse_frequency(r, lx, lf);
    }
    lf->bare = 1;
    lf->n_refs = 1;
    lf->cmp = PN__CMP_GE;
    lf->value = 1;
    return parse_ref(r, lx, EXPECT_PRIMARY);
}

pn_status pn_segment_rule_parse(const char *text, size_t len, pn_segment_rule **out, size_t *error_offset,
                                pn_error *err)
{
    pn__lexer lx;
    pn_segment_rule *r;
    pn_status st;

    if (error_offset)
        *error_offset = 0;
    if (!out || (!text && len))
        return pn__fail(err, PN_EINVAL, LANG ": NULL argument");
    *out = NULL;
    if (len > PN__RULE_MAX_TEXT) {
        if (error_offset)
            *error_offset = PN__RULE_MAX_TEXT;
        return pn__fail(err, PN_ELIMIT, LANG ": the text is %zu bytes, more than the limit of %u", len,
                        PN__RULE_MAX_TEXT);
    }
    if (!(r = pn__calloc(1, sizeof *r)))
        return pn__oom(err);
    pn__lex_init(&lx, LANG, text ? text : "", len, error_offset, err);
    if ((st = pn__bool_parse(&r->tree, &lx, parse_leaf, r))) {
        pn_segment_rule_free(r);
        return st;
    }
    pn_error_clear(err);
    *out = r;
    return PN_OK;
}

void pn_segment_rule_free(pn_segment_rule *rule)
{
    if (!rule)
        return;
    pn__bool_free(&rule->tree);
    pn__arena_free(&rule->ids);
    pn__free(rule->leaves);
    pn__free(rule->refs);
    pn__free(rule);
}

size_t pn_segment_rule_trait_count(const pn_segment_rule *rule)
{
    return rule ? rule->ids.n_ids : 0;
}

const char *pn_segment_rule_trait(const pn_segment_rule *rule, size_t i, size_t *len)
{
    if (!rule) {
        if (len)
            *len = 0;
        return NULL;
    }
    return pn__arena_id(&rule->ids, i, len);
}

/* Section - Evaluation */
static int holds(uint64_t sum, pn__cmp cmp, uint32_t v)
{
    switch (cmp) {
    case PN__CMP_EQ: return sum == v;
    case PN__CMP_NE: return sum != v;
    case PN__CMP_LT: return sum < v;
    case PN__CMP_LE: return sum <= v;
    case PN__CMP_GT: return sum > v;
    case PN__CMP_GE: return sum >= v;
    }
    return 0;
}

int pn_segment_rule_eval_refs(const pn_segment_rule *rule, pn_realization_count_by_ref_fn count, void *ctx,
                              int64_t now)
{
    uint32_t pc = 0;
    if (!rule || !count)
        return 0;
    while (pc < rule->tree.n_leaves) {
        const seg_leaf *lf = &rule->leaves[pc];
        int64_t since = INT64_MIN;
        uint64_t sum = 0;
        if (lf->window >= 0) /* saturate: a window reaching before INT64_MIN is all history */
            since = now < INT64_MIN + lf->window ? INT64_MIN : now - lf->window;
        for (uint32_t k = 0; k < lf->n_refs; k++) {
            sum += count(ctx, rule->refs[lf->first_ref + k], since);
            if (sum > lf->value) /* more realizations cannot change the comparison */
                break;
        }
        pc = rule->tree.jumps[2 * pc + !holds(sum, lf->cmp, lf->value)];
    }
    return pc == PN__JUMP_TRUE;
}

typedef struct by_id {
    const pn_segment_rule *rule;
    pn_realization_count_fn count;
    void *ctx;
} by_id;

static uint32_t count_by_id(void *ctx, size_t ref, int64_t since)
{
    const by_id *b = ctx;
    size_t len;
    const char *id = pn__arena_id(&b->rule->ids, ref, &len);
    return b->count(b->ctx, id, len, since);
}

int pn_segment_rule_eval(const pn_segment_rule *rule, pn_realization_count_fn count, void *ctx, int64_t now)
{
    by_id b = {rule, count, ctx};
    if (!count)
        return 0;
    return pn_segment_rule_eval_refs(rule, count_by_id, &b, now);
}

/* Section - Canonical text */
static void format_ref(const pn_segment_rule *r, uint32_t index, pn__out *o)
{
    size_t len, k = 0;
    const char *id = pn__arena_id(&r->ids, index, &len);
    while (k < len && id[k] >= '0' && id[k] <= '9')
        k++;
    if (k == len) { /* len > 0: ids are never empty */
        pn__out_put(o, id, len);
        pn__out_put(o, "T", 1);
    } else {
        pn__out_quoted(o, id, len);
    }
}

static void format_leaf(const void *ctx, uint32_t leaf, pn__out *o)
{
    const pn_segment_rule *r = ctx;
    const seg_leaf *lf = &r->leaves[leaf];
    if (lf->bare) {
        format_ref(r, r->refs[lf->first_ref], o);
        return;
    }
    pn__out_str(o, "FREQUENCY([");
    for (uint32_t k = 0; k < lf->n_refs; k++) {
        if (k)
            pn__out_put(o, ",", 1);
        format_ref(r, r->refs[lf->first_ref + k], o);
    }
    pn__out_put(o, "]", 1);
    if (lf->unit) {
        pn__out_str(o, " <= ");
        pn__out_uint(o, lf->window_n);
        pn__out_put(o, &lf->unit, 1);
    }
    pn__out_str(o, ") ");
    pn__out_cmp(o, lf->cmp);
    pn__out_put(o, " ", 1);
    pn__out_uint(o, lf->value);
}

pn_status pn_segment_rule_format(const pn_segment_rule *rule, char *buf, size_t cap, size_t *needed,
                                 pn_error *err)
{
    pn__out o = {buf, cap, 0};
    if (needed)
        *needed = 0;
    if (!rule || (!buf && cap))
        return pn__fail(err, PN_EINVAL, LANG ": NULL argument");
    pn__bool_format(&rule->tree, &o, format_leaf, rule);
    return pn__out_finish(&o, needed, LANG, err);
}
