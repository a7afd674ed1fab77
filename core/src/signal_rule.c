/* Signal rules: comparisons of /event signals with values, combined with AND, OR, NOT. Parsing,
 * allocation-free evaluation and the canonical text form; semantics in personae/rule.h. */
#include "personae/rule.h"

#include <string.h>

#include "alloc.h"
#include "error_internal.h"
#include "rule_lexer.h"

#define LANG "signal rule"

/* Operators: the six comparisons keep their pn__cmp values, the string tests follow. */
enum { OP_CONTAINS = PN__CMP_GE + 1, OP_STARTS_WITH, OP_ENDS_WITH, OP_EXISTS };

static const char *const op_words[] = {"contains", "starts_with", "ends_with"};

typedef struct sig_leaf {
    uint32_t key; /* index of the key among the rule's distinct keys */
    int op;
    int numeric;     /* the value is a number: compare numerically */
    pn__span value;  /* a string decoded, or a number as written */
    pn__decimal num; /* numeric: the value parsed, pointing into the arena once parsing is done */
} sig_leaf;

struct pn_signal_rule {
    pn__bool tree;
    sig_leaf *leaves; /* tree.n_leaves of them */
    size_t cap_leaves;
    pn__arena strings; /* the distinct keys are its ids; values are stored alongside */
};

/* Section - Parsing */
static int is_reserved(const pn__lexer *lx)
{
    return pn__lex_is(lx, "and") || pn__lex_is(lx, "or") || pn__lex_is(lx, "not") || pn__lex_is(lx, "exists");
}

static pn_status parse_key(pn_signal_rule *r, pn__lexer *lx, sig_leaf *lf, const char *expected)
{
    pn__span s;
    pn_status st;
    if (lx->tok.kind != PN__T_WORD || is_reserved(lx))
        return pn__lex_expected(lx, expected);
    if (r->tree.n_leaves >= PN__RULE_MAX_REFS)
        return pn__lex_fail(lx, PN_ELIMIT, lx->tok.start, lx->tok.len, "more than %u comparisons",
                            PN__RULE_MAX_REFS);
    if ((st = pn__arena_add(&r->strings, lx, lx->tok.len, &s)) || (st = pn__arena_intern(&r->strings, lx, s, &lf->key)))
        return st;
    pn__lex_next(lx);
    return PN_OK;
}

static pn_status parse_leaf(void *ctx, pn__lexer *lx)
{
    pn_signal_rule *r = ctx;
    pn_status st;
    const pn__token *t = &lx->tok; /* always the current token */

    if (pn__grow((void **)&r->leaves, &r->cap_leaves, (size_t)r->tree.n_leaves + 1, sizeof *r->leaves))
        return pn__oom(lx->err);
    sig_leaf *lf = &r->leaves[r->tree.n_leaves];
    memset(lf, 0, sizeof *lf);
    if (pn__lex_is(lx, "exists")) {
        pn__lex_next(lx);
        lf->op = OP_EXISTS;
        return parse_key(r, lx, lf, "a signal key after EXISTS");
    }
    if ((st = parse_key(r, lx, lf, "a signal key, EXISTS, NOT or '('")))
        return st;

    lf->op = -1;
    if (t->kind == PN__T_CMP)
        lf->op = (int)t->cmp;
    for (int k = 0; k < 3; k++)
        if (pn__lex_is(lx, op_words[k]))
            lf->op = OP_CONTAINS + k;
    if (lf->op < 0)
        return pn__lex_expected(lx, "an operator (==, !=, <, <=, >, >=, CONTAINS, STARTS_WITH or ENDS_WITH)");
    pn__lex_next(lx);

    /* Ordering needs a number and the substring tests a string: refusing the other kind beats
     * guessing what "c_zip starts_with 94" or "c_page < \"m\"" should mean. */
    int is_number = t->kind == PN__T_NUMBER && t->len == t->num_len;
    if (lf->op >= OP_CONTAINS ? t->kind != PN__T_STRING
        : lf->op >= PN__CMP_LT ? !is_number
                               : !is_number && t->kind != PN__T_STRING)
        return pn__lex_expected(lx, lf->op >= OP_CONTAINS ? "a string"
                                    : lf->op >= PN__CMP_LT ? "a number"
                                                           : "a string or a number");
    lf->numeric = is_number;
    if ((st = pn__arena_add(&r->strings, lx, t->len, &lf->value)))
        return st;
    pn__lex_next(lx);
    return PN_OK;
}

pn_status pn_signal_rule_parse(const char *text, size_t len, pn_signal_rule **out, size_t *error_offset,
                               pn_error *err)
{
    pn__lexer lx;
    pn_signal_rule *r;
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
        pn_signal_rule_free(r);
        return st;
    }
    /* The arena no longer moves: numbers can now point into it. */
    for (uint32_t i = 0; i < r->tree.n_leaves; i++) {
        sig_leaf *lf = &r->leaves[i];
        if (lf->numeric)
            pn__decimal_parse(r->strings.buf + lf->value.off, lf->value.len, &lf->num);
    }
    pn_error_clear(err);
    *out = r;
    return PN_OK;
}

void pn_signal_rule_free(pn_signal_rule *rule)
{
    if (!rule)
        return;
    pn__bool_free(&rule->tree);
    pn__arena_free(&rule->strings);
    pn__free(rule->leaves);
    pn__free(rule);
}

size_t pn_signal_rule_key_count(const pn_signal_rule *rule)
{
    return rule ? rule->strings.n_ids : 0;
}

const char *pn_signal_rule_key(const pn_signal_rule *rule, size_t i, size_t *len)
{
    if (!rule) {
        if (len)
            *len = 0;
        return NULL;
    }
    return pn__arena_id(&rule->strings, i, len);
}

/* Section - Evaluation */

/* ASCII case-insensitive: does h[at..] start with n? */
static int match_at(const char *h, size_t at, const char *n, size_t nl)
{
    for (size_t k = 0; k < nl; k++)
        if (pn__lower((unsigned char)h[at + k]) != pn__lower((unsigned char)n[k]))
            return 0;
    return 1;
}

static int test_value(const sig_leaf *lf, const char *lit, const char *v, size_t vl)
{
    size_t ll = lf->value.len;
    if (lf->numeric) {
        pn__decimal d;
        if (!pn__decimal_parse(v, vl, &d))
            return 0;
        int c = pn__decimal_cmp(&d, &lf->num);
        switch (lf->op) {
        case PN__CMP_EQ: return c == 0;
        case PN__CMP_NE: return c != 0;
        case PN__CMP_LT: return c < 0;
        case PN__CMP_LE: return c <= 0;
        case PN__CMP_GT: return c > 0;
        default: return c >= 0;
        }
    }
    switch (lf->op) {
    case PN__CMP_EQ: return vl == ll && (ll == 0 || !memcmp(v, lit, ll));
    case PN__CMP_NE: return !(vl == ll && (ll == 0 || !memcmp(v, lit, ll)));
    case OP_STARTS_WITH: return vl >= ll && match_at(v, 0, lit, ll);
    case OP_ENDS_WITH: return vl >= ll && match_at(v, vl - ll, lit, ll);
    case OP_CONTAINS:
        for (size_t at = 0; vl >= ll && at <= vl - ll; at++)
            if (match_at(v, at, lit, ll))
                return 1;
        return 0;
    default: return 1; /* EXISTS: the key is there */
    }
}

/* True when some signal with the leaf's key satisfies it. */
static int test_leaf(const pn_signal_rule *r, const sig_leaf *lf, const pn_signal *signals, size_t n)
{
    const pn__span key = r->strings.ids[lf->key];
    const char *k = r->strings.buf + key.off, *lit = r->strings.buf + lf->value.off;
    for (size_t i = 0; i < n; i++) {
        const pn_signal *s = &signals[i];
        if (s->key_len != key.len || !s->key || memcmp(s->key, k, key.len))
            continue;
        if (!s->value && s->value_len)
            continue; /* a broken view: treat it as absent rather than read through NULL */
        if (test_value(lf, lit, s->value ? s->value : "", s->value_len))
            return 1;
    }
    return 0;
}

int pn_signal_rule_eval(const pn_signal_rule *rule, const pn_signal *signals, size_t n)
{
    uint32_t pc = 0;
    if (!rule || (!signals && n))
        return 0;
    while (pc < rule->tree.n_leaves)
        pc = rule->tree.jumps[2 * pc + !test_leaf(rule, &rule->leaves[pc], signals, n)];
    return pc == PN__JUMP_TRUE;
}

int pn_signal_rule_as_equality(const pn_signal_rule *rule, const char **key, size_t *key_len, const char **value,
                               size_t *value_len)
{
    if (!rule || rule->tree.n_leaves != 1 || rule->tree.jumps[0] != PN__JUMP_TRUE ||
        rule->tree.jumps[1] != PN__JUMP_FALSE)
        return 0;
    const sig_leaf *lf = &rule->leaves[0];
    if (lf->op != PN__CMP_EQ || lf->numeric)
        return 0;
    const pn__span k = rule->strings.ids[lf->key];
    if (key)
        *key = rule->strings.buf + k.off;
    if (key_len)
        *key_len = k.len;
    if (value)
        *value = rule->strings.buf + lf->value.off;
    if (value_len)
        *value_len = lf->value.len;
    return 1;
}

/* Section - Canonical text */
static void format_leaf(const void *ctx, uint32_t leaf, pn__out *o)
{
    static const char *const words[] = {"CONTAINS", "STARTS_WITH", "ENDS_WITH"};
    const pn_signal_rule *r = ctx;
    const sig_leaf *lf = &r->leaves[leaf];
    size_t klen;
    const char *key = pn__arena_id(&r->strings, lf->key, &klen);

    if (lf->op == OP_EXISTS) {
        pn__out_str(o, "EXISTS ");
        pn__out_put(o, key, klen);
        return;
    }
    pn__out_put(o, key, klen);
    pn__out_put(o, " ", 1);
    if (lf->op >= OP_CONTAINS)
        pn__out_str(o, words[lf->op - OP_CONTAINS]);
    else
        pn__out_cmp(o, (pn__cmp)lf->op);
    pn__out_put(o, " ", 1);
    if (lf->numeric)
        pn__out_put(o, r->strings.buf + lf->value.off, lf->value.len);
    else
        pn__out_quoted(o, r->strings.buf + lf->value.off, lf->value.len);
}

pn_status pn_signal_rule_format(const pn_signal_rule *rule, char *buf, size_t cap, size_t *needed,
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
